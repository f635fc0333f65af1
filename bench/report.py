"""The results as markdown tables (bench/RESULTS.md, which docs/performance.md quotes) and as named figures
(for checks and tooling).

Every cell is the median of the repetitions with their range (min to max) in brackets; ratios are emulator / bare
of the medians. `FIGURES` names every figure a complete run produces (`PART_FIGURES` those of each part); the
smoke test checks each is there and finite. `figures()` also counts the answers that must be the same on both
sides (`*.differing_*`).

Each part of the benchmark is a section of the document: the main table first (no heading of its own), then
`## Hyperparameter tuning`, `## Script mode` and `## Durability`. Each section says on what machine and when it was
measured, so that a run of some parts (`--only`) can keep the other sections of the previous document
(`markdown(results, previous)`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .durability import SMALL, DurabilityResults, DurabilityRun
from .emulator_side import POLL_SECONDS
from .endpoint import CONCURRENCY, INSTANCE_TYPE, ROWS_PER_REQUEST
from .measurements import BareRun, EmulatorRun, EndpointRun, ScriptRun, StrategyRun, TuningRun
from .runner import MainResults, Results
from .script_mode import EXAMPLE, FRAMEWORK_VERSION, METRIC, METRIC_REGEX, N_ESTIMATORS, ScriptResults
from .served_model import TRAINING_ROWS
from .settings import PARTS
from .stats import Summary, percentile, ratio
from .tuning import OBJECTIVE_TOLERANCE, TuningResults
from .workload import (
    TUNED_RANGES,
    TUNING_OBJECTIVE,
    image_version,
    installed_xgboost,
    tuning_static_hyperparameters,
)

Unit = Literal["seconds", "bytes", "rows/s", "latency", "bytes/s"]


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

# Every row of each table, in order: its label and which cells it has.
_BOTH = ("bare", "emulator", "ratio")
_EMULATOR = ("emulator",)
MAIN_ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
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
TUNING_ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tuning.seconds": ("tuning job: wall time (bare: the same trainings one after another)", _BOTH),
    "tuning.parallel_seconds": ("tuning job: wall time (bare: the same trainings, as many at once)", _BOTH),
    "tuning.cpu": ("tuning job: CPU time (bare: one after another)", _BOTH),
    "tuning.added_per_child": ("tuning job: wall time added per child (against bare, as many at once)", _EMULATOR),
}
SCRIPT_ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "script.training.seconds": ("script-mode training job: wall time (bare: `python train.py` in the runtime)", _BOTH),
    "script.transform.seconds": ("batch transform through the inference script: wall time (bare: a process "
                                 "predicting with model.joblib)", _BOTH),
    "script.training.added": ("training job: wall time the emulator adds (emulator - bare, per repetition)",
                              _EMULATOR),
    "script.transform.added": ("batch transform: wall time the emulator adds (emulator - bare, per repetition)",
                               _EMULATOR),
}
# Durability: "bare" is the server without the journal, "emulator" the one with it (the default).
DURABILITY_ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "durability.small.throughput": ("PutObject, 1 MiB objects one after another: throughput", _BOTH),
    "durability.large.throughput": ("upload_file, one large object (multipart): throughput", _BOTH),
    "durability.small_unflushed.throughput": ("the same PutObject calls, journal without fsync "
                                              "(`HARNESS_JOURNAL_FSYNC=0`): throughput", _BOTH),
    "durability.large_unflushed.throughput": ("the same upload_file, journal without fsync: throughput", _BOTH),
}
DURABILITY_TARGET = 0.8  # durable / not durable
ROWS = {**MAIN_ROWS, **TUNING_ROWS, **SCRIPT_ROWS, **DURABILITY_ROWS}
TUNING_HEADING = "## Hyperparameter tuning"
SCRIPT_HEADING = "## Script mode"
DURABILITY_HEADING = "## Durability"
# The sections with a heading, by part.
_HEADINGS = {TUNING_HEADING: "tuning", SCRIPT_HEADING: "script", DURABILITY_HEADING: "durability"}


def _cell_figures(rows: dict[str, tuple[str, tuple[str, ...]]]) -> tuple[str, ...]:
    return tuple(f"{key}.{cell}" for key, (_, cells) in rows.items() for cell in cells)


# Every figure of each part, and of a complete run, by name.
PART_FIGURES: dict[str, tuple[str, ...]] = {
    "main": _cell_figures(MAIN_ROWS) + tuple(f"training_steps.{step}.emulator" for step in TRAINING_STEPS),
    "tuning": _cell_figures(TUNING_ROWS),
    "script": _cell_figures(SCRIPT_ROWS),
    "durability": _cell_figures(DURABILITY_ROWS),
}
FIGURES = tuple(name for part in PARTS for name in PART_FIGURES[part])


def _row(key: str, unit: Unit, bare_value: Summary | None, emulator_value: Summary,
         target: Callable[[Row], Target] | None = None) -> Row:
    made = Row(key, ROWS[key][0], unit, bare_value, emulator_value)
    return dataclasses.replace(made, target=target(made)) if target is not None else made


def main_rows(results: MainResults) -> list[Row]:
    bare, emulated = results.bare, results.emulator

    def b(pick: Callable[[BareRun], float]) -> Summary:
        return Summary.of([pick(run) for run in bare])

    def e(pick: Callable[[EmulatorRun], float]) -> Summary:
        return Summary.of([pick(run) for run in emulated])

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
        _row("training.seconds", "seconds", b(lambda r: r.training.seconds), e(lambda r: r.training.seconds),
            ratio_at_most(1.15)),
        _row("training.cpu", "seconds", b(lambda r: r.training.cpu_seconds), e(lambda r: r.training.cpu_seconds)),
        _row("training.peak_memory", "bytes", b(lambda r: r.training.peak_bytes), e(lambda r: r.training.peak_bytes)),
        _row("transform.seconds", "seconds", b(lambda r: r.transform.seconds), e(lambda r: r.transform.seconds),
            ratio_at_most(1.3)),
        _row("transform.throughput", "rows/s", b(lambda r: r.test_rows / r.transform.seconds),
            e(lambda r: r.test_rows / r.transform.seconds)),
        _row("transform.cpu", "seconds", b(lambda r: r.transform.cpu_seconds),
            e(lambda r: r.transform.cpu_seconds)),
        _row("transform.peak_memory", "bytes", b(lambda r: r.transform.peak_bytes),
            e(lambda r: r.transform.peak_bytes)),
        _row("transform.native_seconds", "seconds", b(lambda r: r.native_transform.seconds),
            e(lambda r: r.transform.seconds)),
        _row("upload.seconds", "seconds", None, e(lambda r: r.upload.seconds)),
        _row("create_model.seconds", "seconds", None, e(lambda r: r.model.seconds)),
        _row("download.seconds", "seconds", None, e(lambda r: r.download.seconds)),
        _row("total.seconds", "seconds", b(lambda r: r.total.seconds), e(lambda r: r.total.seconds)),
        _row("total.cpu", "seconds", b(lambda r: r.total.cpu_seconds), e(lambda r: r.total.cpu_seconds)),
        _row("total.peak_memory", "bytes", b(lambda r: r.total.peak_bytes), e(lambda r: r.total.peak_bytes)),
        _row("job_start.seconds", "seconds", None, job_start, below(0.1, "100 ms")),
        _row("reference_workflow.seconds", "seconds", None, workflow, below(2.0, "2 s")),
        _row("endpoint.latency_p50_http", "latency", endpoint(lambda r: percentile(r.bare_latency, 50)),
            endpoint(lambda r: percentile(r.http_latency, 50)), overhead_below(0.001)),
        _row("endpoint.latency_p99_http", "latency", endpoint(lambda r: percentile(r.bare_latency, 99)),
            endpoint(lambda r: percentile(r.http_latency, 99))),
        _row("endpoint.latency_p50_boto3", "latency", endpoint(lambda r: percentile(r.bare_latency, 50)),
            endpoint(lambda r: percentile(r.boto3_latency, 50))),
        _row("endpoint.latency_p99_boto3", "latency", endpoint(lambda r: percentile(r.bare_latency, 99)),
            endpoint(lambda r: percentile(r.boto3_latency, 99))),
        *[_row(f"endpoint.throughput_c{c}", "rows/s", endpoint(_bare_rate(c)), endpoint(_emulator_rate(c)),
              ratio_at_least(0.7)) for c in CONCURRENCY],
        _row("strategies.multi_record", "rows/s", strategy(lambda r: rows_total / r.bare.seconds), multi),
        _row("strategies.single_record", "rows/s", strategy(lambda r: rows_total / r.bare.seconds),
            strategy(lambda r: rows_total / r.single_record.seconds), within_of_multi(3)),
    ]


def _bare_rate(concurrency: int) -> Callable[[EndpointRun], float]:
    return lambda run: run.bare_throughput[concurrency]


def _emulator_rate(concurrency: int) -> Callable[[EndpointRun], float]:
    return lambda run: run.emulator_throughput[concurrency]


def tuning_rows(results: TuningResults) -> list[Row]:
    def summary(pick: Callable[[TuningRun], float]) -> Summary:
        return Summary.of([pick(run) for run in results.runs])

    emulator = summary(lambda r: r.emulator.seconds)
    return [
        _row("tuning.seconds", "seconds", summary(lambda r: r.bare.seconds), emulator),
        _row("tuning.parallel_seconds", "seconds", summary(lambda r: r.bare_parallel.seconds), emulator),
        _row("tuning.cpu", "seconds", summary(lambda r: r.bare.cpu_seconds), summary(lambda r: r.emulator.cpu_seconds)),
        _row("tuning.added_per_child", "seconds", None, summary(lambda r: r.added_per_child)),
    ]


def script_rows(results: ScriptResults) -> list[Row]:
    def summary(pick: Callable[[ScriptRun], float]) -> Summary:
        return Summary.of([pick(run) for run in results.runs])

    return [
        _row("script.training.seconds", "seconds", summary(lambda r: r.bare_training),
             summary(lambda r: r.training.seconds)),
        _row("script.transform.seconds", "seconds", summary(lambda r: r.bare_predict),
             summary(lambda r: r.transform.seconds)),
        _row("script.training.added", "seconds", None, summary(lambda r: r.added_training)),
        _row("script.transform.added", "seconds", None, summary(lambda r: r.added_transform)),
    ]


def durability_rows(results: DurabilityResults) -> list[Row]:
    def summary(pick: Callable[[DurabilityRun], float]) -> Summary:
        return Summary.of([pick(run) for run in results.runs])

    def at_least(made: Row) -> Target:
        return Target(f"ratio ≥ {DURABILITY_TARGET:g}", made.ratio is not None and made.ratio >= DURABILITY_TARGET)

    return [
        _row("durability.small.throughput", "bytes/s", summary(lambda r: r.small_plain),
             summary(lambda r: r.small_durable), at_least),
        _row("durability.large.throughput", "bytes/s", summary(lambda r: r.large_plain),
             summary(lambda r: r.large_durable), at_least),
        _row("durability.small_unflushed.throughput", "bytes/s", summary(lambda r: r.small_plain),
             summary(lambda r: r.small_unflushed)),
        _row("durability.large_unflushed.throughput", "bytes/s", summary(lambda r: r.large_plain),
             summary(lambda r: r.large_unflushed)),
    ]


def step_summaries(results: MainResults) -> dict[str, Summary]:
    return {step: Summary.of([run.training_steps.get(step, math.nan) for run in results.emulator])
            for step in TRAINING_STEPS}


def figures(results: Results) -> dict[str, Any]:
    """The figures of the parts the run measured."""
    out: dict[str, Any] = {}
    main, tuning, script = results.main, results.tuning, results.script
    if main is not None:
        for row in main_rows(main):
            out.update(row.figures())
        for step, summary in step_summaries(main).items():
            out[f"training_steps.{step}.emulator"] = summary.median
        # Answers that must not differ (counts, not timings).
        out["endpoint.differing_answers"] = main.endpoint.differing_answers
        out["strategies.differing_lines"] = main.strategies.differing_lines
        out["strategies.differing_bare_lines"] = main.strategies.differing_bare_lines
    if tuning is not None:
        for row in tuning_rows(tuning):
            out.update(row.figures())
        out["tuning.jobs"] = tuning.jobs
        out["tuning.children"] = [run.jobs for run in tuning.runs]
        out["tuning.compared_objectives"] = tuning.compared
        out["tuning.differing_objectives"] = tuning.differing_objectives
        out["tuning.max_objective_difference"] = tuning.max_objective_difference
    if script is not None:
        for row in script_rows(script):
            out.update(row.figures())
        out["script.differing_metrics"] = script.differing_metrics
        out["script.compared_predictions"] = script.compared_predictions
        out["script.differing_predictions"] = script.differing_predictions
    if results.durability is not None:
        for row in durability_rows(results.durability):
            out.update(row.figures())
        out["durability.differing_objects"] = results.durability.differing_objects
    return out


def markdown(results: Results, previous: str | None = None) -> str:
    """The document: the sections of the parts the run measured, and the others' from `previous` (the document
    a previous run wrote), when it has them."""
    kept = sections(previous) if previous is not None else {}
    made = {"main": _main_section(results, results.main) if results.main is not None else None,
            "tuning": _tuning_section(results, results.tuning) if results.tuning is not None else None,
            "script": _script_section(results, results.script) if results.script is not None else None,
            "durability": (_durability_section(results, results.durability) if results.durability is not None
                           else None)}
    texts = [text for part in PARTS if (text := made[part] or kept.get(part))]
    title = "# Benchmark: the emulator against bare XGBoost" + (" (smoke run)" if results.settings.smoke else "")
    return "\n\n".join([title, *texts]) + "\n"


def sections(document: str) -> dict[str, str]:
    """The sections of a document `markdown` wrote, by part: the main one runs from after the title to the first
    `## ` heading, each other one from its heading to the next."""
    lines = document.split("\n")
    if not lines[0].startswith("# "):
        return {}
    headings = [index for index, line in enumerate(lines) if line.startswith("## ")]
    found = {"main": "\n".join(lines[1:headings[0] if headings else len(lines)]).strip("\n")}
    for start, end in zip(headings, [*headings[1:], len(lines)][:len(headings)], strict=True):
        if lines[start] in _HEADINGS:
            found[_HEADINGS[lines[start]]] = "\n".join(lines[start:end]).strip("\n")
    return {part: text for part, text in found.items() if text}


def _machine_line(results: Results) -> str:
    machine = results.machine
    return (f"Machine: {machine.cpu}, {machine.cores} cores, {_bytes(machine.memory_bytes)} memory, "
            f"{machine.system}, Python {machine.python}, XGBoost {machine.xgboost}; {machine.date}. Other work on "
            f"the machine used {results.other_load:.0%} of its CPU during the run (load average "
            f"{results.load_before:.2f} before, {results.load_after:.2f} after).")


def _table(rows: list[Row], bare: str = "bare XGBoost", emulator: str = "emulator",
           ratio: str = "emulator / bare") -> list[str]:
    lines = [f"| measure | {bare} | {emulator} | {ratio} | target |", "|---|---|---|---|---|"]
    for row in rows:
        ratio_text = f"{row.ratio:.2f}" if row.ratio is not None else ""
        target = f"{row.target.text} {'✓' if row.target.met else '✗'}" if row.target else ""
        lines.append(f"| {row.label} | {_cell(row.bare, row.unit)} | {_cell(row.emulator, row.unit)} | "
                     f"{ratio_text} | {target} |")
    return lines


def _main_section(results: Results, main: MainResults) -> str:
    settings, data = results.settings, main.data
    shape = settings.transform_shape
    lines = [
        _machine_line(results),
        "",
        f"Data: train.csv {_bytes(data.train_bytes)} ({data.train_rows:,} rows: label + 20 features), test.csv "
        f"{_bytes(data.test_bytes)} ({data.test_rows:,} rows). {settings.rounds} rounds of the reference "
        f"hyperparameters, no early stopping. The emulator's jobs use image version {image_version()}, whose "
        f"XGBoost release is the one installed here ({installed_xgboost()}), and run on that installed XGBoost, "
        "as the bare side does (no per-image runtime). Batch transform: MultiRecord, MaxPayloadInMB="
        f"{shape.max_payload_mb}, MaxConcurrentTransforms={shape.max_concurrent}. "
        f"{settings.repeat} repetitions per side; job start {len(main.job_start)} samples; reference workflow "
        f"{len(main.workflow.runs)} runs.",
        "",
        f"Real-time endpoint: the model of a training job on {TRAINING_ROWS:,} rows of the same format "
        f"({settings.rounds} rounds), one {INSTANCE_TYPE} instance (the emulator's model server for the built-in "
        f"image: the container's inference application in one worker process per CPU); "
        f"{settings.latency_samples:,} one-row requests per side, client and repetition; "
        f"{settings.throughput_requests:,} requests of {ROWS_PER_REQUEST} rows per side, "
        f"concurrency level and repetition. SingleRecord against MultiRecord (\"strategy input\"): that model "
        f"transforms one object of {main.strategies.rows:,} rows with each BatchStrategy, MaxPayloadInMB="
        f"{shape.max_payload_mb}, MaxConcurrentTransforms={shape.max_concurrent}.",
        "",
        *_table(main_rows(main)),
    ]
    steps = ", ".join(f"{step} {_cell(summary, 'seconds')}" for step, summary in step_summaries(main).items())
    bare_rss = _bytes(max((r.max_rss_bytes for r in main.bare), default=0))
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
        f"- Emulator predictions that differ from the bare side's: {main.differing_predictions:,} of "
        f"{data.test_rows:,} lines; from those of XGBoost's own reader: {main.differing_native_predictions:,} "
        "(a value on a float32 rounding boundary parses to another float32 there).",
        "- The first reference workflow run, which also imports scikit-learn and matplotlib into the client, "
        f"took {_seconds(main.workflow.first)} and is not counted.",
        "- InvokeEndpoint latency: each request timed from the call to the answer's last byte, one after another "
        "after 20 untimed ones; raw HTTP is `http.client` on one keep-alive connection to the gateway (an "
        "unsigned `POST /endpoints/<name>/invocations`, Content-Type text/csv), boto3 is the sagemaker-runtime "
        "client (signing, parsing). Bare: `serving.predict` of the same row in one process, on the same model "
        "loaded with `serving.load_model` (`python -m bench.bare latency`). Cells are the median over repetitions "
        "of each repetition's p50 and p99 (nearest rank). The overhead is emulator p50 - bare p50. Endpoint "
        f"answers that differ from the bare side's: {main.endpoint.differing_answers:,} of "
        f"{main.endpoint.answers:,}; CreateEndpoint to InService took {_seconds(main.endpoint.start_seconds)}.",
        f"- InvokeEndpoint throughput: {ROWS_PER_REQUEST}-row text/csv requests (16 different bodies in turn) "
        "shared out evenly among c client threads in the benchmark's process, each with its own keep-alive "
        "connection (raw HTTP); rows/s from the moment all have connected until the last answer. Bare: the same "
        "requests answered by `serving.predict` in c processes forked after the model is loaded, the way the "
        "container's server runs one process per worker (threads would take turns: one request at a time "
        "reaches a Booster).",
        "- SingleRecord against MultiRecord: each transform job from just before CreateTransformJob to its "
        "recorded end, as above; the bare cell is the bare transform of the same file. SingleRecord output lines "
        f"that differ from MultiRecord's: {main.strategies.differing_lines:,}; MultiRecord's that differ from "
        f"the bare side's: {main.strategies.differing_bare_lines:,}.",
    ]
    return "\n".join(lines)


def _tuning_section(results: Results, tuning: TuningResults) -> str:
    settings = results.settings
    static = tuning_static_hyperparameters(settings.tuning_rounds)
    ranges = ", ".join(f"{r.name} {r.low} to {r.high}{' (integer)' if r.integer else ''}" for r in TUNED_RANGES)
    per_child = Summary.of([run.added_per_child for run in tuning.runs])
    ideal = Summary.of([(run.emulator.seconds - run.bare.seconds / tuning.parallel) / run.jobs
                        for run in tuning.runs if run.jobs])
    children_training = Summary.of([run.children_training_seconds for run in tuning.runs])
    lines = [
        TUNING_HEADING,
        "",
        _machine_line(results),
        "",
        f"A tuning job of {tuning.jobs} training jobs, {tuning.parallel} at a time (MaxNumberOfTrainingJobs, "
        f"MaxParallelTrainingJobs), strategy {tuning.strategy} (RandomSeed {settings.seed}), objective "
        f"{TUNING_OBJECTIVE} (Minimize); "
        f"ranges {ranges} (ScalingType Auto); static: the reference workflow's other hyperparameters "
        f"({', '.join(f'{name}={value}' for name, value in static.items())}). Image version {image_version()} on "
        f"the installed XGBoost ({installed_xgboost()}), nthread = every core in each child, as on the bare "
        f"side. Data: Boston housing as `harness run` splits it: train {tuning.train_rows} rows, validation "
        f"{tuning.validation_rows} rows. {len(tuning.runs)} repetitions.",
        "",
        *_table(tuning_rows(tuning)),
        "",
        "How it is measured:",
        "",
        "- Emulator: CreateHyperParameterTuningJob on `harness serve` (boto3 over HTTP), from just before the call "
        "to the `HyperParameterTuningEndTime` the emulator recorded, so the benchmark's polling (every "
        f"{POLL_SECONDS * 1000:.0f} ms, so that its requests take little CPU from the children) does not count. "
        "CPU time: the emulator's processes (server, process server, children).",
        "- Bare: the children's tuned hyperparameters (ListTrainingJobsForHyperParameterTuningJob, in launch "
        "order) trained with XGBoost in process (`python -m bench.bare tuning`, timed after its imports), each "
        "reading train.csv and validation.csv as the container does (XGBoost's text reader) and training with the "
        "train then the validation set as the watchlist and the child's early stopping: one after another in one "
        f"process, and in {tuning.parallel} processes forked before any training, each "
        "taking the next point when it is free, as the tuner launches the next child when one ends.",
        f"- Added per child: (emulator - bare with {tuning.parallel} at once) / jobs, per repetition: "
        f"{_cell(per_child, 'seconds')}. Against an ideal {tuning.parallel}-fold speed-up of the bare trainings "
        f"one after another, (emulator - bare / {tuning.parallel}) / jobs: {_cell(ideal, 'seconds')}.",
        f"- The children's SecondaryStatus Training (reading their data and boosting, in their job processes), "
        f"summed: {_cell(children_training, 'seconds')}.",
        f"- Same work on both sides: of {tuning.compared} bare trainings (both bare sides, every repetition), "
        f"{tuning.differing_objectives} end with a validation rmse more than {OBJECTIVE_TOLERANCE:g} from their "
        f"child's objective (FinalHyperParameterTuningJobObjectiveMetric); the largest difference is "
        f"{tuning.max_objective_difference:.1g}.",
    ]
    return "\n".join(lines)


def _script_section(results: Results, script: ScriptResults) -> str:
    after_imports = Summary.of([run.bare_predict_after_imports for run in script.runs])
    cpu = {"training": Summary.of([run.training.cpu_seconds for run in script.runs]),
           "transform": Summary.of([run.transform.cpu_seconds for run in script.runs])}
    lines = [
        SCRIPT_HEADING,
        "",
        _machine_line(results),
        "",
        f"SageMaker script mode on the SKLearn framework image {FRAMEWORK_VERSION}: the shipped example "
        f"`{EXAMPLE.relative_to(EXAMPLE.parents[2])}` (scikit-learn's GradientBoostingRegressor, "
        f"`--n_estimators {N_ESTIMATORS}`, its other arguments at their defaults) trained by the sagemaker-training "
        f"toolkit in the emulator's {script.runtime} runtime (scikit-learn {script.release} on Python "
        f"{script.python}), then a batch transform of the test set through the same script's `model_fn` and the "
        f"container's default input and output functions. Data: Boston housing as `harness run` splits and writes "
        f"it: train {script.train_rows} rows and validation {script.validation_rows} rows (label first), test "
        f"{script.test_rows} rows. {len(script.runs)} repetitions.",
        "",
        *_table(script_rows(script), bare="bare script"),
        "",
        "How it is measured:",
        "",
        f"- The runtime is installed (untimed, once) into this machine's runtimes directory "
        f"(`$HARNESS_RUNTIMES_DIR`, else ~/.cache/sagemaker-harness/runtimes; here {script.installed_at}) and "
        "linked into the running emulator's runtimes directory, which holds no other runtime: the emulator's "
        "script-mode jobs and the bare side run the same interpreter and packages.",
        "- Emulator: the data and `sourcedir.tar.gz` on `harness serve` (boto3 over HTTP) as `harness run --script` "
        "sends them, with the SDK's hyperparameters (`sagemaker_program`, `sagemaker_submit_directory`, ...) and a "
        f"MetricDefinition `{METRIC}` = `{METRIC_REGEX}`. Training: CreateTrainingJob until the "
        "`TrainingEndTime` the emulator recorded (this machine's clock), so the benchmark's polling does not "
        "count. CreateModel as the SDK's SKLearn model creates it (SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY; "
        "not timed). Transform: CreateTransformJob of test.csv (ContentType text/csv, SplitType Line, Accept "
        "text/csv, MultiRecord, MaxPayloadInMB 6, one transform at a time, as `harness run` sends it) until "
        f"its `TransformEndTime`. CPU time of the emulator's processes: training {_cell(cpu['training'], 'seconds')}, "
        f"transform {_cell(cpu['transform'], 'seconds')}.",
        f"- Bare, after the emulator in each repetition: `python train.py --n_estimators {N_ESTIMATORS}` run by the "
        "runtime's interpreter (isolated as its jobs are) with SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION and "
        "SM_MODEL_DIR set to local directories holding the same CSV files; then a process of the same "
        "interpreter that loads the model.joblib it wrote, reads test.csv with pandas and predicts. Each is timed "
        "from its start to its exit, interpreter start and imports included, as the toolkit starts the script "
        "in a process of its own. Of the bare prediction, the work after the imports (loading the model, reading "
        f"test.csv, predicting) took {_cell(after_imports, 'seconds')}. The emulator's job processes are forked "
        "from the runtime's warm process server (interpreter started, the emulator's runner code imported; "
        "scikit-learn, pandas and the script are imported in the job), so they do not pay the interpreter start "
        "that each bare process does.",
        "- Added: emulator - bare of the same repetition; negative where the emulator's job, forked from a "
        "started interpreter, ended sooner than the bare process.",
        f"- Same work on both sides: repetitions whose job's {METRIC} (FinalMetricDataList) is not the value the "
        f"bare run printed: {script.differing_metrics} of {len(script.runs)}; transform predictions that are not "
        f"the bare prediction, as floats, exactly: {script.differing_predictions} of "
        f"{script.compared_predictions}.",
    ]
    return "\n".join(lines)


def _durability_section(results: Results, durability: DurabilityResults) -> str:
    lines = [
        DURABILITY_HEADING,
        "",
        _machine_line(results),
        "",
        "S3 uploads to `harness serve` (boto3 over loopback HTTP) with its write-through journal, the default "
        "(every S3 and CloudWatch Logs change written to the state directory and fsync'd before it is answered, "
        "so that it survives `kill -9` and a power loss), and with the journal not flushed "
        "(`HARNESS_JOURNAL_FSYNC=0`: survives `kill -9` only), against the same server with "
        "`HARNESS_DURABLE_SERVICES=0` (moto's memory only, saved at a clean stop). Per repetition and side: "
        f"{durability.small_count} objects of "
        f"{_bytes(SMALL)} with `put_object`, one after another, then one object of {_bytes(durability.large_bytes)} "
        f"with `upload_file` (boto3's defaults: multipart, 8 MiB parts, 10 threads). {len(durability.runs)} "
        "repetitions.",
        "",
        *_table(durability_rows(durability), bare="not durable", emulator="durable", ratio="durable / not durable"),
        "",
        "How it is measured:",
        "",
        "- Three `harness serve` processes side by side, each on its own state directory on the same disk: durable "
        "(the default), durable without fsync (`HARNESS_JOURNAL_FSYNC=0`: what was answered survives `kill -9` "
        "but not a power loss) and not durable; in each repetition all three are measured, in rotating order, so "
        "that a change in the machine's load touches them alike. Throughput: the bytes uploaded over the wall time "
        "from the first call until the last returned. "
        "The objects are deleted, untimed, after each measurement, and before each measurement the machine's "
        "written-but-unflushed pages are flushed (`sync`, untimed): otherwise a side that does not flush (the "
        "unflushed journal, the 1 GiB upload's source file) leaves its dirty pages for the next side's first "
        "fsync to write out, and the durable side would pay for the others.",
        "- What durability costs a write: the object's bytes written to a file of the journal (a PutObject's as "
        "moto is given them, in a thread of their own while moto stores them; a multipart upload's part by part "
        "as each UploadPart arrives), that file fsync'd and renamed, the directory fsync'd, then one record "
        "appended and fdatasync'd; all before the answer. Without fsync the same writes, none flushed.",
        f"- Same bytes: objects read back with a different size or content: {durability.differing_objects}.",
    ]
    return "\n".join(lines)


def _cell(summary: Summary | None, unit: Unit) -> str:
    if summary is None:
        return ""
    formatter = {"seconds": _seconds, "bytes": lambda v: _bytes(int(v)), "rows/s": _rate, "latency": _latency,
                 "bytes/s": _throughput}[unit]
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


def _throughput(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB/s"
