"""DataProcessing: the JSONPath subset, CSV columns, input/output filters and JoinSource=Input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.transform.csvrow import CsvFormatError, join_columns, split_columns
from backends.emulator.transform.errors import TransformError
from backends.emulator.transform.filters import DataProcessing, validate_jsonpath
from backends.emulator.transform.formats import RecordFormat, record_format
from backends.emulator.transform.jsonpath import JsonPathError, evaluate, parse
from backends.emulator.transform.settings import JoinSource, SplitType, TransformSettings

# ----------------------------------------------------------------------------------------------------------
# Validation (what CreateTransformJob can reject up front)


@pytest.mark.parametrize(
    "path",
    [
        "$",
        "$[1:]",
        "$[0,-1]",
        "$[2:5]",
        "$[:5]",
        "$[0]",
        "$[-1]",
        "$[1,3,5]",
        "$[0,5:]",  # AWS example: an index and one range
        "$[ 0 , -1 ]",
        "$.features",
        "$.SageMakerOutput",
        "$.SageMakerInput",
        "$.a.b.c",
        "$.a[0]",
        "$['id','SageMakerOutput']",
        "$[\"id\"]",
        "$['id', 'SageMakerOutput']",
        "$.field1.['child1','child2']",  # AWS example, with a dot before the bracket
        "$.field1['child1','child2']",
        "$.id.*",
        "$[*]",
        "$['a.b']",  # one bracketed name is a key, dots included
    ],
)
def test_valid_paths(path: str) -> None:
    assert validate_jsonpath(path) is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "$[0:2,246:]",  # the message SageMaker answers with
            "Invalid JsonPath: $[0:2,246:]: only single range filters of format (eg: [1:5]) are supported. "
            "Format [0:2,246:] is not supported",
        ),
        ("", "Invalid JsonPath: the path is empty; '$' selects the whole record"),
        ("features", "Invalid JsonPath: features: a path must start with '$'"),
        ("$..id", "Invalid JsonPath: $..id: recursive descent ('..') is not supported"),
        ("$[?(@.id > 1)]", "Invalid JsonPath: $[?(@.id > 1)]: filter and script expressions are not"),
        ("$[(@.length-1)]", "Invalid JsonPath: $[(@.length-1)]: filter and script expressions are not"),
        ("$[::2]", "Invalid JsonPath: $[::2]: slice steps (::2) are not supported"),
        ("$[1:5:2]", "Invalid JsonPath: $[1:5:2]: slice steps (1:5:2) are not supported"),
        ("$[a]", "Invalid JsonPath: $[a]: [a] is not an index, a list of indexes or a slice"),
        ("$[]", "Invalid JsonPath: $[]: [] is not an index, a list of indexes or a slice"),
        ("$[0,]", "Invalid JsonPath: $[0,]: [0,] is not an index, a list of indexes or a slice"),
        ("$[0", "Invalid JsonPath: $[0: '[' at character 2 is not closed"),
        ("$['a'", "Invalid JsonPath: $['a': expected ']' at character 6"),
        ("$['a", "Invalid JsonPath: $['a: the quote at character 3 is not closed"),
        ("$['']", "Invalid JsonPath: $['']: a member name cannot be empty"),
        ("$.", "Invalid JsonPath: $.: expected a member name after '.' at character 3"),
        ("$a", "Invalid JsonPath: $a: unexpected 'a' at character 2"),
        (
            "$.field1.['child1','child2.grandchild']",  # AWS: "is not" supported
            "Invalid JsonPath: $.field1.['child1','child2.grandchild']: nested children inside brackets "
            "('child2.grandchild') are not supported",
        ),
        (
            "$[1:].id",
            "Invalid JsonPath: $[1:].id: a selection of several elements ([1:]) is only supported as the "
            "last step",
        ),
        ("$.*.id", "Invalid JsonPath: $.*.id: a selection of several elements (.*) is only supported"),
        ("$['a','b'].c", "Invalid JsonPath: $['a','b'].c: a selection of several elements (['a','b'])"),
    ],
)
def test_invalid_paths(path: str, message: str) -> None:
    reason = validate_jsonpath(path)
    assert reason is not None
    assert reason.startswith(message)


# ----------------------------------------------------------------------------------------------------------
# Evaluation

ROW = ["c0", "c1", "c2", "c3", "c4", "c5"]


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("$", ROW),
        ("$[0]", "c0"),
        ("$[-1]", "c5"),
        ("$[1:]", ROW[1:]),
        ("$[2:5]", ["c2", "c3", "c4"]),  # the end is excluded
        ("$[1:4]", ["c1", "c2", "c3"]),
        ("$[:2]", ["c0", "c1"]),
        ("$[0:-1]", ROW[:-1]),  # everything but the last column
        ("$[-2:]", ["c4", "c5"]),
        ("$[0,-1]", ["c0", "c5"]),
        ("$[5,0,5]", ["c5", "c0", "c5"]),  # in the order written
        ("$[0,4:]", ["c0", "c4", "c5"]),
        ("$[3:3]", []),
        ("$[*]", ROW),
        ("$[0:6]", ROW),
    ],
)
def test_array_selection(path: str, selected: Any) -> None:
    assert evaluate(parse(path), ROW) == selected


DOCUMENT = {"id": 7, "features": [1.5, 2, 3], "meta": {"a": {"b": "deep"}, "c": None}}


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("$.id", 7),
        ("$.features", [1.5, 2, 3]),
        ("$['features']", [1.5, 2, 3]),
        ('$["id"]', 7),
        ("$.features[-1]", 3),
        ("$.features[1:]", [2, 3]),
        ("$.meta.a.b", "deep"),
        ("$.meta.c", None),
        ("$['id','features']", {"id": 7, "features": [1.5, 2, 3]}),
        ("$['features','id']", {"features": [1.5, 2, 3], "id": 7}),
        ("$.meta.['a','c']", {"a": {"b": "deep"}, "c": None}),
        ("$.meta.*", [{"b": "deep"}, None]),
        ("$.features.*", [1.5, 2, 3]),
    ],
)
def test_object_selection(path: str, selected: Any) -> None:
    assert evaluate(parse(path), DOCUMENT) == selected


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("$[6]", ROW, "index 6 is out of range for the record, which has 6 elements"),
        ("$[-7]", ROW, "index -7 is out of range for the record, which has 6 elements"),
        ("$[0]", [], "index 0 is out of range for the record, which has 0 elements"),
        ("$[0,9]", ["x"], "index 9 is out of range for the record, which has 1 element"),
        ("$[2:9]", ROW, "slice [2:9] is out of range for the record, which has 6 elements"),
        ("$[-9:]", ROW, "slice [-9:] is out of range for the record, which has 6 elements"),
        ("$.missing", DOCUMENT, "the record has no member 'missing'"),
        ("$['id','nope']", DOCUMENT, "the record has no member 'nope'"),
        ("$.meta.a.x", DOCUMENT, "$.meta.a of the record has no member 'x'"),
        ("$.id", ROW, ".id selects members, but the record is an array, not an object"),
        ("$[0]", DOCUMENT, "[0] selects array elements, but the record is an object"),
        ("$.id[0]", DOCUMENT, "[0] selects array elements, but $.id of the record is a number"),
        ("$.meta.c.*", DOCUMENT, ".* needs an object or an array, but $.meta.c of the record is null"),
        ("$.features.x", DOCUMENT, ".x selects members, but $.features of the record is an array, not an"),
    ],
)
def test_evaluation_errors(path: str, value: Any, message: str) -> None:
    with pytest.raises(JsonPathError) as caught:
        evaluate(parse(path), value)
    assert str(caught.value).startswith(message)


# ----------------------------------------------------------------------------------------------------------
# CSV columns and formats


@pytest.mark.parametrize(
    ("line", "columns"),
    [
        (b"a,b,c", [b"a", b"b", b"c"]),
        (b"", [b""]),
        (b"a,,c,", [b"a", b"", b"c", b""]),
        (b'1,"x,y",2', [b"1", b'"x,y"', b"2"]),  # quotes kept, comma inside quotes is data
        (b'"he said ""hi, there""",3', [b'"he said ""hi, there"""', b"3"]),
        (b' a , "b" ', [b" a ", b' "b" ']),
        (b'"",""', [b'""', b'""']),
    ],
)
def test_split_columns(line: bytes, columns: list[bytes]) -> None:
    assert split_columns(line) == columns
    assert join_columns(columns) == line


def test_unterminated_quote() -> None:
    with pytest.raises(CsvFormatError, match="the quote at byte 3 is never closed"):
        split_columns(b'1,"x,y')


@given(st.lists(st.text(alphabet='ab,"1 ', max_size=6), min_size=1, max_size=6))
def test_quoted_columns_round_trip(values: list[str]) -> None:
    line = ",".join('"' + value.replace('"', '""') + '"' for value in values).encode()
    columns = split_columns(line)
    assert len(columns) == len(values)
    assert join_columns(columns) == line


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("text/csv", RecordFormat.CSV),
        ("text/csv; charset=utf-8", RecordFormat.CSV),
        ("TEXT/CSV", RecordFormat.CSV),
        ("application/json", RecordFormat.JSON),
        ("application/jsonlines", RecordFormat.JSON),
        ("application/x-recordio-protobuf", None),
        ("text/libsvm", None),
        (None, None),
    ],
)
def test_record_format(mime: str | None, expected: RecordFormat | None) -> None:
    assert record_format(mime) is expected


# ----------------------------------------------------------------------------------------------------------
# DataProcessing plans


def plan(
    input_filter: str = "$",
    output_filter: str = "$",
    join: bool = False,
    content_type: str | None = "text/csv",
    accept: str | None = None,
    split_type: SplitType = SplitType.LINE,
) -> DataProcessing:
    settings = TransformSettings(
        split_type=split_type,
        content_type=content_type,
        accept=accept,
        input_filter=input_filter,
        output_filter=output_filter,
        join_source=JoinSource.INPUT if join else JoinSource.NONE,
    )
    return DataProcessing.from_settings(settings, "s3://b/in/data.csv")


def test_default_plan_reads_nothing() -> None:
    default = plan(content_type="application/x-image", split_type=SplitType.RECORDIO)
    assert not default.filters_input
    assert not default.per_record_output


def test_input_filter_only_does_not_need_outputs_per_record() -> None:
    only_input = plan(input_filter="$[1:]")
    assert only_input.filters_input
    assert not only_input.per_record_output


def test_csv_input_filter() -> None:
    assert plan(input_filter="$[1:]").select_input(b"id7,1.5,2,3", 1) == b"1.5,2,3"
    assert plan(input_filter="$[0,-1]").select_input(b"a,b,c", 1) == b"a,c"
    assert plan(input_filter="$[1]").select_input(b'a,"b,1",c', 1) == b'"b,1"'


def test_breast_cancer_style_join_and_output_filter() -> None:
    processing = plan(input_filter="$[1:]", output_filter="$[0,-1]", join=True, accept="text/csv")
    assert processing.select_input(b"842302,17.99,10.38,122.8", 1) == b"17.99,10.38,122.8"
    # The join uses the original record, id included, not what was sent to the model.
    assert processing.finish_output(b"842302,17.99,10.38,122.8", b"0.97", 1) == b"842302,0.97"


def test_csv_join_appends_every_output_column() -> None:
    processing = plan(join=True)
    assert processing.finish_output(b"1,2,3", b"0.1,0.9", 1) == b"1,2,3,0.1,0.9"


def test_csv_output_filter_without_join() -> None:
    assert plan(output_filter="$[1]").finish_output(None, b"0.1,0.9", 1) == b"0.9"


def test_csv_join_with_crlf_terminated_output() -> None:
    assert plan(join=True).finish_output(b"a,b", b"0.5\r\n", 1) == b"a,b,0.5"


def test_json_input_filter_and_join() -> None:
    processing = plan(
        input_filter="$.features",
        output_filter="$['id','SageMakerOutput']",
        join=True,
        content_type="application/jsonlines",
        accept="application/jsonlines",
    )
    record = b'{"id": 1, "features": [0.5, 2]}'
    assert processing.select_input(record, 1) == b"[0.5,2]"
    joined = processing.finish_output(record, b'{"score": 0.25}', 1)
    assert joined == b'{"id":1,"SageMakerOutput":{"score":0.25}}'


def test_json_join_keeps_the_input_object() -> None:
    processing = plan(join=True, content_type="application/json", accept="application/json")
    joined = processing.finish_output(b'{"key": 1}', b'{"label": 1}', 1)
    assert joined == b'{"key":1,"SageMakerOutput":{"label":1}}'


def test_json_join_wraps_a_non_object_input() -> None:
    processing = plan(join=True, content_type="application/json", accept="application/json")
    joined = processing.finish_output(b"[1, 2, 3]", b"[0.5]", 1)
    assert joined == b'{"SageMakerInput":[1,2,3],"SageMakerOutput":[0.5]}'


def test_json_join_overwrites_an_input_member_named_sagemaker_output() -> None:
    processing = plan(join=True, content_type="application/json", accept="application/json")
    joined = processing.finish_output(b'{"SageMakerOutput": 0, "b": 2}', b"1", 1)
    assert joined == b'{"SageMakerOutput":1,"b":2}'


def test_json_output_filter_selects_the_output() -> None:
    processing = plan(output_filter="$.SageMakerOutput", join=True, content_type="application/json")
    assert processing.finish_output('{"a": "é"}'.encode(), b'{"p": [1, 2]}', 1) == b'{"p":[1,2]}'


def test_json_output_keeps_non_ascii_text() -> None:
    processing = plan(join=True, content_type="application/json")
    joined = processing.finish_output('{"a": "é"}'.encode(), b"1", 1)
    assert joined == '{"a":"é","SageMakerOutput":1}'.encode()


def test_json_with_a_lone_surrogate_escape_stays_valid_json() -> None:
    processing = plan(join=True, content_type="application/json")
    joined = processing.finish_output(b'{"a": "\\ud800"}', b"1", 1)
    assert joined == b'{"a":"\\ud800","SageMakerOutput":1}'


def test_accept_defaults_to_the_content_type_format() -> None:
    assert plan(join=True, accept=None).output_format is RecordFormat.CSV


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"input_filter": "$[0:1,3:]"},
            "DataProcessing.InputFilter: Invalid JsonPath: $[0:1,3:]: only single range filters",
        ),
        ({"output_filter": "$..x"}, "DataProcessing.OutputFilter: Invalid JsonPath: $..x: recursive descent"),
        (
            {"input_filter": "$.features"},
            "DataProcessing.InputFilter '$.features' cannot apply to CSV: a CSV row is an array of columns, "
            "so only index-based paths such as $[0], $[1:] or $[0,-1] apply",
        ),
        ({"output_filter": "$['a','b']"}, "DataProcessing.OutputFilter \"$['a','b']\" cannot apply to CSV"),
        ({"output_filter": "$[0][1]"}, "DataProcessing.OutputFilter '$[0][1]' cannot apply to CSV"),
        (
            {"input_filter": "$[1:]", "split_type": SplitType.RECORDIO},
            "DataProcessing (InputFilter, JoinSource, OutputFilter) works on CSV and JSON records and cannot "
            "be combined with SplitType RecordIO",
        ),
        ({"join": True, "split_type": SplitType.TFRECORD}, "cannot be combined with SplitType TFRecord"),
        (
            {"input_filter": "$[1:]", "content_type": "text/libsvm"},
            "DataProcessing needs TransformInput.ContentType to be one of text/csv, application/json, "
            "application/jsonlines to read the input records; got 'text/libsvm'",
        ),
        ({"join": True, "content_type": None}, "needs TransformInput.ContentType to be one of"),
        (
            {"output_filter": "$[0]", "accept": "application/x-recordio-protobuf"},
            "DataProcessing needs TransformOutput.Accept to be one of text/csv, application/json, "
            "application/jsonlines to read the model's output; got 'application/x-recordio-protobuf'",
        ),
        (
            {"output_filter": "$[0]", "content_type": None},
            "DataProcessing needs TransformOutput.Accept (or, when it is unset, ContentType) to be one of "
            "text/csv, application/json, application/jsonlines to read the model's output; Accept is unset "
            "and ContentType is None",
        ),
        (
            {"join": True, "accept": "application/json"},
            "JoinSource=Input joins records of one format, but ContentType 'text/csv' is CSV and Accept "
            "'application/json' is JSON",
        ),
    ],
)
def test_plan_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TransformError) as caught:
        plan(**kwargs)
    assert caught.value.message.startswith("s3://b/in/data.csv: ")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("processing", "call", "message"),
    [
        (
            plan(output_filter="$[0,-1]", join=True),
            lambda p: p.finish_output(b"a,b", b"1", 4),
            None,
        ),
        (
            plan(output_filter="$[5]", join=True),
            lambda p: p.finish_output(b"a,b,c", b"0.5", 4),
            "s3://b/in/data.csv: record 4: OutputFilter $[5]: index 5 is out of range for the joined record, "
            "which has 4 columns",
        ),
        (
            plan(output_filter="$[1]"),
            lambda p: p.finish_output(None, b"0.5", 2),
            "s3://b/in/data.csv: record 2: OutputFilter $[1]: index 1 is out of range for the output, which "
            "has 1 column",
        ),
        (
            plan(input_filter="$[3:]"),
            lambda p: p.select_input(b"a,b,c", 9),
            "s3://b/in/data.csv: record 9: InputFilter $[3:]: the path selects no columns",
        ),
        (
            plan(input_filter="$[1:5]"),
            lambda p: p.select_input(b"a,b,c", 1),
            "s3://b/in/data.csv: record 1: InputFilter $[1:5]: slice [1:5] is out of range for the record, "
            "which has 3 columns",
        ),
        (
            plan(input_filter="$[1:]"),
            lambda p: p.select_input(b'a,"b', 3),
            "s3://b/in/data.csv: record 3: the input is not a CSV row: the quote at byte 3 is never closed",
        ),
        (
            plan(join=True),
            lambda p: p.finish_output(b"a", b'"0.5', 3),
            "s3://b/in/data.csv: record 3: the model's output is not a CSV row: the quote at byte 1",
        ),
        (
            plan(join=True),
            lambda p: p.finish_output(b'"a', b"0.5", 3),
            "s3://b/in/data.csv: record 3: the input is not a CSV row",
        ),
        (
            plan(input_filter="$[1:]", split_type=SplitType.NONE),
            lambda p: p.select_input(b"1,2\n3,4\n", 1),
            "s3://b/in/data.csv: record 1: the input is not a CSV row: it holds 2 lines, but a CSV record is "
            "one line (AWS: with text/csv, set SplitType and AssembleWith to Line)",
        ),
        (
            plan(input_filter="$.f", content_type="application/json"),
            lambda p: p.select_input(b"{not json", 5),
            "s3://b/in/data.csv: record 5: the input is not valid JSON: Expecting property name",
        ),
        (
            plan(input_filter="$.f", content_type="application/json"),
            lambda p: p.select_input(b'{"g": 1}', 5),
            "s3://b/in/data.csv: record 5: InputFilter $.f: the record has no member 'f'",
        ),
        (
            plan(join=True, content_type="application/json"),
            lambda p: p.finish_output(b"{}", b"0.5,0.2", 6),
            "s3://b/in/data.csv: record 6: the model's output is not valid JSON: Extra data",
        ),
        (
            plan(join=True, content_type="application/json"),
            lambda p: p.finish_output(b"{", b"1", 6),
            "s3://b/in/data.csv: record 6: the input is not valid JSON",
        ),
        (
            plan(output_filter="$.x", join=True, content_type="application/json"),
            lambda p: p.finish_output(b'{"a": 1}', b"1", 6),
            "s3://b/in/data.csv: record 6: OutputFilter $.x: the joined record has no member 'x'",
        ),
    ],
)
def test_record_errors(processing: DataProcessing, call: Any, message: str | None) -> None:
    if message is None:
        assert call(processing) == b"a,1"
        return
    with pytest.raises(TransformError) as caught:
        call(processing)
    assert caught.value.message.startswith(message)


def test_joining_needs_the_original_record() -> None:
    with pytest.raises(ValueError, match="joining needs the original input record"):
        plan(join=True).finish_output(None, b"1", 1)
