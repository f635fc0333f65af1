"""SDK 2.x script mode, unchanged, against a real `harness serve`: `SKLearn(entry_point=...)` trains the shipped
example script in the SKLearn image's runtime, its transformer predicts the test rows, and its deployed predictor
answers them; `XGBoost(entry_point=...)` does the same on the XGBoost image's release. References: the
framework itself (scikit-learn 1.2.1, XGBoost 1.7.4) on the model the job saved, for the transform's
predictions, and the transform, for the endpoint's."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.emulator.runtimes import Runtime
from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN
from tests.conftest import free_port, serve
from tests.runtimes.helpers import RUNTIMES_DIR, installed_runtime, run_in_runtime

from .conftest import BostonData, ScriptRun, run_script, user_env, write_sdk_defaults
from .envs import SdkEnv

pytestmark = pytest.mark.timeout(1800)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(sdk_env: SdkEnv, boston: BostonData, work: Path, script: str, source: Path,
         *leading: str) -> tuple[ScriptRun, Any]:
    """`script` (with `leading` arguments first) run as a user runs it, against its own `harness serve` whose
    runtimes are the tests'."""
    port = free_port()
    server = serve(work / "state", port, env={"HARNESS_RUNTIMES_DIR": str(RUNTIMES_DIR)})
    try:
        env = user_env(f"http://127.0.0.1:{port}", work / "home")
        write_sdk_defaults(env)
        arguments = [*leading, str(boston.directory), str(source), str(work / "out"), EXECUTION_ROLE_ARN]
        run = run_script(sdk_env.python, script, arguments, env, fast_polling=True, timeout=900)
    finally:
        server.terminate()
        server.wait(30)
    return run, json.loads(run.output.strip().splitlines()[-1])


def _direct(runtime: Runtime, work: Path, boston: BostonData, member: str, predict: str) -> list[float]:
    """The framework's own predictions of the test rows with the model the job saved (`predict` loads `path`
    into `model` and predicts `rows`)."""
    with tarfile.open(work / "out" / "model" / "model.tar.gz") as archive:
        archive.extract(member, work / "model")
    predictions: list[float] = run_in_runtime(runtime, ["-c", (
        "import json, pandas as pd\n"
        f"path = {str(work / 'model' / member)!r}\n"
        f"rows = pd.read_csv({str(boston.directory / 'test.csv')!r}, header=None).to_numpy()\n"
        f"{predict}\n"
        "print(json.dumps(predictions.tolist()))\n")])
    return predictions


def _transformed(work: Path) -> list[float]:
    return [float(line) for line in (work / "out" / "test.csv.out").read_text().split()]


def test_sdk2_sklearn_fit_transform_and_deploy_run_unchanged(sdk2_env: SdkEnv, boston: BostonData,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    runtime = installed_runtime("sklearn-1.2-1")
    work = tmp_path_factory.mktemp("sdk2-sklearn")
    run, summary = _run(sdk2_env, boston, work, "script_mode_sdk2.py", EXAMPLES / "sklearn_boston", "sklearn")
    assert summary["training_status"] == "Completed"
    assert summary["image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert json.loads(summary["hyperparameters"]["sagemaker_program"]) == "train.py"
    # The SDK streamed the job's log: the toolkit's lines and the script's own.
    assert "Invoking script with the following command" in run.output
    assert "validation:rmse=" in run.output
    direct = _direct(runtime, work, boston, "model.joblib",
                     "import joblib\npredictions = joblib.load(path).predict(rows)")
    transformed = _transformed(work)
    assert len(transformed) == len(boston.y_test)
    assert transformed == direct
    # The endpoint, through the SDK's numpy serializer and deserializer, answers the same.
    assert summary["endpoint_predictions"] == transformed


def test_sdk2_xgboost_framework_mode_fit_and_transform_run_unchanged(sdk2_env: SdkEnv, boston: BostonData,
                                                                     tmp_path_factory: pytest.TempPathFactory
                                                                     ) -> None:
    runtime = installed_runtime("1.7-1", runs_scripts=True)
    work = tmp_path_factory.mktemp("sdk2-xgboost-script")
    run, summary = _run(sdk2_env, boston, work, "script_mode_sdk2.py", EXAMPLES / "xgboost_boston", "xgboost")
    assert summary["training_status"] == "Completed"
    assert summary["image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert "[39]#011train-rmse:" in run.output and "validation-rmse:" in run.output
    direct = _direct(runtime, work, boston, "model.json", (
        "import xgboost as xgb\nbooster = xgb.Booster()\nbooster.load_model(path)\n"
        "predictions = booster.predict(xgb.DMatrix(rows))"))
    # XGBoost predicts float32; the container's CSV writer prints each as numpy prints a float32.
    lines = (work / "out" / "test.csv.out").read_text().split()
    assert len(lines) == len(boston.y_test)
    assert lines == [str(np.float32(value)) for value in direct]


def test_sdk3_model_trainer_with_source_code_runs_unchanged(sdk3_env: SdkEnv, boston: BostonData,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    runtime = installed_runtime("sklearn-1.2-1")
    work = tmp_path_factory.mktemp("sdk3-source-code")
    source = work / "src"
    source.mkdir()
    # The example script, plus a requirement it uses: SourceCode(requirements=...) installs it first.
    (source / "train.py").write_bytes((EXAMPLES / "sklearn_boston" / "train.py").read_bytes()
                                      + b"\nimport tabulate\nprint(tabulate.tabulate([['ok', 1]]))\n")
    (source / "requirements.txt").write_text("tabulate==0.9.0\n")
    run, summary = _run(sdk3_env, boston, work, "script_mode_sdk3.py", source)
    assert summary["training_status"] == "Completed"
    # ModelTrainer replaces the image's entry point with its own driver, shipped as the sm_drivers channel.
    assert summary["entrypoint"] == ["/bin/bash"]
    assert summary["channels"] == ["code", "sm_drivers", "train", "validation"]
    assert "validation:rmse=" in run.output
    assert re.search(r"^ok +1$", run.output, re.MULTILINE)  # the requirement's table: it was installed
    with tarfile.open(work / "out" / "model" / "model.tar.gz") as archive:
        archive.extract("model.joblib", work / "model")
    # The model is the script's: scikit-learn 1.2.1 loads it, with the arguments the driver passed.
    loaded = run_in_runtime(runtime, ["-c", (
        "import json, joblib\n"
        f"model = joblib.load({str(work / 'model' / 'model.joblib')!r})\n"
        "print(json.dumps([type(model).__name__, model.n_estimators, model.learning_rate]))\n")])
    assert loaded == ["GradientBoostingRegressor", 120, 0.1]
