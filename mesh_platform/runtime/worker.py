"""Warm builds: a process per domain that keeps Dagster and the domain's definitions loaded, and forks a clean
process for each run.

    python -m mesh_platform.runtime.worker <definitions module> <socket name> <fingerprint> <idle seconds>

Starting a run in a new interpreter costs importing Dagster and loading the domain's code location (about
two seconds on two cores, most of a small build). `mesh materialize` asks the domain's worker instead: the
worker forks, and the child runs the batch exactly as `runtime.domain_run` would in a process of its own
(its output goes to the run's log file, its pid is in the run's engine events). The child also recovers dead
runs and sends the command its pid, its run's id and its products' progress as JSON lines over the command's
connection (`runtime.progress.to_message`), so that the command needs no Dagster instance of its own; the
worker adds the child's exit status when it reaps it. The guarantees of a process per run hold:

- a run killed (SIGKILL, out of memory) is only a child: the worker lives on, reaps it and tells the
  command its exit status; the run is recovered as dead as before (`runtime.recovery`);
- a command killed takes its runs with it: each child watches its command's connection, and when the command
  is gone (the connection closes without a word), the child kills itself with SIGKILL, as the command's
  process group would have been killed with it; a Ctrl-C is passed on as SIGINT, which Dagster handles;
- the worker is single-threaded when it forks (nothing else holds a lock; it checks before each fork, closing
  DuckDB's default connection, whose threads the SQL checks of loading start) and has no database file open:
  its Dagster instance connects anew for each call, so each child's copy opens its own connections, and it
  opens no DuckDB file and no store. A worker that cannot fork safely says so, and the run starts in a process
  of its own.

A run imports much that loading the definitions does not (pandas, pyarrow, Delta Lake, Dagster's storage…):
each child tells its worker which installed modules it imported, and the worker imports them while it waits,
so the next run finds them loaded. The domain's own modules are never imported that way.

A worker serves one mesh's domain as its code stood when it started: its fingerprint names the files the
definitions are made of (the mesh's own and the platform's) and the environment. A command with another
fingerprint is told the worker is stale; the worker stops taking runs, and ends when its children have. A
worker ends after `idle` seconds without a run (`MESH_WARM_SECONDS`; 0 turns warm builds off). The worker is
found by an abstract Unix socket (Linux only) named after the mesh's state folder and the domain, so no file
is left behind; elsewhere each run starts its own process.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.interrupts import keep_stoppable

if TYPE_CHECKING:
    import dagster as dg

START_SECONDS = 120  # how long a command waits for a new worker to load its definitions
LOG_BYTES = 1_000_000  # a worker's log is set aside when a new worker starts and it has grown past this
PLATFORM = Path(__file__).resolve().parents[1]  # the mesh_platform package
# What definitions are loaded from (contracts, recipes, SQL, policies, settings): data files, logs and databases
# in the repository change with every build and are not part of a fingerprint.
SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".sql", ".toml", ".json")
# Files a child must open itself: a database connection shared across a fork corrupts it (SQLite says so).
DATABASE_SUFFIXES = (".db", ".db-wal", ".db-journal", ".sqlite", ".duckdb", ".duckdb.wal")


def available() -> bool:
    """Whether this system can keep warm workers: abstract Unix sockets and fork (Linux)."""
    return sys.platform == "linux" and hasattr(os, "fork")


def socket_name(home: Path, domain: str) -> str:
    """The abstract socket of a domain's worker: one per mesh state folder and domain."""
    digest = hashlib.sha256(f"{home.resolve()}\0{domain}".encode()).hexdigest()[:32]
    return f"\0mesh-worker-{digest}"


def sources_digest(root: Path, skip: Iterable[Path] = ()) -> str:
    """What a worker's definitions are loaded from: every source file (`SOURCE_SUFFIXES`) of the mesh's
    repository (but for its dot folders and the folders in `skip`: its state, its landing zone) and of the
    platform, by path, size and modification time. One command computes it once for all its runs."""
    digest = hashlib.sha256()
    skipped = {Path(p).resolve() for p in skip}
    for path in _source_files(root.resolve(), skipped):
        with contextlib.suppress(OSError):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def fingerprint(sources: str, env: Mapping[str, str]) -> str:
    """A worker's fingerprint: the digest of its sources (`sources_digest`) and the environment its runs get."""
    digest = hashlib.sha256(sources.encode())
    for key in sorted(env):
        digest.update(f"{key}={env[key]}\n".encode())
    return digest.hexdigest()


def _source_files(root: Path, skipped: set[Path]) -> Iterator[Path]:
    for folder in (root, PLATFORM):
        for directory, folders, files in os.walk(folder):
            here = Path(directory)
            folders[:] = sorted(
                f
                for f in folders
                if not f.startswith(".") and f not in ("__pycache__", "node_modules") and here / f not in skipped
            )
            yield from (here / name for name in sorted(files) if name.endswith(SOURCE_SUFFIXES))


def storage_identity(home: Path) -> str:
    """Which storage the instance at `home` (DAGSTER_HOME) has: its SQLite run database's file (a new one when the
    state folder was deleted, by `mesh reset` say, and made again), or the mark of its PostgreSQL storage."""
    from mesh_platform.runtime.instance import STORAGE_CREATED

    with contextlib.suppress(OSError):
        stat = (home / "history" / "runs.db").stat()
        return f"sqlite:{stat.st_dev}:{stat.st_ino}"
    with contextlib.suppress(OSError):
        return (home / STORAGE_CREATED).read_text()
    return "none"


class StaleWorker(Exception):
    """The domain's worker was loaded from other files or another environment."""


class WarmRun:
    """One run forked by its domain's worker, as `subprocess.Popen` shows a process: `poll()`, `returncode`.

    Asking the worker happens in a thread of its own (a new worker takes a while to load), so that the runs of
    several domains start side by side; until the worker has forked the run, `poll()` says it is running. When
    no worker could take it, `failure` says why (the caller starts the run in a process of its own)."""

    def __init__(
        self,
        name: str,
        fingerprint: str,
        request: Mapping[str, object],
        launch: list[str],
        env: dict[str, str],
        cwd: Path,
        log: Path,
    ):
        self.connection: socket.socket | None = None
        self.pid: int | None = None
        self.returncode: int | None = None
        self.failure: str | None = None
        self._interrupted = False
        self._buffer = bytearray()  # what the run's process and its worker sent that is not read yet
        self._messages: list[dict] = []
        request = {**request, "fingerprint": fingerprint}
        self._asking = threading.Thread(target=self._ask, args=(name, request, launch, env, cwd, log), daemon=True)
        self._asking.start()

    def _ask(self, name: str, request: dict[str, object], launch: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        """The worker at `name` forks the run; the worker is started first (`launch`, in `env`) when none
        answers, and replaced when it is stale."""
        try:
            for _ in range(2):
                connection = _connect(name) or _start_worker(name, launch, env, cwd, log)
                try:
                    self.pid = _request(connection, request, self._buffer)
                except StaleWorker:
                    connection.close()
                    _wait_gone(name)
                    continue
                connection.setblocking(False)
                self.connection = connection
                if self._interrupted:
                    self.interrupt()
                return
            raise RuntimeError(f"the worker at {name[1:]} is stale twice over")
        except Exception as error:  # any: the run then starts in a process of its own
            self.failure = str(error) or type(error).__name__

    @property
    def starting(self) -> bool:
        """Whether the worker has yet to fork the run (or say it cannot)."""
        return self._asking.is_alive()

    def poll(self) -> int | None:
        """The run's exit status once it has ended (negative: killed by that signal), else None."""
        if self.returncode is not None or self.starting or self.connection is None:
            return self.returncode
        try:
            while chunk := self.connection.recv(65536):
                self._buffer += chunk
            ended = True  # the worker closed the connection: it has reported, or it is gone
        except BlockingIOError:
            ended = False
        *lines, rest = self._buffer.split(b"\n")
        self._buffer[:] = rest
        for line in lines:
            if line.strip():
                message = json.loads(line)
                if "exit" in message:
                    self.returncode = int(message["exit"])
                else:
                    self._messages.append(message)
        if self.returncode is None and ended:
            self.returncode = -signal.SIGKILL  # the worker died with the run: the run is gone
        if self.returncode is not None:
            self.connection.close()
        return self.returncode

    def messages(self) -> list[dict]:
        """What the run's process has sent since the last call (its events: `runtime.progress.to_message`), read by
        `poll()`."""
        taken, self._messages = self._messages, []
        return taken

    def interrupt(self) -> None:
        """Ctrl-C for the run: SIGINT, which Dagster handles (the run ends interrupted)."""
        self._interrupted = True
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.sendall(b'{"interrupt": true}\n')


def _request(connection: socket.socket, request: dict[str, object], buffer: bytearray) -> int:
    """Ask a worker for a run: the pid of the child running it (which says so first). What the child sent after
    it is left in `buffer`."""
    connection.sendall(json.dumps(request).encode() + b"\n")
    reply = _read_line(connection, START_SECONDS, buffer)
    if reply.get("stale"):
        raise StaleWorker
    if "pid" not in reply:
        raise RuntimeError(f"the domain's worker did not start the run: {reply.get('error', reply)}")
    return int(reply["pid"])


def _connect(name: str) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(name)
    except (ConnectionRefusedError, FileNotFoundError):
        connection.close()
        return None
    return connection


def _start_worker(name: str, launch: list[str], env: dict[str, str], cwd: Path, log: Path) -> socket.socket:
    """A new worker (its own session: a command's Ctrl-C is not the worker's), connected once it listens. Its log
    is appended to, and set aside (`<log>.1`, the one before dropped) once it has grown past `LOG_BYTES`."""
    with contextlib.suppress(OSError):
        if log.stat().st_size > LOG_BYTES:
            log.replace(log.with_name(log.name + ".1"))
    with log.open("a") as output:
        process = subprocess.Popen(
            launch, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if (connection := _connect(name)) is not None:
            return connection
        if process.poll() is not None and (connection := _connect(name)) is None:  # another command's worker may have won
            tail = " | ".join(line for line in log.read_text(errors="replace").splitlines()[-3:] if line.strip())
            raise RuntimeError(f"the domain's worker ended with code {process.returncode} before taking runs: {tail}")
        time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"the domain's worker did not load its definitions in {START_SECONDS} s (its log: {log})")


def _wait_gone(name: str, seconds: float = 10) -> None:
    """Until the stale worker has let its socket go (it does at once) or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (connection := _connect(name)) is not None:
        connection.close()
        time.sleep(0.02)


def _read_line(connection: socket.socket, timeout: float, buffer: bytearray | None = None) -> dict:
    """The next JSON line; what was read beyond it stays in `buffer`."""
    connection.settimeout(timeout)
    data = buffer if buffer is not None else bytearray()
    while b"\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    line, _, rest = bytes(data).partition(b"\n")
    data[:] = rest
    return json.loads(line) if line.strip() else {"error": "the connection closed"}


# The worker's side.


def serve(module: str, name: str, fingerprint: str, idle_seconds: float) -> int:
    """Load the definitions and open the instance, then fork a child per run asked for until idle or stale."""

    from mesh_platform.runtime.domain_run import load_definitions
    from mesh_platform.runtime.instance import open_created_instance

    defs = load_definitions(module)
    job = defs.resolve_implicit_global_asset_job_def()  # resolved once, before any fork
    # Opened once: its storage objects hold no connection between calls (each call connects anew), so each child
    # uses its copy as if it had opened it, as long as the storage is the one it was opened on (`storage_identity`).
    home = Path(os.environ["DAGSTER_HOME"])
    instance: dg.DagsterInstance | None = open_created_instance(home)
    storage = storage_identity(home)
    gc.freeze()  # what is loaded now lives as long as the worker: the children share its pages
    listener: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    assert listener is not None
    try:
        listener.bind(name)
    except OSError:  # another worker of the same domain was quicker: commands use that one
        return 0
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    to_import: list[str] = []  # what the runs imported that the worker has not, imported while it waits
    last_active = time.monotonic()
    print(f"worker for {module} (pid {os.getpid()}) takes runs", flush=True)
    while listener is not None or children:
        # Woken by a command (the listener) or by a child's end (its pidfd), else every 50 ms.
        for key, _ in selector.select(timeout=0.05):
            if key.fileobj is not listener:
                continue
            connection, _ = listener.accept()
            request = _read_line(connection, timeout=10)
            if request.get("fingerprint") != fingerprint:
                _send(connection, {"stale": True})
                connection.close()
                selector.unregister(listener)
                listener.close()  # the name is free at once for the new worker
                listener = None
                break
            if request.get("storage") != storage:  # made anew since (the state folder deleted and made again)
                instance, storage = _reopened(home, request.get("storage"))
            if (unsafe := _fork_unsafe()) is not None:
                _send(connection, {"error": f"the worker cannot fork safely: {unsafe}"})
                connection.close()
                continue
            pid = os.fork()
            if pid == 0:
                _run_child(connection, listener, job, instance, request)  # never returns
            children[pid] = connection  # the child says its pid itself, before its run's events
            with contextlib.suppress(OSError):
                selector.register(os.pidfd_open(pid), selectors.EVENT_READ)
        for pid, code in _reap(children):
            _send(children[pid], {"exit": code})
            children.pop(pid).close()
            to_import += _imported_by(pid)
        for key in [k for k in selector.get_map().values() if k.fileobj is not listener]:
            if not _pidfd_open_child(key.fd, children):
                selector.unregister(key.fileobj)
                os.close(key.fd)
        if to_import and not children:
            _import_quietly(to_import.pop(0))
            if (unsafe := _fork_unsafe()) is not None:  # an import started a thread: the next command starts a new worker
                print(f"this worker takes no more runs: {unsafe}", flush=True)
                break
        if children:
            last_active = time.monotonic()
        elif listener is not None and time.monotonic() - last_active > idle_seconds:
            break
    return 0


def _reopened(home: Path, wanted: object) -> tuple[dg.DagsterInstance | None, str]:
    """The instance at `home` opened again for a command that made its storage anew (`wanted`: the identity it
    sees), and its identity; None when it is not that storage (the run then opens its own). Only ever while a
    command holds the storage made: opened in the background (after a run, say), it could make Dagster's tables
    again in a state folder that `mesh reset` is deleting, beside the next command making them."""
    from mesh_platform.runtime.instance import open_created_instance

    try:
        instance, storage = open_created_instance(home), storage_identity(home)
    except Exception:  # noqa: BLE001 - the state folder went again meanwhile: the run opens its own
        return None, "none"
    if storage != wanted and instance is not None:
        instance.dispose()
        instance = None
    return instance, storage


def _pidfd_open_child(fd: int, children: dict[int, socket.socket]) -> bool:
    """Whether the pidfd `fd` still stands for a running child (its `Pid:` line in /proc names one of them)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines():
            if line.startswith("Pid:"):
                return int(line.split()[1]) in children
    return False


def _fork_unsafe() -> str | None:
    """Why forking now would be unsafe, or None: a child gets only the forking thread, so another thread's
    locks and work would be lost in it; and a database file open now would be shared by the children. DuckDB's
    default connection (which `duckdb.extract_statements` and the like open, with its threads) is closed first: the
    next such call opens a new one. jemalloc's background
    threads (pyarrow's allocator) are fork-safe: jemalloc takes its locks around a fork."""
    import duckdb

    with contextlib.suppress(Exception):
        duckdb.default_connection().close()
    if threading.active_count() > 1:
        return (
            f"Python threads are running ({', '.join(t.name for t in threading.enumerate() if t is not threading.main_thread())})"
        )
    databases = sorted({target for target in _open_files() if target.endswith(DATABASE_SUFFIXES)})
    if databases:
        return f"database files are open ({', '.join(databases)})"
    others = []
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) != os.getpid():
            name = (task / "comm").read_text().strip()
            if name != "jemalloc_bg_thd":
                others.append(name)
    return f"{len(others)} native threads are running ({', '.join(sorted(set(others)))})" if others else None


def _open_files() -> Iterator[str]:
    """The paths this process has open."""
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            yield os.readlink(fd)


def _reap(children: dict[int, socket.socket]) -> Iterator[tuple[int, int]]:
    """The children that ended, with their exit status (negative: the signal that killed them)."""
    for pid in list(children):
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            yield pid, os.waitstatus_to_exitcode(status)


def _modules_file(worker: int, child: int) -> Path:
    """Where a child lists the modules it imported, for its worker."""
    return Path(tempfile.gettempdir()) / f"mesh-worker-{worker}-{child}.modules"


def _imported_by(pid: int) -> list[str]:
    """The installed modules the ended child `pid` imported that this worker has not."""
    file = _modules_file(os.getpid(), pid)
    try:
        names = json.loads(file.read_text())
    except (OSError, ValueError):
        return []
    finally:
        file.unlink(missing_ok=True)
    return [name for name in names if name not in sys.modules]


def _import_quietly(name: str) -> None:
    with contextlib.suppress(Exception):
        importlib.import_module(name)


def _installed_modules(before: set[str]) -> list[str]:
    """Modules imported since `before` that come with Python or an installed package (not the mesh's own code)."""
    roots = {
        Path(p).resolve()
        for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], sysconfig.get_paths()["stdlib"])
    }
    names = []
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and any(root in Path(file).resolve().parents for root in roots) and PLATFORM not in Path(file).resolve().parents:
            names.append(name)
    return sorted(names, key=lambda n: (n.count("."), n))  # packages before their modules


def _send(connection: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # the command is gone: its child kills itself
        connection.sendall(json.dumps(message).encode() + b"\n")


def _run_child(
    connection: socket.socket,
    listener: socket.socket | None,
    job: dg.JobDefinition,
    instance: dg.DagsterInstance | None,
    request: dict,
) -> None:
    """The forked run: output to the run's log file, watching the command, then the batch; exits the process."""
    from mesh_platform.runtime.domain_run import run_batch
    from mesh_platform.runtime.progress import StreamedEvent, to_message

    code = 1
    try:
        if listener is not None:
            listener.close()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        connection.setblocking(True)
        _send(connection, {"pid": os.getpid()})
        threading.Thread(target=_watch_command, args=(connection,), daemon=True).start()
        partitions = request.get("partitions")
        keys_range = (partitions[0], partitions[1]) if isinstance(partitions, list) else None
        before = set(sys.modules)

        def tell(event: StreamedEvent | str) -> None:  # the run's id, then its events
            _send(connection, {"run": event} if isinstance(event, str) else to_message(event))

        succeeded = run_batch(job, str(request["batch"]), list(request["asset_keys"]), keys_range, tell, instance)
        code = 0 if succeeded else 1
        with contextlib.suppress(OSError):
            _modules_file(os.getppid(), os.getpid()).write_text(json.dumps(_installed_modules(before)))
    except BaseException:  # a child never returns into the worker's loop
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _watch_command(connection: socket.socket) -> None:
    """Pass on the command's Ctrl-C; when the command is gone, go too (SIGKILL, as with its process group)."""
    data = b""
    while True:
        try:
            chunk = connection.recv(4096)
        except OSError:
            chunk = b""
        if not chunk:
            os.kill(os.getpid(), signal.SIGKILL)
        data += chunk
        if b"interrupt" in data:
            data = b""
            os.kill(os.getpid(), signal.SIGINT)


def main(argv: list[str]) -> int:
    module, name, fingerprint_, idle = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the command, not its domain's worker
    keep_stoppable()  # ... and SIGTERM still ends it once Dagster has run in it (core.interrupts)
    # numpy's OpenBLAS would start a thread per core at import, which a fork loses: its runs compute in DuckDB.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return serve(module, "\0" + name, fingerprint_, float(idle))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
