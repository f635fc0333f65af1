"""The transform job's process: what it reports when the model cannot be loaded."""

from __future__ import annotations

from pathlib import Path

from backends.emulator.executor.transform_entry import run_transform_job


def test_a_model_that_cannot_load_is_reported_at_the_containers_path(tmp_path: Path) -> None:
    for directory in ("model", "input", "output"):
        (tmp_path / directory).mkdir()
    (tmp_path / "model" / "xgboost-model").write_bytes(b"not a model")
    (tmp_path / "request.json").write_text('{"TransformInput": {"ContentType": "text/csv"}}')
    (tmp_path / "inputs.json").write_text("[]")
    assert run_transform_job(str(tmp_path), "1.7-1") == 1
    failure = (tmp_path / "failure").read_text()
    assert failure.startswith("Unable to load model: ") and "/opt/ml/model" in failure
    assert str(tmp_path) not in failure
