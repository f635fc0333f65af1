"""The batch transform of one input object: split, filter, batch, invoke, join and filter, assemble.

`invoke` stands for the model: it takes one request body and returns the response body. Requests run up to
`max_concurrency` at a time, and outputs are assembled in record order, so the output object is byte-identical
whatever the concurrency, `MaxPayloadInMB` or `BatchStrategy` (for a model that answers one line per record).
A caller whose model answers many requests more cheaply at once (forked workers fed in bundles) passes
`invoke_many`, which takes every request body of the object and yields each answer in order; each request is
still answered on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from .assembly import assemble_batches, assemble_records, split_output_lines
from .batching import Batch, PayloadLimit, pack_items, pack_lines, payload_limit, whole_object
from .compression import decompress
from .concurrency import map_in_order
from .errors import TransformError
from .filters import DataProcessing
from .records import split_binary, split_lines
from .settings import BatchStrategy, SplitType, TransformSettings

__all__ = ["TransformSettings", "transform_object"]

if TYPE_CHECKING:  # aliases for annotations only: subscripting collections.abc needs Python 3.9 at run time
    Invoke = Callable[[bytes], bytes]
    # The answers to many requests, in order; raises at the first that failed, once the answers before it are taken.
    InvokeMany = Callable[[Sequence[bytes]], Iterator[bytes]]


def _plan_batches(
    data: bytes, settings: TransformSettings, processing: DataProcessing, limit: PayloadLimit, source: str
) -> tuple[list[Batch], Sequence[bytes]]:
    """The requests for one object, and its original records when outputs must be joined with them."""
    strategy = settings.batch_strategy
    if settings.split_type is SplitType.NONE:
        payload = processing.select_input(data, 1) if processing.filters_input and data else data
        return whole_object(payload, limit, source), [data]
    if settings.split_type is SplitType.LINE:
        if strategy is BatchStrategy.MULTI_RECORD and not (processing.filters_input or processing.join):
            # Nothing reads single records: cut the buffer at newlines instead of splitting it into lines.
            return pack_lines(data, limit, source), ()
        lines = split_lines(data)
        sent = (
            [processing.select_input(line, number) for number, line in enumerate(lines, start=1)]
            if processing.filters_input
            else lines
        )
        return pack_items([record + b"\n" for record in sent], strategy, limit, source), lines
    records = split_binary(data, settings.split_type, source)
    if strategy is BatchStrategy.MULTI_RECORD:
        items = [record.framed for record in records]
    else:
        items = [record.data for record in records]
    return pack_items(items, strategy, limit, source), ()


def transform_object(
    data: bytes,
    settings: TransformSettings,
    invoke: Invoke,
    max_concurrency: int,
    *,
    source: str = "input object",
    invoke_many: InvokeMany | None = None,
) -> bytes:
    """Transform one input object into its output object.

    `source` names the object in error messages (for example its S3 key). Any failure raises `TransformError`;
    an exception raised by `invoke` (or by `invoke_many`, for the request it stopped at) becomes one naming the
    batch, with the exception's text. With `invoke_many`, an object of more than one request is sent through
    it, and its requests run as it runs them rather than `max_concurrency` at a time.
    """
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    limit = payload_limit(settings.max_payload_in_mb, source)
    processing = DataProcessing.from_settings(settings, source)
    data = decompress(data, settings.compression_type, source)
    batches, originals = _plan_batches(data, settings, processing, limit, source)

    def failed(batch: Batch, exc: Exception) -> TransformError:
        detail = str(exc) or type(exc).__name__
        return TransformError(f"{source}: {batch.describe()} failed: {detail}")

    def call(batch: Batch) -> bytes:
        try:
            return invoke(batch.payload)
        except Exception as exc:
            raise failed(batch, exc) from exc

    if invoke_many is not None and len(batches) > 1:
        outputs = _answers(batches, invoke_many, failed)
    else:
        outputs = map_in_order(call, batches, max_concurrency)
    if not processing.per_record_output:
        return assemble_batches(outputs, settings.assemble_with)
    finished: list[bytes] = []
    if len(batches) != len(outputs):  # zip(strict=) needs Python 3.10; runtimes include 3.9 (XGBoost 0.72)
        raise ValueError(f"{len(outputs)} answers for {len(batches)} batches")
    for batch, output in zip(batches, outputs):  # noqa: B905
        # With SplitType None the whole answer belongs to the object's single record.
        lines = split_output_lines(output, batch, source) if settings.split_type is SplitType.LINE else [output]
        for offset, line in enumerate(lines):
            index = batch.first_record + offset
            original = originals[index] if processing.join else None
            finished.append(processing.finish_output(original, line, index + 1))
    return assemble_records(finished, settings.assemble_with)


def _answers(batches: list[Batch], invoke_many: InvokeMany,
             failed: Callable[[Batch, Exception], TransformError]) -> list[bytes]:
    """Every batch's answer through `invoke_many`; its exception becomes one naming the batch it stopped at."""
    outputs: list[bytes] = []
    answers = invoke_many([batch.payload for batch in batches])
    try:
        for answer in answers:
            outputs.append(answer)
    except Exception as exc:
        raise failed(batches[min(len(outputs), len(batches) - 1)], exc) from exc
    finally:
        close = getattr(answers, "close", None)
        if close is not None:
            close()  # a generator's clean-up runs now, not when it is collected
    if len(outputs) != len(batches):
        raise ValueError(f"{len(outputs)} answers for {len(batches)} batches")
    return outputs
