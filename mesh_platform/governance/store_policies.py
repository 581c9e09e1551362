"""Store policies: what each principal's own store credentials may do, rendered from the contracts.

The platform decides access (`governance.access.decide`); in a deployment whose ports are on an object
store, the store enforces it too. One least-privilege policy per principal, in the S3 (IAM) policy
language, so a principal's key can do nothing the contracts do not grant:

  a domain     reads and writes its own prefixes only: `<ports>/<domain>/`, `<vault>/<domain>/` and
               `<landing>/<domain>/` (on an object store);
  a principal  reads the ports `decide` grants it, every served major version (`<ports>/<d>/<p>/v<m>/`);
  clear values of a personal column (`<vault>/<d>/<p>/<column>/`, `storage.vault`) are read by the owning
               domain, and by the principals that column's `unmaskedFor` names;
  listing      (s3:ListBucket) is limited by `s3:prefix` to those prefixes: delta-rs lists `_delta_log/`
               to find a table's versions.

A principal with nothing granted gets a policy that denies everything. `mesh deploy access` writes the
documents; `runtime.store_access` applies them through the store's IAM API.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from mesh_platform.catalog.catalog import Catalog, Product
from mesh_platform.core.errors import AccessDeniedError, MeshError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import decide
from mesh_platform.governance.agreements import within_agreements
from mesh_platform.governance.view import MeshView

VERSION = "2012-10-17"
READ_ACTIONS = ("s3:GetObject",)  # GET and HEAD of an object
# A domain's own prefixes: delta-rs and Arrow read, write (a commit is a conditional PUT of the next log entry),
# delete (VACUUM, the vault's pruning) and upload in parts (large Parquet files).
WRITE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
LIST_ACTION = "s3:ListBucket"
POLICY_SIZE_LIMIT = 2048  # AWS: an IAM user's inline policies, together, in characters (whitespace aside)


@dataclass(frozen=True)
class Prefix:
    """A place in an object store: `bucket` and `key` (no leading or trailing slash; empty: the whole bucket)."""

    bucket: str
    key: str

    @classmethod
    def of(cls, uri: str) -> Prefix:
        parsed = urlparse(uri)
        return cls(parsed.netloc, parsed.path.strip("/"))

    def child(self, *parts: str) -> Prefix:
        return Prefix(self.bucket, "/".join(p for p in (self.key, *parts) if p))

    @property
    def objects(self) -> str:
        """The ARN of every object under this prefix."""
        return f"arn:aws:s3:::{self.bucket}/{self.key}/*" if self.key else f"arn:aws:s3:::{self.bucket}/*"

    @property
    def listed(self) -> tuple[str, ...]:
        """The `s3:prefix` values a LIST under this prefix sends: `<key>/…`, never the bare key (a LIST of `…/v1`
        would name the keys of `…/v1.applied/` and `…/v10/` too); delta-rs and Arrow list folders with the slash."""
        return (f"{self.key}/*",) if self.key else ("*",)


@dataclass(frozen=True)
class StoreLayout:
    """Where the mesh keeps its files on the object store: the ports, the vault and (when on one) the landing zone."""

    ports: Prefix
    vault: Prefix
    landing: Prefix | None

    @classmethod
    def of(cls, settings: MeshSettings) -> StoreLayout:
        """The layout of the deployment `settings` name; its port store must be on an object store."""
        deployment = settings.deployment
        store = deployment.port_store
        if store is None or not store.on_object_store:
            where = f"{deployment.file}: port_store.uri" if deployment.file else f"the deployment '{deployment.name}'"
            raise MeshError(
                f"{where}: store policies are for ports on an object store (s3://bucket/prefix); the embedded shape's "
                "files are its operating-system user's — set port_store.uri to an s3:// URI"
            )
        landing = deployment.landing
        return cls(
            Prefix.of(settings.ports_uri),
            Prefix.of(settings.vault_uri),
            Prefix.of(settings.landing_uri) if landing is not None and landing.on_object_store else None,
        )

    def port(self, domain: str, product: str, major: int) -> Prefix:
        return self.ports.child(domain, product, f"v{major}")  # storage.ports' layout

    def clear_column(self, domain: str, product: str, column: str) -> Prefix:
        return self.vault.child(domain, product, column)  # storage.vault's layout

    def own(self, domain: str) -> tuple[Prefix, ...]:
        """A domain's own prefixes: its ports, its vault, its landing folder."""
        own = [self.ports.child(domain), self.vault.child(domain)]
        return (*own, self.landing.child(domain)) if self.landing is not None else tuple(own)


@dataclass(frozen=True)
class StorePolicy:
    """One principal's policy: what it reads, reads in clear and writes, and the IAM document saying so."""

    principal: str
    domain: bool  # the principal is a domain (it writes its own prefixes)
    reads: tuple[Prefix, ...] = ()  # the ports it is granted (every served major)
    clear: tuple[Prefix, ...] = ()  # the vault column tables of other domains its unmaskedFor grants give it
    writes: tuple[Prefix, ...] = ()  # its own prefixes (a domain's)
    granted: tuple[str, ...] = field(default=(), compare=False)  # the ports read, as addresses (`mesh://d/p@v1`)

    def document(self) -> dict:
        """The policy in the S3 (IAM) policy language."""
        statements = []
        if self.reads:
            statements.append(_statement("ReadGrantedPorts", READ_ACTIONS, [p.objects for p in self.reads]))
        if self.clear:
            statements.append(_statement("ReadClearColumns", READ_ACTIONS, [p.objects for p in self.clear]))
        if self.writes:
            statements.append(_statement("ReadWriteOwnPrefixes", WRITE_ACTIONS, [p.objects for p in self.writes]))
        buckets: dict[str, list[str]] = {}
        for prefix in (*self.writes, *self.reads, *self.clear):
            buckets.setdefault(prefix.bucket, []).extend(prefix.listed)
        for index, (bucket, prefixes) in enumerate(sorted(buckets.items())):
            listing = _statement(f"ListOnlyThese{index}", (LIST_ACTION,), [f"arn:aws:s3:::{bucket}"])
            statements.append({**listing, "Condition": {"StringLike": {"s3:prefix": sorted(set(prefixes))}}})
        if not statements:  # IAM refuses a policy without statements: nothing granted is everything denied
            statements.append({"Sid": "NothingGranted", "Effect": "Deny", "Action": "s3:*", "Resource": "*"})
        return {"Version": VERSION, "Statement": statements}

    def text(self) -> str:
        """The document as IAM takes it (compact: an IAM user's inline policies share 2,048 characters)."""
        return json.dumps(self.document(), separators=(",", ":"))


def _statement(sid: str, actions: Iterable[str], resources: list[str]) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": sorted(set(resources))}


def served_majors(product: Product, today: dt.date) -> list[int]:
    """The major versions of a product readers may read today: the current one, and the previous ones until
    the contract's `servePreviousMajorUntil` (with no date: still served)."""
    contract = product.contract
    until = contract.settings.serve_previous_major_until
    previous = list(range(contract.major)) if until is None or today <= until else []
    return [*previous, contract.major]


def store_policies(view: MeshView, settings: MeshSettings) -> list[StorePolicy]:
    """The policies of the mesh `view` shows, stored where `settings` say, for every principal (the domains and the
    declared consumers). A contract or a principals file that does not load would lose grants: refused, named."""
    catalog, principals = view.catalog, view.readers
    if catalog.broken:
        files = ", ".join(str(file) for file in sorted(catalog.broken))
        raise MeshError(
            f"store policies are rendered from every contract, and these product folders do not load: {files} — fix "
            "them (mesh check)"
        )
    if principals.problems:
        raise MeshError(
            f"store policies are rendered for every principal, and {principals.file} has problems — fix them (mesh check)"
        )
    return render_policies(catalog, principals.names, StoreLayout.of(settings), settings.clock.today())


def render_policies(
    catalog: Catalog,
    principals: Iterable[str],
    layout: StoreLayout,
    today: dt.date | None = None,
) -> list[StorePolicy]:
    """One policy per principal (sorted by name), from the contracts of `catalog`: what `decide` grants each."""
    today = today or dt.date.today()
    policies = []
    for principal in sorted(set(principals)):
        reads, clear, granted = [], [], []
        for product in sorted(catalog.products.values(), key=lambda p: str(p.address)):
            contract = product.contract
            if contract.domain == principal:
                continue  # its own prefixes cover its products
            try:  # what the contract grants, within the principal's agreements in force today (`governance.agreements`)
                decision = within_agreements(decide(contract, principal), contract, catalog.agreements, today)
            except AccessDeniedError:
                continue
            majors = served_majors(product, today)
            reads += [layout.port(contract.domain, contract.name, major) for major in majors]
            granted += [str(product.address.at_major(major)) for major in majors]
            clear += [layout.clear_column(contract.domain, contract.name, column) for column in decision.clear]
        is_domain = principal in catalog.domains
        writes = layout.own(principal) if is_domain else ()
        policies.append(StorePolicy(principal, is_domain, tuple(reads), tuple(clear), writes, tuple(granted)))
    return policies
