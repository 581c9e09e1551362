"""The one `MeshContext` of a `mesh` command: made when the command first asks for it, from the process's
environment and `mesh --env`, and the same for the rest of the command."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from mesh_platform.context import MeshContext


@dataclass
class CommandState:
    """What the `mesh` group's options say, kept on click's root context for the command to read."""

    environment: str | None = None  # mesh --env
    contexts: dict[tuple[str | None, bool], MeshContext] = field(default_factory=dict)


def mesh_context(ctx: typer.Context, require_environment: bool = True, environment: str | None = None) -> MeshContext:
    """The mesh of the command `ctx` runs (`environment`: a command's own --env, over `mesh --env`). Without
    `require_environment`, the deployment's secrets and packages need not be there (`mesh deploy` renders for a
    cluster that has them)."""
    state = ctx.find_root().ensure_object(CommandState)
    key = (environment or state.environment, require_environment)
    if key not in state.contexts:
        state.contexts[key] = MeshContext.from_env(key[0], require_environment=require_environment)
    return state.contexts[key]
