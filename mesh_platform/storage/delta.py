"""Reading Delta Lake tables as Arrow data (what DuckDB scans)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.dataset as pads
    from deltalake import DeltaTable


def arrow_dataset(table: DeltaTable, uri: str) -> pads.Dataset:
    """A Delta table version as a lazy Arrow dataset."""
    import pyarrow.fs as pafs

    # Arrow's own local filesystem, not deltalake's default Rust-backed one: with that one the
    # process can abort at exit ("terminate called without an active exception", delta-rs #2184).
    return table.to_pyarrow_dataset(filesystem=pafs.SubTreeFileSystem(uri, pafs.LocalFileSystem()))
