"""The options several `mesh` commands take, each declared once: an alias to annotate a parameter with
(`as_json: JsonOption = False`), and the factory behind it for a command whose help says more
(`as_json: Annotated[bool, json_option("Print JSON (exact numbers: …).")] = False`).

A factory returns the `typer.Option`, not the `Annotated` type: a type checker reads no call as a type."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def json_option(help: str = "Print JSON.") -> Any:
    """`--json`: the result as JSON, rendered by `cli.output.print_json`."""
    return typer.Option("--json", help=help)


def domain_option(help: str = "Only this domain's products.") -> Any:
    """`--domain`/`-d`: the products of one domain only (materialize repeats it)."""
    return typer.Option("--domain", "-d", help=help)


def as_option(help: str) -> Any:
    """`--as`: the principal acting or reading."""
    return typer.Option("--as", help=help)


def env_option(help: str = "The deployment, deploy/ENV.yaml (the same as mesh --env ENV).") -> Any:
    """`--env`: the deployment, deploy/ENV.yaml."""
    return typer.Option("--env", help=help)


def dev_option(help: str) -> Any:
    """`--dev`: the development namespace, MESH_HOME/dev/<user>, instead of the mesh."""
    return typer.Option("--dev", help=help)


def dry_run_option(help: str) -> Any:
    """`--dry-run`: say what the command would do; do nothing."""
    return typer.Option("--dry-run", help=help)


def output_option(help: str) -> Any:
    """`--output`/`-o`: the file the command writes (default: it prints)."""
    return typer.Option("--output", "-o", help=help)


def since_option(help: str) -> Any:
    """`--since`: the start of a report's window."""
    return typer.Option("--since", help=help)


def at_option(help: str) -> Any:
    """`--at`: the time a command judges at, instead of now (to rehearse)."""
    return typer.Option("--at", help=help)


def markdown_option(help: str) -> Any:
    """`--markdown`: the README's Markdown table."""
    return typer.Option("--markdown", help=help)


def note_option(help: str) -> Any:
    """`--note`: a note for the other side of an agreement."""
    return typer.Option("--note", help=help)


def until_option(help: str) -> Any:
    """`--until`: an agreement's last day."""
    return typer.Option("--until", help=help)


def port_option(help: str = "Port (default: MESH_UI_PORT or 3000).") -> Any:
    """`--port`: the Dagster UI's port."""
    return typer.Option("--port", help=help)


def rows_option(help: str) -> Any:
    """`--rows`: the size of the demo data, in sales orders."""
    return typer.Option("--rows", min=10, help=help)


JsonOption = Annotated[bool, json_option()]
DomainOption = Annotated[str | None, domain_option()]
EnvOption = Annotated[str | None, env_option()]
AsOption = Annotated[
    str | None,
    as_option(
        "The principal acting (embedded: unverified; in a deployment: the store credentials' principal, which it must match)."
    ),
]
DevOption = Annotated[
    bool,
    dev_option(
        "Build into your development namespace (MESH_HOME/dev/<user>): real inputs, the usual checks, ports no consumer "
        "reads; the mesh's ports, vault and instance are not touched."
    ),
]
PortOption = Annotated[int | None, port_option()]
NamespaceOption = Annotated[str | None, typer.Option("--name", help="The namespace (default: your user name).")]
