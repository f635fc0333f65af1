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
from ..transform.errors import TransformError
from ..transform.pipeline import TransformSettings, transform_object
from .workspace import safe_join

log = logging.getLogger("transform")


class InvocationError(Exception):
    """The model answered an invocation with an error status, as the container's HTTP server would."""


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
    failures: dict[str, str] = {}

    def invoke(payload: bytes) -> bytes:
        result = serving.predict(model, payload, settings.content_type, settings.accept, batch=True)
        if result.status != 200:
            raise InvocationError(f"Model server answered {result.status}: "
                                  f"{result.body.decode('utf-8', errors='replace')[:500]}")
        return result.body

    for relative in relatives:
        source = safe_join(root / "input", relative)
        target = safe_join(root / "output", relative + ".out")
        try:
            output = transform_object(source.read_bytes(), settings, invoke, concurrency)
        except TransformError as exc:
            failures[relative] = str(exc)
            print(f"ERROR: {relative}: {exc}", flush=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(output)
        partial.rename(target)  # an output exists whole or not at all
        print(f"Transformed {relative}: {len(output)} bytes", flush=True)
    (root / "failures.json").write_text(json.dumps(failures))
    return 1 if failures else 0


def _write_failure(root: Path, message: str, trace: str) -> None:
    print(trace, flush=True)
    (root / "failure").write_text(message)
