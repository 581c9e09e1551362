"""A product as a Dagster asset: everything the contract says, visible in the UI.

Key `[domain, product]`, group = domain, owners from the team, tags (access,
classification, contract version, tier), kinds, description, column schema,
code version, a freshness policy from the SLA, a cron automation condition
from the update frequency, and the domain's DuckDB concurrency pool. Its asset
checks: `governance` (the policies) and one per quality rule of the contract,
run on the staged data before publishing.

The asset is made from the repository's files alone: policies that read published
state are evaluated by the `governance` check when the product runs. Everything
the run touches comes from the platform's resources (`product.resources`).
"""

import datetime as dt
import hashlib
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from mesh_platform.catalog.agreements import Agreement
from mesh_platform.catalog.catalog import Product
from mesh_platform.catalog.freshness import allowed_age
from mesh_platform.contract.model import Contract
from mesh_platform.contract.partitioning import Partitioning, Window
from mesh_platform.core.errors import PolicyViolationError, QualityGateError
from mesh_platform.core.user_files import read_user_file
from mesh_platform.governance.check import check_product
from mesh_platform.governance.glossary import rules_with_terms
from mesh_platform.governance.policies import Violation
from mesh_platform.governance.view import MeshView
from mesh_platform.lineage.mesh_lineage import ProductLineage
from mesh_platform.lineage.recipe_lineage import METHOD_DESCRIPTIONS
from mesh_platform.product.build import Audit, BuildEnvironment, Recipe, build_and_publish
from mesh_platform.product.checks import GOVERNANCE_CHECK, NOT_CHECKED
from mesh_platform.product.resources import (
    AccessControlResource,
    CatalogResource,
    DomainDuckDBResource,
    LandingZoneResource,
    PortStoreResource,
)
from mesh_platform.product.retention import storage_metadata
from mesh_platform.product.run_tags import DOMAIN_TAG
from mesh_platform.quality.evaluation import RuleResult
from mesh_platform.quality.rules import QualityRule
from mesh_platform.storage.domain_database import pool_name


def product_asset(
    product: Product, recipe: Recipe, kind: str, code_files: Iterable[Path], view: MeshView, lineage: ProductLineage | None = None
) -> dg.AssetsDefinition:
    """The product's asset, from its files and the mesh `view` of the repository (no published state)."""
    contract = product.contract
    refusals = [v for v in check_product(product, view) if v.severity == "error"]
    spec = product_spec(product, kind, code_files, refusals, lineage, view.catalog.agreements.of(product.address))
    rules = rules_with_terms(contract, view.glossary)
    partitioning = contract.partitioning
    checks = [
        dg.AssetCheckSpec(
            GOVERNANCE_CHECK,
            asset=spec.key,
            description="The mesh's and the domain's policies (mesh check); a violation refuses the build.",
            blocking=True,
        )
    ] + [
        dg.AssetCheckSpec(
            rule.name,
            asset=spec.key,
            description=_check_description(rule, contract, whole_table=bool(partitioning) and rule.scope == "table"),
            blocking=rule.blocking,
        )
        for rule in rules
    ]

    audit = Audit(rules, frozenset(c.name for c in contract.columns if c.is_personal))

    # A backfill of many partitions is one run: one build of the whole range, one commit.
    backfill = dg.BackfillPolicy.single_run() if partitioning else None

    @dg.multi_asset(
        name=contract.name, specs=[spec], check_specs=checks, pool=pool_name(contract.domain), backfill_policy=backfill
    )
    def _build(
        context: dg.AssetExecutionContext,
        mesh_catalog: CatalogResource,
        mesh_ports: PortStoreResource,
        mesh_duckdb: DomainDuckDBResource,
        mesh_landing: LandingZoneResource,
        mesh_access: AccessControlResource,
    ):
        if context.run.tags.get(DOMAIN_TAG) != contract.domain:  # a run the platform did not launch (the UI, a backfill)
            context.instance.add_run_tags(context.run.run_id, {DOMAIN_TAG: contract.domain})
        ports = mesh_ports.store()
        # Published state included: every policy runs now, judged against the mesh's ports (also in a development namespace).
        mesh = view.with_ports(ports.published)  # the files as the code location read them, its ports now
        violations = check_product(product, mesh)
        yield _governance_result(spec.key, violations)
        if refused := [v for v in violations if v.severity == "error"]:
            raise PolicyViolationError(contract.address, refused)
        environment = BuildEnvironment(
            reader=mesh_access.reader(mesh.catalog, ports),
            glossary=mesh.glossary,
            workspace=mesh_duckdb.workspace,
            landing=mesh_landing.folder(contract.domain),
            clock=mesh_ports.clock(),
            retention=mesh_ports.retention(mesh.catalog, ports),
            macros=mesh_catalog.macros(mesh.catalog.domains[contract.domain].folder),
        )
        window = _window(context, partitioning) if partitioning else None
        started = time.perf_counter()
        try:
            published = build_and_publish(product, recipe, environment, context.run.run_id, context.log, audit, window)
        except QualityGateError as gate:
            yield from (_check_result(spec.key, r) for r in gate.results)
            raise
        yield from (_check_result(spec.key, r) for r in published.results)
        failed = [r for r in published.results if not r.passed]  # warnings only: an error stops the build
        metadata: dict[str, Any] = {
            # Numbers on every materialization, so the UI plots them over time.
            "dagster/row_count": published.rows,
            "mesh/bytes_written": published.bytes_written,  # the Parquet files this build's commit added
            "mesh/build_seconds": round(time.perf_counter() - started, 3),
            "mesh/checks_failed": len(failed),
            "mesh/rows_flagged": sum(r.unexpected_count or 0 for r in failed),
            "dagster/uri": dg.MetadataValue.path(published.port_uri),
            "mesh/port_version": published.version,
            "mesh/contract_version": contract.version,
            # Conformance made the published columns exactly the contract's.
            "dagster/column_schema": column_schema(contract),
        }
        if lineage is not None:  # read from the latest materialization by Dagster's column lineage views
            metadata["dagster/column_lineage"] = column_lineage(lineage)
        if published.input_age_hours is not None:
            metadata["mesh/input_age_hours"] = round(published.input_age_hours, 3)
        if window is not None:
            metadata["mesh/partitions"] = str(window)
        if published.cleanup is not None:  # what the product keeps in storage after retention, plotted over time
            metadata |= storage_metadata(published.cleanup)
        # The data version is the port version: a new commit (a partition built again with late data, say)
        # is new data to Dagster, so what read the old one shows as stale in the UI.
        yield dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(f"port-v{published.version}"))

    return _build


def partitions_definition(partitioning: Partitioning) -> dg.TimeWindowPartitionsDefinition:
    """The product's partitions as Dagster's (UTC): the UI's partition view, backfills and schedules use it."""
    match partitioning.grain:
        case "hourly":
            return dg.HourlyPartitionsDefinition(start_date=partitioning.start, timezone="UTC")
        case "daily":
            return dg.DailyPartitionsDefinition(start_date=partitioning.start, timezone="UTC")
        case _:
            return dg.MonthlyPartitionsDefinition(start_date=partitioning.start, timezone="UTC")


def _window(context: dg.AssetExecutionContext, partitioning: Partitioning) -> Window:
    """The partitions this run builds: one, or the range of a backfill."""
    keys = context.partition_key_range
    return partitioning.window(keys.start, keys.end)


def _governance_result(key: dg.AssetKey, violations: list[Violation]) -> dg.AssetCheckResult:
    refusals = [v for v in violations if v.severity == "error"]
    return dg.AssetCheckResult(
        check_name=GOVERNANCE_CHECK,
        asset_key=key,
        passed=not refusals,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{v.policy}: {v.message}" for v in violations) or "every policy holds",
        metadata={"violations": dg.MetadataValue.json([{**v.__dict__, "file": str(v.file)} for v in violations])},
    )


def _check_description(rule: QualityRule, contract: Contract, *, whole_table: bool) -> str:
    """A rule's check as the UI lists it: what it says, its severity, whether it reads the whole table, where it is."""
    scope = "; the whole table" if whole_table else ""
    return f"{rule.description} [{rule.severity}{scope}; {contract.file.name}: {rule.source}]"


def _check_result(key: dg.AssetKey, result: RuleResult) -> dg.AssetCheckResult:
    rule = result.rule
    metadata: dict[str, Any] = {
        "rule": f"{rule.source}: {rule.description}",
        "expected": str(rule.threshold) if rule.measure != "success" else "the expectation holds",
        "observed": dg.MetadataValue.json(result.observed) if isinstance(result.observed, (list, dict)) else str(result.observed),
    }
    if result.unexpected_count is not None:
        metadata["unexpected_count"] = result.unexpected_count
    if result.unexpected_percent is not None:
        metadata["unexpected_percent"] = round(result.unexpected_percent, 4)
    if result.sample:
        metadata["sample"] = dg.MetadataValue.json(list(result.sample))
    if result.sampled:
        metadata["sampled_rows"], metadata["staged_rows"] = result.sampled
    if result.error:
        metadata["error"] = result.error
    if result.note:
        metadata[NOT_CHECKED if result.unchecked else "compared"] = result.note
    return dg.AssetCheckResult(
        check_name=rule.name,
        asset_key=key,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
        description=result.message,
        metadata=metadata,
    )


def product_spec(
    product: Product,
    kind: str,
    code_files: Iterable[Path],
    refusals: Sequence[Violation] = (),
    lineage: ProductLineage | None = None,
    agreements: Iterable[Agreement] = (),
) -> dg.AssetSpec:
    contract = product.contract
    metadata = {
        "mesh/address": str(contract.address),
        "mesh/access": contract.settings.access,
        "mesh/inputs": ", ".join(str(i.address) for i in product.inputs) or "none",
        # Where the port lives is the port store's (a resource); materializations carry its path.
        "mesh/port": str(product.port_address),
        "mesh/contract": dg.MetadataValue.md(f"```yaml\n{contract.text.rstrip()}\n```"),
        "mesh/contract_file": dg.MetadataValue.path(str(contract.file)),
        "dagster/column_schema": column_schema(contract),
    }
    if contract.relationships:  # foreign keys: checked on every build, never inputs (no dependency edge)
        metadata["mesh/relationships"] = dg.MetadataValue.md(relationships_table(contract))
    if agreements := list(agreements):  # who depends on it, why and until when: operators see it on the asset
        metadata["mesh/consumers"] = dg.MetadataValue.md(agreements_table(agreements, dt.datetime.now(dt.UTC).date()))
    if lineage is not None:
        metadata["dagster/column_lineage"] = column_lineage(lineage)
        metadata["mesh/column_lineage"] = dg.MetadataValue.md(lineage_table(lineage))
    files = [product.recipe_file, contract.file, *code_files]
    description = f"`{contract.address}` · {contract.settings.access} · contract {contract.version}\n\n{contract.description}"
    tags = _tags(contract)
    if refusals:
        listed = "\n".join(f"- **{v.policy}** ({v.file.name}:{v.line}): {v.message} — {v.fix}" for v in refusals)
        description = f"**Refused by governance: it will not build until these are fixed.**\n{listed}\n\n{description}"
        tags["mesh/governance"] = "violation"
    return dg.AssetSpec(
        key=dg.AssetKey([contract.domain, contract.name]),
        deps=[dg.AssetKey(i.address.asset_key_path) for i in product.inputs],
        description=description,
        group_name=contract.domain,
        owners=contract.owners,
        tags=tags,
        kinds={kind, "duckdb", "delta"},
        code_version=_code_version(files),
        freshness_policy=_freshness_policy(contract),
        partitions_def=partitions_definition(contract.partitioning) if contract.partitioning else None,
        automation_condition=_automation_condition(product),
        metadata={**metadata, "dagster/code_references": _code_references(files)},
    )


def column_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.physical_type,
                description=c.description or None,
                constraints=dg.TableColumnConstraints(
                    nullable=not (c.required or c.primary_key),
                    unique=c.unique or (c.primary_key and _single_key(contract)),
                    other=["primary key"] if c.primary_key else None,
                ),
                tags={
                    "classification": c.classification or "unclassified",
                    **({"term": c.settings.term} if c.settings.term else {}),
                },
            )
            for c in contract.columns
        ]
    )


def column_lineage(lineage: ProductLineage) -> dg.TableColumnLineage:
    """Dagster's column lineage: each column's input columns, by asset key (a column made from none is left out)."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=dg.AssetKey(s.address.asset_key_path), column_name=s.column) for s in sources]
            for column, sources in lineage.derives.items()
            if sources
        }
    )


def lineage_table(lineage: ProductLineage) -> str:
    """The column lineage as a Markdown table with links to the input assets (what Dagster's open-source UI renders)."""
    lines = [f"Column lineage ({METHOD_DESCRIPTIONS[lineage.method]}){f': {lineage.problem}' if lineage.problem else ''}.", ""]
    if lineage.method in ("source", "undeclared"):
        return "\n".join(lines)
    lines += ["| column | comes from |", "| --- | --- |"]
    for column, sources in lineage.derives.items():
        listed = ", ".join(f"[{s}](/assets/{'/'.join(s.address.asset_key_path)})" for s in sources) or "no input column"
        lines.append(f"| `{column}` | {listed} |")
    return "\n".join(lines)


def relationships_table(contract: Contract) -> str:
    """The contract's foreign keys as a Markdown table, with links to the referenced assets."""
    lines = ["Relationships (foreign keys, checked on every build against the referenced product's current port).", ""]
    lines += ["| columns | reference | severity |", "| --- | --- | --- |"]
    for relationship in contract.relationships:
        product = relationship.product or contract.address
        link = f"[{relationship.target}](/assets/{'/'.join(product.asset_key_path)})"
        lines.append(f"| {', '.join(f'`{c}`' for c in relationship.columns)} | {link} | {relationship.settings.severity} |")
    return "\n".join(lines)


def _single_key(contract: Contract) -> bool:
    return sum(c.primary_key for c in contract.columns) == 1


def _tags(contract: Contract) -> dict[str, str]:
    tags = {
        "mesh/access": contract.settings.access,
        "mesh/classification": contract.classification,
        "mesh/contract-version": contract.version,
        "mesh/status": contract.status or "unknown",
    }
    if contract.has_personal_data:
        tags["mesh/personal-data"] = "true"
    if contract.settings.tier:
        tags["mesh/tier"] = contract.settings.tier
    return tags


def _code_references(files: list[Path]) -> dg.CodeReferencesMetadataValue:
    """Links from the asset's page to its recipe, contract and code (Dagster marks the API beta; it has been stable since 1.7)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(
            code_references=[dg.LocalFileCodeReference(file_path=str(f), label=f.name) for f in files]
        )


def _code_version(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(read_user_file(file))
    return digest.hexdigest()[:16]


def _freshness_policy(contract: Contract) -> dg.FreshnessPolicy | None:
    """Fail when the product is older than one update interval plus the allowed latency.

    Warn once one interval has passed without an update.
    """
    fail_window = allowed_age(contract)  # the window `mesh status` judges by, so the CLI and the UI agree
    if fail_window is None:
        return None
    warn_window = contract.frequency.duration if contract.frequency and contract.latency else None
    return dg.FreshnessPolicy.time_window(fail_window=fail_window, warn_window=warn_window)


DEFAULT_SOURCE_CRON = "0 0 * * *"


def _automation_condition(product: Product) -> dg.AutomationCondition:
    """When the product rebuilds.

    With a frequency SLA: on its cron tick, once every input has updated since that tick (a
    partitioned product: its newest partition). Without one: a derived product follows its
    inputs; a source is refreshed daily. A partitioned product whose contract sets
    `rebuildLatePartitions` also rebuilds an older partition once an input it reads changed
    (late data built again upstream).
    """
    cron = product.contract.cron_schedule
    condition: dg.AutomationCondition
    if cron:
        condition = dg.AutomationCondition.on_cron(cron)
    else:
        condition = dg.AutomationCondition.eager() if product.inputs else dg.AutomationCondition.on_cron(DEFAULT_SOURCE_CRON)
    if product.contract.settings.rebuild_late_partitions and product.inputs:
        condition = condition | _late_partitions()
    return condition


def _late_partitions() -> dg.AutomationCondition:
    """An older partition whose inputs were updated since it was last handled (requested or built)."""
    ready = (
        ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    )
    late = (
        dg.AutomationCondition.any_deps_updated().since_last_handled() & ~dg.AutomationCondition.in_latest_time_window() & ready
    )
    return late.with_label("a late partition's inputs changed")


def agreements_table(agreements: list[Agreement], today: dt.date) -> str:
    """The product's usage agreements as a Markdown table (state as of `today`, when the definitions loaded)."""
    rows = ["| consumer | purpose | columns | in clear | from | until | state | agreement |", "|---|---|---|---|---|---|---|---|"]
    for a in reversed(agreements):
        cells = [
            a.consumer,
            a.purpose,
            ", ".join(a.columns) or "every column",
            ", ".join(a.clear) or "-",
            str(a.start),
            str(a.end or "no end"),
            a.state(today),
            a.id,
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
