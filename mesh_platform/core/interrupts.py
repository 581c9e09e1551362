"""SIGTERM stops a `mesh` command and what it starts, a command started in the background too.

A shell starts a background job (`mesh serve &` in a script, a CI step run with `&`) with SIGINT ignored, so
that a Ctrl-C meant for the foreground leaves it running. Dagster makes SIGTERM do what SIGINT does
(`setup_interrupt_handlers`: SIGTERM takes SIGINT's handler, each time a run executes in the process and in its
code server, webserver and daemon), so in such a process SIGTERM ends up ignored as well, and every process it
starts afterwards inherits SIGTERM ignored: `kill` no longer stops them, nor a supervisor's stop.

`keep_stoppable()`, first thing in every `mesh` command, keeps SIGINT ignored where it was inherited ignored,
but by a handler that, where Dagster copies it onto SIGTERM, interrupts as SIGTERM does in Dagster by default
(KeyboardInterrupt); and it gives back SIGTERM's default where it was inherited ignored (nothing ignores SIGTERM
on purpose: `nohup` ignores SIGHUP). The processes the command starts get both signals at their default.
"""

from __future__ import annotations

import signal
from types import FrameType


def _ignore_interrupt(number: int, frame: FrameType | None) -> None:
    """SIGINT ignored; the same handler, copied by Dagster onto SIGTERM, interrupts."""
    if number != signal.SIGINT:
        signal.default_int_handler(number, frame)


def keep_stoppable() -> None:
    """An inherited ignored SIGINT stays ignored without making SIGTERM ignored; an inherited ignored SIGTERM is reset."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, _ignore_interrupt)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def interrupt_ignored() -> bool:
    """Whether this process ignores SIGINT: inherited ignored, or kept ignored by `keep_stoppable`."""
    return signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, _ignore_interrupt)
