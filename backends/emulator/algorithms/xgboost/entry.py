"""What a training job process runs: train, and on failure write `output/failure` like the container.

sagemaker-containers (which every image runs as its `train` entry point) catches any exception and writes
`framework error: \\n<traceback>\\n<message>` to /opt/ml/output/failure; SageMaker shows its first 1024
characters after "AlgorithmError: " as FailureReason. The traceback reads as the container's (see tracebacks.py):
its module paths under the image's Python, never this emulator's files. On success nothing is written. A stop
(SIGTERM) is not a failure: the process ends with the container's exit code and no failure file.
"""

from __future__ import annotations

from pathlib import Path

from .log import ContainerLog
from .termination import TrainingTerminated
from .tracebacks import container_paths, container_traceback
from .training import train
from .versions import VERSIONS, ContainerVersion, get_version

FAILURE_PREFIX = "framework error: \n"


def run_training_job(
    opt_ml: Path | str, version: str | ContainerVersion, log: ContainerLog | None = None,
    cluster_file: Path | str | None = None,
) -> int:
    """Run a job in `opt_ml`; returns the process exit code (0 success, 1 failure, 143 stopped)."""
    opt_ml = Path(opt_ml)
    log = log if log is not None else ContainerLog(workspace=opt_ml)
    try:
        train(opt_ml, version, log, cluster_file)
    except TrainingTerminated as stop:
        return stop.exit_code
    except Exception as e:
        text = log.container_text(failure_text(e, _rules(version)))
        output = opt_ml / "output"
        output.mkdir(parents=True, exist_ok=True)
        (output / "failure").write_text(text)
        log.error("Reporting training FAILURE")
        log.error(text)
        return 1
    return 0


def run_training_host(opt_ml: str, version: str, cluster_file: str) -> int:
    """One host of a job of several (`resourceconfig.json` names it), with the emulator's cluster file."""
    return run_training_job(opt_ml, version, None, cluster_file)


def failure_text(error: BaseException, version: ContainerVersion) -> str:
    """sagemaker-containers' `"framework error: \n%s\n%s" % (traceback.format_exc(), str(e))`."""
    return FAILURE_PREFIX + container_traceback(error, version) + "\n" + container_paths(str(error), version)


def _rules(version: str | ContainerVersion) -> ContainerVersion:
    try:
        return get_version(version)
    except ValueError:  # an unknown version fails the job; its traceback is shown with the newest 1.x paths
        return VERSIONS["1.7-1"]
