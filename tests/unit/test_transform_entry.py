"""The transform job's process: what it reports when the model cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.emulator.executor.transform_entry import run_transform_job


def test_a_model_that_cannot_load_is_reported_at_the_containers_path(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for directory in ("model", "input", "output"):
        (tmp_path / directory).mkdir()
    (tmp_path / "model" / "xgboost-model").write_bytes(b"not a model")
    (tmp_path / "request.json").write_text('{"TransformInput": {"ContentType": "text/csv"}}')
    (tmp_path / "inputs.json").write_text("[]")
    assert run_transform_job(str(tmp_path), "1.7-1") == 1
    failure = (tmp_path / "failure").read_text()
    assert failure.startswith("Unable to load model: ") and "/opt/ml/model" in failure
    assert str(tmp_path) not in failure
    # The logged traceback is the container's serving code's, under the image's Python: no path of this machine.
    logged = capsys.readouterr().out
    assert "Traceback (most recent call last):" in logged
    assert '"/miniconda3/lib/python3.9/site-packages/sagemaker_xgboost_container/algorithm_mode/serve_utils.py"' \
        in logged
    assert str(tmp_path) not in logged and "backends/emulator" not in logged and "/work/" not in logged
