"""Store access: the rendered store policies written as files, and applied to the store through its IAM API.

`mesh deploy access` writes one JSON document per principal (`governance.store_policies`) under
`MESH_HOME/deploy/<env>/access/<principal>.json` (or `--output DIR`), owner-only. With `--apply` (the
onebox shape: an S3-compatible store serving the IAM API at the deployment's endpoint, with the
operator's admin credentials from the standard AWS_* variables), for each principal P:

  - the IAM user `mesh-P` under the path `/mesh/` (created when missing);
  - its inline policy `mesh-store-access` replaced by the rendered one (a grant removed from a contract is
    removed from the store at the next apply);
  - an access key created only when the user has none, written owner-only to
    `MESH_HOME/deploy/<env>/credentials/P.env` (AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…);

the port store's bucket (and the landing zone's, when on the store) created when missing; and the users
under `/mesh/` of principals no longer in the mesh lose that policy (their keys then reach
nothing; the user and its keys stay for the operator to delete). On Kubernetes the policies are files only:
the cloud's IAM attaches them to each domain's workload identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mesh_platform.core.errors import MeshError
from mesh_platform.core.owner_only import private_folder, write_private
from mesh_platform.core.settings import MeshSettings
from mesh_platform.governance.store_policies import POLICY_SIZE_LIMIT, StorePolicy

USER_PREFIX = "mesh-"
USER_PATH = "/mesh/"
POLICY_NAME = "mesh-store-access"


def user_name(principal: str) -> str:
    """The IAM user of a principal."""
    return f"{USER_PREFIX}{principal}"


def access_folder(settings: MeshSettings) -> Path:
    return settings.deployment_folder / "access"


def credentials_folder(settings: MeshSettings) -> Path:
    return settings.credentials_folder  # where `MeshSettings.principal_environment` reads them


@dataclass(frozen=True)
class WrittenPolicy:
    principal: str
    file: Path
    characters: int  # the compact document's size: AWS allows an IAM user 2,048 characters of inline policy

    @property
    def too_large_for_aws(self) -> bool:
        return self.characters > POLICY_SIZE_LIMIT


def write_policies(policies: Iterable[StorePolicy], folder: Path) -> list[WrittenPolicy]:
    """Write each policy as `<folder>/<principal>.json`, readable by its owner only."""
    import json

    private_folder(folder)
    written = []
    for policy in policies:
        file = folder / f"{policy.principal}.json"
        write_private(file, json.dumps(policy.document(), indent=2) + "\n")
        written.append(WrittenPolicy(policy.principal, file, len(policy.text())))
    return written


@dataclass(frozen=True)
class AppliedPrincipal:
    principal: str
    user: str
    user_created: bool
    key_created: bool
    credentials: Path | None  # where a new key was written (None: the user had one already)


@dataclass(frozen=True)
class AppliedAccess:
    """What `--apply` did: each principal's user, policy and key; the users whose policy went."""

    endpoint: str | None
    principals: list[AppliedPrincipal]
    revoked: list[str]  # IAM users under /mesh/ of principals no longer in the mesh: their policy was removed
    buckets_created: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AccessDeployed:
    """What `mesh deploy access` did: the policies it wrote, and with `--apply` what applying them did."""

    policies: list[WrittenPolicy]
    applied: AppliedAccess | None = field(default=None, metadata={"json_omit_none": True})


def iam_client(settings: MeshSettings, service: str = "iam") -> Any:
    """boto3's IAM client (or `service`'s) for the deployment's store: its endpoint (the port store's AWS_ENDPOINT_URL;
    none: AWS's own), its region, and the operator's admin credentials from the standard AWS_* variables."""
    import boto3

    store = settings.deployment.port_store
    options = {key.upper(): value for key, value in (store.resolved_options() if store else {}).items()}
    endpoint = options.get("AWS_ENDPOINT_URL") or options.get("AWS_ENDPOINT") or None
    region = options.get("AWS_REGION") or options.get("AWS_DEFAULT_REGION") or "us-east-1"
    client: Any = boto3.client  # its stubs overload one signature per service name; ours is any of them
    return client(service, endpoint_url=endpoint, region_name=region)


def ensure_buckets(settings: MeshSettings, client: Any) -> list[str]:
    """Create the buckets the port store and (when on the same store) the landing zone name, if missing: the ones created."""
    from botocore.exceptions import ClientError

    deployment = settings.deployment
    stores = [s for s in (deployment.port_store, deployment.landing) if s is not None and s.on_object_store]
    if deployment.port_store is None or not deployment.port_store.on_object_store:
        return []
    if deployment.landing is not None and set(deployment.landing.endpoints().values()) != set(
        deployment.port_store.endpoints().values()
    ):
        stores = stores[:1]  # a landing zone on another store is that store's operator's to make
    created = []
    for bucket in dict.fromkeys(urlsplit(s.uri).netloc for s in stores):
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            client.create_bucket(Bucket=bucket)
            created.append(bucket)
    return created


def refuse_on_kubernetes(settings: MeshSettings) -> None:
    """On Kubernetes the cloud's IAM attaches the policies to each domain's workload identity: none is applied here."""
    if settings.deployment.kubernetes is not None:
        raise MeshError(
            f"{settings.deployment.file}: kubernetes: the deployment '{settings.deployment.name}' runs on Kubernetes: its "
            "store policies are written as files (mesh deploy access without --apply) for the cloud's IAM to attach to "
            "each domain's service account; --apply is for the onebox shape's store"
        )


def apply_policies(settings: MeshSettings, policies: list[StorePolicy], client: Any | None = None) -> AppliedAccess:
    """Apply the policies to the store's IAM (see the module); raises `MeshError` naming what the store refused."""
    from botocore.exceptions import BotoCoreError, ClientError

    refuse_on_kubernetes(settings)
    client = client or iam_client(settings)
    applied = []
    try:
        buckets = ensure_buckets(settings, iam_client(settings, "s3"))
        for policy in policies:
            applied.append(_apply_one(client, policy, credentials_folder(settings)))
        wanted = {user_name(p.principal) for p in policies}
        revoked = []
        for user in _mesh_users(client):
            if user not in wanted and POLICY_NAME in client.list_user_policies(UserName=user)["PolicyNames"]:
                client.delete_user_policy(UserName=user, PolicyName=POLICY_NAME)
                revoked.append(user)
    except (ClientError, BotoCoreError) as error:
        raise MeshError(
            f"the store's IAM API refused applying the store policies ({error}) — run with the store's admin credentials "
            "in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from None
    return AppliedAccess(client.meta.endpoint_url, applied, sorted(revoked), buckets)


def _apply_one(client: Any, policy: StorePolicy, folder: Path) -> AppliedPrincipal:
    user = user_name(policy.principal)
    created = False
    try:
        client.get_user(UserName=user)
    except client.exceptions.NoSuchEntityException:
        client.create_user(UserName=user, Path=USER_PATH, Tags=[{"Key": "mesh-principal", "Value": policy.principal}])
        created = True
    client.put_user_policy(UserName=user, PolicyName=POLICY_NAME, PolicyDocument=policy.text())
    if client.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        return AppliedPrincipal(policy.principal, user, created, False, None)
    key = client.create_access_key(UserName=user)["AccessKey"]
    file = folder / f"{policy.principal}.env"
    write_private(file, f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\nAWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    return AppliedPrincipal(policy.principal, user, created, True, file)


def _mesh_users(client: Any) -> list[str]:
    pages = client.get_paginator("list_users").paginate(PathPrefix=USER_PATH)
    return [user["UserName"] for page in pages for user in page["Users"] if user["UserName"].startswith(USER_PREFIX)]
