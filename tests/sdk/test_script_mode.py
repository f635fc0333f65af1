"""SDK 2.x script mode, unchanged, against a real `harness serve`: `SKLearn(entry_point=...)` trains the shipped
example script in the SKLearn image's runtime, its transformer predicts the test rows, and its deployed predictor
answers them. References: scikit-learn itself on the model the job saved (the transform's predictions), and the
transform (the endpoint's)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from backends.emulator.runtimes import Runtime
from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN
from tests.conftest import free_port, serve
from tests.runtimes.helpers import RUNTIMES_DIR, installed_runtime, run_in_runtime

from .conftest import BostonData, run_script, user_env, write_sdk_defaults
from .envs import SdkEnv

pytestmark = pytest.mark.timeout(1800)

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "sklearn_boston"


@pytest.fixture(scope="module")
def sklearn_runtime() -> Runtime:
    return installed_runtime("sklearn-1.2-1")


def test_sdk2_sklearn_fit_transform_and_deploy_run_unchanged(sdk2_env: SdkEnv, boston: BostonData,
                                                             sklearn_runtime: Runtime,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("sdk2-script")
    port = free_port()
    server = serve(work / "state", port, env={"HARNESS_RUNTIMES_DIR": str(RUNTIMES_DIR)})
    try:
        env = user_env(f"http://127.0.0.1:{port}", work / "home")
        write_sdk_defaults(env)
        run = run_script(sdk2_env.python, "script_mode_sdk2.py", [str(boston.directory), str(EXAMPLE_DIR),
                                                                  str(work / "out"), EXECUTION_ROLE_ARN], env,
                         fast_polling=True, timeout=900)
    finally:
        server.terminate()
        server.wait(30)
    summary = json.loads(run.output.strip().splitlines()[-1])
    assert summary["training_status"] == "Completed"
    assert summary["image"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert json.loads(summary["hyperparameters"]["sagemaker_program"]) == "train.py"
    # The SDK streamed the job's log: the toolkit's lines and the script's own.
    assert "Invoking script with the following command" in run.output
    assert "validation:rmse=" in run.output

    # The transform's predictions are scikit-learn's on the model the job saved.
    with tarfile.open(work / "out" / "model" / "model.tar.gz") as archive:
        archive.extract("model.joblib", work / "model")
    direct = run_in_runtime(sklearn_runtime, ["-c", (
        "import json, joblib, pandas as pd\n"
        f"model = joblib.load({str(work / 'model' / 'model.joblib')!r})\n"
        f"rows = pd.read_csv({str(boston.directory / 'test.csv')!r}, header=None).to_numpy()\n"
        "print(json.dumps(model.predict(rows).tolist()))\n")])
    transformed = [float(line) for line in (work / "out" / "test.csv.out").read_text().split()]
    assert len(transformed) == len(boston.y_test)
    assert transformed == direct
    # The endpoint, through the SDK's numpy serializer and deserializer, answers the same.
    assert summary["endpoint_predictions"] == transformed
