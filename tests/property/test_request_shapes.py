"""For any workflow configuration, the requests validate against the botocore model and the service's own
checks, and are the same for every backend except where SDK local mode requires otherwise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botocore.validate import ParamValidator
from hypothesis import given, settings

from backends.emulator.backend import EmulatorBackend
from backends.emulator.service_model import operation_model
from backends.emulator.validation import validate_request
from backends.local import LocalBackend
from backends.sagemaker import SageMakerBackend
from fixtures.strategies import training_configs, transform_configs
from harness.requests import TrainingConfig, TransformConfig, training_job_request, transform_job_request

INSTANCE_TYPES = {backend.name: backend.instance_type for backend in (EmulatorBackend, SageMakerBackend, LocalBackend)}


def _valid(operation: str, request: dict[str, Any]) -> None:
    model = operation_model("sagemaker", operation)
    assert model is not None
    report = ParamValidator().validate(request, model.input_shape)  # what botocore checks on the client
    assert not report.has_errors(), report.generate_report()
    validate_request(model.input_shape, request)  # max, pattern and enum, as the service checks them


@settings(max_examples=150, deadline=None)
@given(training_configs())
def test_training_requests_are_valid_and_backend_independent(config: TrainingConfig) -> None:
    requests = {name: training_job_request(replace(config, instance_type=instance_type))
                for name, instance_type in INSTANCE_TYPES.items()}
    _valid("CreateTrainingJob", requests["emulator"])
    assert requests["emulator"] == requests["sagemaker"]
    local = requests["local"]
    assert local["ResourceConfig"]["InstanceType"] == "local"
    assert {**local, "ResourceConfig": requests["emulator"]["ResourceConfig"]} == requests["emulator"]


@settings(max_examples=150, deadline=None)
@given(transform_configs())
def test_transform_requests_are_valid_and_backend_independent(config: TransformConfig) -> None:
    requests = {name: transform_job_request(replace(config, instance_type=instance_type))
                for name, instance_type in INSTANCE_TYPES.items()}
    _valid("CreateTransformJob", requests["emulator"])
    assert requests["emulator"] == requests["sagemaker"]
    local = requests["local"]
    assert local["TransformResources"]["InstanceType"] == "local"
    assert {**local, "TransformResources": requests["emulator"]["TransformResources"]} == requests["emulator"]
