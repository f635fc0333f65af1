"""Which interpreter a job runs in, and the one log line a job gets when it cannot run on its own release."""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path

from .catalog import CATALOG
from .store import Runtime, RuntimeStore


def runtime_for_job(image_version: str, root: Path | None = None) -> tuple[Runtime | None, str | None]:
    """The runtime to run a job of `image_version` in, or None and the note for the job's log."""
    runtime = RuntimeStore(root).find(image_version)
    if runtime is not None:
        return runtime, None
    return None, fallback_note(image_version)


def runtime_noting_fallback(image_version: str, log: Path, root: Path | None = None) -> Runtime | None:
    """The job's runtime; without one, the note goes to the job's log (before its process writes to it)."""
    runtime, note = runtime_for_job(image_version, root)
    if note is not None:
        with open(log, "a") as handle:
            handle.write(note + "\n")
    return runtime


def fallback_note(image_version: str) -> str | None:
    """None when the emulator's own XGBoost is the image's release (nothing to say)."""
    spec = CATALOG.get(image_version)
    installed = emulator_xgboost()
    if spec is None or spec.framework != "xgboost" or installed in (spec.release, spec.pip_release):
        return None
    return (
        f"NOTE (sagemaker-harness): no runtime for image version {image_version} is installed, so this job runs on "
        f"XGBoost {installed} instead of the image's XGBoost {spec.release}: its model and predictions may "
        f"differ from the real container's. Install the runtime with `harness runtimes install {image_version}`."
    )


@cache
def emulator_xgboost() -> str:
    """The XGBoost release installed with the emulator (read from package metadata: no import needed)."""
    for distribution in ("xgboost", "xgboost-cpu"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"
