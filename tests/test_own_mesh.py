"""The README's "Start your own mesh", run as written: from an empty folder to four products, a unit test and a
changed query brought into the contract by `mesh contract sync`."""

import json
import re
import shlex
from pathlib import Path

import pytest

from .conftest import run_mesh
from .test_init import own_env
from .test_readme import readme_yaml


def readme_block(name: str) -> str:
    from .test_readme import generated_block

    return re.sub(r"^```\w*\n|```\n$", "", generated_block(name))


def readme_commands(name: str) -> list[list[str]]:
    """The commands of a README shell block: continuations joined, comments dropped, `a && b` as two commands."""
    text = readme_block(name).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            command, words = (words[: words.index("&&")], words[words.index("&&") + 1 :]) if "&&" in words else (words, [])
            commands.append(command)
    return commands


class Shell:
    """Runs README commands as a user's shell would: `cd` changes the folder, `mesh …` runs the real CLI there."""

    def __init__(self, folder: Path):
        self.folder = folder

    def run(self, command: list[str]):
        if command[0] == "cd":
            self.folder = (self.folder / command[1]).resolve()
            return None
        assert command[0] == "mesh", command
        return run_mesh(*command[1:], env=own_env(self.folder), cwd=self.folder, check=True)


def write_exports(folder: Path) -> None:
    """A shop's exports in three formats: what a new team has before it has a mesh."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "exports").mkdir()
    (folder / "exports/orders.csv").write_text(
        "order_id,customer_id,order_date,status\n1,1,2026-01-01,completed\n2,2,2026-01-02,returned\n3,1,2026-01-03,placed\n4,3,2026-01-03,completed\n"
    )
    people = [("Ann", "Lee"), ("Bo", "Kim"), ("Cy", "Ng")]
    (folder / "exports/customers.jsonl").write_text(
        "".join(
            json.dumps({"customer_id": i, "first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"}) + "\n"
            for i, (first, last) in enumerate(people, 1)
        )
    )
    payments = {
        "payment_id": [1, 2, 3, 4, 5],
        "order_id": [1, 1, 2, 3, 4],
        "method": ["card", "coupon", "card", "bank", "card"],
        "amount": [10.0, 5.5, 20.0, 7.25, 30.0],
    }
    pq.write_table(pa.table(payments), folder / "exports/payments.parquet")


@pytest.mark.slow
def test_a_new_team_starts_its_own_mesh_as_the_readme_says(tmp_path):
    write_exports(tmp_path)
    (tmp_path / "order_totals.sql").write_text(readme_block("readme-own-query"))
    shell = Shell(tmp_path)
    outputs = [shell.run(command) for command in readme_commands("readme-own-mesh")]
    root = tmp_path / "shop-mesh"
    assert shell.folder == root
    check, built = outputs[-2], outputs[-1]
    assert check.stdout.strip() == "checked 4 products against 18 policies: 0 errors, 0 warnings", check.stdout
    assert "materialized 4 products" in built.stdout

    # Inferred, not written by hand: the source contracts hold the files' columns, the personal one guessed so.
    customers = (root / "domains/crm/defs/customers/contract.yaml").read_text()
    assert re.search(r"- name: email\n(?:.*\n)*?\s+classification: personal  # guessed", customers), customers
    orders = (root / "domains/shop/defs/orders/contract.yaml").read_text()
    assert "primaryKey: true" in orders and "name: order_date" in orders and "id BIGINT" not in orders
    assert (root / "landing/shop/orders/orders.csv").is_file()  # copied into the landing zone, outside MESH_HOME

    product = root / "domains/shop/defs/order_totals"
    (product / "tests.yaml").write_text(readme_yaml("readme-own-test"))
    change = readme_commands("readme-own-change")
    tested = shell.run(change[0])
    assert "PASS  mesh://shop/order_totals an_order_sums_its_payments" in tested.stdout
    assert "ran 1 unit test of 1 product: 1 passed" in tested.stdout

    # The query gains a column: mesh check says the contract lacks it, mesh contract sync adds it unclassified.
    query = product / "transform.sql"
    query.write_text(
        query.read_text().replace("sum(p.amount) AS amount", "sum(p.amount) AS amount, count(p.payment_id) AS payments")
    )
    stale = run_mesh("check", env=own_env(root), cwd=root)
    assert stale.returncode == 1 and "the recipe outputs column 'payments', which contract.yaml does not have" in stale.stdout
    synced = shell.run(change[1])
    assert re.search(r"added +payments +BIGINT", synced.stdout), synced.stdout
    unclassified = run_mesh("check", env=own_env(root), cwd=root)
    assert unclassified.returncode == 1 and "column 'payments' has no classification" in unclassified.stdout
    contract = product / "contract.yaml"
    contract.write_text(re.sub(r"( +)- name: payments.*\n", r"\g<0>\1  classification: internal\n", contract.read_text()))

    for command in change[2:-1]:
        shell.run(command)
    rows = shell.run(change[-1]).stdout.split("\n")
    assert [line.split() for line in rows if line] == [
        ["order_id", "amount", "payments"],
        ["1", "15.5", "2"],
        ["2", "20.0", "1"],
        ["3", "7.25", "1"],
        ["4", "30.0", "1"],
    ]
