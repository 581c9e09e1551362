"""The vault: the clear values behind the keyed tokens that ports publish for personal columns.

One private Delta table per domain (`token`, `value`), under the vault folder
(`MESH_HOME/vault` by default, created readable by its owner only). A build adds
the tokens it publishes before it publishes them, so a port never names a token
the vault lacks. Only the platform reads it: for the owning domain, and for the
consumers a contract grants a column in clear (`unmaskedFor`). Reading a port's
files directly, or through an exported contract's `servers` path, shows tokens.

A value no kept version of the domain's ports names any more is removed (`prune`, which
retention runs once versions went): a personal value gone from the data leaves the vault too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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


@dataclass(frozen=True)
class VaultPruning:
    """What pruning a domain's vault keeps and removes (on a dry run: would remove)."""

    kept: int  # values kept
    removed: int  # values removed
    files: tuple[str, ...] = ()  # files deleted now (replaced files go after `READ_GRACE`)
    bytes: int = 0


class Vault:
    def __init__(self, root: Location):
        self.root = root

    def location(self, domain: str) -> Location:
        return self.root.child(domain)

    def store(self, domain: str, pairs: pa.Table) -> None:
        """Add (token, value) pairs the domain's vault does not hold yet, in one commit."""
        from deltalake import write_deltalake

        if pairs.num_rows == 0:
            return
        location = self.location(domain)
        if location.local:  # an object store's vault is private by its bucket's policy
            for folder in (self.root.path, location.path):
                private_folder(folder)
        if not is_delta_table(location):
            write_deltalake(location.uri, pairs, mode="append", storage_options=location.storage_options())
            return
        table = delta_table(location)
        merge = table.merge(source=pairs, predicate="target.token = source.token", source_alias="source", target_alias="target")
        merge.when_not_matched_insert_all().execute()

    def dataset(self, domain: str) -> pads.Dataset | None:
        """The domain's (token, value) pairs as a lazy Arrow dataset; None before its first personal value."""
        location = self.location(domain)
        if not is_delta_table(location):
            return None
        return arrow_dataset(delta_table(location), location)

    def exists(self, domain: str) -> bool:
        return is_delta_table(self.location(domain))

    def stored_bytes(self, domain: str) -> int:
        return sum(folder_files(self.location(domain)).values())

    def prune(
        self,
        domain: str,
        named: Iterable[tuple[pads.Dataset, tuple[str, ...]]],
        stored_after: dt.datetime | None,
        dry_run: bool = False,
    ) -> VaultPruning:
        """Remove the domain's values whose token no column of `named` holds (datasets, each with its token columns),
        in one Delta MERGE, then the files it replaced once they are `READ_GRACE` old (Delta's VACUUM). Values in
        files stored after `stored_after` (the domain's last publish: a build may be about to publish them) stay."""
        import pyarrow as pa
        import pyarrow.dataset as pads

        from mesh_platform.storage.sandbox import sandbox

        location = self.location(domain)
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
            table.merge(gone, "target.token = source.token", source_alias="source", target_alias="target",
                        commit_properties=CommitProperties(custom_metadata={MAINTENANCE: "pruned"}))
            .when_matched_delete()
            .execute()
        )
        removal = remove_replaced_files(location, READ_GRACE)
        return VaultPruning(total - gone.num_rows, gone.num_rows, removal.files, removal.bytes)

