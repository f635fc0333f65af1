"""A tuning job outlives a kill -9 of `harness serve`: the children the crash interrupted end Failed
(InternalServerError), and the tuner goes on after the restart until its limits are met."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd

from tests.conftest import ROLE, XGB_17, boston_frames, free_port, make_client, serve, upload_csv
from tests.integration.tuning_flow import RANGES, children_of, tuning_request, wait_tuning

BUCKET = "durable-tuning"


def test_tuning_goes_on_after_kill_9(tmp_path: Path) -> None:
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(state, port)
    try:
        s3, sagemaker = make_client("s3", url), make_client("sagemaker", url)
        s3.create_bucket(Bucket=BUCKET)
        features, label = boston_frames()
        train = upload_csv(s3, BUCKET, "train.csv", pd.concat([label, features], axis=1))
        channels = [{"ChannelName": name, "ContentType": "csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": train, "S3DataDistributionType": "FullyReplicated"}}}
            for name in ("train", "validation")]
        request = tuning_request("survivor", BUCKET, channels, "Bayesian", RANGES, 5, 2, RandomSeed=3)
        request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "60"
        request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = XGB_17
        request["TrainingJobDefinition"]["RoleArn"] = ROLE
        # The upload of the data is saved at a clean stop only: stop cleanly once, so the restarts have it.
        os.kill(process.pid, signal.SIGTERM)
        process.wait(60)
        process = serve(state, port)
        sagemaker.create_hyper_parameter_tuning_job(**request)
        deadline = time.time() + 60
        while not any(c["TrainingJobStatus"] == "InProgress" for c in children_of(sagemaker, "survivor")):
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        process = serve(state, port)
        job = wait_tuning(sagemaker, "survivor", timeout=300)
        children = children_of(sagemaker, "survivor")
        assert len(children) == 5  # the tuner went on to its MaxNumberOfTrainingJobs
        interrupted = [c for c in children if c["TrainingJobStatus"] == "Failed"]
        assert interrupted, "a child was running at the kill"
        assert all(c["FailureReason"].startswith("InternalServerError") for c in interrupted)
        assert job["TrainingJobStatusCounters"]["NonRetryableError"] == len(interrupted)
        assert job["HyperParameterTuningJobStatus"] == "Completed"
        assert job["ObjectiveStatusCounters"]["Succeeded"] == 5 - len(interrupted)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(60)
