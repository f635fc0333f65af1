"""The entry point of the project's XGBoost algorithm images: `python -m <this module> train|serve`.

SageMaker (and SDK local mode) runs `docker run <image> train` for a training job and `docker run <image> serve`
for a model; an image whose ENTRYPOINT is this module answers both:

* `train`: one training job on the /opt/ml layout (`entry.run_training_job`), its log on stdout in the
  container's format. Exit code 0 on success; on failure `output/failure` holds the container's text and the
  code is 1; a SIGTERM stops it with 143, as the container.
* in framework mode (a `sagemaker_program` hyperparameter, or `SAGEMAKER_PROGRAM` for `serve`), the user's
  script instead, as the SKLearn framework image runs it (`frameworks/container.py`);
* `serve`: the model server (`backends/emulator/model_server.py`): gunicorn serving `wsgi.InferenceApp` for
  `/opt/ml/model`.

Variables: `HARNESS_IMAGE_VERSION` is the image version whose container is emulated (default 1.7-1), set in the
image. `HARNESS_OPT_ML` moves /opt/ml and `HARNESS_MODEL_DIR` the model directory (default <opt_ml>/model), for
tests. `SAGEMAKER_BATCH` (set by batch transform) makes `/invocations` answer as for batch transform;
`MAX_CONTENT_LENGTH` is the largest request body in bytes (6 MiB; at most 20 MiB), as in the container. The
model server's own variables are described in `backends/emulator/model_server.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...frameworks import container as framework
from .entry import run_training_job
from .log import ContainerLog
from .tracebacks import container_traceback
from .versions import get_version
from .wsgi import DEFAULT_MAX_CONTENT_LENGTH, MIB, InferenceApp

VERSION_VARIABLE = "HARNESS_IMAGE_VERSION"
OPT_ML_VARIABLE = "HARNESS_OPT_ML"
MODEL_DIR_VARIABLE = "HARNESS_MODEL_DIR"
BATCH_VARIABLE = "SAGEMAKER_BATCH"
CONTENT_LENGTH_VARIABLE = "MAX_CONTENT_LENGTH"
LARGEST_CONTENT_LENGTH = 20 * MIB
DEFAULT_VERSION = "1.7-1"
OPT_ML = "/opt/ml"
USAGE = "usage: python -m backends.emulator.algorithms.xgboost.container {train|serve}"


def image_version(environ: Mapping[str, str]) -> str:
    return environ.get(VERSION_VARIABLE) or DEFAULT_VERSION


def opt_ml(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(OPT_ML_VARIABLE) or OPT_ML)


def model_dir(environ: Mapping[str, str]) -> Path:
    value = environ.get(MODEL_DIR_VARIABLE)
    return Path(value) if value else opt_ml(environ) / "model"


def batch_mode(environ: Mapping[str, str]) -> bool:
    # The container tests the variable's truth as a string: any non-empty value, "False" included.
    return bool(environ.get(BATCH_VARIABLE))


def max_content_length(environ: Mapping[str, str]) -> int:
    """The container's limit on request bodies: MAX_CONTENT_LENGTH bytes, capped at 20 MiB."""
    value = environ.get(CONTENT_LENGTH_VARIABLE)
    try:
        limit = int(value) if value else DEFAULT_MAX_CONTENT_LENGTH
    except ValueError:
        raise ValueError(f"{CONTENT_LENGTH_VARIABLE} must be an integer, got {value!r}") from None
    return min(limit, LARGEST_CONTENT_LENGTH)


def train(environ: Mapping[str, str]) -> int:
    root = opt_ml(environ)
    # Paths in the log read /opt/ml whatever the root is, as in the container.
    return run_training_job(root, image_version(environ), ContainerLog(sys.stdout, workspace=root))


def serve(environ: Mapping[str, str]) -> int:
    version = image_version(environ)
    try:
        get_version(version)
        limit = max_content_length(environ)
    except ValueError as e:
        print(f"The model server did not start: {e}", file=sys.stderr)
        return 2
    # gunicorn is needed by `serve` only.
    from ...model_server import serve as run_server

    app = InferenceApp(model_dir(environ), version, batch=batch_mode(environ), max_content_length=limit)
    return run_server(app, environ, ContainerLog(sys.stdout),
                      lambda error: container_traceback(error, get_version(version)))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    environment = os.environ if environ is None else environ
    # Framework mode, as the container decides it: the user's script trains (and serves) instead of the algorithm.
    if arguments == ["train"]:
        return framework.train() if framework.trains_script(environment) else train(environment)
    if arguments == ["serve"]:
        return framework.serve(environment) if framework.serves_script(environment) else serve(environment)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
