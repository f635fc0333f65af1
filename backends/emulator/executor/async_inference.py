"""Asynchronous inference: InvokeEndpointAsync's requests, answered from S3 to S3 in the background.

SageMaker queues the request and answers 202 at once with where the output will be. An instance then reads the
payload from `InputLocation`, invokes the model, and writes the answer to `<S3OutputPath>/<InferenceId>.out`
(with the answer's content type), or, when the model answers an error or the payload cannot be read, a text
saying why to `<S3FailurePath>/<InferenceId>-error.out` (to the output path's place when the config names no
failure path). Requests run a few at a time, in arrival order.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ..errors import ServiceError
from ..sagemaker.context import RequestContext
from .clients import AwsClients
from .invocations import Answer, Invocation
from .s3_transfer import split_uri

log = logging.getLogger(__name__)


class Invoker(Protocol):
    def invoke(self, ctx: RequestContext, name: str, request: Invocation) -> Answer: ...


class AsyncInvocations:
    def __init__(self, invoker: Invoker, clients: AwsClients, concurrency: int = 4) -> None:
        self.invoker = invoker
        self.clients = clients
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="async-inference")

    def submit(self, ctx: RequestContext, name: str, request: Invocation, input_location: str,
               output_location: str, failure_location: str | None) -> None:
        self._pool.submit(self._run, ctx, name, request, input_location, output_location, failure_location)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _run(self, ctx: RequestContext, name: str, request: Invocation, input_location: str,
             output_location: str, failure_location: str | None) -> None:
        s3 = self.clients.s3(ctx.region)
        try:
            try:
                bucket, key = split_uri(input_location)
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as exc:
                raise _Failure(f"Failed to read the input from {input_location}: {exc}") from None
            try:
                answer = self.invoker.invoke(ctx, name, dataclasses.replace(request, body=body))
            except ServiceError as error:
                raise _Failure(error.message) from None
            bucket, key = split_uri(output_location)
            extra: dict[str, Any] = {"ContentType": answer.content_type} if answer.content_type else {}
            s3.put_object(Bucket=bucket, Key=key, Body=answer.body, **extra)
        except _Failure as failure:
            bucket, key = split_uri(failure_location or output_location.removesuffix(".out") + "-error.out")
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=str(failure).encode(), ContentType="text/plain")
            except Exception:
                log.exception("async inference %s: could not write the failure to %s", request.inference_id,
                              failure_location)
        except Exception:
            log.exception("async inference %s on %s failed inside the emulator", request.inference_id, name)


class _Failure(Exception):
    pass
