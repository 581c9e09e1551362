"""Who is asking: the principal a command or a read acts as, and how that is known.

Embedded (the port store is a folder, one operating-system user): the caller names itself (`mesh query --as NAME`,
`read_product(consumer=…)`, `MESH_CONSUMER`) and nothing can check it, for the operating-system user is the only
boundary; a command says so once. A deployment whose port store is an object store: the principal is the one the
store's credentials belong to, as the store says (STS GetCallerIdentity at its endpoint): IAM user `mesh-<principal>`
under path `/mesh/`, as `mesh deploy access --apply` creates them, or a session of the role `mesh-<principal>` (a
Kubernetes pod's workload identity). A name claimed there is refused unless it is
that principal; with none claimed, the read is that principal's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from mesh_platform.core.deployment import ENDPOINT_OPTIONS, Deployment, StoreSettings
from mesh_platform.core.errors import IdentityError
from mesh_platform.governance.principals import Principals

IAM_PATH = "/mesh/"
IAM_USER_PREFIX = "mesh-"
# IAM user mesh-<principal> under /mesh/ (mesh deploy access --apply), or a session of the role mesh-<principal> (a
# Kubernetes service account's workload identity, as kubernetes.service_account_annotations' example names it).
_PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?:iam::\d+:user/mesh/mesh-(?P<user>[a-z][a-z0-9_]*)"
    r"|sts::\d+:assumed-role/mesh-(?P<role>[a-z][a-z0-9_]*)/[^/]+)$"
)
STS_SECONDS = 10  # a store that does not answer: an error after this long, not a hang


@dataclass(frozen=True)
class Identity:
    """The principal a command acts as (None: it names none, and reads public products only), and how it is known."""

    principal: str | None
    verified: bool  # from the store's credentials; False: the caller's word
    how: str

    @property
    def notice(self) -> str | None:
        """What a command says once on standard error: that a claimed identity is not verified here."""
        if self.principal is not None and not self.verified:
            return f"acting as {self.principal}, unverified: {self.how}"
        if self.principal is None and self.verified:
            return self.how
        return None


def iam_user_name(principal: str) -> str:
    """The IAM user whose credentials are `principal`'s (under path `IAM_PATH`)."""
    return f"{IAM_USER_PREFIX}{principal}"


def principal_of_arn(arn: str) -> str | None:
    """The principal an IAM ARN is (`arn:aws:iam::<account>:user/mesh/mesh-<principal>`, or a session of the role
    `mesh-<principal>`: `arn:aws:sts::<account>:assumed-role/mesh-<principal>/<session>`), or None for any other."""
    match = _PRINCIPAL_ARN.match(arn)
    return (match["user"] or match["role"]) if match else None


def resolve_identity(deployment: Deployment, principals: Principals, claimed: str | None, claimed_by: str = "--as") -> Identity:
    """Who a command acts as: `claimed` (given by `claimed_by`: --as, consumer=, MESH_CONSUMER) on the embedded
    shape; in a deployment on an object store, the principal of the store's credentials, which `claimed` must be."""
    store = deployment.port_store
    if store is None or not store.on_object_store:
        if claimed is None:
            return Identity(None, False, "no principal named")
        principals.get(claimed)
        return Identity(
            claimed,
            False,
            f"{claimed_by} {claimed} on the embedded shape, where the operating-system user is the only boundary "
            "(in a deployment the principal comes from the store's credentials)",
        )
    arn = caller_arn(store)
    name = principal_of_arn(arn)
    users = f"IAM users {iam_user_name('<principal>')} under path {IAM_PATH}, which mesh deploy access --apply creates"
    if name is None:
        if claimed is not None:
            raise IdentityError(
                f"{claimed_by} {claimed} is refused: the port store's credentials in use ({arn}) belong to no mesh principal "
                f"(a principal's are {users}); run with {claimed}'s credentials"
            )
        return Identity(
            None,
            True,
            f"the port store's credentials in use ({arn}) belong to no mesh principal (a principal's are {users}): "
            "reading as no principal, public products only",
        )
    if name not in principals:
        raise IdentityError(
            f"the port store's credentials in use are IAM user {iam_user_name(name)}, but {principals.unknown(name)}"
        )
    if claimed is not None and claimed != name:
        raise IdentityError(
            f"{claimed_by} {claimed} is refused: the port store's credentials in use are {name}'s "
            f"(IAM user {iam_user_name(name)}); run with {claimed}'s credentials, or without {claimed_by} to act as {name}"
        )
    return Identity(name, True, f"the port store's credentials (IAM user {iam_user_name(name)})")


def caller_arn(store: StoreSettings) -> str:
    """Whose the store's credentials are: STS GetCallerIdentity with them, at the store's endpoint (AWS's own STS
    for an AWS endpoint). Credentials the options do not give come from the environment, as the store's do."""
    import boto3
    import botocore.config
    import botocore.exceptions

    options = {key.lower(): value for key, value in store.resolved_options().items() if value}
    endpoint = next((options[key] for key in ENDPOINT_OPTIONS if key in options), None)
    if endpoint and (urlsplit(endpoint).hostname or "").endswith(".amazonaws.com"):
        endpoint = None  # S3's endpoint answers no STS call: AWS's regional STS does
    config = botocore.config.Config(connect_timeout=STS_SECONDS, read_timeout=STS_SECONDS, retries={"max_attempts": 2})
    client = boto3.session.Session().client(
        "sts",
        endpoint_url=endpoint,
        config=config,
        region_name=options.get("aws_region") or options.get("aws_default_region") or options.get("region") or "us-east-1",
        aws_access_key_id=options.get("aws_access_key_id") or options.get("access_key_id"),
        aws_secret_access_key=options.get("aws_secret_access_key") or options.get("secret_access_key"),
        aws_session_token=options.get("aws_session_token") or options.get("session_token"),
    )
    where = endpoint or "AWS STS"
    try:
        return client.get_caller_identity()["Arn"]
    except botocore.exceptions.NoCredentialsError:
        raise IdentityError(
            f"the port store ({store.uri}) has no credentials to say who is asking: set its storage_options "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (e.g. {env: NAME}) to the principal's key"
        ) from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise IdentityError(
            f"cannot ask the port store who its credentials are (STS GetCallerIdentity at {where}): {str(error).splitlines()[0]}"
        ) from None
