"""Which record format a MIME type means for DataProcessing.

AWS: "you must set both the ContentType and Accept parameters to one of the following values: text/csv,
application/json, or application/jsonlines". Media-type parameters (`; charset=utf-8`) are ignored.
"""

from __future__ import annotations

from enum import Enum


class RecordFormat(str, Enum):
    CSV = "CSV"
    JSON = "JSON"


_FORMATS = {
    "text/csv": RecordFormat.CSV,
    "application/json": RecordFormat.JSON,
    "application/jsonlines": RecordFormat.JSON,
}
SUPPORTED = ", ".join(_FORMATS)


def record_format(mime_type: str | None) -> RecordFormat | None:
    if mime_type is None:
        return None
    essence = mime_type.split(";", 1)[0].strip().lower()
    return _FORMATS.get(essence)
