"""The reference workflow against responses shaped like SDK local mode's (sagemaker.local.entities): blocking
create calls, Describes without SecondaryStatus or TrainingImage, no CloudWatch Logs, and transform outputs in a
folder named after the job. The real local mode is exercised in tests/sdk/test_local_mode.py (without Docker) and
tests/integration/test_local_backend.py (with it)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from backends.local import LocalBackend
from fixtures.datasets import load_boston
from harness.workflow import Reporter, Workflow, WorkflowOptions


class LocalModeClient:
    """What LocalSagemakerClient answers, reduced to the calls the workflow makes."""

    def __init__(self, s3: FakeS3) -> None:
        self.s3 = s3
        self.models: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}

    def create_training_job(self, TrainingJobName: str, AlgorithmSpecification: dict[str, Any],
                            OutputDataConfig: dict[str, Any], ResourceConfig: dict[str, Any],
                            InputDataConfig: Any = None, Environment: Any = None, **kwargs: Any) -> None:
        assert ResourceConfig["InstanceType"] == "local"
        artifact = f"{OutputDataConfig['S3OutputPath']}/{TrainingJobName}/output/model.tar.gz"
        self.jobs[TrainingJobName] = {
            "TrainingJobName": TrainingJobName, "TrainingJobArn": "local:arn-does-not-matter",
            "TrainingJobStatus": "Completed", "ModelArtifacts": {"S3ModelArtifacts": artifact},
            "AlgorithmSpecification": {"ContainerEntrypoint": None}, "TrainingStartTime": datetime.now(),
            "TrainingEndTime": datetime.now()}

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        return self.jobs[TrainingJobName]

    def create_model(self, ModelName: str, PrimaryContainer: dict[str, Any], *args: Any, **kwargs: Any
                     ) -> None:
        self.models[ModelName] = PrimaryContainer

    def create_transform_job(self, TransformJobName: str, ModelName: str, TransformInput: dict[str, Any],
                             TransformOutput: dict[str, Any], TransformResources: dict[str, Any],
                             **kwargs: Any) -> None:
        # As sagemaker.local's _LocalTransformJob: the model's Environment is read unconditionally.
        environment = dict(self.models[ModelName]["Environment"])
        assert isinstance(environment, dict)
        rows = self.s3.objects[TransformInput["DataSource"]["S3DataSource"]["S3Uri"]].count(b"\n")
        self.s3.objects[f"{TransformOutput['S3OutputPath']}{TransformJobName}/test.csv.out"] = b"22.5\n" * rows
        now = datetime.now()
        self.jobs[TransformJobName] = {"TransformJobName": TransformJobName, "TransformJobStatus": "Completed",
                                       "ModelName": ModelName, "TransformStartTime": now, "TransformEndTime": now,
                                       "CreationTime": now}

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
        return self.jobs[TransformJobName]


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        self.objects[f"s3://{bucket}/{key}"] = Path(path).read_bytes()

    def download_file(self, bucket: str, key: str, path: str) -> None:
        Path(path).write_bytes(self.objects[f"s3://{bucket}/{key}"])


class LocalModeBackend(LocalBackend):
    def __init__(self) -> None:
        super().__init__("us-east-1", localstack_url="http://localhost:4566")
        self.s3 = FakeS3()
        self.sagemaker = LocalModeClient(self.s3)
        self.poll_seconds = 0.0

    def client(self, service: str) -> Any:
        assert service != "logs", "local mode has no CloudWatch Logs to follow"
        return self.sagemaker if service == "sagemaker" else self.s3

    def default_bucket(self) -> str:
        return "sagemaker-us-east-1-000000000000"

    def image_uri(self, framework: str = "xgboost", version: str = "1") -> str:
        return "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"  # present, as far as this test goes


class Statuses(Reporter):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def status(self, text: str) -> None:
        self.seen.append(text)


def test_the_workflow_runs_on_local_mode_responses(tmp_path: Path) -> None:
    backend, reporter = LocalModeBackend(), Statuses()
    options = WorkflowOptions(data_dir=tmp_path / "data", output_dir=tmp_path / "out")
    result = Workflow(backend, options, reporter).run(*load_boston())
    # The model gets the image the workflow trained with, though local mode's Describe does not carry it.
    (container,) = backend.sagemaker.models.values()
    assert container == {"Image": "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
                         "ModelDataUrl": result.training["ModelArtifacts"]["S3ModelArtifacts"], "Environment": {}}
    # Predictions were read from <S3OutputPath>/<job name>/test.csv.out, where local mode writes them.
    predictions = pd.read_csv(result.predictions)
    assert (predictions["predicted"] == 22.5).all()
    assert len(predictions) == 167  # the test third of Boston housing's 506 rows
    assert reporter.seen == ["Completed", "Completed"]  # no SecondaryStatus: the job status stands in
