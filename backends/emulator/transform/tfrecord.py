"""TFRecord framing, as SageMaker splits `SplitType=TFRecord` inputs.

Each record is: uint64 data length (little-endian), uint32 masked CRC-32C of those 8 bytes, the data, and the
uint32 masked CRC-32C of the data. Both checksums are verified, so a corrupt object fails with the record
number and byte offset instead of sending garbage to the model.
"""

from __future__ import annotations

import struct

from .crc32c import masked_crc32c
from .recordio import BinaryRecord

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER_SIZE = _LENGTH.size + _CRC.size
_FOOTER_SIZE = _CRC.size


class TFRecordFormatError(ValueError):
    """The bytes are not valid TFRecord data; the message says where."""


def frame_record(data: bytes) -> bytes:
    length = _LENGTH.pack(len(data))
    return length + _CRC.pack(masked_crc32c(length)) + data + _CRC.pack(masked_crc32c(data))


def split_tfrecord(data: bytes) -> list[BinaryRecord]:
    records: list[BinaryRecord] = []
    offset = 0
    size = len(data)
    while offset < size:
        number = len(records) + 1
        if size - offset < _HEADER_SIZE:
            raise TFRecordFormatError(
                f"record {number} at byte {offset} is truncated: {size - offset} bytes left, "
                f"a TFRecord header needs {_HEADER_SIZE}"
            )
        length_bytes = data[offset : offset + _LENGTH.size]
        (length_crc,) = _CRC.unpack_from(data, offset + _LENGTH.size)
        if masked_crc32c(length_bytes) != length_crc:
            raise TFRecordFormatError(
                f"record {number}: the length checksum at byte {offset + _LENGTH.size} does not match; "
                "the object is not TFRecord data or is corrupt"
            )
        (length,) = _LENGTH.unpack(length_bytes)
        data_start = offset + _HEADER_SIZE
        end = data_start + length + _FOOTER_SIZE
        if end > size:
            raise TFRecordFormatError(
                f"record {number} at byte {offset} is truncated: it needs {end - offset} bytes "
                f"({length} data + header and footer), {size - offset} are left"
            )
        payload = data[data_start : data_start + length]
        (data_crc,) = _CRC.unpack_from(data, data_start + length)
        if masked_crc32c(payload) != data_crc:
            raise TFRecordFormatError(
                f"record {number}: the data checksum at byte {data_start + length} does not match its "
                f"{length} data bytes; the record is corrupt"
            )
        records.append(BinaryRecord(data=payload, framed=data[offset:end]))
        offset = end
    return records
