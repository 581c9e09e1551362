"""The mesh on Kubernetes: values for Dagster's official Helm chart, rendered from a deployment file.

`mesh --env prod deploy k8s` turns `deploy/prod.yaml` into the values of the `dagster/dagster`
chart: one `dagster-user-deployments` entry per domain (the image built from deploy/Dockerfile,
`dagster code-server start` arguments for the domain's module, the environment that names the
deployment), the chart's PostgreSQL settings for an existing server (its password from a Secret),
the K8sRunLauncher (one Kubernetes Job per run) and the run queue's limits, one per domain.

Each domain is its own principal on the store: its deployment entry has its own service account
(`mesh-<domain>`, created by the chart, annotated from `kubernetes.service_account_annotations` with
`{principal}` replaced by the domain, for the cloud's workload identity; its runs get it through
`includeConfigInLaunchedRuns`) and its own Secret (`mesh-<domain>-store`: the domain's store credentials,
where no workload identity gives them), beside the shared `kubernetes.secrets`. The store policies to attach
to each identity are `mesh deploy access --env <env>`'s files. The hashing key (`MESH_SECRET`) is in a Secret of its
own, `mesh-hashing-key`, given only to the domains that publish personal columns.

The chart is not part of the mesh; the values are checked before they are written against the
schema of the fields the mesh sets (`dagster_helm_values.schema.json`, written from the chart's
documented values), so a value the chart would reject or ignore fails here, named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mesh_platform.catalog.catalog import Catalog
from mesh_platform.catalog.workspace import read_workspace
from mesh_platform.core.deployment import CODE_LOCATION_TAG, FromEnvironment, Kubernetes, RunQueue
from mesh_platform.core.errors import MeshError
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.access import hashing_key_holders

SCHEMA_FILE = Path(__file__).with_name("dagster_helm_values.schema.json")
IMAGE_ROOT = "/opt/mesh"  # where deploy/Dockerfile puts the repository
IMAGE_HOME = "/tmp/mesh"  # MESH_HOME in a pod: scratch space only
DAGSTER_HOME = "/opt/dagster/dagster_home"  # the chart's own default
PRINCIPAL = "{principal}"  # in kubernetes.service_account_annotations: the domain the service account is
HASHING_KEY_SECRET = "mesh-hashing-key"  # the Secret that holds MESH_SECRET, for the domains that publish personal columns


def helm_values(settings: MeshSettings, catalog: Catalog) -> dict[str, Any]:
    """The chart values of the deployment `settings` names for the mesh of `catalog`, checked against the schema."""
    kubernetes = _kubernetes(settings)
    holders = hashing_key_holders(catalog)
    queue = settings.deployment.runs or RunQueue()
    secrets = [{"name": name} for name in kubernetes.secrets]
    repository, tag = _image(kubernetes.image, settings)
    deployments = []
    for domain in read_workspace(settings.root):
        domain_repository, domain_tag = (
            _image(kubernetes.domain_images[domain.name], settings)
            if domain.name in kubernetes.domain_images
            else (repository, tag)
        )
        name = "mesh-" + domain.name.replace("_", "-")
        annotations = {
            key: value.replace(PRINCIPAL, domain.name) for key, value in kubernetes.service_account_annotations.items()
        }
        deployments.append(
            {
                "name": name,
                "image": {"repository": domain_repository, "tag": domain_tag, "pullPolicy": kubernetes.pull_policy},
                "codeServerArgs": [
                    "--module-name",
                    domain.module,
                    "--working-directory",
                    IMAGE_ROOT,
                    "--location-name",
                    domain.name,
                ],
                "port": kubernetes.code_server_port,
                "env": [
                    {"name": "MESH_ENV", "value": settings.deployment.name},
                    {"name": "MESH_ROOT", "value": IMAGE_ROOT},
                    {"name": "MESH_HOME", "value": IMAGE_HOME},
                ],
                # The shared Secrets, the domain's own store credentials and, if it publishes personal columns, the hashing key.
                "envSecrets": [
                    *secrets,
                    {"name": f"{name}-store"},
                    *([{"name": HASHING_KEY_SECRET}] if domain.name in holders else []),
                ],
                "serviceAccount": {"create": True, "name": name, "annotations": annotations},  # the domain's workload identity
                "includeConfigInLaunchedRuns": {"enabled": True},  # run pods get the same image, env, secrets and service account
            }
        )
    values = {
        "global": {"postgresqlSecretName": kubernetes.postgres.password_secret, "dagsterHome": DAGSTER_HOME},
        "generatePostgresqlPasswordSecret": False,  # the password is in an existing Secret, never in these values
        "dagster-user-deployments": {"enabled": True, "enableSubchart": True, "deployments": deployments},
        "postgresql": {
            "enabled": False,
            "postgresqlHost": kubernetes.postgres.host,
            "postgresqlUsername": kubernetes.postgres.username,
            "postgresqlDatabase": kubernetes.postgres.database,
            "service": {"port": kubernetes.postgres.port},
        },
        "runLauncher": {
            "type": "K8sRunLauncher",
            "config": {
                "k8sRunLauncher": {
                    "jobNamespace": kubernetes.namespace,
                    "loadInclusterConfig": True,
                    "envSecrets": secrets,
                }
            },
        },
        "dagsterDaemon": {
            "enabled": True,
            "runCoordinator": {
                "enabled": True,
                "type": "QueuedRunCoordinator",
                "config": {
                    "queuedRunCoordinator": {
                        "maxConcurrentRuns": queue.max_concurrent,
                        "tagConcurrencyLimits": [
                            {"key": CODE_LOCATION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": queue.per_domain}
                        ],
                    },
                },
            },
        },
        "dagsterWebserver": {"envSecrets": secrets},
    }
    check_values(values)
    return values


def check_values(values: dict[str, Any]) -> None:
    """Raise `MeshError` naming every value the schema of the chart's fields refuses."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    problems = sorted(validator.iter_errors(values), key=lambda error: list(error.absolute_path))
    if problems:
        lines = [f"{'.'.join(map(str, p.absolute_path)) or '(values)'}: {p.message}" for p in problems]
        raise MeshError("the Helm values do not fit Dagster's chart:\n  " + "\n  ".join(lines))


def render(settings: MeshSettings, catalog: Catalog) -> str:
    """The values as the YAML file `helm install -f` takes, headed by what the cluster must provide."""
    kubernetes = _kubernetes(settings)
    variables = required_variables(settings)
    holders = sorted(hashing_key_holders(catalog))
    header = [
        f"# Values for Dagster's Helm chart (dagster/dagster), rendered by `mesh --env {settings.deployment.name} deploy k8s`",
        f"# from {settings.deployment.file}. Install: helm upgrade --install mesh dagster/dagster -f <this file>",
        f"# The image: docker build -f deploy/Dockerfile -t {kubernetes.image} .",
        f"# The Secret '{kubernetes.postgres.password_secret}' holds the PostgreSQL password (key postgresql-password).",
    ]
    if variables:
        where = ", ".join(kubernetes.secrets) or "(none listed: add kubernetes.secrets)"
        header.append(f"# The Secrets {where} must provide: {', '.join(variables)}.")
    header.append(
        "# Each domain D runs as the service account mesh-D (annotated for the cloud's workload identity) with the Secret "
        "mesh-D-store (its own store credentials); attach to it the policy `mesh deploy access` writes for D."
    )
    given = (
        f"given only to the domains that publish personal columns: {', '.join(holders)}"
        if holders
        else "given to no domain: none publishes personal columns"
    )
    header.append(f"# The Secret '{HASHING_KEY_SECRET}' holds MESH_SECRET, the hashing key of personal values, {given}.")
    return "\n".join(header) + "\n" + yaml.dump(helm_values(settings, catalog), Dumper=_PlainDumper, sort_keys=False)


def required_variables(settings: MeshSettings) -> list[str]:
    """The environment variables the deployment file reads (`{env: NAME}`) and a pod must therefore be given."""
    deployment = settings.deployment
    values: list[Any] = [deployment.instance.postgres_url]
    for store in (deployment.port_store, deployment.landing):
        values += list(store.storage_options.values()) if store is not None else []
    names = [value.env for value in values if isinstance(value, FromEnvironment)]
    return sorted(set(names))  # MESH_SECRET is not among them: it has a Secret of its own (HASHING_KEY_SECRET)


class _PlainDumper(yaml.SafeDumper):
    """Writes a value used twice twice: no YAML anchors, so the file reads as the chart documents it."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _kubernetes(settings: MeshSettings) -> Kubernetes:
    if settings.deployment.kubernetes is None:
        where = settings.deployment.file or f"the deployment '{settings.deployment.name}'"
        raise MeshError(
            f"{where} has no kubernetes: block — add one (image, postgres) to render Helm values; see deploy/prod.yaml"
        )
    for block, what in (("port_store", "the ports"), ("landing", "the source files")):
        store = getattr(settings.deployment, block)
        if store is None or not store.on_object_store:
            raise MeshError(
                f"{settings.deployment.file}: {block}.uri: on Kubernetes {what} must be on an object store "
                f"(s3://bucket/prefix), which every pod reaches — set {block}.uri"
            )
    unknown = sorted(set(settings.deployment.kubernetes.domain_images) - {d.name for d in read_workspace(settings.root)})
    if unknown:
        raise MeshError(
            f"{settings.deployment.file}: kubernetes.domain_images names no domain of workspace.yaml: {', '.join(unknown)}"
        )
    return settings.deployment.kubernetes


def _image(image: str, settings: MeshSettings) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        raise MeshError(
            f"{settings.deployment.file}: kubernetes.image: '{image}' has no tag — "
            "write repository:tag (a unique tag per release, not latest)"
        )
    return repository, tag
