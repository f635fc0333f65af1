"""`harness tune`: a hyperparameter tuning job on the reference workflow's training job, followed live.

The data, image, role, channels and static hyperparameters are `harness run`'s; the tuning job is one
CreateHyperParameterTuningJob request through the backend's boto3 SageMaker client, so the emulator and real
SageMaker run the same code. SDK local mode has no tuning (its client has no `create_hyper_parameter_tuning_job`,
aws/sagemaker-python-sdk#1960): the `local` backend is refused before anything starts.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from backends import BACKENDS, default_region

from .options import name_value_pairs

console = Console(stderr=True)

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
# What is tuned unless told otherwise: the seed's tree-shape and learning-rate hyperparameters around its values.
DEFAULT_RANGES = ("max_depth=3:10", "eta=0.05:0.5", "min_child_weight=1:8", "subsample=0.5:1")
GRID_RANGES = ("max_depth=3,5,7", "eta=0.1,0.2,0.3")  # Grid takes categorical ranges only: 9 combinations
DEFAULT_MAX_JOBS = 10
LOCAL_REFUSAL = ("SageMaker SDK local mode has no hyperparameter tuning (no create_hyper_parameter_tuning_job, "
                 "aws/sagemaker-python-sdk#1960): tune with --backend emulator or --backend sagemaker")
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")  # HyperParameterTuningJobName's pattern
CHILD_NUMBER = re.compile(r"-(\d{3})-[0-9a-f]{8}$")  # children are <tuning job>-<NNN>-<8 hex>
ENDED = ("Completed", "Failed", "Stopped")
RANGE_SYNTAX = "NAME=MIN:MAX[:SCALING] or NAME=VALUE,VALUE,..."


# -- ranges --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParameterRange:
    """One tuned hyperparameter: `values` are (MinValue, MaxValue) for Integer and Continuous, else the values."""

    name: str
    kind: str  # "Integer", "Continuous" or "Categorical"
    values: tuple[str, ...]
    scaling: str | None = None

    def request(self) -> dict[str, Any]:
        if self.kind == "Categorical":
            return {"Name": self.name, "Values": list(self.values)}
        member: dict[str, Any] = {"Name": self.name, "MinValue": self.values[0], "MaxValue": self.values[1]}
        if self.scaling:
            member["ScalingType"] = self.scaling
        return member

    def describe(self) -> str:
        if self.kind == "Categorical":
            return f"{self.name} in {{{', '.join(self.values)}}}"
        scaling = f", {self.scaling}" if self.scaling else ""
        return f"{self.name} {self.values[0]}..{self.values[1]} ({self.kind.lower()}{scaling})"


def parse_range(text: str) -> ParameterRange:
    """`NAME=MIN:MAX[:SCALING]` (Integer when both bounds are integers, else Continuous) or `NAME=A,B,...`
    (Categorical); ValueError saying what is wrong."""
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ValueError(f"{text!r} is not {RANGE_SYNTAX}")
    if ":" not in spec:
        values = tuple(value.strip() for value in spec.split(","))
        if not all(values):
            raise ValueError(f"{text!r}: an empty value in {spec!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"{text!r}: a value is given twice")
        return ParameterRange(name, "Categorical", values)
    parts = [part.strip() for part in spec.split(":")]
    if len(parts) not in (2, 3):
        raise ValueError(f"{text!r} is not {RANGE_SYNTAX}")
    for bound in parts[:2]:
        try:
            number = float(bound)
        except ValueError:
            raise ValueError(f"{text!r}: {bound!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{text!r}: {bound!r} is not a finite number")
    scaling = None
    if len(parts) == 3:
        scaling = next((known for known in SCALING_TYPES if known.lower() == parts[2].lower()), None)
        if scaling is None:
            raise ValueError(f"{text!r}: the scaling type is one of {', '.join(SCALING_TYPES)}, not {parts[2]!r}")
    integer = all(re.fullmatch(r"[-+]?\d+", bound) for bound in parts[:2])
    return ParameterRange(name, "Integer" if integer else "Continuous", (parts[0], parts[1]), scaling)


class Algorithm:
    """The hyperparameters the chosen XGBoost image takes, as the emulator's container rules declare them (the
    tables of aws/sagemaker-xgboost-container): ranges are checked against them before any job is created."""

    def __init__(self, image_version: str, region: str) -> None:
        from backends.emulator.algorithms.images import image_uri, resolve_image
        from backends.emulator.algorithms.xgboost.hyperparameters import hyperparameter_table
        from backends.emulator.algorithms.xgboost.versions import get_version

        image = resolve_image(image_uri(region, "xgboost", image_version))  # ValueError for an unknown version
        assert image is not None
        self.version = get_version(image.version)
        self.table = hyperparameter_table(self.version)
        self.aliases = self.version.alias_map

    def objective_type(self, metric: str) -> str:
        """Maximize for the metrics the container maximizes (auc, accuracy, ...), else Minimize."""
        return "Maximize" if metric.partition(":")[2] in self.version.maximize_metrics else "Minimize"

    def fit(self, given: ParameterRange) -> ParameterRange:
        """The range with the hyperparameter's own type (an integer-bounded range of a continuous hyperparameter
        is continuous), or ValueError when XGBoost has no such hyperparameter or would refuse a value."""
        from backends.emulator.algorithms.xgboost.errors import UserError
        from backends.emulator.algorithms.xgboost.hyperparameters import Kind

        hyperparameter = self.table.get(self.aliases.get(given.name, given.name))
        if hyperparameter is None:
            close = difflib.get_close_matches(given.name, [*self.table, *self.aliases], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"XGBoost (image {self.version.key}) has no hyperparameter {given.name!r}{hint}")
        kind = hyperparameter.kind
        if kind not in (Kind.INTEGER, Kind.CONTINUOUS, Kind.CATEGORICAL):
            raise ValueError(f"{given.name} takes a {kind.value}, which cannot be tuned")
        if given.kind != "Categorical":
            if kind is Kind.CATEGORICAL:
                raise ValueError(f"{given.name} is categorical, one of {hyperparameter.allowed}: give the values to "
                                 f"try, e.g. {given.name}=A,B")
            if kind is Kind.INTEGER and given.kind == "Continuous":
                raise ValueError(f"{given.name} is an integer: give integer bounds, e.g. {given.name}=3:10")
            given = replace(given, kind="Integer" if kind is Kind.INTEGER else "Continuous")
        for value in given.values:
            try:
                hyperparameter.check_range(hyperparameter.parse(value))
            except ValueError:
                raise ValueError(f"{given.name} takes {kind.value} values, not {value!r}") from None
            except UserError:
                raise ValueError(f"{given.name}: {value} is outside what XGBoost takes, "
                                 f"{hyperparameter.allowed}") from None
        return given


def choose_ranges(given: Sequence[str], fixed: dict[str, str], strategy: str, use_defaults: bool,
                  algorithm: Algorithm) -> list[ParameterRange]:
    """The defaults (less those `--hp` fixes), then each `--range` in place of the default of its name; ValueError
    for a range that cannot be tuned."""
    explicit = [parse_range(text) for text in given]
    names = [parameter.name for parameter in explicit]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} given more than once")
    both = [name for name in names if name in fixed]
    if both:
        raise ValueError(f"{', '.join(both)} both tuned (--range) and fixed (--hp): drop one")
    chosen: dict[str, ParameterRange] = {}
    if use_defaults:
        for text in GRID_RANGES if strategy == "Grid" else DEFAULT_RANGES:
            default = parse_range(text)
            if default.name not in fixed:
                chosen[default.name] = default
    for parameter in explicit:
        chosen[parameter.name] = parameter
    return [algorithm.fit(parameter) for parameter in chosen.values()]


def parameter_ranges(ranges: Sequence[ParameterRange]) -> dict[str, list[dict[str, Any]]]:
    return {f"{kind}ParameterRanges": [parameter.request() for parameter in ranges if parameter.kind == kind]
            for kind in ("Integer", "Continuous", "Categorical")}


def _job_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value is None:
        now = datetime.now(timezone.utc)
        return f"boston-tune-{now:%y%m%d-%H%M%S}-{now.microsecond // 1000:03d}"
    if not JOB_NAME.fullmatch(value):
        raise click.BadParameter(f"{value!r}: a tuning job name is 1 to 32 letters, digits and hyphens, starting "
                                 "and ending with a letter or digit")
    return value


# -- the command ---------------------------------------------------------------------------------------------

@click.command()
@click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
              show_default=True, show_envvar=True,
              help="Where the jobs run (`local` cannot tune: SDK local mode has no tuning jobs).")
@click.option("--strategy", type=click.Choice(STRATEGIES, case_sensitive=False), default="Bayesian",
              show_default=True, help="How each training job's hyperparameters are chosen.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help=f"Training jobs to run in all  [default: {DEFAULT_MAX_JOBS}; Grid: every combination]")
@click.option("--max-parallel", type=click.IntRange(min=1), default=2, show_default=True,
              help="Training jobs running at once.")
@click.option("--range", "ranges", multiple=True, metavar="NAME=MIN:MAX[:SCALING]|NAME=A,B,...",
              help="Tune a hyperparameter over this range (repeatable), in place of its default range: "
                   "max_depth=3:10 (integer), eta=0.01:0.3:Logarithmic, booster=gbtree,dart (categorical). "
                   f"Defaults: {' '.join(DEFAULT_RANGES)} (Grid: {' '.join(GRID_RANGES)}).")
@click.option("--default-ranges/--no-default-ranges", default=True, show_default=True,
              help="Also tune the default ranges of the hyperparameters no --range or --hp names.")
@click.option("--objective", default="validation:rmse", show_default=True, metavar="METRIC",
              help="The metric the tuning job optimizes (validation:auc, validation:mae, ...).")
@click.option("--objective-type", type=click.Choice(["Minimize", "Maximize"], case_sensitive=False), default=None,
              help="Whether the objective is minimized or maximized  [default: Maximize for what XGBoost "
                   "maximizes (auc, accuracy, f1, ...), else Minimize]")
@click.option("--hp", "hyperparameters", multiple=True, callback=name_value_pairs, metavar="NAME=VALUE",
              help="Fix a hyperparameter (repeatable; it is then not tuned), e.g. --hp num_round=50.")
@click.option("--image-version", default="1", show_default=True,
              help="XGBoost image version: 1 (the seed's legacy image), 0.90-1 ... 1.7-1, 3.0-5.")
@click.option("--name", callback=_job_name, default=None,
              help="The tuning job's name  [default: boston-tune-<yymmdd-HHMMSS-ms>]")
@click.option("--prefix", default="boston-xgboost-LL", show_default=True, help="S3 key prefix of the data.")
@click.option("--output", "output_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Where the objective plot is written.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Random seed of the train/validation split and of the strategy (RandomSeed).")
@click.option("--region", default=None, help="AWS region (default: $AWS_REGION, else us-east-1).")
@click.option("--role", default=None, help="Execution role ARN (sagemaker backend; or $HARNESS_ROLE).")
@click.option("--endpoint", default=None, envvar="HARNESS_ENDPOINT",
              help="Use a running emulator at this URL instead of one in-process.")
@click.option("--quiet", is_flag=True, help="Print only the final table, not the progress.")
def tune(backend: str, strategy: str, max_jobs: int | None, max_parallel: int, ranges: tuple[str, ...],
         default_ranges: bool, objective: str, objective_type: str | None, hyperparameters: dict[str, str],
         image_version: str, name: str, prefix: str, output_dir: Path, seed: int, region: str | None,
         role: str | None, endpoint: str | None, quiet: bool) -> None:
    """Tune the reference workflow's XGBoost training job (Boston housing): a hyperparameter tuning job, its
    progress live, then every training job by objective and a plot of the objective per training job."""
    if backend == "local":
        console.print(f"[bold red]error:[/] backend local: {LOCAL_REFUSAL}", soft_wrap=True, highlight=False)
        sys.exit(2)
    try:
        algorithm = Algorithm(image_version, region or default_region())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--image-version'") from None
    try:
        tuned = choose_ranges(ranges, hyperparameters, strategy, default_ranges, algorithm)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--range'") from None
    if not tuned:
        raise click.UsageError("nothing to tune: give a --range (or keep the default ranges)")
    if max_jobs is None and strategy != "Grid":
        max_jobs = DEFAULT_MAX_JOBS
    plan = _Plan(name=name, strategy=strategy, ranges=tuned, objective=objective,
                 objective_type=objective_type or algorithm.objective_type(objective), max_jobs=max_jobs,
                 max_parallel=max_parallel, seed=seed, image_version=image_version, prefix=prefix,
                 hyperparameters=hyperparameters, output_dir=output_dir)
    from .cli import _start_backend

    target = _start_backend(backend, region, role=role, endpoint=endpoint)
    try:
        with _sigterm_interrupts():
            outcome = _Tuning(target, plan, quiet).run()
    finally:
        target.stop()
    _print_result(plan, outcome)
    if outcome.status != "Completed":
        reason = outcome.description.get("FailureReason")
        raise click.ClickException(f"tuning job {plan.name} ended {outcome.status}"
                                   + (f": {reason}" if reason else ""))


@dataclass(frozen=True)
class _Plan:
    name: str
    strategy: str
    ranges: list[ParameterRange]
    objective: str
    objective_type: str
    max_jobs: int | None
    max_parallel: int
    seed: int
    image_version: str
    prefix: str
    hyperparameters: dict[str, str]
    output_dir: Path

    @property
    def maximize(self) -> bool:
        return self.objective_type == "Maximize"


@dataclass
class _Outcome:
    status: str
    description: dict[str, Any]
    children: list[dict[str, Any]]
    seconds: float
    plot: Path | None


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling, `kill`) stops the tuning job as Ctrl-C does."""
    from .cli import _interrupt

    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Tuning:
    def __init__(self, backend: Any, plan: _Plan, quiet: bool) -> None:
        self.backend = backend
        self.plan = plan
        self.quiet = quiet

    def run(self) -> _Outcome:
        from botocore.exceptions import ClientError

        from .requests import TuningConfig, tuning_job_request

        plan = self.plan
        self._say(f"[bold]sagemaker-harness[/] tuning job [bold]{plan.name}[/] on "
                  f"[bold cyan]{self.backend.describe()}[/]")
        channels = self._upload_data()
        training = self._training_config(channels)
        request = tuning_job_request(TuningConfig(
            job_name=plan.name, training=training, parameter_ranges=parameter_ranges(plan.ranges),
            objective_metric=plan.objective, objective_type=plan.objective_type, strategy=plan.strategy,
            max_jobs=plan.max_jobs, max_parallel=plan.max_parallel, random_seed=plan.seed,
            strategy_config=hyperband_config(plan.strategy, training.hyperparameters)))
        jobs = f"{plan.max_jobs} training jobs" if plan.max_jobs is not None else "every combination"
        self._say(f"{plan.strategy} search, {jobs}, {plan.max_parallel} at a time, "
                  f"{plan.objective_type.lower()} {plan.objective}: {'; '.join(r.describe() for r in plan.ranges)}")
        sagemaker = self.backend.client("sagemaker")
        try:
            sagemaker.create_hyper_parameter_tuning_job(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            message = " ".join(str(error.get("Message") or exc).split())
            raise click.ClickException(f"{error.get('Code', 'Error')}: {message}") from None
        started = time.monotonic()
        try:
            description = self._follow(sagemaker, started)
        except KeyboardInterrupt:
            self._stop(sagemaker)
            sys.exit(130)
        seconds = time.monotonic() - started
        children = _children(sagemaker, plan.name)
        plot = self._plot(description, children)
        return _Outcome(description["HyperParameterTuningJobStatus"], description, children, seconds, plot)

    def _upload_data(self) -> dict[str, str]:
        """Boston split and uploaded as `harness run` does (train and validation only: nothing is tested)."""
        from fixtures.datasets import load

        from .workflow import Workflow, WorkflowOptions

        data_dir = self.plan.output_dir / "data"
        workflow = Workflow(self.backend, WorkflowOptions(prefix=self.plan.prefix, data_dir=data_dir,
                                                          output_dir=self.plan.output_dir,
                                                          split_seed=self.plan.seed))
        try:
            paths = workflow.write_csvs(workflow.split(*load("boston")))
            return workflow.upload({channel: paths[channel] for channel in ("train", "validation")})
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def _training_config(self, channels: dict[str, str]) -> Any:
        from .requests import SEED_HYPERPARAMETERS, TrainingConfig

        tuned = {parameter.name for parameter in self.plan.ranges}
        static = {key: value for key, value in {**SEED_HYPERPARAMETERS, **self.plan.hyperparameters}.items()
                  if key not in tuned}
        bucket = self.backend.default_bucket()
        return TrainingConfig(
            job_name=self.plan.name, image=self.backend.image_uri("xgboost", self.plan.image_version),
            role=self.backend.role_arn(), output_path=f"s3://{bucket}/{self.plan.prefix}/tuning",
            train_uri=channels["train"], validation_uri=channels["validation"], hyperparameters=static,
            instance_type=self.backend.instance_type)

    def _follow(self, sagemaker: Any, started: float) -> dict[str, Any]:
        """Poll Describe until the tuning job ends, printing a line whenever its progress changes."""
        shown = None
        while True:
            description: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=self.plan.name)
            line = progress_line(description, self.plan.objective)
            if line != shown:
                shown = line
                self._say(Text(f"[{time.monotonic() - started:6.1f}s] {line}"))
            if description["HyperParameterTuningJobStatus"] in ENDED:
                return description
            time.sleep(self.backend.poll_seconds)

    def _stop(self, sagemaker: Any) -> None:
        """Ctrl-C: StopHyperParameterTuningJob, which stops its running training jobs, then exit."""
        from botocore.exceptions import ClientError

        try:
            sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=self.plan.name)
        except ClientError as exc:  # it ended meanwhile
            message = exc.response.get("Error", {}).get("Message", str(exc))
            console.print(f"interrupted; tuning job {self.plan.name} not stopped: {message}", soft_wrap=True,
                          highlight=False)
            return
        console.print(f"interrupted: stopping tuning job {self.plan.name} (StopHyperParameterTuningJob); its running "
                      "training jobs end Stopped", soft_wrap=True, highlight=False)

    def _plot(self, description: dict[str, Any], children: list[dict[str, Any]]) -> Path | None:
        from .evaluation import plot_tuning_objective

        points = [(number, value) for number, child in _numbered(children)
                  if (value := _objective(child)) is not None]
        if not points:
            return None
        best_name = (description.get("BestTrainingJob") or {}).get("TrainingJobName")
        best = next((number for number, child in _numbered(children) if child["TrainingJobName"] == best_name),
                    None)
        title = f"{self.plan.name} ({self.plan.strategy}): {self.plan.objective} per training job"
        return plot_tuning_objective(points, best, self.plan.objective, self.plan.maximize, title,
                                     self.plan.output_dir / "tuning-objective.png")

    def _say(self, message: str | Text) -> None:
        if not self.quiet:
            console.print(message, soft_wrap=True, highlight=False)


def progress_line(description: dict[str, Any], metric: str) -> str:
    """`4/10 done, 2 running, best validation:rmse 3.12 (<child>)` from a Describe of the tuning job."""
    counters = description.get("TrainingJobStatusCounters") or {}
    failed = counters.get("RetryableError", 0) + counters.get("NonRetryableError", 0)
    stopped = counters.get("Stopped", 0)
    done = counters.get("Completed", 0) + failed + stopped
    total = (description.get("HyperParameterTuningJobConfig", {}).get("ResourceLimits", {})
             .get("MaxNumberOfTrainingJobs", "?"))
    parts = [f"{done}/{total} done", f"{counters.get('InProgress', 0)} running"]
    if failed:
        parts.append(f"{failed} failed")
    if stopped:
        parts.append(f"{stopped} stopped")
    best = description.get("BestTrainingJob")
    if best and _objective(best) is not None:
        parts.append(f"best {metric} {_objective(best):g} ({best['TrainingJobName']})")
    status = description["HyperParameterTuningJobStatus"]
    line = ", ".join(parts)
    return line if status == "InProgress" else f"{line}: {status}"


def hyperband_config(strategy: str, static: dict[str, str]) -> dict[str, Any] | None:
    """Hyperband's resource is XGBoost's rounds: SageMaker infers MaxResource only from an epochs hyperparameter
    (epochs, num_epochs, ...), so it is given as the static num_round."""
    if strategy != "Hyperband" or not static.get("num_round", "").isdigit():
        return None
    return {"HyperbandStrategyConfig": {"MaxResource": int(static["num_round"])}}


def _children(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name)
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]


def _numbered(children: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Each child with its launch number: the NNN of its name, else its place in creation order."""
    ordered = sorted(children, key=lambda child: (child.get("CreationTime") or 0, child["TrainingJobName"]))
    numbered = []
    for place, child in enumerate(ordered, start=1):
        match = CHILD_NUMBER.search(child["TrainingJobName"])
        numbered.append((int(match.group(1)) if match else place, child))
    return sorted(numbered, key=lambda pair: pair[0])


def _objective(child: dict[str, Any]) -> float | None:
    metric = child.get("FinalHyperParameterTuningJobObjectiveMetric")
    return float(metric["Value"]) if metric else None


def _print_result(plan: _Plan, outcome: _Outcome) -> None:
    """Every training job, best objective first (those without one last), the best, and the plot."""
    best_name = (outcome.description.get("BestTrainingJob") or {}).get("TrainingJobName")
    sign = -1 if plan.maximize else 1
    rows = sorted(_numbered(outcome.children), key=lambda pair: (
        _objective(pair[1]) is None, sign * (_objective(pair[1]) or 0.0), pair[0]))
    table = Table(title=f"Tuning job {plan.name}: {outcome.status} in {outcome.seconds:.1f} s", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("training job", overflow="fold")
    table.add_column("status")
    for parameter in plan.ranges:
        table.add_column(parameter.name, justify="left" if parameter.kind == "Categorical" else "right")
    table.add_column(plan.objective, justify="right")
    table.add_column("")
    for number, child in rows:
        tuned = child.get("TunedHyperParameters") or {}
        value = _objective(child)
        best = child["TrainingJobName"] == best_name
        table.add_row(str(number), child["TrainingJobName"], child["TrainingJobStatus"],
                      *(_shown(parameter, tuned.get(parameter.name)) for parameter in plan.ranges),
                      f"{value:g}" if value is not None else "", "best" if best else "",
                      style="bold green" if best else None)
    output = Console()
    if not output.is_terminal:  # a file or a pipe: one line per training job, whatever $COLUMNS says
        output.width = max(output.width, 160)
    output.print(table)
    if best_name:
        best_child = next((child for child in outcome.children if child["TrainingJobName"] == best_name), None)
        value = _objective(outcome.description["BestTrainingJob"])
        tuned = (best_child or outcome.description["BestTrainingJob"]).get("TunedHyperParameters") or {}
        output.print(Text(f"best: {best_name} {plan.objective} {value:g} "
                          + " ".join(f"{key}={tuned[key]}" for key in sorted(tuned))), soft_wrap=True)
    if outcome.plot is not None:
        output.print(Text(f"plot: {outcome.plot}"), soft_wrap=True)
    else:
        output.print(Text(f"plot: none (no training job reported {plan.objective})"), soft_wrap=True)


def _shown(parameter: ParameterRange, value: str | None) -> str:
    if value is None:
        return ""
    if parameter.kind == "Continuous":
        with contextlib.suppress(ValueError):
            return f"{float(value):.4g}"
    return value
