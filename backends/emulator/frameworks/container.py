"""The entry point of the project's framework images (SKLearn): `python -m <this module> train|serve`; the XGBoost
images run the same in framework mode (a `sagemaker_program` hyperparameter, a `SAGEMAKER_PROGRAM` variable).

SageMaker (and SDK local mode) runs `docker run <image> train` for a training job and `docker run <image> serve`
for a model. In a framework image both run the user's code:

* `train`: the open-source `sagemaker-training` toolkit's own `train`, as in the framework containers: it reads
  `/opt/ml/input/config/*.json`, fetches `sagemaker_submit_directory` into `/opt/ml/code` (from S3 at
  `$S3_ENDPOINT_URL`, or the directory SDK local mode mounts there for local code), installs its
  `requirements.txt`, runs `sagemaker_program` with the hyperparameters as arguments, and writes
  `/opt/ml/output/failure` when the script fails. The same toolkit the emulator runs a job with.
* `serve`: the model server (`backends/emulator/model_server.py`) answering with the user's inference functions
  (`script_serving.ScriptPredictor`, the same code the emulator's transforms and endpoints run). The code is
  `$SAGEMAKER_SUBMIT_DIRECTORY` (a directory, e.g. local mode's /opt/ml/code, or an s3:// source archive) and
  the module `$SAGEMAKER_PROGRAM`; its `requirements.txt` is installed once, before the workers start.

Variables set in the image: `HARNESS_FRAMEWORK` (sklearn or xgboost: the inference defaults) and
`HARNESS_IMAGE_VERSION` (the runtime, e.g. sklearn-1.2-1 or 1.7-1). `HARNESS_OPT_ML` moves /opt/ml, for tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from .script_serving import ScriptPredictor

FRAMEWORK_VARIABLE = "HARNESS_FRAMEWORK"
VERSION_VARIABLE = "HARNESS_IMAGE_VERSION"
OPT_ML_VARIABLE = "HARNESS_OPT_ML"
PROGRAM_VARIABLE = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_VARIABLE = "SAGEMAKER_SUBMIT_DIRECTORY"
REQUIREMENTS = "requirements.txt"
USAGE = "usage: python -m backends.emulator.frameworks.container {train|serve}"


class ServingCodeError(Exception):
    """The model's code cannot be had or prepared: the server does not start."""


class PlainLog:
    """The server's own lines, in gunicorn's format, on stdout."""

    def info(self, message: str) -> None:
        self._emit("INFO", message)

    def error(self, message: str) -> None:
        self._emit("ERROR", message)

    @staticmethod
    def _emit(level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime())
        print(f"[{stamp}] [{os.getpid()}] [{level}] {message}", flush=True)


def opt_ml(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(OPT_ML_VARIABLE) or "/opt/ml")


def trains_script(environ: Mapping[str, str]) -> bool:
    """The XGBoost image's framework mode: the job's hyperparameters name a `sagemaker_program`."""
    path = opt_ml(environ) / "input" / "config" / "hyperparameters.json"
    try:
        return "sagemaker_program" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False  # the algorithm reads the file and reports what is wrong with it


def serves_script(environ: Mapping[str, str]) -> bool:
    """The XGBoost image's framework mode for serving: the model's Environment names a `SAGEMAKER_PROGRAM`."""
    return bool(environ.get(PROGRAM_VARIABLE))


def train() -> int:
    """The toolkit's `train` (it ends the process with the script's outcome)."""
    try:
        from sagemaker_training.cli.train import main as toolkit_train
    except ImportError:
        print("This image has no sagemaker-training toolkit: rebuild it with `harness images build --force "
              f"{os.environ.get(VERSION_VARIABLE, '<version>')}`.", flush=True)
        return 1
    toolkit_train()
    return 0


def serving_code(environ: Mapping[str, str], scratch: Path) -> tuple[str, str, str | None]:
    """(code directory, program, requirements directory or None) of the model's inference script."""
    program = environ.get(PROGRAM_VARIABLE)
    submitted = environ.get(SUBMIT_DIRECTORY_VARIABLE)
    if not program or not submitted:
        missing = PROGRAM_VARIABLE if not program else SUBMIT_DIRECTORY_VARIABLE
        raise ServingCodeError(f"{missing} is not set: a framework image serves the inference script that "
                               f"{PROGRAM_VARIABLE} names, from the code that {SUBMIT_DIRECTORY_VARIABLE} names "
                               "(the SDK sets both on the model)")
    if Path(submitted).is_dir():
        code = Path(submitted)
    else:
        from sagemaker_training.files import download_and_extract

        code = opt_ml(environ) / "code"
        try:
            download_and_extract(submitted, str(code))
        except Exception as error:
            raise ServingCodeError(f"the code at {submitted} could not be fetched: {error}") from None
    if not (code / program).is_file():
        raise ServingCodeError(f"{program} is not in the code from {submitted}")
    layer = None
    if (code / REQUIREMENTS).is_file():
        layer = str(scratch / "requirements")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-warn-script-location", "--target", layer, "-r", str(code / REQUIREMENTS)]
        if subprocess.run(command, stdin=subprocess.DEVNULL, check=False).returncode != 0:
            raise ServingCodeError(f"installing {code / REQUIREMENTS} failed (pip's output is above)")
    return str(code), program, layer


def serve(environ: Mapping[str, str]) -> int:
    from ..inference_app import InferenceApp

    log = PlainLog()
    with tempfile.TemporaryDirectory(prefix="harness-serving-") as scratch:
        try:
            code, program, layer = serving_code(environ, Path(scratch))
        except ServingCodeError as error:
            log.error(f"The model server did not start: {error}")
            return 2
        from ..model_server import serve as run_server  # gunicorn: in the image, not in every runtime

        predictor = ScriptPredictor(code, str(opt_ml(environ) / "model"), program, layer,
                                    environ.get(FRAMEWORK_VARIABLE) or "sklearn", environ.get(VERSION_VARIABLE))
        return run_server(InferenceApp(predictor), environ, log, _traceback)


def _traceback(error: Exception) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["train"]:
        return train()
    if arguments == ["serve"]:
        return serve(os.environ if environ is None else environ)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
