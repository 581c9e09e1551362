"""How a product is built and published: compute in the domain's DuckDB, stage, publish.

1. Open the domain's DuckDB file; each input's port is scanned as a table named by its alias
   (another domain's product is read from its Delta port, never from its DuckDB file), read
   as this product's domain: access rules and masking apply and the read is logged.
2. The recipe turns inputs into a DuckDB relation (SQL may call `term_parameter` and the mesh's
   and the domain's SQL macros, installed as TEMP macros of the connection once the inputs are there).
3. The output is conformed to the contract (columns by name, contract types; columns
   carrying a glossary term normalized to its canonical values) and staged once: where it can be,
   written by DuckDB as Parquet files beside the port that no reader sees yet, else a temporary table of
   the build's connection (`storage.domain_database`);
   a partitioned product's build keeps the rows of the partitions it builds (its window).
4. The contract's quality rules run on the staged table (write–audit–publish). A foreign key reads
   the referenced product's current port as this product's domain may read it (never a build input:
   no dependency, no order). A failing error-severity rule stops here: the staged table is kept for
   inspection (`staging.<product>` in the domain's DuckDB file), nothing is published.
5. Only then is the staged data committed to the port, as one atomic Delta commit, its personal
   columns as keyed tokens (their clear values added to the domain's vault just before).
   A partitioned product's commit replaces the rows of its window only.
   Any failure before that leaves the port's current version as it was.
6. Retention then removes the versions the product no longer keeps (`product.retention`); its
   failure is a warning in the run's log, never the build's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mesh_platform.catalog.catalog import Product
from mesh_platform.core.clock import Clock
from mesh_platform.core.errors import (
    AccessDeniedError,
    AddressError,
    DeprecatedPortWarning,
    MacroError,
    MeshError,
    PortError,
    QualityGateError,
)
from mesh_platform.core.sql import quote
from mesh_platform.core.sql_macros import SqlMacros, Unavailable
from mesh_platform.governance.access import ReadDecision, mesh_secret
from mesh_platform.governance.glossary import Glossary, register_term_parameter, term_value_mappings
from mesh_platform.governance.reads import GrantedRead, PortReader
from mesh_platform.product.conformance import conformed_select
from mesh_platform.product.retention import Cleanup, Retention, clean_after_publish
from mesh_platform.quality.evaluation import evaluate_rules
from mesh_platform.quality.relationships import ReferencedRows
from mesh_platform.storage.delta import SchemaChangeError
from mesh_platform.storage.domain_database import DomainWorkspace
from mesh_platform.storage.ports import DELETED, Port

if TYPE_CHECKING:
    import duckdb

    from mesh_platform.contract.model import Contract
    from mesh_platform.contract.partitioning import Partitioning, Window
    from mesh_platform.core.address import Address
    from mesh_platform.core.inputs import ProductInput
    from mesh_platform.quality.evaluation import RuleResult
    from mesh_platform.quality.rules import QualityRule
    from mesh_platform.storage.staged_files import StagedFiles


OUTPUT_VIEW = "mesh_build_output"
CHANGES_SUFFIX, APPLIED_SUFFIX = "__changes", "__applied"  # an incremental build's staged changes and record


@dataclass
class BuildContext:
    """What a recipe sees while it builds: the DuckDB connection and its inputs by alias."""

    connection: duckdb.DuckDBPyConnection
    contract: Contract
    inputs: tuple[ProductInput, ...]
    folder: Path
    landing: Path
    log: logging.Logger
    glossary: Glossary | None = None
    window: Window | None = None  # the partitions being built, for a partitioned product
    # An incremental recipe's output as changes to the published rows (set by the recipe, see `Increment`).
    increment: Increment | None = None
    own: OwnPort | None = None  # the product's own port, for incremental recipes

    def published_rows(self) -> duckdb.DuckDBPyRelation | None:
        """The product's current published rows as its owner reads them (None before its first publish)."""
        return self.own.rows(self.connection) if self.own else None

    def applied_events(self) -> duckdb.DuckDBPyRelation | None:
        """The record of change events the published rows include (`Increment.applied` of earlier builds); None
        when there is none to trust: no publish yet, none recorded, or a contract version other than this one's."""
        return self.own.applied(self.connection, self.contract.version) if self.own else None

    def input(self, alias: str) -> duckdb.DuckDBPyRelation:
        """An input as a DuckDB relation (lazy: nothing is read until used)."""
        return self.connection.table(alias)

    def term_parameter(self, term: str, name: str) -> str:
        """A parameter of the product's domain's meaning of a glossary term, e.g. ('active_user', 'window')."""
        if self.glossary is None:
            raise KeyError("no glossary")
        return self.glossary.parameter(term, name, self.contract.domain)


@dataclass(frozen=True)
class Audit:
    """The contract's quality rules, run on a staged build (write–audit–publish). A partitioned product's
    rules check the partitions built, but those of `scope: table` the whole table as the commit would make it."""

    rules: list[QualityRule]
    hidden: frozenset[str] = frozenset()  # personal columns: their rules report counts, never values

    @property
    def table_wide(self) -> bool:
        return any(rule.scope == "table" for rule in self.rules)

    def __call__(
        self,
        connection: duckdb.DuckDBPyConnection,
        staged: str,
        whole: str | None = None,
        referenced: dict[str, ReferencedRows] | None = None,
    ) -> list[RuleResult]:
        """Every rule's result: on the `staged` table, the table-wide ones on `whole` when given; a foreign key
        to another product against its rows in `referenced` (by rule name)."""
        if whole is None:
            return evaluate_rules(self.rules, connection, staged, self.hidden, referenced)
        results = evaluate_rules([r for r in self.rules if r.scope != "table"], connection, staged, self.hidden, referenced)
        results += evaluate_rules([r for r in self.rules if r.scope == "table"], connection, whole, self.hidden, referenced)
        order = {rule.name: index for index, rule in enumerate(self.rules)}
        return sorted(results, key=lambda r: order[r.rule.name])


@dataclass(frozen=True)
class Increment:
    """An incremental build (cdc): the recipe's output is still the whole new state, staged and checked as
    any output, but the port receives only what changed, by `key`, in one Delta MERGE commit.

    `changed` has the key columns (as the output names them) and a boolean `mesh_deleted`: one row per key
    that changed, None when the build replayed everything (the port is then rewritten whole). `applied` has
    the rows to add to the record of applied events (mesh_key, sequence, deleted): all of them after a full
    replay, which replaces the record."""

    key: tuple[str, ...]
    applied: duckdb.DuckDBPyRelation
    changed: duckdb.DuckDBPyRelation | None = None


@dataclass(frozen=True)
class OwnPort:
    """The product's own port as a build reads it: its published rows (the owner's view) and its record of applied events."""

    reader: PortReader
    port: Port
    via: str

    def rows(self, connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        if not self.port.exists():
            return None
        return self.reader.open(self.port.address, self.port.address.domain, connection=connection, via=self.via).relation

    def applied(self, connection: duckdb.DuckDBPyConnection, contract_version: str) -> duckdb.DuckDBPyRelation | None:
        latest = self.port.latest()
        if latest is None or latest.contract_version != contract_version:
            return None  # a new contract version replays everything once: its rows may need what old ones lack
        record = self.port.applied_events()
        return connection.from_arrow(record) if record is not None else None


class Recipe(Protocol):
    # False for recipes whose job is to type raw data (sources): their columns are only cast.
    @property
    def checks_output_types(self) -> bool: ...

    def relation(self, build: BuildContext) -> duckdb.DuckDBPyRelation: ...

    def explain_failure(self, build: BuildContext, error: Exception) -> Exception | None: ...


@dataclass(frozen=True)
class BuildEnvironment:
    """What a build reads and writes, all from the platform's resources: nothing else is touched."""

    reader: PortReader  # the inputs, read as the product's domain (access rules, masking, access log)
    glossary: Glossary
    workspace: Callable[[list[Path], list[str]], AbstractContextManager[DomainWorkspace]]  # the domain DuckDB file, sandboxed
    landing: Path  # the domain's landing folder (what `source` products read)
    clock: Clock = Clock()  # what the build takes as now: when it started and published
    retention: Retention | None = None  # the cleanup after publishing (None: none)
    macros: SqlMacros = SqlMacros()  # the mesh's and the domain's SQL macros


@dataclass(frozen=True)
class Publication:
    """What one build published."""

    port_uri: str
    version: int
    rows: int
    results: list[RuleResult] = field(default_factory=list)
    input_age_hours: float | None = None  # how old the oldest input version read was (staleness)
    bytes_written: int = 0  # the size of the Parquet files its commit added (0: nothing changed, no commit)
    cleanup: Cleanup | None = None  # what retention kept and removed after the publish (None: it failed, or none ran)


def build_and_publish(
    product: Product,
    recipe: Recipe,
    environment: BuildEnvironment,
    run_id: str | None,
    log: logging.Logger,
    audit: Audit | None = None,
    window: Window | None = None,
) -> Publication:
    """Write, audit, publish. A failing error-severity rule raises `QualityGateError`: nothing is
    published and the staged table is kept in the domain's DuckDB file for inspection.

    With a `window` (a partitioned product), the build computes, checks and publishes the rows of
    those partitions only; an input partitioned at the same grain is read for the same window."""
    clock = environment.clock
    started_at = clock.now()  # before any input is read: what the port's version order follows
    contract = product.contract
    reader, glossary = environment.reader, environment.glossary
    port = reader.ports.port(product.port_address)
    if problems := environment.macros.problems():  # before any input is read: the build cannot run its SQL
        raise MacroError(problems)
    input_times: list[dt.datetime | None] = []
    granted = []
    for item in product.inputs:
        if notice := reader.catalog.deprecation(item.address):
            log.warning(f"input {item.alias}: {notice}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecatedPortWarning)  # logged just above
            granted.append(reader.grant(item.address, contract.domain, via=f"build of {contract.address} (run {run_id})"))
    # The products the rules' foreign keys reference, granted now too: their files are scanned like the inputs'.
    via = f"build of {contract.address} (run {run_id}): relationship check"
    referenced_grants = _grant_referenced(audit, reader, contract.domain, via) if audit else {}
    # A recipe's SQL reads the landing folder's files and, where the domain may see them as published, the inputs'
    # and the referenced products' own Parquet files, which DuckDB then scans itself: nothing the domain is not
    # granted (`mesh check` reports SQL naming any file, recipes.validation).
    reads = [*granted, *(read for read in referenced_grants.values() if isinstance(read, GrantedRead))]
    inputs_files = [file for read in reads for file in read.files or ()]
    # DuckDB may write the staged files beside the port (its SQL only ever reads them: one SELECT).
    beside_port = _file_staging(contract, port, window)
    readable = [environment.landing, *([beside_port] if beside_port is not None else [])]
    with environment.workspace(readable, inputs_files) as workspace:
        connection = workspace.connection
        for item, read in zip(product.inputs, granted, strict=True):
            opened = reader.opened(read, connection, files_allowed=True)
            relation = opened.relation
            if window is not None and (upstream := _same_grain(reader, item.address, contract)) is not None:
                relation = relation.filter(upstream.condition(window))  # a daily product reads the same day of a daily input
                log.info(f"input {item.alias}: partitions {window} only")
            connection.register(item.alias, relation)
            published = next((v.published_at for v in opened.port.versions() if v.version == opened.version), None)
            input_times.append(published)
            log.info(
                f"input {item.alias}: {opened.address} version {opened.version} "
                f"({opened.port.uri}){_masking_note(opened.decision)}"
            )
        register_term_parameter(connection, glossary, contract.domain)
        unavailable = install_macros(environment.macros, connection, log)
        own = OwnPort(reader, port, via=f"build of {contract.address} (run {run_id}): its published rows")
        build = BuildContext(
            connection, contract, product.inputs, product.folder, environment.landing, log, glossary, window, own=own
        )
        select = conformed_output(build, recipe, computed(build, recipe, environment.macros, unavailable))
        if window is not None and (partitioning := contract.partitioning) is not None:
            # In partition order: the port's files are cut one partition each as the staged rows stream out.
            select = f"SELECT * FROM ({select}) WHERE {partitioning.condition(window)} ORDER BY {quote(partitioning.column)}"
            log.info(
                f"building partitions {window} of {contract.address} ({partitioning.column} from {window.start} to "
                f"{window.end} UTC)"
            )
        staged_files: StagedFiles | None = None
        try:
            if beside_port is not None and build.increment is None:
                staged_files = workspace.stage_files(contract.name, select, port.location.path)
            table = workspace.staged(contract.name) if staged_files else workspace.stage(contract.name, select)
        except Exception as error:
            # The recipe may say better what went wrong (a source: every value that does not convert, by column).
            if (explained := recipe.explain_failure(build, error)) is None:
                raise
            raise explained from None
        try:
            if audit:
                log.info(f"checking {table} against {contract.file.name}'s quality rules")
            whole = _whole_table(build, table, window) if audit and audit.table_wide and window is not None else None
            referenced = _referenced_rows(audit, reader, connection, referenced_grants, contract.domain, log) if audit else {}
            results = audit(connection, table, whole, referenced) if audit else []
            for result in results:
                if result.unchecked:
                    log.warning(result.message)
            if blocking := [r for r in results if not r.passed and r.rule.blocking]:
                kept = f"{workspace.path} ({workspace.kept(contract.name)})"
                raise QualityGateError(contract.address, blocking, results, kept)
            if staged_files is not None:
                rows, where = staged_files.rows, f"{len(staged_files.files)} Parquet files in {staged_files.folder}"
            else:
                rows, where = workspace.staged_rows(contract.name), f"{workspace.path} ({table})"
            log.info(f"staged {rows} rows in {where}; {len(results)} checks passed or warned")
            publishing = _Publishing(contract, port, workspace, reader, run_id, started_at, log, clock)
            version, committed = _publish(publishing, build.increment, window, staged_files)
        except BaseException:
            with contextlib.suppress(Exception):  # what the build staged, kept for inspection where the file takes it
                workspace.keep(f"{contract.name}{suffix}" for suffix in ("", CHANGES_SUFFIX, APPLIED_SUFFIX))
            raise
        finally:
            if staged_files is not None:
                staged_files.discard()  # published (moved into the port), kept in the file, or failed
    written = port.bytes_added(version) if committed else 0
    log.info(f"published {contract.address} version {version} to {port.uri} ({written} bytes written)")
    oldest = min((t for t in input_times if t is not None), default=None)
    age = (clock.now() - oldest).total_seconds() / 3600 if oldest else None
    cleanup = clean_after_publish(environment.retention, product, log) if environment.retention is not None else None
    return Publication(
        port_uri=port.uri,
        version=version,
        rows=rows,
        results=results,
        input_age_hours=age,
        bytes_written=written,
        cleanup=cleanup,
    )


def install_macros(macros: SqlMacros, connection: duckdb.DuckDBPyConnection, log: logging.Logger) -> list[Unavailable]:
    """The SQL macros as TEMP macros of `connection` (after its input tables); those left out are logged."""
    unavailable = macros.install(connection)
    if macros.macros:
        log.info(f"SQL macros: {len(macros.macros) - len(unavailable)} installed from {', '.join(str(p) for p in macros.paths)}")
    for left_out in unavailable:
        log.info(f"SQL macro not installed: {left_out}")
    return unavailable


def computed(build: BuildContext, recipe: Recipe, macros: SqlMacros, unavailable: list[Unavailable]) -> duckdb.DuckDBPyRelation:
    """The recipe's output; an error naming a macro left out of this connection says why it is not there."""
    import duckdb

    try:
        return recipe.relation(build)
    except duckdb.Error as error:
        if why := macros.explain(error, unavailable):
            raise MeshError(f"{build.contract.address}: {str(error).splitlines()[0]} ({why})") from error
        raise


def conformed_output(build: BuildContext, recipe: Recipe, output: duckdb.DuckDBPyRelation) -> str:
    """SQL selecting the recipe's output as its contract has it: columns by name, cast to the contract's types,
    glossary terms normalized to their canonical values (`SchemaDriftError` when the columns differ)."""
    build.connection.register(OUTPUT_VIEW, output)
    actual = list(zip(output.columns, map(str, output.types)))
    normalize = term_value_mappings(build.contract, build.glossary) if build.glossary is not None else {}
    select = conformed_select(OUTPUT_VIEW, actual, build.contract, check_types=recipe.checks_output_types, normalize=normalize)
    if normalize:
        listed = ", ".join(f"{c} ({m.name})" for c, m in normalize.items())
        build.log.info(f"normalized to the glossary's canonical values: {listed}")
    return select


@dataclass(frozen=True)
class _Publishing:
    """What publishing a staged build needs."""

    contract: Contract
    port: Port
    workspace: DomainWorkspace
    reader: PortReader
    run_id: str | None
    started_at: dt.datetime
    log: logging.Logger
    clock: Clock


def _publish(
    publishing: _Publishing, increment: Increment | None, window: Window | None, staged_files: StagedFiles | None = None
) -> tuple[int, bool]:
    """Commit the staged rows to the port: the whole table (the `staged_files` themselves where the build staged
    files), its window's partitions, or (an incremental build) the changed keys only; the personal columns as keyed
    tokens. Returns the new version, and whether a commit was made (an incremental build that changed nothing gets
    the current version back)."""
    contract, port, workspace, reader = publishing.contract, publishing.port, publishing.workspace, publishing.reader
    personal = tuple(c.name for c in contract.columns if c.is_personal)
    secret = mesh_secret(reader.secret, reader.secret_file) if personal else ""
    # An incremental build's record goes aside before the port changes: it is read from the record as it was.
    applied = workspace.stage_relation(f"{contract.name}{APPLIED_SUFFIX}", increment.applied) if increment else None
    version, committed = None, True
    if increment is not None and increment.changed is not None and port.exists():
        changes = workspace.stage_changes(contract.name, CHANGES_SUFFIX, increment.changed, list(increment.key), DELETED)
        # The clear values go to the domain's vault first: a published token always has its value there.
        reader.ports.vault.store(contract.domain, contract.name, workspace.personal_values(changes, personal, secret))
        try:
            changed = workspace.tokenized_batches(changes, personal, secret).read_all()
            version = port.apply_changes(
                changed,
                contract,
                list(increment.key),
                publishing.run_id,
                tokens=personal,
                started_at=publishing.started_at,
                published_at=publishing.clock.now(),
            )
            committed = changed.num_rows > 0  # no change, no commit
            publishing.log.info(
                f"applied the changes of {workspace.staged_rows(changes)} keys to {contract.address} (Delta MERGE)"
            )
        except SchemaChangeError as change:
            publishing.log.warning(
                f"the port's columns are not the contract's ({change}): publishing the whole table instead of the changes"
            )
    if staged_files is not None:  # no personal column, no window, no increment (`_file_staging`)
        version = port.publish_files(
            staged_files, contract, publishing.run_id, started_at=publishing.started_at, published_at=publishing.clock.now()
        )
    if version is None:
        reader.ports.vault.store(contract.domain, contract.name, workspace.personal_values(contract.name, personal, secret))
        batches = workspace.tokenized_batches(contract.name, personal, secret)
        version = port.publish(
            batches,
            contract,
            publishing.run_id,
            tokens=personal,
            started_at=publishing.started_at,
            window=window,
            published_at=publishing.clock.now(),
        )
    if increment is not None and applied is not None:
        # A full replay's record replaces the old one; changes add to it (also when the table went whole).
        port.record_applied(workspace.staged_table(applied), replace=increment.changed is None, version=version)
    for suffix in ("", CHANGES_SUFFIX, APPLIED_SUFFIX):
        workspace.published(f"{contract.name}{suffix}")
    return version, committed


def _file_staging(contract: Contract, port: Port, window: Window | None) -> Path | None:
    """The folder where the build may stage its output as Parquet files beside its port (`storage.staged_files`),
    or None: the port is on an object store, or the output cannot be committed as written (personal columns are
    tokenized and their clear values vaulted from the staged table; a partitioned product's files are cut one
    partition each)."""
    if window is not None or contract.partitioning is not None or any(c.is_personal for c in contract.columns):
        return None
    return port.staging_folder


WHOLE_TABLE = "mesh_whole_table"


def _whole_table(build: BuildContext, staged: str, window: Window) -> str | None:
    """A view of the whole table as a partitioned build's commit would make it: the published rows outside
    the window, and the staged ones (None when nothing is published yet: the staged rows are the whole table)."""
    published = build.published_rows()
    if published is None:
        return None
    partitioning = build.contract.partitioning
    assert partitioning is not None, "a window is built for a partitioned product only"
    build.connection.register("mesh_published_rows", published)
    build.connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {WHOLE_TABLE} AS SELECT * FROM mesh_published_rows "
        f"WHERE NOT ({partitioning.condition(window)}) UNION ALL BY NAME SELECT * FROM {staged}"
    )
    build.log.info(f"checking the rules on the whole table against the published rows with partitions {window} replaced")
    return WHOLE_TABLE


def _grant_referenced(audit: Audit, reader: PortReader, domain: str, via: str) -> dict[Address, GrantedRead | ReferencedRows]:
    """Each product the audit's foreign keys reference, granted to `domain` once (access decided and logged like any
    read), before the build's sandbox opens: it may then scan the granted version's files. Or why it cannot be read."""
    granted: dict[Address, GrantedRead | ReferencedRows] = {}
    for rule in audit.rules:
        relationship = rule.relationship
        if relationship is not None and relationship.product is not None and relationship.product not in granted:
            granted[relationship.product] = _grant_one_referenced(reader, relationship.product, domain, via)
    return granted


def _grant_one_referenced(reader: PortReader, address: Address, domain: str, via: str) -> GrantedRead | ReferencedRows:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecatedPortWarning)  # the policies warn of a deprecated reference
        try:
            return reader.grant(address, domain, via=via)
        except AccessDeniedError as denied:
            return ReferencedRows(error=str(denied))
        except (AddressError, PortError) as error:
            try:
                unpublished = not reader.resolve(address).port.exists()
            except (AddressError, PortError):
                unpublished = False
            if unpublished:  # e.g. a product reading this one, on a mesh's first build: it is built after this one
                missing = f"{address} has no published version to compare with yet; "
                missing += "the first build after it is published checks it"
                return ReferencedRows(missing=missing)
            return ReferencedRows(error=str(error))


def _referenced_rows(
    audit: Audit,
    reader: PortReader,
    connection: duckdb.DuckDBPyConnection,
    granted: dict[Address, GrantedRead | ReferencedRows],
    domain: str,
    log: logging.Logger,
) -> dict[str, ReferencedRows]:
    """What each foreign key to another product compares with, by rule name: that product's current port as
    `granted` (`_grant_referenced`), opened once per product on the build's connection, masked as `domain` sees it."""
    opened: dict[Address, tuple[ReferencedRows, set[str]]] = {}
    found = {}
    for rule in audit.rules:
        relationship = rule.relationship
        if relationship is None or relationship.product is None:
            continue
        if relationship.product not in opened:
            name = f"mesh_referenced_{len(opened)}"
            product = relationship.product
            opened[product] = _open_referenced(reader, connection, product, granted[product], name, log)
        referenced, columns = opened[relationship.product]
        if referenced.table is not None and (unseen := [c for c in relationship.references if c not in columns]):
            referenced = ReferencedRows(error=f"{relationship.product} shows {domain} no {', '.join(unseen)} (see mesh check)")
        found[rule.name] = referenced
    return found


def _open_referenced(
    reader: PortReader,
    connection: duckdb.DuckDBPyConnection,
    address: Address,
    granted: GrantedRead | ReferencedRows,
    name: str,
    log: logging.Logger,
) -> tuple[ReferencedRows, set[str]]:
    """The rows of the referenced product `address` as `granted`, on the build's connection as the table `name` (its
    files scanned by DuckDB where the sandbox allows them: `GrantedRead.files`); a refusal or a missing port as found."""
    if isinstance(granted, ReferencedRows):
        return granted, set()
    opened = reader.opened(granted, connection, files_allowed=True)
    connection.register(name, opened.relation)
    hashed = frozenset(opened.decision.hashed)
    key = mesh_secret(reader.secret, reader.secret_file) if hashed else ""
    log.info(f"relationship check: {opened.address} version {opened.version} ({opened.port.uri}){_masking_note(opened.decision)}")
    return ReferencedRows(name, f"{address} version {opened.version}", hashed, key), set(opened.relation.columns)


def _same_grain(reader: PortReader, address: Address, contract: Contract) -> Partitioning | None:
    """The partitioning of an input partitioned at the product's own grain, whose rows a window build reads for its
    window only."""
    upstream = reader.catalog.product(address).contract.partitioning
    own = contract.partitioning
    if upstream is None or own is None or upstream.grain != own.grain:
        return None
    return upstream


def _masking_note(decision: ReadDecision) -> str:
    parts = [
        f"{label}: {', '.join(columns)}"
        for label, columns in (("hashed", decision.hashed), ("dropped", decision.dropped), ("in clear by grant", decision.clear))
        if columns
    ]
    return f"; personal columns {'; '.join(parts)}" if parts else ""
