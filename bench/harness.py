"""Timing whole commands: wall time and peak memory of the process tree, in interleaved pairs.

Each command runs as its own process; while it runs, the resident memory of it and
every process it started is summed every few milliseconds, and the largest sum is
its peak. A scenario runs the mesh's command and its reference one after the other,
pair by pair (A B A B …), so a machine whose speed drifts moves both alike; ratios
are taken pair by pair and summarized by their median. Commands to compare with each
other (one product at several widths) run in turn the same way (`in_turn`).

A command that hands its work to processes that are not its own children (a mesh's warm workers, which fork
its runs) is measured with those processes too (`Helpers`): their memory (proportional, as forked runs share their
worker's pages) is added to the tree's while the command runs, and the CPU time they and the runs they reaped used
since the last command measured with them is the command's (so work a worker does while idle, between commands, is
charged to the next one).
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

POLL_SECONDS = 0.01
HELPERS_EVERY = 25  # polls between two samples of helper processes (a scan of every process, PSS: not cheap)


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_mb: float
    build_s: float | None = None  # the work inside the command, where a scenario reads it: a run's step, a read after imports
    cpu_s: float | None = None  # CPU time (user + system) of the command and every process it waited for


@dataclass
class Figures:
    """Several runs of one command: their min and median."""

    runs: list[Run] = field(default_factory=list)

    def _values(self, name: str) -> list[float]:
        return [getattr(run, name) for run in self.runs]

    def summary(self) -> dict[str, float]:
        figures = {
            "wall_s_min": min(self._values("wall_s")),
            "wall_s_median": statistics.median(self._values("wall_s")),
            "peak_mb_min": min(self._values("peak_mb")),
            "peak_mb_median": statistics.median(self._values("peak_mb")),
        }
        if all(run.build_s is not None for run in self.runs):
            figures["build_s_median"] = statistics.median(self._values("build_s"))
        if all(run.cpu_s is not None for run in self.runs):
            figures["cpu_s_median"] = statistics.median(self._values("cpu_s"))
        return figures


class Helpers:
    """The processes a command hands its work to that are not its descendants (`find` lists them: a mesh's warm
    workers), what they hold in memory, and how much of their CPU time (their own and that of the children they
    reaped) was counted already.

    Their memory is their trees' proportional set size (PSS: a page shared by several processes counts for each a
    share), as a worker's forked runs share most of its pages; reading it costs milliseconds a process, so `sample`
    runs every `HELPERS_EVERY` polls of the command, not at each."""

    def __init__(self, find: Callable[[], list[psutil.Process]]):
        self.find = find
        self.counted: dict[tuple[int, float], float] = {}  # (pid, start time) → CPU seconds counted so far
        self.seen: dict[tuple[int, float], psutil.Process] = {}
        self.latest: dict[tuple[int, float], float] = {}
        self.memory = 0  # bytes, at the last sample

    def sample(self) -> None:
        """Look for helpers, note their CPU time and their memory now (`memory`)."""
        for found in self.find():
            with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                self.seen.setdefault((found.pid, found.create_time()), found)
        self.memory = 0
        for key, helper in self.seen.items():
            with contextlib.suppress(psutil.Error):  # it ended between listing and reading
                times = helper.cpu_times()
                self.latest[key] = times.user + times.system + times.children_user + times.children_system
                self.memory += _tree_memory(helper, proportional=True)

    def charge(self) -> float:
        """The CPU time the helpers used since the last charge (a helper first seen now: since it started; `measure`
        charges the running ones before its command starts, so that is a helper the command started)."""
        used = 0.0
        for key, seconds in self.latest.items():
            used += seconds - self.counted.get(key, 0.0)
            self.counted[key] = seconds
        self.seen = {key: helper for key, helper in self.seen.items() if helper.is_running()}
        self.latest = {}
        return used


def measure(
    command: Sequence[str], env: dict[str, str], cwd: Path, log: Path, cpu: bool = False, helpers: Helpers | None = None
) -> Run:
    """Run `command` to its end; its output goes to `log`. A failing command stops the benchmark.

    With `cpu`, its CPU time too: what the kernel counted for the process and every descendant that was waited for
    (this process's RUSAGE_CHILDREN before and after), and with `helpers`, theirs (see the module's docstring);
    without them, a process it hands work to that is not its descendant (a warm worker) is not counted."""
    if helpers is not None:  # what running helpers did before (a setup's build, an earlier scenario) is not this run's
        helpers.sample()
        helpers.charge()
    with log.open("ab") as output:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process = psutil.Popen(list(command), env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        peak, polls = 0, 0
        while process.poll() is None:
            if helpers is not None and polls % HELPERS_EVERY == 0:
                helpers.sample()
            polls += 1
            peak = max(peak, _tree_memory(process) + (helpers.memory if helpers is not None else 0))
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if helpers is not None:  # a worker the command started, and what its runs used after the last sample
            helpers.sample()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}; its output is in {log}")
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if helpers is not None:
        used += helpers.charge()
    return Run(wall, peak / 2**20, cpu_s=used if cpu else None)


def _tree_memory(process: psutil.Process, proportional: bool = False) -> int:
    """The resident memory of `process` and its descendants; `proportional`: their PSS (see `Helpers`)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_full_info().pss if proportional else member.memory_info().rss
        except psutil.Error:
            continue  # it ended between listing and reading
    return total


@dataclass
class Pairing:
    """A command measured against its reference, pair by pair."""

    mesh: Figures = field(default_factory=Figures)
    reference: Figures | None = None
    wall_ratios: list[float] = field(default_factory=list)
    peak_ratios: list[float] = field(default_factory=list)
    build_ratios: list[float] = field(default_factory=list)  # where both runs report their build's time
    cpu_ratios: list[float] = field(default_factory=list)  # where both runs report their CPU time

    def summary(self) -> dict[str, object]:
        result: dict[str, object] = {"mesh": self.mesh.summary()}
        if self.reference is not None:
            result["reference"] = self.reference.summary()
            result["wall_ratio_min"] = min(self.wall_ratios)
            result["wall_ratio_median"] = statistics.median(self.wall_ratios)
            result["peak_ratio_median"] = statistics.median(self.peak_ratios)
            if self.build_ratios:
                result["build_ratio_median"] = statistics.median(self.build_ratios)
            if self.cpu_ratios:
                result["cpu_ratio_median"] = statistics.median(self.cpu_ratios)
        return result


def pair(
    mesh: Callable[[], Run],
    reference: Callable[[], Run] | None,
    pairs: int,
    before_each: Callable[[], None] = lambda: None,
) -> Pairing:
    """`pairs` runs of `mesh`, each followed by one of `reference` (if any); `before_each` resets state
    before every run and is not timed."""
    return in_turn([(mesh, reference, before_each)], pairs)[0]


Measured = tuple[Callable[[], Run], Callable[[], Run] | None, Callable[[], None]]  # mesh, reference, before each run


def in_turn(commands: Sequence[Measured], rounds: int) -> list[Pairing]:
    """Several commands (each with its reference) measured in turn, round by round (A B C A B C …): a machine
    whose speed drifts moves them all alike, so their figures compare with each other (one width with another)."""
    pairings = [Pairing(reference=Figures() if reference else None) for _, reference, _ in commands]
    for _ in range(rounds):
        for (mesh, reference, before_each), pairing in zip(commands, pairings, strict=True):
            before_each()
            ran = mesh()
            pairing.mesh.runs.append(ran)
            if reference is None:
                continue
            before_each()
            against = reference()
            assert pairing.reference is not None
            pairing.reference.runs.append(against)
            pairing.wall_ratios.append(ran.wall_s / against.wall_s)
            pairing.peak_ratios.append(ran.peak_mb / against.peak_mb)
            if ran.build_s is not None and against.build_s is not None:
                pairing.build_ratios.append(ran.build_s / against.build_s)
            if ran.cpu_s is not None and against.cpu_s:
                pairing.cpu_ratios.append(ran.cpu_s / against.cpu_s)
    return pairings


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": os.uname().sysname + " " + os.uname().release,
        "machine": os.uname().machine,
    }
