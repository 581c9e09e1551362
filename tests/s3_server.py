"""An S3-compatible server on 127.0.0.1 for the tests of ports on an object store.

It is moto's server mode (`moto[server]`): an emulator of the S3 API, in memory, used only by
the tests; it implements the conditional writes (If-None-Match) deltalake commits with. Each
test gets a bucket of its own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import boto3

from .conftest import free_port

REGION = "us-east-1"
KEY_ID, SECRET = "mesh-test-key", "mesh-test-secret"  # moto accepts any credentials (these belong to no mesh principal)


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._principal_keys: dict[str, tuple[str, str]] = {}

    def start(self) -> S3Server:
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def storage_options(self, key_variable: str, secret_variable: str) -> dict:
        """The storage options a deployment file gives for this server, its credentials read from two variables."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION, "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": {"env": key_variable}, "AWS_SECRET_ACCESS_KEY": {"env": secret_variable},
        }

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION)

    def new_bucket(self) -> str:
        name = f"mesh-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def iam(self):
        return boto3.client("iam", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION)

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
