"""The `mesh` entry point: registers the commands and turns user errors into one-line messages."""

from __future__ import annotations

import gc
from typing import Annotated

import typer
from typer.core import TyperGroup

from mesh_platform.cli.access import access
from mesh_platform.cli.check import check_command
from mesh_platform.cli.context import CommandState
from mesh_platform.cli.contract import contract
from mesh_platform.cli.cost import cost_command
from mesh_platform.cli.deploy import deploy
from mesh_platform.cli.dev import dev
from mesh_platform.cli.find import catalog_command, show_command
from mesh_platform.cli.glossary import glossary_command
from mesh_platform.cli.init import init_command
from mesh_platform.cli.lineage import lineage_command
from mesh_platform.cli.list_products import list_products
from mesh_platform.cli.materialize import materialize_command
from mesh_platform.cli.new import new
from mesh_platform.cli.options import env_option
from mesh_platform.cli.policies import policies_command
from mesh_platform.cli.query import query_command
from mesh_platform.cli.reset import reset_command
from mesh_platform.cli.seed import seed
from mesh_platform.cli.serve import serve_command
from mesh_platform.cli.status import status_command
from mesh_platform.cli.templates import templates_command
from mesh_platform.cli.test import test_command
from mesh_platform.cli.ui import daemon, demo, ui
from mesh_platform.cli.vacuum import vacuum_command
from mesh_platform.core.errors import MeshError
from mesh_platform.core.interrupts import keep_stoppable
from mesh_platform.core.owner_only import owner_only


class MeshCommands(TyperGroup):
    """The `mesh` command group: an error the user can fix is one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MeshError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from None


cli = typer.Typer(
    cls=MeshCommands,
    name="mesh",
    help="A self-serve data mesh on Dagster: domains own data products, the platform runs and governs them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cli.callback()
def main(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        env_option("The deployment: deploy/ENV.yaml of the repository (default: MESH_ENV, else local, the embedded shape)."),
    ] = None,
) -> None:
    """A self-serve data mesh on Dagster: domains own data products, the platform runs and governs them."""
    owner_only()  # what the command and the processes it starts write is its owner's only
    ctx.obj = CommandState(environment=env)  # the command's MeshContext is made from it (cli.context), and hands it on


cli.command("init")(init_command)
cli.command("seed")(seed)
cli.command("materialize")(materialize_command)
cli.command("list")(list_products)
cli.command("catalog")(catalog_command)
cli.command("show")(show_command)
cli.command("lineage")(lineage_command)
cli.command("query")(query_command)
cli.command("status")(status_command)
cli.command("cost")(cost_command)
cli.command("vacuum")(vacuum_command)
cli.command("ui")(ui)
cli.command("serve")(serve_command)
cli.command("daemon")(daemon)
cli.command("demo")(demo)
cli.command("reset")(reset_command)
cli.command("templates")(templates_command)
cli.command("check")(check_command)
cli.command("test")(test_command)
cli.command("glossary")(glossary_command)
cli.command("policies")(policies_command)
cli.add_typer(new, name="new")
cli.add_typer(contract, name="contract")
cli.add_typer(access, name="access")
cli.add_typer(deploy, name="deploy")
cli.add_typer(dev, name="dev")


def app() -> None:
    keep_stoppable()  # a command started in the background stops on SIGTERM, and so does what it starts
    try:
        cli()
    finally:
        # The command has ended: the collector need not walk what it made while the interpreter shuts down
        # (a command that imported Dagster would spend a few tenths of a second there).
        gc.freeze()


if __name__ == "__main__":
    app()
