"""The mesh's Dagster instance: reachable, its storage created once, then opened.

Every command that reads or writes Dagster's state asks for it here. In a deployment on PostgreSQL
the database is tried first, once and briefly: one that cannot be reached is a one-line error naming
the setting, not Dagster's retries ending in a traceback. A new instance's storage (SQLite files, or
PostgreSQL's tables) is created by Dagster itself (SQLite's as a copy of files Dagster made once:
`runtime.storage_template`), by one process at a time (a lock beside `dagster.yaml`), before anything
else opens it side by side: the code servers, the webserver and the daemon of `mesh serve`/`mesh ui`/
`mesh daemon`, or the runs of `mesh materialize`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_platform.core.deployment import FromEnvironment, resolved
from mesh_platform.core.errors import MeshError
from mesh_platform.core.owner_only import write_private
from mesh_platform.core.settings import MeshSettings
from mesh_platform.runtime.storage_template import copy_template_storage

if TYPE_CHECKING:
    import dagster as dg

# Written in the instance folder once its storage is created: a PostgreSQL instance has no file to tell,
# and opening it first, alone, costs every later command a second.
STORAGE_CREATED = ".mesh-storage-created"
# Beside dagster.yaml: held by the process creating the instance's storage, and by one opening it that must not.
STORAGE_LOCK = ".mesh-storage.lock"
CONNECT_SECONDS = 10


class InstanceUnreachableError(MeshError):
    """The deployment's PostgreSQL database cannot be reached (or refuses the mesh)."""


def check_reachable(settings: MeshSettings) -> None:
    """A deployment's PostgreSQL database answers, or a one-line error says which setting names it and why not."""
    url = resolved(settings.deployment.instance.postgres_url)
    if url is None:
        return
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    try:
        parts = sa.engine.make_url(url)
        if parts.get_backend_name() != "postgresql":
            raise ValueError(parts.drivername)
        engine = sa.create_engine(parts, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_SECONDS})
    except Exception:  # SQLAlchemy's own error repeats the URL, password and all
        raise InstanceUnreachableError(
            f"{_setting(settings)}: not a PostgreSQL URL — write postgresql://user:password@host:5432/database"
        ) from None
    where = f"PostgreSQL at {parts.host or 'localhost'}:{parts.port or 5432}, database {parts.database or '(none)'}"
    try:
        engine.connect().close()
    except sa.exc.DBAPIError as error:
        cause = error.orig or error  # the driver's message, without SQLAlchemy's statement and link
        reason = next((line.strip() for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
        if parts.password:
            reason = reason.replace(parts.password, "***")
        reason = reason.removeprefix(f'connection to server at "{parts.host}", port {parts.port or 5432} failed: ')
        reason = " ".join(reason.removeprefix("FATAL:").split())
        fix = (
            "create it (README, Deploy: the role and the database)"
            if "does not exist" in reason
            else "correct the user or the password in the URL"
            if "authentication" in reason
            else "start PostgreSQL, or correct the host and port in the URL"
        )
        raise InstanceUnreachableError(f"{_setting(settings)}: cannot reach {where}: {reason} — {fix}") from None
    finally:
        engine.dispose()


def prepare_instance(settings: MeshSettings) -> None:
    """The instance reachable and its storage created, before processes open it side by side."""
    if (created := _prepared(settings)) is not None:
        created.dispose()


@contextlib.contextmanager
def open_instance(settings: MeshSettings) -> Iterator[dg.DagsterInstance]:
    """The mesh's Dagster instance, open (reachable, its storage created first when new)."""
    import dagster as dg

    with _prepared(settings) or dg.DagsterInstance.from_config(str(settings.ensure_dagster_home())) as instance:
        yield instance


def _prepared(settings: MeshSettings) -> dg.DagsterInstance | None:
    """`prepare_instance`'s work: the instance Dagster opened to create the storage, if it did (else None)."""
    check_reachable(settings)
    return None if storage_created(settings) else _create_storage(settings)


def _create_storage(settings: MeshSettings) -> dg.DagsterInstance | None:
    """A new instance's storage made, one process at a time (a lock beside dagster.yaml), so no two create the same
    tables at once; one that waited finds them made. SQLite's is a copy of the template (without importing Dagster)
    where it can be; else Dagster creates it by opening the instance, which is returned open (None otherwise)."""
    home = settings.ensure_dagster_home()
    with (home / STORAGE_LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if storage_created(settings):
            return None
        instance = None
        if settings.instance_deployment.uses_postgres or not copy_template_storage(home):
            import dagster as dg

            instance = dg.DagsterInstance.from_config(str(home))
        write_private(home / STORAGE_CREATED, _storage_identity(settings))
    return instance


def open_created_instance(home: Path) -> dg.DagsterInstance | None:
    """The instance at `home` opened when its storage is there, or None: never creating it. For a process that
    outlives a state folder (a domain's warm worker): the folder deleted by `mesh reset` and made again, a
    worker opening it then would create the storage beside the command that does (under the same lock), and two
    processes creating Dagster's SQLite tables at once leave two alembic heads or half-made tables."""
    import dagster as dg

    try:
        lock = (home / STORAGE_LOCK).open("a")  # not made when `home` itself is gone
    except OSError:
        return None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for a command creating the storage
        if not ((home / "history" / "runs.db").exists() or (home / STORAGE_CREATED).exists()):
            return None
        return dg.DagsterInstance.from_config(str(home))


def storage_created(settings: MeshSettings) -> bool:
    """Whether the instance's storage exists: its SQLite file, or the mark left when this very storage (the same
    instance settings and database) was created."""
    home = settings.dagster_home
    if (home / "history" / "runs.db").exists():
        return True
    mark = home / STORAGE_CREATED
    return mark.exists() and mark.read_text() == _storage_identity(settings)


def _storage_identity(settings: MeshSettings) -> str:
    """A digest of what decides where the instance's storage is: its dagster.yaml and the database URL it names."""
    url = resolved(settings.instance_deployment.instance.postgres_url)
    text = (settings.ensure_dagster_home() / "dagster.yaml").read_text() + "\n" + str(url)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _setting(settings: MeshSettings) -> str:
    """Where the PostgreSQL URL is set, for messages."""
    deployment, url = settings.deployment, settings.deployment.instance.postgres_url
    if isinstance(url, FromEnvironment) and deployment.file is None:
        return url.env
    where = f"{deployment.file}: instance.postgres_url" if deployment.file else "instance.postgres_url"
    return f"{where} ({{env: {url.env}}})" if isinstance(url, FromEnvironment) else where
