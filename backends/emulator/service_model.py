"""The botocore service models: the single source of truth for operation names and shapes."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel


@cache
def service_model(service: str) -> ServiceModel:
    """The service model botocore ships for `service` (e.g. "sagemaker", "logs")."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel | None:
    """The model of `operation` (e.g. "CreateTrainingJob"), or None if the service has no such operation."""
    model = service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)
