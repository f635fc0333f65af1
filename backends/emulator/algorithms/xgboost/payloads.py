"""Parsing an `/invocations` request body into a DMatrix, as the container's inference server does.

CSV: the body is stripped and decoded, the delimiter is sniffed from the first 512 characters of the first
line (forced to "," when the sniffer picks a letter or digit), rows are split on "\\n" only, fields on the
delimiter, empty fields become "nan", and `numpy.array(rows).astype(float)` makes the matrix. There is no
label column. Unlike training, values are parsed to float64 first, then narrowed to float32 by XGBoost.

For speed, a comma-delimited body made only of digits, signs, points and exponents is parsed with pandas'
C reader, whose values are the same correctly rounded doubles; its result is used only when it has exactly
one row per line and one field per comma, otherwise the container's path runs (and raises its errors).

libsvm: `idx:val` tokens are features, the rest (the label) is ignored; indices are used as given (the 3.2
image shifts 1-based indices down by one).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import scipy.sparse
import xgboost as xgb

from .content_types import DataFormat, parse_content_type
from .versions import ContainerVersion

# The bytes a body may hold for the pandas path: digits, signs, points, exponents, commas and newlines.
_PLAIN_NUMBER_BYTES = b"0123456789eE+-.,\n"
_PLAIN_NUMBER_CHARS = "0123456789eE+-.,"
try:
    import pandas as pd
except ImportError:  # runtimes (see backends/emulator/runtimes) hold no pandas: the container's path runs
    pd = None
_PANDAS_NEEDS_PRECISION = pd is not None and int(pd.__version__.split(".")[0]) < 3
_PANDAS_MIN_BYTES = 16 * 1024


class PayloadError(RuntimeError):
    """The body cannot be parsed as its content type says; the server answers 415 with this text."""


def parse_payload(
    payload: bytes, content_type: str | None, version: ContainerVersion
) -> tuple[xgb.DMatrix, DataFormat]:
    data_format = parse_content_type(content_type)
    if data_format is DataFormat.CSV:
        try:
            return xgb.DMatrix(csv_matrix(payload), nthread=1), data_format
        except Exception as e:
            raise PayloadError(
                "Loading csv data failed with Exception, please ensure data is in csv format:\n"
                f" {type(e)}\n {e}"
            ) from e
    if data_format is DataFormat.LIBSVM:
        try:
            return xgb.DMatrix(libsvm_matrix(payload, version.shifts_one_based_libsvm), nthread=1), data_format
        except Exception as e:
            raise PayloadError(
                "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n"
                f" {type(e)}\n {e}"
            ) from e
    if data_format is DataFormat.RECORDIO_PROTOBUF:
        raise PayloadError(
            f"Content-type {content_type} (recordio-protobuf) is not supported by this emulator."
        )
    raise PayloadError(f"Content-type {content_type} is not supported.")


def csv_matrix(payload: bytes) -> np.ndarray:
    # pandas' reader pays a fixed cost per call; below this size the container's own path is quicker. A body of
    # plain ASCII numbers is not decoded whole for it: it cannot fail to decode, and the sniffer reads only the
    # start of its first line.
    if len(payload) > _PANDAS_MIN_BYTES and _is_plain_numbers(payload):
        fast = _plain_numbers_matrix(payload)
        if fast is not None:
            return fast
    text = payload.strip().decode("utf-8")
    # Only the first line is sniffed: split off that line rather than splitting a large body into all of them.
    delimiter = _sniff_delimiter(text.split("\n", 1)[0][:512])
    rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(float)


def _sniff_delimiter(first_line: str) -> str:
    # The sniffer, given one line of plain numbers holding a comma, always picks the comma: every character of a
    # single line is equally consistent, and the comma comes first among its preferred delimiters. Deciding so
    # here spares its frequency tables (most of the time of a one-record request).
    if "," in first_line and not first_line.strip(_PLAIN_NUMBER_CHARS):
        return ","
    sniffed = csv.Sniffer().sniff(first_line).delimiter
    return "," if sniffed.isalnum() else sniffed


def _first_line(body: bytes) -> bytes:
    end = body.find(b"\n")
    return body if end == -1 else body[:end]


def _is_plain_numbers(body: bytes) -> bool:
    # Deleting the allowed bytes leaves nothing: a single C pass, several times faster than a regex match.
    return not body.translate(None, _PLAIN_NUMBER_BYTES)


def _plain_numbers_matrix(payload: bytes) -> np.ndarray | None:
    """The container's matrix of a plain-numbers payload, or None when its own path must decide."""
    if pd is None:
        return None
    # The only whitespace plain numbers can hold is newlines, so strip() would remove just those at either end. A
    # payload cut at newlines has one at its end and none at its start: pandas reads it as it would the stripped
    # body (a final newline ends the last row), without copying megabytes to strip one byte.
    body = payload.strip() if payload.startswith(b"\n") or payload.endswith(b"\n\n") else payload
    if _sniff_delimiter(_first_line(body)[:512].decode("ascii")) != ",":
        return None
    options = {"float_precision": "round_trip"} if _PANDAS_NEEDS_PRECISION else {}
    try:
        frame = pd.read_csv(io.BytesIO(body), header=None, dtype=np.float64, **options)
    except Exception:
        return None
    matrix = frame.to_numpy()
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    rows, columns = matrix.shape
    # pandas skips blank lines and pads short rows; the container's parser does neither.
    if rows != lines or body.count(b",") != rows * (columns - 1):
        return None
    return matrix


def libsvm_matrix(payload: bytes, shift_one_based: bool) -> scipy.sparse.csr_matrix:
    text = payload.strip().decode("utf-8")
    rows: list[int] = []
    columns: list[str] = []
    values: list[str] = []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                parts = item.split(":")
                rows.append(row)
                columns.append(parts[0])
                values.append(parts[1])
    column_index = np.array(columns).astype(int)
    if shift_one_based and len(column_index) > 0 and column_index.min() >= 1:
        column_index = column_index - 1
    data = np.array(values).astype(float)
    return scipy.sparse.csr_matrix((data, (np.array(rows), column_index)))
