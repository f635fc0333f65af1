"""The results as a markdown table (bench/RESULTS.md, which docs/performance.md quotes) and as named figures
(for checks and tooling).

Every cell is the median of the repetitions with their range (min to max) in brackets; ratios are emulator / bare
of the medians. `FIGURES` names every figure a complete run produces; the smoke test checks each is there and
finite. `figures()` also counts the answers that must be the same on both sides (`*.differing_*`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .endpoint import CONCURRENCY, INSTANCE_TYPE, ROWS_PER_REQUEST
from .measurements import BareRun, EmulatorRun, EndpointRun, StrategyRun
from .runner import Results
from .served_model import TRAINING_ROWS
from .stats import Summary, percentile, ratio
from .workload import image_version, installed_xgboost

Unit = Literal["seconds", "bytes", "rows/s", "latency"]


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

# Every row of the table, in order: its label and which cells it has.
_BOTH = ("bare", "emulator", "ratio")
_EMULATOR = ("emulator",)
ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "training.seconds": ("training: wall time", _BOTH),
    "training.cpu": ("training: CPU time", _BOTH),
    "training.peak_memory": ("training: peak memory", _BOTH),
    "transform.seconds": ("batch transform: wall time", _BOTH),
    "transform.throughput": ("batch transform: throughput", _BOTH),
    "transform.cpu": ("batch transform: CPU time", _BOTH),
    "transform.peak_memory": ("batch transform: peak memory", _BOTH),
    "transform.native_seconds": ("batch transform: wall time, bare with XGBoost's own CSV reader", _BOTH),
    "upload.seconds": ("upload train + test to the embedded S3", _EMULATOR),
    "create_model.seconds": ("CreateModel", _EMULATOR),
    "download.seconds": ("download predictions from the embedded S3", _EMULATOR),
    "total.seconds": ("total: wall time", _BOTH),
    "total.cpu": ("total: CPU time", _BOTH),
    "total.peak_memory": ("total: peak memory", _BOTH),
    "job_start.seconds": ("job start: CreateTrainingJob → Training (warm)", _EMULATOR),
    "reference_workflow.seconds": ("reference workflow end to end (Boston)", _EMULATOR),
    "endpoint.latency_p50_http": ("InvokeEndpoint, one row, raw HTTP: p50 latency", _BOTH),
    "endpoint.latency_p99_http": ("InvokeEndpoint, one row, raw HTTP: p99 latency", _BOTH),
    "endpoint.latency_p50_boto3": ("InvokeEndpoint, one row, boto3: p50 latency", _BOTH),
    "endpoint.latency_p99_boto3": ("InvokeEndpoint, one row, boto3: p99 latency", _BOTH),
    **{f"endpoint.throughput_c{c}": (f"InvokeEndpoint, {ROWS_PER_REQUEST}-row requests, {c} at a time: throughput",
                                     _BOTH) for c in CONCURRENCY},
    "strategies.multi_record": ("batch transform, MultiRecord (strategy input): throughput", _BOTH),
    "strategies.single_record": ("batch transform, SingleRecord (strategy input): throughput", _BOTH),
}
# Every figure of a complete run, by name.
FIGURES = tuple(f"{key}.{cell}" for key, (_, cells) in ROWS.items() for cell in cells) + tuple(
    f"training_steps.{step}.emulator" for step in TRAINING_STEPS
)


def rows(results: Results) -> list[Row]:
    bare, emulated = results.bare, results.emulator

    def b(pick: Callable[[BareRun], float]) -> Summary:
        return Summary.of([pick(run) for run in bare])

    def e(pick: Callable[[EmulatorRun], float]) -> Summary:
        return Summary.of([pick(run) for run in emulated])

    def row(key: str, unit: Unit, bare_value: Summary | None, emulator_value: Summary,
            target: Callable[[Row], Target] | None = None) -> Row:
        made = Row(key, ROWS[key][0], unit, bare_value, emulator_value)
        return dataclasses.replace(made, target=target(made)) if target is not None else made

    def ratio_at_most(limit: float) -> Callable[[Row], Target]:
        return lambda made: Target(f"ratio ≤ {limit:g}", made.ratio is not None and made.ratio <= limit)

    def below(limit: float, text: str) -> Callable[[Row], Target]:
        return lambda made: Target(f"< {text}", made.emulator is not None and made.emulator.median < limit)

    def endpoint(pick: Callable[[EndpointRun], float]) -> Summary:
        return Summary.of([pick(run) for run in results.endpoint.runs])

    def strategy(pick: Callable[[StrategyRun], float]) -> Summary:
        return Summary.of([pick(run) for run in results.strategies.runs])

    def overhead_below(limit: float) -> Callable[[Row], Target]:
        def target(made: Row) -> Target:
            assert made.bare is not None and made.emulator is not None
            overhead = made.emulator.median - made.bare.median
            return Target(f"overhead < {limit * 1000:g} ms (now {_latency(overhead)})", overhead < limit)
        return target

    def ratio_at_least(limit: float) -> Callable[[Row], Target]:
        return lambda made: Target(f"ratio ≥ {limit:g}", made.ratio is not None and made.ratio >= limit)

    rows_total = results.strategies.rows
    multi = strategy(lambda r: rows_total / r.multi_record.seconds)

    def within_of_multi(factor: float) -> Callable[[Row], Target]:
        def target(made: Row) -> Target:
            assert made.emulator is not None
            slower = multi.median / made.emulator.median
            return Target(f"≥ MultiRecord / {factor:g} (now / {slower:.1f})", slower <= factor)
        return target

    job_start, workflow = Summary.of(results.job_start), Summary.of(results.workflow.runs)
    return [
        row("training.seconds", "seconds", b(lambda r: r.training.seconds), e(lambda r: r.training.seconds),
            ratio_at_most(1.15)),
        row("training.cpu", "seconds", b(lambda r: r.training.cpu_seconds), e(lambda r: r.training.cpu_seconds)),
        row("training.peak_memory", "bytes", b(lambda r: r.training.peak_bytes), e(lambda r: r.training.peak_bytes)),
        row("transform.seconds", "seconds", b(lambda r: r.transform.seconds), e(lambda r: r.transform.seconds),
            ratio_at_most(1.3)),
        row("transform.throughput", "rows/s", b(lambda r: r.test_rows / r.transform.seconds),
            e(lambda r: r.test_rows / r.transform.seconds)),
        row("transform.cpu", "seconds", b(lambda r: r.transform.cpu_seconds),
            e(lambda r: r.transform.cpu_seconds)),
        row("transform.peak_memory", "bytes", b(lambda r: r.transform.peak_bytes),
            e(lambda r: r.transform.peak_bytes)),
        row("transform.native_seconds", "seconds", b(lambda r: r.native_transform.seconds),
            e(lambda r: r.transform.seconds)),
        row("upload.seconds", "seconds", None, e(lambda r: r.upload.seconds)),
        row("create_model.seconds", "seconds", None, e(lambda r: r.model.seconds)),
        row("download.seconds", "seconds", None, e(lambda r: r.download.seconds)),
        row("total.seconds", "seconds", b(lambda r: r.total.seconds), e(lambda r: r.total.seconds)),
        row("total.cpu", "seconds", b(lambda r: r.total.cpu_seconds), e(lambda r: r.total.cpu_seconds)),
        row("total.peak_memory", "bytes", b(lambda r: r.total.peak_bytes), e(lambda r: r.total.peak_bytes)),
        row("job_start.seconds", "seconds", None, job_start, below(0.1, "100 ms")),
        row("reference_workflow.seconds", "seconds", None, workflow, below(2.0, "2 s")),
        row("endpoint.latency_p50_http", "latency", endpoint(lambda r: percentile(r.bare_latency, 50)),
            endpoint(lambda r: percentile(r.http_latency, 50)), overhead_below(0.001)),
        row("endpoint.latency_p99_http", "latency", endpoint(lambda r: percentile(r.bare_latency, 99)),
            endpoint(lambda r: percentile(r.http_latency, 99))),
        row("endpoint.latency_p50_boto3", "latency", endpoint(lambda r: percentile(r.bare_latency, 50)),
            endpoint(lambda r: percentile(r.boto3_latency, 50))),
        row("endpoint.latency_p99_boto3", "latency", endpoint(lambda r: percentile(r.bare_latency, 99)),
            endpoint(lambda r: percentile(r.boto3_latency, 99))),
        *[row(f"endpoint.throughput_c{c}", "rows/s", endpoint(_bare_rate(c)), endpoint(_emulator_rate(c)),
              ratio_at_least(0.7)) for c in CONCURRENCY],
        row("strategies.multi_record", "rows/s", strategy(lambda r: rows_total / r.bare.seconds), multi),
        row("strategies.single_record", "rows/s", strategy(lambda r: rows_total / r.bare.seconds),
            strategy(lambda r: rows_total / r.single_record.seconds), within_of_multi(3)),
    ]


def _bare_rate(concurrency: int) -> Callable[[EndpointRun], float]:
    return lambda run: run.bare_throughput[concurrency]


def _emulator_rate(concurrency: int) -> Callable[[EndpointRun], float]:
    return lambda run: run.emulator_throughput[concurrency]


def step_summaries(results: Results) -> dict[str, Summary]:
    return {step: Summary.of([run.training_steps.get(step, math.nan) for run in results.emulator])
            for step in TRAINING_STEPS}


def figures(results: Results) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows(results):
        out.update(row.figures())
    for step, summary in step_summaries(results).items():
        out[f"training_steps.{step}.emulator"] = summary.median
    # Answers that must not differ (counts, not timings).
    out["endpoint.differing_answers"] = results.endpoint.differing_answers
    out["strategies.differing_lines"] = results.strategies.differing_lines
    out["strategies.differing_bare_lines"] = results.strategies.differing_bare_lines
    return out


def markdown(results: Results) -> str:
    settings, machine, data = results.settings, results.machine, results.data
    shape = settings.transform_shape
    lines = [
        "# Benchmark: the emulator against bare XGBoost" + (" (smoke run)" if settings.smoke else ""),
        "",
        f"Machine: {machine.cpu}, {machine.cores} cores, {_bytes(machine.memory_bytes)} memory, {machine.system}, "
        f"Python {machine.python}, XGBoost {machine.xgboost}; {machine.date}. Other work on the machine used "
        f"{results.other_load:.0%} of its CPU during the run (load average {results.load_before:.2f} before, "
        f"{results.load_after:.2f} after).",
        "",
        f"Data: train.csv {_bytes(data.train_bytes)} ({data.train_rows:,} rows: label + 20 features), test.csv "
        f"{_bytes(data.test_bytes)} ({data.test_rows:,} rows). {settings.rounds} rounds of the reference "
        f"hyperparameters, no early stopping. The emulator's jobs use image version {image_version()}, whose "
        f"XGBoost release is the one installed here ({installed_xgboost()}), and run on that installed XGBoost, "
        "as the bare side does (no per-image runtime). Batch transform: MultiRecord, MaxPayloadInMB="
        f"{shape.max_payload_mb}, MaxConcurrentTransforms={shape.max_concurrent}. "
        f"{settings.repeat} repetitions per side; job start {len(results.job_start)} samples; reference workflow "
        f"{len(results.workflow.runs)} runs.",
        "",
        f"Real-time endpoint: the model of a training job on {TRAINING_ROWS:,} rows of the same format "
        f"({settings.rounds} rounds), one {INSTANCE_TYPE} instance (the emulator's model server for the built-in "
        f"image: the container's inference application in one worker process per CPU); "
        f"{settings.latency_samples:,} one-row requests per side, client and repetition; "
        f"{settings.throughput_requests:,} requests of {ROWS_PER_REQUEST} rows per side, "
        f"concurrency level and repetition. SingleRecord against MultiRecord (\"strategy input\"): that model "
        f"transforms one object of {results.strategies.rows:,} rows with each BatchStrategy, MaxPayloadInMB="
        f"{shape.max_payload_mb}, MaxConcurrentTransforms={shape.max_concurrent}.",
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
    bare_rss = _bytes(max((r.max_rss_bytes for r in results.bare), default=0))
    lines += [
        "",
        f"The emulator's training job by SecondaryStatus: {steps}.",
        "",
        "How it is measured:",
        "",
        "- Cells are the median of the repetitions (min to max in brackets); ratios are of the medians. Bare and "
        "emulator repetitions alternate, so a change in background load touches both.",
        "- Bare: one child process per phase (`python -m bench.bare`), timed after its imports. Training reads "
        "train.csv with XGBoost's text reader (`?format=csv&label_column=0`, as the container does), trains with "
        "the parameters the emulator's job gets (nthread = every core; the train set as watchlist, which the "
        "container evaluates every round) and saves the model. Transform loads the model, reads test.csv as the "
        "container's inference parses CSV (to float64, here with pandas' C reader, as the emulator does; "
        "XGBoost narrows to float32), predicts, and writes `str()` of each float32 prediction, one per line. "
        "The row \"bare with XGBoost's own CSV reader\" times the same transform reading test.csv with XGBoost's "
        "multi-threaded text reader instead, which parses straight to float32: quicker, but not the container's "
        "computation.",
        "- Emulator: `harness serve` in its own process, driven with boto3 over HTTP with default transfer "
        "settings: upload both files, CreateTrainingJob until Completed, CreateModel, CreateTransformJob until "
        "Completed, download the predictions. A job's time runs from just before its Create call to the end the "
        "emulator recorded, so the polling interval is not counted. Total = the sum of these phases.",
        "- The emulator's batch transform runs the container's model server as forked worker processes, "
        "one per CPU up to MaxConcurrentTransforms, as the container runs one worker per CPU; the job "
        "process cuts, sends and assembles the requests.",
        "- CPU time: user + system of the side's processes during the phase (for the emulator: the server, its "
        "process server and job processes). Peak memory: their summed RSS, sampled every 0.1 s; pages shared "
        "between processes (libraries, and the process server's pages its forked jobs share) count once per "
        f"process. The bare children's own peak RSS, for comparison: {bare_rss}.",
        f"- Emulator predictions that differ from the bare side's: {results.differing_predictions:,} of "
        f"{data.test_rows:,} lines; from those of XGBoost's own reader: {results.differing_native_predictions:,} "
        "(a value on a float32 rounding boundary parses to another float32 there).",
        "- The first reference workflow run, which also imports scikit-learn and matplotlib into the client, "
        f"took {_seconds(results.workflow.first)} and is not counted.",
        "- InvokeEndpoint latency: each request timed from the call to the answer's last byte, one after another "
        "after 20 untimed ones; raw HTTP is `http.client` on one keep-alive connection to the gateway (an "
        "unsigned `POST /endpoints/<name>/invocations`, Content-Type text/csv), boto3 is the sagemaker-runtime "
        "client (signing, parsing). Bare: `serving.predict` of the same row in one process, on the same model "
        "loaded with `serving.load_model` (`python -m bench.bare latency`). Cells are the median over repetitions "
        "of each repetition's p50 and p99 (nearest rank). The overhead is emulator p50 - bare p50. Endpoint "
        f"answers that differ from the bare side's: {results.endpoint.differing_answers:,} of "
        f"{results.endpoint.answers:,}; CreateEndpoint to InService took {_seconds(results.endpoint.start_seconds)}.",
        f"- InvokeEndpoint throughput: {ROWS_PER_REQUEST}-row text/csv requests (16 different bodies in turn) "
        "shared out evenly among c client threads in the benchmark's process, each with its own keep-alive "
        "connection (raw HTTP); rows/s from the moment all have connected until the last answer. Bare: the same "
        "requests answered by `serving.predict` in c processes forked after the model is loaded, the way the "
        "container's server runs one process per worker (threads would take turns: one request at a time "
        "reaches a Booster).",
        "- SingleRecord against MultiRecord: each transform job from just before CreateTransformJob to its "
        "recorded end, as above; the bare cell is the bare transform of the same file. SingleRecord output lines "
        f"that differ from MultiRecord's: {results.strategies.differing_lines:,}; MultiRecord's that differ from "
        f"the bare side's: {results.strategies.differing_bare_lines:,}.",
        "",
    ]
    return "\n".join(lines)


def _cell(summary: Summary | None, unit: Unit) -> str:
    if summary is None:
        return ""
    formatter = {"seconds": _seconds, "bytes": lambda v: _bytes(int(v)), "rows/s": _rate, "latency": _latency}[unit]
    text = formatter(summary.median)
    if summary.count > 1:
        text += f" ({formatter(summary.low)} to {formatter(summary.high)})"
    return text


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _latency(value: float) -> str:
    """Sub-millisecond precision for request latencies."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) < 0.001:
        return f"{value * 1e6:.0f} µs"
    return f"{value * 1000:.2f} ms" if abs(value) < 0.1 else _seconds(value)


def _bytes(value: int) -> str:
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def _rate(value: float) -> str:
    return f"{value:,.0f} rows/s"
