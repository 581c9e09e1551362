"""The processes a `mesh` command runs and watches over (runtime/services.py), with plain Python processes
standing for Dagster's: one that dies is started again, the others untouched; a stop signal ends them all,
SIGKILL for one that ignores SIGTERM; and none inherits SIGINT ignored from a command started in the background."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from .onebox import process_tree

pytestmark = pytest.mark.slow  # the stop waits out the grace before SIGKILL

RUNNER = textwrap.dedent("""
    import os
    import sys
    from pathlib import Path
    from mesh_platform.runtime.services import Service, run_services

    folder = Path(sys.argv[1])
    python = sys.executable
    services = [
        # says how it found SIGINT (Dagster takes SIGTERM as SIGINT) and SIGTERM, then serves
        Service("steady", (python, "-c", "import signal, time; print(signal.getsignal(signal.SIGINT), flush=True); "
                                         "print('SIGTERM', signal.Handlers(signal.getsignal(signal.SIGTERM)).name, flush=True); "
                                         "time.sleep(600)")),
        # ignores SIGTERM: only SIGKILL ends it
        Service("stubborn", (python, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                           "time.sleep(600)")),
        # dies at once the first time, then serves
        Service("fragile", (python, "-c", f"import os, sys, time; mark = {str(folder / 'started')!r}; "
                                          "again = os.path.exists(mark); open(mark, 'a').close(); "
                                          "time.sleep(600) if again else sys.exit(3)"), restart=True),
    ]
    sys.exit(run_services(services, folder, dict(os.environ), lambda line: print(line, flush=True)))
""")


def _ignore_interrupt_and_terminate() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def test_a_service_that_dies_is_started_again_and_a_stop_signal_ends_every_one(tmp_path):
    log = tmp_path / "services.log"
    with log.open("w") as output:
        # As from a background job of a process that ran Dagster: SIGINT ignored, and SIGTERM with it (Dagster gives
        # SIGTERM SIGINT's handler, core.interrupts). The runner stops on SIGTERM all the same; no service inherits either.
        runner = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(tmp_path)],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_interrupt_and_terminate,
        )
    try:
        deadline = time.monotonic() + 120
        while "fragile started again" not in log.read_text():
            assert runner.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert "fragile (pid " in text and ") exited with code 3; starting it again in 1 s (the others keep serving)" in text
        assert "<built-in function default_int_handler>" in text  # SIGINT at its default in what the runner started
        assert "SIGTERM SIG_DFL" in text  # and SIGTERM
        tree = process_tree(runner.pid)
        assert len(tree) == 4 and runner.poll() is None

        runner.send_signal(signal.SIGINT)  # ignored by the runner, as by any background job
        time.sleep(1)
        assert runner.poll() is None and all(p.is_running() for p in tree)

        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=10) == 0  # it returns once it has stopped every one
        assert [p for p in tree[1:] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
        assert "killed what had not stopped after 5 s: pid" in log.read_text()
    finally:
        for process in process_tree(runner.pid):
            process.kill()
        runner.wait()


def test_a_service_that_is_not_started_again_ends_the_command_with_its_exit_code(tmp_path):
    script = (
        "from mesh_platform.runtime.services import Service, run_services\nimport sys\n"
        "sys.exit(run_services([Service('webserver', (sys.executable, '-c', 'raise SystemExit(4)'))], '.', {}, print))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env={**os.environ})
    assert result.returncode == 4
    assert "webserver (pid " in result.stdout and ") exited with code 4; stopping" in result.stdout
