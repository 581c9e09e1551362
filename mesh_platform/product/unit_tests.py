"""Unit tests of a product's recipe: given these input rows, the product is these rows (`mesh test`).

A product's folder may hold `tests.yaml` (modelled on dbt's unit tests):

    tests:
      - name: completed_orders_only
        given:                      # rows per input alias; an input not given is empty
          orders:
            - {order_id: 1, status: completed, amount_usd: 10}
        expect:                     # the product's rows; only the columns written are compared
          - {order_id: 1, amount_usd: 10}
        ordered: false              # the default: rows in any order

Each test runs the recipe's real `relation` and the real conformance to the contract (types, glossary
normalization) in an in-memory, sandboxed DuckDB: the inputs typed from their contracts as the product's
domain reads them (`product.recipe_inputs`), the platform's SQL functions and the domain's SQL macros
installed. No Dagster, no materialized mesh. A source product's `given` has one entry, `file`: the rows
of a delivered file, written in the source's format to a temporary landing folder.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pydantic
from pydantic import ConfigDict, Field, field_validator, model_validator

from mesh_platform.core.address import Address
from mesh_platform.core.errors import FileProblemsError, MeshError, Problem, UnitTestError
from mesh_platform.core.sql import quote
from mesh_platform.core.sql_macros import SqlMacros
from mesh_platform.core.yaml_document import YamlDocument, load_yaml_document
from mesh_platform.governance.glossary import Glossary, register_term_parameter
from mesh_platform.product.build import BuildContext, Recipe, computed, conformed_output
from mesh_platform.product.recipe_inputs import InputRowsError, input_tables
from mesh_platform.storage.sandbox import sandbox
from mesh_platform.storage.sql_functions import register_sql_functions

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.catalog.catalog import Catalog, Product

TESTS_FILE = "tests.yaml"
DELIVERED_FILE = "file"  # a source product's `given` entry: the rows of a delivered file
FIX = "see the unit tests format in the README (Add a data product: Unit tests)"
RECIPE_FIX = "correct the recipe (or the test's rows)"
Status = Literal["passed", "failed", "error"]
RecipeLoader = Callable[[Path], Recipe]  # a recipe file → its recipe (`recipes.validation.load_recipe`)
_OUTPUT, _EXPECTED = "mesh_test_output", "mesh_test_expected"
_log = logging.getLogger("mesh.test")


class UnitTest(pydantic.BaseModel):
    """One test: rows per input, the rows expected."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="What the test shows, unique in the file.")
    description: str = Field(default="", description="Why the expected rows are right.")
    given: dict[str, list[dict[str, Any]]] = Field(default_factory=dict, description="Rows per input alias (none: empty).")
    expect: list[dict[str, Any]] = Field(description="The product's rows; only the columns written are compared ([]: no rows).")
    ordered: bool = Field(default=False, description="Whether the rows must come in this order.")

    @field_validator("given", mode="before")
    @classmethod
    def _empty_inputs(cls, given: Any) -> Any:
        return {alias: rows if rows is not None else [] for alias, rows in given.items()} if isinstance(given, dict) else given


class UnitTestsFile(pydantic.BaseModel):
    """A `tests.yaml`: the product's unit tests."""

    model_config = ConfigDict(extra="forbid")

    tests: list[UnitTest] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> UnitTestsFile:
        names = [t.name for t in self.tests]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"test name {repeated[0]} is used twice; give each test its own name")
        return self


@dataclass(frozen=True)
class UnitTests:
    """A product's tests file, read: its tests and where each is written."""

    document: YamlDocument
    tests: tuple[UnitTest, ...]

    @property
    def file(self) -> Path:
        return self.document.file

    def problem(self, index: int, path: tuple[str | int, ...], message: str, fix: str = FIX) -> Problem:
        return self.document.problem(("tests", index, *path), message, fix)


def load_unit_tests(folder: Path) -> UnitTests | None:
    """The unit tests in a product's folder (None: it has none); a `UnitTestError` names each problem's line."""
    file = Path(folder) / TESTS_FILE
    if not file.is_file():
        return None
    document = load_yaml_document(file, UnitTestError)
    try:
        parsed = UnitTestsFile.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise UnitTestError(document.validation_problems(error, FIX)) from None
    return UnitTests(document, tuple(parsed.tests))


@dataclass(frozen=True)
class UnitTestResult:
    """One test's outcome: passed, failed (with the rows that differ) or error (it could not run)."""

    address: Address
    name: str = field(metadata={"json_name": "test"})
    file: Path
    line: int | None
    status: Status
    message: str = field(default="", metadata={"json_name": None})  # JSON: the `summary` under this name
    columns: tuple[str, ...] = ()
    ordered: bool = False
    missing: tuple[dict[str, Any], ...] = ()  # expected, not produced (ordered: with their position, `#`)
    unexpected: tuple[dict[str, Any], ...] = ()  # produced, not expected
    json_properties: ClassVar[dict[str, str]] = {"message": "summary"}

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    @property
    def summary(self) -> str:
        """One line: what failed, or why the test could not run."""
        if self.status != "failed":
            return self.message
        parts = [f"{len(self.missing)} expected row(s) not produced"] if self.missing else []
        parts += [f"{len(self.unexpected)} row(s) produced but not expected"] if self.unexpected else []
        return self.message or "; ".join(parts)

    def diff(self) -> list[str]:
        """The readable difference: the columns compared, the missing rows, the unexpected rows."""
        if self.status != "failed" or self.message:
            return []
        order = "in this order" if self.ordered else "in any order"
        lines = [f"compared columns: {', '.join(self.columns) or '(none: the row count)'} ({order})"]
        sides = (("missing (expected, not produced)", self.missing), ("unexpected (produced, not expected)", self.unexpected))
        for label, rows in sides:
            if rows:
                lines.append(f"{label}:")
                lines += [f"  {_row_text(row)}" for row in rows]
        return lines


@dataclass(frozen=True)
class TestSetting:
    """What unit tests read besides the product: the catalog (its inputs' contracts), the glossary, the mesh's macros file."""

    __test__ = False  # not a pytest class

    catalog: Catalog
    glossary: Glossary
    macros_file: Path | None = None

    def macros(self, domain: str) -> SqlMacros:
        return SqlMacros.of_domain(self.macros_file, self.catalog.domains[domain].folder)


@dataclass
class TestReport:
    """The unit tests of some products, run: every result, and how many products had tests."""

    __test__ = False

    results: list[UnitTestResult] = field(default_factory=list)
    products: int = 0

    @property
    def ok(self) -> bool:
        return all(r.status == "passed" for r in self.results)

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)


def run_tests(products: Iterable[Product], setting: TestSetting, load_recipe: RecipeLoader) -> TestReport:
    """Every unit test of `products` (those without a tests file have none)."""
    report = TestReport()
    for product in products:
        results = product_tests(product, setting, load_recipe)
        report.products += bool(results)
        report.results += results
    return report


def mesh_tests(
    setting: TestSetting, load_recipe: RecipeLoader, addresses: Iterable[str] = (), domain: str | None = None
) -> TestReport:
    """The unit tests of the products at `addresses`, else of `domain`'s products, else of every product;
    a product folder that does not load but holds tests is an error result (its tests cannot run)."""
    catalog = setting.catalog
    if domain is not None and domain not in catalog.domains:
        raise MeshError(f"there is no domain '{domain}' (domains: {', '.join(catalog.domains) or 'none'})")
    named = [catalog.product(a) for a in addresses]  # an unknown address names the products that exist
    products = named or sorted((p for p in catalog.products.values() if domain in (None, p.address.domain)), key=_address)
    report = run_tests(list({p.address: p for p in products}.values()), setting, load_recipe)
    if not named:
        for recipe_file, error in sorted(catalog.broken.items()):
            tests = recipe_file.parent / TESTS_FILE
            if tests.is_file() and domain in (None, _domain_name(catalog, recipe_file)):
                address, problem = _folder_address(catalog, recipe_file), error.problems[0]
                message = f"the product does not load: {problem}"
                report.results.append(UnitTestResult(address, "(every test)", tests, None, "error", message))
                report.products += 1
    return report


def _address(product: Product) -> Address:
    return product.address


def _domain_name(catalog: Catalog, recipe_file: Path) -> str | None:
    return next((name for name, d in catalog.domains.items() if recipe_file.is_relative_to(d.folder)), None)


def _folder_address(catalog: Catalog, recipe_file: Path) -> Address:
    return Address(_domain_name(catalog, recipe_file) or "unknown", recipe_file.parent.name)


def product_tests(product: Product, setting: TestSetting, load_recipe: RecipeLoader) -> list[UnitTestResult]:
    """The results of one product's unit tests; a tests file or recipe that cannot be used is an error result."""
    try:
        tests = load_unit_tests(product.folder)
    except FileProblemsError as error:
        return [_problem_result(product.address, "(tests file)", p) for p in error.problems]
    if tests is None:
        return []
    try:
        recipe = load_recipe(product.recipe_file)
    except FileProblemsError as error:
        problem = error.problems[0]
        return [_problem_result(product.address, t.name, problem, f"the recipe does not load: {problem}") for t in tests.tests]
    return [run_unit_test(product, recipe, tests, index, setting) for index in range(len(tests.tests))]


def unit_test_problems(product: Product, setting: TestSetting, load_recipe: RecipeLoader) -> list[Problem]:
    """The product's failing unit tests as problems (what `mesh check` reports), each at its test's line."""
    found = []
    for result in product_tests(product, setting, load_recipe):
        if result.status != "passed":
            verdict = "fails" if result.status == "failed" else "cannot run"
            message = f"the unit test {verdict}: {result.summary}"
            fix = f"mesh test {result.address} shows why"
            found.append(Problem(result.file, f"test {result.name}", result.line, message, fix))
    return found


def run_unit_test(product: Product, recipe: Recipe, tests: UnitTests, index: int, setting: TestSetting) -> UnitTestResult:
    """Run one test of `tests` against `product`'s real recipe and contract, in an in-memory sandboxed DuckDB."""
    test = tests.tests[index]
    line = tests.document.line_of(("tests", index))
    result = UnitTestResult(product.address, test.name, tests.file, line, "error", ordered=test.ordered)
    landing = Path(tempfile.mkdtemp(prefix="mesh-test-"))  # a source's delivery, when the test gives one
    connection = sandbox([landing])
    try:
        problem, outcome = _run(connection, product, recipe, tests, index, setting, landing)
    finally:
        connection.close()
        shutil.rmtree(landing, ignore_errors=True)
    if problem is not None:
        return replace(result, message=str(problem), line=problem.line or result.line)
    return replace(result, **outcome)


def _run(
    connection: duckdb.DuckDBPyConnection,
    product: Product,
    recipe: Recipe,
    tests: UnitTests,
    index: int,
    setting: TestSetting,
    landing: Path,
) -> tuple[Problem | None, dict[str, Any]]:
    """(a problem that kept the test from running, or None; the outcome's fields)."""
    import duckdb

    test, contract, domain = tests.tests[index], product.contract, product.address.domain
    register_sql_functions(connection)
    register_term_parameter(connection, setting.glossary, domain)
    try:
        if not product.inputs and DELIVERED_FILE in test.given:
            _deliver(recipe, test.given, landing)
        else:
            input_tables(connection, product.inputs, setting.catalog, domain, test.given, reader=str(product.address))
    except InputRowsError as error:
        return tests.problem(index, ("given", *error.path), str(error)), {}
    except MeshError as error:
        return tests.problem(index, ("given",), str(error)), {}
    macros = setting.macros(domain)
    try:
        unavailable = macros.install(connection)
        build = BuildContext(connection, contract, product.inputs, product.folder, landing, _log, setting.glossary)
        output = computed(build, recipe, macros, unavailable)
        connection.execute(f"CREATE TEMP TABLE {_OUTPUT} AS {conformed_output(build, recipe, output)}")
    except FileProblemsError as error:
        return error.problems[0], {}
    except (MeshError, duckdb.Error) as error:
        return tests.problem(index, (), f"the recipe failed: {_clean(error)}", RECIPE_FIX), {}
    except Exception as error:  # the product's own code (a Python recipe): whatever it raises fails the test, said
        return tests.problem(index, (), f"the recipe raised {type(error).__name__}: {_clean(error)}", RECIPE_FIX), {}
    return _compare(connection, tests, index)


def _compare(connection: duckdb.DuckDBPyConnection, tests: UnitTests, index: int) -> tuple[Problem | None, dict[str, Any]]:
    import duckdb

    test = tests.tests[index]
    types = dict(zip(connection.table(_OUTPUT).columns, map(str, connection.table(_OUTPUT).types)))
    columns = list(test.expect[0]) if test.expect else []
    for row_index, row in enumerate(test.expect):
        if set(row) != set(columns):
            message = f"the expected rows name different columns ({', '.join(row)} here, {', '.join(columns)} in the first)"
            return tests.problem(index, ("expect", row_index), message, "write the same columns in every expected row"), {}
        if unknown := [c for c in row if c not in types]:
            message = f"the product has no column '{unknown[0]}' (its columns: {', '.join(types)})"
            return tests.problem(index, ("expect", row_index, unknown[0]), message), {}
    if not columns:
        produced = connection.execute(f"SELECT count(*) FROM {_OUTPUT}").fetchall()[0][0]
        extra = tuple(_dicts(connection, f"SELECT * FROM {_OUTPUT} LIMIT 20")) if produced else ()
        return None, {"status": "failed" if produced else "passed", "unexpected": extra}
    listed = ", ".join(quote(c) for c in columns)
    connection.execute(f"CREATE TEMP TABLE {_EXPECTED} ({', '.join(f'{quote(c)} {types[c]}' for c in columns)})")
    for row_index, row in enumerate(test.expect):
        try:
            values = [row[c] for c in columns]
            connection.execute(f"INSERT INTO {_EXPECTED} ({listed}) VALUES ({', '.join('?' for _ in columns)})", values)
        except duckdb.Error as error:
            message = f"the row does not fit the product's types: {str(error).splitlines()[0]}"
            return tests.problem(index, ("expect", row_index), message), {}
    if test.ordered:
        missing, unexpected = _ordered_difference(connection, columns)
    else:
        missing = _dicts(connection, f"SELECT {listed} FROM {_EXPECTED} EXCEPT ALL SELECT {listed} FROM {_OUTPUT}")
        unexpected = _dicts(connection, f"SELECT {listed} FROM {_OUTPUT} EXCEPT ALL SELECT {listed} FROM {_EXPECTED}")
    status = "failed" if missing or unexpected else "passed"
    return None, {"status": status, "columns": tuple(columns), "missing": tuple(missing), "unexpected": tuple(unexpected)}


def _ordered_difference(
    connection: duckdb.DuckDBPyConnection, columns: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows that differ position by position (each with its position `#`): expected ones, produced ones."""
    listed = ", ".join(quote(c) for c in columns)
    same = " AND ".join(f"e.{quote(c)} IS NOT DISTINCT FROM p.{quote(c)}" for c in columns)
    numbered = "(SELECT row_number() OVER () AS mesh_position, {columns} FROM {table})"
    expected, produced = (numbered.format(columns=listed, table=table) for table in (_EXPECTED, _OUTPUT))
    values = ", ".join([*(f"e.{quote(c)}" for c in columns), *(f"p.{quote(c)}" for c in columns)])
    differing = connection.sql(
        "SELECT coalesce(e.mesh_position, p.mesh_position) AS position, "
        f"e.mesh_position IS NOT NULL AS expected_here, p.mesh_position IS NOT NULL AS produced_here, {values} "
        f"FROM {expected} AS e FULL JOIN {produced} AS p ON e.mesh_position = p.mesh_position "
        f"WHERE NOT ({same}) OR e.mesh_position IS NULL OR p.mesh_position IS NULL ORDER BY position"
    ).fetchall()
    missing: list[dict[str, Any]] = []
    unexpected: list[dict[str, Any]] = []
    for row in differing:
        position, expected_here, produced_here, found = row[0], row[1], row[2], row[3:]
        if expected_here:
            missing.append({"#": position, **dict(zip(columns, found[: len(columns)]))})
        if produced_here:
            unexpected.append({"#": position, **dict(zip(columns, found[len(columns) :]))})
    return missing, unexpected


def _dicts(connection: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    relation = connection.sql(query)
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def _deliver(recipe: Recipe, given: Mapping[str, list[dict[str, Any]]], landing: Path) -> None:
    """A source product's `given` file rows, written to `landing` as the source's delivery."""
    if extra := [name for name in given if name != DELIVERED_FILE]:
        message = f"a source product has no inputs: give its delivered rows as '{DELIVERED_FILE}', not '{extra[0]}'"
        raise InputRowsError(message, (extra[0],))
    deliver = getattr(recipe, "deliver", None)
    if deliver is None:
        raise MeshError(f"the recipe type {type(recipe).__name__} reads no delivered files")
    deliver(given[DELIVERED_FILE], landing)


def _problem_result(address: Address, name: str, problem: Problem, message: str | None = None) -> UnitTestResult:
    return UnitTestResult(address, name, problem.file, problem.line, "error", message or str(problem))


def _clean(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3]) or type(error).__name__


def _row_text(row: Mapping[str, Any]) -> str:
    return " ".join(f"row {value}" if name == "#" else f"{name}={_value_text(value)}" for name, value in row.items())


def _value_text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    return str(value)
