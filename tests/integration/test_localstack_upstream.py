"""With LocalStack as the upstream, what the emulator writes lands in LocalStack itself: seen here with
clients made by `localstack-client`, the way LocalStack users make them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import localstack_client.session

from backends.emulator.server import Emulator, EmulatorConfig
from backends.localstack import LocalStack
from fixtures.datasets import load_boston
from tests.conftest import XGB_17, make_client, upload_csv, wait_training
from tests.integration.requests import training_request


def test_artifacts_and_logs_land_in_localstack(localstack: LocalStack, tmp_path: Path) -> None:
    direct = localstack_client.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                               localstack_host=localstack.url.removeprefix("http://"))
    s3_direct: Any = direct.client("s3")
    logs_direct: Any = direct.client("logs")
    s3_direct.create_bucket(Bucket="upstream-bucket")
    features, label = load_boston()
    with Emulator(EmulatorConfig(state_dir=tmp_path, upstream=localstack.url)) as emulator:
        s3 = make_client("s3", emulator.endpoint_url)
        uri = upload_csv(s3, "upstream-bucket", "data/train.csv", features.assign(y=label)[["y", *features.columns]])
        sagemaker = make_client("sagemaker", emulator.endpoint_url)
        sagemaker.create_training_job(**training_request("upstream-job", "upstream-bucket", uri, image=XGB_17,
                                                         hyperparameters={"num_round": "7"}))
        job = wait_training(sagemaker, "upstream-job")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    key = "boston-xgboost-LL/output/upstream-job/output/model.tar.gz"
    assert s3_direct.head_object(Bucket="upstream-bucket", Key=key)["ContentLength"] > 0
    streams = logs_direct.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                               logStreamNamePrefix="upstream-job/")["logStreams"]
    events = logs_direct.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    assert sum("#011train-rmse:" in event["message"] for event in events) == 7
