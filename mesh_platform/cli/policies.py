"""`mesh policies`: the policies in force, from their own docstrings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from mesh_platform.cli.context import mesh_context
from mesh_platform.cli.options import JsonOption, markdown_option
from mesh_platform.cli.output import print_json, print_table
from mesh_platform.governance.check import domain_policies, mesh_policies, platform_policies
from mesh_platform.governance.policies import Policy


def policies_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    markdown: Annotated[bool, markdown_option("Print the mesh-wide policies as the README's Markdown table.")] = False,
) -> None:
    """List every policy: the platform's, the governance group's and each domain's own, with severity and what it requires."""
    if markdown:
        typer.echo(policies_markdown(platform_policies()), nl=False)
        return
    view = mesh_context(ctx).view
    policies = [*mesh_policies(view)[0], *(p for d in view.catalog.domains for p in domain_policies(view, d))]
    if as_json:
        print_json(PolicyList([PolicySummary.of(p) for p in policies]))
    else:
        print_table(["policy", "severity", "scope", "requires"], [[p.id, p.severity, p.scope, p.description] for p in policies])


@dataclass(frozen=True)
class PolicySummary:
    """A policy as `--json` shows it: what it is, not the function that checks it."""

    id: str
    severity: str
    scope: str
    description: str

    @classmethod
    def of(cls, policy: Policy) -> PolicySummary:
        return cls(policy.id, policy.severity, policy.scope, policy.description)


@dataclass(frozen=True)
class PolicyList:
    policies: list[PolicySummary]


def policies_markdown(policies: list[Policy]) -> str:
    """The README's policy table; its text is each policy's docstring, so the two cannot drift."""
    rows = ["| policy | severity | requires |", "|---|---|---|"]
    rows += [f"| `{p.id}` | {p.severity} | {p.description} |" for p in policies]
    return "\n".join(rows) + "\n"
