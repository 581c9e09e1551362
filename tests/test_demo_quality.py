"""The demo products refuse bad data: the right rule fails, the port keeps its version, downstream waits."""

import json

import pandas as pd
import pytest

from mesh_platform import product_versions

from .conftest import MeshCopy, owner_read

pytestmark = pytest.mark.slow


def append_orders(copy: MeshCopy, lines: str) -> None:
    export = copy.settings.landing_dir("sales") / "orders" / "export_0002.csv"
    export.write_text(export.read_text() + lines)


def many_unknown_countries(copy: MeshCopy) -> None:
    append_orders(copy, "".join(f"X{n:07d},S-10007,2026-03-01,Atlantis,10.00,completed\n" for n in range(200)))


def duplicate_page_views(copy: MeshCopy) -> None:
    path = copy.settings.landing_dir("web_analytics") / "page_views" / "page_views.parquet"
    frame = pd.read_parquet(path)
    pd.concat([frame, frame.head(3)]).to_parquet(path, index=False)


def anonymous_change_event(copy: MeshCopy) -> None:
    path = copy.settings.landing_dir("customers") / "customer_events.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    path.write_text(path.read_text() + json.dumps({**first, "event_id": None}) + "\n")


def no_campaigns(copy: MeshCopy) -> None:
    path = copy.settings.landing_dir("marketing") / "campaigns.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")


CASES = [
    # (what is wrong, domain to run, tamper, failing product, rule or reason, downstream that must not run)
    (
        "null in a required event column",
        "customers",
        anonymous_change_event,
        "change_events",
        "event_id_not_null failed",
        "profiles",
    ),
    (
        "null in a required column",
        "sales",
        lambda c: append_orders(c, "X0000001,,2026-03-01,US,10.00,completed\n"),
        "orders",
        "customer_number_not_null failed",
        "daily_revenue",
    ),
    ("duplicate keys", "web_analytics", duplicate_page_views, "page_views", "view_id_unique failed", "sessions"),
    (
        "out-of-range value",
        "sales",
        lambda c: append_orders(c, "X0000002,S-10007,2026-03-01,US,-25.00,completed\n"),
        "orders",
        "amount_usd_in_range failed",
        "daily_revenue",
    ),
    (
        "value outside the allowed ones",
        "sales",
        lambda c: append_orders(c, "X0000003,S-10007,2026-03-01,US,25.00,lost\n"),
        "orders",
        "status_invalid_values failed",
        "daily_revenue",
    ),
    (
        "wrong type",
        "sales",
        lambda c: append_orders(c, "X0000004,S-10007,yesterday,US,25.00,completed\n"),
        "raw_orders",
        "yesterday",
        "orders",
    ),
    ("too few rows", "marketing", no_campaigns, "campaigns", "row_count failed", "campaign_audience"),
    ("failing SQL rule", "sales", many_unknown_countries, "orders", "known_country_share failed", "daily_revenue"),
]


@pytest.mark.parametrize(("what", "domain", "tamper", "product", "reason", "downstream"), CASES, ids=[c[0] for c in CASES])
def test_bad_data_is_refused_by_the_right_rule(mesh_copy, what, domain, tamper, product, reason, downstream):
    address, after = f"mesh://{domain}/{product}", f"mesh://{domain}/{downstream}"
    versions_before = [v.version for v in product_versions(address, settings=mesh_copy.settings)]
    rows_before = len(owner_read(address, settings=mesh_copy.settings))
    tamper(mesh_copy)

    result = mesh_copy.mesh("materialize", "--domain", domain)
    assert result.returncode == 1, result.stdout
    failed_line = next(line for line in result.stdout.splitlines() if line.startswith(f"  ✗ {address} "))
    assert reason in result.stdout[result.stdout.index(failed_line) :], result.stdout
    assert f"– {after}  skipped: not run: an input failed ({address})" in result.stdout
    assert [v.version for v in product_versions(address, settings=mesh_copy.settings)] == versions_before
    assert len(owner_read(address, settings=mesh_copy.settings)) == rows_before


def duplicate_first_row(copy: MeshCopy, product) -> None:
    """Make a product's build emit its first row twice: through its landing file, SQL or Python (a cdc
    product, whose state holds each key once by construction, gets a key that does not identify a row)."""
    import textwrap

    import yaml

    recipe = yaml.safe_load(product.recipe_file.read_text())
    attributes = recipe["attributes"]
    kind = recipe["type"].rsplit(".", 1)[-1]
    if kind == "SourceProduct":
        (path,) = sorted(copy.settings.landing_dir(product.address.domain).glob(attributes["path"]))[:1]
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            pd.concat([frame, frame.head(1)]).to_parquet(path, index=False)
        else:
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join([*lines, lines[1]]))
    elif kind == "SqlProduct":
        wrap = "WITH mesh_original AS (\n{}\n) SELECT * FROM mesh_original UNION ALL (SELECT * FROM mesh_original LIMIT 1)"
        if "sql_file" in attributes:
            query = product.folder / attributes["sql_file"]
            query.write_text(wrap.format(query.read_text()))
        else:
            attributes["sql"] = wrap.format(attributes["sql"])
            product.recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    elif kind == "CdcProduct":
        # A key too fine for the product: each customer's changed e-mail addresses become rows of their own.
        attributes["key"] = [*attributes["key"], "email"]
        product.recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    else:
        file, _, name = attributes["function"].partition(":")
        code = product.folder / file
        code.write_text(
            code.read_text()
            + textwrap.dedent(
                f"""

                import functools as _functools
                import pandas as _pd

                _original = {name}


                @_functools.wraps(_original)
                def {name}(*args, **kwargs):
                    frame = _original(*args, **kwargs)
                    return _pd.concat([frame, frame.head(1)], ignore_index=True)
                """
            )
        )


def keyed_products():
    from mesh_platform import Catalog

    from .conftest import REPO

    catalog = Catalog.load(REPO)
    return [
        str(p.address)
        for p in sorted(catalog.products.values(), key=lambda p: p.address)
        if any(c.primary_key for c in p.contract.columns)
    ]


@pytest.mark.parametrize("address", keyed_products())
def test_every_keyed_demo_product_refuses_duplicate_keys(mesh_copy, address):
    from mesh_platform import Catalog

    catalog = Catalog.load(mesh_copy.root)
    product = catalog.product(address)
    downstream = [
        str(p.address) for p in catalog.products.values() if any(i.address.unversioned() == product.address for i in p.inputs)
    ]
    versions_before = [v.version for v in product_versions(address, settings=mesh_copy.settings)]
    duplicate_first_row(mesh_copy, product)

    result = mesh_copy.mesh("materialize", address, *downstream)
    assert result.returncode == 1, result.stdout
    keys = [c.name for c in product.contract.columns if c.primary_key]
    rule = f"{keys[0]}_unique failed" if len(keys) == 1 else "primary_key_unique failed"
    assert f"✗ {address}  failed:" in result.stdout and rule in result.stdout, result.stdout
    for after in downstream:
        assert f"– {after}  skipped: not run: an input failed" in result.stdout
    assert [v.version for v in product_versions(address, settings=mesh_copy.settings)] == versions_before
    assert len(owner_read(address, settings=mesh_copy.settings)) > 0
