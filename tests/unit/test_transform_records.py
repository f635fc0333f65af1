"""Splitting input objects into records: lines, MXNet RecordIO, TFRecord, and gzip input."""

from __future__ import annotations

import gzip
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.transform.compression import decompress
from backends.emulator.transform.crc32c import crc32c, masked_crc32c
from backends.emulator.transform.errors import TransformError
from backends.emulator.transform.recordio import (
    MAGIC,
    RecordIOFormatError,
    frame_record,
    split_recordio,
)
from backends.emulator.transform.records import split_binary, split_lines
from backends.emulator.transform.settings import CompressionType, SplitType
from backends.emulator.transform.tfrecord import TFRecordFormatError, split_tfrecord
from backends.emulator.transform.tfrecord import frame_record as frame_tfrecord

# ----------------------------------------------------------------------------------------------------------
# Line


@pytest.mark.parametrize(
    ("data", "records"),
    [
        (b"", []),
        (b"a,b\n", [b"a,b"]),
        (b"a,b", [b"a,b"]),  # a last line without newline is a record
        (b"a\nb\n", [b"a", b"b"]),  # the empty remainder after the final newline is not
        (b"a\nb", [b"a", b"b"]),
        (b"a\r\nb\r\n", [b"a", b"b"]),  # CRLF gives the same records as LF
        (b"a\r\nb", [b"a", b"b"]),
        (b"a\rb\n", [b"a\rb"]),  # a lone CR is data
        (b"a\r", [b"a\r"]),  # ... also at the very end, where no LF follows it
        (b"\n", [b""]),
        (b"a\n\nb\n", [b"a", b"", b"b"]),  # empty lines inside the object are records
        (b"a\n\n", [b"a", b""]),
    ],
)
def test_split_lines(data: bytes, records: list[bytes]) -> None:
    assert split_lines(data) == records


@given(st.lists(st.binary().filter(lambda line: b"\n" not in line and not line.endswith(b"\r")), max_size=20))
def test_split_lines_inverts_joining_with_newlines(lines: list[bytes]) -> None:
    assert split_lines(b"".join(line + b"\n" for line in lines)) == lines
    assert split_lines(b"".join(line + b"\r\n" for line in lines)) == lines


# ----------------------------------------------------------------------------------------------------------
# RecordIO: expected bytes written out by hand from dmlc-core's format description.

MAGIC_LE = b"\x0a\x23\xd7\xce"


def test_recordio_magic_is_little_endian() -> None:
    assert struct.pack("<I", MAGIC) == MAGIC_LE


def test_frame_whole_record_with_padding() -> None:
    # magic, lrecord = length 3 with flag 0, data, one zero byte to reach a multiple of 4
    assert frame_record(b"abc") == MAGIC_LE + b"\x03\x00\x00\x00" + b"abc" + b"\x00"


def test_frame_aligned_record_has_no_padding() -> None:
    assert frame_record(b"abcd") == MAGIC_LE + b"\x04\x00\x00\x00" + b"abcd"


def test_frame_empty_record() -> None:
    assert frame_record(b"") == MAGIC_LE + b"\x00\x00\x00\x00"


def test_frame_cuts_the_record_at_an_aligned_magic_number() -> None:
    data = b"wxyz" + MAGIC_LE + b"12"
    expected = (
        MAGIC_LE + b"\x04\x00\x00\x20" + b"wxyz"  # flag 1 (start), length 4
        + MAGIC_LE + b"\x02\x00\x00\x60" + b"12\x00\x00"  # flag 3 (end), length 2, padded
    )
    assert frame_record(data) == expected


def test_frame_with_magic_at_start_and_middle() -> None:
    data = MAGIC_LE + b"abcd" + MAGIC_LE + b"e"
    expected = (
        MAGIC_LE + b"\x00\x00\x00\x20"  # flag 1, empty first part
        + MAGIC_LE + b"\x04\x00\x00\x40" + b"abcd"  # flag 2, middle part
        + MAGIC_LE + b"\x01\x00\x00\x60" + b"e\x00\x00\x00"  # flag 3, last part
    )
    assert frame_record(data) == expected


def test_unaligned_magic_is_plain_data() -> None:
    data = b"x" + MAGIC_LE + b"yz"
    assert frame_record(data) == MAGIC_LE + b"\x07\x00\x00\x00" + data + b"\x00"


def test_split_recordio_keeps_frames_and_data() -> None:
    first = frame_record(b"abc")
    second = frame_record(b"wxyz" + MAGIC_LE + b"12")
    records = split_recordio(first + second)
    assert [record.data for record in records] == [b"abc", b"wxyz" + MAGIC_LE + b"12"]
    assert [record.framed for record in records] == [first, second]


@given(st.lists(st.binary(max_size=40) | st.builds(lambda a, b: a * 4 + MAGIC_LE + b, st.binary(max_size=3),
                                                   st.binary(max_size=9)), max_size=10))
def test_recordio_round_trip(payloads: list[bytes]) -> None:
    framed = [frame_record(payload) for payload in payloads]
    records = split_recordio(b"".join(framed))
    assert [record.data for record in records] == payloads
    assert [record.framed for record in records] == framed
    assert all(len(frame) % 4 == 0 for frame in framed)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 8, "record 1: expected the RecordIO magic number 0xced7230a at byte 0, found 0x00000000"),
        (frame_record(b"abc") + b"\x01\x02", "record 2 at byte 12 is truncated: 2 bytes left"),
        (MAGIC_LE + b"\x08\x00\x00\x00abcd", "record 1 at byte 0 is truncated: its frame needs 16 bytes"),
        (MAGIC_LE + b"\x03\x00\x00\x00abc", "record 1 at byte 0 is truncated"),  # padding missing
        (MAGIC_LE + b"\x00\x00\x00\x40", "record 1: the frame at byte 0 has continuation flag 2, expected 0"),
        (
            MAGIC_LE + b"\x00\x00\x00\x20" + MAGIC_LE + b"\x00\x00\x00\x00",
            "record 1: the frame at byte 8 has continuation flag 0, expected 2 or 3",
        ),
        (MAGIC_LE + b"\x00\x00\x00\x20", "record 1 at byte 8 is truncated: 0 bytes left"),
        (MAGIC_LE + b"\x00\x00\x00\xe0", "continuation flag 7"),
    ],
)
def test_invalid_recordio(data: bytes, message: str) -> None:
    with pytest.raises(RecordIOFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        split_recordio(data)


def test_split_binary_names_the_object() -> None:
    with pytest.raises(TransformError) as caught:
        split_binary(b"junk-junk", SplitType.RECORDIO, "s3://b/in/x.rec")
    assert caught.value.message.startswith("s3://b/in/x.rec: cannot split the object as RecordIO: record 1:")


# ----------------------------------------------------------------------------------------------------------
# CRC-32C and TFRecord


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"", 0),
        (b"123456789", 0xE3069283),  # the CRC catalogue's check value
        (bytes(32), 0x8A9136AA),  # RFC 3720 (iSCSI) B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_known_values(data: bytes, crc: int) -> None:
    assert crc32c(data) == crc


# Two records of a TensorFlow event file (`tf.summary.scalar("accuracy", 0.99, step=77)`), byte for byte as
# `xxd` shows them: a known-good TFRecord stream written by TensorFlow itself.
EVENT_1 = b"\x09\x00\x00\x80\x38\x99\xd6\xd7\x41\x1a\x0dbrain.Event:2"
EVENT_2 = (
    b"\x09\xc4\x05\xb7\x3d\x99\xd6\xd7\x41"
    b"\x10\x4d\x2a\x25"
    b"\x0a\x23\x0a\x08accuracy"
    b"\x42\x0a\x08\x01\x12\x00\x22\x04\xa4\x70\x7d\x3f\x4a"
    b"\x0b\x0a\x09\x0a\x07scalars"
)
TFRECORD_1 = b"\x18\x00\x00\x00\x00\x00\x00\x00" + b"\xa3\x7f\x4b\x22" + EVENT_1 + b"\x12\x4b\x36\xab"
TFRECORD_2 = b"\x32\x00\x00\x00\x00\x00\x00\x00" + b"\x24\x19\x56\xec" + EVENT_2 + b"\xa5\x5b\x64\x33"


def test_masked_crc32c_matches_tensorflow() -> None:
    assert masked_crc32c(b"\x1a\x11CRC test, one two") == 0x5794D08A  # from a real event file
    assert masked_crc32c(struct.pack("<Q", 24)) == 0x224B7FA3
    assert masked_crc32c(EVENT_1) == 0xAB364B12


def test_tfrecord_framing_matches_tensorflow() -> None:
    assert frame_tfrecord(EVENT_1) == TFRECORD_1
    assert frame_tfrecord(EVENT_2) == TFRECORD_2


def test_split_tensorflow_written_tfrecords() -> None:
    records = split_tfrecord(TFRECORD_1 + TFRECORD_2)
    assert [record.data for record in records] == [EVENT_1, EVENT_2]
    assert [record.framed for record in records] == [TFRECORD_1, TFRECORD_2]


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_tfrecord_round_trip(payloads: list[bytes]) -> None:
    records = split_tfrecord(b"".join(frame_tfrecord(payload) for payload in payloads))
    assert [record.data for record in records] == payloads


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (TFRECORD_1[:10], "record 1 at byte 0 is truncated: 10 bytes left, a TFRecord header needs 12"),
        (TFRECORD_1 + TFRECORD_2[:-1], "record 2 at byte 40 is truncated: it needs 66 bytes"),
        (b"\x19" + TFRECORD_1[1:], "record 1: the length checksum at byte 8 does not match"),
        (TFRECORD_1[:-1] + b"\x00", "record 1: the data checksum at byte 36 does not match its 24 data"),
        (TFRECORD_1[:12] + b"X" + TFRECORD_1[13:], "record 1: the data checksum"),
    ],
)
def test_invalid_tfrecord(data: bytes, message: str) -> None:
    with pytest.raises(TFRecordFormatError, match=message):
        split_tfrecord(data)


def test_split_binary_tfrecord_error_names_the_object() -> None:
    with pytest.raises(TransformError, match=r"^obj: cannot split the object as TFRecord: record 1 at byte"):
        split_binary(b"short", SplitType.TFRECORD, "obj")


# ----------------------------------------------------------------------------------------------------------
# Compression


def test_gzip_input_is_decompressed() -> None:
    assert decompress(gzip.compress(b"1,2\n3,4\n"), CompressionType.GZIP, "obj") == b"1,2\n3,4\n"


def test_concatenated_gzip_members_are_all_read() -> None:
    data = gzip.compress(b"1,2\n") + gzip.compress(b"3,4\n")
    assert decompress(data, CompressionType.GZIP, "obj") == b"1,2\n3,4\n"


def test_uncompressed_input_is_untouched() -> None:
    assert decompress(b"\x1f\x8b not really", CompressionType.NONE, "obj") == b"\x1f\x8b not really"


@pytest.mark.parametrize("data", [b"1,2\n3,4\n", gzip.compress(b"1,2\n")[:-5]])
def test_invalid_gzip(data: bytes) -> None:
    with pytest.raises(TransformError) as caught:
        decompress(data, CompressionType.GZIP, "s3://b/in/test.csv.gz")
    assert caught.value.message.startswith(
        f"s3://b/in/test.csv.gz: CompressionType is Gzip but the object ({len(data)} bytes) is not valid gzip"
    )
