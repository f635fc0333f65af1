"""DataProcessing: `InputFilter`, `JoinSource=Input` and `OutputFilter` applied to one record at a time.

The order follows AWS's workflow: the input filter selects what is sent to the model; the join combines the
model's output with the original, unfiltered input record; the output filter selects from the joined record
(or from the output alone when nothing is joined).

* CSV (`text/csv`): "each row is taken as a JSON array", so only index-based paths apply. The join appends the
  output's columns to the input row.
* JSON (`application/json`, `application/jsonlines`): the join adds the output under `SageMakerOutput` to an
  input object, or builds `{"SageMakerInput": input, "SageMakerOutput": output}` when the input is not an
  object. Filtered and joined JSON is written compactly (`{"a":1}`); an unfiltered record is never re-encoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .csvrow import CsvFormatError, join_columns, split_columns
from .errors import TransformError
from .formats import SUPPORTED, RecordFormat, record_format
from .jsonpath import JsonPath, JsonPathError, evaluate, parse, validate_jsonpath
from .settings import JoinSource, SplitType, TransformSettings

__all__ = ["DataProcessing", "validate_jsonpath"]

OUTPUT_KEY = "SageMakerOutput"
INPUT_KEY = "SageMakerInput"


class _PlanError(ValueError):
    """A DataProcessing setting that cannot work with the job's formats; reported with the object's name."""


def _parse_filter(field: str, text: str) -> JsonPath:
    try:
        return parse(text)
    except JsonPathError as exc:
        raise _PlanError(f"DataProcessing.{field}: {exc}") from exc


def _require_index_path(field: str, path: JsonPath) -> None:
    if path.uses_names or len(path.steps) > 1:
        raise _PlanError(
            f"DataProcessing.{field} {path.text!r} cannot apply to CSV: a CSV row is an array of columns, so "
            "only index-based paths such as $[0], $[1:] or $[0,-1] apply"
        )


def _single_line(content: bytes) -> bytes:
    """A CSV record or output without its line terminator; it must not hold further lines."""
    line = content[:-1] if content.endswith(b"\n") else content
    line = line[:-1] if line.endswith(b"\r") else line
    if b"\n" in line:
        lines = line.count(b"\n") + 1
        raise CsvFormatError(
            f"it holds {lines} lines, but a CSV record is one line (AWS: with text/csv, set SplitType and "
            "AssembleWith to Line)"
        )
    return line


def _columns(content: bytes) -> list[bytes]:
    return split_columns(_single_line(content))


def _as_columns(selected: Any) -> list[bytes]:
    columns = selected if isinstance(selected, list) else [selected]
    if not columns:
        raise JsonPathError("the path selects no columns")
    return columns


def _load_json(content: bytes) -> Any:
    return json.loads(content)


def _dump_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate escape (`"\\ud800"`) has no UTF-8 form; escaped output is still the same JSON.
        return json.dumps(value, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class DataProcessing:
    """The DataProcessing of one job, checked against its formats before any record is sent."""

    source: str
    input_filter: JsonPath
    output_filter: JsonPath
    join: bool
    input_format: RecordFormat | None
    output_format: RecordFormat | None

    @property
    def filters_input(self) -> bool:
        return not self.input_filter.is_root

    @property
    def per_record_output(self) -> bool:
        """Outputs must be matched to their records (split back into one line per record)."""
        return self.join or not self.output_filter.is_root

    @classmethod
    def from_settings(cls, settings: TransformSettings, source: str) -> DataProcessing:
        """The plan for `settings`; raises TransformError, naming `source`, if it cannot work."""
        try:
            return cls._checked(settings, source)
        except _PlanError as exc:
            # The object's name comes first, as in SageMaker's "<bucket/key>: Invalid JsonPath: ..." lines.
            raise TransformError(f"{source}: {exc}") from exc

    @classmethod
    def _checked(cls, settings: TransformSettings, source: str) -> DataProcessing:
        input_filter = _parse_filter("InputFilter", settings.input_filter)
        output_filter = _parse_filter("OutputFilter", settings.output_filter)
        join = settings.join_source is JoinSource.INPUT
        plan = cls(source, input_filter, output_filter, join, None, None)
        if not (plan.filters_input or plan.per_record_output):
            return plan
        if settings.split_type in (SplitType.RECORDIO, SplitType.TFRECORD):
            raise _PlanError(
                "DataProcessing (InputFilter, JoinSource, OutputFilter) works on CSV and JSON records and "
                f"cannot be combined with SplitType {settings.split_type.value}"
            )
        input_format = record_format(settings.content_type)
        if (plan.filters_input or join) and input_format is None:
            raise _PlanError(
                f"DataProcessing needs TransformInput.ContentType to be one of {SUPPORTED} to read the input "
                f"records; got {settings.content_type!r}"
            )
        output_format = None
        if plan.per_record_output:
            # Without an Accept header the model answers in its default format, taken to be the input's.
            output_format = input_format if settings.accept is None else record_format(settings.accept)
            if output_format is None and settings.accept is None:
                raise _PlanError(
                    "DataProcessing needs TransformOutput.Accept (or, when it is unset, ContentType) to be "
                    f"one of {SUPPORTED} to read the model's output; Accept is unset and ContentType is "
                    f"{settings.content_type!r}"
                )
            if output_format is None:
                raise _PlanError(
                    f"DataProcessing needs TransformOutput.Accept to be one of {SUPPORTED} to read the "
                    f"model's output; got {settings.accept!r}"
                )
        if join and input_format is not output_format:
            raise _PlanError(
                f"JoinSource=Input joins records of one format, but ContentType {settings.content_type!r} is "
                f"{input_format.value if input_format else 'unknown'} and Accept {settings.accept!r} is "
                f"{output_format.value if output_format else 'unknown'}"
            )
        if plan.filters_input and input_format is RecordFormat.CSV:
            _require_index_path("InputFilter", input_filter)
        if not output_filter.is_root and output_format is RecordFormat.CSV:
            _require_index_path("OutputFilter", output_filter)
        return cls(source, input_filter, output_filter, join, input_format, output_format)

    def _error(self, number: int, what: str, exc: Exception) -> TransformError:
        return TransformError(f"{self.source}: record {number}: {what}: {exc}")

    def select_input(self, record: bytes, number: int) -> bytes:
        """The part of record `number` (1-based) that is sent to the model."""
        path = self.input_filter
        if self.input_format is RecordFormat.CSV:
            try:
                columns = _columns(record)
            except CsvFormatError as exc:
                raise self._error(number, "the input is not a CSV row", exc) from exc
            try:
                return join_columns(_as_columns(evaluate(path, columns, noun="column")))
            except JsonPathError as exc:
                raise self._error(number, f"InputFilter {path.text}", exc) from exc
        try:
            value = _load_json(record)
        except ValueError as exc:
            raise self._error(number, "the input is not valid JSON", exc) from exc
        try:
            return _dump_json(evaluate(path, value))
        except JsonPathError as exc:
            raise self._error(number, f"InputFilter {path.text}", exc) from exc

    def finish_output(self, original: bytes | None, output: bytes, number: int) -> bytes:
        """Record `number`'s output, joined with its original input and filtered, as it is written.

        `original` is the record as read from the object; it is needed (only) when joining.
        """
        if self.join and original is None:
            raise ValueError("joining needs the original input record")
        path = self.output_filter
        root = "the joined record" if self.join else "the output"
        if self.output_format is RecordFormat.CSV:
            try:
                columns = _columns(output)
            except CsvFormatError as exc:
                raise self._error(number, "the model's output is not a CSV row", exc) from exc
            if original is not None and self.join:
                try:
                    columns = _columns(original) + columns
                except CsvFormatError as exc:
                    raise self._error(number, "the input is not a CSV row", exc) from exc
            try:
                return join_columns(_as_columns(evaluate(path, columns, root=root, noun="column")))
            except JsonPathError as exc:
                raise self._error(number, f"OutputFilter {path.text}", exc) from exc
        try:
            value = _load_json(output)
        except ValueError as exc:
            raise self._error(number, "the model's output is not valid JSON", exc) from exc
        if original is not None and self.join:
            try:
                source_value = _load_json(original)
            except ValueError as exc:
                raise self._error(number, "the input is not valid JSON", exc) from exc
            if isinstance(source_value, dict):
                value = {**source_value, OUTPUT_KEY: value}
            else:
                value = {INPUT_KEY: source_value, OUTPUT_KEY: value}
        try:
            return _dump_json(evaluate(path, value, root=root))
        except JsonPathError as exc:
            raise self._error(number, f"OutputFilter {path.text}", exc) from exc
