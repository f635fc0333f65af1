"""Transforming whole input objects: settings, the pipeline end to end, concurrency, and its properties."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.emulator.transform import (
    AssembleWith,
    BatchStrategy,
    CompressionType,
    JoinSource,
    SplitType,
    TransformError,
    TransformSettings,
    batching,
    transform_object,
)
from backends.emulator.transform.recordio import frame_record
from backends.emulator.transform.tfrecord import frame_record as frame_tfrecord

SOURCE = "s3://bucket/prefix/test.csv"


def digest(line: bytes) -> bytes:
    return hashlib.blake2b(line, digest_size=6).hexdigest().encode()


def line_model(payload: bytes) -> bytes:
    """One output line per input line, a digest of it: any loss, duplication or reordering shows."""
    lines = payload.split(b"\n")
    assert lines.pop() == b"", "every record is sent with its newline"
    return b"".join(digest(line) + b"\n" for line in lines)


class Recorder:
    """A model that records the requests it gets (thread-safe) and answers with `answer`."""

    def __init__(self, answer: Callable[[bytes], bytes] = line_model) -> None:
        self.answer = answer
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, payload: bytes) -> bytes:
        with self._lock:
            self.payloads.append(payload)
        return self.answer(payload)


def csv_settings(**overrides: Any) -> TransformSettings:
    """The reference workflow's transform: Line split, MultiRecord, 6 MB, text/csv, AssembleWith Line."""
    base: dict[str, Any] = {
        "split_type": SplitType.LINE,
        "batch_strategy": BatchStrategy.MULTI_RECORD,
        "max_payload_in_mb": 6,
        "assemble_with": AssembleWith.LINE,
        "content_type": "text/csv",
        "accept": "text/csv",
    }
    base.update(overrides)
    return TransformSettings(**base)


# ----------------------------------------------------------------------------------------------------------
# Settings from a CreateTransformJob request

MINIMAL_REQUEST: dict[str, Any] = {
    "TransformJobName": "job",
    "ModelName": "model",
    "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
    "TransformOutput": {"S3OutputPath": "s3://b/out"},
    "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
}


def test_defaults_of_a_minimal_request() -> None:
    assert TransformSettings.from_request(MINIMAL_REQUEST) == TransformSettings(
        split_type=SplitType.NONE,
        batch_strategy=BatchStrategy.MULTI_RECORD,
        max_payload_in_mb=6,
        assemble_with=AssembleWith.NONE,
        compression_type=CompressionType.NONE,
        content_type=None,
        accept=None,
        input_filter="$",
        output_filter="$",
        join_source=JoinSource.NONE,
    )


def test_a_full_request() -> None:
    request = {
        **MINIMAL_REQUEST,
        "BatchStrategy": "SingleRecord",
        "MaxPayloadInMB": 2,
        "TransformInput": {
            **MINIMAL_REQUEST["TransformInput"],
            "ContentType": "text/csv",
            "CompressionType": "Gzip",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out", "Accept": "text/csv", "AssembleWith": "Line"},
        "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    }
    assert TransformSettings.from_request(request) == TransformSettings(
        split_type=SplitType.LINE,
        batch_strategy=BatchStrategy.SINGLE_RECORD,
        max_payload_in_mb=2,
        assemble_with=AssembleWith.LINE,
        compression_type=CompressionType.GZIP,
        content_type="text/csv",
        accept="text/csv",
        input_filter="$[1:]",
        output_filter="$[0,-1]",
        join_source=JoinSource.INPUT,
    )


def test_partial_data_processing_keeps_the_other_defaults() -> None:
    parsed = TransformSettings.from_request({**MINIMAL_REQUEST, "DataProcessing": {"JoinSource": "Input"}})
    assert (parsed.input_filter, parsed.output_filter, parsed.join_source) == ("$", "$", JoinSource.INPUT)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BatchStrategy": "Multi"}, "BatchStrategy 'Multi' is not one of: MultiRecord, SingleRecord."),
        (
            {"TransformInput": {"SplitType": "line"}},
            "SplitType 'line' is not one of: None, Line, RecordIO, TFRecord.",
        ),
        ({"TransformInput": {"CompressionType": "Zip"}}, "CompressionType 'Zip' is not one of: None, Gzip."),
        ({"TransformOutput": {"AssembleWith": "Nl"}}, "AssembleWith 'Nl' is not one of: None, Line."),
        ({"DataProcessing": {"JoinSource": "Output"}}, "JoinSource 'Output' is not one of: None, Input."),
        ({"MaxPayloadInMB": "6"}, "MaxPayloadInMB must be an integer, got '6'."),
        ({"MaxPayloadInMB": True}, "MaxPayloadInMB must be an integer, got True."),
        ({"DataProcessing": {"InputFilter": 1}}, "DataProcessing.InputFilter must be a string, got int."),
        ({"TransformOutput": {"Accept": ["text/csv"]}}, "Accept must be a string, got list."),
    ],
)
def test_invalid_request_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TransformError) as caught:
        TransformSettings.from_request({**MINIMAL_REQUEST, **changes})
    assert caught.value.message == message


# ----------------------------------------------------------------------------------------------------------
# CSV end to end


def sum_model(payload: bytes) -> bytes:
    """Like the XGBoost container in batch mode: one prediction per row, each followed by a newline."""
    rows = payload.decode().strip().split("\n")
    return "".join(f"{sum(float(value) for value in row.split(','))}\n" for row in rows).encode()


def test_reference_workflow_csv() -> None:
    model = Recorder(sum_model)
    output = transform_object(b"1,2\n3,4\n5,6\n", csv_settings(), model, 1, source=SOURCE)
    assert output == b"3.0\n7.0\n11.0\n"
    assert model.payloads == [b"1,2\n3,4\n5,6\n"]


@pytest.mark.parametrize("strategy", list(BatchStrategy))
@pytest.mark.parametrize("concurrency", [1, 3])
def test_breast_cancer_style_id_and_prediction(strategy: BatchStrategy, concurrency: int) -> None:
    rows = b"842302,17.99,10.38\n842517,20.57,17.77\n84300903,19.69,21.25\n"
    model = Recorder(sum_model)
    settings_ = csv_settings(
        batch_strategy=strategy, input_filter="$[1:]", join_source=JoinSource.INPUT, output_filter="$[0,-1]"
    )
    output = transform_object(rows, settings_, model, concurrency, source=SOURCE)
    assert output == b"842302,28.369999999999997\n842517,38.34\n84300903,40.94\n"
    sent = sorted(model.payloads)
    if strategy is BatchStrategy.SINGLE_RECORD:
        assert sent == [b"17.99,10.38\n", b"19.69,21.25\n", b"20.57,17.77\n"]
    else:
        assert sent == [b"17.99,10.38\n20.57,17.77\n19.69,21.25\n"]


def test_join_without_output_filter_appends_the_prediction() -> None:
    settings_ = csv_settings(input_filter="$[1:]", join_source=JoinSource.INPUT)
    assert transform_object(b"7,1,2\n8,3,4\n", settings_, sum_model, 1) == b"7,1,2,3.0\n8,3,4,7.0\n"


def test_input_filter_alone_sends_filtered_rows_and_keeps_outputs_whole() -> None:
    model = Recorder(sum_model)
    output = transform_object(b"7,1,2\r\n8,3,4\r\n", csv_settings(input_filter="$[1:]"), model, 1)
    assert output == b"3.0\n7.0\n"
    assert model.payloads == [b"1,2\n3,4\n"]


def test_crlf_input_is_sent_with_lf() -> None:
    model = Recorder(sum_model)
    assert transform_object(b"1,2\r\n3,4", csv_settings(), model, 1) == b"3.0\n7.0\n"
    assert model.payloads == [b"1,2\n3,4\n"]


def test_assemble_with_line_adds_missing_newlines_per_request() -> None:
    def no_trailing_newline(payload: bytes) -> bytes:
        return sum_model(payload).rstrip(b"\n")

    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    assert transform_object(b"1,2\n3,4\n", single, no_trailing_newline, 1) == b"3.0\n7.0\n"
    assert transform_object(b"1,2\n3,4\n", csv_settings(), no_trailing_newline, 1) == b"3.0\n7.0\n"


def test_assemble_with_none_concatenates_raw_outputs() -> None:
    def bare(payload: bytes) -> bytes:
        return sum_model(payload).rstrip(b"\n")

    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD, assemble_with=AssembleWith.NONE)
    assert transform_object(b"1,2\n3,4\n", single, bare, 1) == b"3.07.0"


def test_assemble_with_none_after_join_concatenates_records() -> None:
    settings_ = csv_settings(assemble_with=AssembleWith.NONE, join_source=JoinSource.INPUT)
    assert transform_object(b"1,2\n3,4\n", settings_, sum_model, 1) == b"1,2,3.03,4,7.0"


def test_output_filter_on_model_output() -> None:
    def two_columns(payload: bytes) -> bytes:
        return b"".join(b"label,0.9\n" for _ in payload.split(b"\n")[:-1])

    settings_ = csv_settings(output_filter="$[-1]")
    assert transform_object(b"1\n2\n", settings_, two_columns, 1) == b"0.9\n0.9\n"


def test_empty_object_sends_nothing() -> None:
    model = Recorder()
    assert transform_object(b"", csv_settings(), model, 2) == b""
    assert transform_object(b"", csv_settings(split_type=SplitType.NONE), model, 2) == b""
    assert model.payloads == []


def test_empty_lines_are_records() -> None:
    model = Recorder()
    expected = digest(b"a") + b"\n" + digest(b"") + b"\n" + digest(b"b") + b"\n"
    assert transform_object(b"a\n\nb\n", csv_settings(), model, 1) == expected
    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    assert transform_object(b"a\n\nb", single, model, 1) == expected


# ----------------------------------------------------------------------------------------------------------
# SplitType None, compression, binary formats, JSON


def test_split_none_sends_the_whole_object_once() -> None:
    model = Recorder(lambda payload: b"whole:" + payload)
    settings_ = TransformSettings(split_type=SplitType.NONE, batch_strategy=BatchStrategy.SINGLE_RECORD)
    assert transform_object(b"1,2\n3,4\n", settings_, model, 4) == b"whole:1,2\n3,4\n"
    assert model.payloads == [b"1,2\n3,4\n"]


def test_split_none_object_over_the_limit() -> None:
    big = b"x" * (1024 * 1024 + 1)
    with pytest.raises(TransformError) as caught:
        transform_object(big, TransformSettings(max_payload_in_mb=1), Recorder(), 1, source=SOURCE)
    assert caught.value.message.startswith(
        f"{SOURCE}: the object is 1048577 bytes, larger than MaxPayloadInMB=1 (1048576 bytes); with "
        "SplitType None each object is sent whole in one request"
    )


def test_split_none_with_csv_join() -> None:
    settings_ = csv_settings(split_type=SplitType.NONE, input_filter="$[1:]", join_source=JoinSource.INPUT)
    model = Recorder(sum_model)
    assert transform_object(b"id9,1,2\n", settings_, model, 1) == b"id9,1,2,3.0\n"
    assert model.payloads == [b"1,2"]


def test_gzip_object() -> None:
    compressed = gzip.compress(b"1,2\n3,4\n")
    settings_ = csv_settings(compression_type=CompressionType.GZIP)
    assert transform_object(compressed, settings_, sum_model, 1) == b"3.0\n7.0\n"


def test_gzip_object_that_is_not_gzip() -> None:
    settings_ = csv_settings(compression_type=CompressionType.GZIP)
    with pytest.raises(TransformError, match=r"^s3://bucket/prefix/test.csv: CompressionType is Gzip but"):
        transform_object(b"1,2\n", settings_, sum_model, 1, source=SOURCE)


@pytest.mark.parametrize("split_type", [SplitType.RECORDIO, SplitType.TFRECORD])
def test_binary_records_keep_framing_in_multi_record(split_type: SplitType) -> None:
    frame = frame_record if split_type is SplitType.RECORDIO else frame_tfrecord
    records = [b"first", b"second record", b"3"]
    data = b"".join(frame(record) for record in records)
    model = Recorder(lambda payload: b"<" + payload + b">")
    settings_ = TransformSettings(split_type=split_type, batch_strategy=BatchStrategy.MULTI_RECORD)
    assert transform_object(data, settings_, model, 1) == b"<" + data + b">"
    assert model.payloads == [data]


@pytest.mark.parametrize("split_type", [SplitType.RECORDIO, SplitType.TFRECORD])
def test_binary_records_lose_framing_in_single_record(split_type: SplitType) -> None:
    frame = frame_record if split_type is SplitType.RECORDIO else frame_tfrecord
    records = [b"first", b"second record", b"3"]
    data = b"".join(frame(record) for record in records)
    model = Recorder(lambda payload: b"<" + payload + b">")
    settings_ = TransformSettings(
        split_type=split_type, batch_strategy=BatchStrategy.SINGLE_RECORD, assemble_with=AssembleWith.LINE
    )
    assert transform_object(data, settings_, model, 2) == b"<first>\n<second record>\n<3>\n"
    assert sorted(model.payloads) == sorted(records)


def test_recordio_multi_record_batches_whole_frames() -> None:
    frames = [frame_record(bytes([index]) * 700_000) for index in range(4)]
    model = Recorder(lambda payload: str(len(payload)).encode())
    settings_ = TransformSettings(
        split_type=SplitType.RECORDIO, max_payload_in_mb=2, assemble_with=AssembleWith.LINE
    )
    assert transform_object(b"".join(frames), settings_, model, 1) == b"1400016\n1400016\n"


def test_corrupt_recordio_fails_before_any_request() -> None:
    model = Recorder()
    settings_ = TransformSettings(split_type=SplitType.RECORDIO)
    with pytest.raises(TransformError, match=r"^in.rec: cannot split the object as RecordIO: record 2"):
        transform_object(frame_record(b"ok") + b"bad!", settings_, model, 1, source="in.rec")
    assert model.payloads == []


def json_model(payload: bytes) -> bytes:
    """One JSON line per JSON line: the sum of the array it was given."""
    return b"".join(
        json.dumps({"score": sum(json.loads(line))}).encode() + b"\n" for line in payload.split(b"\n")[:-1]
    )


@pytest.mark.parametrize("strategy", list(BatchStrategy))
def test_json_lines_join(strategy: BatchStrategy) -> None:
    data = b'{"id": "a", "features": [1, 2]}\n{"id": "b", "features": [3, 4]}\n'
    settings_ = TransformSettings(
        split_type=SplitType.LINE,
        batch_strategy=strategy,
        assemble_with=AssembleWith.LINE,
        content_type="application/jsonlines",
        accept="application/jsonlines",
        input_filter="$.features",
        join_source=JoinSource.INPUT,
        output_filter="$['id','SageMakerOutput']",
    )
    assert transform_object(data, settings_, json_model, 2) == (
        b'{"id":"a","SageMakerOutput":{"score":3}}\n{"id":"b","SageMakerOutput":{"score":7}}\n'
    )


def test_json_document_join_without_splitting() -> None:
    settings_ = TransformSettings(
        content_type="application/json", accept="application/json", join_source=JoinSource.INPUT
    )

    def model(payload: bytes) -> bytes:
        return b'{\n  "predictions": [1, 2]\n}\n'  # a pretty-printed answer is one output

    assert transform_object(b"[[1], [2]]", settings_, model, 1) == (
        b'{"SageMakerInput":[[1],[2]],"SageMakerOutput":{"predictions":[1,2]}}'
    )


# ----------------------------------------------------------------------------------------------------------
# Failures


def test_model_failure_names_the_batch() -> None:
    def failing(payload: bytes) -> bytes:
        raise RuntimeError("415: Loading csv data failed with Exception")

    with pytest.raises(TransformError) as caught:
        transform_object(b"1,2\n3,4\n", csv_settings(), failing, 1, source=SOURCE)
    assert caught.value.message == (
        f"{SOURCE}: batch 1 (records 1-2, 8 bytes) failed: 415: Loading csv data failed with Exception"
    )
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_model_failure_without_a_message() -> None:
    def failing(payload: bytes) -> bytes:
        raise TimeoutError

    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    with pytest.raises(TransformError, match=r"^input object: batch 1 \(record 1, 4 bytes\) failed: Timeout"):
        transform_object(b"1,2\n", single, failing, 1)


def test_first_failure_in_record_order_is_reported() -> None:
    def failing(payload: bytes) -> bytes:
        if payload in (b"3\n", b"7\n"):
            time.sleep(0.02 if payload == b"3\n" else 0)
            raise ValueError(f"bad {payload.decode().strip()}")
        return payload

    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    data = b"".join(f"{index}\n".encode() for index in range(10))
    with pytest.raises(TransformError, match=r"batch 4 \(record 4, 2 bytes\) failed: bad 3$"):
        transform_object(data, single, failing, 8)


def one_by_one(model: Callable[[bytes], bytes], calls: list[int] | None = None) -> Any:
    """An `invoke_many` that answers each request on its own, in order (as forked workers fed in bundles do)."""
    def many(payloads: Any) -> Any:
        if calls is not None:
            calls.append(len(payloads))
        for payload in payloads:
            yield model(payload)
    return many


small_id_rows = st.lists(st.tuples(st.integers(0, 10**6), st.lists(st.sampled_from(["1", "2.5", ""]), min_size=1,
                                                                   max_size=3)), max_size=30)


@settings(max_examples=40, deadline=None)
@given(small_id_rows, st.sampled_from(list(BatchStrategy)), st.booleans())
def test_invoke_many_gives_the_output_of_invoke(rows: list[tuple[int, list[str]]], strategy: BatchStrategy,
                                                joined: bool) -> None:
    data = b"".join(f"{row_id},{','.join(features)}\n".encode() for row_id, features in rows)
    extra: dict[str, Any] = dict(input_filter="$[1:]", join_source=JoinSource.INPUT, output_filter="$[0,-1]")
    settings_ = csv_settings(batch_strategy=strategy, **(extra if joined else {}))
    calls: list[int] = []
    expected = transform_object(data, settings_, line_model, 1)
    assert transform_object(data, settings_, line_model, 1, invoke_many=one_by_one(line_model, calls)) == expected
    # Objects of more than one request go through invoke_many, all requests in one call.
    requests = len(rows) if strategy is BatchStrategy.SINGLE_RECORD else min(len(rows), 1)
    assert calls == ([requests] if requests > 1 else [])


def test_invoke_many_failure_names_the_batch_it_stopped_at() -> None:
    def failing(payload: bytes) -> bytes:
        if payload in (b"3\n", b"7\n"):
            raise ValueError(f"bad {payload.decode().strip()}")
        return payload

    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    data = b"".join(f"{index}\n".encode() for index in range(10))
    messages = []
    for many in (None, one_by_one(failing)):
        with pytest.raises(TransformError) as caught:
            transform_object(data, single, failing, 1, source=SOURCE, invoke_many=many)
        assert isinstance(caught.value.__cause__, ValueError)
        messages.append(caught.value.message)
    assert messages == [f"{SOURCE}: batch 4 (record 4, 2 bytes) failed: bad 3"] * 2


def test_output_line_count_must_match_records_when_joining() -> None:
    def drops_a_line(payload: bytes) -> bytes:
        return b"0.5\n"

    settings_ = csv_settings(join_source=JoinSource.INPUT)
    with pytest.raises(TransformError) as caught:
        transform_object(b"1,2\n3,4\n5,6\n", settings_, drops_a_line, 1, source=SOURCE)
    assert caught.value.message == (
        f"{SOURCE}: batch 1 (records 1-3, 12 bytes): the model answered with 1 lines for 3 records; "
        "JoinSource and OutputFilter need exactly one output line per record"
    )


def test_record_over_the_payload_limit() -> None:
    big_row = b"9," * (1024 * 1024)
    for strategy in BatchStrategy:
        settings_ = csv_settings(max_payload_in_mb=1, batch_strategy=strategy)
        with pytest.raises(TransformError) as caught:
            transform_object(b"1,2\n" + big_row + b"\n", settings_, sum_model, 1, source=SOURCE)
        assert caught.value.message == (
            f"{SOURCE}: record 2 is 2097153 bytes, larger than MaxPayloadInMB=1 (1048576 bytes); "
            "MaxPayloadInMB must be at least the size of the largest record"
        )


def test_max_payload_zero() -> None:
    with pytest.raises(TransformError, match="MaxPayloadInMB=0 asks for HTTP chunked encoding"):
        transform_object(b"1\n", csv_settings(max_payload_in_mb=0), sum_model, 1)


def test_invalid_filter_fails_before_any_request() -> None:
    model = Recorder()
    with pytest.raises(TransformError) as caught:
        transform_object(b"1,2\n", csv_settings(input_filter="$[1:2,4:]"), model, 1, source="b/in/x.csv")
    assert caught.value.message == (
        "b/in/x.csv: DataProcessing.InputFilter: Invalid JsonPath: $[1:2,4:]: only single range filters of "
        "format (eg: [1:5]) are supported. Format [1:2,4:] is not supported"
    )
    assert model.payloads == []


def test_filter_error_names_the_record() -> None:
    with pytest.raises(TransformError) as caught:
        transform_object(b"1,2,3\n4\n", csv_settings(input_filter="$[1:]"), sum_model, 1, source=SOURCE)
    assert caught.value.message == f"{SOURCE}: record 2: InputFilter $[1:]: the path selects no columns"


def test_max_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be at least 1, got 0"):
        transform_object(b"1\n", csv_settings(), sum_model, 0)


# ----------------------------------------------------------------------------------------------------------
# Concurrency


def test_requests_run_concurrently_and_outputs_stay_in_order() -> None:
    lock = threading.Lock()
    running = 0
    most = 0

    def slow_model(payload: bytes) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        # Later records finish first, so results arrive out of order.
        time.sleep(0.004 if int(payload) % 3 == 0 else 0.001)
        with lock:
            running -= 1
        return line_model(payload)

    data = b"".join(f"{index}\n".encode() for index in range(48))
    single = csv_settings(batch_strategy=BatchStrategy.SINGLE_RECORD)
    output = transform_object(data, single, slow_model, 6)
    assert output == b"".join(digest(f"{index}".encode()) + b"\n" for index in range(48))
    assert 1 < most <= 6


# ----------------------------------------------------------------------------------------------------------
# Properties: the output does not depend on BatchStrategy, MaxPayloadInMB or concurrency

field = st.text(alphabet="abcxyz0123456789.-", max_size=6)
csv_row = st.lists(field, min_size=1, max_size=5).map(lambda fields: ",".join(fields).encode())
csv_rows = st.lists(csv_row, max_size=50)
configuration = st.tuples(st.sampled_from(list(BatchStrategy)), st.integers(1, 100), st.integers(1, 8))
configurations = st.lists(configuration, min_size=1, max_size=4)

# Within the property tests a "megabyte" is 64 bytes, so that these small objects are cut into many requests
# and every MaxPayloadInMB from 1 to 100 gives a different cut.
SMALL_MB = 64


def small_megabytes() -> Any:
    return mock.patch.object(batching, "_MB", SMALL_MB)


@settings(max_examples=60, deadline=None)
@given(csv_rows, st.booleans(), configurations)
def test_output_is_the_same_for_every_strategy_payload_size_and_concurrency(
    rows: list[bytes], final_newline: bool, configs: list[tuple[BatchStrategy, int, int]]
) -> None:
    data = b"\n".join(rows) + (b"\n" if final_newline and rows else b"")
    # Without a final newline, an empty last row is the empty remainder after the previous newline.
    records = rows[:-1] if rows and not final_newline and not rows[-1] else rows
    expected = b"".join(digest(row) + b"\n" for row in records)
    with small_megabytes():
        for strategy, megabytes, concurrency in configs:
            settings_ = csv_settings(batch_strategy=strategy, max_payload_in_mb=megabytes)
            assert transform_object(data, settings_, line_model, concurrency) == expected


@settings(max_examples=30, deadline=None)
@given(csv_rows, configurations)
def test_output_is_the_same_with_real_megabytes(
    rows: list[bytes], configs: list[tuple[BatchStrategy, int, int]]
) -> None:
    data = b"".join(row + b"\n" for row in rows)
    expected = b"".join(digest(row) + b"\n" for row in rows)
    for strategy, megabytes, concurrency in configs:
        settings_ = csv_settings(batch_strategy=strategy, max_payload_in_mb=megabytes)
        assert transform_object(data, settings_, line_model, concurrency) == expected


id_rows = st.lists(st.tuples(st.integers(0, 10**6), st.lists(field, min_size=1, max_size=4)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(id_rows, configurations)
def test_id_and_prediction_is_the_same_for_every_strategy_payload_size_and_concurrency(
    rows: list[tuple[int, list[str]]], configs: list[tuple[BatchStrategy, int, int]]
) -> None:
    data = b"".join(f"{row_id},{','.join(features)}\n".encode() for row_id, features in rows)
    expected = b"".join(
        f"{row_id},".encode() + digest(",".join(features).encode()) + b"\n" for row_id, features in rows
    )
    with small_megabytes():
        for strategy, megabytes, concurrency in configs:
            settings_ = csv_settings(
                batch_strategy=strategy,
                max_payload_in_mb=megabytes,
                input_filter="$[1:]",
                join_source=JoinSource.INPUT,
                output_filter="$[0,-1]",
            )
            assert transform_object(data, settings_, line_model, concurrency) == expected


def test_object_larger_than_one_payload() -> None:
    rows = [f"{i},{i * 0.5:.3f},{'f' * (60 + i % 80)},{i % 7}".encode() for i in range(24_000)]
    data = b"\n".join(rows) + b"\n"
    assert len(data) > 2 * 1024 * 1024
    expected = b"".join(digest(row) + b"\n" for row in rows)
    requests_by_config = {}
    for strategy, megabytes, concurrency in [
        (BatchStrategy.MULTI_RECORD, 1, 1),
        (BatchStrategy.MULTI_RECORD, 1, 8),
        (BatchStrategy.MULTI_RECORD, 2, 3),
        (BatchStrategy.MULTI_RECORD, 100, 2),
        (BatchStrategy.SINGLE_RECORD, 6, 1),
        (BatchStrategy.SINGLE_RECORD, 1, 4),
    ]:
        model = Recorder()
        settings_ = csv_settings(batch_strategy=strategy, max_payload_in_mb=megabytes)
        assert transform_object(data, settings_, model, concurrency) == expected
        assert all(len(payload) <= megabytes * 1024 * 1024 for payload in model.payloads)
        requests_by_config[(strategy, megabytes, concurrency)] = len(model.payloads)
    assert requests_by_config[(BatchStrategy.MULTI_RECORD, 1, 1)] == 3
    assert requests_by_config[(BatchStrategy.MULTI_RECORD, 2, 3)] == 2
    assert requests_by_config[(BatchStrategy.MULTI_RECORD, 100, 2)] == 1
    assert requests_by_config[(BatchStrategy.SINGLE_RECORD, 6, 1)] == len(rows)
