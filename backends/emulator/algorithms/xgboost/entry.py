"""What a training job process runs: train, and on failure write `output/failure` like the container.

sagemaker-containers (which every image runs as its `train` entry point) catches any exception and writes
`framework error: \\n<traceback>\\n<message>` to /opt/ml/output/failure; SageMaker shows its first 1024
characters after "AlgorithmError: " as FailureReason. On success nothing is written. A stop (SIGTERM) is not a
failure: the process ends with the container's exit code and no failure file.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from .errors import ToolkitError
from .log import ContainerLog
from .termination import TrainingTerminated
from .training import train
from .versions import ContainerVersion

FAILURE_PREFIX = "framework error: \n"


def run_training_job(
    opt_ml: Path | str, version: str | ContainerVersion, log: ContainerLog | None = None
) -> int:
    """Run a job in `opt_ml`; returns the process exit code (0 success, 1 failure, 143 stopped)."""
    opt_ml = Path(opt_ml)
    log = log if log is not None else ContainerLog(workspace=opt_ml)
    try:
        train(opt_ml, version, log)
    except TrainingTerminated as stop:
        return stop.exit_code
    except Exception as e:
        text = log.container_text(failure_text(e))
        output = opt_ml / "output"
        output.mkdir(parents=True, exist_ok=True)
        (output / "failure").write_text(text)
        log.error("Reporting training FAILURE")
        log.error(text)
        return 1
    return 0


def failure_text(error: BaseException) -> str:
    # The three-argument form: the one-argument one needs Python 3.10, and the 0.72 runtime is 3.9.
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    if isinstance(error, ToolkitError):
        # The traceback's frames are this emulator's; its last line names the class as the container does,
        # so that the message users match on (e.g. in FailureReason) reads the same.
        lines[-1] = f"{type(error).container_class_path}: {error}\n"
    return FAILURE_PREFIX + "".join(lines) + "\n" + str(error)
