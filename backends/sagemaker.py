"""The `sagemaker` backend: real SageMaker and S3 in an AWS account."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .base import Backend, BackendUnavailable


class SageMakerBackend(Backend):
    name = "sagemaker"
    poll_seconds = 10.0  # jobs take minutes; polling faster only costs API calls

    def __init__(self, region: str, role: str | None = None, bucket: str | None = None) -> None:
        super().__init__(region)
        self._role = role or os.environ.get("HARNESS_ROLE")
        self._bucket = bucket or os.environ.get("HARNESS_BUCKET")
        self._session = boto3.session.Session(region_name=region)
        self._account: str | None = None
        self._clients: dict[str, Any] = {}

    def start(self) -> None:
        if self._session.get_credentials() is None:
            raise BackendUnavailable("no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                                     "AWS_SECRET_ACCESS_KEY (or run `aws configure`)")
        if not self._role:
            raise BackendUnavailable("no execution role: set HARNESS_ROLE (or --role) to the ARN of an IAM role "
                                     "SageMaker can assume")
        try:
            self._account = self._session.client("sts").get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as exc:
            raise BackendUnavailable(f"AWS credentials were rejected: {exc}") from None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def role_arn(self) -> str:
        if not self._role:
            raise BackendUnavailable("no execution role: set HARNESS_ROLE")
        return self._role

    def default_bucket(self) -> str:
        name = self._bucket or f"sagemaker-{self.region}-{self._account}"
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            config = {} if self.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            s3.create_bucket(Bucket=name, **config)
        return name

    def describe(self) -> str:
        redirected = os.environ.get("AWS_ENDPOINT_URL")
        note = f"; AWS_ENDPOINT_URL={redirected} redirects it" if redirected else ""
        return f"real SageMaker ({self.region}, account {self._account}{note})"
