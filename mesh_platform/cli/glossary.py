"""`mesh glossary [TERM]`: the shared terms, each domain's meaning, the mappings, and who uses them."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption
from mesh_platform.cli.output import fail, print_json
from mesh_platform.governance.glossary import ColumnTerm, Term, term_uses


@dataclass(frozen=True)
class TermShown:
    """A term of the glossary and the product columns carrying it."""

    term: Term = field(metadata={"json_inline": True})
    used_by: list[ColumnTerm]


@dataclass(frozen=True)
class GlossaryShown:
    """What `mesh glossary --json` prints: the glossary's file and the terms shown."""

    file: Path
    terms: list[TermShown]


def glossary_command(
    ctx: typer.Context,
    term: Annotated[str | None, typer.Argument(help="Show one term (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the glossary's shared terms, their meanings per domain, mappings and users.

    For each term: definition, canonical form, each domain's meaning, the value mapping,
    the identifier crosswalk, how the meanings relate, and the product columns carrying it."""
    mesh = mesh_context(ctx).view
    if mesh.glossary_error is not None:
        raise fail(f"the glossary cannot be read:\n{mesh.glossary_error}")
    catalog, glossary = mesh.catalog, mesh.glossary
    if term is not None and term not in glossary.terms:
        raise fail(f"the glossary has no term '{term}' (terms: {', '.join(sorted(glossary.terms))})")
    uses = term_uses(glossary, [p.contract for p in catalog.products.values()])
    shown = [glossary.terms[term]] if term else [glossary.terms[name] for name in sorted(glossary.terms)]
    if as_json:
        print_json(GlossaryShown(glossary.file, [TermShown(t, uses.get(t.name, [])) for t in shown]))
        return
    if not shown:
        typer.echo(f"the glossary has no terms yet; the governance group adds them to {glossary.file}")
        return
    for index, item in enumerate(shown):
        if index:
            typer.echo("")
        _print_term(item, uses.get(item.name, []))


def _print_term(term: Term, uses: list[ColumnTerm]) -> None:
    def line(label: str, text: str) -> None:
        wrapped = textwrap.wrap(text, 96 - 14) or [""]
        typer.echo(f"  {label:<12}{wrapped[0]}".rstrip())
        for rest in wrapped[1:]:
            typer.echo(f"  {'':<12}{rest}")

    typer.echo(term.name + (f" ({term.logical_type})" if term.logical_type else ""))
    line("definition", term.definition)
    if term.canonical:
        line("canonical", term.canonical)
    if term.values is not None:
        line("values", f"{term.values.name}: {term.values.description}")
    if term.meanings:
        line("meanings", "")
    for meaning in term.meanings.values():
        extras = [f"column {meaning.column}"] if meaning.column else []
        extras += [f"pattern {meaning.pattern}"] if meaning.pattern else []
        extras += [f"{k} = {v}" for k, v in meaning.parameters.items()]
        default = " (canonical)" if meaning.name == term.canonical_meaning else ""
        typer.echo(f"    {meaning.name}{default}:")
        for text in textwrap.wrap(meaning.definition + (f" [{'; '.join(extras)}]" if extras else ""), 96 - 6):
            typer.echo(f"      {text}")
    if term.crosswalk is not None:
        pairs = ", ".join(f"{m}: {c}" for m, c in term.crosswalk.columns.items())
        line("crosswalk", f"{term.crosswalk.product} ({pairs})")
    if term.relation:
        line("relation", term.relation)
    if uses:
        line("used by", "")
        for use in uses:
            note = f"  ✗ {use.problem}" if use.problem else ""
            typer.echo(f"    {use.address} {use.column} ({use.label}){note}")
    else:
        line("used by", "no product yet")
