"""`harness tune` against the real embedded emulator: the tuning job it creates, its live progress, the final table,
the objective plot, Ctrl-C, and its refusals (the `local` backend, invalid ranges, the service's own rules)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
from click.testing import CliRunner

from backends.emulator.server import Emulator, EmulatorConfig
from harness.cli import main
from harness.requests import TrainingConfig, TuningConfig, tuning_job_request
from harness.tune_cli import LOCAL_REFUSAL, hyperband_config
from tests.conftest import make_client

pytestmark = pytest.mark.timeout(300)
PROGRESS = re.compile(r"^\[\s*\d+\.\ds\] (\d+)/(\d+) done, (\d+) running")


@pytest.fixture(scope="module")
def tuning_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for this module (moto's S3): `harness tune --endpoint` runs on it and the tests read its jobs."""
    with Emulator(EmulatorConfig(state_dir=tmp_path_factory.mktemp("tune-state"), persist_services=False)) as emu:
        yield emu


@pytest.fixture(scope="module")
def tuning_sagemaker(tuning_emulator: Emulator) -> Any:
    return make_client("sagemaker", tuning_emulator.endpoint_url)


def _tune(emulator: Emulator, *arguments: str) -> Any:
    return CliRunner().invoke(main, ["tune", "--endpoint", emulator.endpoint_url, *arguments],
                              catch_exceptions=False)


def _children(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name)
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]


def _objective(child: dict[str, Any]) -> float:
    return float(child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def test_tune_shows_progress_every_child_the_best_and_plots_the_objective(
        tuning_emulator: Emulator, tuning_sagemaker: Any, unique: Callable[[str], str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[matplotlib.figure.Figure] = []
    savefig = matplotlib.figure.Figure.savefig

    def spy(figure: matplotlib.figure.Figure, *args: Any, **kwargs: Any) -> Any:
        saved.append(figure)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    name = unique("tune")
    result = _tune(tuning_emulator, "--strategy", "random", "--max-jobs", "4", "--max-parallel", "2", "--seed", "7",
                   "--name", name, "--output", str(tmp_path / "out"), "--hp", "num_round=30",
                   "--hp", "min_child_weight=2", "--range", "eta=0.05:0.5:logarithmic",
                   "--range", "booster=gbtree,dart")
    assert result.exit_code == 0, result.output

    # The request: the default ranges less the one --hp fixed, the two --range ones, the seed's static values.
    job = tuning_sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    config = job["HyperParameterTuningJobConfig"]
    assert (config["Strategy"], config["RandomSeed"]) == ("Random", 7)
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "validation:rmse"}
    ranges = {kind: [{key: value for key, value in member.items() if (key, value) != ("ScalingType", "Auto")}
                     for member in members] for kind, members in config["ParameterRanges"].items()}  # Auto: not given
    assert ranges["IntegerParameterRanges"] == [{"Name": "max_depth", "MinValue": "3", "MaxValue": "10"}]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1"}]
    assert ranges["CategoricalParameterRanges"] == [{"Name": "booster", "Values": ["gbtree", "dart"]}]
    static = job["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["num_round"] == "30" and static["min_child_weight"] == "2" and static["objective"] == "reg:linear"
    assert not {"max_depth", "eta", "subsample", "booster"} & set(static)

    # Every child is in the table, best objective first, with its status, tuned values and objective.
    children = _children(tuning_sagemaker, name)
    assert len(children) == 4 and all(child["TrainingJobStatus"] == "Completed" for child in children)
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines()
            if line.startswith("│") and name in line}
    assert set(rows) == {child["TrainingJobName"] for child in children}
    for child in children:
        cells = [cell.strip() for cell in rows[child["TrainingJobName"]].split("│")[1:-1]]
        tuned = child["TunedHyperParameters"]
        assert cells[2] == "Completed"
        assert cells[3] == tuned["max_depth"] and cells[6] == tuned["booster"]
        assert float(cells[4]) == pytest.approx(float(tuned["eta"]), rel=1e-3)
        assert float(cells[7]) == pytest.approx(_objective(child), rel=1e-5)
    order = sorted(children, key=_objective)
    printed = [line for line in result.stdout.splitlines() if line.startswith("│") and name in line]
    assert [line.split("│")[2].strip() for line in printed] == [child["TrainingJobName"] for child in order]

    # The best shown is Describe's BestTrainingJob, and the least objective of the listed children.
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == order[0]["TrainingJobName"]
    assert _objective(best) == min(_objective(child) for child in children)
    assert f"best: {best['TrainingJobName']} validation:rmse {_objective(best):g} " in result.stdout
    assert rows[best["TrainingJobName"]].rstrip().rstrip("│").strip().endswith("best")

    # Live progress: done counts only grow, to 4/4 and the best, with the final status.
    progress = [line for line in result.stderr.splitlines() if PROGRESS.match(line)]
    done = [int(PROGRESS.match(line).group(1)) for line in progress]  # type: ignore[union-attr]
    assert done == sorted(done) and done[-1] == 4 and len(progress) >= 3
    assert all(PROGRESS.match(line).group(2) == "4" for line in progress)  # type: ignore[union-attr]
    assert progress[-1].endswith(f"4/4 done, 0 running, best validation:rmse {_objective(best):g} "
                                 f"({best['TrainingJobName']}): Completed")

    # The plot: a PNG beside `harness run`'s, one point per child at (launch number, objective), a star on the best.
    plot = tmp_path / "out" / "tuning-objective.png"
    assert f"plot: {plot}" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(plot).shape
    assert width > 400 and height > 300
    assert len(saved) == 1
    collections = {collection.get_label(): collection for collection in saved[0].axes[0].collections}
    numbers = {child["TrainingJobName"]: int(child["TrainingJobName"].rsplit("-", 2)[1]) for child in children}
    points = sorted(map(tuple, np.asarray(collections["training jobs"].get_offsets()).tolist()))
    assert points == sorted((numbers[c["TrainingJobName"]], _objective(c)) for c in children)
    star = np.asarray(collections["best"].get_offsets()).tolist()
    assert star == [[numbers[best["TrainingJobName"]], _objective(best)]]
    assert not (tmp_path / "out" / "data").exists()  # the CSVs are removed once uploaded


def test_the_local_backend_refuses_in_one_line_without_docker(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HARNESS_", "DOCKER_"))}
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"  # any use of Docker would fail another way
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "harness", "tune", "--backend", "local", "--output",
                             str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == [f"error: backend local: {LOCAL_REFUSAL}"]
    assert "aws/sagemaker-python-sdk#1960" in LOCAL_REFUSAL
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(("arguments", "message"), [
    (["--range", "eta"], "'eta' is not NAME=MIN:MAX[:SCALING] or NAME=VALUE,VALUE,..."),
    (["--range", "etaa=0.1:0.2"], "XGBoost (image 1) has no hyperparameter 'etaa' (did you mean eta?)"),
    (["--range", "max_depth=3.5:10"], "max_depth is an integer: give integer bounds"),
    (["--range", "eta=0:2"], "eta: 2 is outside what XGBoost takes, [0, 1]"),
    (["--range", "eta=0.1:x"], "'eta=0.1:x': 'x' is not a number"),
    (["--range", "eta=0.1:0.3:log"], "the scaling type is one of Auto, Linear, Logarithmic, ReverseLogarithmic"),
    (["--range", "booster=1:3"], "booster is categorical"),
    (["--range", "booster=gbtree,forest"], "booster: forest is outside what XGBoost takes"),
    (["--range", "eta=0.1:0.2", "--hp", "eta=0.3"], "eta both tuned (--range) and fixed (--hp)"),
])
def test_invalid_ranges_are_refused_before_anything_is_created(tuning_emulator: Emulator, tuning_sagemaker: Any,
                                                              unique: Callable[[str], str], tmp_path: Path,
                                                              arguments: list[str], message: str) -> None:
    name = unique("bad")
    result = _tune(tuning_emulator, "--name", name, "--output", str(tmp_path), *arguments)
    assert result.exit_code == 2
    assert "Invalid value for '--range'" in result.stderr and message in " ".join(result.stderr.split())
    listed = tuning_sagemaker.list_hyper_parameter_tuning_jobs(NameContains=name)
    assert listed["HyperParameterTuningJobSummaries"] == []


def test_the_services_refusal_is_its_own_message_in_one_line(tuning_emulator: Emulator, unique: Callable[[str], str],
                                                             tmp_path: Path) -> None:
    result = _tune(tuning_emulator, "--name", unique("inverted"), "--output", str(tmp_path), "--quiet",
                   "--range", "eta=0.5:0.1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: ValidationException: The MinValue (0.5) of hyperparameter eta must "
                                          "be less than or equal to its MaxValue (0.1)."]


def test_ctrl_c_stops_the_tuning_job(tuning_emulator: Emulator, tuning_sagemaker: Any, unique: Callable[[str], str],
                                     tmp_path: Path) -> None:
    name = unique("ctrlc")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "HARNESS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "tune", "--endpoint", tuning_emulator.endpoint_url, "--name", name,
         "--strategy", "Random", "--max-jobs", "20", "--hp", "num_round=5000", "--hp", "early_stopping_rounds=5000",
         "--output", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # wait until two training jobs run
            seen.append(line)
            match = PROGRESS.match(line)
            if match and match.group(3) == "2":
                break
        else:
            raise AssertionError("".join(seen))
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert f"interrupted: stopping tuning job {name} (StopHyperParameterTuningJob)" in stderr
    assert stdout == ""  # no table for an interrupted job
    deadline = time.monotonic() + 60
    while (job := tuning_sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))[
            "HyperParameterTuningJobStatus"] != "Stopped":
        assert time.monotonic() < deadline, job["HyperParameterTuningJobStatus"]
        time.sleep(0.1)
    children = _children(tuning_sagemaker, name)
    assert 2 <= len(children) < 20
    assert all(child["TrainingJobStatus"] in ("Completed", "Stopped") for child in children)
    assert any(child["TrainingJobStatus"] == "Stopped" for child in children)


def test_hyperband_is_given_the_rounds_as_its_max_resource() -> None:
    """SageMaker infers Hyperband's MaxResource only from an epochs hyperparameter; XGBoost's is num_round."""
    static = {"num_round": "50", "objective": "reg:linear"}
    assert hyperband_config("Hyperband", static) == {"HyperbandStrategyConfig": {"MaxResource": 50}}
    assert hyperband_config("Bayesian", static) is None
    assert hyperband_config("Hyperband", {"objective": "reg:linear"}) is None  # num_round tuned: the service says
    training = TrainingConfig(job_name="unused", image="image", role="role", output_path="s3://b/o",
                              train_uri="s3://b/train.csv", validation_uri="s3://b/validation.csv",
                              hyperparameters=static)
    request = tuning_job_request(TuningConfig(
        job_name="hb", training=training, parameter_ranges={"IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "3", "MaxValue": "10"}], "CategoricalParameterRanges": []},
        strategy="Hyperband", strategy_config=hyperband_config("Hyperband", static)))
    config = request["HyperParameterTuningJobConfig"]
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {"MaxResource": 50}}
    assert set(config["ParameterRanges"]) == {"IntegerParameterRanges"}  # empty kinds are left out
    definition = request["TrainingJobDefinition"]
    assert "TrainingJobName" not in definition and definition["StaticHyperParameters"] == static
    assert [channel["ChannelName"] for channel in definition["InputDataConfig"]] == ["train", "validation"]
