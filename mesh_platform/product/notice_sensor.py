"""The sensor that tells people what happened to a domain's products, through Dagster's own records.

It reads, each tick, what Dagster keeps anyway: the executions of each blocking asset check, the freshness
state the freshness daemon keeps from each product's `FreshnessPolicy`, and the materializations (a first
publish of a new major version). Its cursor (`notify.incidents`) holds what is failing or late now, so a
failure is told once however often it is retried, and again after it passed. A domain's code location has it
only when the deployment configures notifications: off, nothing runs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence

import dagster as dg

from mesh_platform.catalog.catalog import Product
from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.loading import contract_from_document
from mesh_platform.governance.view import MeshView
from mesh_platform.lineage.impact import diff_impact
from mesh_platform.notify import notices
from mesh_platform.notify.incidents import Incidents
from mesh_platform.notify.notice import Notice
from mesh_platform.notify.resource import NotifierResource
from mesh_platform.product.resources import PortStoreResource
from mesh_platform.storage.ports import PortStore

HISTORY = 50  # executions of one check read per tick: more than a tick ever sees
# What happened longer ago than this when the sensor first reads it (notifications just turned on) is recorded, not told.
TOLD_WITHIN_SECONDS = 24 * 3600


def notice_sensor(domain: str, view: MeshView, blocking_checks: Sequence[dg.AssetCheckKey]) -> dg.SensorDefinition:
    """The domain's notice sensor over its products in `view` and their `blocking_checks`."""
    products = {tuple(p.address.asset_key_path): p for p in view.catalog.in_domain(domain)}

    @dg.sensor(
        name=f"{domain}_notices",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Tells the owners and consumers of the {domain} domain's products when a blocking check fails or a "
        "product is late (once per failure), the consumers reading what a new major version breaks, and both sides of an "
        "agreement before it ends and when it has ended.",
    )
    def _notices(
        context: dg.SensorEvaluationContext, mesh_notifier: NotifierResource, mesh_ports: PortStoreResource
    ) -> dg.SensorResult:
        incidents = Incidents.parse(context.cursor)
        instance = context.instance
        found = [
            *failed_checks(instance, incidents, blocking_checks, products, view),
            *late_products(instance, incidents, products, view),
            *breaking_changes(instance, incidents, products, mesh_ports.store().published, view),
            *agreement_ends(incidents, products, view, mesh_notifier.today(), mesh_notifier.warn_days_before_end),
        ]
        notifier = mesh_notifier.notifier(context.log)
        said = [notifier.send(notice).describe() for notice in found]
        return dg.SensorResult(skip_reason="; ".join(said) or "nothing to tell", cursor=incidents.cursor())

    return _notices


def failed_checks(
    instance: dg.DagsterInstance,
    incidents: Incidents,
    checks: Sequence[dg.AssetCheckKey],
    products: dict[tuple, Product],
    view: MeshView,
) -> Iterator[Notice]:
    """One notice per product and run whose blocking checks started failing (a check failing again is no news)."""
    failures: dict[tuple[tuple, str], list[tuple[str, str]]] = {}
    recent = time.time() - TOLD_WITHIN_SECONDS
    for key in checks:
        name = key.to_user_string()
        read = incidents.checks_read.get(name)
        # Every execution since the last tick, oldest first: the instance itself offers only the latest one.
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY)
        for record in sorted(history, key=lambda r: r.id):
            if (
                (read is not None and record.id <= read)
                or record.status.value not in ("SUCCEEDED", "FAILED")
                or record.event is None
            ):
                continue  # read already, or still planned (its row is completed in place later)
            incidents.checks_read[name] = record.id
            evaluation = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
            if incidents.check_evaluated(name, record.status.value == "SUCCEEDED") and record.create_timestamp >= recent:
                found = getattr(evaluation, "description", None) or "failed"
                failures.setdefault((tuple(key.asset_key.path), record.run_id), []).append((key.name, found))
    for (path, run_id), failed in failures.items():
        if (product := products.get(path)) is not None:
            yield notices.check_failed(product, failed, run_id, view)


def late_products(
    instance: dg.DagsterInstance, incidents: Incidents, products: dict[tuple, Product], view: MeshView
) -> Iterator[Notice]:
    """A product whose freshness policy (evaluated by Dagster's freshness daemon) now fails: told once, until it passes."""
    keys = [dg.AssetKey(list(path)) for path, p in products.items() if p.contract.frequency or p.contract.latency]
    for key, record in instance.get_freshness_state_records(keys).items():
        state = record.freshness_state.value
        if state in ("UNKNOWN", "NOT_APPLICABLE"):
            continue  # never built, or no policy: neither late nor on time
        product = products[tuple(key.path)]
        if incidents.freshness_evaluated(str(product.address), state == "FAIL"):
            yield notices.late(product, record.updated_at, view)


def agreement_ends(
    incidents: Incidents, products: dict[tuple, Product], view: MeshView, today: dt.date, warn_days: int
) -> Iterator[Notice]:
    """The agreements on the domain's products that end within `warn_days` (told once) and that have ended (told once):
    to their consumer and the product's owners."""
    for product in products.values():
        for agreement in view.catalog.agreements.of(product.address):
            state, left = agreement.state(today), agreement.days_left(today)
            if state == "active" and left is not None and left <= warn_days and incidents.agreement_told(agreement.id, "ending"):
                yield notices.agreement_ending(agreement, product, view, today)
            elif state == "ended" and incidents.agreement_told(agreement.id, "ended"):
                yield notices.agreement_ended(agreement, product, view)


def breaking_changes(
    instance: dg.DagsterInstance,
    incidents: Incidents,
    products: dict[tuple, Product],
    ports: PortStore,
    view: MeshView,
) -> Iterator[Notice]:
    """The first publish of a new major version while the previous one is still served: the consumers reading what
    its breaking changes change are told, with the date the previous major stops being served."""
    recent = time.time() - TOLD_WITHIN_SECONDS
    for path, product in products.items():
        address = str(product.address)
        if product.contract.major < 2:
            continue
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(list(path)), after_storage_id=incidents.materializations_read.get(address)
            ),
            limit=100,
            ascending=True,
        ).records
        for record in records:
            incidents.materializations_read[address] = record.storage_id
            metadata = record.asset_materialization.metadata if record.asset_materialization else {}
            version, port_version = metadata.get("mesh/contract_version"), metadata.get("mesh/port_version")
            if version is None or port_version is None or port_version.value != 0:
                continue  # not the first commit of a major's port
            major = int(str(version.value).split(".")[0])
            if major < 2 or incidents.announced.get(address, 0) >= major:
                continue
            incidents.announced[address] = major
            if record.timestamp >= recent and (notice := _breaking_change(product, major, ports, view)) is not None:
                yield notice


def _breaking_change(product: Product, major: int, ports: PortStore, view: MeshView) -> Notice | None:
    """The notice for major `major` of `product` against the previous major's published contract, if that is still served."""
    old_port, new_port = (ports.port(product.address.at_major(m)) for m in (major - 1, major))
    old_published, new_published = old_port.current_contract(), new_port.current_contract()
    if old_published is None or new_published is None:
        return None  # no previous major was ever published: nobody reads it
    old = contract_from_document(old_published[1], f"{old_port.address} (version {old_published[0]})")
    new = contract_from_document(new_published[1], f"{new_port.address} (version {new_published[0]})")
    until = new.settings.serve_previous_major_until
    if until is not None and until < dt.date.today():
        return None  # the previous major is no longer served: no window to move within
    impact = diff_impact(old, new, diff_contracts(old, new), view.catalog, view.lineage_of)
    return notices.breaking_change(product, old, new, impact, until, view)
