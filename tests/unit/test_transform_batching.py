"""Packing records into requests under MaxPayloadInMB, per BatchStrategy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.transform.batching import (
    Batch,
    PayloadLimit,
    pack_items,
    pack_lines,
    payload_limit,
    whole_object,
)
from backends.emulator.transform.errors import TransformError
from backends.emulator.transform.records import split_lines
from backends.emulator.transform.settings import BatchStrategy

MULTI = BatchStrategy.MULTI_RECORD
SINGLE = BatchStrategy.SINGLE_RECORD


def limit_of(size: int) -> PayloadLimit:
    """A limit of `size` bytes, small enough to cut small test inputs into several requests."""
    return PayloadLimit(megabytes=1, bytes=size)


def test_payload_limit_is_in_mebibytes() -> None:
    assert payload_limit(6, "obj") == PayloadLimit(megabytes=6, bytes=6 * 1024 * 1024)
    assert payload_limit(100, "obj").bytes == 104_857_600


def test_max_payload_zero_is_chunked_streaming_which_is_unsupported() -> None:
    with pytest.raises(TransformError) as caught:
        payload_limit(0, "s3://b/in/test.csv")
    assert caught.value.message.startswith(
        "s3://b/in/test.csv: MaxPayloadInMB=0 asks for HTTP chunked encoding of whole objects, which "
        "SageMaker's built-in algorithms do not support"
    )


def test_negative_max_payload() -> None:
    with pytest.raises(TransformError, match="MaxPayloadInMB must be at least 1, got -1"):
        payload_limit(-1, "obj")


def test_multi_record_packs_greedily_and_in_order() -> None:
    items = [b"aaa\n", b"bb\n", b"c\n", b"dddd\n", b"e\n"]
    batches = pack_items(items, MULTI, limit_of(8), "obj")
    assert batches == [
        Batch(1, 0, 2, b"aaa\nbb\n"),
        Batch(2, 2, 2, b"c\ndddd\n"),
        Batch(3, 4, 1, b"e\n"),
    ]


def test_multi_record_fills_a_payload_exactly_to_the_limit() -> None:
    batches = pack_items([b"ab\n", b"cd\n", b"ef\n"], MULTI, limit_of(6), "obj")
    assert [batch.payload for batch in batches] == [b"ab\ncd\n", b"ef\n"]


def test_single_record_sends_one_record_per_request() -> None:
    batches = pack_items([b"a\n", b"b\n", b"c\n"], SINGLE, limit_of(100), "obj")
    assert batches == [Batch(1, 0, 1, b"a\n"), Batch(2, 1, 1, b"b\n"), Batch(3, 2, 1, b"c\n")]


def test_no_records_no_requests() -> None:
    assert pack_items([], MULTI, limit_of(10), "obj") == []
    assert pack_lines(b"", limit_of(10), "obj") == []


@pytest.mark.parametrize("strategy", [MULTI, SINGLE])
def test_record_larger_than_the_limit(strategy: BatchStrategy) -> None:
    with pytest.raises(TransformError) as caught:
        pack_items([b"ok\n", b"0123456789\n", b"ok\n"], strategy, PayloadLimit(1, 8), "s3://b/in/x.csv")
    assert caught.value.message == (
        "s3://b/in/x.csv: record 2 is 11 bytes, larger than MaxPayloadInMB=1 (8 bytes); MaxPayloadInMB must "
        "be at least the size of the largest record"
    )


def test_pack_lines_record_larger_than_the_limit() -> None:
    with pytest.raises(TransformError, match=r"^obj: record 3 is 11 bytes, larger than MaxPayloadInMB=1 "):
        pack_lines(b"ok\nok\n0123456789\nok\n", limit_of(8), "obj")


def test_pack_lines_unterminated_last_record_too_large() -> None:
    # The record is sent with a newline, so it needs one byte more than it has.
    with pytest.raises(TransformError, match=r"^obj: record 2 is 9 bytes"):
        pack_lines(b"ok\n01234567", limit_of(8), "obj")


def test_pack_lines_adds_the_missing_final_newline() -> None:
    assert pack_lines(b"a\nb", limit_of(100), "obj") == [Batch(1, 0, 2, b"a\nb\n")]
    assert pack_lines(b"a\nb", limit_of(2), "obj") == [Batch(1, 0, 1, b"a\n"), Batch(2, 1, 1, b"b\n")]


def test_batch_description() -> None:
    assert Batch(3, 10, 5, b"x" * 40).describe() == "batch 3 (records 11-15, 40 bytes)"
    assert Batch(1, 0, 1, b"abc").describe() == "batch 1 (record 1, 3 bytes)"


def test_whole_object() -> None:
    assert whole_object(b"1,2\n3,4\n", limit_of(8), "obj") == [Batch(1, 0, 1, b"1,2\n3,4\n")]
    assert whole_object(b"", limit_of(8), "obj") == []


def test_whole_object_over_the_limit() -> None:
    with pytest.raises(TransformError) as caught:
        whole_object(b"123456789", PayloadLimit(1, 8), "s3://b/in/big.csv")
    assert caught.value.message == (
        "s3://b/in/big.csv: the object is 9 bytes, larger than MaxPayloadInMB=1 (8 bytes); with SplitType "
        "None each object is sent whole in one request, so split it (SplitType Line, RecordIO or TFRecord) "
        "or raise MaxPayloadInMB (at most 100)"
    )


lines_strategy = st.lists(st.binary(max_size=12).filter(lambda line: b"\n" not in line), max_size=40)


@given(lines_strategy, st.booleans(), st.integers(min_value=13, max_value=120))
def test_pack_lines_equals_packing_each_line(lines: list[bytes], final_newline: bool, size: int) -> None:
    buffer = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    expected = pack_items([line + b"\n" for line in split_lines(buffer)], MULTI, limit_of(size), "obj")
    assert pack_lines(buffer, limit_of(size), "obj") == expected


@given(st.lists(st.binary(min_size=1, max_size=10), max_size=40), st.integers(min_value=10, max_value=60))
def test_multi_record_batches_cover_all_records_within_the_limit(items: list[bytes], size: int) -> None:
    batches = pack_items(items, MULTI, limit_of(size), "obj")
    assert b"".join(batch.payload for batch in batches) == b"".join(items)
    assert [batch.number for batch in batches] == list(range(1, len(batches) + 1))
    assert sum(batch.record_count for batch in batches) == len(items)
    position = 0
    for batch in batches:
        assert batch.first_record == position
        assert len(batch.payload) <= size
        position += batch.record_count
        if position < len(items):
            # Greedy: the next record would not have fitted.
            assert len(batch.payload) + len(items[position]) > size
