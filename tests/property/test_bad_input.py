"""Invalid requests always get a 4xx AWS-shaped error over real HTTP: never a 5xx, never a hang."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.emulator.service_model import service_model
from fixtures.strategies import invalid_training_job_requests

OPERATIONS = [op for op in service_model("sagemaker").operation_names
              if op.split("Job")[0] in ("CreateTraining", "DescribeTraining", "ListTraining", "StopTraining",
                                        "CreateTransform", "DescribeTransform", "ListTransform", "StopTransform")
              or op in ("CreateModel", "DescribeModel", "ListModels", "DeleteModel")]
# HARNESS_FUZZ_EXAMPLES raises the count for a long fuzzing run; the suite's default keeps it quick.
SETTINGS = settings(max_examples=int(os.environ.get("HARNESS_FUZZ_EXAMPLES", "200")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _post(endpoint: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(endpoint, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")}


@SETTINGS
@given(case=invalid_training_job_requests())
def test_invalid_create_training_job_is_a_validation_exception(sagemaker: Any,
                                                               case: tuple[str, dict[str, Any]]) -> None:
    what, request = case
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**request)
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, what
    assert error["Error"]["Code"] == "ValidationException", what
    assert "validation error" in error["Error"]["Message"] and "failed to satisfy constraint" in \
        error["Error"]["Message"], what


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=30), inner, max_size=4),
    max_leaves=12)
MEMBER_NAMES = st.sampled_from(["TrainingJobName", "ModelName", "TransformJobName", "MaxResults", "NextToken",
                                "SortBy", "HyperParameters", "ResourceConfig", "TransformInput", "Tags",
                                "PrimaryContainer", "CreationTimeAfter", "StatusEquals", "MaxPayloadInMB"])


@SETTINGS
@given(operation=st.sampled_from(OPERATIONS),
       body=st.dictionaries(MEMBER_NAMES | st.text(max_size=20), JSON_VALUES, max_size=6).map(
           lambda d: json.dumps(d).encode()))
def test_any_json_body_gets_an_answer_never_a_server_error(emulator: Any, operation: str, body: bytes) -> None:
    status, answer = _post(emulator.endpoint_url, f"SageMaker.{operation}", body)
    assert status < 500, answer
    if status >= 400:
        assert set(answer) == {"__type", "message"} and answer["message"], answer


HEADER_SAFE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@SETTINGS
@given(target=HEADER_SAFE.map(lambda name: f"SageMaker.{name}")
       | st.sampled_from(OPERATIONS).map(lambda op: f"SageMaker.{op}"),
       body=st.binary(max_size=500))
def test_garbage_gets_an_answer_never_a_server_error(emulator: Any, target: str, body: bytes) -> None:
    status, answer = _post(emulator.endpoint_url, target, body)
    assert 400 <= status < 500 or status == 200, answer


def test_the_server_is_healthy_after_the_fuzzing(sagemaker: Any) -> None:
    assert "TrainingJobSummaries" in sagemaker.list_training_jobs(MaxResults=1)
