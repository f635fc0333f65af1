"""Combining the outputs of one object's requests into its single output object, per `AssembleWith`.

AWS: "To concatenate the results in binary format, specify None. To add a newline character at the end of
every transformed record, specify Line." A request's answer already ends in a newline when the model writes
one line per record (the built-in XGBoost container does), so `Line` adds one only where it is missing: the
output is then the same whether records were sent one at a time or many per request.
"""

from __future__ import annotations

from collections.abc import Sequence

from .batching import Batch
from .errors import TransformError
from .records import has_crlf
from .settings import AssembleWith


def assemble_batches(outputs: Sequence[bytes], assemble_with: AssembleWith) -> bytes:
    if assemble_with is AssembleWith.NONE:
        return b"".join(outputs)
    return b"".join(output if output.endswith(b"\n") else output + b"\n" for output in outputs)


def assemble_records(records: Sequence[bytes], assemble_with: AssembleWith) -> bytes:
    if assemble_with is AssembleWith.NONE:
        return b"".join(records)
    return b"".join(record + b"\n" for record in records)


def split_output_lines(output: bytes, batch: Batch, source: str) -> list[bytes]:
    """One output line per record of `batch`, which joining and output filtering need to pair them up."""
    body = output[:-1] if output.endswith(b"\n") else output
    body = body[:-1] if body.endswith(b"\r") else body
    lines = body.split(b"\n")
    if len(lines) != batch.record_count:
        raise TransformError(
            f"{source}: {batch.describe()}: the model answered with {len(lines)} lines for "
            f"{batch.record_count} records; JoinSource and OutputFilter need exactly one output line per "
            "record"
        )
    if has_crlf(body):
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines
