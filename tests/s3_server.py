"""An S3-compatible server on 127.0.0.1 for the tests of ports on an object store.

It is moto's server mode (`moto[server]`): an emulator of the S3 API, in memory, used only by
the tests; it implements the conditional writes (If-None-Match) deltalake commits with. Each
test gets a bucket of its own.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid

import boto3

from .conftest import free_port

REGION = "us-east-1"
KEY_ID, SECRET = "mesh-test-key", "mesh-test-secret"  # moto accepts any credentials


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

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
