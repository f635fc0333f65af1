"""Script mode on the SKLearn framework image: the user's own script, trained by the sagemaker-training toolkit in
the image's runtime (scikit-learn 1.2.1 on Python 3.9) and served through its inference functions.

The references are the toolkit itself (its argv, SM_* environment and failure file, documented in its source),
scikit-learn run directly on the model the job wrote, and the job's own log (the metric a regex reads there
must be what the model gives when recomputed here).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from backends.emulator.algorithms.images import image_uri
from backends.emulator.runtimes import Runtime
from backends.emulator.server import Emulator, EmulatorConfig
from backends.images.algorithm import SERVER_DISTRIBUTIONS, copy_distribution
from tests.conftest import ROLE, boston_frames, free_port, make_client, wait_training, wait_transform
from tests.runtimes.conftest import BUCKET
from tests.runtimes.helpers import (
    RUNTIMES_DIR,
    csv_bytes,
    installed_runtime,
    run_in_runtime,
    training_log,
    transform_log,
)

ROOT = Path(__file__).resolve().parents[2]
SKLEARN = image_uri("us-east-1", "sklearn", "1.2-1")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sklearn_boston" / "train.py"
# A requirement the runtime does not have: the script imports it, so the job completes only if it was installed.
REQUIREMENT = "tabulate==0.9.0"
USES_REQUIREMENT = b'\nimport tabulate\nprint(tabulate.tabulate([["rows", 300]], tablefmt="plain"))\n'
METRICS = [{"Name": "validation:rmse", "Regex": r"validation:rmse=([0-9.]+)"},
           {"Name": "train:rmse", "Regex": r"train:rmse=([0-9.]+)"}]


@pytest.fixture(scope="module")
def sklearn_runtime() -> Runtime:
    return installed_runtime("sklearn-1.2-1")


def source_archive(files: dict[str, bytes]) -> bytes:
    """sourcedir.tar.gz as the SDKs make it: the files at the archive's root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def sdk_hyperparameters(submit: str, **user: Any) -> dict[str, str]:
    """What SDK 2.x sends for SKLearn(entry_point="train.py", hyperparameters=user): every value json.dumps'd."""
    values = {**user, "sagemaker_submit_directory": submit, "sagemaker_program": "train.py",
              "sagemaker_container_log_level": 20, "sagemaker_region": "us-east-1"}
    return {key: json.dumps(value) for key, value in values.items()}


def start_script_job(clients: dict[str, Any], name: str, files: dict[str, bytes], channels: dict[str, bytes],
                     image: str = SKLEARN, **user: Any) -> None:
    s3, sagemaker = clients["s3"], clients["sagemaker"]
    s3.put_object(Bucket=BUCKET, Key=f"{name}/source/sourcedir.tar.gz", Body=source_archive(files))
    for channel, body in channels.items():
        s3.put_object(Bucket=BUCKET, Key=f"{name}/{channel}/{channel}.csv", Body=body)
    sagemaker.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File", "MetricDefinitions": METRICS},
        HyperParameters=sdk_hyperparameters(f"s3://{BUCKET}/{name}/source/sourcedir.tar.gz", **user),
        InputDataConfig=[{"ChannelName": channel, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/{channel}/",
            "S3DataDistributionType": "FullyReplicated"}}} for channel in channels],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{name}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})


def boston_channels() -> tuple[dict[str, bytes], Any]:
    features, label = boston_frames()
    frame = label.to_frame().join(features)
    return {"train": csv_bytes(frame.iloc[:300]), "validation": csv_bytes(frame.iloc[300:420])}, features.iloc[420:]


def read_member(s3: Any, uri: str, member: str, destination: Path | None = None) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        extracted = tar.extractfile(member)
        assert extracted is not None
        data = extracted.read()
    if destination is not None:
        destination.mkdir(parents=True, exist_ok=True)
        (destination / member).write_bytes(data)
    return data


class Trained:
    def __init__(self, name: str, description: dict[str, Any], log: list[str], test_features: Any) -> None:
        self.name = name
        self.description = description
        self.log = log
        self.test_features = test_features


@pytest.fixture(scope="module")
def trained(rt_clients: dict[str, Any], sklearn_runtime: Runtime) -> Trained:
    channels, test_features = boston_channels()
    files = {"train.py": EXAMPLE.read_bytes() + USES_REQUIREMENT, "requirements.txt": f"{REQUIREMENT}\n".encode()}
    start_script_job(rt_clients, "sk-boston", files, channels, n_estimators=120, learning_rate=0.1, max_depth=3)
    description = wait_training(rt_clients["sagemaker"], "sk-boston", timeout=600)
    log = training_log(rt_clients, "sk-boston")
    assert description["TrainingJobStatus"] == "Completed", (description.get("FailureReason"), log[-40:])
    return Trained("sk-boston", description, log, test_features)


def test_a_users_script_trains_with_its_requirement_installed(trained: Trained, rt_clients: dict[str, Any],
                                                              sklearn_runtime: Runtime, tmp_path: Path) -> None:
    log = "\n".join(trained.log)
    # The toolkit ran the script as it documents: sorted arguments, decoded values, no sagemaker_* keys.
    assert re.search(r"\S+/python train\.py --learning_rate 0\.1 --max_depth 3 --n_estimators 120\n", log), log
    assert "Reporting training SUCCESS" in log
    # The requirement was installed before the script ran, and the script used it.
    assert "Installing dependencies from requirements.txt" in log
    assert re.search(r"^rows\s+300$", log, re.MULTILINE), log
    # The model the script saved, loaded and scored here with scikit-learn itself: the metric the job reports
    # from its log is what this model gives on the validation rows.
    model_uri = trained.description["ModelArtifacts"]["S3ModelArtifacts"]
    read_member(rt_clients["s3"], model_uri, "model.joblib", tmp_path)
    channels, _ = boston_channels()
    (tmp_path / "validation.csv").write_bytes(channels["validation"])
    score = run_in_runtime(sklearn_runtime, ["-c", (
        "import json, sys, joblib, numpy as np, pandas as pd\n"
        f"model = joblib.load({str(tmp_path / 'model.joblib')!r})\n"
        f"data = pd.read_csv({str(tmp_path / 'validation.csv')!r}, header=None)\n"
        "error = model.predict(data.iloc[:, 1:].to_numpy()) - data.iloc[:, 0].to_numpy()\n"
        "print(json.dumps({'rmse': float(np.sqrt(np.mean(error ** 2))), 'type': type(model).__name__,"
        " 'n': model.n_estimators}))\n")])
    assert score["type"] == "GradientBoostingRegressor" and score["n"] == 120
    metrics = {m["MetricName"]: m["Value"] for m in trained.description["FinalMetricDataList"]}
    assert metrics["validation:rmse"] == pytest.approx(score["rmse"], abs=1e-5)
    assert 0 < metrics["train:rmse"] < metrics["validation:rmse"]


def _transform(clients: dict[str, Any], trained: Trained, name: str, **job: Any) -> bytes:
    sagemaker, s3 = clients["sagemaker"], clients["s3"]
    submit = json.loads(trained.description["HyperParameters"]["sagemaker_submit_directory"])
    environment = {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": submit,
                   "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": "us-east-1"}
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": SKLEARN, "ModelDataUrl": trained.description["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": environment})
    s3.put_object(Bucket=BUCKET, Key=f"{name}/in/test.csv", Body=csv_bytes(trained.test_features))
    sagemaker.create_transform_job(
        TransformJobName=name, ModelName=name,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/in/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{name}/out/", **job.pop("output", {})},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}, **job)
    description = wait_transform(sagemaker, name, timeout=300)
    assert description["TransformJobStatus"] == "Completed", (description.get("FailureReason"),
                                                              transform_log(clients, name)[-30:])
    body: bytes = s3.get_object(Bucket=BUCKET, Key=f"{name}/out/test.csv.out")["Body"].read()
    return body


def predict_directly(runtime: Runtime, model: Path, features: Any, directory: Path) -> list[float]:
    """scikit-learn's own predictions of the saved model for `features`, in the runtime's interpreter."""
    (directory / "test.csv").write_bytes(csv_bytes(features))
    predictions: list[float] = run_in_runtime(runtime, ["-c", (
        "import json, joblib, pandas as pd\n"
        f"model = joblib.load({str(model)!r})\n"
        f"rows = pd.read_csv({str(directory / 'test.csv')!r}, header=None).to_numpy()\n"
        "print(json.dumps(model.predict(rows).tolist()))\n")])
    return predictions


def test_batch_transform_through_the_inference_script_predicts_as_the_model_in_process(
        trained: Trained, rt_clients: dict[str, Any], sklearn_runtime: Runtime, tmp_path: Path) -> None:
    # The container's default Accept is JSON: each mini-batch (here the whole object) is one JSON array.
    served = _transform(rt_clients, trained, "sk-transform-json")
    as_csv = _transform(rt_clients, trained, "sk-transform-csv", output={"Accept": "text/csv"})
    read_member(rt_clients["s3"], trained.description["ModelArtifacts"]["S3ModelArtifacts"], "model.joblib",
                tmp_path)
    direct = predict_directly(sklearn_runtime, tmp_path / "model.joblib", trained.test_features, tmp_path)
    assert len(direct) == len(trained.test_features) > 50
    assert json.loads(served) == direct  # exactly: the same floats
    assert [float(line) for line in as_csv.decode().split()] == direct


def test_an_endpoint_answers_as_the_batch_transform(trained: Trained, rt_clients: dict[str, Any]) -> None:
    sagemaker = rt_clients["sagemaker"]
    transformed = _transform(rt_clients, trained, "sk-endpoint-reference")
    sagemaker.create_endpoint_config(EndpointConfigName="sk-endpoint", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "sk-endpoint-reference", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}])
    sagemaker.create_endpoint(EndpointName="sk-endpoint", EndpointConfigName="sk-endpoint")
    try:
        deadline = time.monotonic() + 120
        while (status := sagemaker.describe_endpoint(EndpointName="sk-endpoint"))["EndpointStatus"] == "Creating":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert status["EndpointStatus"] == "InService", status.get("FailureReason")
        runtime = make_client("sagemaker-runtime", rt_clients["sagemaker"].meta.endpoint_url)
        answer = runtime.invoke_endpoint(EndpointName="sk-endpoint", ContentType="text/csv",
                                         Body=csv_bytes(trained.test_features))
        assert answer["ContentType"] == "application/json"
        assert answer["Body"].read() == transformed  # byte for byte
        as_csv = runtime.invoke_endpoint(EndpointName="sk-endpoint", ContentType="text/csv", Accept="text/csv",
                                         Body=csv_bytes(trained.test_features.iloc[:3]))
        assert as_csv["ContentType"].startswith("text/csv")
        assert [float(v) for v in as_csv["Body"].read().decode().split()] == json.loads(transformed)[:3]
        # An unsupported type fails in the container's default input_fn: a server error, as in the container.
        with pytest.raises(runtime.exceptions.ModelError) as error:
            runtime.invoke_endpoint(EndpointName="sk-endpoint", ContentType="text/plain", Body=b"1,2")
        assert error.value.response["OriginalStatusCode"] == 500
    finally:
        sagemaker.delete_endpoint(EndpointName="sk-endpoint")


FAILING = b'''import sys
print("loading the data")
print("alpha is", sys.argv[2])
raise ValueError("alpha must be below 1, got " + sys.argv[2])
'''


def test_a_script_that_raises_fails_the_job_with_the_toolkits_error(rt_clients: dict[str, Any],
                                                                    sklearn_runtime: Runtime) -> None:
    start_script_job(rt_clients, "sk-failing", {"train.py": FAILING}, {"train": b"1,2\n"}, alpha=2)
    description = wait_training(rt_clients["sagemaker"], "sk-failing", timeout=300)
    assert description["TrainingJobStatus"] == "Failed"
    # The toolkit's failure file, as SageMaker reports it: `AlgorithmError: ` and the file's text.
    assert re.fullmatch(r'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage ""\n'
                        r'Command "\S+/python train\.py --alpha 2"', description["FailureReason"]), \
        description["FailureReason"]
    log = "\n".join(training_log(rt_clients, "sk-failing"))
    # The script's last lines, its traceback included, are in the job's log.
    assert "loading the data\nalpha is 2\n" in log
    assert "ValueError: alpha must be below 1, got 2" in log
    assert "Reporting training FAILURE" in log


CONTRACT = b'''import json, os, sys
names = ["SM_MODEL_DIR", "SM_CHANNEL_TRAIN", "SM_CHANNELS", "SM_HPS", "SM_CURRENT_HOST", "SM_HOSTS", "SM_NUM_CPUS",
         "SM_OUTPUT_DATA_DIR", "SM_HP_CRITERION", "SM_USER_ARGS", "TRAINING_JOB_NAME", "PYTHONPATH", "VIRTUAL_ENV",
         "HARNESS_RUNTIMES_DIR", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL"]
seen = {"argv": sys.argv, "cwd": os.getcwd(), "files": sorted(os.listdir(".")),
        "env": {name: os.environ.get(name) for name in names},
        "train": sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))}
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "contract.json"), "w") as out:
    json.dump(seen, out)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as out:
    out.write("trained")
'''


def test_the_script_gets_the_toolkits_arguments_and_environment(rt_clients: dict[str, Any],
                                                                sklearn_runtime: Runtime) -> None:
    start_script_job(rt_clients, "sk-contract", {"train.py": CONTRACT}, {"train": b"1,2\n"},
                     criterion="gini", flag=True, a=1, lst=[1, 2], n=3)
    description = wait_training(rt_clients["sagemaker"], "sk-contract", timeout=300)
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    s3 = rt_clients["s3"]
    model_uri = description["ModelArtifacts"]["S3ModelArtifacts"]
    assert read_member(s3, model_uri, "model.txt") == b"trained"
    # SM_OUTPUT_DATA_DIR is packed beside the model as output.tar.gz.
    seen = json.loads(read_member(s3, model_uri.replace("model.tar.gz", "output.tar.gz"), "contract.json"))
    # The toolkit's mapping: keys sorted, one-letter keys as -k, booleans as Python writes them.
    assert seen["argv"] == ["train.py", "-a", "1", "--criterion", "gini", "--flag", "True", "--lst", "[1, 2]",
                            "-n", "3"]
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {"a": 1, "criterion": "gini", "flag": True, "lst": [1, 2], "n": 3}
    assert env["SM_HP_CRITERION"] == "gini"
    assert (env["SM_CURRENT_HOST"], json.loads(env["SM_HOSTS"]), json.loads(env["SM_CHANNELS"])) == (
        "algo-1", ["algo-1"], ["train"])
    assert int(env["SM_NUM_CPUS"]) == os.cpu_count()
    assert env["TRAINING_JOB_NAME"] == "sk-contract"
    assert seen["train"] == ["train.csv"]
    assert env["SM_CHANNEL_TRAIN"].endswith("/input/data/train") and env["SM_MODEL_DIR"].endswith("/model")
    # It runs in its code directory, inside the job's workspace, and sees neither the emulator's packages nor its
    # runner code: only the runtime and its own code.
    assert seen["cwd"].endswith("/code") and seen["files"] == ["train.py"]
    assert Path(seen["cwd"]).parent == Path(env["SM_MODEL_DIR"]).parent
    assert ".runner" not in env["PYTHONPATH"] and "/.venv/" not in env["PYTHONPATH"]
    # Nothing of the emulator's own environment but where to run: its AWS clients reach the emulator.
    assert env["VIRTUAL_ENV"] is None and env["HARNESS_RUNTIMES_DIR"] is None
    assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


SLEEPING = b'''import os, sys, time
with open(sys.argv[2], "w") as out:
    out.write(str(os.getpid()))
time.sleep(600)
'''


def test_stopping_the_job_kills_the_users_script(rt_clients: dict[str, Any], sklearn_runtime: Runtime,
                                                 tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    start_script_job(rt_clients, "sk-stop", {"train.py": SLEEPING}, {"train": b"1\n"}, pid_file=str(pid_file))
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the script did not start"
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    rt_clients["sagemaker"].stop_training_job(TrainingJobName="sk-stop")
    description = wait_training(rt_clients["sagemaker"], "sk-stop", timeout=60)
    assert description["TrainingJobStatus"] == "Stopped"
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, f"the user's script (pid {pid}) outlived its stopped job"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waits for its parent to collect it: it runs no more.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_model_without_model_fn_fails_the_transform_in_the_containers_words(
        trained: Trained, rt_clients: dict[str, Any]) -> None:
    sagemaker, s3 = rt_clients["sagemaker"], rt_clients["s3"]
    s3.put_object(Bucket=BUCKET, Key="sk-no-model-fn/sourcedir.tar.gz",
                  Body=source_archive({"train.py": b"print('no inference functions here')\n"}))
    sagemaker.create_model(ModelName="sk-no-model-fn", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": SKLEARN, "ModelDataUrl": trained.description["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_PROGRAM": "train.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/sk-no-model-fn/sourcedir.tar.gz"}})
    s3.put_object(Bucket=BUCKET, Key="sk-no-model-fn/in/x.csv", Body=b"1,2\n")
    sagemaker.create_transform_job(
        TransformJobName="sk-no-model-fn", ModelName="sk-no-model-fn",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/sk-no-model-fn/in/"}},
                        "ContentType": "text/csv"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/sk-no-model-fn/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    description = wait_transform(sagemaker, "sk-no-model-fn", timeout=120)
    assert description["TransformJobStatus"] == "Failed"
    assert "Please provide a model_fn implementation." in description["FailureReason"]


def test_without_its_runtime_a_framework_image_fails_saying_how_to_install_it(tmp_path: Path) -> None:
    config = EmulatorConfig(state_dir=tmp_path / "state", runtimes_dir=tmp_path / "no-runtimes",
                            persist_services=False)
    with Emulator(config) as emulator:
        clients = {name: make_client(name, emulator.endpoint_url) for name in ("sagemaker", "s3", "logs")}
        clients["s3"].create_bucket(Bucket=BUCKET)
        start_script_job(clients, "sk-no-runtime", {"train.py": b"print(1)\n"}, {"train": b"1\n"})
        description = wait_training(clients["sagemaker"], "sk-no-runtime", timeout=60)
    assert description["TrainingJobStatus"] == "Failed"
    assert description["FailureReason"] == (
        "ClientError: The sklearn 1.2-1 image runs the user's script in the emulator's sklearn-1.2-1 runtime, "
        "which is not installed. Install it with `harness runtimes install sklearn-1.2-1` (or the image URI).")


def write_workflow_split(directory: Path) -> None:
    """`harness run`'s split of the Boston data (seeded), written as it writes it: train/train.csv (label first)
    and test.csv (features only), no header."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from fixtures.datasets import load

    features, label = load("boston")
    x_train, x_test, y_train, _ = train_test_split(features, label, test_size=0.33, random_state=0)
    x_train, _, y_train, _ = train_test_split(x_train, y_train, test_size=0.33, random_state=0)
    (directory / "train").mkdir()
    pd.concat([y_train, x_train], axis=1).to_csv(directory / "train" / "train.csv", header=False, index=False)
    x_test.to_csv(directory / "test.csv", header=False, index=False)


def test_harness_run_with_a_script_predicts_as_the_script_trained_directly(
        sklearn_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from harness.cli import main

    monkeypatch.setenv("HARNESS_RUNTIMES_DIR", str(RUNTIMES_DIR))
    monkeypatch.chdir(tmp_path)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{REQUIREMENT}\n")
    result = CliRunner().invoke(main, ["run", "--script", str(EXAMPLE), "--requirements", str(requirements),
                                       "--hp", "n_estimators=60", "--hp", "max_depth=2", "--deploy", "--quiet"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ predictions = batch transform", result.output), result.output
    served = [float(line.split(",")[1]) for line in (tmp_path / "out" / "predictions.csv").read_text().split()[1:]]

    # The same split as the workflow's; the example's own training code run directly in scikit-learn 1.2.1, with
    # the same arguments.
    write_workflow_split(tmp_path)
    direct = run_in_runtime(sklearn_runtime, ["-c", (
        "import json, os, sys, pandas as pd\n"
        f"os.environ['SM_CHANNEL_TRAIN'] = {str(tmp_path / 'train')!r}\n"
        f"sys.path.insert(0, {str(EXAMPLE.parent)!r})\n"
        "import train\n"
        "from sklearn.ensemble import GradientBoostingRegressor\n"
        "features, label = train.read_channel('train')\n"
        "model = GradientBoostingRegressor(n_estimators=60, learning_rate=0.05, max_depth=2, random_state=0)\n"
        "model.fit(features, label)\n"
        f"rows = pd.read_csv({str(tmp_path / 'test.csv')!r}, header=None).to_numpy()\n"
        "print(json.dumps(model.predict(rows).tolist()))\n")])
    assert served == direct


def test_harness_run_in_xgboost_framework_mode_predicts_as_the_script_run_directly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from harness.cli import main

    runtime = installed_runtime("1.7-1", runs_scripts=True)
    monkeypatch.setenv("HARNESS_RUNTIMES_DIR", str(RUNTIMES_DIR))
    monkeypatch.chdir(tmp_path)
    example = EXAMPLE.parents[1] / "xgboost_boston" / "train.py"
    refused = CliRunner().invoke(main, ["run", "--script", str(example), "--framework", "xgboost"])
    assert refused.exit_code == 2 and "XGBoost framework mode needs an image version 0.90-1 or later" in refused.output
    refused = CliRunner().invoke(main, ["run", "--framework", "xgboost"])
    assert refused.exit_code == 2 and "--framework goes with --script" in refused.output
    result = CliRunner().invoke(main, ["run", "--script", str(example), "--framework", "xgboost", "--image-version",
                                       "1.7-1", "--hp", "num_round=20", "--quiet"])
    assert result.exit_code == 0, result.output
    served = [float(line.split(",")[1]) for line in (tmp_path / "out" / "predictions.csv").read_text().split()[1:]]

    # The example's own main() on the same split, run directly with XGBoost 1.7.4, then its model asked directly.
    write_workflow_split(tmp_path)
    (tmp_path / "model").mkdir()
    direct = run_in_runtime(runtime, ["-c", (
        "import json, os, sys, pandas as pd, xgboost as xgb\n"
        f"os.environ['SM_CHANNEL_TRAIN'] = {str(tmp_path / 'train')!r}\n"
        f"os.environ['SM_MODEL_DIR'] = {str(tmp_path / 'model')!r}\n"
        f"sys.path.insert(0, {str(example.parent)!r})\n"
        "sys.argv = ['train.py', '--num_round', '20']\n"
        "import train\n"
        "train.main()\n"
        f"booster = train.model_fn({str(tmp_path / 'model')!r})\n"
        f"rows = pd.read_csv({str(tmp_path / 'test.csv')!r}, header=None).to_numpy()\n"
        "print(json.dumps([float(v) for v in booster.predict(xgb.DMatrix(rows))]))\n")])
    assert len(served) == len(direct) > 100
    # XGBoost predicts float32; the container writes each as float32's shortest text: exactly the same values.
    import numpy as np

    assert np.array_equal(np.array(served, dtype=np.float32), np.array(direct, dtype=np.float32))


XGBOOST_SCRIPT = b'''import argparse, os
import pandas as pd
import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.json"))
    return booster


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int)
    parser.add_argument("--max_depth", type=int)
    args = parser.parse_args()
    data = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), header=None)
    train = xgb.DMatrix(data.iloc[:, 1:].to_numpy(), label=data.iloc[:, 0].to_numpy())
    booster = xgb.train({"max_depth": args.max_depth, "eta": 0.3, "objective": "reg:squarederror"}, train,
                        num_boost_round=args.num_round, evals=[(train, "train")])
    print("xgboost", xgb.__version__)
    booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"))
'''


def test_xgboost_framework_mode_trains_and_serves_the_script_on_the_images_release(
        rt_clients: dict[str, Any], tmp_path: Path) -> None:
    runtime = installed_runtime("1.7-1", runs_scripts=True)
    xgboost_image = image_uri("us-east-1", "xgboost", "1.7-1")
    channels, test_features = boston_channels()
    s3, sagemaker = rt_clients["s3"], rt_clients["sagemaker"]
    start_script_job(rt_clients, "xgb-script", {"train.py": XGBOOST_SCRIPT}, {"train": channels["train"]},
                     image=xgboost_image, num_round=25, max_depth=4)
    description = wait_training(sagemaker, "xgb-script", timeout=300)
    log = "\n".join(training_log(rt_clients, "xgb-script"))
    assert description["TrainingJobStatus"] == "Completed", (description.get("FailureReason"), log[-2000:])
    # The image's release ran the script (CloudWatch writes its tabs as #011, as SageMaker's log does).
    assert "xgboost 1.7.4" in log and "[24]#011train-rmse:" in log
    assert re.search(r"\S+/python train\.py --max_depth 4 --num_round 25\n", log)

    submit = json.loads(description["HyperParameters"]["sagemaker_submit_directory"])
    sagemaker.create_model(ModelName="xgb-script", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": xgboost_image, "ModelDataUrl": description["ModelArtifacts"]["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": submit}})
    s3.put_object(Bucket=BUCKET, Key="xgb-script/in/test.csv", Body=csv_bytes(test_features))
    sagemaker.create_transform_job(
        TransformJobName="xgb-script", ModelName="xgb-script",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{BUCKET}/xgb-script/in/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/xgb-script/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    transform = wait_transform(sagemaker, "xgb-script", timeout=120)
    assert transform["TransformJobStatus"] == "Completed", (transform.get("FailureReason"),
                                                            transform_log(rt_clients, "xgb-script")[-30:])
    served = json.loads(s3.get_object(Bucket=BUCKET, Key="xgb-script/out/test.csv.out")["Body"].read())
    # The XGBoost 1.7.4 of the image, called directly on the model the script saved.
    read_member(s3, description["ModelArtifacts"]["S3ModelArtifacts"], "model.json", tmp_path)
    (tmp_path / "test.csv").write_bytes(csv_bytes(test_features))
    direct = run_in_runtime(runtime, ["-c", (
        "import json, pandas as pd, xgboost as xgb\n"
        "booster = xgb.Booster()\n"
        f"booster.load_model({str(tmp_path / 'model.json')!r})\n"
        f"rows = pd.read_csv({str(tmp_path / 'test.csv')!r}, header=None).to_numpy()\n"
        "print(json.dumps(booster.predict(xgb.DMatrix(rows)).tolist()))\n")])
    assert len(served) == len(test_features) and served == direct


def test_the_framework_images_server_fetches_the_code_installs_its_requirements_and_predicts_as_the_model(
        trained: Trained, rt_clients: dict[str, Any], runtime_emulator: Emulator, sklearn_runtime: Runtime,
        tmp_path: Path) -> None:
    """`serve` of the SKLearn framework image (`frameworks/container.py`), run with the image's interpreter and
    packages (the runtime, plus gunicorn copied in as the image build does) outside Docker: it fetches the
    sourcedir.tar.gz that SAGEMAKER_SUBMIT_DIRECTORY names from S3, installs its requirements.txt, and answers
    with the script's model_fn what scikit-learn gives on that model in process."""
    site = tmp_path / "server-packages"
    for name in SERVER_DISTRIBUTIONS:
        copy_distribution(name, site)
    opt_ml = tmp_path / "opt_ml"
    read_member(rt_clients["s3"], trained.description["ModelArtifacts"]["S3ModelArtifacts"], "model.joblib",
                opt_ml / "model")
    port = free_port()
    source = json.loads(trained.description["HyperParameters"]["sagemaker_submit_directory"])
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{ROOT}{os.pathsep}{site}", "PYTHONNOUSERSITE": "1",
           "HARNESS_OPT_ML": str(opt_ml), "HARNESS_BIND_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port),
           "SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_PROGRAM": "train.py",
           "SAGEMAKER_SUBMIT_DIRECTORY": source,
           "S3_ENDPOINT_URL": runtime_emulator.endpoint_url, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(sklearn_runtime.python), "-m", "backends.emulator.frameworks.container",
                                   "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # pip installs the requirement from the package index first
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if requests.get(f"{url}/ping", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        answer = requests.post(f"{url}/invocations", data=csv_bytes(trained.test_features),
                               headers={"Content-Type": "text/csv", "Accept": "text/csv"}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"].startswith("text/csv")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    direct = predict_directly(sklearn_runtime, opt_ml / "model" / "model.joblib", trained.test_features, tmp_path)
    assert [float(line) for line in answer.text.split()] == direct
    text = log.read_text()
    # The script imports its requirement at module level: it was installed, then the module was imported.
    assert re.search(r"^rows\s+300$", text, re.MULTILINE), text[-3000:]
    assert (opt_ml / "code" / "requirements.txt").is_file()


def test_the_framework_images_server_refuses_to_start_without_its_code(sklearn_runtime: Runtime,
                                                                       tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HARNESS_OPT_ML": str(tmp_path),
           "SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": str(tmp_path / "nowhere")}
    result = subprocess.run([str(sklearn_runtime.python), "-m", "backends.emulator.frameworks.container", "serve"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "[ERROR] The model server did not start: the code at " + str(tmp_path / "nowhere") in result.stdout
    del env["SAGEMAKER_PROGRAM"]
    result = subprocess.run([str(sklearn_runtime.python), "-m", "backends.emulator.frameworks.container", "serve"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "SAGEMAKER_PROGRAM is not set" in result.stdout
