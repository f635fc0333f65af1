"""One benchmark run of the parts its settings select: the main table (generate the data, measure both sides, the
job start, a real-time endpoint, SingleRecord against MultiRecord batch transform, and the reference workflow),
a hyperparameter tuning job against the same trainings bare, a script-mode training job and batch transform
against the same script run bare in its runtime, and S3 upload throughput with the durable journal against
without it.

Bare and emulator repetitions alternate, so that a change in the machine's background load during the run
touches both sides alike. The emulator (`harness serve`) runs throughout, idle while the bare side works.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .bare_side import bare_output, run_bare
from .contention import OtherLoad
from .datasets import DataFiles, generate
from .durability import DurabilityResults, durability_runs
from .emulator_side import EmulatorPipeline
from .endpoint import EndpointResults, endpoint_runs
from .job_start import job_start_latencies
from .machine import Machine, load_average
from .measurements import BareRun, EmulatorRun
from .reference import WorkflowTimes, reference_workflow_times
from .sampling import TreeSampler
from .script_mode import ScriptResults, script_runs
from .served_model import delete_prefix, train_model
from .server import EmulatorProcess
from .settings import BenchSettings
from .strategies import StrategyResults, strategy_runs
from .tuning import TuningResults, tuning_runs


@dataclass(frozen=True)
class DataShape:
    train_bytes: int
    train_rows: int
    test_bytes: int
    test_rows: int


@dataclass(frozen=True)
class MainResults:
    """The main table's measurements."""

    data: DataShape
    bare: list[BareRun]
    emulator: list[EmulatorRun]
    job_start: list[float]
    workflow: WorkflowTimes
    endpoint: EndpointResults
    strategies: StrategyResults
    differing_predictions: int  # lines of the emulator's output that differ from the bare side's
    differing_native_predictions: int  # ... from the bare side's with XGBoost's own CSV reader


@dataclass(frozen=True)
class Results:
    settings: BenchSettings
    machine: Machine
    main: MainResults | None  # None when the run did not measure that part
    tuning: TuningResults | None
    script: ScriptResults | None
    durability: DurabilityResults | None
    load_before: float
    load_after: float
    other_load: float  # share of the machine's CPU other work used during the run


def run(settings: BenchSettings, say: Callable[[str], None] = print) -> Results:
    machine = Machine.here()
    load_before = load_average()
    main: MainResults | None = None
    tuning: TuningResults | None = None
    script: ScriptResults | None = None
    durability: DurabilityResults | None = None
    with OtherLoad() as other, tempfile.TemporaryDirectory(prefix="harness-bench-", dir=settings.workdir) as tmp:
        workdir = Path(tmp)
        files = None
        if settings.measures("main"):
            say(f"generating {settings.size_mb:g} MiB train.csv and test.csv in {workdir}")
            files = generate(workdir / "data", settings.size_mb, settings.seed)
        with EmulatorProcess(workdir / "emulator-state") as emulator, TreeSampler(emulator.pid) as sampler:
            say(f"emulator: harness serve on {emulator.endpoint_url}")
            if files is not None:
                main = _main(settings, files, emulator, sampler, workdir, say)
            if settings.measures("tuning"):
                tuning = tuning_runs(emulator, sampler, settings, workdir, say)
            if settings.measures("script"):
                script = script_runs(emulator, sampler, settings, workdir, say)
        if settings.measures("durability"):  # its own two servers, with the journal and without
            durability = durability_runs(settings, workdir, say)
    return Results(settings, machine, main, tuning, script, durability, load_before, load_average(), other.share)


def _main(settings: BenchSettings, files: DataFiles, emulator: EmulatorProcess, sampler: TreeSampler,
          workdir: Path, say: Callable[[str], None]) -> MainResults:
    data = DataShape(files.train_bytes, files.train_rows, files.test_bytes, files.test_rows)
    say("job-start samples")
    job_start = job_start_latencies(emulator, settings.job_start_samples)
    bare, emulated, output = _repetitions(settings, files, emulator, sampler, workdir, say)
    differing = _differing_lines(bare_output(workdir), output)
    differing_native = _differing_lines(bare_output(workdir, native=True), output)
    say("real-time endpoint and batch strategies: training their model")
    model = train_model(emulator, settings.rounds, workdir)
    try:
        endpoint = endpoint_runs(emulator, model, settings, workdir, say)
        strategies = strategy_runs(emulator, sampler, model, settings, workdir, say)
    finally:
        delete_prefix(emulator, model.prefix)
    say("reference workflow (Boston) on the running emulator")
    workflow = reference_workflow_times(emulator.endpoint_url, settings.workflow_runs, workdir)
    return MainResults(data, bare, emulated, job_start, workflow, endpoint, strategies, differing, differing_native)


def _repetitions(settings: BenchSettings, files: DataFiles, emulator: EmulatorProcess, sampler: TreeSampler,
                 workdir: Path, say: Callable[[str], None]) -> tuple[list[BareRun], list[EmulatorRun], Path]:
    pipeline = EmulatorPipeline(emulator, sampler, files, settings.rounds, settings.transform_shape, workdir)
    bare: list[BareRun] = []
    emulated: list[EmulatorRun] = []
    for repetition in range(settings.repeat):
        say(f"repetition {repetition + 1}/{settings.repeat}: bare")
        bare.append(run_bare(files, settings.rounds, workdir))
        say(f"repetition {repetition + 1}/{settings.repeat}: emulator")
        emulated.append(pipeline.run(repetition))
    return bare, emulated, pipeline.output_path()


def _differing_lines(expected: Path, actual: Path) -> int:
    """Lines that differ, counting missing or extra lines as differing."""
    with open(expected, "rb") as left, open(actual, "rb") as right:
        a, b = left.read().split(b"\n"), right.read().split(b"\n")
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))
