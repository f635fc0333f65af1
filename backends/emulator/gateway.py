"""One HTTP endpoint for every service a SageMaker program talks to.

Requests whose `X-Amz-Target` names SageMaker go to our control plane, endpoint invocations
(`POST /endpoints/<name>/invocations`, sagemaker-runtime) to the endpoints' model servers; everything else (S3,
CloudWatch Logs, STS, IAM...) goes to the services application: an embedded moto, or a proxy to an upstream such as
LocalStack. So `AWS_ENDPOINT_URL` alone points a whole program at the emulator.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from .errors import InternalFailure, SerializationException, ServiceError
from .json_protocol import CONTENT_TYPE, error_body, parse_target, read_body, region_from_authorization
from .sagemaker.api import SageMakerApi
from .sagemaker.context import RequestContext
from .sagemaker_runtime import RuntimeApi, is_runtime_request

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# SageMaker requests are small JSON documents; anything larger is a client mistake, not a job for memory.
MAX_SAGEMAKER_BODY = 8 * 1024 * 1024

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
            500: "Internal Server Error"}


class Gateway:
    def __init__(self, sagemaker: SageMakerApi, services: WSGIApp, default_region: str,
                 runtime: RuntimeApi | None = None) -> None:
        self.sagemaker = sagemaker
        self.services = services
        self.default_region = default_region
        self.runtime = runtime  # sagemaker-runtime: endpoint invocations

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, operation = parse_target(target)
        if prefix == "SageMaker":
            return self._sagemaker(environ, start_response, operation)
        if self.runtime is not None and not target and is_runtime_request(environ):
            return self.runtime(environ, start_response)
        if environ.get("PATH_INFO") == "/_harness/health":
            return _respond(start_response, 200, b'{"status": "ok"}', "application/json", str(uuid.uuid4()))
        return self.services(environ, start_response)

    def _sagemaker(self, environ: dict[str, Any], start_response: Callable[..., Any], operation: str
                   ) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise SerializationException("SageMaker operations are called with POST /.")
            body = _read_body(environ)
            region = region_from_authorization(environ.get("HTTP_AUTHORIZATION"), self.default_region)
            payload = self.sagemaker.handle(operation, body, RequestContext(region=region))
            return _respond(start_response, 200, payload, CONTENT_TYPE, request_id)
        except ServiceError as error:
            return _respond(start_response, error.status, error_body(error), CONTENT_TYPE, request_id)
        except Exception:
            log.exception("SageMaker.%s failed", operation)
            failure = InternalFailure("We encountered an internal error. Please try again.")
            return _respond(start_response, failure.status, error_body(failure), CONTENT_TYPE, request_id)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    return read_body(environ, MAX_SAGEMAKER_BODY,
                     SerializationException(f"Request body of {length} bytes exceeds the limit of "
                                            f"{MAX_SAGEMAKER_BODY}."),
                     SerializationException("Invalid Content-Length header."))


def _respond(start_response: Callable[..., Any], status: int, body: bytes, content_type: str, request_id: str
             ) -> list[bytes]:
    start_response(f"{status} {_REASONS.get(status, 'Error')}", [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
    ])
    return [body]
