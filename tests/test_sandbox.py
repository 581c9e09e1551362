"""The sandbox a read runs in is locked down the same whether its database was opened in the background while access
was decided (`prepare_database`) or when it was asked for."""

import duckdb
import pytest

from mesh_platform.storage.sandbox import prepare_database, sandbox


@pytest.mark.parametrize("prepared", [True, False], ids=["opened in the background", "opened when asked"])
def test_a_sandbox_reads_its_files_only_and_its_settings_stay_locked(tmp_path, prepared):
    allowed, other = tmp_path / "allowed.csv", tmp_path / "other.csv"
    allowed.write_text("id\n1\n")
    other.write_text("secret\nx\n")
    if prepared:
        prepare_database()
        prepare_database()  # a spare not yet taken is kept: one database, not two
    connection = sandbox(files=[str(allowed)])
    assert connection.sql(f"SELECT id FROM read_csv('{allowed}')").fetchall() == [(1,)]
    with pytest.raises(duckdb.PermissionException):
        connection.sql(f"SELECT * FROM read_csv('{other}')").fetchall()
    with pytest.raises(duckdb.InvalidInputException):
        connection.execute("SET enable_external_access = true")
    assert sandbox().sql("SELECT 42").fetchall() == [(42,)]  # the spare was taken: the next opens its own
