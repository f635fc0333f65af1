"""The data plane of SageMaker batch transform: how one input object becomes one output object.

Pure functions of bytes and settings: no AWS calls, and no knowledge of models (predictions come from a
callable). The executor reads objects from S3, calls `transform_object` for each, and writes `<key>.out`.
"""

from __future__ import annotations

from .errors import TransformError
from .jsonpath import validate_jsonpath
from .pipeline import transform_object
from .settings import AssembleWith, BatchStrategy, CompressionType, JoinSource, SplitType, TransformSettings

__all__ = [
    "AssembleWith",
    "BatchStrategy",
    "CompressionType",
    "JoinSource",
    "SplitType",
    "TransformError",
    "TransformSettings",
    "transform_object",
    "validate_jsonpath",
]
