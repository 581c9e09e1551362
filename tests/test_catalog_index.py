"""The compiled catalog index: products come from it while their files are unchanged, never when they changed."""

import os
import pickle
import subprocess
import sys

from mesh_platform import Catalog
from mesh_platform.catalog.index import INDEX_FILE, INDEX_FOLDER


def _index(root):
    return root / INDEX_FOLDER / INDEX_FILE


def _mesh_process(repo_copy, *args):
    """`mesh` in a process of its own: it reads the index from disk, as code locations and runs do."""
    command = [sys.executable, "-m", "mesh_platform.cli.main", *args]  # the venv's interpreter: `mesh` need not be on PATH
    return subprocess.run(command, env=repo_copy.env, cwd=repo_copy.root, capture_output=True, text=True, check=True, timeout=120)


def test_the_index_holds_every_product_and_a_load_that_changes_nothing_does_not_rewrite_it(repo_copy):
    catalog = Catalog.load(repo_copy.root)
    assert _index(repo_copy.root).is_file()
    _, entries = pickle.loads(_index(repo_copy.root).read_bytes())
    assert {entry.product.address for entry in entries.values()} == set(catalog.products)
    written = _index(repo_copy.root).stat().st_mtime_ns
    again = _mesh_process(repo_copy, "list")  # every product from the index
    assert "mesh://sales/orders" in again.stdout
    assert _index(repo_copy.root).stat().st_mtime_ns == written


def test_a_contract_changed_within_the_same_second_and_size_is_read_again(repo_copy):
    Catalog.load(repo_copy.root)
    contract = repo_copy.root / "domains/sales/defs/orders/contract.yaml"
    before = contract.stat()
    text = contract.read_text()
    assert "version: 1.1.0" in text
    contract.write_text(text.replace("version: 1.1.0", "version: 1.1.9", 1))  # same size
    os.utime(contract, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same modification time
    assert "1.1.9" in _mesh_process(repo_copy, "show", "mesh://sales/orders").stdout
    assert str(Catalog.load(repo_copy.root).product("mesh://sales/orders").contract.version) == "1.1.9"


def test_a_broken_product_is_never_kept_and_its_fix_is_seen(repo_copy):
    contract = repo_copy.root / "domains/sales/defs/orders/contract.yaml"
    good = contract.read_text()
    contract.write_text(good.replace("apiVersion: v3.1.0", "apiVersion: v9"))
    for _ in range(2):  # the second load reads the folder again: its error, not a stale product
        catalog = Catalog.load(repo_copy.root)
        assert [path.parent.name for path in catalog.broken] == ["orders"]
        assert "mesh://sales/orders" not in {str(a) for a in catalog.products}
    contract.write_text(good)
    catalog = Catalog.load(repo_copy.root)
    assert not catalog.broken and Catalog.load(repo_copy.root).product("mesh://sales/orders")


def test_a_damaged_or_unwritable_index_only_costs_a_parse(repo_copy):
    Catalog.load(repo_copy.root)
    _index(repo_copy.root).write_bytes(b"not a pickle")
    assert "mesh://sales/orders" in _mesh_process(repo_copy, "list").stdout
    assert pickle.loads(_index(repo_copy.root).read_bytes())  # rebuilt
    (repo_copy.root / INDEX_FOLDER / INDEX_FILE).unlink()
    (repo_copy.root / INDEX_FOLDER).rmdir()
    (repo_copy.root / INDEX_FOLDER).write_text("a file where the index folder would be")
    assert "mesh://sales/orders" in _mesh_process(repo_copy, "list").stdout
