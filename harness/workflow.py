"""The reference workflow: split, write, upload, train, model, transform, download, evaluate, plot, clean up; with
`deploy`, also deploy the model to an endpoint, invoke it with the test set and check it answers as the batch
transform did.

Each step is a method usable on its own; `run()` chains them. The same code runs on every backend: only the
clients, image, role, bucket and instance type come from the backend.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from backends.base import Backend

from . import evaluation
from .requests import (
    SEED_HYPERPARAMETERS,
    TrainingConfig,
    TransformConfig,
    endpoint_config_request,
    model_request,
    training_job_request,
    transform_job_request,
)
from .waiters import JobFailed, wait_for_endpoint, wait_for_training_job, wait_for_transform_job

INVOKE_ROWS = 500  # test rows per InvokeEndpoint request (far below the 6 MB payload limit)


@dataclass(frozen=True)
class WorkflowOptions:
    prefix: str = "boston-xgboost-LL"
    hyperparameters: dict[str, str] = field(default_factory=lambda: dict(SEED_HYPERPARAMETERS))
    image_version: str = "1"  # the seed's legacy `xgboost:1` image
    data_dir: Path = Path("data/boston")
    output_dir: Path = Path("out")
    split_seed: int | None = 0
    max_payload_mb: int = 6
    max_concurrent_transforms: int = 1
    batch_strategy: str = "MultiRecord"
    keep_data: bool = False
    deploy: bool = False  # also deploy the model to a real-time endpoint, invoke it with the test set, delete it
    # Script mode: the user's training (and inference) script instead of the built-in XGBoost, on the SKLearn
    # framework image (`framework_version`) or the XGBoost image in framework mode (`image_version`);
    # `hyperparameters` are then the script's arguments.
    script: Path | None = None
    requirements: Path | None = None
    framework: str = "sklearn"
    framework_version: str = "1.2-1"

    @property
    def stem(self) -> str:
        """What job names start with: the dataset and the algorithm, as the seed names them."""
        return f"boston-{self.framework}" if self.script is not None else "boston-xgboost"


@dataclass
class Split:
    x_train: pd.DataFrame
    y_train: pd.Series
    x_val: pd.DataFrame
    y_val: pd.Series
    x_test: pd.DataFrame
    y_test: pd.Series


@dataclass
class WorkflowResult:
    backend: str
    training_job: str
    model_name: str
    transform_job: str
    training: dict[str, Any]
    transform: dict[str, Any]
    metrics: evaluation.Metrics
    predictions: Path
    plot: Path
    step_seconds: dict[str, float]
    endpoint: EndpointCheck | None = None


@dataclass
class EndpointCheck:
    """What the deploy step found: the endpoint's answers to the test set against the batch transform's."""

    name: str
    predictions: int
    matches_transform: bool
    first_difference: int | None  # the first row whose answers differ
    answers: list[str] = field(default_factory=list, repr=False)  # the endpoint's prediction per test row


class Reporter:
    """What the workflow tells its user; the default says nothing. The CLI shows progress with rich."""

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        yield

    def log(self, line: str) -> None:
        """A line of a job's log, as it arrives."""

    def status(self, text: str) -> None:
        """A job changed status."""


def _decoded(value: str) -> Any:
    """A --hp value as the SDK user would have written it in Python: 300 or 0.1 as numbers, words as strings."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def job_suffix() -> str:
    """The seed's timestamp suffix, with milliseconds so two runs in one second do not collide."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%d-%H-%M-%S-") + f"{now.microsecond // 1000:03d}"


class Workflow:
    def __init__(self, backend: Backend, options: WorkflowOptions | None = None,
                 reporter: Reporter | None = None) -> None:
        self.backend = backend
        self.options = options or WorkflowOptions()
        self.reporter = reporter or Reporter()
        self.step_seconds: dict[str, float] = {}
        self.source_uri = ""  # script mode: where the backend staged the script, for training and the model

    # -- the steps -------------------------------------------------------------------------------------

    def split(self, features: pd.DataFrame, label: pd.Series) -> Split:
        """2/3 train+validation and 1/3 test, then 2/3 train and 1/3 validation, as the seed does."""
        from sklearn.model_selection import train_test_split

        seed = self.options.split_seed
        x_train, x_test, y_train, y_test = train_test_split(features, label, test_size=0.33, random_state=seed)
        x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.33, random_state=seed)
        return Split(x_train, y_train, x_val, y_val, x_test, y_test)

    def write_csvs(self, split: Split) -> dict[str, Path]:
        """No header, no index; label first for train and validation; no label for test."""
        directory = self.options.data_dir
        directory.mkdir(parents=True, exist_ok=True)
        paths = {name: directory / f"{name}.csv" for name in ("test", "validation", "train")}
        split.x_test.to_csv(paths["test"], header=False, index=False)
        pd.concat([split.y_val, split.x_val], axis=1).to_csv(paths["validation"], header=False, index=False)
        pd.concat([split.y_train, split.x_train], axis=1).to_csv(paths["train"], header=False, index=False)
        return paths

    def upload(self, paths: dict[str, Path]) -> dict[str, str]:
        """Each file to s3://<default bucket>/<prefix>/<file name>, like `Session.upload_data`."""
        bucket = self.backend.default_bucket()
        s3 = self.backend.client("s3")
        uris = {}
        for name, path in paths.items():
            key = f"{self.options.prefix}/{path.name}"
            s3.upload_file(str(path), bucket, key)
            uris[name] = f"s3://{bucket}/{key}"
        return uris

    def train(self, train_uri: str, validation_uri: str | None) -> dict[str, Any]:
        """Create the training job and follow its logs until it ends; returns its final Describe."""
        name = f"{self.options.stem}-{job_suffix()}"
        hyperparameters = self.options.hyperparameters
        if self.options.script is not None:
            hyperparameters = self.script_hyperparameters(name)
        config = TrainingConfig(
            job_name=name, image=self._image(), role=self.backend.role_arn(),
            output_path=f"s3://{self.backend.default_bucket()}/{self.options.prefix}/output",
            train_uri=train_uri, validation_uri=validation_uri,
            hyperparameters=hyperparameters, instance_type=self.backend.instance_type,
        )
        sagemaker = self.backend.client("sagemaker")
        sagemaker.create_training_job(**training_job_request(config))
        description = wait_for_training_job(sagemaker, self._logs(), name, self.backend.poll_seconds,
                                            on_log=self.reporter.log, on_status=self._report_status)
        if description["TrainingJobStatus"] != "Completed":
            raise JobFailed("Training", name, description)
        return description

    def create_model(self, training: dict[str, Any]) -> str:
        name = f"{training['TrainingJobName']}-model"
        # SDK local mode's Describe carries no TrainingImage: the image is then the one this workflow trains with.
        image = training.get("AlgorithmSpecification", {}).get("TrainingImage") or self._image()
        environment = None
        if self.options.script is not None:
            # What the SDK's SKLearn model sets: the same script serves, from the source the job trained with.
            environment = {"SAGEMAKER_PROGRAM": self.options.script.name,
                           "SAGEMAKER_SUBMIT_DIRECTORY": self.source_uri,
                           "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": self.backend.region}
        request = model_request(name, image, training["ModelArtifacts"]["S3ModelArtifacts"], self.backend.role_arn(),
                                environment)
        self.backend.client("sagemaker").create_model(**request)
        return name

    def transform(self, model_name: str, test_uri: str) -> dict[str, Any]:
        name = f"{self.options.stem}-batch-transform-{job_suffix()}"
        config = TransformConfig(
            job_name=name, model_name=model_name, input_uri=test_uri, output_path=self._transform_output(),
            instance_type=self.backend.instance_type, max_payload_mb=self.options.max_payload_mb,
            max_concurrent_transforms=self.options.max_concurrent_transforms,
            batch_strategy=self.options.batch_strategy, accept=self._accept(),
        )
        sagemaker = self.backend.client("sagemaker")
        sagemaker.create_transform_job(**transform_job_request(config))
        description = wait_for_transform_job(sagemaker, self._logs(), name, self.backend.poll_seconds,
                                             on_log=self.reporter.log, on_status=self._report_status)
        if description["TransformJobStatus"] != "Completed":
            raise JobFailed("Transform", name, description)
        return description

    def download_predictions(self, test_file: str = "test.csv", transform_job: str | None = None) -> Path:
        """`<test file>.out` from the transform output into the data directory (`transform_job` names the job for
        backends that put its outputs in a folder of their own, as SDK local mode does)."""
        output = self._transform_output()
        if transform_job is not None:
            output = self.backend.transform_output_uri(output, transform_job)
        bucket, key = output.removeprefix("s3://").split("/", 1)
        target = self.options.data_dir / f"{test_file}.out"
        self.backend.client("s3").download_file(bucket, f"{key}{test_file}.out", str(target))
        return target

    def evaluate(self, y_test: pd.Series, predictions_path: Path) -> tuple[evaluation.Metrics, Path]:
        predicted = pd.read_csv(predictions_path, header=None)[0]
        metrics = evaluation.regression_metrics(y_test.to_numpy(), predicted.to_numpy())
        self.options.output_dir.mkdir(parents=True, exist_ok=True)
        kept = self.options.output_dir / "predictions.csv"
        pd.DataFrame({"actual": y_test.to_numpy(), "predicted": predicted.to_numpy()}).to_csv(kept, index=False)
        plot = evaluation.plot_actual_vs_predicted(y_test.to_numpy(), predicted.to_numpy(),
                                                   self.options.output_dir / "actual-vs-predicted.png")
        return metrics, plot

    def deploy(self, model_name: str) -> str:
        """Create the endpoint configuration and the endpoint, and wait for it to be InService."""
        name = f"{self.options.stem}-endpoint-{job_suffix()}"[:63]
        sagemaker = self.backend.client("sagemaker")
        sagemaker.create_endpoint_config(**endpoint_config_request(name, model_name, self.backend.instance_type))
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        description = wait_for_endpoint(sagemaker, name, self.backend.poll_seconds,
                                        on_status=lambda d: self.reporter.status(d["EndpointStatus"]))
        if description["EndpointStatus"] != "InService":
            self.delete_endpoint(name)
            raise JobFailed("Endpoint", name, description)
        return name

    def invoke(self, endpoint: str, test_path: Path) -> list[str]:
        """The endpoint's predictions for the test CSV, `INVOKE_ROWS` rows per request, one string per row."""
        runtime = self.backend.client("sagemaker-runtime")
        rows = test_path.read_text().splitlines()
        predictions: list[str] = []
        for start in range(0, len(rows), INVOKE_ROWS):
            body = "\n".join(rows[start:start + INVOKE_ROWS]) + "\n"
            accept = self._accept()
            answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body,
                                             **({"Accept": accept} if accept else {}))
            text = answer["Body"].read().decode()
            # Older images join a real-time CSV answer with commas, newer ones write a line per row.
            predictions.extend(value for line in text.splitlines() for value in line.split(",") if value)
        return predictions

    def delete_endpoint(self, endpoint: str) -> None:
        sagemaker = self.backend.client("sagemaker")
        sagemaker.delete_endpoint(EndpointName=endpoint)
        sagemaker.delete_endpoint_config(EndpointConfigName=endpoint)

    def check_endpoint(self, model_name: str, test_path: Path, predictions_path: Path) -> EndpointCheck:
        """Deploy, invoke with the test set, compare with the batch transform's lines, delete."""
        endpoint = self._timed("deploy", lambda: self.deploy(model_name))
        try:
            answers = self._timed("invoke", lambda: self.invoke(endpoint, test_path))
        finally:
            self._timed("delete endpoint", lambda: self.delete_endpoint(endpoint))
        batch = predictions_path.read_text().splitlines()
        difference = next((i for i, (a, b) in enumerate(zip(answers, batch, strict=False)) if a != b),
                          None if len(answers) == len(batch) else min(len(answers), len(batch)))
        return EndpointCheck(endpoint, len(answers), difference is None, difference, answers)

    def clean_up(self) -> None:
        """Remove the local CSVs and predictions, as the seed's last cell does."""
        if not self.options.keep_data:
            shutil.rmtree(self.options.data_dir, ignore_errors=True)

    # -- the whole thing -------------------------------------------------------------------------------

    def run(self, features: pd.DataFrame, label: pd.Series) -> WorkflowResult:
        # Resolve the image before any work: a backend that cannot run it (SDK local mode without the image in
        # Docker) says so at once, as a BackendUnavailable.
        self._image()
        split = self._timed("split", lambda: self.split(features, label))
        paths = self._timed("write CSVs", lambda: self.write_csvs(split))
        uris = self._timed("upload", lambda: self.upload(paths))
        training = self._timed("train", lambda: self.train(uris["train"], uris["validation"]))
        model_name = self._timed("create model", lambda: self.create_model(training))
        transform = self._timed("transform", lambda: self.transform(model_name, uris["test"]))
        predictions = self._timed("download", lambda: self.download_predictions(
            transform_job=transform["TransformJobName"]))
        metrics, plot = self._timed("evaluate", lambda: self.evaluate(split.y_test, predictions))
        endpoint = self.check_endpoint(model_name, paths["test"], predictions) if self.options.deploy else None
        self._timed("clean up", self.clean_up)
        return WorkflowResult(
            backend=self.backend.describe(), training_job=training["TrainingJobName"], model_name=model_name,
            transform_job=transform["TransformJobName"], training=training, transform=transform, metrics=metrics,
            predictions=self.options.output_dir / "predictions.csv", plot=plot, step_seconds=self.step_seconds,
            endpoint=endpoint,
        )

    # -- helpers ---------------------------------------------------------------------------------------

    def _image(self) -> str:
        if self.options.script is not None and self.options.framework == "sklearn":
            return self.backend.image_uri("sklearn", self.options.framework_version)
        return self.backend.image_uri("xgboost", self.options.image_version)

    def _accept(self) -> str | None:
        # The framework container answers JSON unless asked otherwise; the evaluation reads a prediction per line.
        return "text/csv" if self.options.script is not None else None

    def script_hyperparameters(self, job_name: str) -> dict[str, str]:
        """Stage the script (and requirements.txt) with the backend (sourcedir.tar.gz in S3, or local mode's local
        code); the hyperparameters the SDK's SKLearn estimator sends with it: every value JSON-encoded, and the
        sagemaker_* keys naming the script."""
        script = self.options.script
        assert script is not None
        files = {script.name: script}
        if self.options.requirements is not None:
            files["requirements.txt"] = self.options.requirements
        self.source_uri = self.backend.stage_source(files, self.backend.default_bucket(),
                                                    f"{self.options.prefix}/{job_name}/source")
        values: dict[str, Any] = {name: _decoded(value) for name, value in self.options.hyperparameters.items()}
        values.update({"sagemaker_submit_directory": self.source_uri, "sagemaker_program": script.name,
                       "sagemaker_container_log_level": 20, "sagemaker_job_name": job_name,
                       "sagemaker_region": self.backend.region})
        return {name: json.dumps(value) for name, value in values.items()}

    def _timed(self, name: str, step: Callable[[], Any]) -> Any:
        with self.reporter.step(name):
            started = time.perf_counter()
            result = step()
            self.step_seconds[name] = time.perf_counter() - started
        return result

    def _transform_output(self) -> str:
        return f"s3://{self.backend.default_bucket()}/{self.options.prefix}/batch-transform/"

    def _logs(self) -> Any:
        # SDK local mode streams container output itself and has no CloudWatch Logs.
        return None if self.backend.name == "local" else self.backend.client("logs")

    def _report_status(self, description: dict[str, Any]) -> None:
        # SDK local mode's training Describe has no SecondaryStatus.
        status = (description.get("SecondaryStatus") or description.get("TransformJobStatus")
                  or description.get("TrainingJobStatus"))
        transitions = description.get("SecondaryStatusTransitions") or []
        message = transitions[-1].get("StatusMessage", "") if transitions else ""
        self.reporter.status(f"{status} - {message}" if message else str(status))
