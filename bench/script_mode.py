"""Script mode: a training job of the shipped example script (examples/sklearn_boston/train.py, scikit-learn's
GradientBoostingRegressor) on the SKLearn framework image, and a batch transform through its inference functions,
against the same script and the same predictions run bare by the same runtime's interpreter.

The emulator runs a user's script with the sagemaker-training toolkit in the image's runtime (`RUNTIME`, an
isolated environment with the image's scikit-learn). The runtime is installed, untimed, into this machine's
runtimes directory (`$HARNESS_RUNTIMES_DIR`, else ~/.cache/sagemaker-harness/runtimes; once: later runs find it)
and linked into the running emulator's own runtimes directory, which is otherwise empty (server.py: its XGBoost
jobs run on the emulator's own XGBoost), so that the emulator finds it.

The data is the reference workflow's, as the tuning part's is: Boston housing split and written as `harness run`
does it (train and validation with the label first, test without). They and the script go to the embedded S3 as
`harness run --script` sends them (`Workflow.upload`, and the source archive and SDK-style hyperparameters of
`Workflow.script_hyperparameters`), with `--n_estimators N_ESTIMATORS` (the script's default) and a
MetricDefinition for `validation:rmse` over the script's log. Each repetition, the emulator side: CreateTrainingJob
until the `TrainingEndTime` the emulator recorded, CreateModel as the SDK's SKLearn model creates it (`Workflow.
create_model`: SAGEMAKER_PROGRAM and SAGEMAKER_SUBMIT_DIRECTORY), and CreateTransformJob of test.csv (text/csv,
SplitType Line, Accept text/csv) until its `TransformEndTime`; both from just before the Create call, so the
polling does not count. Then the bare side, in the runtime's interpreter: `python train.py --n_estimators N` with
SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION and SM_MODEL_DIR set to local directories holding the same files, and a
process that loads the model.joblib it wrote, reads test.csv with pandas and predicts; each timed from start to
exit. Both sides did the same work when the job's `validation:rmse` is the one the bare run printed and every
prediction of the transform is the bare prediction, as floats, exactly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from backends.emulator.backend import EmulatorBackend
from backends.emulator.runtimes import Runtime, RuntimeStore
from backends.emulator.runtimes.runner_env import runner_environment
from fixtures.datasets import load_boston
from harness.requests import TrainingConfig, TransformConfig, training_job_request, transform_job_request
from harness.workflow import Workflow, WorkflowOptions

from .emulator_side import JobFailed, measure_job, run_training_job, run_transform_job
from .measurements import Phase, ScriptRun
from .sampling import TreeSampler
from .served_model import delete_prefix
from .server import BUCKET, REGION, EmulatorProcess
from .settings import BenchSettings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sklearn_boston" / "train.py"
FRAMEWORK_VERSION = "1.2-1"  # the SKLearn image version
RUNTIME = f"sklearn-{FRAMEWORK_VERSION}"
N_ESTIMATORS = 300
METRIC = "validation:rmse"
METRIC_REGEX = r"validation:rmse=([0-9.]+)"
# The bare prediction: the model the script saved, the test rows as pandas reads them; one JSON line with the
# predictions and the seconds after the imports (loading, reading and predicting).
_PREDICT = ("import json, sys, time, joblib, pandas as pd, sklearn.ensemble\n"
            "start = time.perf_counter()\n"
            "model = joblib.load(sys.argv[1])\n"
            "rows = pd.read_csv(sys.argv[2], header=None).to_numpy()\n"
            "predictions = model.predict(rows).tolist()\n"
            "print(json.dumps({'predictions': predictions, 'seconds': time.perf_counter() - start}))\n")


@dataclass(frozen=True)
class ScriptResults:
    runtime: str  # RUNTIME
    release: str  # its scikit-learn
    python: str  # its Python
    installed_at: Path  # where the runtime is installed (linked into the emulator's runtimes directory)
    train_rows: int
    validation_rows: int
    test_rows: int
    runs: list[ScriptRun]
    differing_metrics: int  # repetitions whose job's validation:rmse is not the bare run's printed one
    compared_predictions: int  # transform predictions compared with the bare ones, every repetition
    differing_predictions: int  # ... that are not the same float (a missing or extra one counts)


def script_runs(emulator: EmulatorProcess, sampler: TreeSampler, settings: BenchSettings, workdir: Path,
                say: Callable[[str], None]) -> ScriptResults:
    runtime = _emulator_runtime(emulator, say)
    prefix = f"bench-script-{int(time.time())}"
    workflow = Workflow(EmulatorBackend(REGION, endpoint=emulator.endpoint_url), WorkflowOptions(
        prefix=prefix, data_dir=workdir / "script-data", script=EXAMPLE, framework_version=FRAMEWORK_VERSION,
        hyperparameters={"n_estimators": str(N_ESTIMATORS)}))
    split = workflow.split(*load_boston())
    paths = workflow.write_csvs(split)
    channels = _channel_directories(paths, workdir / "script-bare")
    runs: list[ScriptRun] = []
    differing_metrics = compared = differing = 0
    try:
        uris = workflow.upload(paths)
        for repetition in range(settings.repeat):
            say(f"script mode repetition {repetition + 1}/{settings.repeat}: emulator (training job, transform)")
            training, transform, metric, served = _emulator_side(workflow, sampler, uris, f"{prefix}-{repetition}")
            say(f"script mode repetition {repetition + 1}/{settings.repeat}: bare (the script, model.predict)")
            model_dir = workdir / "script-bare" / f"model-{repetition}"
            bare_training, bare_metric = _bare_training(runtime, channels, model_dir)
            bare_predict, after_imports, predictions = _bare_predict(runtime, model_dir / "model.joblib",
                                                                     paths["test"])
            differing_metrics += metric != bare_metric
            compared += len(predictions)
            differing += sum(a != b for a, b in zip(served, predictions, strict=False))
            differing += abs(len(served) - len(predictions))
            runs.append(ScriptRun(training, transform, bare_training, bare_predict, after_imports))
    finally:
        delete_prefix(emulator, prefix)
    return ScriptResults(RUNTIME, runtime.release, str(runtime.manifest.get("python")), runtime.path.resolve(),
                         len(split.x_train), len(split.x_val), len(split.x_test), runs, differing_metrics, compared,
                         differing)


def _emulator_runtime(emulator: EmulatorProcess, say: Callable[[str], None]) -> Runtime:
    """The runtime, installed into this machine's runtimes directory if it is not there yet, as the running
    emulator finds it in its own runtimes directory."""
    store = RuntimeStore()
    if store.find(RUNTIME) is None:
        say(f"installing the {RUNTIME} runtime into {store.root} (once, untimed)")
    installed = store.install(RUNTIME, progress=say)
    link = emulator.runtimes_dir / RUNTIME
    if installed.path != link and not link.exists():
        link.symlink_to(installed.path, target_is_directory=True)
    found = RuntimeStore(emulator.runtimes_dir).find(RUNTIME)
    if found is None:
        raise RuntimeError(f"the emulator does not find the {RUNTIME} runtime in {emulator.runtimes_dir}")
    return found


def _channel_directories(paths: dict[str, Path], directory: Path) -> dict[str, Path]:
    """A directory per channel holding its file, as the job's /opt/ml/input/data/<channel> does."""
    channels = {}
    for channel in ("train", "validation"):
        channels[channel] = directory / channel
        channels[channel].mkdir(parents=True, exist_ok=True)
        shutil.copy(paths[channel], channels[channel] / paths[channel].name)
    return channels


def _emulator_side(workflow: Workflow, sampler: TreeSampler, uris: dict[str, str], name: str
                   ) -> tuple[Phase, Phase, float, list[float]]:
    """The training job and the transform (their phases), the job's validation:rmse and the transform's
    predictions."""
    sagemaker, s3 = workflow.backend.client("sagemaker"), workflow.backend.client("s3")
    output = f"s3://{BUCKET}/{workflow.options.prefix}/{name}"
    request = training_job_request(TrainingConfig(
        job_name=name, image=workflow.backend.image_uri("sklearn", FRAMEWORK_VERSION),
        role=workflow.backend.role_arn(), output_path=f"{output}/output", train_uri=uris["train"],
        validation_uri=uris["validation"], hyperparameters=workflow.script_hyperparameters(name)))
    request["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": METRIC, "Regex": METRIC_REGEX}]
    training, job = measure_job(sampler, partial(run_training_job, sagemaker, request))
    metrics = {metric["MetricName"]: metric["Value"] for metric in job.get("FinalMetricDataList", [])}
    if METRIC not in metrics:
        raise JobFailed(f"training job {name} reported no {METRIC}")
    model = workflow.create_model(job)
    transform, _ = measure_job(sampler, partial(run_transform_job, sagemaker, transform_job_request(TransformConfig(
        job_name=f"{name}-transform", model_name=model, input_uri=uris["test"],
        output_path=f"{output}/batch-transform/", accept="text/csv"))))
    key = f"{workflow.options.prefix}/{name}/batch-transform/{Path(uris['test']).name}.out"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return training, transform, float(metrics[METRIC]), [float(line) for line in body.split()]


def _bare_training(runtime: Runtime, channels: dict[str, Path], model_dir: Path) -> tuple[float, float]:
    """`python train.py --n_estimators N` in the runtime: its wall time and the validation:rmse it printed."""
    model_dir.mkdir(parents=True, exist_ok=True)
    seconds, stdout = _in_runtime(runtime, [str(EXAMPLE), "--n_estimators", str(N_ESTIMATORS)], model_dir, {
        "SM_CHANNEL_TRAIN": str(channels["train"]), "SM_CHANNEL_VALIDATION": str(channels["validation"]),
        "SM_MODEL_DIR": str(model_dir)})
    printed = re.findall(METRIC_REGEX, stdout)
    if not printed:
        raise RuntimeError(f"the bare run of {EXAMPLE.name} printed no {METRIC}:\n{stdout}")
    return seconds, float(printed[-1])


def _bare_predict(runtime: Runtime, model: Path, test_csv: Path) -> tuple[float, float, list[float]]:
    """A process of the runtime that loads `model`, reads `test_csv` and predicts: its wall time, the seconds it
    took after its imports, the predictions."""
    seconds, stdout = _in_runtime(runtime, ["-c", _PREDICT, str(model), str(test_csv)], model.parent)
    result = json.loads(stdout.strip().splitlines()[-1])
    return seconds, float(result["seconds"]), [float(value) for value in result["predictions"]]


def _in_runtime(runtime: Runtime, arguments: list[str], cwd: Path, env: dict[str, str] | None = None
                ) -> tuple[float, str]:
    """Run the runtime's interpreter isolated as its jobs are (none of this environment's packages): the seconds
    from start to exit, and its stdout."""
    command = [str(runtime.python), *arguments]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False,
                            env={**runner_environment(runtime.root), **(env or {})}, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} in {runtime.spec.image_version} failed "
                           f"({result.returncode}):\n{result.stderr[-4000:]}")
    return seconds, result.stdout
