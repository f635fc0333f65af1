"""Run inside an SDK environment (PYTHONPATH = the repository): how the `local` backend meets that SDK's local
mode, short of Docker. Prints one JSON line.

- where `LocalSession` lives in this SDK, found by the backend's own lookup;
- the session the backend builds: S3 on the LocalStack URL given, local mode's SageMaker client;
- the workflow's own requests bind to the local client's methods (a keyword it does not take would fail there);
- local mode's transform output location, from its own upload helper, against `transform_output_uri`.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import tempfile
from typing import Any

from backends.local import LocalBackend, local_session_class, make_local_session
from harness.requests import (
    TrainingConfig,
    TransformConfig,
    model_request,
    training_job_request,
    transform_job_request,
)

URL = sys.argv[1]


class RecordingSession:
    def __init__(self) -> None:
        self.uploads: list[tuple[str, str]] = []

    def upload_data(self, path: str, bucket: str, key_prefix: str) -> str:
        self.uploads.append((bucket, key_prefix))
        return f"s3://{bucket}/{key_prefix}"


def binds(method: Any, request: dict[str, Any]) -> bool:
    inspect.signature(method).bind(**request)
    return True


def main() -> None:
    session_class = local_session_class()
    session = make_local_session(session_class, "us-east-1", URL)
    client = session.sagemaker_client
    training = training_job_request(TrainingConfig(
        job_name="j", image="i", role="r", output_path="s3://b/p/output", train_uri="s3://b/p/train.csv",
        validation_uri="s3://b/p/validation.csv", instance_type="local"))
    transform = transform_job_request(TransformConfig(
        job_name="t", model_name="m", input_uri="s3://b/p/test.csv", output_path="s3://b/p/batch-transform/",
        instance_type="local"))
    utils = importlib.import_module(session_class.__module__.rsplit(".", 1)[0] + ".utils")
    recorder = RecordingSession()
    with tempfile.TemporaryDirectory() as source:
        uploaded = utils.move_to_destination(source, "s3://b/p/batch-transform/", "t", recorder)
    print(json.dumps({
        "module": session_class.__module__,
        "client": type(client).__name__,
        "s3_endpoint": session.s3_client.meta.endpoint_url,
        "region": session.boto_region_name,
        "binds": [binds(client.create_training_job, training),
                  binds(client.create_model, model_request("m", "i", "s3://b/p/output/model.tar.gz", "r")),
                  binds(client.create_transform_job, transform),
                  binds(client.describe_training_job, {"TrainingJobName": "j"}),
                  binds(client.describe_transform_job, {"TransformJobName": "t"})],
        "transform_uploads": recorder.uploads,
        "transform_output": uploaded,
        "backend_transform_output": LocalBackend("us-east-1", URL).transform_output_uri("s3://b/p/batch-transform/",
                                                                                      "t"),
    }))


if __name__ == "__main__":
    main()
