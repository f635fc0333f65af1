"""What runs inside a transform job's process: the model server and the platform's record handling.

SageMaker splits each input object into records, packs them into mini-batches, sends each to the model
container's `/invocations` and assembles the answers. Here both sides run in one process: the batching of
`transform.pipeline` calls the algorithm's inference handler directly instead of over HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path

from ..algorithms.xgboost import serving
from ..transform.pipeline import TransformSettings
from .transform_files import InvocationError, transform_inputs

__all__ = ["InvocationError", "run_transform_job", "transform_inputs"]

log = logging.getLogger("transform")


def run_transform_job(workspace: str, version: str) -> int:
    """Transform every object listed in `inputs.json`; 0 if all succeeded. Never raises."""
    root = Path(workspace)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
    try:
        request = json.loads((root / "request.json").read_text())
        relatives: list[str] = json.loads((root / "inputs.json").read_text())
        settings = TransformSettings.from_request(request)
        model = serving.load_model(root / "model", version)
    except Exception as exc:
        _write_failure(root, f"Unable to load model: {exc}", traceback.format_exc())
        return 1
    concurrency = request.get("MaxConcurrentTransforms") or os.cpu_count() or 1

    def invoke(payload: bytes) -> bytes:
        result = serving.predict(model, payload, settings.content_type, settings.accept, batch=True)
        if result.status != 200:
            raise InvocationError(f"Model server answered {result.status}: "
                                  f"{result.body.decode('utf-8', errors='replace')[:500]}")
        return result.body

    failures = transform_inputs(root, relatives, settings, invoke, concurrency)
    return 1 if failures else 0


def _write_failure(root: Path, message: str, trace: str) -> None:
    print(trace, flush=True)
    (root / "failure").write_text(message)
