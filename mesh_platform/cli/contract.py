"""`mesh contract diff`, `rules`, `export` and `sync`: what changed between two contracts and what breaks, the
rules that decide it, a contract as outside tools read it, and a contract brought up to date with its recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption, dry_run_option, markdown_option
from mesh_platform.cli.output import fail, print_json, print_table
from mesh_platform.contract.diff import RULES, ChangeRule, diff_contracts, rules_markdown
from mesh_platform.contract.export import export_contract
from mesh_platform.contract.loading import contract_from_document, load_contract
from mesh_platform.contract.model import Contract
from mesh_platform.core.address import SCHEME
from mesh_platform.core.errors import MeshError
from mesh_platform.governance.access_log import AccessLog
from mesh_platform.lineage.impact import diff_impact

if TYPE_CHECKING:
    from mesh_platform.contract.diff import Change
    from mesh_platform.lineage.impact import Impact
    from mesh_platform.product.contract_sync import ColumnChange

contract = typer.Typer(help="Work with data contracts.", no_args_is_help=True)


@contract.command("diff")
def diff_command(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The old contract: a file, or a product address (its last published contract).")],
    new: Annotated[
        str | None, typer.Argument(help="The new contract file (default, for an address: the product's contract file).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List every change between two contracts with the consumers it reaches; exit 1 when a breaking change
    that someone reads lacks a major bump."""
    old_contract, new_contract = _load_pair(ctx, old, new)
    result = diff_contracts(old_contract, new_contract)
    from mesh_platform.recipes.base import recipe_lineage  # Dagster-bound: loaded by the commands that need it

    catalog, ad_hoc = _consumers_of(ctx, new_contract)
    impact = diff_impact(old_contract, new_contract, result, catalog, recipe_lineage, ad_hoc)
    if as_json:
        changes = [ChangeImpact(i.change, i) for i in impact.impacts]
        print_json(DiffResult(result.old_version, result.new_version, changes, impact.problem))
    else:
        typer.echo(f"{old_contract.address}: {result.old_version} → {result.new_version}")
        for item in impact.impacts:
            change = item.change
            producer = "  (the producer must change)" if change.producer_breaking else ""
            verdict = "BREAKING" if item.breaks_consumers else ("unread  " if change.breaking else "ok      ")
            typer.echo(f"  {verdict}  {change.kind:<27} {change.message}{producer}")
            if change.breaking or item.readers or item.ad_hoc:
                typer.echo(f"  {'':8}  {'':27} → {item.describe()}")
        if not result.changes:
            typer.echo("  no changes")
        if unread := impact.unread_breaking:
            typer.echo(f"{len(unread)} breaking change(s) that no consumer reads: no major version needed for them")
    if impact.problem:
        raise fail(impact.problem)


@contract.command("rules")
def rules_command(
    as_json: JsonOption = False,
    markdown: Annotated[bool, markdown_option("Print the README's Markdown table.")] = False,
) -> None:
    """The rules `mesh contract diff` judges changes by: each field, how it changed, and whether that breaks consumers."""
    rules = RuleList([RuleRow.of(subject, how, rule) for (subject, how), rule in RULES.items()])
    if markdown:
        typer.echo(rules_markdown(), nl=False)
    elif as_json:
        print_json(rules)
    else:
        print_table(
            ["field", "change", "shown as", "breaks consumers", "breaks the producer", "why"],
            [
                [r.field, r.change, r.kind, "yes" if r.breaking else "no", "yes" if r.producer_breaking else "no", r.why]
                for r in rules.rules
            ],
        )


@dataclass(frozen=True)
class ChangeImpact:
    """A change as `mesh contract diff --json` lists it: its fields, then who it reaches."""

    change: Change = field(metadata={"json_inline": True})
    impact: Impact


@dataclass(frozen=True)
class DiffResult:
    old_version: str
    new_version: str
    changes: list[ChangeImpact]
    problem: str | None  # why the new version may not ship


@dataclass(frozen=True)
class RuleRow:
    """A rule of the table as `--json` shows it: the field and how it changed, then the rule's judgement."""

    field: str
    change: str
    kind: str
    breaking: bool
    producer_breaking: bool
    why: str

    @classmethod
    def of(cls, field: str, change: str, rule: ChangeRule) -> RuleRow:
        return cls(field, change, rule.kind, rule.breaking, rule.producer, rule.why)


@dataclass(frozen=True)
class RuleList:
    rules: list[RuleRow]


@dataclass(frozen=True)
class SyncResult:
    """What `mesh contract sync --json` prints: the file, whether it was written, each column's change."""

    file: Path
    written: bool
    changes: tuple[ColumnChange, ...]


AGREEMENT_EXPORT = ("id", "consumer", "purpose", "columns", "clear", "start", "end")  # what an exported contract says of each


@contract.command("export")
def export_command(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The product's address.")],
    output_format: Annotated[Literal["yaml", "json"], typer.Option("--format", help="How to print it.")] = "yaml",
) -> None:
    """Print the product's full ODCS v3.1 contract, with a servers entry for its Delta port."""
    import yaml

    context = mesh_context(ctx)
    product = context.catalog.product(address)
    today = context.settings.clock.today()
    agreements = [
        {key: value for key, value in a.to_document().items() if key in AGREEMENT_EXPORT}
        for a in context.catalog.agreements.of(product.address)
        if a.state(today) in ("active", "not started")
    ]
    document = export_contract(product.contract, context.ports.port(product.port_address).uri, agreements)
    if output_format == "json":
        print_json(document)
    else:
        typer.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@contract.command("sync")
def sync_command(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The product's address.")],
    dry_run: Annotated[bool, dry_run_option("Say what would change; write nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring the contract's columns up to date with what its recipe outputs: new columns added (unclassified),
    removed ones removed, types of another kind updated; descriptions, classifications, terms and rules kept."""
    from mesh_platform.recipes.output import sync_product_contract  # the recipe types are Dagster components

    result = sync_product_contract(mesh_context(ctx).settings, address, write=not dry_run)
    if as_json:
        print_json(SyncResult(result.file, result.written, result.changes))
        return
    words = {"added": "added  ", "removed": "removed", "type": "type   "}
    for change in result.changes:
        typer.echo(f"  {words[change.kind]}  {change.column}  {change.detail}")
    if not result.changes:
        typer.echo(f"{result.file}: up to date with the recipe's output")
        return
    typer.echo(f"{result.file}: {'written' if result.written else 'not written (--dry-run)'}")
    if result.unclassified:
        typer.echo(f"next: classify {', '.join(result.unclassified)} (mesh check asks until then), then mesh check")
    else:
        typer.echo("next: mesh check (it judges whether a removed or changed column breaks a reader)")


def _consumers_of(ctx: typer.Context, contract: Contract) -> tuple[Catalog | None, list[str]]:
    """The mesh around the product (its consumers' recipes) and the domains that read it ad hoc lately (access log);
    no mesh here, or a product it does not hold: (None, [])."""
    try:
        context = mesh_context(ctx)
        settings, catalog = context.settings, context.catalog
    except MeshError:
        return None, []
    if contract.address.unversioned() not in catalog.products:
        return None, []
    _, readers = AccessLog(settings.access_log_target).consumers(contract.address)
    return catalog, [r.consumer for r in readers if r.ad_hoc]


def _load_pair(ctx: typer.Context, old: str, new: str | None) -> tuple[Contract, Contract]:
    if old.startswith(SCHEME):
        context = mesh_context(ctx)
        catalog = context.catalog
        product = catalog.product(old)
        port = context.ports.port(catalog.port_address(old))
        document = port.published_contract() if port.exists() else None
        if document is None:
            raise MeshError(f"{old} has no published contract yet; compare two files instead")
        published = contract_from_document(document, f"{port.address} (version {port.current_version()})")
        return published, load_contract(Path(new) if new else product.contract.file)
    if new is None:
        raise MeshError("give the new contract file (or an address as the first argument)")
    return load_contract(Path(old)), load_contract(Path(new))
