"""Packing records into mini-batches: the request bodies sent to the model.

`SingleRecord` sends one record per request; `MultiRecord` sends as many consecutive records as fit in
`MaxPayloadInMB` * 1024 * 1024 bytes. A batch never mixes input objects (callers pack one object at a time),
and a record that alone exceeds the limit fails the object, since "the value in MaxPayloadInMB must be greater
than, or equal to, the size of a single record" (CreateTransformJob).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import TransformError
from .records import has_crlf
from .settings import BatchStrategy

_MB = 1024 * 1024
MAX_PAYLOAD_IN_MB = 100


@dataclass(frozen=True)
class PayloadLimit:
    megabytes: int
    bytes: int

    def describe(self) -> str:
        return f"MaxPayloadInMB={self.megabytes} ({self.bytes} bytes)"


@dataclass(frozen=True)
class Batch:
    """One request: `record_count` records starting at record index `first_record` (0-based)."""

    number: int
    first_record: int
    record_count: int
    payload: bytes

    def describe(self) -> str:
        first = self.first_record + 1
        last = self.first_record + self.record_count
        records = f"record {first}" if first == last else f"records {first}-{last}"
        return f"batch {self.number} ({records}, {len(self.payload)} bytes)"


def payload_bytes(max_payload_in_mb: int) -> int:
    return max_payload_in_mb * _MB


def payload_limit(max_payload_in_mb: int, source: str) -> PayloadLimit:
    if max_payload_in_mb == 0:
        # AWS: 0 streams each object with HTTP chunked encoding, which its built-in algorithms do not support.
        raise TransformError(
            f"{source}: MaxPayloadInMB=0 asks for HTTP chunked encoding of whole objects, which SageMaker's "
            "built-in algorithms do not support and the emulator does not implement; set MaxPayloadInMB "
            f"between 1 and {MAX_PAYLOAD_IN_MB}"
        )
    if max_payload_in_mb < 0:
        raise TransformError(f"{source}: MaxPayloadInMB must be at least 1, got {max_payload_in_mb}")
    return PayloadLimit(megabytes=max_payload_in_mb, bytes=payload_bytes(max_payload_in_mb))


def _record_too_large(source: str, number: int, size: int, limit: PayloadLimit) -> TransformError:
    return TransformError(
        f"{source}: record {number} is {size} bytes, larger than {limit.describe()}; MaxPayloadInMB must be "
        "at least the size of the largest record"
    )


def whole_object(payload: bytes, limit: PayloadLimit, source: str) -> list[Batch]:
    """`SplitType=None`: the object (already filtered) is one request, or none if it is empty."""
    if not payload:
        return []
    if len(payload) > limit.bytes:
        raise TransformError(
            f"{source}: the object is {len(payload)} bytes, larger than {limit.describe()}; with SplitType "
            "None each object is sent whole in one request, so split it (SplitType Line, RecordIO or "
            f"TFRecord) or raise MaxPayloadInMB (at most {MAX_PAYLOAD_IN_MB})"
        )
    return [Batch(number=1, first_record=0, record_count=1, payload=payload)]


def pack_items(
    items: Sequence[bytes], strategy: BatchStrategy, limit: PayloadLimit, source: str
) -> list[Batch]:
    """Pack records, each already encoded as the bytes it contributes to a request."""
    batches: list[Batch] = []

    def close(start: int, end: int) -> None:
        payload = items[start] if end - start == 1 else b"".join(items[start:end])
        batches.append(Batch(len(batches) + 1, start, end - start, payload))

    start = 0
    size = 0
    for index, item in enumerate(items):
        if len(item) > limit.bytes:
            raise _record_too_large(source, index + 1, len(item), limit)
        if index > start and (strategy is BatchStrategy.SINGLE_RECORD or size + len(item) > limit.bytes):
            close(start, index)
            start, size = index, 0
        size += len(item)
    if items:
        close(start, len(items))
    return batches


def pack_lines(buffer: bytes, limit: PayloadLimit, source: str) -> list[Batch]:
    """MultiRecord packing of the lines of `buffer`, cut at newlines rather than split into lines.

    Gives the same batches as `pack_items` over the lines (each with its `\\n`), but in time and memory that
    do not depend on the number of records: a large CSV is cut at the last newline that fits in each payload.
    A last line without a newline gets one, as every record does in `pack_items`, and CRLF line ends become LF
    as `records.split_lines` makes them.
    """
    if has_crlf(buffer):
        buffer = buffer.replace(b"\r\n", b"\n")
    batches: list[Batch] = []
    size = len(buffer)
    terminated = buffer.endswith(b"\n")
    position = 0
    records_before = 0
    while position < size:
        rest = size - position
        if rest + (0 if terminated else 1) <= limit.bytes:
            payload = buffer[position:] if terminated else buffer[position:] + b"\n"
            next_position = size
        else:
            cut = buffer.rfind(b"\n", position, position + limit.bytes)
            if cut == -1:
                newline = buffer.find(b"\n", position)
                record_size = (newline + 1 if newline != -1 else size + 1) - position
                raise _record_too_large(source, records_before + 1, record_size, limit)
            payload = buffer[position : cut + 1]
            next_position = cut + 1
        count = payload.count(b"\n")
        batches.append(Batch(len(batches) + 1, records_before, count, payload))
        records_before += count
        position = next_position
    return batches
