"""Training jobs end to end on real XGBoost: logs, early stopping, model files, failures, SIGTERM."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from backends.emulator.algorithms.xgboost.boosting import BoostingSetup, run_boosting
from backends.emulator.algorithms.xgboost.entry import run_training_job
from backends.emulator.algorithms.xgboost.hyperparameters import validate_hyperparameters
from backends.emulator.algorithms.xgboost.log import ContainerLog
from backends.emulator.algorithms.xgboost.metrics import MetricPlan
from backends.emulator.algorithms.xgboost.params import xgboost_params
from backends.emulator.algorithms.xgboost.serving import load_model
from backends.emulator.algorithms.xgboost.training import train
from backends.emulator.algorithms.xgboost.versions import VERSIONS
from harness.requests import SEED_HYPERPARAMETERS

ROOT = Path(__file__).resolve().parents[2]
BOSTON = ROOT / "fixtures" / "data" / "boston_house_prices.csv"
SEED = SEED_HYPERPARAMETERS
METRIC_LINE = re.compile(r"^\[(\d+)\]\ttrain-rmse:\d+\.\d{5}\tvalidation-rmse:\d+\.\d{5}$")
INFO_LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2}:\d{2}:\d{2}:\d{2}:INFO\] ")


def boston_label_first() -> list[list[str]]:
    """The Boston CSV (a count line, a header, MEDV last) as label-first rows without header."""
    with open(BOSTON, newline="") as handle:
        rows = list(csv.reader(handle))[2:]
    return [[row[-1], *row[:-1]] for row in rows]


def reference_split() -> tuple[list[list[str]], list[list[str]]]:
    rows = boston_label_first()
    order = np.random.default_rng(7).permutation(len(rows))
    shuffled = [rows[i] for i in order]
    train_end = len(rows) * 2 // 3
    rest = shuffled[train_end:]
    return shuffled[:train_end], rest[: len(rest) * 2 // 3]


def write_rows(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(row) + "\n" for row in rows))


def channel_config(content_type: str = "csv", mode: str = "File") -> dict[str, str]:
    return {"ContentType": content_type, "TrainingInputMode": mode, "S3DistributionType": "FullyReplicated"}


def make_job(
    root: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, list[list[str]]] | None = None,
    content_type: str = "csv",
    hosts: tuple[str, ...] = ("algo-1",),
) -> Path:
    opt_ml = root / "opt_ml"
    # One thread: on a busy machine OpenMP's thread hand-offs make tiny data sets very slow, and the thread
    # count changes nothing these tests look at (the default of all cores is tested on its own).
    hyperparameters = {"nthread": "1", **hyperparameters}
    if channels is None:
        train_rows, validation_rows = reference_split()
        channels = {"train": train_rows, "validation": validation_rows}
    for name, rows in channels.items():
        directory = opt_ml / "input" / "data" / name
        directory.mkdir(parents=True, exist_ok=True)
        if rows:
            write_rows(directory / f"{name}.csv", rows)
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps({name: channel_config(content_type) for name in channels})
    )
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": hosts[0], "hosts": list(hosts)}))
    return opt_ml


def run(opt_ml: Path, version: str) -> str:
    stream = io.StringIO()
    train(opt_ml, version, ContainerLog(stream))
    return stream.getvalue()


def metric_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.match(r"^\[\d+\]\t", line)]


def uri_matrix(path: Path) -> xgb.DMatrix:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xgb.DMatrix(f"{path}?format=csv&label_column=0")


@pytest.fixture(scope="module")
def seed_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    opt_ml = make_job(tmp_path_factory.mktemp("seed"), {**SEED, "eval_metric": "rmse"})
    return opt_ml, run(opt_ml, "1.7-1")


def test_seed_job_stops_early_with_the_best_model(seed_job: tuple[Path, str]) -> None:
    opt_ml, log = seed_job
    lines = metric_lines(log)
    assert 10 < len(lines) < 200
    saved = load_model(opt_ml / "model", "1.7-1").booster
    best_rounds = saved.num_boosted_rounds()
    assert best_rounds == len(lines) - 10  # the best round, then ten without improvement

    # The same training in process with XGBoost's own early stopping keeps the same best model.
    dtrain = uri_matrix(opt_ml / "input" / "data" / "train" / "train.csv")
    dvalidation = uri_matrix(opt_ml / "input" / "data" / "validation" / "validation.csv")
    params = {
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4,
        "min_child_weight": 6,
        "subsample": 0.8,
        "objective": "reg:squarederror",
        "eval_metric": "rmse",
        "nthread": 1,
    }
    stopping = xgb.callback.EarlyStopping(
        rounds=10, metric_name="rmse", data_name="validation", save_best=True
    )
    best = xgb.train(
        params,
        dtrain,
        200,
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        callbacks=[stopping],
        verbose_eval=False,
    )
    assert best.num_boosted_rounds() == best_rounds
    np.testing.assert_array_equal(saved.predict(dvalidation), best.predict(dvalidation))


def test_seed_job_prints_one_metric_line_per_round(seed_job: tuple[Path, str]) -> None:
    _, log = seed_job
    lines = metric_lines(log)
    assert all(METRIC_LINE.match(line) for line in lines)
    assert [int(METRIC_LINE.match(line)[1]) for line in lines] == list(range(len(lines)))  # type: ignore[index]


def test_seed_job_logs_like_the_container(seed_job: tuple[Path, str]) -> None:
    _, log = seed_job
    info = [line for line in log.splitlines() if INFO_LINE.match(line)]
    messages = [INFO_LINE.sub("", line) for line in info]
    assert messages[0] == "Imported framework sagemaker_xgboost_container.training"
    assert "Failed to parse hyperparameter objective value reg:linear to Json." in messages
    assert messages.index("Running XGBoost Sagemaker in algorithm mode") < messages.index(
        "Single node training."
    )
    assert messages.count("Determined delimiter of CSV input is ','") == 4  # check, then load, per channel
    assert "Train matrix has 337 rows and 13 columns" in messages
    assert "Validation matrix has 112 rows" in messages
    assert re.search(
        r"^\[\d\d:\d\d:\d\d\] WARNING: reg:linear is now deprecated in favor of reg:squarederror\.$",
        log,
        re.MULTILINE,
    )
    assert log.index("Validation matrix") < log.index("[0]\ttrain-rmse")


def test_saved_model_equals_the_in_memory_best_model(seed_job: tuple[Path, str], tmp_path: Path) -> None:
    opt_ml, _ = seed_job
    dtrain = uri_matrix(opt_ml / "input" / "data" / "train" / "train.csv")
    dvalidation = uri_matrix(opt_ml / "input" / "data" / "validation" / "validation.csv")
    setup = BoostingSetup(
        params={
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4.0,
            "min_child_weight": 6.0,
            "subsample": 0.8,
            "objective": "reg:squarederror",
            "nthread": 1,
        },
        dtrain=dtrain,
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        num_round=200,
        plan=MetricPlan((), ("rmse",), "rmse"),
        early_stopping_rounds=10,
        version=VERSIONS["1.7-1"],
    )
    result = run_boosting(setup, ContainerLog(io.StringIO()))
    saved = load_model(opt_ml / "model", "1.7-1").booster
    assert result.booster.num_boosted_rounds() == result.best_iteration + 1 == saved.num_boosted_rounds()
    np.testing.assert_array_equal(result.booster.predict(dvalidation), saved.predict(dvalidation))


def test_without_eval_metric_early_stopping_is_silently_off_from_1_3_1(tmp_path: Path) -> None:
    log = run(make_job(tmp_path, SEED), "1.7-1")
    assert len(metric_lines(log)) == 200


def test_legacy_early_stopping_keeps_every_tree_and_predicts_with_the_best(tmp_path: Path) -> None:
    opt_ml = make_job(tmp_path, SEED)
    log = run(opt_ml, "1.2-2")
    rounds = len(metric_lines(log))
    assert rounds < 200
    raw = (opt_ml / "model" / "xgboost-model").read_bytes()
    assert raw[:2] == b"\x80\x04"  # pickle protocol 4
    model = load_model(opt_ml / "model", "1.2-2")
    assert model.pickled and model.booster.num_boosted_rounds() == rounds
    assert model.iteration_limit == rounds - 10
    assert vars(model.booster)["best_ntree_limit"] == rounds - 10
    features = uri_matrix(opt_ml / "input" / "data" / "validation" / "validation.csv")
    expected = model.booster.predict(features, iteration_range=(0, rounds - 10))
    payload = (opt_ml / "input" / "data" / "validation" / "validation.csv").read_text()
    body = "\n".join(line.split(",", 1)[1] for line in payload.splitlines()).encode()
    from backends.emulator.algorithms.xgboost.serving import predict

    answer = predict(model, body, "text/csv", None, batch=True)
    assert answer.body.decode() == "".join(f"{float(v)}\n" for v in expected)


def test_0_90_prints_values_with_percent_g(tmp_path: Path) -> None:
    log = run(make_job(tmp_path, {**SEED, "num_round": "5", "eta": "0.013"}), "0.90-1")
    for line in metric_lines(log):
        for entry in line.split("\t")[1:]:
            value = entry.split(":")[1]
            assert f"{float(value):g}" == value
    assert "Train matrix has 337 rows\n" in log  # 0.90 does not log the column count


def test_legacy_lines_repeat_names_and_callback_lines_merge_them(tmp_path: Path) -> None:
    legacy = metric_lines(
        run(make_job(tmp_path / "a", {**SEED, "num_round": "2", "eval_metric": "rmse,mse"}), "1.2-2")
    )
    assert [entry.split(":")[0] for entry in legacy[0].split("\t")[1:]] == [
        "train-rmse",
        "validation-rmse",
        "train-mse",
        "validation-mse",
    ]
    merged = metric_lines(
        run(make_job(tmp_path / "b", {**SEED, "num_round": "2", "eval_metric": "mse,rmse"}), "1.7-1")
    )
    assert [entry.split(":")[0] for entry in merged[0].split("\t")[1:]] == [
        "train-rmse",
        "train-mse",
        "validation-rmse",
        "validation-mse",
    ]


def test_container_metrics_are_computed_from_margins_on_1_7_1(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(120, 4))
    labels = (features[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    rows = [[str(label), *(str(float(x)) for x in row)] for label, row in zip(labels, features, strict=True)]
    opt_ml = make_job(
        tmp_path,
        {"num_round": "4", "objective": "binary:logistic", "eval_metric": "accuracy"},
        channels={"train": rows[:80], "validation": rows[80:]},
    )
    last = metric_lines(run(opt_ml, "1.7-1"))[-1]
    assert [entry.split(":")[0] for entry in last.split("\t")[1:]] == [
        "train-logloss",
        "train-accuracy",
        "validation-logloss",
        "validation-accuracy",
    ]
    booster = load_model(opt_ml / "model", "1.7-1").booster
    validation = uri_matrix(opt_ml / "input" / "data" / "validation" / "validation.csv")
    margins = booster.predict(validation, output_margin=True)
    accuracy = float(np.mean((margins > 0).astype(int) == validation.get_label()))
    assert last.endswith(f"validation-accuracy:{accuracy:.5f}")


@pytest.mark.parametrize(
    ("version", "prefix"),
    [
        ("1", b"\x80\x03"),
        ("0.90-2", b"\x80\x03"),
        ("1.0-1", b"\x80\x03"),
        ("1.2-1", b"\x80\x04"),
        ("1.3-1", b'{"learner"'),
        ("1.7-1", b'{"learner"'),
        ("3.0-5", b"{L"),
        ("3.2-0", b"{L"),
    ],
)
def test_model_file_format_per_version(tmp_path: Path, version: str, prefix: bytes) -> None:
    opt_ml = make_job(tmp_path, {**SEED, "num_round": "3"})
    run(opt_ml, version)
    assert sorted(p.name for p in (opt_ml / "model").iterdir()) == ["xgboost-model"]
    raw = (opt_ml / "model" / "xgboost-model").read_bytes()
    assert raw.startswith(prefix)
    model = load_model(opt_ml / "model", version)
    assert model.booster.num_boosted_rounds() == 3
    if prefix.startswith(b"\x80"):
        assert isinstance(pickle.loads(raw), xgb.Booster)


def test_training_is_deterministic(tmp_path: Path) -> None:
    hyperparameters = {**SEED, "num_round": "20", "colsample_bytree": "0.7"}
    first, second = make_job(tmp_path / "a", hyperparameters), make_job(tmp_path / "b", hyperparameters)
    run(first, "1.7-1")
    run(second, "1.7-1")
    assert (first / "model" / "xgboost-model").read_bytes() == (
        second / "model" / "xgboost-model"
    ).read_bytes()


def test_1_7_1_reads_nested_files_and_1_5_1_the_first_leaf_directory(tmp_path: Path) -> None:
    rows, _ = reference_split()
    for version, expected in (("1.7-1", 300), ("1.5-1", 200)):
        opt_ml = make_job(tmp_path / version, {"num_round": "2"}, channels={"train": []})
        data = opt_ml / "input" / "data" / "train"
        write_rows(data / "top.csv", rows[:100])
        write_rows(data / "part" / "a.csv", rows[100:300])
        assert f"Train matrix has {expected} rows" in run(opt_ml, version)


def test_csv_weights_and_libsvm_channels(tmp_path: Path) -> None:
    rows, _ = reference_split()
    weighted = [[row[0], "2", *row[1:]] for row in rows]
    log = run(
        make_job(tmp_path / "w", {"num_round": "2", "csv_weights": "1"}, channels={"train": weighted}),
        "1.7-1",
    )
    assert "Train matrix has 337 rows and 13 columns" in log
    libsvm = [[row[0], *(f"{i}:{value}" for i, value in enumerate(row[1:]))] for row in rows]
    opt_ml = make_job(tmp_path / "l", {"num_round": "2"}, channels={"train": []}, content_type="libsvm")
    (opt_ml / "input" / "data" / "train" / "train.libsvm").write_text(
        "".join(" ".join(r) + "\n" for r in libsvm)
    )
    assert "Train matrix has 337 rows and 13 columns" in run(opt_ml, "1.7-1")


def test_3_x_prints_its_debug_traces(tmp_path: Path) -> None:
    log = run(make_job(tmp_path, {**SEED, "num_round": "2"}), "3.0-5")
    assert "\nTRAIN_JOB_DEBUG: Received is_master=True\n" in log
    assert "CALLBACK_SKIPPING save_model_on_termination=false, is_master=True)" in log
    assert "FINAL_MODEL_SAVE: Saving final model as master" in log


def test_nthread_defaults_to_every_core() -> None:
    validated = validate_hyperparameters({"num_round": "2"}, "1.7-1")
    params = xgboost_params(
        validated, MetricPlan((), (), None), VERSIONS["1.7-1"], ContainerLog(io.StringIO())
    )
    assert params == {"nthread": os.cpu_count()}
    validated = validate_hyperparameters({"num_round": "2", "nthread": "3", "silent": "1"}, "1.0-1")
    params = xgboost_params(
        validated, MetricPlan((), (), None), VERSIONS["1.0-1"], ContainerLog(io.StringIO())
    )
    assert params == {"nthread": 3}  # silent is gone from XGBoost 3


def test_log_lines_are_flushed_as_written(tmp_path: Path) -> None:
    class Recorder(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Recorder.flushes += 1

    stream = Recorder()
    train(make_job(tmp_path, {**SEED, "num_round": "3"}), "1.7-1", ContainerLog(stream))
    assert Recorder.flushes >= len(stream.getvalue().splitlines()) - 2  # "Returning the value itself" lines


# -- failures -------------------------------------------------------------------------------------------


def fail(opt_ml: Path, version: str = "1.7-1") -> str:
    stream = io.StringIO()
    assert run_training_job(opt_ml, version, ContainerLog(stream)) == 1
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("framework error: \nTraceback (most recent call last):\n")
    assert "Reporting training FAILURE" in stream.getvalue()
    return failure


def rewrite_config(opt_ml: Path, name: str, change: Any) -> None:
    path = opt_ml / "input" / "config" / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def test_failure_file_has_the_container_format(tmp_path: Path) -> None:
    failure = fail(make_job(tmp_path, {"eta": "0.2"}))
    assert failure.endswith(
        "\nsagemaker_algorithm_toolkit.exceptions.UserError: Missing required hyperparameter: num_round\n"
        "\nMissing required hyperparameter: num_round"
    )


def test_success_writes_no_failure_or_success_file(tmp_path: Path) -> None:
    opt_ml = make_job(tmp_path, {"num_round": "2"})
    assert run_training_job(opt_ml, "1.7-1", ContainerLog(io.StringIO())) == 0
    assert not (opt_ml / "output").exists()


@pytest.mark.parametrize(
    ("hyperparameters", "ending"),
    [
        (
            {"num_round": "10.0"},
            re.escape("UserError: Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ),
        ({"num_round": "2", "silent": "0"}, "UserError: Extraneous hyperparameter found: silent"),
        ({"num_round": "2", "eval_metric": "rmse"}, "\nKeyError: 'objective'\n\n'objective'$"),
        # XGBoost 3.2 refuses gpu_hist; the image fails inside XGBoost too on a CPU instance.
        (
            {"num_round": "2", "tree_method": "gpu_hist"},
            "AlgorithmError: XGB train call failed with exception:\n Invalid Input: 'gpu_hist'",
        ),
        # Boston's labels are no probabilities: a user error (in XGBoost 3.2's words).
        (
            {"num_round": "2", "objective": "binary:logistic"},
            "UserError: .*base_score must be in \\(0,1\\) for the logistic loss",
        ),
        (
            {"num_round": "2", "_kfold": "3"},
            re.escape("UserError: Cross-validation (_kfold) is not supported"),
        ),
        (
            {"num_round": "2", "sagemaker_program": "train.py"},
            "UserError: Script mode .*not supported by this emulator",
        ),
    ],
)
def test_hyperparameter_and_training_failures(
    tmp_path: Path, hyperparameters: dict[str, str], ending: str
) -> None:
    failure = fail(make_job(tmp_path, hyperparameters))
    assert re.search(ending, failure)


def test_channel_failures(tmp_path: Path) -> None:
    opt_ml = make_job(tmp_path / "a", {"num_round": "2"})
    rewrite_config(opt_ml, "inputdataconfig.json", lambda c: {"validation": c["validation"]})
    assert fail(opt_ml).endswith("KeyError: 'SM_CHANNEL_TRAIN'\n\n'SM_CHANNEL_TRAIN'")

    opt_ml = make_job(tmp_path / "b", {"num_round": "2"})
    rewrite_config(opt_ml, "inputdataconfig.json", lambda c: {**c, "test": c["train"]})
    assert fail(opt_ml).endswith("\nExtraneous channel found: test")

    opt_ml = make_job(tmp_path / "c", {"num_round": "2"})
    rewrite_config(opt_ml, "inputdataconfig.json", lambda c: {**c, "train": channel_config("csv", "Pipe")})
    assert fail(opt_ml).endswith("\nPipe input mode is not supported by this emulator; use File mode.")

    opt_ml = make_job(tmp_path / "d", {"num_round": "2"}, content_type="application/x-parquet")
    assert "not supported by this emulator" in fail(opt_ml)

    opt_ml = make_job(tmp_path / "e", {"num_round": "2"}, hosts=("algo-1", "algo-2"))
    assert fail(opt_ml).endswith("\nDistributed training on 2 hosts is not supported by this emulator.")


def test_data_failures(tmp_path: Path) -> None:
    rows, _ = reference_split()
    opt_ml = make_job(tmp_path / "a", {"num_round": "2"}, channels={"train": []})
    assert fail(opt_ml).endswith(f"\nNo data in training channel path {opt_ml / 'input' / 'data' / 'train'}")

    opt_ml = make_job(tmp_path / "b", {"num_round": "2"}, channels={"train": rows, "validation": []})
    assert fail(opt_ml).endswith(
        f"\nNo data in validation channel path {opt_ml / 'input' / 'data' / 'validation'}"
    )

    opt_ml = make_job(tmp_path / "c", {"num_round": "2"}, channels={"train": rows})
    (opt_ml / "input" / "data" / "train" / ".hidden").write_text("x")
    assert fail(opt_ml).endswith("\nHidden file found in the data path! Remove that before training.")

    opt_ml = make_job(tmp_path / "d", {"num_round": "2"}, channels={"train": rows}, content_type="libsvm")
    assert (
        "of file 'train.csv' is not 'LIBSVM' format. Please ensure the file is in 'LIBSVM' format."
        in fail(opt_ml)
    )


# -- SIGTERM --------------------------------------------------------------------------------------------

_JOB_PROCESS = (
    "import sys\n"
    "from pathlib import Path\n"
    "from backends.emulator.algorithms.xgboost.entry import run_training_job\n"
    "sys.exit(run_training_job(Path(sys.argv[1]), sys.argv[2]))\n"
)


def stop_after_first_round(opt_ml: Path, version: str) -> int:
    process = subprocess.Popen(
        [sys.executable, "-c", _JOB_PROCESS, str(opt_ml), version],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("[2]\t"):
            break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=20)
    return process.returncode


def test_sigterm_stops_training_without_a_failure(tmp_path: Path) -> None:
    opt_ml = make_job(tmp_path, {**SEED, "num_round": "1000000", "early_stopping_rounds": "1000000"})
    assert stop_after_first_round(opt_ml, "1.2-2") == 128 + signal.SIGTERM
    assert not (opt_ml / "output" / "failure").exists()
    assert not (opt_ml / "model" / "xgboost-model").exists()


def test_sigterm_keeps_the_last_round_with_save_model_on_termination(tmp_path: Path) -> None:
    hyperparameters = {
        **SEED,
        "num_round": "1000000",
        "early_stopping_rounds": "1000000",
        "save_model_on_termination": "true",
    }
    opt_ml = make_job(tmp_path, hyperparameters)
    assert stop_after_first_round(opt_ml, "1.7-1") == 0
    assert sorted(p.name for p in (opt_ml / "model").iterdir()) == ["xgboost-model"]
    # The round printed last may or may not have been saved when the signal arrived.
    assert load_model(opt_ml / "model", "1.7-1").booster.num_boosted_rounds() >= 2
