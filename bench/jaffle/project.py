"""The jaffle shop twice: the dbt project in `bench/jaffle/dbt` as dbt builds it, and the same models as mesh products.

The mesh's side is made from the dbt project's own files, so that the two cannot drift apart:
- each model's SQL is its `.sql` file with dbt's Jinja replaced by the SQL dbt compiles it to on DuckDB
  (`ref('x')` → the input table `x`, `source('ecom', 'raw_x')` → `raw_x`, `cents_to_dollars`, `dbt.date_trunc`,
  `dbt_utils.generate_surrogate_key`: `ported_sql`); the inputs are the models and sources it names;
- each model's data tests (its `.yml` files) become the product's contract rules: `not_null` → `nullValues` = 0,
  `unique` → `duplicateValues` = 0, `accepted_values` → `invalidValues` = 0, `relationships` → an ODCS relationship
  (a foreign key to the referenced product), `dbt_utils.expression_is_true` → a `type: sql` rule counting the rows
  where the expression is not true, must be 0 (`contract_rules`);
- each product's columns are its query's output over the raw tables, described by DuckDB (`output_columns`).

The raw tables (`bench/jaffle/data.py`) are sources of both: dbt reads the Parquet files (dbt-duckdb's
`external_location`), the mesh has one source product per file in a domain of their own (`ecom`), published
before anything is timed; the models are the products of the domain `jaffle`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.jaffle.data import TABLES
from bench.meshes import BenchMesh, column, contract, source_recipe, sql_recipe

JAFFLE = Path(__file__).resolve().parent
DBT_PROJECT = JAFFLE / "dbt"
DBT_UTILS = JAFFLE / "dbt_utils"
SOURCES = "ecom"  # the mesh domain of the raw tables
MODELS = "jaffle"  # the mesh domain of the models

_REF = re.compile(r"\{\{\s*ref\('(\w+)'\)\s*\}\}")
_SOURCE = re.compile(r"\{\{\s*source\('ecom',\s*'(\w+)'\)\s*\}\}")
_CENTS = re.compile(r"\{\{\s*cents_to_dollars\('(\w+)'\)\s*\}\}")
_DATE_TRUNC = re.compile(r"\{\{\s*dbt\.date_trunc\('(\w+)',\s*'(\w+)'\)\s*\}\}")
_SURROGATE = re.compile(r"\{\{\s*dbt_utils\.generate_surrogate_key\(\[([^\]]*)\]\)\s*\}\}")
_NULL_KEY = "'_dbt_utils_surrogate_key_null_'"


@dataclass
class Model:
    name: str
    layer: str  # staging (a view in dbt) or marts (a table)
    sql: str  # as the mesh runs it
    refs: list[str]
    sources: list[str]
    column_tests: dict[str, list] = field(default_factory=dict)
    tests: list = field(default_factory=list)  # the model's own (expression_is_true)

    @property
    def inputs(self) -> list[str]:
        return [f"mesh://{SOURCES}/{s}" for s in self.sources] + [f"mesh://{MODELS}/{r}" for r in self.refs]


def ported_sql(text: str) -> str:
    """A model's SQL without dbt: each Jinja call replaced by what dbt-duckdb compiles it to."""

    def surrogate(match: re.Match) -> str:
        fields = [f.strip().strip("'\"") for f in match[1].split(",")]
        parts = [f"coalesce(cast({f} as TEXT), {_NULL_KEY})" for f in fields]
        joined = " || '-' || ".join(parts)
        return f"md5(cast({joined} as TEXT))"

    text = _REF.sub(r"\1", text)
    text = _SOURCE.sub(r"\1", text)
    text = _CENTS.sub(r"(\1 / 100)::numeric(16, 2)", text)
    text = _DATE_TRUNC.sub(r"date_trunc('\1', \2)", text)
    text = _SURROGATE.sub(surrogate, text)
    if "{{" in text or "{%" in text:
        raise ValueError(f"Jinja left in a ported model: {text}")
    return text


def models() -> list[Model]:
    """The dbt project's models in an order that builds (every model after the ones it reads)."""
    found: dict[str, Model] = {}
    for layer in ("staging", "marts"):
        for path in sorted((DBT_PROJECT / "models" / layer).glob("*.sql")):
            text = path.read_text()
            found[path.stem] = Model(path.stem, layer, ported_sql(text), _REF.findall(text), _SOURCE.findall(text))
        for path in sorted((DBT_PROJECT / "models" / layer).glob("*.yml")):
            for spec in yaml.safe_load(path.read_text()).get("models", []):
                model = found[spec["name"]]
                model.tests = spec.get("data_tests", [])
                model.column_tests = {c["name"]: c.get("data_tests", []) for c in spec.get("columns", [])}
    ordered: list[Model] = []
    while len(ordered) < len(found):
        for model in found.values():
            if model not in ordered and all(found[r] in ordered for r in model.refs):
                ordered.append(model)
    return ordered


def _test(spec: object) -> tuple[str, dict]:
    if isinstance(spec, str):
        return spec, {}
    assert isinstance(spec, dict) and len(spec) == 1, spec
    name, body = next(iter(spec.items()))
    return name, body.get("arguments", body)


def _ref_name(text: str) -> str:
    match = re.fullmatch(r"ref\('(\w+)'\)", text.strip())
    assert match, text
    return match[1]


def contract_rules(model: Model) -> tuple[dict[str, dict], list[dict]]:
    """The model's data tests as contract rules: extra fields of each tested column, and rules of its table."""
    columns: dict[str, dict] = {}
    for name, tests in model.column_tests.items():
        extra: dict = {}
        for spec in tests:
            test, arguments = _test(spec)
            if test == "not_null":
                extra.setdefault("quality", []).append({"metric": "nullValues", "mustBe": 0})
            elif test == "unique":
                extra.setdefault("quality", []).append({"metric": "duplicateValues", "mustBe": 0})
            elif test == "accepted_values":
                extra.setdefault("quality", []).append(
                    {"metric": "invalidValues", "arguments": {"validValues": arguments["values"]}, "mustBe": 0}
                )
            elif test == "relationships":
                target = _ref_name(arguments["to"])
                extra.setdefault("relationships", []).append(
                    {
                        "type": "foreignKey",
                        "to": f"{target}.{arguments['field']}",
                        "customProperties": [{"property": "product", "value": f"mesh://{MODELS}/{target}"}],
                    }
                )
            else:
                raise ValueError(f"{model.name}.{name}: no contract rule for the dbt test {test}")
        columns[name] = extra
    table = []
    for spec in model.tests:
        test, arguments = _test(spec)
        if test != "dbt_utils.expression_is_true":
            raise ValueError(f"{model.name}: no contract rule for the dbt test {test}")
        table.append(
            {
                "type": "sql",
                "name": f"expression is true: {arguments['expression']}",
                "query": f"SELECT count(*) FROM {{object}} WHERE NOT ({arguments['expression']})",
                "mustBe": 0,
            }
        )
    return columns, table


def output_columns(raw: Path) -> dict[str, list[tuple[str, str]]]:
    """Each raw table's and each model's columns (name, DuckDB type), its query described over the raw tables."""
    import duckdb

    described: dict[str, list[tuple[str, str]]] = {}
    with duckdb.connect() as connection:
        for table in TABLES:
            connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{raw / table}.parquet')")
            described[table] = [(row[0], row[1]) for row in connection.execute(f"DESCRIBE {table}").fetchall()]
        for model in models():
            connection.execute(f"CREATE VIEW {model.name} AS {model.sql}")
            described[model.name] = [(row[0], row[1]) for row in connection.execute(f"DESCRIBE {model.name}").fetchall()]
    return described


def _columns(described: list[tuple[str, str]], extras: dict[str, dict] | None = None) -> list[dict]:
    from mesh_platform.contract.types import logical_type_of
    from mesh_platform.product.output_schema import INFERRED_INSTEAD

    result = []
    for name, duckdb_type in described:
        physical = INFERRED_INSTEAD.get(duckdb_type, duckdb_type)
        result.append(column(name, logical_type_of(physical), physical, **(extras or {}).get(name, {})))
    return result


def jaffle_mesh(root: Path, raw: Path) -> BenchMesh:
    """A new mesh at `root`: the raw tables of `raw` as source products of `ecom` (landed as hard links), the
    models as SQL products of `jaffle`. Nothing is built."""
    shutil.rmtree(root, ignore_errors=True)
    mesh = BenchMesh(root)
    mesh.add_domain(SOURCES)
    mesh.add_domain(MODELS)
    described = output_columns(raw)
    for table in TABLES:
        rules = [{"metric": "rowCount", "mustBeGreaterThan": 0}]
        mesh.add_product(
            SOURCES, table, source_recipe(f"{table}.parquet"), contract(SOURCES, table, _columns(described[table]), rules)
        )
        mesh.land(SOURCES, raw / f"{table}.parquet")
    for model in models():
        extras, rules = contract_rules(model)
        columns = _columns(described[model.name], extras)
        mesh.add_product(MODELS, model.name, sql_recipe(model.inputs, model.sql), contract(MODELS, model.name, columns, rules))
    return mesh


def dbt_project(folder: Path) -> Path:
    """A copy of the dbt project (and of its local package) in `folder`, to run there: dbt writes its target,
    logs and packages beside the project. Returns the project's folder."""
    project = folder / "dbt"
    if project.exists():
        for name in ("models", "macros"):
            shutil.rmtree(project / name)
    shutil.copytree(DBT_PROJECT, project, dirs_exist_ok=True)
    shutil.copytree(DBT_UTILS, folder / "dbt_utils", dirs_exist_ok=True)
    return project
