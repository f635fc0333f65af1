"""The sagemaker-runtime wire layer (rest-json): InvokeEndpoint and InvokeEndpointAsync on the gateway's port.

    POST /endpoints/{EndpointName}/invocations         the request body is the payload, the answer's body the
                                                        container's answer
    POST /endpoints/{EndpointName}/async-invocations   202, the output's S3 location in headers

Request members come from the URI and the headers the botocore service model names (Content-Type, Accept,
X-Amzn-SageMaker-Custom-Attributes, -Target-Variant, -Inference-Id, ...) and are validated against it; errors
carry their code in `x-amzn-ErrorType` and `{"Message": ...}` (plus ModelError's own members) in the body.
This module knows HTTP and shapes only; the endpoints' control plane decides what an invocation does.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .errors import InternalFailure, ModelError, ServiceError, ValidationError, ValidationException
from .executor.invocations import Answer, Invocation
from .json_protocol import read_body, region_from_authorization
from .sagemaker.context import RequestContext
from .service_model import operation_model
from .validation import validate_request

log = logging.getLogger(__name__)

SERVICE = "sagemaker-runtime"
MAX_PAYLOAD = 6 * 1024 * 1024  # InvokeEndpoint's Body: at most 6 MB (the service model's `max`)
_PATH = re.compile(r"^/endpoints/([^/]+)/(invocations|async-invocations)$")
_SIGNING_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/")
_OPERATIONS = {"invocations": "InvokeEndpoint", "async-invocations": "InvokeEndpointAsync"}
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 413: "Payload Too Large", 424: "Failed Dependency",
            500: "Internal Server Error", 503: "Service Unavailable"}

StartResponse = Callable[..., Any]


class EndpointInvoker(Protocol):
    def invoke(self, ctx: RequestContext, name: str, request: Invocation) -> Answer: ...

    def async_output(self, ctx: RequestContext, name: str) -> dict[str, Any]: ...


class AsyncSubmitter(Protocol):
    def submit(self, ctx: RequestContext, name: str, request: Invocation, input_location: str,
               output_location: str, failure_location: str | None) -> None: ...


def is_runtime_request(environ: dict[str, Any]) -> bool:
    """A POST to an endpoint's invocations path, unsigned or signed for SageMaker (S3 signs for `s3`, so a bucket
    named `endpoints` still reaches S3)."""
    if environ.get("REQUEST_METHOD") != "POST" or not _PATH.match(environ.get("PATH_INFO", "")):
        return False
    match = _SIGNING_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match is None or match.group(1) == "sagemaker"


class RuntimeApi:
    def __init__(self, endpoints: EndpointInvoker, submitter: AsyncSubmitter | None, default_region: str) -> None:
        self.endpoints = endpoints
        self.submitter = submitter
        self.default_region = default_region

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        match = _PATH.match(environ.get("PATH_INFO", ""))
        assert match is not None
        name, kind = match.group(1), match.group(2)
        operation = _OPERATIONS[kind]
        try:
            ctx = RequestContext(region=region_from_authorization(environ.get("HTTP_AUTHORIZATION"),
                                                                  self.default_region))
            params = _params(operation, environ, name)
            if operation == "InvokeEndpoint":
                return self._invoke(ctx, params, environ, start_response, request_id)
            return self._invoke_async(ctx, params, environ, start_response, request_id)
        except ServiceError as error:
            return _error(start_response, error, request_id)
        except Exception:
            log.exception("SageMakerRuntime.%s failed", operation)
            return _error(start_response, InternalFailure("An internal error occurred in the emulator."), request_id)

    def _invoke(self, ctx: RequestContext, params: dict[str, Any], environ: dict[str, Any],
                start_response: StartResponse, request_id: str) -> Iterable[bytes]:
        body = _body(environ)
        request = Invocation(body=body, content_type=params.get("ContentType"), accept=params.get("Accept"),
                             custom_attributes=params.get("CustomAttributes"),
                             target_variant=params.get("TargetVariant"), inference_id=params.get("InferenceId"))
        answer = self.endpoints.invoke(ctx, params["EndpointName"], request)
        headers = [("x-Amzn-Invoked-Production-Variant", answer.variant)]
        if answer.content_type:
            headers.append(("Content-Type", answer.content_type))
        if answer.custom_attributes:
            headers.append(("X-Amzn-SageMaker-Custom-Attributes", answer.custom_attributes))
        return _respond(start_response, 200, answer.body, headers, request_id)

    def _invoke_async(self, ctx: RequestContext, params: dict[str, Any], environ: dict[str, Any],
                      start_response: StartResponse, request_id: str) -> Iterable[bytes]:
        _body(environ)  # the payload is in S3; a body is read and ignored
        if "InputLocation" not in params:
            raise ValidationError("1 validation error detected: Value null at 'inputLocation' failed to satisfy "
                                  "constraint: Member must not be null")
        output = self.endpoints.async_output(ctx, params["EndpointName"])
        inference_id = params.get("InferenceId") or str(uuid.uuid4())
        # The objects are named by an id of their own, not by the InferenceId (as SageMaker's are).
        object_id = str(uuid.uuid4())
        output_location = f"{output['S3OutputPath'].rstrip('/')}/{object_id}.out"
        failure_path = output.get("S3FailurePath")
        failure_location = f"{failure_path.rstrip('/')}/{object_id}-error.out" if failure_path else None
        request = Invocation(body=b"", content_type=params.get("ContentType"), accept=params.get("Accept"),
                             custom_attributes=params.get("CustomAttributes"), inference_id=inference_id)
        if self.submitter is None:
            raise ValidationError(f"Endpoint {params['EndpointName']} of account {ctx.account} not found.")
        self.submitter.submit(ctx, params["EndpointName"], request, params["InputLocation"], output_location,
                              failure_location)
        headers = [("Content-Type", "application/json"), ("X-Amzn-SageMaker-OutputLocation", output_location)]
        if failure_location:
            headers.append(("X-Amzn-SageMaker-FailureLocation", failure_location))
        return _respond(start_response, 202, json.dumps({"InferenceId": inference_id}).encode(), headers,
                        request_id)


def _params(operation: str, environ: dict[str, Any], name: str) -> dict[str, Any]:
    """The operation's URI and header members, validated against the service model."""
    model = operation_model(SERVICE, operation)
    assert model is not None and model.input_shape is not None
    params: dict[str, Any] = {}
    for member, shape in model.input_shape.members.items():
        location = shape.serialization.get("location")
        if location == "uri":
            params[member] = name
        elif location == "header":
            header = shape.serialization["name"]
            key = "CONTENT_TYPE" if header.lower() == "content-type" else "HTTP_" + header.upper().replace("-", "_")
            value = environ.get(key)
            if value not in (None, ""):
                params[member] = int(value) if shape.type_name == "integer" and str(value).isdigit() else value
    checked = {k: v for k, v in params.items() if k != "Body"}
    shape = model.input_shape
    try:
        validate_request(shape, {**checked, **({"Body": ""} if "Body" in shape.required_members else {})})
    except ValidationException as problem:
        raise ValidationError(problem.message) from None
    return params


def _body(environ: dict[str, Any]) -> bytes:
    return read_body(environ, MAX_PAYLOAD, ValidationError(f"HTTP content length exceeded {MAX_PAYLOAD} bytes."),
                     ValidationError("Invalid Content-Length header."))


def _error(start_response: StartResponse, error: ServiceError, request_id: str) -> list[bytes]:
    body: dict[str, Any] = {"Message": error.message}
    if isinstance(error, ModelError):
        body = {"ErrorCode": error.error_code, **({"LogStreamArn": error.log_stream_arn} if error.log_stream_arn
                                                  else {}),
                "Message": error.message, "OriginalMessage": error.original_message,
                "OriginalStatusCode": error.original_status}
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.code)]
    return _respond(start_response, error.status, json.dumps(body).encode(), headers, request_id)


def _respond(start_response: StartResponse, status: int, body: bytes, headers: list[tuple[str, str]],
             request_id: str) -> list[bytes]:
    start_response(f"{status} {_REASONS.get(status, 'Error')}",
                   [*headers, ("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)])
    return [body]
