"""SIGTERM stops a `mesh` command started in the background (core.interrupts): a shell starts it with SIGINT
ignored, Dagster gives SIGTERM SIGINT's handler, and without `keep_stoppable` the command and every process it
starts afterwards would ignore SIGTERM."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

# A real Dagster run in a process started as a background job is (SIGINT ignored); then a child, which says
# what it ignores. The process waits to be stopped.
SCRIPT = textwrap.dedent("""
    import signal, subprocess, sys, time
    import dagster as dg
    from mesh_platform.core.interrupts import keep_stoppable

    if sys.argv[1] == "kept":
        keep_stoppable()

    @dg.asset
    def one() -> int:
        return 1

    assert dg.materialize([one]).success
    handler = signal.getsignal(signal.SIGTERM)
    print("SIGTERM", signal.Handlers(handler).name if isinstance(handler, int) else handler.__name__, flush=True)
    ignored = subprocess.run(["grep", "SigIgn", "/proc/self/status"], capture_output=True, text=True).stdout.split()[1]
    print("child ignores", "SIGTERM" if int(ignored, 16) & (1 << (signal.SIGTERM - 1)) else "no SIGTERM", flush=True)
    print("waiting", flush=True)
    time.sleep(600)
""")


def _started_in_background(kept: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, kept],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def _lines_until_waiting(process: subprocess.Popen) -> list[str]:
    assert process.stdout is not None
    lines = []
    while (line := process.stdout.readline().strip()) != "waiting":
        assert line or process.poll() is None, f"ended early: {lines}"
        lines.append(line)
    return lines


@pytest.mark.slow  # two processes that import Dagster and run it
def test_a_command_started_in_the_background_that_ran_dagster_still_stops_on_sigterm_and_so_do_its_children():
    unkept = _started_in_background("unkept")
    kept = _started_in_background("kept")
    try:
        # Dagster's own doing, the reason for keep_stoppable: SIGTERM ignored, in the process and its children.
        assert _lines_until_waiting(unkept) == ["SIGTERM SIG_IGN", "child ignores SIGTERM"]
        unkept.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert unkept.poll() is None

        lines = _lines_until_waiting(kept)
        assert lines == ["SIGTERM _ignore_interrupt", "child ignores no SIGTERM"]
        kept.send_signal(signal.SIGINT)  # still ignored, as in any background job
        time.sleep(1)
        assert kept.poll() is None
        kept.send_signal(signal.SIGTERM)
        assert kept.wait(timeout=10) != 0  # interrupted (KeyboardInterrupt), as Dagster takes SIGTERM by default
    finally:
        for process in (unkept, kept):
            process.kill()
            process.wait()


def test_every_mesh_command_gives_back_sigterm_where_it_inherited_it_ignored():
    script = textwrap.dedent("""
        import signal, sys
        from mesh_platform.cli.main import app
        sys.argv = ["mesh", "--help"]
        try:
            app()
        except SystemExit:
            pass
        for handler in (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)):
            print(signal.Handlers(handler).name if isinstance(handler, int) else handler.__name__)
    """)

    def ignore_both() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=ignore_both, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-2:] == ["_ignore_interrupt", "SIG_DFL"]
