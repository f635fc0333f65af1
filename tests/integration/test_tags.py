"""SageMaker tags over real HTTP with boto3: Tags on Create*, AddTags, ListTags, DeleteTags, limits and errors."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from backends.emulator.errors import ValidationException
from backends.emulator.sagemaker.context import RequestContext
from backends.emulator.server import Emulator, EmulatorConfig
from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import REGION, ROLE, XGB_LEGACY, make_client, upload_csv
from tests.integration.requests import training_request
from tests.integration.test_training_api import _error, _raw_post

ACCOUNT = "123456789012"
RESERVED = "System prefix 'aws:' reserved for AWS usage in tag key: "


def _tags(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def _numbered(count: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i:02d}": f"v{i}" for i in range(count)}


def _listed(sagemaker: Any, arn: str) -> dict[str, str]:
    response = sagemaker.list_tags(ResourceArn=arn)
    assert "NextToken" not in response
    return {tag["Key"]: tag["Value"] for tag in response["Tags"]}


def _model(sagemaker: Any, name: str, tags: dict[str, str] | None = None) -> str:
    """A model with no model data (nothing to look up in S3): enough to be tagged."""
    request: dict[str, Any] = {"ModelName": name, "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": XGB_LEGACY}}
    if tags is not None:
        request["Tags"] = _tags(tags)
    arn: str = sagemaker.create_model(**request)["ModelArn"]
    return arn


def _training_job(sagemaker: Any, bucket: str, train_uri: str, name: str, tags: dict[str, str] | None = None) -> str:
    """A training job, stopped at once: tagging needs the job, not its run."""
    request = training_request(name, bucket, train_uri)
    if tags is not None:
        request["Tags"] = _tags(tags)
    arn: str = sagemaker.create_training_job(**request)["TrainingJobArn"]
    with contextlib.suppress(ClientError):  # it ended already
        sagemaker.stop_training_job(TrainingJobName=name)
    return arn


@pytest.fixture(scope="module")
def train_uri(s3: Any, bucket: str) -> str:
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": [0.1, 0.2, 0.3, 0.4]})
    return upload_csv(s3, bucket, "tags/train/train.csv", frame)


def test_tags_given_to_create_are_listed_for_every_kind(sagemaker: Any, s3: Any, bucket: str, train_uri: str,
                                                        unique: Any) -> None:
    job = unique("tagged-training")
    job_arn = _training_job(sagemaker, bucket, train_uri, job, {"team": "ml", "cost-center": "42"})

    s3.put_object(Bucket=bucket, Key="tags/model/model.tar.gz", Body=b"not a model")
    model = unique("tagged-model")
    model_arn = sagemaker.create_model(**model_request(model, XGB_LEGACY, f"s3://{bucket}/tags/model/model.tar.gz",
                                                       ROLE), Tags=_tags({"stage": "dev"}))["ModelArn"]

    transform = unique("tagged-transform")
    transform_request = transform_job_request(TransformConfig(
        job_name=transform, model_name=model, input_uri=train_uri, output_path=f"s3://{bucket}/tags/out/"))
    transform_request["Tags"] = _tags({"purpose": "batch", "stage": "test"})
    transform_arn = sagemaker.create_transform_job(**transform_request)["TransformJobArn"]

    assert job_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}"
    assert sagemaker.list_tags(ResourceArn=job_arn)["Tags"] == _tags({"team": "ml", "cost-center": "42"})
    assert sagemaker.list_tags(ResourceArn=model_arn)["Tags"] == _tags({"stage": "dev"})
    assert sagemaker.list_tags(ResourceArn=transform_arn)["Tags"] == _tags({"purpose": "batch", "stage": "test"})
    # The real Describe* responses have no Tags member, and neither do the emulator's.
    assert "Tags" not in sagemaker.describe_training_job(TrainingJobName=job)
    assert "Tags" not in sagemaker.describe_model(ModelName=model)
    assert "Tags" not in sagemaker.describe_transform_job(TransformJobName=transform)


def test_every_kind_takes_added_and_deleted_tags(sagemaker: Any, bucket: str, train_uri: str, unique: Any) -> None:
    job_arn = _training_job(sagemaker, bucket, train_uri, unique("untagged-training"))
    model_arn = _model(sagemaker, unique("untagged-model"))
    assert _listed(sagemaker, job_arn) == {}
    for arn in (job_arn, model_arn):
        sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"a": "1", "b": "2"}))
        sagemaker.delete_tags(ResourceArn=arn, TagKeys=["a"])
        assert _listed(sagemaker, arn) == {"b": "2"}


def test_add_overwrites_and_delete_ignores_absent_keys(sagemaker: Any, unique: Any) -> None:
    arn = _model(sagemaker, unique("overwrite"), {"a": "1", "b": "2"})
    added = sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"b": "20", "c": "3"}))
    assert added["Tags"] == _tags({"a": "1", "b": "20", "c": "3"})
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == _tags({"a": "1", "b": "20", "c": "3"})
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["a", "never-there"])
    assert _listed(sagemaker, arn) == {"b": "20", "c": "3"}
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["b", "c"])
    assert _listed(sagemaker, arn) == {}


def test_arn_case_and_value_may_vary(sagemaker: Any, unique: Any) -> None:
    name = unique("Mixed-Case")
    arn = _model(sagemaker, name)
    assert arn.endswith(f":model/{name.lower()}")  # SageMaker lower-cases the name in its ARNs
    sagemaker.add_tags(ResourceArn=arn.replace(name.lower(), name), Tags=_tags({"empty": ""}))
    assert _listed(sagemaker, arn) == {"empty": ""}


def test_fifty_tags_come_in_one_page_of_fifty(sagemaker: Any, emulator: Emulator, unique: Any) -> None:
    tags = _numbered(50)
    arn = _model(sagemaker, unique("fifty"), tags)
    response = sagemaker.list_tags(ResourceArn=arn, MaxResults=50)
    assert response["Tags"] == _tags(tags) and "NextToken" not in response
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == _tags(tags)  # the default page holds every tag
    # Smaller pages are refused by the service model (MaxResults min 50): botocore checks it on the client, so
    # the request goes raw.
    status, body = _raw_post(emulator.endpoint_url, "SageMaker.ListTags",
                             json.dumps({"ResourceArn": arn, "MaxResults": 7}).encode())
    assert (status, body["__type"]) == (400, "ValidationException")
    assert body["message"] == ("1 validation error detected: Value '7' at 'maxResults' failed to satisfy constraint: "
                               "Member must have value greater than or equal to 50")


def test_pages_of_seven_through_the_component(sagemaker: Any, emulator: Emulator, unique: Any) -> None:
    """The paging itself, below the wire's MaxResults >= 50 (the only way to see more than one page)."""
    tags = _numbered(50)
    arn = _model(sagemaker, unique("paged"), tags)
    ctx = RequestContext(region=REGION)
    seen: list[dict[str, str]] = []
    sizes = []
    token = None
    while True:
        params: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 7}
        if token:
            params["NextToken"] = token
        page = emulator.tags.list_tags(ctx, params)
        sizes.append(len(page["Tags"]))
        seen += page["Tags"]
        token = page["NextToken"]
        if token is None:
            break
    assert sizes == [7] * 7 + [1]
    assert seen == _tags(tags)  # every tag once, in order
    other = _model(sagemaker, unique("other"), {"x": "y"})
    first = emulator.tags.list_tags(ctx, {"ResourceArn": arn, "MaxResults": 7})["NextToken"]
    with pytest.raises(ValidationException, match="pagination token is invalid"):
        emulator.tags.list_tags(ctx, {"ResourceArn": other, "MaxResults": 7, "NextToken": first})


def test_a_bad_next_token_is_refused(sagemaker: Any, unique: Any) -> None:
    arn = _model(sagemaker, unique("token"), {"a": "b"})
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_tags(ResourceArn=arn, NextToken="not-a-token")
    assert _error(excinfo) == ("ValidationException",
                               "The pagination token is invalid or does not match this request.", 400)


def test_a_resource_holds_at_most_fifty_tags(sagemaker: Any, unique: Any) -> None:
    existing = _numbered(49)
    arn = _model(sagemaker, unique("limit"), existing)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"new1": "x", "new2": "y"}))
    assert _error(excinfo) == (
        "ValidationException",
        f"Tag limit exceeded for resource {arn}: a resource can have at most 50 tags, and this request would "
        "leave it with 51.", 400)
    assert _listed(sagemaker, arn) == existing  # nothing of the refused request was added
    # Overwriting an existing key adds no tag: 49 + 1 new = 50 is allowed.
    sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"k00": "changed", "new1": "x"}))
    assert _listed(sagemaker, arn) == {**existing, "k00": "changed", "new1": "x"}


def test_more_than_fifty_tags_in_one_request_fail_validation(sagemaker: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        _model(sagemaker, unique("too-many"), _numbered(51))
    code, message, status = _error(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value '[")
    assert message.endswith("at 'tags' failed to satisfy constraint: Member must have length less than or equal "
                            "to 50")


def test_keys_with_the_aws_prefix_are_refused(sagemaker: Any, unique: Any) -> None:
    arn = _model(sagemaker, unique("reserved"), {"keep": "me"})
    for key in ("aws:cloudformation:stack-name", "AWS:Owner"):
        with pytest.raises(ClientError) as excinfo:
            sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"fine": "1", key: "x"}))
        assert _error(excinfo) == ("ValidationException", RESERVED + key, 400)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.delete_tags(ResourceArn=arn, TagKeys=["keep", "aws:cloudformation:stack-name"])
    assert _error(excinfo) == ("ValidationException", RESERVED + "aws:cloudformation:stack-name", 400)
    assert _listed(sagemaker, arn) == {"keep": "me"}  # neither the add nor the delete changed anything
    # A value may start with aws:, only keys may not.
    sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"origin": "aws:made"}))
    assert _listed(sagemaker, arn)["origin"] == "aws:made"


def test_create_with_a_reserved_key_creates_nothing(sagemaker: Any, unique: Any) -> None:
    name = unique("reserved-create")
    with pytest.raises(ClientError) as excinfo:
        _model(sagemaker, name, {"aws:owner": "me"})
    assert _error(excinfo) == ("ValidationException", RESERVED + "aws:owner", 400)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_model(ModelName=name)
    assert _error(excinfo)[1].startswith("Could not find model")


def test_unknown_and_malformed_arns(sagemaker: Any, unique: Any) -> None:
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{unique('no-such-model')}"
    elsewhere = _model(sagemaker, unique("here")).replace(f":{REGION}:", ":eu-west-1:")
    for arn in (missing, elsewhere):
        for call in (lambda a: sagemaker.list_tags(ResourceArn=a),
                     lambda a: sagemaker.add_tags(ResourceArn=a, Tags=_tags({"a": "b"})),
                     lambda a: sagemaker.delete_tags(ResourceArn=a, TagKeys=["a"])):
            with pytest.raises(ClientError) as excinfo:
                call(arn)
            assert _error(excinfo) == ("ValidationException", f"Could not find resource {arn}.", 400)

    untaggable = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:no-such-type/x"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_tags(ResourceArn=untaggable)
    assert _error(excinfo) == (
        "ValidationException", f"The ARN {untaggable} does not name a SageMaker resource that can be tagged.", 400)

    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_tags(ResourceArn="arn:aws:s3:::bucket")
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value 'arn:aws:s3:::bucket' at 'resourceArn' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+", 400)


def test_deleted_model_takes_its_tags_along(sagemaker: Any, unique: Any) -> None:
    name = unique("recreated")
    arn = _model(sagemaker, name, {"old": "1"})
    sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"added": "2"}))
    sagemaker.delete_model(ModelName=name)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_tags(ResourceArn=arn)
    assert _error(excinfo)[1] == f"Could not find resource {arn}."
    assert _model(sagemaker, name) == arn
    assert _listed(sagemaker, arn) == {}
    sagemaker.delete_model(ModelName=name)
    _model(sagemaker, name, {"new": "3"})
    assert _listed(sagemaker, arn) == {"new": "3"}


def test_tags_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(state_dir=tmp_path / "state", persist_services=False)
    with Emulator(config) as emulator:
        sagemaker = make_client("sagemaker", emulator.endpoint_url)
        arn = _model(sagemaker, "durable", {"a": "1"})
        sagemaker.add_tags(ResourceArn=arn, Tags=_tags({"b": "2"}))
    with Emulator(config) as restarted:
        sagemaker = make_client("sagemaker", restarted.endpoint_url)
        assert _listed(sagemaker, arn) == {"a": "1", "b": "2"}
        assert "Tags" not in sagemaker.describe_model(ModelName="durable")

