"""The results as a markdown table (for the README) and as named figures (for checks and tooling).

Every cell is the median of the repetitions with their range in brackets (min to max); ratios are emulator / bare of the
medians. `FIGURES` names every figure a complete run produces; the smoke test checks each is there and finite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .measurements import BareRun, EmulatorRun, Phase
from .runner import Results
from .stats import Summary, ratio

Unit = Literal["seconds", "bytes", "rows/s"]


@dataclass(frozen=True)
class Target:
    text: str  # e.g. "ratio ≤ 1.15"
    met: bool


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: Unit
    bare: Summary | None
    emulator: Summary | None
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        if self.bare is None or self.emulator is None:
            return None
        return ratio(self.emulator, self.bare)

    def figures(self) -> dict[str, float]:
        out = {}
        if self.bare is not None:
            out[f"{self.key}.bare"] = self.bare.median
        if self.emulator is not None:
            out[f"{self.key}.emulator"] = self.emulator.median
        if self.ratio is not None:
            out[f"{self.key}.ratio"] = self.ratio
        return out


TRAINING_STEPS = ("Starting", "Downloading", "Training", "Uploading")

# Every figure of a complete run: (row key, which cells).
_BOTH = ("bare", "emulator", "ratio")
_EMULATOR = ("emulator",)
_ROW_CELLS = {
    "training.seconds": _BOTH, "training.peak_memory": _BOTH,
    "transform.seconds": _BOTH, "transform.throughput": _BOTH, "transform.peak_memory": _BOTH,
    "upload.seconds": _EMULATOR, "create_model.seconds": _EMULATOR, "download.seconds": _EMULATOR,
    "total.seconds": _BOTH, "total.peak_memory": _BOTH,
    "job_start.seconds": _EMULATOR, "reference_workflow.seconds": _EMULATOR,
}
FIGURES = tuple(f"{key}.{cell}" for key, cells in _ROW_CELLS.items() for cell in cells) + tuple(
    f"training_steps.{step}.emulator" for step in TRAINING_STEPS
)


def rows(results: Results) -> list[Row]:
    bare, emulated = results.bare, results.emulator

    def b(pick: Callable[[BareRun], float]) -> Summary:
        return Summary.of([pick(run) for run in bare])

    def e(pick: Callable[[EmulatorRun], float]) -> Summary:
        return Summary.of([pick(run) for run in emulated])

    def both(key: str, label: str, phase_b: Callable[[BareRun], Phase], phase_e: Callable[[EmulatorRun], Phase],
             limit: float | None = None) -> list[Row]:
        seconds = Row(f"{key}.seconds", f"{label}: wall time", "seconds", b(lambda r: phase_b(r).seconds),
                      e(lambda r: phase_e(r).seconds))
        if limit is not None and seconds.ratio is not None:
            seconds = dataclasses.replace(seconds, target=Target(f"ratio ≤ {limit:g}", seconds.ratio <= limit))
        memory = Row(f"{key}.peak_memory", f"{label}: peak memory", "bytes",
                     b(lambda r: phase_b(r).peak_bytes), e(lambda r: phase_e(r).peak_bytes))
        return [seconds, memory]

    training = both("training", "training", lambda r: r.training, lambda r: r.training, 1.15)
    transform = both("transform", "batch transform", lambda r: r.transform, lambda r: r.transform, 1.3)
    throughput = Row("transform.throughput", "batch transform: throughput", "rows/s",
                     b(lambda r: r.test_rows / r.transform.seconds), e(lambda r: r.test_rows / r.transform.seconds))
    total = both("total", "total", lambda r: r.total, lambda r: r.total)
    job_start = Summary.of(results.job_start)
    workflow = Summary.of(results.workflow.runs)
    return [
        *training,
        transform[0], throughput, transform[1],
        Row("upload.seconds", "upload train + test to the embedded S3", "seconds", None, e(lambda r: r.upload.seconds)),
        Row("create_model.seconds", "CreateModel", "seconds", None, e(lambda r: r.model.seconds)),
        Row("download.seconds", "download predictions from the embedded S3", "seconds", None,
            e(lambda r: r.download.seconds)),
        *total,
        Row("job_start.seconds", "job start: CreateTrainingJob → Training (warm)", "seconds", None, job_start,
            Target("< 100 ms", job_start.median < 0.1)),
        Row("reference_workflow.seconds", "reference workflow end to end (Boston)", "seconds", None, workflow,
            Target("< 2 s", workflow.median < 2.0)),
    ]


def step_summaries(results: Results) -> dict[str, Summary]:
    return {step: Summary.of([run.training_steps.get(step, math.nan) for run in results.emulator])
            for step in TRAINING_STEPS}


def figures(results: Results) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows(results):
        out.update(row.figures())
    for step, summary in step_summaries(results).items():
        out[f"training_steps.{step}.emulator"] = summary.median
    return out


def markdown(results: Results) -> str:
    settings, machine, data = results.settings, results.machine, results.data
    shape = settings.transform_shape
    lines = [
        "# Benchmark: the emulator against bare XGBoost" + (" (smoke run)" if settings.smoke else ""),
        "",
        f"Machine: {machine.cpu}, {machine.cores} cores, {_bytes(machine.memory_bytes)} memory, {machine.system}, "
        f"Python {machine.python}, XGBoost {machine.xgboost}; {machine.date}. Load average (1 min) "
        f"{results.load_before:.2f} before, {results.load_after:.2f} after.",
        "",
        f"Data: train.csv {_bytes(data.train_bytes)} ({data.train_rows:,} rows: label + 20 features), test.csv "
        f"{_bytes(data.test_bytes)} ({data.test_rows:,} rows). {settings.rounds} rounds of the reference "
        f"hyperparameters, no early stopping. Batch transform: MultiRecord, MaxPayloadInMB="
        f"{shape.max_payload_mb}, MaxConcurrentTransforms={shape.max_concurrent}. "
        f"{settings.repeat} repetitions per side; job start {len(results.job_start)} samples; reference workflow "
        f"{len(results.workflow.runs)} runs.",
        "",
        "| measure | bare XGBoost | emulator | emulator / bare | target |",
        "|---|---|---|---|---|",
    ]
    for row in rows(results):
        ratio_text = f"{row.ratio:.2f}" if row.ratio is not None else ""
        target = f"{row.target.text} {'✓' if row.target.met else '✗'}" if row.target else ""
        lines.append(f"| {row.label} | {_cell(row.bare, row.unit)} | {_cell(row.emulator, row.unit)} | "
                     f"{ratio_text} | {target} |")
    steps = ", ".join(f"{step} {_cell(summary, 'seconds')}" for step, summary in step_summaries(results).items())
    lines += [
        "",
        f"The emulator's training job by SecondaryStatus: {steps}.",
        "",
        "Cells: median (min to max) of the repetitions. Wall times of jobs run from just before the Create call to "
        "the end the emulator recorded. Peak memory: summed PSS of the side's processes (the bare child; the "
        "emulator with its process server and job processes), sampled every 0.1 s; the bare children's own "
        f"peak RSS, for comparison: {_bytes(max((r.max_rss_bytes for r in results.bare), default=0))}. "
        f"Emulator predictions differing from the bare side's: {results.differing_predictions:,} of "
        f"{data.test_rows:,} lines. The first reference workflow run, which also imports scikit-learn and "
        f"matplotlib into the client, took {_seconds(results.workflow.first)} and is not counted.",
        "",
    ]
    return "\n".join(lines)


def _cell(summary: Summary | None, unit: Unit) -> str:
    if summary is None:
        return ""
    formatter = {"seconds": _seconds, "bytes": lambda v: _bytes(int(v)), "rows/s": _rate}[unit]
    text = formatter(summary.median)
    if summary.count > 1:
        text += f" ({formatter(summary.low)} to {formatter(summary.high)})"
    return text


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _bytes(value: int) -> str:
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def _rate(value: float) -> str:
    return f"{value:,.0f} rows/s"
