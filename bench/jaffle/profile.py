"""Where a mesh build's time went, from what Dagster recorded of the newest run of an instance.

    python -m bench.jaffle.profile DAGSTER_HOME [--wall SECONDS] [--newest N]

Prints the run's own span (its start to its end event), each step (a product: policies, inputs, stage, checks,
Delta commit, check results) with its duration and the build time the product reports (`mesh/build_seconds`:
stage, checks and commit, without the policies and Dagster's events around them), the sum of the steps, the run's
time outside its steps, and how many events it recorded. With `--wall` (the command's wall time), the time
outside the run too: the command's start, its instance and the run's process start and definitions load.
"""

from __future__ import annotations

import argparse
import collections


def profile(dagster_home: str, wall: float | None = None, newest: int = 1) -> str:
    import dagster as dg

    with dg.DagsterInstance.from_config(dagster_home) as instance:
        record = instance.get_run_records(limit=newest)[-1]
        run_id = record.dagster_run.run_id
        steps = instance.get_run_step_stats(run_id)
        events = instance.all_logs(run_id)
        built: dict[str, float] = {}
        for event in events:
            if event.dagster_event and event.dagster_event.is_step_materialization:
                materialization = event.dagster_event.step_materialization_data.materialization
                seconds = materialization.metadata.get("mesh/build_seconds")
                if seconds is not None:
                    built[event.step_key or ""] = float(seconds.value)
        kinds = collections.Counter(e.dagster_event.event_type_value if e.dagster_event else "log" for e in events)
    span = (record.end_time or 0) - (record.start_time or 0)
    lines = [f"run {run_id[:8]}: {span:.2f} s from its start to its end, {len(events)} events"]
    total = 0.0
    for step in sorted(steps, key=lambda s: s.start_time or 0):
        duration = (step.end_time or 0) - (step.start_time or 0)
        total += duration
        build = built.get(step.step_key)
        lines.append(f"  {step.step_key:40} {duration:6.2f} s" + (f"  (build {build:.2f} s)" if build is not None else ""))
    lines.append(
        f"  steps together {total:.2f} s (builds {sum(built.values()):.2f} s); the run outside its steps {span - total:.2f} s"
    )
    if wall is not None:
        lines.append(f"  the command outside the run: {wall - span:.2f} s of {wall:.2f} s")
    lines.append("  events: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dagster_home")
    parser.add_argument("--wall", type=float)
    parser.add_argument("--newest", type=int, default=1, help="the N-th newest run (default: the newest)")
    options = parser.parse_args()
    print(profile(options.dagster_home, options.wall, options.newest))
