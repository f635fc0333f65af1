"""What runs inside a transform job's process: the model server and the platform's record handling.

SageMaker splits each input object into records, packs them into mini-batches, sends each to the model
container's `/invocations` and assembles the answers. Here the batching of `transform.pipeline` calls the
algorithm's inference handler directly instead of over HTTP: in this process, or, when large requests run
side by side, in forked model server workers (`model_workers`), as the container runs one per CPU.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path

from ..algorithms.xgboost import serving
from ..transform.batching import payload_bytes
from ..transform.pipeline import TransformSettings
from ..transform.settings import BatchStrategy, SplitType
from .model_workers import ModelWorkers
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

    workers = _worker_count(root, relatives, settings, concurrency)
    if workers == 1:
        failures = transform_inputs(root, relatives, settings, invoke, concurrency)
    else:
        with ModelWorkers(invoke, workers) as pool:
            for pid in pool.pids:
                log.info("Booting model server worker with pid: %d", pid)
            failures = transform_inputs(root, relatives, settings, pool.invoke, concurrency)
    return 1 if failures else 0


def _worker_count(root: Path, relatives: list[str], settings: TransformSettings, concurrency: int) -> int:
    """How many model server workers to fork: one per CPU, as the container starts, but no more than requests
    in flight; and just this process when requests cannot overlap or are small (a single record, or an object
    that fits in one request), where a worker's pipe would cost more than it saves."""
    workers = min(concurrency, os.cpu_count() or 1)
    if workers == 1 or settings.batch_strategy is not BatchStrategy.MULTI_RECORD:
        return 1
    if settings.split_type is SplitType.NONE:
        return 1  # each object is one request, and objects are transformed one after another
    limit = payload_bytes(settings.max_payload_in_mb)
    largest = max(((root / "input" / relative).stat().st_size for relative in relatives), default=0)
    return workers if largest > limit else 1


def _write_failure(root: Path, message: str, trace: str) -> None:
    print(trace, flush=True)
    (root / "failure").write_text(message)
