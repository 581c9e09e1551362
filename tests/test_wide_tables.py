"""Wide tables cost their width, no more: thousands of columns load, check and build, every column carried.

What was quadratic in the column count (sqlglot copying a whole SELECT per output column,
a column looked up by a search of every column, a change's readers found by walking every
column per change) is shown fixed here by the shape of the results, never by timing:
`make bench` (`--only wide`) measures the times. A build writes a wide table in row
groups of bounded bytes, not of a fixed row count: the port's row groups say so.
"""

import os

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from mesh_platform.storage.domain_database import BATCH_BYTES, BATCH_ROWS, VECTOR_ROWS, batch_rows

from .conftest import column, contract_yaml, run_mesh

WIDTH, ROWS = 2_000, 6_000
NAMES = [f"c{i:04d}" for i in range(WIDTH)]
SOURCE = "type: mesh_platform.recipes.SourceProduct\nattributes:\n  path: wide.parquet\n"
SQL = (
    "type: mesh_platform.recipes.SqlProduct\nattributes:\n  inputs: [mesh://shop/wide_source]\n  sql: SELECT * FROM wide_source\n"
)


def _columns(personal: str | None = None) -> list[dict]:
    return [column(name, "integer", "BIGINT", **({"classification": "personal"} if name == personal else {})) for name in NAMES]


def test_record_batches_hold_a_bounded_number_of_bytes_however_wide_a_row_is():
    connection = duckdb.connect()
    narrow = connection.sql("SELECT i AS id, i::VARCHAR AS label FROM range(10000) t(i)")
    assert batch_rows(narrow) == BATCH_ROWS
    wide = connection.sql("SELECT " + ", ".join(f"i + {k} AS c{k}" for k in range(1000)) + " FROM range(4096) t(i)")
    rows = batch_rows(wide)
    assert rows % VECTOR_ROWS == 0 and rows * 1000 * 8 <= BATCH_BYTES
    assert rows < BATCH_ROWS  # 122,880 rows of 1,000 BIGINT columns would be 983 MB of Arrow data
    # The width is measured, text included: rows of 40 kB of text get one DuckDB vector a batch, never fewer rows.
    assert batch_rows(connection.sql("SELECT i, repeat('x', 40000) AS text FROM range(3000) t(i)")) == VECTOR_ROWS
    assert batch_rows(connection.sql("SELECT * FROM range(0)")) == BATCH_ROWS


def test_a_projection_of_thousands_of_columns_is_read_and_one_listed_twice_is_named():
    from mesh_platform.recipes import ProjectionProduct

    names = [f"c{i:04d}" for i in range(5000)]
    assert len(ProjectionProduct.model_validate({"inputs": ["mesh://shop/wide"], "columns": names}).projected()) == 5000
    with pytest.raises(ValueError, match="c0007, c4999 listed twice"):
        twice = [*names, "c4999", {"name": "c0007", "source": "c0001"}]
        ProjectionProduct.model_validate({"inputs": ["mesh://shop/wide"], "columns": twice})


@pytest.mark.slow
def test_a_two_thousand_column_product_loads_checks_and_builds_with_every_column(lab):
    lab.add_domain("shop")
    source = lab.add_product("shop", "wide_source", SOURCE, contract_yaml("shop", "wide_source", _columns()))
    wide = lab.add_product("shop", "wide", SQL, contract_yaml("shop", "wide", _columns()))
    landing = lab.settings.landing_dir("shop")
    landing.mkdir(parents=True, exist_ok=True)
    values = ", ".join(f"i * {k + 1} AS {name}" for k, name in enumerate(NAMES))
    duckdb.sql(f"COPY (SELECT {values} FROM range({ROWS}) t(i)) TO '{landing / 'wide.parquet'}' (FORMAT parquet)")

    checked = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert checked.returncode == 0, checked.stdout
    last = checked.stdout.splitlines()[-1]
    assert last.startswith("checked 2 products against ") and last.endswith(" policies: 0 errors, 0 warnings"), checked.stdout

    spec = next(s for s in lab.definitions("shop").resolve_all_asset_specs() if s.key == dg.AssetKey(["shop", "wide"]))
    assert [c.name for c in spec.metadata["dagster/column_schema"].columns] == NAMES
    lineage = spec.metadata["dagster/column_lineage"].deps_by_column
    assert list(lineage) == NAMES
    source_key = dg.AssetKey(["shop", "wide_source"])
    assert all(deps == [dg.TableColumnDep(asset_key=source_key, column_name=name)] for name, deps in lineage.items())

    assert lab.materialize("shop", "wide_source", "wide").success
    port = lab.settings.home / "ports" / "shop" / "wide" / "v1"
    files = [pq.ParquetFile(file).metadata for file in port.glob("*.parquet")]
    groups = [meta.row_group(i) for meta in files for i in range(meta.num_row_groups)]
    assert sum(g.num_rows for g in groups) == ROWS and all(g.num_columns == WIDTH for g in groups)
    # Written in row groups of bounded bytes (DuckDB's writer staging the files, or batches streamed from a staged
    # table): 6,000 rows of 2,000 BIGINT columns are 96 MB, more than one batch holds.
    assert len(groups) > 1 and max(g.num_rows for g in groups) * WIDTH * 8 <= BATCH_BYTES
    published = duckdb.sql(f"SELECT count(*), sum(c1999) FROM read_parquet('{port}/*.parquet')").fetchall()[0]
    assert published == (ROWS, sum(i * WIDTH for i in range(ROWS)))

    # The rules still hold column by column: a source column made personal is found feeding an unclassified one,
    # and, as a published contract's change its reader reads, breaking: each at its own line.
    (source / "contract.yaml").write_text(contract_yaml("shop", "wide_source", _columns(personal="c1500")))
    checked = run_mesh("check", env={**os.environ}, cwd=lab.root)
    assert checked.returncode == 1
    errors = [line for line in checked.stdout.splitlines() if line.startswith("error ")]
    assert len(errors) == 2, checked.stdout
    personal, breaking = sorted(errors, key=lambda line: "breaking" in line)
    assert personal.startswith(
        f"error mesh.personal-data mesh://shop/wide {wide / 'contract.yaml'}:{_line(wide, 'c1500', 'classification')}: "
        "column 'c1500' is computed from mesh://shop/wide_source.c1500, which is personal"
    ), personal
    assert (
        breaking.startswith(
            f"error mesh.breaking-changes mesh://shop/wide_source {source / 'contract.yaml'}:{_line(source, 'c1500', 'name')}: "
            "column 'c1500' internal → personal"
        )
        and "breaks its readers: mesh://shop/wide.c1500 —" in breaking
    ), breaking


def _line(folder, name: str, field: str) -> int:
    """The line of column `name`'s `field` in the folder's contract (its `- name:` line for `name`)."""
    text = (folder / "contract.yaml").read_text().splitlines()
    named = text.index(f"  - name: {name}")
    return next(i for i in range(named, len(text)) if text[i].strip().removeprefix("- ").startswith(f"{field}:")) + 1
