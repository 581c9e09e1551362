"""Retention: how long old versions of a product's ports stay, and the removal of the others.

How long: the contract's `retention` SLA, else the mesh's `default_retention`; with neither, every
version stays. A version stays while it was current at some moment within that time, so a port read
as of any moment of the last 7 days gives what was current then; the version current before the
newest publish stays for as long, and a reader who opened it while it was current has that long to
finish (Delta's own guarantee for a VACUUM's horizon).

Versions still served never go: the current version of every major a reader may use — the current
major, a previous one until its `servePreviousMajorUntil` (or with no date), and a major an input of
another product names (`mesh://d/p@v1`). That is what a consumer pins in this mesh: a major, never a
version number (reading a version by number is time travel, within the retention). A retired major no
input names goes whole once it has been retired for the retention.

Removing is Delta Lake's VACUUM (`storage.retention`). The domain's vault then drops the clear values
that no version kept names any more, but none that a build may be about to publish: values stored
after the domain's last publish stay. Cleanup runs after every publish (`clean_after_publish`, which
never fails the build) and as `mesh vacuum`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.core.address import Address
from mesh_platform.core.clock import Clock
from mesh_platform.storage.ports import Port, PortStore, PortVersion
from mesh_platform.storage.retention import Removal
from mesh_platform.storage.vault import VaultPruning

CONTRACT, MESH_DEFAULT = "contract", "mesh default"


def retention_of(product: Product, default: dt.timedelta | None) -> tuple[dt.timedelta | None, str | None]:
    """The retention in force for a product and where it comes from (`contract`, `mesh default`; None: none, every
    version stays)."""
    if product.contract.retention is not None:
        return product.contract.retention.duration, CONTRACT
    if default is not None:
        return default, MESH_DEFAULT
    return None, None


def describe_duration(duration: dt.timedelta) -> str:
    """`7 days`, `36 hours`, `90 minutes`: the largest unit that divides the duration."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class PortRetention:
    """What retention keeps and removes of one port (a product's major version)."""

    address: Address
    retention: dt.timedelta | None = field(metadata={"json_value": describe_duration})
    # where the retention comes from: `contract`, `mesh default`; None: no retention, everything stays
    source: str | None = field(metadata={"json_name": "retention_source"})
    kept: tuple[int, ...] = field(metadata={"json_name": "versions_kept"})  # the versions kept after this cleanup, newest first
    # the versions this cleanup removes (on a dry run: would remove)
    removed: tuple[int, ...] = field(metadata={"json_name": "versions_removed"})
    removed_earlier: int  # versions earlier cleanups removed (the log still lists them)
    served: str  # why the current version stays, or why the whole table goes
    whole_table: bool = False  # the whole table goes (a retired major no input names)
    files: int = field(default=0, metadata={"json_name": "files_removed"})  # files removed (would be, on a dry run)
    bytes: int = field(default=0, metadata={"json_name": "bytes_removed"})
    # what the port keeps in storage after this cleanup
    stored_bytes: int = field(default=0, metadata={"json_name": "bytes_kept"})
    json_properties: ClassVar[tuple[str, ...]] = ("retention_seconds",)

    @property
    def retention_seconds(self) -> int | None:
        return int(self.retention.total_seconds()) if self.retention else None


@dataclass(frozen=True)
class VaultRetention:
    """What the cleanup removes of a domain's vault: clear values no kept version names."""

    domain: str
    values_kept: int
    values_removed: int
    files: int = field(default=0, metadata={"json_name": "files_removed"})
    bytes: int = field(default=0, metadata={"json_name": "bytes_removed"})
    stored_bytes: int = field(default=0, metadata={"json_name": "bytes_kept"})


@dataclass
class Cleanup:
    """One cleanup: every port and vault it looked at, what each keeps and removes."""

    at: dt.datetime
    dry_run: bool
    ports: list[PortRetention] = field(default_factory=list)
    vaults: list[VaultRetention] = field(default_factory=list)
    json_properties: ClassVar[tuple[str, ...]] = ("bytes_removed",)

    @property
    def bytes_removed(self) -> int:
        return sum(p.bytes for p in self.ports) + sum(v.bytes for v in self.vaults)


@dataclass(frozen=True)
class Retention:
    """Decides and applies retention over the mesh's ports: the catalog says what is served, the clock when now is."""

    catalog: Catalog
    ports: PortStore
    default: dt.timedelta | None = None  # the mesh's default retention (`MeshSettings.default_retention`)
    clock: Clock = Clock()

    def clean(self, products: list[Product], dry_run: bool = False, majors: Mapping[Address, int] | None = None) -> Cleanup:
        """Remove what retention no longer keeps of every port of `products` (of one major only, for those in
        `majors`), then the clear values of their domains' vaults that no kept version names; on a `dry_run`,
        say what would go and remove nothing."""
        cleanup = Cleanup(self.clock.now(), dry_run)
        for product in products:
            wanted = self._majors(product)
            if majors and product.address in majors:
                wanted = [m for m in wanted if m == majors[product.address]]
            cleanup.ports += [self.clean_port(product, major, dry_run) for major in wanted]
        planned = {p.address: p.kept for p in cleanup.ports}
        for domain in dict.fromkeys(p.address.domain for p in products):
            removed = any(p.removed or p.whole_table for p in cleanup.ports if p.address.domain == domain)
            if (vault := self.clean_vault(domain, dry_run, removed, planned)) is not None:
                cleanup.vaults.append(vault)
        return cleanup

    def clean_port(self, product: Product, major: int, dry_run: bool) -> PortRetention:
        """Remove (on a `dry_run`: say) what retention no longer keeps of one port of `product`."""
        port = self.ports.port(product.address.at_major(major))
        retention, source = retention_of(product, self.default)
        log = port.log()
        kept = [v for v in log.versions if v.kept]
        served, goes_whole = self._served(product, major, retention)
        keep, removal = kept, Removal()
        if retention is not None and kept:
            if goes_whole:
                keep, removal = [], port.empty(served, dry_run)
            else:
                keep = _kept_within(kept, self.clock.now() - retention)
                # With nothing new to remove since the last VACUUM ended, under the same retention, no VACUUM is needed.
                done, label = log.retained, describe_duration(retention)
                if done is None or not done.complete or done.oldest_kept < keep[-1].version or done.retention != label:
                    removal = port.remove_before(keep[-1].version, retention, label, dry_run)
        if keep:
            removal = _plus(removal, port.trim_applied(dry_run))
        stored = port.stored_bytes() - (removal.bytes if dry_run else 0)
        return PortRetention(
            port.address,
            retention,
            source,
            tuple(v.version for v in keep),
            tuple(v.version for v in kept[len(keep) :]),
            len(log.versions) - len(kept),
            served,
            goes_whole and bool(kept),
            len(removal.files),
            removal.bytes,
            stored,
        )

    def clean_vault(
        self, domain: str, dry_run: bool, removed: bool, planned: Mapping[Address, tuple[int, ...]]
    ) -> VaultRetention | None:
        """Drop the domain's clear values no kept version of its ports names (only when versions went, or on a dry
        run): the versions `planned` keeps of the ports this cleanup looked at, every version still kept of the
        others. Values stored after the domain's last publish stay (a build may be about to publish them)."""
        vault = self.ports.vault
        vault.upgrade(domain)  # an older mesh's one table per domain becomes per-column tables
        if not vault.exists(domain) or not (removed or dry_run):
            return None
        ports = [self.ports.port(p.address.at_major(m)) for p in self.catalog.in_domain(domain) for m in self._majors(p)]
        ports += self._ports_outside_catalog(domain)
        named = [(port.address.product, *files) for port in ports for files in port.kept_tokens(planned.get(port.address))]
        last_publish = max(
            (v.committed_at for port in ports for v in port.versions()[:1] if v.committed_at is not None), default=None
        )
        pruning: VaultPruning = vault.prune(domain, named, stored_after=last_publish, dry_run=dry_run)
        return VaultRetention(
            domain,
            pruning.kept,
            pruning.removed,
            len(pruning.files),
            pruning.bytes,
            vault.stored_bytes(domain) - (pruning.bytes if dry_run else 0),
        )

    def _served(self, product: Product, major: int, retention: dt.timedelta | None) -> tuple[str, bool]:
        """Why the port's current version is still served, and whether instead its whole table goes."""
        contract = product.contract
        if major >= contract.major:
            return "current major", False
        pinned = sorted(
            str(p.address)
            for p in self.catalog.products.values()
            for i in p.inputs
            if i.address == product.address.at_major(major)
        )
        until = contract.settings.serve_previous_major_until
        if until is None:
            return "previous major, served with no end date" + (f"; read by {', '.join(pinned)}" if pinned else ""), False
        if self.clock.today() <= until:
            return f"previous major, served until {until}" + (f"; read by {', '.join(pinned)}" if pinned else ""), False
        if pinned:
            return f"retired on {until}, kept: {', '.join(pinned)} still name{'s' if len(pinned) == 1 else ''} it", False
        retired_at = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        if retention is not None and retired_at <= self.clock.now() - retention:
            return f"retired on {until}", True
        return f"retired on {until}; the whole table goes {describe_duration(retention) if retention else 'never'} after", False

    def _majors(self, product: Product) -> list[int]:
        """The product's majors that have a port, newest first."""
        return [m for m in range(product.contract.major, -1, -1) if self.ports.port(product.address.at_major(m)).exists()]

    def _ports_outside_catalog(self, domain: str) -> list[Port]:
        """Ports of the domain whose product the catalog no longer has: their tokens stay named (nothing decides their
        retention)."""
        known = {p.address.product for p in self.catalog.in_domain(domain)}
        return [port for port in self.ports.domain_ports(domain) if port.address.product not in known]


def _kept_within(versions: list[PortVersion], horizon: dt.datetime) -> list[PortVersion]:
    """The versions (newest first) that were current at some moment after `horizon`: the current one, and each
    one whose successor was published after it."""
    keep = versions[:1]
    for older, newer in zip(versions[1:], versions):
        if newer.published_at <= horizon:
            break
        keep.append(older)
    return keep


def _plus(first: Removal, second: Removal) -> Removal:
    return Removal(first.files + second.files, first.bytes + second.bytes)


def clean_after_publish(retention: Retention, product: Product, log: logging.Logger) -> Cleanup | None:
    """The cleanup after a product's publish: its ports, then its domain's vault. It never fails the build:
    a failure is logged as a warning (the next publish or `mesh vacuum` tries again)."""
    try:
        cleanup = retention.clean([product])
    except Exception as error:  # retention is housekeeping: what was published stays published
        log.warning(
            f"retention: the cleanup after publishing {product.address} failed ({type(error).__name__}: {error}); "
            f"nothing was lost, the next publish or `mesh vacuum {product.address}` tries again"
        )
        return None
    for port in cleanup.ports:
        if port.removed or port.whole_table:
            what = "the whole table" if port.whole_table else f"versions {_span(port.removed)}"
            kept_for = describe_duration(port.retention) if port.retention else "none"
            log.info(
                f"retention ({port.source} {kept_for}): removed {what} of {port.address} "
                f"({port.files} files, {port.bytes} bytes); kept {len(port.kept)} versions"
            )
    for vault in cleanup.vaults:
        if vault.values_removed:
            log.info(
                f"retention: removed {vault.values_removed} clear values no kept version names from the {vault.domain} vault"
            )
    return cleanup


def storage_metadata(cleanup: Cleanup) -> dict[str, int]:
    """A materialization's numbers about storage after the cleanup: versions and bytes the product keeps, bytes removed."""
    return {
        "mesh/versions_kept": sum(len(p.kept) for p in cleanup.ports),
        "mesh/bytes_kept": sum(p.stored_bytes for p in cleanup.ports),
        "mesh/bytes_removed": sum(p.bytes for p in cleanup.ports) + sum(v.bytes for v in cleanup.vaults),
    }


def _span(versions: tuple[int, ...]) -> str:
    return f"{min(versions)}–{max(versions)}" if len(versions) > 1 else str(versions[0])
