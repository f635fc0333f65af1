"""The images' entry point in a runtime's interpreter (the default run: `1`, Python 3.9 with XGBoost 0.72, and
1.7-1): `train` on an /opt/ml layout as SDK local mode writes it, then `serve` under gunicorn, answering what
`serving.predict` answers in the same interpreter."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from backends.emulator.runtimes import Runtime
from backends.emulator.runtimes.runner_env import runner_environment, runner_path
from tests.conftest import free_port
from tests.runtimes.helpers import run_in_runtime
from tests.xgb_container import (
    ENTRY_MODULE,
    csv_payload,
    libsvm_payload,
    regression_rows,
    start_server,
    write_local_mode_layout,
)

# The last gunicorn release that supports Python 3.9 (24.0 needs 3.10): what an image of a 3.9 runtime installs.
GUNICORN = "gunicorn==23.0.0"
FEATURES, _ = regression_rows(20, seed=9)
PAYLOADS = {"text/csv": csv_payload(FEATURES), "text/libsvm": libsvm_payload(FEATURES)}
# serving.predict in the runtime's interpreter, for each payload: the answers the server must give.
EXPECTED_SCRIPT = """
import json, sys
from backends.emulator.algorithms.xgboost import serving
request = json.loads(sys.argv[1])
model = serving.load_model(request["model_dir"], request["version"])
answers = {}
for content_type, payload in request["payloads"].items():
    result = serving.predict(model, payload.encode(), content_type, None, batch=request["batch"])
    answers[content_type] = [result.status, result.body.decode(), result.mimetype]
print(json.dumps({"answers": answers, "python": list(sys.version_info[:2])}))
"""


@pytest.fixture(scope="session")
def gunicorn_dir(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gunicorn installed for the runtime's Python, outside its venv (the runtime is never changed)."""
    target = tmp_path_factory.mktemp(f"gunicorn-{runtime.spec.image_version}")
    result = subprocess.run([str(runtime.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--target", str(target), GUNICORN], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, f"pip could not install {GUNICORN}: {result.stderr[-3000:]}"
    return target


@pytest.mark.default_runtimes("1", "1.7-1")  # Python 3.9 and XGBoost 0.72 as well as 3.11 and 1.7.4
def test_train_then_serve_in_the_runtime(runtime: Runtime, runtime_version: str, gunicorn_dir: Path,
                                         tmp_path: Path) -> None:
    opt_ml = tmp_path / "opt_ml"
    objective = "reg:linear" if runtime_version == "1" else "reg:squarederror"
    write_local_mode_layout(opt_ml, {"num_round": "8", "max_depth": "3", "objective": objective}, rows=120)
    env = {**runner_environment(runtime.root), "HARNESS_IMAGE_VERSION": runtime_version,
           "HARNESS_OPT_ML": str(opt_ml)}
    cwd = runner_path(runtime.root)

    trained = subprocess.run([str(runtime.python), "-m", ENTRY_MODULE, "train"], env=env, cwd=cwd,
                             capture_output=True, text=True, timeout=300, check=False)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "[7]\ttrain-rmse:" in trained.stdout
    assert (opt_ml / "model" / "xgboost-model").is_file()

    request = {"model_dir": str(opt_ml / "model"), "version": runtime_version, "batch": True,
               "payloads": {content_type: payload.decode() for content_type, payload in PAYLOADS.items()}}
    reference = run_in_runtime(runtime, ["-c", EXPECTED_SCRIPT, json.dumps(request)])
    if runtime_version == "1":
        assert reference["python"] == [3, 9]

    port = free_port()
    serve_env = {**env, "PYTHONPATH": f"{cwd}:{gunicorn_dir}", "HARNESS_BIND_HOST": "127.0.0.1",
                 "SAGEMAKER_BIND_TO_PORT": str(port), "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
                 "SAGEMAKER_BATCH": "True"}
    server = start_server([str(runtime.python), "-m", ENTRY_MODULE, "serve"], serve_env, port, cwd=cwd)
    try:
        status, body, _ = server.request("GET", "/execution-parameters")
        assert status == 200 and json.loads(body)["BatchStrategy"] == "MULTI_RECORD"
        for content_type, payload in PAYLOADS.items():
            status, body, _ = server.invoke(payload, content_type, "text/csv")
            expected_status, expected_body, _ = reference["answers"][content_type]
            assert (status, body.decode()) == (expected_status, expected_body) and status == 200
            assert len(body.splitlines()) == len(FEATURES)
        assert server.invoke(PAYLOADS["text/csv"], "image/png")[0] == 415
        assert server.request("GET", "/other")[0] == 404
    finally:
        out, err = server.stop()
    assert out.decode().count("Model loaded successfully for worker : ") == 2, out.decode() + err.decode()
    assert "Using worker: sync" in err.decode()
