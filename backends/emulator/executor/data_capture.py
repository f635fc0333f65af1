"""Data capture: an endpoint's sampled requests and answers, written to S3 as SageMaker lays them out.

Each captured invocation is one JSON line:

    {"captureData": {"endpointInput": {"observedContentType": ..., "mode": "INPUT", "data": ..., "encoding": ...},
                     "endpointOutput": {"observedContentType": ..., "mode": "OUTPUT", "data": ..., ...}},
     "eventMetadata": {"eventId": <uuid>, "inferenceId": <the request's InferenceId, if any>,
                       "inferenceTime": "2026-11-30T19:00:00Z"},
     "eventVersion": "0"}

`encoding` is CSV or JSON (the data as text) when the content type is one of the config's
`CaptureContentTypeHeader` CSV or JSON types, else BASE64. Lines are buffered per variant and written as one
object per flush under `<DestinationS3Uri>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<mm-ss-mmm>-<uuid>.jsonl`
(UTC; the hour of the first line). SageMaker writes a file every few minutes; the emulator flushes every
`flush_seconds` (one second by default), when the endpoint's deployment is replaced or deleted, and at stop.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from .invocations import Answer, Invocation


class CaptureWriter:
    def __init__(self, s3: Any, endpoint: str, config: dict[str, Any], flush_seconds: float = 1.0) -> None:
        self.s3 = s3
        self.endpoint = endpoint
        self.destination = config["DestinationS3Uri"].rstrip("/")
        self.sampling = int(config.get("InitialSamplingPercentage", 100))
        modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])}
        self.capture_input = "Input" in modes
        self.capture_output = "Output" in modes
        header = config.get("CaptureContentTypeHeader") or {}
        self.csv_types = {t.lower() for t in header.get("CsvContentTypes", [])}
        self.json_types = {t.lower() for t in header.get("JsonContentTypes", [])}
        self.flush_seconds = flush_seconds
        self._lines: dict[str, list[tuple[float, str]]] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def record(self, variant: str, request: Invocation, answer: Answer) -> None:
        """Capture one successful invocation, if sampled."""
        if answer.status >= 300 or random.uniform(0, 100) >= self.sampling:
            return
        now = time.time()
        data: dict[str, Any] = {}
        if self.capture_input:
            data["endpointInput"] = self._payload("INPUT", request.content_type, request.body)
        if self.capture_output:
            data["endpointOutput"] = self._payload("OUTPUT", answer.content_type, answer.body)
        metadata: dict[str, Any] = {"eventId": str(uuid.uuid4())}
        if request.inference_id:
            metadata["inferenceId"] = request.inference_id
        metadata["inferenceTime"] = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})
        with self._lock:
            self._lines.setdefault(variant, []).append((now, line))

    def flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._lines = self._lines, {}
            self._last_flush = time.monotonic()
        for variant, lines in pending.items():
            first = datetime.fromtimestamp(lines[0][0], timezone.utc)
            bucket, _, prefix = self.destination.removeprefix("s3://").partition("/")
            key = "/".join(part for part in (
                prefix, self.endpoint, variant, first.strftime("%Y/%m/%d/%H"),
                f"{first.strftime('%M-%S')}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl") if part)
            body = "".join(line + "\n" for _, line in lines).encode()
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonlines")

    def close(self) -> None:
        self.flush()

    def _payload(self, mode: str, content_type: str | None, body: bytes) -> dict[str, Any]:
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type in self.csv_types:
            encoding, data = "CSV", body.decode("utf-8", errors="replace")
        elif media_type in self.json_types:
            encoding, data = "JSON", body.decode("utf-8", errors="replace")
        else:
            encoding, data = "BASE64", base64.b64encode(body).decode()
        return {"observedContentType": content_type or "", "mode": mode, "data": data, "encoding": encoding}
