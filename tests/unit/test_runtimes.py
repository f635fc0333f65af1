"""The runtimes machinery without installing anything: the catalog, the directory's states, the isolated
environment, the fallback note, and the library-differences helpers on the emulator's own XGBoost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from backends.emulator.algorithms.xgboost import library
from backends.emulator.runtimes import CATALOG, RuntimeState, RuntimeStore, fallback_note, runtime_for_job
from backends.emulator.runtimes.interpreters import InterpreterNotFound, find_python
from backends.emulator.runtimes.runner_env import runner_environment, runner_path
from backends.emulator.runtimes.store import MANIFEST, default_root


@pytest.mark.parametrize(
    ("version", "requirement", "python", "artifact"),
    [
        ("1", "xgboost==0.72.1", "3.9", "pickle"),
        ("0.90-1", "xgboost==0.90", "3.11", "pickle"),
        ("1.0-1", "xgboost==1.0.0", "3.11", "pickle"),
        ("1.2-2", "xgboost==1.2.0", "3.11", "pickle"),
        ("1.3-1", "xgboost==1.3.3", "3.11", "binary"),
        ("1.5-1", "xgboost==1.5.2", "3.11", "binary"),
        ("1.7-1", "xgboost==1.7.4", "3.11", "binary"),
        ("3.0-5", "xgboost-cpu==3.0.5", "3.11", "UBJSON"),
    ],
)
def test_each_image_version_pins_its_release(version: str, requirement: str, python: str, artifact: str) -> None:
    spec = CATALOG[version]
    assert spec.requirements[0] == requirement
    assert any(r.startswith("numpy==1.") for r in spec.requirements)  # numpy 2 breaks XGBoost < 2
    assert not any(r.startswith("pandas") for r in spec.requirements)
    assert (spec.python, spec.artifact_format) == (python, artifact)


def test_the_directory_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_RUNTIMES_DIR", str(tmp_path))
    assert default_root() == tmp_path
    monkeypatch.delenv("HARNESS_RUNTIMES_DIR")
    assert default_root() == Path.home() / ".cache" / "sagemaker-harness" / "runtimes"


def _fake_runtime(root: Path, version: str, requirements: tuple[str, ...] | None = None) -> None:
    venv_python = root / version / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    manifest = {"xgboost": CATALOG[version].pip_release, "installed_at": "now",
                "requirements": list(requirements or CATALOG[version].requirements), "size_bytes": 1}
    (root / version / MANIFEST).write_text(json.dumps(manifest))


def test_states_of_the_runtimes_directory(tmp_path: Path) -> None:
    store = RuntimeStore(tmp_path)
    assert {e.state for e in store.entries()} == {RuntimeState.ABSENT}
    _fake_runtime(tmp_path, "1.7-1")
    _fake_runtime(tmp_path, "1.5-1", requirements=("xgboost==1.5.0",))
    (tmp_path / "1.3-1" / "venv").mkdir(parents=True)  # an install that never wrote its manifest
    states = {e.spec.image_version: e.state for e in store.entries()}
    assert states["1.7-1"] is RuntimeState.INSTALLED
    assert states["1.5-1"] is RuntimeState.OUTDATED
    assert states["1.3-1"] is RuntimeState.INCOMPLETE
    assert store.find("1.7-1") is not None and store.find("1.5-1") is None and store.find("1.3-1") is None
    assert store.remove("1.7-1") and not (tmp_path / "1.7-1").exists() and not store.remove("1.7-1")


def test_a_job_without_its_runtime_gets_one_note(tmp_path: Path) -> None:
    runtime, note = runtime_for_job("1.7-1", tmp_path)
    assert runtime is None and note is not None
    assert "\n" not in note and "XGBoost 1.7.4" in note and "harness runtimes install 1.7-1" in note
    _fake_runtime(tmp_path, "1.7-1")
    runtime, note = runtime_for_job("1.7-1", tmp_path)
    assert runtime is not None and note is None
    # The emulator's own XGBoost is 3.2-0's release: nothing to say there.
    assert fallback_note("3.2-0") is None


def test_the_runner_environment_exposes_only_the_backends_package(tmp_path: Path) -> None:
    path = runner_path(tmp_path)
    assert [p.name for p in path.iterdir()] == ["backends"]
    assert (path / "backends").resolve() == Path(library.__file__).resolve().parents[3]
    env = runner_environment(tmp_path)
    assert env["PYTHONPATH"] == str(path) and env["PYTHONNOUSERSITE"] == "1" and "VIRTUAL_ENV" not in env
    base = Path(getattr(sys, "_base_executable", sys.executable))
    script = "import json, sys, backends; print(json.dumps([backends.__file__, sys.path]))"
    probe = subprocess.run([str(base), "-c", script], env=env, cwd=path, capture_output=True, text=True, check=True)
    backends_file, search_path = json.loads(probe.stdout)
    assert backends_file.startswith(str(path))
    # Nothing of the environment these tests run in (its site-packages, the repository) is on the path.
    assert not any(entry.startswith(sys.prefix) for entry in search_path if sys.prefix != sys.base_prefix)
    assert str(Path(library.__file__).resolve().parents[4]) not in search_path


def test_an_interpreter_of_a_missing_version_is_reported() -> None:
    assert find_python(f"{sys.version_info.major}.{sys.version_info.minor}").is_file()
    with pytest.raises(InterpreterNotFound, match=r"no Python 2\.1 interpreter"):
        find_python("2.1")


def test_library_release_matching() -> None:
    assert library.is_release(xgb.__version__)
    assert not library.is_release("1.7.4")
    assert library._parts("0.72.1")[:2] == library._parts("0.72")


def test_list_valued_eval_metric_becomes_pairs_as_xgb_train_does() -> None:
    pairs = library.parameter_pairs({"eta": 0.1, "eval_metric": ["rmse", "mae"], "max_depth": 3})
    assert pairs == [("eta", 0.1), ("max_depth", 3), ("eval_metric", "rmse"), ("eval_metric", "mae")]
    assert library.parameter_pairs({"eval_metric": "rmse"}) == {"eval_metric": "rmse"}


def test_library_predicts_with_a_limit_on_this_release() -> None:
    rng = np.random.default_rng(0)
    data = xgb.DMatrix(rng.normal(size=(50, 3)), label=rng.normal(size=50))
    booster = library.booster({"nthread": 1}, [data])
    for epoch in range(4):
        booster.update(data, epoch)
    limited = library.predict(booster, data, tree_limit=2, round_limit=2)
    np.testing.assert_array_equal(limited, booster.predict(data, iteration_range=(0, 2)))
    np.testing.assert_array_equal(library.predict(booster, data), booster.predict(data))
    assert library.num_features(booster) == 3 and library.num_parallel_tree(booster) == 1
    assert library.save_model_bytes(booster)[:1] == b"{"  # UBJSON on XGBoost >= 2.1
    assert os.path.basename(library.__file__) == "library.py"


def test_runtimes_are_named_by_image_uri_as_code_names_images(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from harness.cli import main

    # Image URIs as sagemaker.image_uris.retrieve("xgboost", region, version) gives them (the SDK's
    # image_uri_config/xgboost.json: 683313688378 in us-east-1, 246618743249 in us-west-2; xgboost:1 is legacy).
    uris = ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.5-1-cpu-py3",
            "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "1.7-1",
            # sagemaker.image_uris.retrieve("sklearn", region, "1.2-1"): same accounts (image_uri_config/sklearn.json).
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3", "sklearn-1.2-1"]
    result = CliRunner().invoke(main, ["runtimes", "remove", "--dir", str(tmp_path), *uris])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["1.7-1: not installed", "1.5-1: not installed", "1: not installed",
                                          "sklearn-1.2-1: not installed", "sklearn-1.4-2: not installed"]
    for refused in ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3",
                    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.20.0-cpu-py3",
                    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"):
        result = CliRunner().invoke(main, ["runtimes", "install", "--dir", str(tmp_path), refused])
        assert result.exit_code == 2
        assert f"{refused} is not an image the emulator has a runtime for" in " ".join(result.output.split())
    assert not any(tmp_path.iterdir())  # nothing was installed
