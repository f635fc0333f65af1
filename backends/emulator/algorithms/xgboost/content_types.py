"""Content types the container accepts, and how it reduces them to a data format.

Channel validation compares the configured ContentType as an exact string (see channels.py); the data
loaders and the inference server then parse it like the container's `get_content_type`: lower-cased, split
into a media type and parameters (the `cgi.parse_header` rules), with `label_size=1` the only CSV parameter
value allowed. No content type at all means libsvm.
"""

from __future__ import annotations

from enum import Enum

from .errors import UserError


class DataFormat(Enum):
    CSV = "csv"
    LIBSVM = "libsvm"
    PARQUET = "parquet"
    RECORDIO_PROTOBUF = "recordio-protobuf"


VALID_CONTENT_TYPES = (
    "csv",
    "libsvm",
    "parquet",
    "recordio-protobuf",
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
)
# Pipe mode streams records, which XGBoost's libsvm reader cannot take.
VALID_PIPED_CONTENT_TYPES = tuple(ct for ct in VALID_CONTENT_TYPES if "libsvm" not in ct)

_FORMATS = {
    "csv": DataFormat.CSV,
    "text/csv": DataFormat.CSV,
    "libsvm": DataFormat.LIBSVM,
    "text/libsvm": DataFormat.LIBSVM,
    "text/x-libsvm": DataFormat.LIBSVM,
    "parquet": DataFormat.PARQUET,
    "application/x-parquet": DataFormat.PARQUET,
    "recordio-protobuf": DataFormat.RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": DataFormat.RECORDIO_PROTOBUF,
}


def parse_content_type(content_type: str | None) -> DataFormat:
    if content_type is None:
        return DataFormat.LIBSVM
    media_type, params = split_media_type(content_type.lower())
    data_format = _FORMATS.get(media_type)
    if data_format is None:
        raise UserError(f"{content_type} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")
    if data_format is DataFormat.CSV and params.get("label_size", "1") != "1":
        raise UserError(
            f"{content_type} is not an accepted csv ContentType. "
            "Optional parameter label_size must be equal to 1"
        )
    return data_format


def split_media_type(value: str) -> tuple[str, dict[str, str]]:
    """`text/csv; label_size=1` -> ("text/csv", {"label_size": "1"}), following cgi.parse_header.

    Semicolons inside quoted parameter values do not split; parameter names are lower-cased and quoted values
    unquoted. (cgi itself is gone from Python 3.13, hence this copy of its rules.)
    """
    parts = _split_parameters(";" + value)
    media_type = parts[0]
    params: dict[str, str] = {}
    for part in parts[1:]:
        if "=" not in part:
            continue
        key, _, raw = part.partition("=")
        key = key.strip().lower()
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        params[key] = raw
    return media_type, params


def _split_parameters(text: str) -> list[str]:
    parts: list[str] = []
    while text[:1] == ";":
        text = text[1:]
        end = text.find(";")
        while end > 0 and (text.count('"', 0, end) - text.count('\\"', 0, end)) % 2:
            end = text.find(";", end + 1)
        if end < 0:
            end = len(text)
        parts.append(text[:end].strip())
        text = text[end:]
    return parts
