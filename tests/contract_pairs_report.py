"""Compare `mesh contract diff` with datacontract-cli's `breaking` on the held-back contract pairs.

    python -m tests.contract_pairs_report [--datacontract PATH] [--output FILE]

For every pair of tests/fixtures/contract_pairs/pairs.yaml: the changes mesh lists with their verdicts for consumers
and for the producer, what `datacontract breaking` finds from either perspective, and whether the two agree; a
Markdown table on stdout (or in FILE). datacontract-cli reads our contracts unchanged (ODCS v3.1.0; our settings
are `customProperties`, which it compares like any other field). It is not in the project's venv (its 1.2.x
releases need open-data-contract-standard 3.2, the project pins <3.2, and pip otherwise falls back to 1.1.3 with an
older pydantic), so give its executable with --datacontract or $DATACONTRACT (default: `datacontract` on PATH).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mesh_platform import load_contract
from mesh_platform.contract.diff import Change, diff_contracts

from .contract_pairs import ContractPair, load_pairs, write_pair

PERSPECTIVES = ("consumer", "producer")


@dataclass(frozen=True)
class Finding:
    """One change `datacontract breaking` grades (nested entries of an added or removed element left out)."""

    path: str
    change: str  # Added, Removed, Updated
    direction: str  # tightens, loosens, both, undetermined, untested
    consumer: str  # ERROR, WARNING or INFO from the consumer's perspective
    producer: str

    @property
    def summary(self) -> str:
        path = self.path.split(".properties.", 1)[-1] if self.path.startswith("schema.") else self.path
        return f"C:{self.consumer} P:{self.producer} {self.change.lower()} `{path}` ({self.direction})"


@dataclass(frozen=True)
class PairResult:
    pair: ContractPair
    mesh: tuple[Change, ...]
    findings: tuple[Finding, ...]
    error: str | None = None  # datacontract-cli failed on the pair

    @property
    def agreement(self) -> str:
        """`yes`, or `no:` and where the tools differ: whether a change is listed at all, then each verdict."""
        if self.error:
            return f"n/a: datacontract-cli failed ({self.error})"
        if self.findings and not self.mesh:
            return "no: only datacontract-cli lists a change"
        if self.mesh and not self.findings:
            return "no: only mesh lists a change"
        differences = []
        for perspective in PERSPECTIVES:
            mesh_breaks = any(c.breaking if perspective == "consumer" else c.producer_breaking for c in self.mesh)
            levels = {getattr(f, perspective) for f in self.findings}
            dc_breaks = "ERROR" in levels
            undetermined = not dc_breaks and "WARNING" in levels  # a WARNING alone (direction undetermined) agrees with either
            if mesh_breaks != dc_breaks and not undetermined:
                said = f"mesh {'breaking' if mesh_breaks else 'ok'}, datacontract-cli {'ERROR' if dc_breaks else 'INFO'}"
                differences.append(f"{perspective}: {said}")
        return "no: " + "; ".join(differences) if differences else "yes"


def compare(pair: ContractPair, folder: Path, datacontract: str) -> PairResult:
    old, new = write_pair(pair, folder)
    changes = diff_contracts(load_contract(old), load_contract(new)).changes
    graded: dict[str, dict[tuple[str, str, str], str]] = {}
    for perspective in PERSPECTIVES:
        run = subprocess.run(
            [datacontract, "breaking", "--perspective", perspective, str(old), str(new)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"},
            check=False,
        )
        if run.returncode not in (0, 1) or "Details" not in run.stdout and "No changes." not in run.stdout:
            return PairResult(pair, changes, (), (run.stderr or run.stdout).strip().splitlines()[-1][:120])
        graded[perspective] = _details(run.stdout)
    rows = [
        (path, change, direction, level) for (path, change, direction), level in graded["consumer"].items() if path != "version"
    ]
    # The helper raises the version of every new contract. An ungraded field inside an added or removed one
    # (datacontract-cli's "untested" metadata) says no more than its container.
    findings = tuple(
        Finding(path, change, direction, level, graded["producer"].get((path, change, direction), "?"))
        for path, change, direction, level in rows
        if direction != "untested"
        or not any(path.startswith(f"{outer}.") and change == outer_change != "Updated" for outer, outer_change, *_ in rows)
    )
    return PairResult(pair, changes, findings)


def _details(output: str) -> dict[tuple[str, str, str], str]:
    """The graded rows of the Details table `datacontract breaking` prints: (path, change, direction) → severity."""
    rows = {}
    for line in output.split("Details", 1)[-1].splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) < 6 or cells[1] in ("", "Severity"):
            continue
        severity, change, direction, path = cells[1:5]
        if direction:  # an entry inside an added or removed element has none: its element carries the grade
            rows[(path, change, direction)] = severity
    return rows


def markdown(results: list[PairResult], datacontract: str) -> str:
    version = subprocess.run([datacontract, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    mesh_flags = sum(bool(r.mesh) for r in results)
    dc_flags = sum(bool(r.findings) for r in results)
    missed = [r.pair.name for r in results if r.findings and not r.mesh]
    disagreements = [r for r in results if r.agreement != "yes"]
    lines = [
        f"# `mesh contract diff` and datacontract-cli {version} `breaking` on {len(results)} contract pairs",
        "",
        "Each pair is a demo contract and the same contract with one change (tests/fixtures/contract_pairs/pairs.yaml);",
        "made by `python -m tests.contract_pairs_report`. Verdicts: C = for consumers, P = for the producer;",
        "datacontract-cli's severity per perspective (ERROR breaks, WARNING undetermined, INFO does not).",
        "",
        f"- mesh lists a change in {mesh_flags} of {len(results)} pairs; datacontract-cli in {dc_flags} (its "
        "`version` entry aside).",
        "- pairs where datacontract-cli lists a change mesh does not: "
        f"{len(missed)}{': ' + ', '.join(missed) if missed else ''}.",
        f"- pairs where the two differ (a change listed, or a verdict): {len(disagreements)}.",
        "",
        "| pair | mesh (C/P) | datacontract-cli | agree? |",
        "|---|---|---|---|",
    ]
    for r in results:
        mesh = "<br>".join(f"{c.kind} ({_yes(c.breaking)}/{_yes(c.producer_breaking)})" for c in r.mesh) or "—"
        dc = "<br>".join(f.summary for f in r.findings) or ("—" if not r.error else "error")
        lines.append(f"| {r.pair.name} | {mesh} | {dc} | {r.agreement} |")
    return "\n".join(lines) + "\n"


def _yes(flag: bool) -> str:
    return "breaking" if flag else "ok"


def run(datacontract: str) -> list[PairResult]:
    pairs = load_pairs()
    with tempfile.TemporaryDirectory(prefix="contract-pairs-") as folder, ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda pair: compare(pair, Path(folder), datacontract), pairs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datacontract",
        default=os.environ.get("DATACONTRACT", "datacontract"),
        help="datacontract-cli's executable ($DATACONTRACT)",
    )
    parser.add_argument("--output", type=Path, help="write the Markdown table here instead of stdout")
    args = parser.parse_args(argv)
    executable = shutil.which(args.datacontract)
    if executable is None:
        print(
            f"error: datacontract-cli not found at {args.datacontract!r}: give --datacontract PATH or set DATACONTRACT",
            file=sys.stderr,
        )
        return 1
    text = markdown(run(executable), executable)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
