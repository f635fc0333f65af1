"""The XGBoost images' entry point: `container.py train|serve` settings, `train` end to end as SageMaker SDK local
mode lays out /opt/ml, and the WSGI application answered without a server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import xgboost as xgb

from backends.emulator.algorithms.xgboost import container
from backends.emulator.algorithms.xgboost.model_files import serialize
from backends.emulator.algorithms.xgboost.serving import load_model, predict
from backends.emulator.algorithms.xgboost.versions import VERSIONS
from backends.emulator.algorithms.xgboost.wsgi import InferenceApp, content_type_header, execution_parameters
from backends.emulator.model_server import ServerSettingError, server_options
from tests.xgb_container import ENTRY_MODULE, csv_payload, regression_rows, write_local_mode_layout

ROOT = Path(__file__).resolve().parents[2]
HYPERPARAMETERS = {"num_round": "5", "max_depth": "3", "eta": "0.3", "objective": "reg:squarederror"}


def run_entry(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", ENTRY_MODULE, *arguments], env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


# --- settings ---------------------------------------------------------------------------------------------------

def test_settings_default_to_the_images_layout() -> None:
    assert container.image_version({}) == "1.7-1"
    assert container.opt_ml({}) == Path("/opt/ml")
    assert container.model_dir({}) == Path("/opt/ml/model")
    assert container.model_dir({"HARNESS_OPT_ML": "/x"}) == Path("/x/model")
    assert container.model_dir({"HARNESS_OPT_ML": "/x", "HARNESS_MODEL_DIR": "/m"}) == Path("/m")
    assert container.image_version({"HARNESS_IMAGE_VERSION": "1"}) == "1"


@pytest.mark.parametrize(("value", "batch"), [(None, False), ("", False), ("True", True), ("true", True),
                                              ("False", True)])
def test_batch_mode_is_the_variables_truth_as_a_string(value: str | None, batch: bool) -> None:
    assert container.batch_mode({} if value is None else {"SAGEMAKER_BATCH": value}) is batch


def test_max_content_length_is_the_containers() -> None:
    assert container.max_content_length({}) == 6 * 1024**2
    assert container.max_content_length({"MAX_CONTENT_LENGTH": "1000"}) == 1000
    assert container.max_content_length({"MAX_CONTENT_LENGTH": str(50 * 1024**2)}) == 20 * 1024**2
    with pytest.raises(ValueError, match="MAX_CONTENT_LENGTH must be an integer, got '6MB'"):
        container.max_content_length({"MAX_CONTENT_LENGTH": "6MB"})


def test_server_options_defaults() -> None:
    options = server_options({})
    assert options["bind"] == "0.0.0.0:8080"
    assert options["workers"] == (os.cpu_count() or 1)
    assert options["timeout"] == 60
    assert (options["worker_class"], options["threads"]) == ("sync", 1)


def test_server_options_from_the_variables() -> None:
    options = server_options({"SAGEMAKER_BIND_TO_PORT": "9000", "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
                              "SAGEMAKER_MODEL_SERVER_TIMEOUT": "120", "HARNESS_BIND_HOST": "127.0.0.1"})
    assert (options["bind"], options["workers"], options["timeout"]) == ("127.0.0.1:9000", 3, 120)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_worker_counts_are_refused(value: str) -> None:
    with pytest.raises(ServerSettingError, match="SAGEMAKER_MODEL_SERVER_WORKERS must be a positive integer"):
        server_options({"SAGEMAKER_MODEL_SERVER_WORKERS": value})


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert container.main([], {}) == 2
    assert container.main(["predict"], {}) == 2
    assert "train|serve" in capsys.readouterr().err


def test_serve_refuses_an_unknown_version_and_a_bad_setting(tmp_path: Path) -> None:
    result = run_entry(["serve"], {"HARNESS_IMAGE_VERSION": "9.9-9", "HARNESS_MODEL_DIR": str(tmp_path)})
    assert result.returncode == 2 and "Unknown XGBoost container version '9.9-9'" in result.stderr
    result = run_entry(["serve"], {"SAGEMAKER_MODEL_SERVER_WORKERS": "0", "HARNESS_MODEL_DIR": str(tmp_path)})
    assert result.returncode == 2 and "SAGEMAKER_MODEL_SERVER_WORKERS must be a positive integer" in result.stderr


# --- train ------------------------------------------------------------------------------------------------------

def test_train_as_sdk_local_mode_lays_out_opt_ml(tmp_path: Path) -> None:
    opt_ml = tmp_path / "opt_ml"
    write_local_mode_layout(opt_ml, HYPERPARAMETERS)
    result = run_entry(["train"], {"HARNESS_OPT_ML": str(opt_ml), "HARNESS_IMAGE_VERSION": "1.7-1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (opt_ml / "output" / "failure").exists()
    # The container's log on stdout, with /opt/ml paths whatever the root is.
    assert ":INFO] Running XGBoost Sagemaker in algorithm mode\n" in result.stdout
    assert "[4]\ttrain-rmse:" in result.stdout
    assert "File path /opt/ml/input/data/train of input files" in result.stdout
    assert str(tmp_path) not in result.stdout
    model = load_model(opt_ml / "model", "1.7-1")
    assert model.path == opt_ml / "model" / "xgboost-model" and model.num_features == 4


def test_a_failed_train_writes_the_failure_file_and_exits_1(tmp_path: Path) -> None:
    opt_ml = tmp_path / "opt_ml"
    write_local_mode_layout(opt_ml, {**HYPERPARAMETERS, "eta": "2"})
    result = run_entry(["train"], {"HARNESS_OPT_ML": str(opt_ml)})
    assert result.returncode == 1
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("framework error: \n") and failure.endswith("Hyperparameter eta: 2.0 is not in [0, 1]")
    assert "Reporting training FAILURE" in result.stdout
    assert not (opt_ml / "model" / "xgboost-model").exists()


def test_train_in_process_takes_the_version_from_the_environment(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    opt_ml = tmp_path / "opt_ml"
    write_local_mode_layout(opt_ml, {**HYPERPARAMETERS, "objective": "reg:linear"}, rows=60)
    assert container.main(["train"], {"HARNESS_OPT_ML": str(opt_ml), "HARNESS_IMAGE_VERSION": "1"}) == 0
    assert load_model(opt_ml / "model", "1").pickled  # images <= 1.2-2 pickle the Booster
    assert "train-rmse" in capsys.readouterr().out


# --- the WSGI application ---------------------------------------------------------------------------------------

FEATURES, LABELS = regression_rows(40)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
                        xgb.DMatrix(FEATURES, label=LABELS), 4)
    (directory / "xgboost-model").write_bytes(serialize(booster, VERSIONS["1.7-1"]))
    return directory


def call(app: InferenceApp, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                               "CONTENT_LENGTH": str(len(body))}
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    chunks = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], chunks


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize(("content_type", "accept"), [("text/csv", None), ("text/csv", "application/json"),
                                                      ("text/csv", "text/plain"), ("foo/bar", None), (None, None)])
def test_invocations_answer_what_serving_predicts(model_dir: Path, batch: bool, content_type: str | None,
                                                  accept: str | None) -> None:
    app = InferenceApp(model_dir, "1.7-1", batch=batch)
    payload = csv_payload(FEATURES[:5])
    headers = {name: value for name, value in (("Content-Type", content_type), ("Accept", accept)) if value}
    status, response_headers, body = call(app, "POST", "/invocations", payload, headers)
    expected = predict(load_model(model_dir, "1.7-1"), payload, content_type, accept, batch=batch)
    assert (int(status.split()[0]), body) == (expected.status, expected.body)
    assert response_headers["Content-Type"] == content_type_header(expected.mimetype)
    assert response_headers["Content-Length"] == str(len(body))


def test_ping_execution_parameters_and_other_paths(model_dir: Path) -> None:
    app = InferenceApp(model_dir, "1.7-1", batch=False)
    assert call(app, "GET", "/ping")[::2] == ("200 OK", b"")
    status, headers, body = call(app, "GET", "/execution-parameters")
    assert (status, headers["Content-Type"]) == ("200 OK", "application/json")
    assert json.loads(body) == {"MaxConcurrentTransforms": os.cpu_count(), "BatchStrategy": "MULTI_RECORD",
                                "MaxPayloadInMB": 6} == execution_parameters()
    assert call(app, "GET", "/nothing")[0] == "404 NOT FOUND"
    assert call(app, "POST", "/ping")[0] == "405 METHOD NOT ALLOWED"
    status, headers, _ = call(app, "GET", "/invocations")
    assert (status, headers["Allow"]) == ("405 METHOD NOT ALLOWED", "OPTIONS, POST")
    assert call(app, "POST", "/invocations", b"")[0] == "204 NO CONTENT"


def test_an_unloadable_model_fails_ping_and_invocations(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    app = InferenceApp(tmp_path, "1.7-1", batch=False)
    assert call(app, "GET", "/ping")[0] == "500 INTERNAL SERVER ERROR"
    status, _, body = call(app, "POST", "/invocations", b"1,2,3,4", {"Content-Type": "text/csv"})
    assert status == "500 INTERNAL SERVER ERROR" and body.startswith(b"Unable to load model: Model ")


def test_the_model_is_loaded_once(model_dir: Path) -> None:
    app = InferenceApp(model_dir, "1.7-1", batch=False)
    assert app.load() is app.load()


@pytest.mark.parametrize(("mimetype", "header"), [
    ("text/csv", "text/csv; charset=utf-8"),
    ("text/html; charset=utf-8", "text/html; charset=utf-8"),
    ("application/json", "application/json"),
    ("application/jsonlines", "application/jsonlines"),
    ("application/xml", "application/xml; charset=utf-8"),
])
def test_content_type_headers_are_flasks(mimetype: str, header: str) -> None:
    assert content_type_header(mimetype) == header


def test_an_absent_body_length_reads_a_terminated_stream(model_dir: Path) -> None:
    app = InferenceApp(model_dir, "1.7-1", batch=True)
    payload = csv_payload(FEATURES[:2])
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/invocations", "CONTENT_TYPE": "text/csv",
                               "wsgi.input": io.BytesIO(payload), "wsgi.input_terminated": True}
    body = b"".join(app(environ, lambda status, headers: None))
    assert body == predict(load_model(model_dir, "1.7-1"), payload, "text/csv", None, batch=True).body


def test_bodies_over_the_content_length_limit_are_413(model_dir: Path) -> None:
    app = InferenceApp(model_dir, "1.7-1", batch=True, max_content_length=100)
    payload = csv_payload(FEATURES[:10])
    assert len(payload) > 100
    status, _, body = call(app, "POST", "/invocations", payload, {"Content-Type": "text/csv"})
    assert status == "413 REQUEST ENTITY TOO LARGE" and b"exceeds the capacity limit" in body
    chunked: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/invocations", "CONTENT_TYPE": "text/csv",
                               "wsgi.input": io.BytesIO(payload), "wsgi.input_terminated": True}
    assert b"capacity limit" in b"".join(app(chunked, lambda status, headers: None))
    one_row = csv_payload(FEATURES[:1])
    assert len(one_row) <= 100
    assert call(app, "POST", "/invocations", one_row, {"Content-Type": "text/csv"})[0] == "200 OK"
    assert json.loads(call(app, "GET", "/execution-parameters")[2])["MaxPayloadInMB"] == 0
    big = InferenceApp(model_dir, "1.7-1", batch=True, max_content_length=20 * 1024**2)
    assert json.loads(call(big, "GET", "/execution-parameters")[2])["MaxPayloadInMB"] == 20
