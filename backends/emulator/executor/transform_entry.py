"""What runs inside a transform job's process: the model server and the platform's record handling.

SageMaker splits each input object into records, packs them into mini-batches, sends each to the model
container's `/invocations` and assembles the answers. Here the batching of `transform.pipeline` calls the
algorithm's inference handler directly instead of over HTTP: in this process, or, when requests run side by
side, in forked model server workers (`model_workers`), as the container runs one per CPU: large MultiRecord
requests one at a time per worker, and the many small requests of SingleRecord in bundles (each request still
parsed, predicted and answered on its own).
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path
from typing import Any

from ..inference_app import Predictor
from ..transform.batching import payload_bytes
from ..transform.pipeline import TransformSettings
from ..transform.settings import BatchStrategy, SplitType
from .model_workers import ModelWorkers
from .transform_files import InvocationError, transform_inputs

__all__ = ["InvocationError", "run_transform_job", "transform_inputs"]

log = logging.getLogger("transform")

# The container's setting for its model server's worker processes (default: one per CPU).
WORKERS_VARIABLE = "SAGEMAKER_MODEL_SERVER_WORKERS"


def run_transform_job(workspace: str, version: str, script: str | None = None) -> int:
    """Transform every object listed in `inputs.json`; 0 if all succeeded. Never raises.

    `version` is the built-in image's version; `script`, for a framework image, the file of the user's inference
    script settings (code_dir, program, layer): its functions answer instead.
    """
    root = Path(workspace)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")
    try:
        request = json.loads((root / "request.json").read_text())
        relatives: list[str] = json.loads((root / "inputs.json").read_text())
        settings = TransformSettings.from_request(request)
        predictor = _predictor(root, version, script, request)
        model = predictor.load()
    except Exception as exc:
        _write_failure(root, f"Unable to load model: {exc}", exc, version, script is not None)
        return 1
    concurrency = request.get("MaxConcurrentTransforms") or os.cpu_count() or 1
    try:
        server_workers = _server_workers(request)
    except ValueError as exc:
        _write_failure(root, f"The model server did not start: {exc}", exc, version, script is not None)
        return 1

    def invoke(payload: bytes) -> bytes:
        try:
            result = predictor.predict(model, payload, settings.content_type, settings.accept)
        except Exception as exc:
            if script is None:
                raise
            # The framework container's server error: its traceback in the log, a 500 to the platform.
            traceback.print_exc()
            raise InvocationError(f"Model server answered 500: {type(exc).__name__}: {exc}") from None
        if result.status != 200:
            raise InvocationError(f"Model server answered {result.status}: "
                                  f"{result.body.decode('utf-8', errors='replace')[:500]}")
        return result.body

    workers = _worker_count(root, relatives, settings, min(concurrency, server_workers))
    if workers == 1:
        failures = transform_inputs(root, relatives, settings, invoke, concurrency)
    else:
        with ModelWorkers(invoke, workers) as pool:
            for pid in pool.pids:
                log.info("Booting model server worker with pid: %d", pid)
            many = pool.invoke_many if settings.batch_strategy is BatchStrategy.SINGLE_RECORD else None
            failures = transform_inputs(root, relatives, settings, pool.invoke, concurrency, invoke_many=many)
    return 1 if failures else 0


def _predictor(root: Path, version: str, script: str | None, request: dict[str, Any]) -> Predictor[Any]:
    if script is not None:
        from ..frameworks.script_serving import ScriptPredictor, read_settings

        # The model's and the job's Environment are the container's (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT ...).
        container = (request.get("ModelSnapshot") or [{}])[0]
        environment = {**(container.get("Environment") or {}), **(request.get("Environment") or {})}
        os.environ.update({str(k): str(v) for k, v in environment.items()})
        return ScriptPredictor.from_settings(read_settings(script), str(root / "model"))
    from ..algorithms.xgboost.wsgi import DEFAULT_MAX_CONTENT_LENGTH, XGBoostPredictor

    return XGBoostPredictor(root / "model", version, batch=True, max_content_length=DEFAULT_MAX_CONTENT_LENGTH)


def _server_workers(request: dict[str, Any]) -> int:
    """The container's worker count: SAGEMAKER_MODEL_SERVER_WORKERS from the model's or the job's Environment
    (the job's wins, as it is set last), else one per CPU."""
    container = (request.get("ModelSnapshot") or [{}])[0]
    environment = {**(container.get("Environment") or {}), **(request.get("Environment") or {})}
    value = environment.get(WORKERS_VARIABLE)
    if value is None:
        return os.cpu_count() or 1
    workers = int(value) if str(value).strip().isdigit() else 0
    if workers < 1:
        raise ValueError(f"{WORKERS_VARIABLE} must be a positive integer, got {value!r}")
    return workers


# SingleRecord forks workers for an object at least this large: below, its few records are answered sooner in
# this process than workers start (each fork costs milliseconds; a record, a fraction of one).
SINGLE_RECORD_WORKERS_BYTES = 64 * 1024


def _worker_count(root: Path, relatives: list[str], settings: TransformSettings, workers: int) -> int:
    """How many model server workers to fork: `workers` (the server's count, at most the requests in flight);
    just this process when requests cannot overlap or are few (an object that fits in one request, or a
    SingleRecord object of a few records), where forking would cost more than it saves."""
    if workers == 1 or settings.split_type is SplitType.NONE:
        return 1  # each object is one request, and objects are transformed one after another
    largest = max(((root / "input" / relative).stat().st_size for relative in relatives), default=0)
    if settings.batch_strategy is BatchStrategy.SINGLE_RECORD:
        return workers if largest >= SINGLE_RECORD_WORKERS_BYTES else 1
    limit = payload_bytes(settings.max_payload_in_mb)
    return workers if largest > limit else 1


def _write_failure(root: Path, message: str, error: BaseException, version: str, script: bool) -> None:
    if script:
        traceback.print_exception(type(error), error, error.__traceback__)
        (root / "failure").write_text(message)
        return
    from ..algorithms.xgboost.log import CONTAINER_ROOT
    from ..algorithms.xgboost.tracebacks import container_traceback
    from ..algorithms.xgboost.versions import VERSIONS, get_version

    # The traceback as the container's model server would log it (its module paths, never this emulator's);
    # the container's model directory is /opt/ml/model: name it so rather than this workspace.
    try:
        rules = get_version(version)
    except ValueError:
        rules = VERSIONS["1.7-1"]
    model_dir = str(root / "model")
    print(container_traceback(error, rules).replace(model_dir, f"{CONTAINER_ROOT}/model"), flush=True)
    (root / "failure").write_text(message.replace(model_dir, f"{CONTAINER_ROOT}/model"))
