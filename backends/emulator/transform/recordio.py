"""MXNet RecordIO framing (dmlc-core `recordio.h`), as SageMaker splits `SplitType=RecordIO` inputs.

Each frame is: magic 0xced7230a (uint32, little-endian), a uint32 `lrecord` whose upper 3 bits are a
continuation flag and lower 29 bits the data length, the data, then zero padding to a multiple of 4 bytes.
A record whose data contains the magic number at a 4-byte-aligned offset is written as several frames, cut
at each occurrence (flag 1 = first part, 2 = middle, 3 = last; 0 = a whole record); readers put the magic
back between the parts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_LENGTH_BITS = 29
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
MAX_RECORD_LENGTH = _LENGTH_MASK

_WHOLE, _FIRST, _MIDDLE, _LAST = 0, 1, 2, 3


class RecordIOFormatError(ValueError):
    """The bytes are not valid RecordIO; the message says where."""


@dataclass(frozen=True)
class BinaryRecord:
    """One record of a binary format: its data, and the bytes it occupies in the object."""

    data: bytes
    framed: bytes


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _frame(flag: int, part: bytes) -> bytes:
    padding = b"\x00" * (_padded(len(part)) - len(part))
    return _HEADER.pack(MAGIC, (flag << _LENGTH_BITS) | len(part)) + part + padding


def frame_record(data: bytes) -> bytes:
    """Encode one record the way dmlc-core's RecordIOWriter does, cutting it at aligned magic numbers."""
    if len(data) > MAX_RECORD_LENGTH:
        raise ValueError(f"a RecordIO record holds at most {MAX_RECORD_LENGTH} bytes, got {len(data)}")
    frames = []
    start = 0
    aligned_end = len(data) & ~3
    for offset in range(0, aligned_end, 4):
        if data[offset : offset + 4] == _MAGIC_BYTES:
            frames.append(_frame(_FIRST if start == 0 else _MIDDLE, data[start:offset]))
            start = offset + 4
    frames.append(_frame(_LAST if frames else _WHOLE, data[start:]))
    return b"".join(frames)


def split_recordio(data: bytes) -> list[BinaryRecord]:
    """Split an object into records, keeping each record's frames (for MultiRecord) and its data."""
    records: list[BinaryRecord] = []
    offset = 0
    size = len(data)
    while offset < size:
        start = offset
        parts: list[bytes] = []
        while True:
            number = len(records) + 1
            if size - offset < _HEADER.size:
                raise RecordIOFormatError(
                    f"record {number} at byte {offset} is truncated: {size - offset} bytes left, "
                    f"a RecordIO header needs {_HEADER.size}"
                )
            magic, lrecord = _HEADER.unpack_from(data, offset)
            if magic != MAGIC:
                raise RecordIOFormatError(
                    f"record {number}: expected the RecordIO magic number 0x{MAGIC:08x} at byte {offset}, "
                    f"found 0x{magic:08x}"
                )
            flag = lrecord >> _LENGTH_BITS
            length = lrecord & _LENGTH_MASK
            continuing = bool(parts)
            if flag not in ((_MIDDLE, _LAST) if continuing else (_WHOLE, _FIRST)):
                expected = "2 or 3 (a continuation)" if continuing else "0 or 1 (a record start)"
                raise RecordIOFormatError(
                    f"record {number}: the frame at byte {offset} has continuation flag {flag}, expected "
                    f"{expected}"
                )
            end = offset + _HEADER.size + _padded(length)
            if end > size:
                raise RecordIOFormatError(
                    f"record {number} at byte {offset} is truncated: its frame needs {end - offset} bytes "
                    f"({length} data + header and padding), {size - offset} are left"
                )
            parts.append(data[offset + _HEADER.size : offset + _HEADER.size + length])
            offset = end
            if flag in (_WHOLE, _LAST):
                break
        records.append(BinaryRecord(data=_MAGIC_BYTES.join(parts), framed=data[start:offset]))
    return records
