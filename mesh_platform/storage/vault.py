"""The vault: the clear values behind the keyed tokens that ports publish for personal columns.

One private Delta table (`token`, `value`) per personal column of each product, under the vault folder
(`MESH_HOME/vault` by default, created readable by its owner only): `vault/<domain>/<product>/<column>/`.
A per-column clear grant is so a storage prefix, which a store policy can give to the readers a
contract's `unmaskedFor` names (`governance.store_policies`). A build adds the tokens it publishes
before it publishes them, so a port never names a token the vault lacks. Only the platform reads it:
for the owning domain, and for the consumers a contract grants a column in clear (`unmaskedFor`).
Reading a port's files directly, or through an exported contract's `servers` path, shows tokens.

A value no kept version of the product's ports names in that column any more is removed (`prune`,
which retention runs once versions went): a personal value gone from the data leaves the vault too.

An older mesh kept one table per domain (`vault/<domain>/` itself). It is split into the per-column
tables the first time a build of the domain stores values or retention looks at its vault
(`upgrade`): each column's table gets the values its ports' kept versions name, then the old table
goes. Until then reads fall back to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

from mesh_platform.core.owner_only import private_folder
from mesh_platform.core.sql import quote
from mesh_platform.storage.delta import arrow_dataset, delta_table, is_delta_table
from mesh_platform.storage.location import Location
from mesh_platform.storage.retention import MAINTENANCE, folder_files, remove_replaced_files

READ_GRACE = dt.timedelta(hours=1)  # a vault file a prune replaced stays this long: a read that opened it before has time to end
LEGACY_LOG = "_delta_log"  # an older mesh's one table per domain has its log right under vault/<domain>/

# Token files of a product's port versions: (product, dataset of Parquet files, the columns in them that hold tokens).
NamedTokens = tuple[str, "pads.Dataset", tuple[str, ...]]


@dataclass(frozen=True)
class VaultPruning:
    """What pruning a domain's vault keeps and removes (on a dry run: would remove)."""

    kept: int  # values kept
    removed: int  # values removed
    files: tuple[str, ...] = ()  # files deleted now (replaced files go after `READ_GRACE`)
    bytes: int = 0


class Vault:
    """The vault under `root`. `legacy_tokens(domain)` gives the token files of every kept version of the domain's
    ports: what splitting an older mesh's one table per domain needs (None: such a table is only read)."""

    def __init__(self, root: Location, legacy_tokens: Callable[[str], Iterable[NamedTokens]] | None = None):
        self.root = root
        self._legacy_tokens = legacy_tokens
        self._upgraded: set[str] = set()  # domains this vault looked at already (per instance: no state outlives it)

    def location(self, domain: str, product: str | None = None, column: str | None = None) -> Location:
        """The domain's folder, or (with `product` and `column`) the table of one personal column of a product."""
        return self.root.child(domain, product, column) if product and column else self.root.child(domain)

    def store(self, domain: str, product: str, values: Mapping[str, pa.Table]) -> None:
        """Add the (token, value) pairs of each personal column (`values`: column → pairs) that its table does not
        hold yet, one commit per column."""
        self.upgrade(domain)
        for column, pairs in values.items():
            self._store(domain, self.location(domain, product, column), pairs)

    def _store(self, domain: str, location: Location, pairs: pa.Table) -> None:
        from deltalake import write_deltalake

        if pairs.num_rows == 0:
            return
        if location.local:  # an object store's vault is private by its store policies (`mesh deploy access`)
            for folder in (self.root.path, self.location(domain).path, location.path):
                private_folder(folder)
        if not is_delta_table(location):
            write_deltalake(location.uri, pairs, mode="append", storage_options=location.storage_options())
            return
        table = delta_table(location)
        merge = table.merge(source=pairs, predicate="target.token = source.token", source_alias="source", target_alias="target")
        merge.when_not_matched_insert_all().execute()

    def dataset(self, domain: str, product: str | None = None, column: str | None = None) -> pads.Dataset | None:
        """The (token, value) pairs of one personal column of a product (without them: of every column of the
        domain) as a lazy Arrow dataset; None before the first value. An older mesh's one table stands in for a
        column not split off yet."""
        import pyarrow.dataset as pads

        wanted = [(product, column)] if product and column else self.columns(domain)
        locations = [self.location(domain, p, c) for p, c in wanted]
        datasets = [arrow_dataset(delta_table(location), location) for location in locations if is_delta_table(location)]
        if (len(datasets) < len(locations) or not datasets) and is_delta_table(legacy := self.location(domain)):
            datasets.append(arrow_dataset(delta_table(legacy), legacy))
        if not datasets:
            return None
        return datasets[0] if len(datasets) == 1 else pads.dataset(datasets)

    def columns(self, domain: str) -> list[tuple[str, str]]:
        """The (product, column) of every column table the domain's vault holds."""
        import pyarrow.fs as pafs

        filesystem, found = self.root.filesystem(), []
        folder = self.location(domain).file_path()
        for product in filesystem.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
            if product.type != pafs.FileType.Directory or product.base_name == LEGACY_LOG:
                continue
            for column in filesystem.get_file_info(pafs.FileSelector(product.path, allow_not_found=True)):
                if column.type == pafs.FileType.Directory and is_delta_table(
                    self.location(domain, product.base_name, column.base_name)
                ):
                    found.append((product.base_name, column.base_name))
        return sorted(found)

    def exists(self, domain: str) -> bool:
        return bool(self.columns(domain)) or is_delta_table(self.location(domain))

    def stored_bytes(self, domain: str) -> int:
        return sum(folder_files(self.location(domain)).values())

    def upgrade(self, domain: str) -> bool:
        """Split an older mesh's one table of the domain (`vault/<domain>/`) into its per-column tables: each gets
        the values the kept versions of its product's ports name in that column; then the old table goes. Values no
        kept version names are left behind (retention would have pruned them). Whether there was one to split."""
        if domain in self._upgraded or self._legacy_tokens is None:
            return False
        self._upgraded.add(domain)
        legacy = self.location(domain)
        if not is_delta_table(legacy):
            return False
        from mesh_platform.storage.sandbox import sandbox

        connection = sandbox()
        connection.register("legacy", arrow_dataset(delta_table(legacy), legacy))
        selects: dict[tuple[str, str], list[str]] = {}
        for index, (product, dataset, columns) in enumerate(self._legacy_tokens(domain)):
            connection.register(f"named_{index}", dataset)
            for column in columns:
                selects.setdefault((product, column), []).append(f"SELECT {quote(column)} AS token FROM named_{index}")
        for (product, column), parts in selects.items():
            named = " UNION ALL ".join(parts)
            pairs = connection.sql(
                f"SELECT DISTINCT token, value FROM legacy SEMI JOIN ({named}) AS named USING (token)"
            ).to_arrow_table()
            self._store(domain, self.location(domain, product, column), pairs)
        connection.close()
        self._remove_legacy(legacy)
        return True

    def _remove_legacy(self, legacy: Location) -> None:
        """Delete an older mesh's table: its log first (then it is no table), then its data files (not the column tables)."""
        import pyarrow.fs as pafs

        filesystem = legacy.filesystem()
        filesystem.delete_dir(legacy.child(LEGACY_LOG).file_path())
        for item in filesystem.get_file_info(pafs.FileSelector(legacy.file_path(), allow_not_found=True)):
            if item.type == pafs.FileType.File:
                filesystem.delete_file(item.path)

    def prune(
        self,
        domain: str,
        named: Iterable[NamedTokens],
        stored_after: dt.datetime | None,
        dry_run: bool = False,
    ) -> VaultPruning:
        """Remove, from each column table of the domain, the values whose token no kept version of its product's
        ports holds in that column (`named`), in one Delta MERGE per table, then the files it replaced once they are
        `READ_GRACE` old (Delta's VACUUM). Values in files stored after `stored_after` (the domain's last publish: a
        build may be about to publish them) stay."""
        named = list(named)
        kept = removed = size = 0
        files: list[str] = []
        for product, column in self.columns(domain):
            holding = [(dataset, (column,)) for owner, dataset, columns in named if owner == product and column in columns]
            pruning = _prune_table(self.location(domain, product, column), holding, stored_after, dry_run)
            kept, removed, size = kept + pruning.kept, removed + pruning.removed, size + pruning.bytes
            files += [f"{product}/{column}/{name}" for name in pruning.files]
        return VaultPruning(kept, removed, tuple(files), size)


def _prune_table(
    location: Location,
    named: Sequence[tuple[pads.Dataset, tuple[str, ...]]],
    stored_after: dt.datetime | None,
    dry_run: bool,
) -> VaultPruning:
    """Prune one column table: the values no dataset of `named` holds in its token columns (see `Vault.prune`)."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    from mesh_platform.storage.sandbox import sandbox

    table = delta_table(location)
    actions = pa.table(table.get_add_actions(flatten=True)).select(["path", "modification_time"]).to_pylist()
    cutoff = int(stored_after.timestamp() * 1000) if stored_after is not None else None
    older = [location.child(a["path"]).file_path() for a in actions if cutoff is None or a["modification_time"] <= cutoff]
    connection = sandbox()
    connection.register("vault", arrow_dataset(table, location))
    parts = []
    for index, (dataset, columns) in enumerate(named):
        connection.register(f"named_{index}", dataset)
        parts += [f"SELECT {quote(column)} AS token FROM named_{index}" for column in columns]
    total = connection.sql("SELECT count(*) FROM vault").fetchall()[0][0]
    if not older:
        return VaultPruning(total, 0)
    filesystem = location.filesystem()
    schema = pa.schema(table.schema().to_arrow())
    connection.register("candidates", pads.dataset(older, schema=schema, format="parquet", filesystem=filesystem))
    named_sql = " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS token WHERE false"
    gone = connection.sql(f"SELECT DISTINCT token FROM candidates ANTI JOIN ({named_sql}) AS named USING (token)")
    gone = gone.to_arrow_table()
    connection.close()
    if dry_run or gone.num_rows == 0:
        return VaultPruning(total - gone.num_rows, gone.num_rows)
    from deltalake import CommitProperties

    (
        table.merge(
            gone,
            "target.token = source.token",
            source_alias="source",
            target_alias="target",
            commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "pruned"}),
        )
        .when_matched_delete()
        .execute()
    )
    removal = remove_replaced_files(location, READ_GRACE)
    return VaultPruning(total - gone.num_rows, gone.num_rows, removal.files, removal.bytes)
