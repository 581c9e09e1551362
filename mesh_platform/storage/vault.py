"""The vault: the clear values behind the keyed tokens that ports publish for personal columns.

One private Delta table per domain (`token`, `value`), under the vault folder
(`MESH_HOME/vault` by default, created readable by its owner only). A build adds
the tokens it publishes before it publishes them, so a port never names a token
the vault lacks. Only the platform reads it: for the owning domain, and for the
consumers a contract grants a column in clear (`unmaskedFor`). Reading a port's
files directly, or through an exported contract's `servers` path, shows tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

from mesh_platform.core.owner_only import private_folder
from mesh_platform.storage.delta import arrow_dataset, delta_table, is_delta_table
from mesh_platform.storage.location import Location


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
