"""The benchmark suite: the mesh against a reference doing the same work, on generated data.

    make bench          # 10 million rows (source products and a daily product of 100 million), 20 domains × 50 products,
                        # wide products of 500, 2,000 and 5,000 columns, the jaffle shop against dbt at
                        # 100k, 1M and 10M orders; 3 pairs each
    make bench-quick    # 1 million rows, 5 domains × 10 products, 500 and 2,000 columns, the jaffle shop
                        # at 100k orders; 2 pairs

    python -m bench.run [--rows N] [--source-rows N] [--partition-rows N] [--pairs K] [--domains D --products P]
                        [--wide-columns N …] [--wide-rows N] [--dbt-sizes SIZE …] [--dbt-threads N] [--only NAME …]
                        [--workdir DIR] [--out FILE]

Each scenario runs the mesh's command and the reference's in turn, pair by pair, each a
whole process (start-up included); it prints wall time and peak memory of the process
tree (min and median), the ratios mesh / reference (median of the pairs), and the goal.
Where both commands are one product's Dagster run (the partition scenario), each run's
build time (its step's duration, as Dagster recorded it) and that ratio are printed too.
The wide scenario measures one product at each width and prints how each figure grows
from one width to the next, beside how much wider it got.
The dbt scenarios (bench/jaffle/scenarios.py) also measure CPU time (the command's process tree) and print its ratio.
The figures also go to a JSON file (default bench/results.json). The work folder holds
the generated data and meshes; it is reused (the data is generated once per size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from bench.harness import Pairing, in_turn, machine
from bench.jaffle.data import SIZES as JAFFLE_SIZES
from bench.jaffle.scenarios import dbt_scenarios
from bench.scenarios import (
    Scenario,
    Workbench,
    build_scenarios,
    definitions_scenario,
    demo_scenario,
    launch_scenario,
    partition_scenario,
    start_scenario,
    wide_linearity,
    wide_scenarios,
)

NAMES = [
    "source",
    "sql_rules",
    "sql_plain",
    "sql_aggregate",
    "checks",
    "read",
    "partition",
    "launch",
    "start",
    "definitions",
    "wide",
    "demo",
    "dbt",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1M rows, 5 domains × 10 products, 2 pairs")
    parser.add_argument("--rows", type=int, help="rows of the orders table (default 10,000,000)")
    parser.add_argument(
        "--source-rows", type=int, help="rows of the source scenario's table (default 100,000,000; quick: --rows)"
    )
    parser.add_argument(
        "--partition-rows", type=int, help="rows of the daily product of the partition scenario (default 100,000,000)"
    )
    parser.add_argument("--pairs", type=int, help="pairs per scenario (default 3)")
    parser.add_argument("--domains", type=int, help="domains of the definitions scenario (default 20)")
    parser.add_argument("--products", type=int, help="products per domain there (default 50)")
    parser.add_argument("--wide-columns", type=int, nargs="+", help="widths of the wide scenario (default 500 2000 5000)")
    parser.add_argument("--wide-rows", type=int, help="rows of its products (default 5,000)")
    parser.add_argument(
        "--dbt-sizes", nargs="+", choices=JAFFLE_SIZES, help="sizes of the jaffle shop against dbt (default all; quick: small)"
    )
    parser.add_argument("--dbt-threads", type=int, help="dbt's --threads (default: its profile's default, 1)")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="run these scenarios only")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mesh-bench")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    options = parser.parse_args(argv)
    rows = options.rows or (1_000_000 if options.quick else 10_000_000)
    source_rows = options.source_rows or (rows if options.quick else 100_000_000)
    partition_rows = options.partition_rows or (1_000_000 if options.quick else 100_000_000)
    pairs = options.pairs or (2 if options.quick else 3)
    domains = options.domains or (5 if options.quick else 20)
    products = options.products or (10 if options.quick else 50)
    widths = sorted(options.wide_columns or ([500, 2000] if options.quick else [500, 2000, 5000]))
    wide_rows = options.wide_rows or (1_000 if options.quick else 5_000)
    dbt_sizes = options.dbt_sizes or (["small"] if options.quick else list(JAFFLE_SIZES))
    wanted = set(options.only or NAMES)

    options.workdir.mkdir(parents=True, exist_ok=True)
    log = options.workdir / "bench.log"
    log.write_text("")
    print(
        f"mesh benchmark: {rows:,} rows (the source scenario {source_rows:,}), {pairs} pairs per scenario, "
        f"work folder {options.workdir} (command output: {log})",
        flush=True,
    )
    results: dict[str, dict] = {}
    scenarios: list[Scenario] = []
    # The source scenario at its own size (the 100M rows), on a workbench of its own when that differs.
    sources = {"source", "source_rules"} if "source" in wanted else set()
    chosen = (wanted | sources | ({"sql_rules", "sql_plain"} if "checks" in wanted else set())) - (
        sources if source_rows != rows else set()
    )
    if chosen & {"source", "source_rules", "sql_rules", "sql_plain", "sql_aggregate", "read", "partition"}:
        bench = Workbench(options.workdir, rows, log)
        bench.bench_mesh()
        scenarios += [s for s in build_scenarios(bench) if s.name in chosen]
        if "partition" in wanted:
            scenarios.append(partition_scenario(bench, partition_rows))
    if sources and source_rows != rows:
        loads = Workbench(options.workdir / "source", source_rows, log)
        loads.bench_mesh()
        scenarios += [s for s in build_scenarios(loads) if s.name in sources]
    if "launch" in wanted and (launch := launch_scenario(options.workdir, log)) is not None:
        scenarios.append(launch)
    if "start" in wanted:
        scenarios.append(start_scenario(options.workdir, log))
    if "definitions" in wanted:
        scenarios.append(definitions_scenario(options.workdir, domains, products, log))
    if "wide" in wanted:
        scenarios += wide_scenarios(options.workdir, widths, wide_rows, log)
    if "demo" in wanted:
        scenarios.append(demo_scenario(options.workdir, log))
    if "dbt" in wanted:
        scenarios += dbt_scenarios(options.workdir, dbt_sizes, log, options.dbt_threads)

    for scenario in scenarios:
        if scenario.name in results:
            continue  # measured in turn with an earlier one
        group = [s for s in scenarios if s.in_turn_with == scenario.in_turn_with] if scenario.in_turn_with else [scenario]
        if len(group) > 1:
            print(f"· {scenario.in_turn_with}: {', '.join(s.name for s in group)}, in turn", flush=True)
        # The demo has no reference to pair with: in a quick run, once is enough.
        runs = 1 if options.quick and scenario.reference is None else pairs
        for member, pairing in zip(group, in_turn([(s.mesh, s.reference, s.before_each) for s in group], runs), strict=True):
            results[member.name] = {
                "what": member.what,
                "against": member.reference_what,
                "goal": member.goal,
                **pairing.summary(),
            }
            print(f"· {member.name}: {member.what}", flush=True)
            print("  " + _line(pairing), flush=True)
    if "checks" in wanted and {"sql_rules", "sql_plain"} <= set(results):
        with_rules = results["sql_rules"]["mesh"]["wall_s_median"]
        without = results["sql_plain"]["mesh"]["wall_s_median"]
        results["checks"] = {
            "what": "contract checks' share of the build (SQL product with rules vs without, mesh medians)",
            "goal": "≤ 20% of the build",
            "share_of_build": (with_rules - without) / with_rules,
        }
    if "wide" in wanted and (linearity := wide_linearity(results, widths)) is not None:
        results["wide_linearity"] = linearity
        print(f"· wide_linearity: {linearity['what']}; {linearity['goal']}", flush=True)
        for label, steps in linearity["growth"].items():
            print(f"  {label}: " + ", ".join(f"{step} {ratio:.3g}×" for step, ratio in steps.items()), flush=True)

    report = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "rows": rows,
        "pairs": pairs,
        "definitions_size": f"{domains}x{products}",
        "wide": {"columns": widths, "rows": wide_rows},
        "dbt_sizes": {size: JAFFLE_SIZES[size] for size in dbt_sizes},
        "python": sys.version.split()[0],
        "scenarios": results,
    }
    options.out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(report))
    print(f"\nwritten to {options.out}")
    return 0


def _line(pairing: Pairing) -> str:
    mesh = pairing.mesh.summary()
    text = f"mesh {mesh['wall_s_median']:.2f} s (min {mesh['wall_s_min']:.2f}), peak {mesh['peak_mb_median']:.0f} MB"
    if pairing.reference is not None:
        summary = pairing.summary()
        reference = summary["reference"]
        text += (
            f"; reference {reference['wall_s_median']:.2f} s, peak {reference['peak_mb_median']:.0f} MB;"
            f" ratio {summary['wall_ratio_median']:.3g}× wall, {summary['peak_ratio_median']:.3g}× memory"
        )
        if "cpu_ratio_median" in summary:
            text += (
                f"; CPU {mesh['cpu_s_median']:.2f} s against {reference['cpu_s_median']:.2f} s,"
                f" ratio {summary['cpu_ratio_median']:.3g}×"
            )
        if "build_ratio_median" in summary:
            text += (
                f"; inside the process (a run's step; a read after its imports) {mesh['build_s_median']:.2f} s"
                f" against {reference['build_s_median']:.2f} s,"
                f" ratio {summary['build_ratio_median']:.3g}×"
            )
    return text


def table(report: dict) -> str:
    """The results as a Markdown table (what the README's Performance section shows)."""
    lines = [
        "| scenario | mesh (median) | reference | reference (median) | wall ratio | peak memory ratio | inside ratio | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in report["scenarios"].values():
        if "share_of_build" in result:
            lines.append(f"| {result['what']} | {result['share_of_build']:.0%} of the build | | | | | | {result['goal']} |")
            continue
        if "growth" in result:
            for label, steps in result["growth"].items():
                grew = ", ".join(f"{step}: {ratio:.3g}×" for step, ratio in steps.items())
                lines.append(f"| {result['what'].split(':')[0]}: {label} grows | {grew} | | | | | | {result['goal']} |")
            continue
        mesh = result["mesh"]
        cells = [result["what"], f"{mesh['wall_s_median']:.2f} s, {mesh['peak_mb_median']:.0f} MB" + _build(mesh)]
        if "reference" in result:
            reference = result["reference"]
            cells += [
                result["against"],
                f"{reference['wall_s_median']:.2f} s, {reference['peak_mb_median']:.0f} MB" + _build(reference),
                f"{result['wall_ratio_median']:.3g}×" + _cpu_ratio(result),
                f"{result['peak_ratio_median']:.3g}×",
                f"{result['build_ratio_median']:.3g}×" if "build_ratio_median" in result else "",
            ]
        else:
            cells += ["", "", "", "", ""]
        cells.append(result["goal"] or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _build(figures: dict) -> str:
    build = f" (inside {figures['build_s_median']:.2f} s)" if "build_s_median" in figures else ""
    return build + (f", CPU {figures['cpu_s_median']:.2f} s" if "cpu_s_median" in figures else "")


def _cpu_ratio(result: dict) -> str:
    return f" (CPU {result['cpu_ratio_median']:.3g}×)" if "cpu_ratio_median" in result else ""


if __name__ == "__main__":
    raise SystemExit(main())
