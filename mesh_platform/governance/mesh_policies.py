"""The mesh-wide policies, owned by the governance group. Every product of every domain meets them.

Each is a function over one product that yields a `Finding` per problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mesh_platform.contract.diff import diff_contracts
from mesh_platform.contract.loading import contract_from_document
from mesh_platform.contract.model import Contract, Relationship
from mesh_platform.contract.settings import custom_property_path
from mesh_platform.contract.types import comparable, written_alike
from mesh_platform.core.address import Address
from mesh_platform.core.errors import AccessDeniedError, MeshError
from mesh_platform.core.names import check_name
from mesh_platform.governance.access import decide, denial_message, granted_by_access, may_read, owner_only
from mesh_platform.governance.policies import Finding, policy
from mesh_platform.governance.principals import FORMAT
from mesh_platform.lineage.impact import diff_impact
from mesh_platform.lineage.mesh_lineage import ColumnRef

if TYPE_CHECKING:
    from mesh_platform.catalog.catalog import Product
    from mesh_platform.governance.view import MeshView

PLACEHOLDERS = re.compile(r"\b(todo|tbd|fixme|xxx|lorem ipsum)\b", re.IGNORECASE)
MIN_PURPOSE_LENGTH = 20
MIN_PREVIOUS_MAJOR_DAYS = 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@policy("mesh.owner")
def valid_owner(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product is owned by a team, and anyone named as its owner is reachable by e-mail."""
    contract = product.contract
    if not contract.team_name:
        yield Finding("the product has no owning team", "set team.name to the owning team", ("team",))
    for index, member in enumerate(contract.members):
        if "owner" in (member.role or "").lower() and not _EMAIL.match(member.username or ""):
            yield Finding(
                f"owner '{member.username}' is not an e-mail address",
                "give the owner's e-mail as username",
                ("team", "members", index, "username"),
            )


@policy("mesh.description")
def has_description(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product says what it holds: a purpose of a real sentence, no placeholder."""
    purpose = product.contract.purpose
    if len(purpose) < MIN_PURPOSE_LENGTH or PLACEHOLDERS.search(purpose):
        yield Finding(
            f"description.purpose '{purpose}' does not say what the product holds",
            "write what one row is and what it is for",
            ("description", "purpose"),
        )


@policy("mesh.quality-rule")
def has_quality_rule(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product states at least one quality rule of its own (a quality entry in its contract)."""
    contract = product.contract
    if not contract.quality and not any(c.quality for c in contract.columns):
        yield Finding(
            "the contract has no quality rule",
            "add one under schema[0].quality, e.g. metric: rowCount, mustBeGreaterThan: 0",
            ("schema", 0),
        )


@policy("mesh.classified-columns")
def columns_classified(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """Every column has an explicit classification; nothing is classified by default."""
    for index, column in enumerate(product.contract.columns):
        if column.classification is None:
            yield Finding(
                f"column '{column.name}' has no classification",
                "set classification: public, internal, confidential, personal or sensitive",
                ("schema", 0, "properties", index),
            )


@policy("mesh.sla")
def shared_products_have_slas(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product shared beyond its domain promises how often it is refreshed and how late it may be."""
    contract = product.contract
    if contract.settings.access == "internal":
        return
    for name in ("frequency", "latency"):
        if getattr(contract, name) is None:
            yield Finding(
                f"a {contract.settings.access} product has no {name} SLA",
                f"add slaProperties: - property: {name}, value: …, unit: …",
                ("slaProperties",),
            )


@policy("mesh.names")
def names_follow_convention(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """Names are lowercase identifiers that are not SQL or Python reserved words."""
    named = [("domain", product.contract.domain, ("domain",)), ("product", product.contract.name, ("name",))]
    for what, name, path in named + [
        ("column", c.name, ("schema", 0, "properties", i, "name")) for i, c in enumerate(product.contract.columns)
    ]:
        try:
            check_name(name, what)
        except MeshError as error:
            yield Finding(str(error), f"rename the {what}", path)


@policy("mesh.granted-inputs")
def inputs_are_granted(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product reads only products its domain is granted: public ones, restricted ones naming it, or its own; never
    another domain's draft or retired product."""
    consumer = product.address.domain
    for index, item in enumerate(product.inputs):
        source = mesh.find(item.address)
        if source is None:
            if (reason := mesh.catalog.unloadable(item.address.unversioned())) is not None:
                yield Finding(
                    f"input {item.address} is broken: {reason}", "fix its files first", ("attributes", "inputs", index), True
                )
            else:
                yield Finding(
                    f"input {item.address} is no product of the mesh",
                    "fix the address (mesh list shows them)",
                    ("attributes", "inputs", index),
                    True,
                )
            continue
        contract = source.contract
        if may_read(contract, consumer):
            continue
        owner = contract.owners[-1]
        if contract.is_draft:
            what = f"a draft (status: {contract.status}) that only {contract.domain} reads until it is published"
            fix = f"ask its owner ({owner}) to publish it (status: active in {contract.file}), or drop the input"
        elif owner_only(contract):
            what, fix = "retired: only its own domain reads it", f"ask its owner ({owner}) what replaces it, and read that"
        if owner_only(contract):
            yield Finding(f"{item.address} is {what}; {consumer} may not read it", fix, ("attributes", "inputs", index), True)
            continue
        yield Finding(
            f"{item.address} is {contract.settings.access}"
            + (f" to {', '.join(contract.settings.consumers)}" if contract.settings.consumers else "")
            + f"; {consumer} may not read it",
            f"ask its owner ({owner}) to grant {consumer} access, or drop the input",
            ("attributes", "inputs", index),
            True,
        )


@policy("mesh.known-principals")
def grants_name_principals(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A grant (consumers, unmaskedFor) names principals: domains, or consumers the principals file declares."""
    contract, principals = product.contract, mesh.readers
    grants = [
        (name, custom_property_path(contract.document, "consumers", ("customProperties",)), "consumers")
        for name in contract.settings.consumers
    ]
    for index, column in enumerate(contract.columns):
        at = custom_property_path(contract.document, "unmaskedFor", ("schema", 0, "properties", index, "customProperties"))
        grants += [(name, at, f"unmaskedFor of column '{column.name}'") for name in column.settings.unmasked_for]
    for name, path, where in grants:
        if name in principals or principals.undecided(name):  # a broken principals file is reported by mesh check, not per grant
            continue
        yield Finding(
            f"{where} names '{name}', which is neither a domain nor a principal declared in {principals.file}",
            f"fix the name, or declare it there ({FORMAT})",
            path,
        )


@policy("mesh.relationships")
def relationships_can_be_checked(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A relationship (foreign key) names a product and columns that the domain may read, of types its columns compare with."""
    contract = product.contract
    for relationship in contract.relationships:
        path = relationship.path
        at_product = custom_property_path(contract.document, "product", (*path, "customProperties"))
        referenced = contract
        if relationship.product is not None:
            found = mesh.find(relationship.product)
            if found is None:
                said = f"relationship {relationship} names {relationship.product}, which is no product of the mesh"
                yield Finding(said, "fix the address (mesh list shows them)", at_product)
                continue
            referenced = found.contract
            if relationship.table != referenced.table:
                said = f"to names table '{relationship.table}', but {relationship.product}'s table is '{referenced.table}'"
                yield Finding(said, f"write to: {referenced.table}.<column>", (*path, "to"))
                continue
            if not may_read(referenced, contract.domain):
                denied = denial_message(referenced, contract.domain, relationship.product)
                yield Finding(f"relationship {relationship} cannot be checked: {denied}", "or drop the relationship", at_product)
                continue
        yield from _relationship_columns(contract, referenced, relationship)


def _relationship_columns(contract: Contract, referenced: Contract, relationship: Relationship) -> Iterator[Finding]:
    """Each referenced column exists, reaches the product's domain (not dropped) and compares with its own column."""
    names = {c.name for c in referenced.columns}
    decision = decide(referenced, contract.domain)
    for index, (name, target) in enumerate(zip(relationship.columns, relationship.references, strict=True)):
        at_to = (*relationship.path, "to", index) if len(relationship.references) > 1 else (*relationship.path, "to")
        where = relationship.product or "this product"
        if target not in names:
            yield Finding(f"{where} has no column '{target}'", f"use one of its columns: {', '.join(sorted(names))}", at_to)
            continue
        if target in decision.dropped:
            yield Finding(
                f"column '{target}' of {where} is personal and reaches {contract.domain} dropped (masking: drop): "
                f"there is nothing to compare {name} with",
                f"reference a column {contract.domain} may read, or ask its owner ({referenced.owners[-1]}) "
                f"to grant it (unmaskedFor: [{contract.domain}])",
                at_to,
            )
            continue
        own, theirs = contract.column(name).physical_type, referenced.column(target).physical_type
        if not comparable(own, theirs):
            said = f"{name} ({own}) cannot be compared with {where}.{target} ({theirs})"
            yield Finding(said, f"make {name} a type like {theirs}", at_to)
        elif target in decision.hashed and not written_alike(own, theirs):
            yield Finding(
                f"{where}.{target} reaches {contract.domain} as keyed tokens of its {theirs} values; "
                f"the tokens of {name}'s {own} values would differ",
                f"give {name} the type {theirs}, so that equal values give equal tokens",
                at_to,
            )


@policy("mesh.deprecated-inputs", severity="warning")
def no_deprecated_inputs(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product reading a deprecated product, or an older major version of another product, hears about it."""
    for index, item in enumerate(product.inputs):
        source = mesh.find(item.address)
        if source is not None and source.contract.status == "deprecated" and item.address.domain != product.address.domain:
            yield Finding(
                f"input {item.address} is deprecated (status: deprecated): its owner means to retire it",
                f"ask its owner ({source.contract.owners[-1]}) what replaces it, and move to that",
                ("attributes", "inputs", index),
                True,
            )
        elif source is not None and item.address.major is not None and item.address.major < source.contract.major:
            until = source.contract.settings.serve_previous_major_until
            yield Finding(
                f"input {item.address} is deprecated (current: version {source.contract.version}"
                + (f", served until {until})" if until else ")"),
                f"move to {item.address.at_major(source.contract.major)}",
                ("attributes", "inputs", index),
                True,
            )


@policy("mesh.draft", severity="warning")
def draft_products(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A draft product (status draft or proposed) is read by its own domain only and changes without new versions, until
    it is published (status: active)."""
    contract = product.contract
    if contract.is_draft:
        yield Finding(
            f"{contract.address} is a draft (status: {contract.status}): only {contract.domain} reads it, "
            "and it may change without a new version",
            "set status: active to publish it to other domains (its first active version starts its version history)",
            ("status",),
        )


@policy("mesh.no-domain-cycles")
def no_domain_cycles(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """Domains depend on each other without cycles (a cycle makes every domain in it wait for itself)."""
    reported = set()
    for index, item in enumerate(product.inputs):
        other = item.address.domain
        if other in reported:
            continue
        reported.add(other)
        if other != product.address.domain and (cycle := mesh.domain_path(other, product.address.domain)):
            yield Finding(
                f"{product.address.domain} reads {other}, which already depends on {product.address.domain} "
                f"({' → '.join(cycle)})",
                "publish what both need from one domain, or move the product",
                ("attributes", "inputs", index),
                True,
            )


@policy("mesh.no-product-cycles")  # domain definitions load such products as broken ones (runtime.definitions)
def no_product_cycles(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A product never reads itself, directly or through other products (no build order would exist)."""
    for index, item in enumerate(product.inputs):
        if (chain := mesh.catalog.input_chain(item.address, product.address)) is not None:
            loop = (
                " → ".join(map(str, [product.address, *chain])) if chain != [product.address] else f"{product.address} → itself"
            )
            yield Finding(
                f"{product.address} reads {item.address}, which reads it back ({loop})",
                "drop the input that closes the loop",
                ("attributes", "inputs", index),
                True,
            )


@policy("mesh.previous-major-served", reads_state=True)
def previous_major_served(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A new major version keeps the previous one served for at least 30 days."""
    contract = product.contract
    if contract.major <= 1:
        return
    until = contract.settings.serve_previous_major_until
    published = mesh.first_published(product)
    start = published.date() if published else mesh.today
    wanted = start + dt.timedelta(days=MIN_PREVIOUS_MAJOR_DAYS)
    if until is None or until < wanted:
        yield Finding(
            f"version {contract.version} serves version {contract.major - 1} until {until or 'no date'}; at least "
            f"{MIN_PREVIOUS_MAJOR_DAYS} days are required",
            f"set customProperties servePreviousMajorUntil to {wanted} or later",
            ("customProperties",),
        )


@policy("mesh.glossary-terms")
def glossary_terms_conform(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A column carrying a glossary term names a term the glossary has, says which meaning a polyseme has, and has the
    term's type."""
    contract = product.contract
    for found in mesh.glossary.column_terms(contract):
        index, column, use = found.index, found.column, found.use
        path = custom_property_path(contract.document, "term", ("schema", 0, "properties", index, "customProperties"))
        if mesh.glossary_error is not None:
            yield Finding(
                f"column '{column.name}' names term '{column.settings.term}' but the glossary cannot be read",
                f"fix {mesh.glossary.file} (mesh check lists its problems)",
                path,
            )
            continue
        if found.error is not None:
            yield Finding(f"column '{column.name}': {found.error}", found.error.fix, path)
            continue
        assert use is not None, "a column's term has its use or its error"
        wanted = use.term.logical_type
        if wanted and column.logical_type != wanted:
            yield Finding(
                f"column '{column.name}' carries term '{use.term.name}', which is a {wanted}, but its logicalType is "
                f"{column.logical_type}",
                f"make it logicalType: {wanted}, or name another term",
                ("schema", 0, "properties", index, "logicalType"),
            )


@policy("mesh.personal-data")
def personal_data_stays_masked(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """Personal data never reaches another domain unmasked: a column computed from a personal column of an input (renamed
    or transformed, followed through column lineage) stays classified personal, and clear grants go only to domains
    that may read the product."""
    contract = product.contract
    lineage = mesh.lineage.product(product.address)
    arriving: dict[Address, frozenset[str]] = {}  # each input's personal columns that reach this domain, decided once
    for index, column in enumerate(contract.columns):
        if column.is_personal:
            continue
        # Without known lineage, a column is taken to come from the same-named column of each input.
        sources = (
            lineage.derives[column.name]
            if lineage.known
            else [ColumnRef(i.address.unversioned(), column.name) for i in product.inputs]
        )
        for source in sources:
            found = mesh.find(source.address)
            if found is None:
                continue
            if source.address not in arriving:
                arriving[source.address] = _arriving(found.contract, contract.domain)
            if source.column not in arriving[source.address]:
                continue
            source_column = found.contract.column(source.column)
            how = "" if source.column == column.name else f" (as '{source.column}')"
            yield Finding(
                f"column '{column.name}' is computed from {source}{how}, which is {source_column.classification}, "
                + (f"but is classified {column.classification} here" if column.classification else "and is not classified here"),
                f"classify it personal, so that readers outside {contract.domain} see it masked",
                ("schema", 0, "properties", index, "classification"),
            )
            break
    for index, column in enumerate(contract.columns):
        for domain in column.settings.unmasked_for:
            if domain == contract.domain or not granted_by_access(contract, domain):
                yield Finding(
                    f"column '{column.name}' is granted in clear to {domain}, which "
                    + (
                        "owns it anyway" if domain == contract.domain else f"may not read this {contract.settings.access} product"
                    ),
                    "remove the grant"
                    if domain == contract.domain
                    else f"add {domain} to customProperties consumers, or remove the grant",
                    custom_property_path(
                        contract.document, "unmaskedFor", ("schema", 0, "properties", index, "customProperties")
                    ),
                )


def _arriving(source: Contract, consumer: str) -> frozenset[str]:
    """The personal columns of `source` that reach `consumer`'s builds as personal data: in clear, or as keyed tokens."""
    try:
        dropped = set(decide(source, consumer).dropped)
    except AccessDeniedError:
        return frozenset()  # mesh.granted-inputs reports it
    return frozenset(c.name for c in source.columns if c.is_personal and c.name not in dropped)


@policy("mesh.column-lineage", severity="warning")
def column_lineage_known(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """Every product says where its columns come from (SQL is parsed, configured recipes know it, a Python recipe
    declares it), so a change's impact and personal data can be followed."""
    if any(mesh.find(item.address) is None for item in product.inputs):
        return  # an input that cannot be read has no columns to follow (mesh.granted-inputs says why)
    lineage = mesh.lineage.product(product.address)
    if lineage.problem is not None and lineage.recipe_loads and product.inputs:
        if lineage.method == "sql":
            fix = "write the query so sqlglot's DuckDB dialect reads it (quote names that are SQL keywords)"
        else:
            fix = "declare it in defs.yaml: lineage: {<column>: [<input>.<column>, …]}"
        yield Finding(
            f"column lineage is not known: {lineage.problem}",
            fix,
            ("attributes", "lineage") if lineage.method == "declared" else ("attributes",),
            in_recipe=True,
        )


@policy("mesh.breaking-changes", reads_state=True)
def breaking_changes_need_a_major_version(product: Product, mesh: MeshView) -> Iterator[Finding]:
    """A contract change that breaks a product reading what it changes (column lineage) comes with a new major version; a
    breaking change nobody reads needs none, nor does any change of a draft."""
    contract = product.contract
    if mesh.ports is None:
        return  # reads_state: never run without published state
    port = mesh.ports.port(product.port_address)
    current = port.current_contract()  # every build runs this: one read of the latest commit
    if current is None or current[1] == contract.document:
        return  # never published under this major version, or unchanged since: nothing to break
    version, document = current
    published = contract_from_document(document, f"{port.address} (published version {version})")
    diff = diff_contracts(published, contract)
    if diff.drafting or diff.major_bumped or not diff.breaking:
        return  # a draft (or its first active version) has no history yet to break
    wanted = f"{contract.major + 1}.0.0"
    for impact in diff_impact(published, contract, diff, mesh.catalog, mesh.lineage.lineage_of).impacts:
        if impact.breaks_consumers:
            change = impact.change
            path: tuple[str | int, ...]
            if change.column:
                index = contract.column_index(change.column)
                path = ("schema", 0, "properties", *([index] if index is not None else []))
            else:
                path = ("status",) if change.field == "status" else ("version",)
            keep = f"keep status: {published.status}" if change.field == "status" else "keep what they read"
            yield Finding(
                f"{change.message} (since {published.version}, as published) breaks its readers: "
                f"{impact.describe().removeprefix('read by ')}",
                f"set version to {wanted} (a new port; version {contract.major} stays served), or {keep}",
                path,
            )
