"""The transform settings of a CreateTransformJob request, with AWS's defaults applied.

Defaults and the documentation they rest on:

* `SplitType` None, `CompressionType` None, `JoinSource` None, `InputFilter` and `OutputFilter` `$`: the API
  reference states each of these as the default value.
* `AssembleWith` None (raw concatenation): the API states no default; None is the value that adds nothing,
  and the SageMaker SDK's `Transformer` documents `assemble_with` as defaulting to None.
* `MaxPayloadInMB` 6: "The default value is 6 MB" (CreateTransformJob).
* `BatchStrategy` MultiRecord: the API gives no default; SageMaker takes the request value, then the
  container's `GET /execution-parameters` answer, then its default table ("Use Your Own Inference Code with
  Batch Transform"), whose BatchStrategy is MULTI_RECORD. The built-in XGBoost container answers MULTI_RECORD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from .errors import TransformError


class SplitType(str, Enum):
    NONE = "None"
    LINE = "Line"
    RECORDIO = "RecordIO"
    TFRECORD = "TFRecord"


class BatchStrategy(str, Enum):
    MULTI_RECORD = "MultiRecord"
    SINGLE_RECORD = "SingleRecord"


class AssembleWith(str, Enum):
    NONE = "None"
    LINE = "Line"


class CompressionType(str, Enum):
    NONE = "None"
    GZIP = "Gzip"


class JoinSource(str, Enum):
    NONE = "None"
    INPUT = "Input"


DEFAULT_MAX_PAYLOAD_IN_MB = 6
ROOT_PATH = "$"

_E = TypeVar("_E", bound=Enum)


def _enum(kind: type[_E], field: str, value: Any, default: _E) -> _E:
    if value is None:
        return default
    for member in kind:
        if member.value == value:
            return member
    allowed = ", ".join(str(member.value) for member in kind)
    raise TransformError(f"{field} {value!r} is not one of: {allowed}.")


def _optional_str(field: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TransformError(f"{field} must be a string, got {type(value).__name__}.")


@dataclass(frozen=True)
class TransformSettings:
    """How one transform job splits, batches, filters and assembles each input object."""

    split_type: SplitType = SplitType.NONE
    batch_strategy: BatchStrategy = BatchStrategy.MULTI_RECORD
    max_payload_in_mb: int = DEFAULT_MAX_PAYLOAD_IN_MB
    assemble_with: AssembleWith = AssembleWith.NONE
    compression_type: CompressionType = CompressionType.NONE
    content_type: str | None = None
    accept: str | None = None
    input_filter: str = ROOT_PATH
    output_filter: str = ROOT_PATH
    join_source: JoinSource = JoinSource.NONE

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> TransformSettings:
        """Read the settings from a CreateTransformJob request (or a DescribeTransformJob response)."""
        transform_input = request.get("TransformInput") or {}
        transform_output = request.get("TransformOutput") or {}
        processing = request.get("DataProcessing") or {}
        max_payload = request.get("MaxPayloadInMB")
        if max_payload is None:
            max_payload = DEFAULT_MAX_PAYLOAD_IN_MB
        # bool is an int in Python; a JSON true must not pass as 1 MB.
        if not isinstance(max_payload, int) or isinstance(max_payload, bool):
            raise TransformError(f"MaxPayloadInMB must be an integer, got {max_payload!r}.")
        input_filter = _optional_str("DataProcessing.InputFilter", processing.get("InputFilter"))
        output_filter = _optional_str("DataProcessing.OutputFilter", processing.get("OutputFilter"))
        return cls(
            split_type=_enum(SplitType, "SplitType", transform_input.get("SplitType"), SplitType.NONE),
            batch_strategy=_enum(
                BatchStrategy, "BatchStrategy", request.get("BatchStrategy"), BatchStrategy.MULTI_RECORD
            ),
            max_payload_in_mb=max_payload,
            assemble_with=_enum(
                AssembleWith, "AssembleWith", transform_output.get("AssembleWith"), AssembleWith.NONE
            ),
            compression_type=_enum(
                CompressionType,
                "CompressionType",
                transform_input.get("CompressionType"),
                CompressionType.NONE,
            ),
            content_type=_optional_str("ContentType", transform_input.get("ContentType")),
            accept=_optional_str("Accept", transform_output.get("Accept")),
            input_filter=ROOT_PATH if input_filter is None else input_filter,
            output_filter=ROOT_PATH if output_filter is None else output_filter,
            join_source=_enum(JoinSource, "JoinSource", processing.get("JoinSource"), JoinSource.NONE),
        )
