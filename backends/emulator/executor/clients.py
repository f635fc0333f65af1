"""boto3 clients the executor uses to reach S3 and CloudWatch Logs (the embedded moto or an upstream)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

# The embedded services accept any credentials; an upstream LocalStack does too.
_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class AwsClients:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def s3(self, region: str) -> Any:
        return self._client("s3", region)

    def logs(self, region: str) -> Any:
        return self._client("logs", region)

    def _client(self, service: str, region: str) -> Any:
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                config = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"},
                                max_pool_connections=32)
                client = self._session.client(service, region_name=region, endpoint_url=self.endpoint_url,
                                              config=config, **_CREDENTIALS)
                self._clients[(service, region)] = client
            return client
