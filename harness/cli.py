"""The `harness` command line."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from backends import BACKENDS, BackendUnavailable, create_backend
from backends.emulator.algorithms.images import SKLEARN_VERSIONS

from .endpoints_cli import endpoints, invoke
from .images_cli import images
from .options import name_value_pairs
from .runtimes_cli import runtimes
from .tune_cli import tune
from .workflow import Reporter

console = Console(stderr=True)
DEFAULT_PORT = 8765
DEFAULT_PREFIX = "boston-xgboost-LL"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sagemaker-harness")
def main() -> None:
    """Run SageMaker's training -> model -> batch-transform workflow offline, in CI, or on real SageMaker."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. The emulator has no authentication: keep it on loopback unless you mean it.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on (0 = any free).")
@click.option("--state-dir", default=".harness-state", show_default=True, type=click.Path(path_type=Path),
              help="Where jobs, models and workspaces are kept; restarting on the same directory keeps them.")
@click.option("--region", default="us-east-1", show_default=True,
              help="Region for requests that are not SigV4-signed for one.")
@click.option("--upstream", default=None, metavar="URL",
              help="Send S3/Logs/STS/IAM to this endpoint (e.g. LocalStack) instead of the embedded moto.")
@click.option("--max-running-jobs", default=4, show_default=True, type=click.IntRange(min=1),
              help="Jobs beyond this many wait in Starting until one finishes.")
@click.option("--durable-services/--no-durable-services", default=True, show_default=True,
              envvar="HARNESS_DURABLE_SERVICES",
              help="Write each S3 and CloudWatch Logs change to the state directory before answering it, so that "
                   "what was answered survives kill -9. Without it they are saved only at a clean stop.")
@click.option("--journal-fsync/--no-journal-fsync", default=True, show_default=True, envvar="HARNESS_JOURNAL_FSYNC",
              help="Flush each journaled change to the disk before answering it (survives a power loss). Without "
                   "it a change survives kill -9 of the emulator but not a crash of the machine.")
def serve(host: str, port: int, state_dir: Path, region: str, upstream: str | None, max_running_jobs: int,
          durable_services: bool, journal_fsync: bool) -> None:
    """Start the emulator as one local AWS endpoint (SageMaker, S3, CloudWatch Logs, STS, IAM)."""
    from backends.emulator.server import Emulator, EmulatorConfig, SnapshotError

    config = EmulatorConfig(state_dir=state_dir, host=host, port=port, region=region, upstream=upstream,
                            max_running_jobs=max_running_jobs, durable_services=durable_services,
                            journal_fsync=journal_fsync)
    emulator = Emulator(config)
    # SIGTERM (service managers, `docker stop`) stops as Ctrl-C does. One that arrives while the emulator starts
    # takes effect once it has started: an exception raised at any point of the start (in the middle of loading
    # the journal, or of a request to itself) could leave it half made, which a stop cannot undo cleanly.
    terminate = _Termination()
    signal.signal(signal.SIGTERM, terminate.handle)
    try:
        try:
            emulator.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        except SnapshotError as exc:
            raise click.ClickException(str(exc)) from None
        terminate.started()
        console.print(f"[bold green]sagemaker-harness emulator[/] listening on [bold]{emulator.endpoint_url}[/]")
        console.print(f"state: {state_dir.resolve()}   services: {upstream or 'embedded moto'}")
        if emulator.restored is not None and emulator.restored.describe() != "nothing":
            console.print(f"restored S3 and CloudWatch Logs data in {emulator.restore_seconds:.1f} s: "
                          f"{emulator.restored.describe()}")
        console.print(f"point any AWS SDK at it:  [cyan]export AWS_ENDPOINT_URL={emulator.endpoint_url}[/]")
        emulator.wait()
    except KeyboardInterrupt:
        console.print("stopping: running jobs end Stopped")
    finally:
        emulator.stop()
        if emulator.saved is not None:
            console.print(f"saved S3 and CloudWatch Logs data for the next start: {emulator.saved.describe()}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _Termination:
    """SIGTERM as KeyboardInterrupt, held back until the emulator has started."""

    def __init__(self) -> None:
        self.starting = True
        self.requested = False

    def handle(self, signum: int, frame: object) -> None:
        if self.starting:
            self.requested = True
            return
        _interrupt(signum, frame)

    def started(self) -> None:
        self.starting = False
        if self.requested:
            raise KeyboardInterrupt


@main.command()
@click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
              show_default=True, show_envvar=True, help="Where the jobs run.")
@click.option("--dataset", default="boston", show_default=True, metavar="NAME|PATH",
              help="A shipped dataset (boston, breast_cancer, iris, wine) or a CSV file with a header row "
                   "(then give --label).")
@click.option("--label", default=None, help="The label column of a --dataset CSV.")
@click.option("--hp", "hyperparameters", multiple=True, callback=name_value_pairs, metavar="NAME=VALUE",
              help="Override a hyperparameter (repeatable), e.g. --hp num_round=50.")
@click.option("--image-version", default="1", show_default=True,
              help="XGBoost image version: 1 (the seed's legacy image), 0.90-1 ... 1.7-1, 3.0-5.")
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True, help="S3 key prefix for the run.")
@click.option("--output", "output_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Where the plot and predictions are written.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the train/test split.")
@click.option("--region", default=None, help="AWS region (default: $AWS_REGION, else us-east-1).")
@click.option("--role", default=None, help="Execution role ARN (sagemaker backend; or $HARNESS_ROLE).")
@click.option("--endpoint", default=None, envvar="HARNESS_ENDPOINT",
              help="Use a running emulator at this URL instead of one in-process.")
@click.option("--quiet", is_flag=True, help="Do not print the jobs' log lines.")
@click.option("--deploy", is_flag=True,
              help="Also deploy the model to a real-time endpoint, invoke it with the test set, check its answers "
                   "equal the batch transform's, and delete it.")
@click.option("--script", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Script mode: train (and serve) with your own scikit-learn script on the SKLearn framework image "
                   "instead of the built-in XGBoost; --hp values become its arguments. Example: "
                   "examples/sklearn_boston/train.py.")
@click.option("--requirements", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A requirements.txt installed before the --script runs.")
@click.option("--framework", default="sklearn", show_default=True, type=click.Choice(["sklearn", "xgboost"]),
              help="The image --script runs on: the SKLearn framework image (--framework-version), or the XGBoost "
                   "image in framework mode (--image-version, 0.90-1 or later). Example for xgboost: "
                   "examples/xgboost_boston/train.py.")
@click.option("--framework-version", default="1.2-1", show_default=True, type=click.Choice(SKLEARN_VERSIONS),
              help="SKLearn framework image version of --script.")
def run(backend: str, dataset: str, label: str | None, hyperparameters: dict[str, str], image_version: str,
        prefix: str, output_dir: Path, seed: int, region: str | None, role: str | None, endpoint: str | None,
        quiet: bool, deploy: bool, script: Path | None, requirements: Path | None, framework: str,
        framework_version: str) -> None:
    """Run the reference workflow: split, upload, train, create model, batch transform, evaluate, plot (and with
    --deploy: deploy, invoke, delete)."""
    from fixtures.datasets import DATASETS, load, load_csv

    from .requests import SEED_HYPERPARAMETERS
    from .waiters import JobFailed
    from .workflow import Workflow, WorkflowOptions

    if dataset in DATASETS:
        features, labels = load(dataset)
    else:
        if not label:
            raise click.UsageError("--label is required with a CSV --dataset")
        try:
            features, labels = load_csv(dataset, label)
        except (OSError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    if requirements is not None and script is None:
        raise click.UsageError("--requirements goes with --script")
    if framework == "xgboost" and script is None:
        raise click.UsageError("--framework goes with --script")
    if script is not None and framework == "xgboost" and image_version in ("1", "latest"):
        raise click.UsageError("XGBoost framework mode needs an image version 0.90-1 or later (the legacy image "
                               "`1` has none): give --image-version, e.g. 1.7-1")
    if script is not None and prefix == DEFAULT_PREFIX:
        prefix = f"boston-{framework}-script"
    options = WorkflowOptions(prefix=prefix, image_version=image_version, output_dir=output_dir, split_seed=seed,
                              data_dir=output_dir / "data", deploy=deploy, script=script, requirements=requirements,
                              framework=framework, framework_version=framework_version,
                              hyperparameters=dict(hyperparameters) if script is not None
                              else {**SEED_HYPERPARAMETERS, **hyperparameters})
    target = _start_backend(backend, region, role=role, endpoint=endpoint)
    try:
        console.print(f"[bold]sagemaker-harness[/] reference workflow on [bold cyan]{target.describe()}[/]")
        workflow = Workflow(target, options, _ConsoleReporter(quiet))
        try:
            result = workflow.run(features, labels)
        except JobFailed as exc:
            raise click.ClickException(str(exc)) from None
        except BackendUnavailable as exc:  # e.g. local mode without the image in Docker: one line, no traceback
            console.print(f"[bold red]error:[/] backend {backend}: {exc}", soft_wrap=True)
            sys.exit(2)
    finally:
        target.stop()
    _print_summary(result, target.instance_type)


class _ConsoleReporter(Reporter):
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        with console.status(f"{name}..."):
            yield
        console.print(f"[green]✓[/] {name} [dim]({time.perf_counter() - started:.2f} s)[/]")

    def log(self, line: str) -> None:
        if not self.quiet:
            # CloudWatch shows a tab as #011; a terminal reads better with the tab back.
            console.print(Text("  " + line.replace("#011", "\t"), style="dim"), soft_wrap=True, highlight=False)

    def status(self, text: str) -> None:
        console.print(Text("  " + text, style="cyan"), soft_wrap=True, highlight=False)


def _print_summary(result: Any, instance_type: str) -> None:
    from .pricing import cost

    table = Table(title="Summary", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("name / value")
    table.add_column("duration", justify="right")
    table.add_column("billable s", justify="right")
    table.add_column(f"cost on {instance_type}", justify="right")
    training = result.training
    billable = training.get("BillableTimeInSeconds", 0)
    price = cost("ml.m4.xlarge", billable)
    table.add_row("training job", result.training_job, f"{result.step_seconds['train']:.2f} s", str(billable),
                  f"${price:.4f}" if price is not None else "n/a")
    transform = result.transform
    transform_seconds = max(1, round(transform["TransformEndTime"].timestamp()
                                     - transform["TransformStartTime"].timestamp()))
    price = cost("ml.m4.xlarge", transform_seconds)
    table.add_row("model", result.model_name, f"{result.step_seconds['create model']:.2f} s", "", "")
    table.add_row("transform job", result.transform_job, f"{result.step_seconds['transform']:.2f} s",
                  str(transform_seconds), f"${price:.4f}" if price is not None else "n/a")
    if result.endpoint is not None:
        check = result.endpoint
        table.add_row("endpoint", check.name, f"{result.step_seconds['deploy']:.2f} s", "", "")
        verdict = ("= batch transform" if check.matches_transform
                   else f"DIFFERS from batch transform at row {check.first_difference}")
        table.add_row("invocations", f"{check.predictions} predictions {verdict}",
                      f"{result.step_seconds['invoke']:.2f} s", "", "")
    table.add_row("RMSE", f"{result.metrics.rmse:.3f}", "", "", "")
    table.add_row("MAE", f"{result.metrics.mae:.3f}", "", "", "")
    table.add_row("R²", f"{result.metrics.r2:.3f}", "", "", "")
    table.add_row("plot", str(result.plot), "", "", "")
    table.add_row("total", "", f"{sum(result.step_seconds.values()):.2f} s", "", "")
    output = Console()
    # Job names are long; never truncate them, even when stdout is not a terminal.
    output.width = max(output.width, 120)
    output.print(table)


def _start_backend(name: str, region: str | None, inspect: bool = False, **options: Any) -> Any:
    """Start the chosen backend or exit with one line saying why not. `inspect` commands (jobs, logs) look
    at a running emulator (`harness serve`), since a fresh in-process one would hold no jobs."""
    if inspect and name == "emulator" and not options.get("endpoint"):
        options["endpoint"] = f"http://127.0.0.1:{DEFAULT_PORT}"
    try:
        backend = create_backend(name, region, **{k: v for k, v in options.items() if v})
        backend.start()
    except BackendUnavailable as exc:
        console.print(f"[bold red]error:[/] backend {name}: {exc}", soft_wrap=True)
        sys.exit(2)
    return backend


@main.group()
def jobs() -> None:
    """List and describe training and transform jobs."""


@jobs.command("list")
@click.option("--kind", type=click.Choice(["training", "transform"]), default="training", show_default=True)
@click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
              show_default=True)
@click.option("--endpoint", envvar="HARNESS_ENDPOINT", default=None, help="A running emulator's URL.")
@click.option("--max", "max_results", default=20, show_default=True, type=click.IntRange(1, 100))
def list_jobs(kind: str, backend: str, endpoint: str | None, max_results: int) -> None:
    """The most recent jobs, newest first."""
    target = _start_backend(backend, None, inspect=True, endpoint=endpoint)
    try:
        sagemaker = target.client("sagemaker")
        if kind == "training":
            summaries = sagemaker.list_training_jobs(SortOrder="Descending", MaxResults=max_results)[
                "TrainingJobSummaries"]
        else:
            summaries = sagemaker.list_transform_jobs(SortOrder="Descending", MaxResults=max_results)[
                "TransformJobSummaries"]
    finally:
        target.stop()
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "status", "created"):
        table.add_column(column)
    for summary in summaries:
        table.add_row(summary.get("TrainingJobName") or summary.get("TransformJobName"),
                      summary.get("TrainingJobStatus") or summary.get("TransformJobStatus"),
                      summary["CreationTime"].strftime("%Y-%m-%d %H:%M:%S"))
    Console().print(table)


@jobs.command("describe")
@click.argument("name")
@click.option("--kind", type=click.Choice(["training", "transform"]), default="training", show_default=True)
@click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
              show_default=True)
@click.option("--endpoint", envvar="HARNESS_ENDPOINT", default=None, help="A running emulator's URL.")
def describe_job(name: str, kind: str, backend: str, endpoint: str | None) -> None:
    """A job's full Describe response, as JSON."""
    if kind == "training":
        print_description(backend, endpoint, lambda sagemaker: sagemaker.describe_training_job(TrainingJobName=name))
    else:
        print_description(backend, endpoint, lambda sagemaker: sagemaker.describe_transform_job(
            TransformJobName=name))


def print_description(backend: str, endpoint: str | None, describe: Callable[[Any], dict[str, Any]]) -> None:
    """A Describe response of the backend's SageMaker, as JSON; an error's message (exit 1) when it fails."""
    from botocore.exceptions import ClientError

    target = _start_backend(backend, None, inspect=True, endpoint=endpoint)
    try:
        try:
            description = describe(target.client("sagemaker"))
        except ClientError as exc:
            raise click.ClickException(exc.response["Error"]["Message"]) from None
    finally:
        target.stop()
    description.pop("ResponseMetadata", None)
    click.echo(json.dumps(description, indent=2, default=str))


@main.command()
@click.argument("name")
@click.option("--kind", type=click.Choice(["training", "transform"]), default="training", show_default=True)
@click.option("--follow", "-f", is_flag=True, help="Keep following until the job ends.")
@click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
              show_default=True)
@click.option("--endpoint", envvar="HARNESS_ENDPOINT", default=None, help="A running emulator's URL.")
def logs(name: str, kind: str, follow: bool, backend: str, endpoint: str | None) -> None:
    """Print a job's CloudWatch log lines."""
    from .waiters import (
        TRAINING_LOG_GROUP,
        TRANSFORM_LOG_GROUP,
        LogFollower,
        wait_for_training_job,
        wait_for_transform_job,
    )

    target = _start_backend(backend, None, inspect=True, endpoint=endpoint)
    try:
        sagemaker, log_client = target.client("sagemaker"), target.client("logs")
        if follow:
            wait = wait_for_training_job if kind == "training" else wait_for_transform_job
            wait(sagemaker, log_client, name, target.poll_seconds, on_log=click.echo)
        else:
            group = TRAINING_LOG_GROUP if kind == "training" else TRANSFORM_LOG_GROUP
            for line in LogFollower(log_client, group, name).poll():
                click.echo(line)
    finally:
        target.stop()


main.add_command(runtimes)
main.add_command(images)
main.add_command(endpoints)
main.add_command(invoke)
main.add_command(tune)


@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Benchmark the emulator against bare XGBoost (bench/; `harness bench --help` for its options)."""
    # bench/ lives in the source checkout beside this package and is not installed with it; it is imported only
    # here, so that other commands do not pay for its imports.
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "bench" / "__init__.py").is_file():
        raise click.ClickException("harness bench needs the source checkout (bench/ is not installed)")
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    from bench.cli import bench as bench_command

    bench_command.main(args=list(args), prog_name="harness bench")
