"""Errors the emulated services answer with, in AWS's vocabulary.

Every error carries the wire code (`__type`) and HTTP status the real service uses, so the protocol layer
can render it without knowing which operation raised it.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error answered to the client as `{"__type": code, "message": message}`."""

    code = "InternalFailure"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationException(ServiceError):
    """Bad input, and (as SageMaker does) most "not found" cases."""

    code = "ValidationException"
    status = 400


class ResourceInUse(ServiceError):
    code = "ResourceInUse"
    status = 400


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"
    status = 400


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"
    status = 400


class SerializationException(ServiceError):
    """The body is not JSON, or a member has the wrong JSON type."""

    code = "SerializationException"
    status = 400


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"
    status = 400


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


# sagemaker-runtime's errors (rest-json: the code travels in the x-amzn-ErrorType header).


class ValidationError(ServiceError):
    """sagemaker-runtime's bad request, and its missing endpoint."""

    code = "ValidationError"
    status = 400


class ModelError(ServiceError):
    """The model container answered an invocation with an error: the platform answers 424 with its status and
    text."""

    code = "ModelError"
    status = 424

    def __init__(self, message: str, original_status: int, original_message: str, log_stream_arn: str | None,
                 kind: str = "CLIENT") -> None:
        super().__init__(message)
        self.error_code = f"{kind}_ERROR_FROM_MODEL"
        self.original_status = original_status
        self.original_message = original_message
        self.log_stream_arn = log_stream_arn


class ServiceUnavailable(ServiceError):
    code = "ServiceUnavailable"
    status = 503
