"""An S3-compatible server on 127.0.0.1 for the tests of ports on an object store.

It is moto's server mode (`moto[server]`): an emulator of the S3 API, in memory, used only by
the tests; it implements the conditional writes (If-None-Match) deltalake commits with. Each
test gets a bucket of its own.

`S3Server(enforce_iam=True)` starts it with IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT): its first
requests (three) make an admin user with a key, and from then on every request must be signed by a
key of an IAM user whose policies allow it (moto's evaluator: actions and resources with `*` wildcards,
Allow and Deny; it does not evaluate conditions such as s3:prefix — tests/test_store_access.py shows
what it enforces). Its release 5.2.6 evaluates conditions without S3's keys, denying every s3:prefix-limited
LIST: pyproject.toml keeps moto below it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3

from .conftest import free_port

REGION = "us-east-1"
KEY_ID, SECRET = (
    "mesh-test-key",
    "mesh-test-secret",
)  # moto accepts any credentials (without enforce_iam; these belong to no mesh principal)
ADMIN = "mesh-test-admin"
BOOTSTRAP_REQUESTS = 3  # create the admin user, give it every permission, make its key: unauthenticated


class S3Server:
    def __init__(self, enforce_iam: bool = False):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._principal_keys: dict[str, tuple[str, str]] = {}
        self.enforce_iam = enforce_iam
        self.key_id, self.secret = KEY_ID, SECRET  # with enforce_iam: the admin's key, made by `start`

    def start(self) -> S3Server:
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_REQUESTS)} if self.enforce_iam else None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)
        if self.enforce_iam:
            self._bootstrap_admin()
        return self

    def _bootstrap_admin(self) -> None:
        """The three requests moto serves unauthenticated: an admin user allowed everything, and its key."""
        iam = boto3.client(
            "iam", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION
        )
        iam.create_user(UserName=ADMIN)
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName=ADMIN, PolicyName="admin", PolicyDocument=json.dumps(everything))
        key = iam.create_access_key(UserName=ADMIN)["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def storage_options(self, key_variable: str, secret_variable: str) -> dict:
        """The storage options a deployment file gives for this server, its credentials read from two variables."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": {"env": key_variable},
            "AWS_SECRET_ACCESS_KEY": {"env": secret_variable},
        }

    def client(self, key_id: str | None = None, secret: str | None = None, service: str = "s3"):
        """A boto3 client of the server: with the admin's key (any key without enforce_iam), or with the one given."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret,
            region_name=REGION,
        )

    def remove_users(self, path: str) -> None:
        """Delete the IAM users under `path`, their keys and inline policies (a test starts from none)."""
        iam = self.client(service="iam")
        for user in iam.list_users(PathPrefix=path)["Users"]:
            name = user["UserName"]
            for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
            for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
                iam.delete_user_policy(UserName=name, PolicyName=policy)
            iam.delete_user(UserName=name)

    def deploy_bucket(self, root: Path, monkeypatch, name: str = "bucket") -> str:
        """A new bucket made the port store of the mesh at `root` (deploy/<name>.yaml, chosen with MESH_ENV), its
        credentials read from two variables set to this server's key; the bucket's name."""
        import yaml

        bucket = self.new_bucket()
        (root / "deploy").mkdir(exist_ok=True)
        deployment = {
            "port_store": {
                "uri": f"s3://{bucket}/mesh",
                "storage_options": self.storage_options("LAB_S3_KEY_ID", "LAB_S3_SECRET"),
            }
        }
        (root / "deploy" / f"{name}.yaml").write_text(yaml.safe_dump(deployment))
        monkeypatch.setenv("MESH_ENV", name)
        monkeypatch.setenv("LAB_S3_KEY_ID", KEY_ID)
        monkeypatch.setenv("LAB_S3_SECRET", SECRET)
        return bucket

    def new_bucket(self) -> str:
        name = f"mesh-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def iam(self):
        return boto3.client(
            "iam", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION
        )

    def principal_keys(self, principal: str) -> tuple[str, str]:
        """A key pair of the mesh principal `principal`: IAM user mesh-<principal> under path /mesh/ (made once per server)."""
        if principal not in self._principal_keys:
            iam = self.iam()
            iam.create_user(UserName=f"mesh-{principal}", Path="/mesh/")
            key = iam.create_access_key(UserName=f"mesh-{principal}")["AccessKey"]
            self._principal_keys[principal] = (key["AccessKeyId"], key["SecretAccessKey"])
        return self._principal_keys[principal]

    @contextlib.contextmanager
    def acting_as(self, principal: str, key_variable: str, secret_variable: str) -> Iterator[None]:
        """The deployment's credential variables set to `principal`'s key pair while the block runs."""
        before = {name: os.environ.get(name) for name in (key_variable, secret_variable)}
        os.environ[key_variable], os.environ[secret_variable] = self.principal_keys(principal)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
