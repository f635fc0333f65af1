"""For generated data and hyperparameters, the emulator's batch transform output equals in-process XGBoost
trained on the same data with the same parameters, whatever the objective; and a real-time endpoint of the same
model answers the same test rows with the same strings."""

from __future__ import annotations

import io
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.strategies import Dataset, classification_datasets, regression_datasets, xgboost_hyperparameters
from harness.requests import TrainingConfig, TransformConfig, model_request, training_job_request, transform_job_request
from tests.conftest import ROLE, XGB_17, make_client, wait_training, wait_transform

CASES = st.one_of(
    st.tuples(regression_datasets(), xgboost_hyperparameters("reg:squarederror")),
    st.tuples(classification_datasets(2), xgboost_hyperparameters("binary:logistic")),
    st.tuples(classification_datasets(3), xgboost_hyperparameters("multi:softprob", num_class=3)),
)


def _csv(frame: Any) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False)
    return buffer.getvalue().encode()


def _in_process(data: Dataset, hyperparameters: dict[str, str], directory: Path) -> list[str]:
    """Plain XGBoost on the same CSV files: the hyperparameters as XGBoost parameters, the training file read
    by XGBoost's own CSV reader (label in column 0), the test rows parsed as numbers."""
    params: dict[str, Any] = {k: v for k, v in hyperparameters.items() if k != "num_round"}
    params["nthread"] = os.cpu_count()
    (directory / "train.csv").write_bytes(_csv(data.training_frame()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XGBoost 3 deprecates its text reader but still ships it
        train = xgb.DMatrix(f"{directory / 'train.csv'}?format=csv&label_column=0")
    booster = xgb.train(params, train, num_boost_round=int(hyperparameters["num_round"]))
    test = np.loadtxt(io.BytesIO(_csv(data.features)), delimiter=",", ndmin=2)
    predictions = booster.predict(xgb.DMatrix(test))
    if predictions.ndim == 1:
        return [str(float(value)) for value in predictions]
    # Multi-class rows come out as the container prints a Python list of floats.
    return [str([float(value) for value in row]) for row in predictions]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(case=CASES)
def test_emulator_predictions_equal_in_process_xgboost(sagemaker: Any, s3: Any, bucket: str, tmp_path: Path,
                                                       runtime: Any, case: tuple[Dataset, dict[str, str]]) -> None:
    data, hyperparameters = case
    name = f"prop-{time.time_ns() % 10**12}"
    s3.put_object(Bucket=bucket, Key=f"prop/{name}/train.csv", Body=_csv(data.training_frame()))
    s3.put_object(Bucket=bucket, Key=f"prop/{name}/test/test.csv", Body=_csv(data.features))
    sagemaker.create_training_job(**training_job_request(TrainingConfig(
        job_name=name, image=XGB_17, role=ROLE, output_path=f"s3://{bucket}/prop/{name}/output",
        train_uri=f"s3://{bucket}/prop/{name}/train.csv", hyperparameters=hyperparameters)))
    job = wait_training(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker.create_model(**model_request(name, XGB_17, job["ModelArtifacts"]["S3ModelArtifacts"], ROLE))
    sagemaker.create_transform_job(**transform_job_request(TransformConfig(
        job_name=name, model_name=name, input_uri=f"s3://{bucket}/prop/{name}/test/",
        output_path=f"s3://{bucket}/prop/{name}/out/")))
    transform = wait_transform(sagemaker, name)
    assert transform["TransformJobStatus"] == "Completed", transform.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"prop/{name}/out/test.csv.out")["Body"].read().decode()
    assert body.splitlines() == _in_process(data, hyperparameters, tmp_path)

    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.2})
    try:
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=_csv(data.features))
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
    rows = answer["Body"].read().decode().splitlines()
    if body.startswith("["):
        # Multi-class: the container writes a real-time row as CSV, a batch row as a Python list.
        rows = [str(row.split(",")).replace("'", "") for row in rows]
    assert rows == body.splitlines()


@pytest.fixture(scope="module")
def runtime(emulator: Any) -> Any:
    return make_client("sagemaker-runtime", emulator.endpoint_url)
