"""The vault's layout: one Delta table of (token, value) per personal column of each product,
`vault/<domain>/<product>/<column>/`, so a clear grant is a storage prefix; and an older mesh's one
table per domain, split into those tables by the next build of the domain."""

import shutil

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from mesh_platform import read_product
from mesh_platform.storage.ports import PortStore

from .conftest import owner_read
from .test_access import crm  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


def values(vault, *where) -> set[str]:
    return set(vault.dataset(*where).to_table()["value"].to_pylist())


def test_each_personal_column_of_a_product_has_its_own_table(crm):  # noqa: F811
    vault = PortStore.of(crm.settings).vault
    assert vault.columns("crm") == [("people", "email"), ("people", "name"), ("people", "phone")]
    assert values(vault, "crm", "people", "email") == {"ada@example.com", "grace@example.com"}
    assert values(vault, "crm", "people", "name") == {"Ada Lovelace", "Grace Hopper"}
    folder = crm.settings.home / "vault" / "crm" / "people" / "email"
    assert (folder / "_delta_log").is_dir() and oct(folder.stat().st_mode & 0o777) == "0o700"
    assert not (crm.settings.home / "vault" / "crm" / "partners").exists()  # no personal column, no table


def test_an_older_mesh_s_one_table_per_domain_is_read_then_split_by_the_next_build(crm):  # noqa: F811
    home = crm.settings.home
    store = PortStore.of(crm.settings)
    everything = store.vault.dataset("crm").to_table()
    everything = pa.concat_tables([everything, pa.table({"token": ["0" * 64], "value": ["named by no port"]})])
    for product, column in store.vault.columns("crm"):  # make the vault as an older mesh left it
        shutil.rmtree(home / "vault" / "crm" / product / column)
    shutil.rmtree(home / "vault" / "crm" / "people")
    write_deltalake(str(home / "vault" / "crm"), everything, mode="append")

    # Until a build of crm runs, reads join the clear values back from the old table.
    assert sorted(owner_read("mesh://crm/people")["email"]) == ["ada@example.com", "grace@example.com"]
    assert sorted(read_product("mesh://crm/people", consumer="shop")["name"]) == ["Ada Lovelace", "Grace Hopper"]

    assert crm.materialize("crm", "notes").success  # a product with no personal column: any build of the domain splits it
    vault = PortStore.of(crm.settings).vault
    assert not (home / "vault" / "crm" / "_delta_log").exists()
    assert [p.name for p in (home / "vault" / "crm").iterdir()] == ["people"]  # the old table's files went
    assert values(vault, "crm", "people", "email") == {"ada@example.com", "grace@example.com"}
    assert values(vault, "crm", "people", "phone") == {"555-0101", "555-0102"}
    assert "named by no port" not in values(vault, "crm")
    assert sorted(owner_read("mesh://crm/people")["email"]) == ["ada@example.com", "grace@example.com"]
    assert sorted(read_product("mesh://crm/people", consumer="shop")["name"]) == ["Ada Lovelace", "Grace Hopper"]
    assert not vault.upgrade("crm")  # once split, nothing to do
