"""The awsJson1_1 wire protocol: `POST /` with `X-Amz-Target: <Prefix>.<Operation>` and a JSON body.

This module knows bytes, headers and shapes; it knows nothing about what an operation does.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from .errors import SerializationException, ServiceError

CONTENT_TYPE = "application/x-amz-json-1.1"

_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def parse_target(target: str) -> tuple[str, str]:
    """Split `SageMaker.CreateTrainingJob` into its prefix and operation name."""
    prefix, _, operation = target.partition(".")
    return prefix, operation


def region_from_authorization(header: str | None, default: str) -> str:
    """The region a SigV4-signed request was signed for; the emulator answers in that region."""
    if header:
        match = _CREDENTIAL_REGION.search(header)
        if match:
            return match.group(1)
    return default


def read_body(environ: dict[str, Any], limit: int, too_large: ServiceError, bad_length: ServiceError) -> bytes:
    """The request's body, at most `limit` bytes; `too_large` is raised (HTTP 413) for a longer one, after reading it
    all so that the client reads the answer rather than a reset connection."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise bad_length from None
    stream = environ["wsgi.input"]
    if length > limit:
        remaining = length
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
        too_large.status = 413
        raise too_large
    if length <= 0:
        return b""
    data: bytes = stream.read(length)
    return data


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty request."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return parsed


def error_body(error: ServiceError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode()


def serialize_output(shape: StructureShape | None, data: dict[str, Any] | None) -> bytes:
    """Render an operation's output. Absent members and empty optional structures are omitted, because
    strict clients (the SageMaker SDK 3.x parses into pydantic models) reject a structure missing its
    required members."""
    if shape is None or data is None:
        return b"{}"
    return json.dumps(_shape_value(shape, data)).encode()


def _shape_value(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = {}
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue
            rendered = _shape_value(member, member_value)
            if isinstance(member, StructureShape) and rendered == {}:
                continue
            out[name] = rendered
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_shape_value(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _shape_value(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, datetime):
        return value.timestamp()
    return value
