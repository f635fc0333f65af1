"""Channels and content types: inputdataconfig.json validation and how channel directories are read."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.algorithms.xgboost.channels import validate_channels
from backends.emulator.algorithms.xgboost.content_types import (
    VALID_CONTENT_TYPES,
    DataFormat,
    parse_content_type,
    split_media_type,
)
from backends.emulator.algorithms.xgboost.data import (
    channel_files,
    channel_size,
    load_channel,
    validate_channel_files,
)
from backends.emulator.algorithms.xgboost.errors import UserError
from backends.emulator.algorithms.xgboost.log import ContainerLog
from backends.emulator.algorithms.xgboost.versions import VERSIONS


def channel(
    content_type: str | None = "csv", mode: str = "File", dist: str = "FullyReplicated"
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "TrainingInputMode": mode,
        "S3DistributionType": dist,
        "RecordWrapperType": "None",
    }
    if content_type is not None:
        settings["ContentType"] = content_type
    return settings


def channel_error(config: dict[str, Any]) -> str:
    with pytest.raises(UserError) as info:
        validate_channels(config)
    return str(info.value)


@pytest.mark.parametrize("content_type", VALID_CONTENT_TYPES)
@pytest.mark.parametrize("dist", ["FullyReplicated", "ShardedByS3Key"])
def test_every_accepted_content_type_in_file_mode(content_type: str, dist: str) -> None:
    config = {"train": channel(content_type, dist=dist), "validation": channel(content_type, dist=dist)}
    assert validate_channels(config)["train"]["ContentType"] == content_type


def test_train_is_required() -> None:
    assert channel_error({"validation": channel()}) == "Missing required channel: train"


def test_unknown_channels_are_extraneous() -> None:
    assert channel_error({"train": channel(), "test": channel()}) == "Extraneous channel found: test"


def test_content_type_defaults_to_libsvm() -> None:
    validated = validate_channels({"train": channel(None)})
    assert validated["train"]["ContentType"] == "text/libsvm"


@pytest.mark.parametrize(
    "content_type", ["text/csv;label_size=1", "text/csv; label_size=1", "Text/CSV", "application/json"]
)
def test_content_types_are_matched_as_exact_strings(content_type: str) -> None:
    settings = channel(content_type)
    assert (
        channel_error({"train": settings})
        == f"Channel configuration for 'train' channel is not supported: {settings}"
    )


def test_the_message_shows_the_defaulted_content_type() -> None:
    message = channel_error({"train": channel(None, mode="FastFile")})
    assert message == (
        "Channel configuration for 'train' channel is not supported: {'TrainingInputMode': 'FastFile', "
        "'S3DistributionType': 'FullyReplicated', 'RecordWrapperType': 'None', 'ContentType': 'text/libsvm'}"
    )


@pytest.mark.parametrize("content_type", ["libsvm", "text/libsvm", "text/x-libsvm"])
def test_pipe_mode_refuses_libsvm(content_type: str) -> None:
    assert "is not supported" in channel_error({"train": channel(content_type, mode="Pipe")})


def test_pipe_mode_accepts_csv() -> None:
    assert validate_channels({"train": channel("text/csv", mode="Pipe")})


def test_code_channel_is_text_python() -> None:
    assert validate_channels({"train": channel(), "code": channel("text/python")})
    assert "'code'" in channel_error({"train": channel(), "code": channel("csv")})


def test_missing_input_mode_is_a_raw_key_error() -> None:
    with pytest.raises(KeyError):
        validate_channels({"train": {"ContentType": "csv", "S3DistributionType": "FullyReplicated"}})


def test_missing_distribution_is_fully_replicated_as_sdk_local_mode_writes_it() -> None:
    # SDK local mode's inputdataconfig.json: TrainingInputMode and ContentType only (no S3DistributionType).
    config = {"train": {"TrainingInputMode": "File", "ContentType": "text/csv"},
              "validation": {"TrainingInputMode": "File"}}
    validated = validate_channels(config)
    assert validated["train"] == {"TrainingInputMode": "File", "ContentType": "text/csv",
                                  "S3DistributionType": "FullyReplicated"}
    assert validated["validation"]["S3DistributionType"] == "FullyReplicated"
    assert validated["validation"]["ContentType"] == "text/libsvm"
    # A distribution that is given is still checked.
    assert "is not supported" in channel_error({"train": channel(dist="Sharded")})


@pytest.mark.parametrize(
    ("content_type", "data_format"),
    [
        (None, DataFormat.LIBSVM),
        ("csv", DataFormat.CSV),
        ("text/csv", DataFormat.CSV),
        ("TEXT/CSV", DataFormat.CSV),
        ("text/csv;label_size=1", DataFormat.CSV),
        ("text/csv; charset=utf-8", DataFormat.CSV),
        ("libsvm", DataFormat.LIBSVM),
        ("text/x-libsvm", DataFormat.LIBSVM),
        ("application/x-parquet", DataFormat.PARQUET),
        ("recordio-protobuf", DataFormat.RECORDIO_PROTOBUF),
    ],
)
def test_parse_content_type(content_type: str | None, data_format: DataFormat) -> None:
    assert parse_content_type(content_type) is data_format


def test_csv_label_size_must_be_one() -> None:
    with pytest.raises(UserError) as info:
        parse_content_type("text/csv; label_size=2")
    assert str(info.value) == (
        "text/csv; label_size=2 is not an accepted csv ContentType. "
        "Optional parameter label_size must be equal to 1"
    )


def test_unknown_content_type() -> None:
    with pytest.raises(UserError) as info:
        parse_content_type("application/json")
    assert str(info.value) == (
        "application/json is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "
        "text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
    )


@given(st.text(alphabet=st.sampled_from('ab/;= "\\tx-'), max_size=30))
def test_media_type_splitting_follows_cgi_parse_header(value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cgi = pytest.importorskip("cgi")
        expected = cgi.parse_header(value)
    assert split_media_type(value) == expected


# -- reading channel directories ---------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_channel_size_counts_every_file(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "1,2\n")
    write(tmp_path / "sub" / "b.csv", "3,4\n5,6\n")
    assert channel_size(tmp_path) == 12
    assert channel_size(tmp_path / "missing") == 0


def test_hidden_files_stop_the_job(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "1,2\n")
    write(tmp_path / "deep" / ".DS_Store", "x")
    with pytest.raises(UserError) as info:
        channel_size(tmp_path)
    assert str(info.value) == "Hidden file found in the data path! Remove that before training."


def test_nested_layout_reads_three_levels(tmp_path: Path) -> None:
    for relative in ("b.csv", "a/x.csv", "a/b/y.csv", "a/b/c/too-deep.csv"):
        write(tmp_path / relative, "1,2\n")
    stream = io.StringIO()
    files = channel_files(tmp_path, VERSIONS["1.7-1"], ContainerLog(stream))
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a/b/y.csv", "a/x.csv", "b.csv"]
    assert "exceed the limit 3. Files in deeper sub dirs won't be loaded." in stream.getvalue()


def test_older_versions_read_the_first_leaf_directory(tmp_path: Path) -> None:
    write(tmp_path / "top.csv", "1,2\n")
    write(tmp_path / "a" / "one.csv", "1,2\n")
    write(tmp_path / "a" / "_SUCCESS", "")
    write(tmp_path / "b" / "two.csv", "1,2\n")
    files = channel_files(tmp_path, VERSIONS["1.5-1"], ContainerLog(io.StringIO()))
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a/_SUCCESS", "a/one.csv"]


def test_csv_validation_sniffs_each_data_file(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "1,2,3\n")
    write(tmp_path / "_ignored", "no delimiter here\n")
    stream = io.StringIO()
    validate_channel_files(tmp_path, DataFormat.CSV, ContainerLog(stream))
    assert stream.getvalue().count("Determined delimiter of CSV input is ','") == 1


def test_undeterminable_delimiter(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "\n1,2\n")
    with pytest.raises(UserError) as info:
        validate_channel_files(tmp_path, DataFormat.CSV, ContainerLog(io.StringIO()))
    assert str(info.value) == "Could not determine delimiter on line \n:\nCould not determine delimiter"


def test_libsvm_validation(tmp_path: Path) -> None:
    write(tmp_path / "good.libsvm", "1 1:0.5 2:0.25\n0 1:0.1 3:2\n")
    validate_channel_files(tmp_path, DataFormat.LIBSVM, ContainerLog(io.StringIO()))
    write(tmp_path / "bad.libsvm", "1,2,3\n")
    stream = io.StringIO()
    with pytest.raises(UserError) as info:
        validate_channel_files(tmp_path, DataFormat.LIBSVM, ContainerLog(stream))
    assert str(info.value) == (
        "First line '1,2,3\n...' of file 'bad.libsvm' is not 'LIBSVM' format. Please ensure the file is in "
        "'LIBSVM' format."
    )
    assert ":ERROR] 1,2,3\n does not follow LIBSVM label format <label>(:<weight>)." in stream.getvalue()


def test_libsvm_file_without_features_is_accepted_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "labels.libsvm", "1\n0\n")
    stream = io.StringIO()
    validate_channel_files(tmp_path, DataFormat.LIBSVM, ContainerLog(stream))
    assert "File labels.libsvm is not an invalid LIBSVM file but has no features." in stream.getvalue()


def test_csv_loading_keeps_the_container_parsers_values(tmp_path: Path) -> None:
    # XGBoost's text parser is not correctly rounded (10.928 reads as 10.9279995); the container uses it too.
    write(tmp_path / "f;ile?.csv", "1,10.928,,nan\n2,a,3,4\n")
    matrix = load_channel(tmp_path, DataFormat.CSV, VERSIONS["1.7-1"], ContainerLog(io.StringIO()))
    assert matrix.get_label().tolist() == [1.0, 2.0]
    data = matrix.get_data().toarray()
    assert data[0, 0] == np.float32(10.9279995)
    assert matrix.num_row() == 2 and matrix.num_col() == 3


def test_csv_weights_read_column_one(tmp_path: Path) -> None:
    write(tmp_path / "w.csv", "1,0.5,3,4\n0,2,5,6\n")
    matrix = load_channel(
        tmp_path, DataFormat.CSV, VERSIONS["1.7-1"], ContainerLog(io.StringIO()), csv_weights=1
    )
    assert matrix.get_weight().tolist() == [0.5, 2.0]
    assert matrix.num_col() == 2


def test_parquet_is_refused_by_the_emulator(tmp_path: Path) -> None:
    write(tmp_path / "a.parquet", "PAR1")
    with pytest.raises(UserError) as info:
        load_channel(tmp_path, DataFormat.PARQUET, VERSIONS["1.7-1"], ContainerLog(io.StringIO()))
    assert "not supported by this emulator" in str(info.value)
