"""`CompressionType=Gzip`: the input object is gzip data, decompressed before it is split."""

from __future__ import annotations

import gzip
import zlib

from .errors import TransformError
from .settings import CompressionType


def decompress(data: bytes, compression: CompressionType, source: str) -> bytes:
    if compression is CompressionType.NONE:
        return data
    try:
        # gzip.decompress reads every member, as `gunzip` does for concatenated .gz files.
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise TransformError(
            f"{source}: CompressionType is Gzip but the object ({len(data)} bytes) is not valid gzip data: "
            f"{exc}"
        ) from exc
