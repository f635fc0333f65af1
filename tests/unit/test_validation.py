"""Request validation from the botocore model, with AWS's wording."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.emulator.errors import SerializationException, ValidationException
from backends.emulator.service_model import operation_model
from backends.emulator.validation import validate_request


def _shape(operation: str) -> Any:
    model = operation_model("sagemaker", operation)
    assert model is not None
    return model.input_shape


def _message(operation: str, params: dict[str, Any]) -> str:
    with pytest.raises(ValidationException) as excinfo:
        validate_request(_shape(operation), params)
    return excinfo.value.message


def test_valid_request_passes() -> None:
    validate_request(_shape("DescribeTrainingJob"), {"TrainingJobName": "ok-name-1"})


def test_required_member_missing() -> None:
    assert _message("DescribeTrainingJob", {}) == (
        "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
        "Member must not be null")


def test_numeric_range_and_list_length() -> None:
    message = _message("ListTrainingJobs", {"MaxResults": 101})
    assert message == ("1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
                       "Member must have value less than or equal to 100")


def test_enum_lists_the_allowed_values() -> None:
    message = _message("ListTrainingJobs", {"SortOrder": "Up"})
    assert "Value 'Up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: " \
        "[Ascending, Descending]" in message


def test_java_unicode_classes_in_patterns() -> None:
    # Tag keys use \\p{L}: letters of any script are fine, a '!' is not.
    shape = _shape("CreateModel")
    validate_request(shape, {"ModelName": "m", "Tags": [{"Key": "Größe", "Value": "x"}]})
    with pytest.raises(ValidationException) as excinfo:
        validate_request(shape, {"ModelName": "m", "Tags": [{"Key": "bad!", "Value": "x"}]})
    assert "at 'tags.1.member.key'" in excinfo.value.message


def test_wrong_json_type_is_a_serialization_error() -> None:
    with pytest.raises(SerializationException):
        validate_request(_shape("ListTrainingJobs"), {"MaxResults": "10"})
    with pytest.raises(SerializationException):
        validate_request(_shape("ListTrainingJobs"), {"MaxResults": True})


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["TrainingJobName", "HyperParameters", "ResourceConfig", "Tags", "RoleArn",
                                        "InputDataConfig", "StoppingCondition", "Other"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
                                    lambda inner: st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)))
def test_any_input_gives_a_client_error_or_passes(params: dict[str, Any]) -> None:
    try:
        validate_request(_shape("CreateTrainingJob"), params)
    except (ValidationException, SerializationException) as error:
        assert error.status == 400
        assert error.message
