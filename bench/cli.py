"""`python -m bench` and `harness bench`: run the benchmark, write the markdown tables, print them.

`--only PART` measures some parts of the benchmark (settings.PARTS); the other sections of the output file, if it
has them, are kept as a previous run wrote them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import report
from .runner import run
from .settings import DEFAULT_OUTPUT, PARTS, BenchSettings

_DEFAULTS = BenchSettings()


@click.command(name="bench", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--size-mb", default=_DEFAULTS.size_mb, show_default=True, type=click.FloatRange(min=0.01),
              help="Size of each of train.csv and test.csv.")
@click.option("--repeat", default=_DEFAULTS.repeat, show_default=True, type=click.IntRange(min=1),
              help="Repetitions of each side.")
@click.option("--rounds", default=_DEFAULTS.rounds, show_default=True, type=click.IntRange(min=1),
              help="Boosting rounds (fixed: no early stopping).")
@click.option("--job-start-samples", default=_DEFAULTS.job_start_samples, show_default=True,
              type=click.IntRange(min=1))
@click.option("--workflow-runs", default=_DEFAULTS.workflow_runs, show_default=True, type=click.IntRange(min=1),
              help="Timed runs of the reference workflow (after one untimed run).")
@click.option("--max-payload-mb", default=None, type=click.IntRange(1, 100),
              help="The emulator's batch transform MaxPayloadInMB [default: 100 / MaxConcurrentTransforms].")
@click.option("--max-concurrent-transforms", default=_DEFAULTS.max_concurrent_transforms, show_default=True,
              type=click.IntRange(min=1), help="The emulator's batch transform MaxConcurrentTransforms.")
@click.option("--tuning-jobs", default=_DEFAULTS.tuning_jobs, show_default=True, type=click.IntRange(min=1),
              help="The tuning job's MaxNumberOfTrainingJobs.")
@click.option("--tuning-parallel", default=_DEFAULTS.tuning_parallel, show_default=True, type=click.IntRange(min=1),
              help="The tuning job's MaxParallelTrainingJobs.")
@click.option("--tuning-strategy", default=_DEFAULTS.tuning_strategy, show_default=True,
              type=click.Choice(["Random", "Bayesian"]), help="The tuning job's Strategy (RandomSeed: the run's seed).")
@click.option("--only", "only", multiple=True, type=click.Choice(PARTS),
              help="Measure only this part (repeatable): main (the main table), tuning, script or durability "
                   "[default: every part]. The output keeps the other parts' sections from its previous contents.")
@click.option("--smoke", is_flag=True, help="A few MB and few repetitions: checks that every figure is produced.")
@click.option("--output", default=DEFAULT_OUTPUT, show_default=True, type=click.Path(path_type=Path),
              help="The markdown table.")
@click.option("--json", "json_output", default=None, type=click.Path(path_type=Path),
              help="Also write every figure, by name, as JSON.")
@click.option("--workdir", default=None, type=click.Path(path_type=Path, file_okay=False),
              help="Where the temporary data directory goes (default: the system's temporary directory).")
def bench(size_mb: float, repeat: int, rounds: int, job_start_samples: int, workflow_runs: int,
          max_payload_mb: int | None, max_concurrent_transforms: int, tuning_jobs: int, tuning_parallel: int,
          tuning_strategy: str, only: tuple[str, ...], smoke: bool, output: Path, json_output: Path | None,
          workdir: Path | None) -> None:
    """Measure the emulator against bare in-process XGBoost on the same machine."""
    if tuning_parallel > tuning_jobs:
        raise click.BadParameter("must not exceed --tuning-jobs", param_hint="--tuning-parallel")
    parts = tuple(part for part in PARTS if part in only) if only else PARTS
    settings = BenchSettings(size_mb=size_mb, repeat=repeat, rounds=rounds, job_start_samples=job_start_samples,
                             workflow_runs=workflow_runs, max_payload_mb=max_payload_mb,
                             max_concurrent_transforms=max_concurrent_transforms, tuning_jobs=tuning_jobs,
                             tuning_parallel=tuning_parallel, tuning_strategy=tuning_strategy, parts=parts,
                             output=output, json_output=json_output, workdir=workdir)
    if smoke:
        settings = settings.as_smoke()
    results = run(settings, say=lambda line: click.echo(f"· {line}", err=True))
    previous = output.read_text() if parts != PARTS and output.is_file() else None
    text = report.markdown(results, previous)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    if json_output is not None:
        json_output.write_text(json.dumps(report.figures(results), indent=2, allow_nan=True))
    sys.stdout.write(text)
