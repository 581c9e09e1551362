"""The long-running Dagster processes a `mesh` command runs and watches over: `mesh serve`, `mesh ui`, `mesh daemon`.

The command stays in the foreground while they run, each in a process group of its own:
- one that dies is said in the log; a code server is started again (after 1 s, then longer while it keeps
  dying, up to 30 s) and the others keep serving; any other ends the command, its exit code said;
- SIGTERM, SIGINT or SIGHUP to the command stops every process it started, their own children included
  (a code server's runs): SIGTERM first, SIGKILL for what is left after `STOP_GRACE` seconds.
Dagster's commands take SIGTERM as they take SIGINT, and a process started from a background job
inherits SIGINT ignored (so would they, and ignore SIGTERM too): the command never leaves SIGINT
ignored, so every process it starts gets SIGINT's default; and it stops on SIGTERM even where it inherited
SIGTERM ignored (from a process that ran Dagster with SIGINT ignored: `core.interrupts`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mesh_platform.core.interrupts import interrupt_ignored

if TYPE_CHECKING:
    import psutil

STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL: all gone within 10 s of the signal, on a busy machine too
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)  # seconds before a code server that died is started again, while it keeps dying
STEADY_SECONDS = 60  # a code server that ran this long before it died starts again after the first delay
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass(frozen=True)
class Service:
    """One long-running process: what the log calls it, its command, whether it is started again when it dies."""

    name: str
    command: tuple[str, ...]
    restart: bool = False
    env: tuple[tuple[str, str], ...] = ()  # its own whole environment (a domain's server: with its key); () the shared one


class _Running:
    def __init__(self, service: Service, cwd: Path, env: dict[str, str]):
        self.service, self.cwd, self.env = service, cwd, env
        self._process: subprocess.Popen | None = None
        self.started = 0.0
        self.failures = 0  # deaths in a row, each after a short life
        self.due: float | None = None  # when it is to be started again

    def start(self) -> None:
        env = dict(self.service.env) or self.env
        self._process = subprocess.Popen(self.service.command, cwd=self.cwd, env=env, start_new_session=True)
        self.started, self.due = time.monotonic(), None

    @property
    def process(self) -> subprocess.Popen:
        assert self._process is not None, "start() first"
        return self._process

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None


def run_services(services: list[Service], cwd: Path, env: dict[str, str], say: Callable[[str], None]) -> int:
    """Run `services` until a stop signal (exit code 0) or the end of one that is not started again (its exit code)."""
    stop: list[int] = []

    def on_signal(number: int, _frame: FrameType | None) -> None:
        stop.append(number)

    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number in STOP_SIGNALS:
        if number == signal.SIGINT and interrupt_ignored():  # a background job: still ignored, at its default in what starts
            signal.signal(number, lambda *_: None)
        elif number == signal.SIGTERM or previous[number] != signal.SIG_IGN:  # SIGTERM always stops (core.interrupts)
            signal.signal(number, on_signal)
    running = [_Running(service, cwd, env) for service in services]
    try:
        for each in running:
            each.start()
        while not stop:
            for each in running:
                if each.due is not None and time.monotonic() >= each.due:
                    each.start()
                    say(f"{each.service.name} started again (pid {each.process.pid})")
                elif each.due is None and not each.alive:
                    ended = _ended(each.process.returncode)
                    if not each.service.restart:
                        say(f"{each.service.name} (pid {each.process.pid}) {ended}; stopping")
                        return each.process.returncode or 1
                    each.failures = 1 if time.monotonic() - each.started >= STEADY_SECONDS else each.failures + 1
                    delay = RESTART_DELAYS[min(each.failures, len(RESTART_DELAYS)) - 1]
                    each.due = time.monotonic() + delay
                    say(
                        f"{each.service.name} (pid {each.process.pid}) {ended}; "
                        f"starting it again in {delay} s (the others keep serving)"
                    )
            time.sleep(POLL_SECONDS)
        say(f"{signal.Signals(stop[0]).name}: stopping {', '.join(each.service.name for each in running if each.alive)}")
        return 0
    finally:
        _stop([each.process for each in running if each.alive], say)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(processes: list[subprocess.Popen], say: Callable[[str], None]) -> None:
    """SIGTERM to each process's group, SIGKILL to whatever of it (or of its children elsewhere) is left after the grace."""
    import psutil

    tree: list[psutil.Process] = []
    for process in processes:
        try:
            descendants = psutil.Process(process.pid).children(recursive=True)
            tree += [psutil.Process(process.pid), *descendants]
            os.killpg(process.pid, signal.SIGTERM)  # alive and not reaped: its pid is still its group's
            for escaped in descendants:  # a child that made a group of its own
                if _group(escaped) != process.pid:
                    escaped.terminate()
        except (psutil.Error, ProcessLookupError):
            pass
    _, left = psutil.wait_procs(tree, timeout=STOP_GRACE)
    if left:
        say(f"killed what had not stopped after {STOP_GRACE:g} s: {', '.join(f'pid {p.pid}' for p in left)}")
    for straggler in left:
        with contextlib.suppress(psutil.Error):
            straggler.kill()
    psutil.wait_procs(left, timeout=STOP_GRACE)
    for process in processes:
        process.poll()  # reaped


def _group(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


def _ended(returncode: int) -> str:
    if returncode < 0:
        return f"was killed ({signal.Signals(-returncode).name})"
    return f"exited with code {returncode}"
