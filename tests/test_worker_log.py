"""A warm worker's log (runtime.worker): appended to by each new worker of a domain, set aside once grown past its
limit. (The workers themselves are tested in test_warm_builds.py.)"""

import sys

import pytest

from mesh_platform.runtime import worker


def test_a_worker_log_grown_past_its_limit_is_set_aside_when_a_new_worker_starts(tmp_path):
    """The worker's log (MESH_HOME/logs/worker-<domain>.log) is appended to by each new worker of the domain, and
    set aside once it has grown past its limit, so it never grows without end."""
    log = tmp_path / "worker-shop.log"
    log.write_text("x" * (worker.LOG_BYTES + 1))
    (tmp_path / "worker-shop.log.1").write_text("older")
    launch = [sys.executable, "-c", "print('worker loaded nothing')"]
    with pytest.raises(RuntimeError, match="ended with code 0 before taking runs"):
        worker._start_worker("\0mesh-worker-test-log-" + tmp_path.name, launch, {}, tmp_path, log)
    assert (tmp_path / "worker-shop.log.1").stat().st_size == worker.LOG_BYTES + 1
    assert log.read_text() == "worker loaded nothing\n"
