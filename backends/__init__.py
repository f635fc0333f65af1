"""Where SageMaker jobs run: the embedded emulator, SDK local mode, or real SageMaker.

`create_backend(name)` is the one setting (`HARNESS_BACKEND` / `--backend`).
"""

from __future__ import annotations

import os
from typing import Any

from .base import Backend, BackendUnavailable

BACKENDS = ("emulator", "local", "sagemaker")
DEFAULT_BACKEND = "emulator"


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def create_backend(name: str | None = None, region: str | None = None, **options: Any) -> Backend:
    """The backend called `name` (default: $HARNESS_BACKEND, else `emulator`), not yet started."""
    name = (name or os.environ.get("HARNESS_BACKEND") or DEFAULT_BACKEND).lower()
    region = region or default_region()
    if name == "emulator":
        from .emulator.backend import EmulatorBackend

        return EmulatorBackend(region, endpoint=options.get("endpoint") or os.environ.get("HARNESS_ENDPOINT"),
                               state_dir=options.get("state_dir"))
    if name == "local":
        from .local import LocalBackend

        return LocalBackend(region, localstack_url=options.get("localstack_url"))
    if name == "sagemaker":
        from .sagemaker import SageMakerBackend

        return SageMakerBackend(region, role=options.get("role"), bucket=options.get("bucket"))
    raise BackendUnavailable(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendUnavailable", "create_backend", "default_region"]
