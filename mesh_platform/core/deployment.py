"""How a mesh is deployed: where Dagster keeps its state, how code locations are served, how many runs may go.

One environment is one file, `deploy/<name>.yaml` in the mesh repository, chosen with `MESH_ENV`
(or `mesh --env NAME`). Without one the mesh runs embedded, as it always has: a SQLite Dagster
instance under `MESH_HOME`, each domain's code location loaded as a Python module. That shape
is called `local` and needs no file at all.

    # deploy/onebox.yaml: one machine, Dagster's state in PostgreSQL, one gRPC code server per domain
    instance:
      postgres_url: {env: MESH_POSTGRES_URL}   # a value, or {env: NAME}: read from the environment
    runs:
      max_concurrent: 10                       # runs in progress across the mesh
      per_domain: 2                            # runs in progress per domain, so one cannot starve the others
                                               # (a domain still builds one product at a time: one DuckDB writer)
    code_servers:
      host: 127.0.0.1                          # another interface only with allow_remote: true (gRPC has no authentication)
      first_port: 4100                         # the domains of workspace.yaml, in order, from this port
      ports: {sales: 4200}                     # or a fixed port for some
    port_store:
      uri: s3://mesh-data/prod                 # ports under <uri>/ports, the vault under <uri>/vault (or a folder)
      allow_remote: true                       # an endpoint outside this machine is refused without it
      storage_options:                         # deltalake's (object_store's) settings for the store; no key of
        AWS_ENDPOINT_URL: https://s3.eu-west-1.amazonaws.com   # its own: each process holds its principal's
        AWS_REGION: eu-west-1
    credentials:                               # each principal's own store key, used by its processes (a principal
      sales:                                   # without one: the key mesh deploy access --apply wrote for it)
        AWS_ACCESS_KEY_ID: {env: MESH_SALES_KEY_ID}
        AWS_SECRET_ACCESS_KEY: {env: MESH_SALES_SECRET}
    landing:                                   # where source files arrive: <uri>/<domain>/…, mirrored before a build
      uri: s3://mesh-raw/prod
      storage_options: {AWS_REGION: eu-west-1}
    notifications:                             # off when absent: who is told what (README, Notifications)
      webhook: {url: {env: MESH_WEBHOOK_URL}}  # one JSON POST per notice, Slack-compatible (`text`)
      smtp: {host: 127.0.0.1, port: 25, sender: mesh@example.com, password: {env: MESH_SMTP_PASSWORD}, username: mesh}
      warn_days_before_end: 14                 # an agreement's parties are told this many days before it ends
      allow_remote: true                       # a webhook or SMTP server outside this machine is refused without it
    kubernetes:                                # mesh deploy k8s: values for Dagster's Helm chart
      image: registry.example.com/mesh-domains:1.0.0
      postgres: {host: pg.example.internal, database: dagster, username: dagster}
      secrets: [mesh-secrets]
      service_account_annotations:             # each domain's service account, for the cloud's workload identity
        eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/mesh-{principal}

Environment variables override the file, and describe a deployment without one:

  MESH_POSTGRES_URL         instance.postgres_url
  MESH_MAX_CONCURRENT_RUNS  runs.max_concurrent
  MESH_RUNS_PER_DOMAIN      runs.per_domain
  MESH_PORT_STORE           port_store.uri (its storage options then come from the AWS_* variables deltalake reads)
  MESH_LANDING              landing.uri

A value written `{env: NAME}` stays a reference in what the mesh writes (the Dagster instance's
`dagster.yaml`), so a password given through the environment is never stored on disk; a literal one is
written there for its owner only. A setting that reaches beyond this machine (a code server on another
interface, a store endpoint elsewhere) is refused unless its block says `allow_remote: true`, and then said
wherever the mesh serves or builds; a store folder written relative to the mesh stays inside it.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh_platform.core.errors import FileProblemsError, MeshError

if TYPE_CHECKING:
    from mesh_platform.core.yaml_document import YamlDocument

LOCAL = "local"
DEPLOY_FOLDER = "deploy"

# Events Dagster hands the event log at once on a SQLite instance (DAGSTER_EVENT_BATCH_SIZE): a year of daily
# partitions, planned or materialized, in one batch and one commit (see instance_environment).
EVENT_BATCH_SIZE = 1000
# The mesh's instance settings in every shape. One writer per domain DuckDB file: every product
# asset sits in its domain's pool, and each pool admits one step at a time.
_POOLS = {"pools": {"default_limit": 1}}
# The daemon fails runs that never start and frees the slots a finished run still holds
# (a run whose process died is found and failed by `mesh materialize` and `mesh status`).
_RUN_MONITORING = {"enabled": True, "free_slots_after_run_end_seconds": 10}
# A queued run whose domain's code server cannot be reached (restarting: `mesh serve` brings it back within seconds)
# waits and is tried again, instead of failing at once (Dagster's default: no retry).
_USER_CODE_RETRIES = {"max_user_code_failure_retries": 6, "user_code_failure_retry_delay": 10}
# Dagster tags every run with its code location: the per-domain limit counts runs by that tag.
CODE_LOCATION_TAG = "dagster/code_location"
# The storage options naming an object store's endpoint (object_store's spellings, which deltalake and the mesh take).
ENDPOINT_OPTIONS = ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
# What a store block's endpoint outside this machine would get, and the variable overriding its uri.
STORE_REACH = {
    "port_store": "the ports and the vault (clear personal values) would be sent there",
    "landing": "the source files would be read from there, with the store's credentials",
}
NOTICE_REACH = "notices (product names, owners, consumers, check results) would be sent there"
STORE_TRAFFIC = {"port_store": "the ports and the vault go to", "landing": "source files come from"}
STORE_VARIABLES = {"port_store": "MESH_PORT_STORE", "landing": "MESH_LANDING"}
OVERRIDES = ("MESH_POSTGRES_URL", "MESH_MAX_CONCURRENT_RUNS", "MESH_RUNS_PER_DOMAIN", "MESH_PORT_STORE", "MESH_LANDING")


class DeploymentError(FileProblemsError):
    """A deployment file (or environment variable) that cannot be used."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FromEnvironment(_Settings):
    """A value read from an environment variable where it is used (`{env: NAME}`)."""

    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="The environment variable holding the value.")

    def value(self) -> str | None:
        return os.environ.get(self.env) or None


Value = str | FromEnvironment


def resolved(value: Value | None) -> str | None:
    """A deployment value as it stands now: `{env: NAME}` read from the environment (None when unset)."""
    return value.value() if isinstance(value, FromEnvironment) else value


class InstanceSettings(_Settings):
    postgres_url: Value | None = Field(
        None,
        description="PostgreSQL for Dagster's runs, event log and schedules (dagster-postgres); none: SQLite under MESH_HOME.",
    )


class RunQueue(_Settings):
    max_concurrent: int = Field(
        10, ge=1, description="Runs in progress at once across the mesh; more wait in Dagster's run queue."
    )
    per_domain: int = Field(
        2,
        ge=1,
        description=(
            "Runs of one domain (code location) in progress at once; more wait in the queue. Their builds still go one product "
            "at a time: a domain's DuckDB file has one writer (its pool admits one step), so a second run waits for that slot."
        ),
    )


Port = Annotated[int, Field(ge=1, le=65535)]


class CodeServers(_Settings):
    host: str = Field("127.0.0.1", description="Where the domains' gRPC code servers listen (and the webserver finds them).")
    allow_remote: bool = Field(False, description="Let them listen beyond this machine (their gRPC has no authentication).")
    first_port: Port = Field(
        4100, description="The first domain of workspace.yaml is served on this port, the next on the one after, and so on."
    )
    ports: dict[str, Port] = Field(default_factory=dict, description="A fixed port for some domains, by name.")

    def assign(self, domains: list[str]) -> dict[str, int]:
        """Each domain's port: its fixed one, else the next free one from `first_port`, in the order given."""
        taken = set(self.ports.values())
        free = (port for port in range(self.first_port, 65536) if port not in taken)
        return {name: self.ports[name] if name in self.ports else next(free) for name in domains}


class StoreSettings(_Settings):
    """A place files are kept: the port store (ports under <uri>/ports, the vault under <uri>/vault) or the landing zone
    (<uri>/<domain>/…)."""

    uri: str = Field(min_length=1, description="A local folder (relative: to the repository, inside it) or s3://bucket/prefix.")
    storage_options: dict[str, Value] = Field(
        default_factory=dict,
        description="deltalake's storage options for the store: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, …",
    )
    allow_remote: bool = Field(False, description="Let the store's endpoint (AWS_ENDPOINT_URL) be outside this machine.")

    @property
    def on_object_store(self) -> bool:
        return "://" in self.uri

    def resolved_options(self) -> dict[str, str]:
        """The storage options with every `{env: NAME}` read from the environment."""
        return {key: resolved(value) or "" for key, value in self.storage_options.items()}

    def endpoints(self) -> dict[str, str]:
        """The endpoints the options name (option → URL), as they stand now; one read from an unset variable is left out."""
        named = {key: resolved(value) for key, value in self.storage_options.items() if key.lower() in ENDPOINT_OPTIONS}
        return {key: url for key, url in named.items() if url}


class KubernetesPostgres(_Settings):
    host: str = Field(min_length=1, description="The PostgreSQL server the cluster reaches (the chart deploys none).")
    port: Port = 5432
    database: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password_secret: str = Field(
        "dagster-postgresql-secret", description="The Kubernetes Secret holding its password (key postgresql-password)."
    )


class Kubernetes(_Settings):
    image: str = Field(min_length=1, description="repository:tag of the image built from deploy/Dockerfile, for every domain.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    domain_images: dict[str, str] = Field(
        default_factory=dict, description="Another image for some domains (one upgraded alone), by name."
    )
    namespace: str | None = Field(None, description="Where run Jobs go (default: the Helm release's namespace).")
    code_server_port: Port = 3030
    postgres: KubernetesPostgres
    secrets: list[str] = Field(
        default_factory=list,
        description="Kubernetes Secrets whose keys become environment variables of the code servers and runs.",
    )
    service_account_annotations: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Annotations of each domain's service account, for the cloud's workload identity; `{principal}` is replaced by the "
            "domain's name (e.g. eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/mesh-{principal})."
        ),
    )


class Webhook(_Settings):
    url: Value = Field(
        description="Where each notice is POSTed as JSON (Slack-compatible `text`); {env: NAME} keeps a secret URL off disk."
    )


class Smtp(_Settings):
    host: str = Field(min_length=1, description="The SMTP server notices are mailed through.")
    port: Port = 25
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="The From: address of every notice.")
    username: str | None = Field(None, description="Log in with this user (and password); none: no login.")
    password: Value | None = Field(None, description="The SMTP password, best as {env: NAME}.")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before logging in.")


class Notifications(_Settings):
    """Who is told what (the notifier, `notify`): off when the block is absent or names neither endpoint."""

    webhook: Webhook | None = None
    smtp: Smtp | None = None
    warn_days_before_end: int = Field(14, ge=0, description="Tell an agreement's parties this many days before it ends.")
    allow_remote: bool = Field(False, description="Let the webhook or the SMTP server be outside this machine.")

    @property
    def enabled(self) -> bool:
        return self.webhook is not None or self.smtp is not None

    def endpoints(self) -> dict[tuple[str, ...], str]:
        """Where notices go (field path → host), as they stand now; a URL read from an unset variable is left out."""
        found: dict[tuple[str, ...], str] = {}
        if self.webhook is not None and (url := resolved(self.webhook.url)):
            found[("notifications", "webhook", "url")] = urlsplit(url).hostname or ""
        if self.smtp is not None:
            found[("notifications", "smtp", "host")] = self.smtp.host
        return found

    def described(self) -> dict[str, Any]:
        """The block as `mesh deploy show` prints it: where notices go, never a secret (a webhook URL's path is one)."""
        said: dict[str, Any] = {"warn_days_before_end": self.warn_days_before_end}
        if (hook := self.webhook) is not None:
            url = resolved(hook.url)
            shown = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/(path hidden)" if url else "(not set)"
            said["webhook"] = f"{shown} (from ${hook.url.env})" if isinstance(hook.url, FromEnvironment) else shown
        if (smtp := self.smtp) is not None:
            said["smtp"] = {
                "server": f"{smtp.host}:{smtp.port}",
                "sender": smtp.sender,
                "starttls": smtp.starttls,
                "login": smtp.username or "none",
                **({"password": _secret_shown(smtp.password)} if smtp.password else {}),
            }
        return said


def _secret_shown(value: Value) -> str:
    return f"from ${value.env}" if isinstance(value, FromEnvironment) else "(written in the file)"


CREDENTIAL_OPTIONS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
PrincipalKey = dict[Literal["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"], Value]


class Deployment(_Settings):
    """One environment of the mesh. The defaults are the embedded `local` shape."""

    name: str = LOCAL
    file: Path | None = None  # where it was read from; None: defaults and the environment only
    instance: InstanceSettings = InstanceSettings()
    runs: RunQueue | None = None  # None: Dagster's own run queue defaults
    code_servers: CodeServers | None = None  # None: code locations loaded as Python modules
    port_store: StoreSettings | None = None  # None: MESH_HOME/ports and MESH_HOME/vault
    landing: StoreSettings | None = None  # where source files arrive; None: the mesh's own (mesh.yaml's landing)
    kubernetes: Kubernetes | None = None  # what `mesh deploy k8s` needs to render Helm values
    notifications: Notifications | None = None  # None: nobody is notified of anything
    credentials: dict[str, PrincipalKey] = Field(
        default_factory=dict,
        description=(
            "Each principal's own store key, by principal (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
            "each a value or {env: NAME}): a domain's code server, its runs and its builds use it, and nothing else. A principal "
            "without one uses the key mesh deploy access --apply wrote for it "
            "(MESH_HOME/deploy/<env>/credentials/<principal>.env)."
        ),
    )

    @classmethod
    def load(cls, root: Path, name: str | None = None, *, require_environment: bool = True) -> Deployment:
        """The deployment `name` (default `MESH_ENV`, else `local`) of the mesh repository at `root`,
        with the environment's overrides. With `require_environment`, every environment variable and
        package it needs must be there (a machine that runs it); without, it is only described (a
        laptop rendering a cluster's files)."""
        name = name or os.environ.get("MESH_ENV") or LOCAL
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
            raise MeshError(
                f"'{name}' is not a deployment name (MESH_ENV or --env): letters, digits, '-' and '_', naming deploy/<name>.yaml"
            )
        file = Path(root) / DEPLOY_FOLDER / f"{name}.yaml"
        data: dict[str, Any] = {}
        document = None
        if file.is_file():
            from mesh_platform.core.yaml_document import load_yaml_document

            document = load_yaml_document(file, DeploymentError)
            data = document.data
            if given := [key for key in ("name", "file") if key in data]:
                raise DeploymentError(
                    [
                        document.problem(
                            (given[0],),
                            f"'{given[0]}' is not a setting: the file's name names the deployment",
                            f"remove {given[0]}:",
                        )
                    ]
                )
            try:
                cls.model_validate(data)
            except ValidationError as error:
                raise DeploymentError(
                    document.validation_problems(error, "see the fields in the README's Deploy section")
                ) from None
        elif name != LOCAL:
            known = sorted(p.stem for p in (Path(root) / DEPLOY_FOLDER).glob("*.yaml"))
            raise MeshError(
                f"no deployment '{name}': {file} does not exist (known: {', '.join(known) or 'none'}; `local` needs no file)"
            )
        try:
            deployment = cls.model_validate({**_with_overrides(data), "name": name, "file": file if file.is_file() else None})
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
            raise MeshError(
                f"the environment's deployment settings ({', '.join(OVERRIDES)}) cannot be used: {problems}"
            ) from None
        deployment._check_reach(Path(root).resolve(), document)
        deployment._check_credentials(document)
        if require_environment:
            deployment._check_environment()
        return deployment

    @property
    def uses_postgres(self) -> bool:
        return self.instance.postgres_url is not None

    def _check_reach(self, root: Path, document: YamlDocument | None) -> None:
        """Nothing reaches beyond this machine or outside the mesh's folder unless the file says so: a code server
        listening on another interface, a store endpoint elsewhere, a relative store folder that climbs out."""
        problems: list[tuple[tuple[str, ...], str, str]] = []
        servers = self.code_servers
        if servers is not None and not servers.allow_remote and not is_loopback(servers.host):
            problems.append(
                (
                    ("code_servers", "host"),
                    f"'{servers.host}' listens beyond this machine, and a code server's gRPC has no authentication: "
                    "whoever reaches it runs the domains' code",
                    "use 127.0.0.1, or set code_servers.allow_remote: true behind a firewall",
                )
            )
        for block, store in (("port_store", self.port_store), ("landing", self.landing)):
            problems += _store_problems(block, store, root) if store else []
        problems += _notification_problems(self.notifications) if self.notifications else []
        for path, message, fix in problems:
            variable = STORE_VARIABLES.get(path[0]) if path[-1] == "uri" else None
            if document is None or (variable and os.environ.get(variable)):  # the environment's setting, not the file's
                raise MeshError(f"{variable or '.'.join(path)}: {message} — {fix}")
        if problems and document is not None:
            raise DeploymentError([document.problem(path, message, fix) for path, message, fix in problems])

    def warnings(self, listening: dict[str, int] | None = None) -> list[str]:
        """What the file lets reach beyond this machine (allow_remote), one line each: said wherever the mesh serves or
        builds. `listening`: each domain's code server port, to name what listens where."""
        where = f"{self.file}: " if self.file else ""
        said = []
        if (servers := self.code_servers) is not None and not is_loopback(servers.host):
            ports = ", ".join(f"{domain} on {servers.host}:{port}" for domain, port in (listening or {}).items())
            said.append(
                f"{where}code_servers: unauthenticated gRPC code servers listen beyond this machine "
                f"(allow_remote: true): {ports or f'on {servers.host}'}"
            )
        for block, store in (("port_store", self.port_store), ("landing", self.landing)):
            for key, url in (store.endpoints() if store else {}).items():
                if (host := urlsplit(url).hostname) and not is_loopback(host):
                    plain = ", unencrypted (http)" if urlsplit(url).scheme == "http" else ""
                    said.append(
                        f"{where}{block}.storage_options.{key}: {STORE_TRAFFIC[block]} {url}, "
                        f"outside this machine (allow_remote: true){plain}"
                    )
        for path, host in (self.notifications.endpoints() if self.notifications else {}).items():
            if not is_loopback(host):
                said.append(f"{where}{'.'.join(path)}: notices go to {host}, outside this machine (allow_remote: true)")
        return said

    def fixed_store_key(self) -> str | None:
        """The port store's option fixing a key for every process (a value, or another variable than the standard
        one each process sets to its principal's), if any."""
        store = self.port_store
        for key, value in (store.storage_options if store else {}).items():
            if key.upper() in CREDENTIAL_OPTIONS and not (isinstance(value, FromEnvironment) and value.env == key.upper()):
                return key
        return None

    def _check_credentials(self, document: YamlDocument | None) -> None:
        """Per-principal keys and a key of the port store's own cannot go together: the store's would be every process's."""
        fixed = self.fixed_store_key()
        if self.credentials and fixed and document is not None:
            raise DeploymentError(
                [
                    document.problem(
                        ("port_store", "storage_options", fixed),
                        f"{fixed} here would be every process's key, and credentials gives each principal its own",
                        "remove it: each process uses its principal's key (credentials, or the one mesh deploy "
                        "access --apply wrote)",
                    )
                ]
            )

    def principal_key(self, principal: str) -> dict[str, str] | None:
        """`principal`'s store key as the file gives it (`credentials`), read from the environment now; None: none given."""
        given = self.credentials.get(principal)
        if given is None:
            return None
        key: dict[str, str] = {}
        for name, value in given.items():
            if isinstance(value, FromEnvironment) and value.value() is None:
                raise MeshError(
                    f"{self.file}: credentials.{principal}.{name}: the environment variable {value.env} is not set — "
                    f"set it to {principal}'s key"
                )
            key[name] = resolved(value) or ""
        return key

    def _check_environment(self) -> None:
        """What the deployment needs must be there now (its environment variables, its packages): a missing
        one fails here, named, not in a run."""
        if self.uses_postgres and importlib.util.find_spec("dagster_postgres") is None:
            raise MeshError(
                f"the deployment '{self.name}' keeps Dagster's state in PostgreSQL, and dagster-postgres is not "
                "installed — pip install 'mesh-platform[deploy]'"
            )
        if isinstance(url := self.instance.postgres_url, FromEnvironment) and url.value() is None:
            where = f"{self.file}: instance.postgres_url" if self.file else "MESH_POSTGRES_URL"
            raise MeshError(
                f"{where}: the environment variable {url.env} is not set — set it to the PostgreSQL URL (postgresql://user:password@host:5432/database)"
            )
        for block, store in (("port_store", self.port_store), ("landing", self.landing)):
            for key, value in (store.storage_options if store else {}).items():
                if isinstance(value, FromEnvironment) and value.value() is None:
                    raise MeshError(
                        f"{self.file}: {block}.storage_options.{key}: the environment variable {value.env} is not set "
                        "— set it, or write the value"
                    )
        notices = self.notifications
        for field, setting in (
            ("webhook.url", notices.webhook.url if notices and notices.webhook else None),
            ("smtp.password", notices.smtp.password if notices and notices.smtp else None),
        ):
            if isinstance(setting, FromEnvironment) and setting.value() is None:
                raise MeshError(
                    f"{self.file}: notifications.{field}: the environment variable {setting.env} is not set — set it, "
                    "or remove the setting"
                )

    def instance_environment(self) -> dict[str, str]:
        """Environment of the processes that write this deployment's instance (runs, the UI, code servers). On
        SQLite: Dagster hands the events of many partitions to its storage in batches, which the mesh's event log
        commits once each (`runtime.sqlite_event_log`). PostgreSQL's storage drops some events from batches
        (a partition failing to materialize), so there events go one by one, as Dagster's default is."""
        if self.instance.postgres_url is not None:
            return {}
        return {"DAGSTER_EVENT_BATCH_SIZE": str(EVENT_BATCH_SIZE)}

    def instance_yaml(self) -> str:
        """The Dagster instance's `dagster.yaml` for this deployment (naming no folder: the instance's own)."""
        settings: dict[str, Any] = {}
        if self.instance.postgres_url is not None:
            settings["storage"] = {"postgres": {"postgres_url": _dagster_value(self.instance.postgres_url)}}
        else:  # Dagster's SQLite storage; its event log where Dagster keeps it, without two fixed costs per run
            settings["event_log_storage"] = {
                "module": "mesh_platform.runtime.sqlite_event_log",
                "class": "MeshSqliteEventLogStorage",
                "config": {},  # in the instance's folder, whichever it is
            }
        concurrency: dict[str, Any] = dict(_POOLS)
        if self.runs is not None:
            concurrency["runs"] = {
                "max_concurrent_runs": self.runs.max_concurrent,
                "tag_concurrency_limits": [
                    {"key": CODE_LOCATION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": self.runs.per_domain},
                ],
            }
        # No telemetry, and no "join the community" pop-up greeting every new operator of the mesh's UI (Dagster's nux).
        settings |= {
            "concurrency": concurrency,
            "run_monitoring": _RUN_MONITORING,
            "telemetry": {"enabled": False},
            "nux": {"enabled": False},
        }
        if self.code_servers is not None:
            settings["run_queue"] = dict(_USER_CODE_RETRIES)
        header = (
            f"# Written by mesh-platform for the deployment '{self.name}'"
            + (f" ({self.file})" if self.file else "")
            + "; edits are overwritten.\n"
            "# One writer per domain DuckDB file: every product asset sits in its domain's pool, one step at a time.\n"
        )
        return header + yaml.safe_dump(settings, sort_keys=False)


def _store_problems(block: str, store: StoreSettings, root: Path) -> list[tuple[tuple[str, ...], str, str]]:
    """A store folder that climbs out of the mesh, an endpoint that is no URL or (without allow_remote) is elsewhere."""
    problems: list[tuple[tuple[str, ...], str, str]] = []
    inside = Path(os.path.normpath(root / store.uri))
    if not store.on_object_store and not Path(store.uri).is_absolute() and not inside.is_relative_to(root):
        problems.append(
            (
                (block, "uri"),
                f"'{store.uri}' leads outside the mesh's folder (to {inside})",
                "write the folder's absolute path if the store is meant to be there",
            )
        )
    for key, url in store.endpoints().items():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(((block, "storage_options", key), f"'{url}' is not an endpoint URL", "write http(s)://host[:port]"))
        elif not store.allow_remote and not is_loopback(parts.hostname):
            problems.append(
                (
                    (block, "storage_options", key),
                    f"{parts.hostname} is outside this machine: {STORE_REACH[block]}",
                    f"set {block}.allow_remote: true if the store is meant to be there, or use one on 127.0.0.1",
                )
            )
    return problems


def _notification_problems(notices: Notifications) -> list[tuple[tuple[str, ...], str, str]]:
    """A webhook that is no http(s) URL; (without allow_remote) a webhook or SMTP server outside this machine."""
    problems: list[tuple[tuple[str, ...], str, str]] = []
    if notices.webhook is not None and (url := resolved(notices.webhook.url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(
                (("notifications", "webhook", "url"), "the webhook is not an http(s) URL", "write http(s)://host[:port]/path")
            )
    for path, host in notices.endpoints().items():
        if host and not notices.allow_remote and not is_loopback(host):
            problems.append(
                (
                    path,
                    f"{host} is outside this machine: {NOTICE_REACH}",
                    "set notifications.allow_remote: true if it is meant to be there, or use one on 127.0.0.1",
                )
            )
    return problems


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine's loopback (localhost, 127.0.0.0/8, ::1); any other name or address is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _dagster_value(value: Value) -> Any:
    """A value as Dagster's config reads it: `{env: NAME}` stays a reference Dagster resolves itself."""
    return {"env": value.env} if isinstance(value, FromEnvironment) else value


def _with_overrides(data: dict[str, Any]) -> dict[str, Any]:
    """The file's settings with the environment's overrides applied."""
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    if os.environ.get("MESH_POSTGRES_URL"):  # kept a reference: the URL (and its password) is not written to disk
        data.setdefault("instance", {})["postgres_url"] = {"env": "MESH_POSTGRES_URL"}
    for variable, block in (("MESH_PORT_STORE", "port_store"), ("MESH_LANDING", "landing")):
        if uri := os.environ.get(variable):
            store = data.get(block)
            data[block] = {**(store if isinstance(store, dict) else {}), "uri": uri}
    for variable, field in (("MESH_MAX_CONCURRENT_RUNS", "max_concurrent"), ("MESH_RUNS_PER_DOMAIN", "per_domain")):
        if (text := os.environ.get(variable)) is not None:
            try:
                number = int(text)
            except ValueError:
                raise MeshError(f"{variable}={text!r}: not a whole number — set it to how many runs may be in progress") from None
            runs = data.get("runs")
            data["runs"] = {**(runs if isinstance(runs, dict) else {}), field: number}
    return data
