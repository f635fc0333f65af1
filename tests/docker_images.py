"""The images the `docker`-marked tests build from this repository, with no container registry.

Each Dockerfile takes its base as `ARG BASE` (a pullable python slim image by default). Here the base is one of
the Debian images of `backends.images.base`, made with debootstrap when the engine lacks it: this machine's
release for the emulator and the test algorithm, trixie (Python 3.13) for LocalStack. Where no such base can be
made (not Debian, no debootstrap, not root) the Dockerfile's own default is used, which needs a registry.
"""

from __future__ import annotations

import functools
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCALSTACK_RELEASE = "trixie"  # localstack-core 2026.3 needs Python 3.12 or later; bookworm has 3.11
BUILD_TIMEOUT_SECONDS = 1800


@functools.cache
def base_image(release: str | None = None) -> str | None:
    """The Debian base of `release` (default: this machine's), made first if missing; None when it cannot be."""
    from backends.images import BaseImageError, ensure_base_image

    try:
        return ensure_base_image(lambda message: None, codename=release)
    except BaseImageError:
        return None


@functools.cache
def build_network() -> tuple[str, ...]:
    """`--network host` when a container on the default bridge cannot reach the package registry, else nothing."""
    base = base_image()
    if base is None:
        return ()
    probe = subprocess.run(["docker", "run", "--rm", base, "python3", "-m", "pip", "download", "--no-deps",
                            "--dest", "/tmp/probe", "six"], capture_output=True, timeout=300)
    return () if probe.returncode == 0 else ("--network", "host")


def build(tag: str, context: Path, base: str | None, dockerfile: Path | None = None) -> float:
    """`docker build` of `context` as `tag` on `base` (the Dockerfile's default when None); seconds it took."""
    command = ["docker", "build", *build_network(), "-t", tag]
    if base is not None:
        command += ["--build-arg", f"BASE={base}"]
    if dockerfile is not None:
        command += ["-f", str(dockerfile)]
    started = time.monotonic()
    result = subprocess.run([*command, str(context)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        pytest.fail(f"{' '.join(command)} failed:\n" + "\n".join(output[-30:]), pytrace=False)
    return time.monotonic() - started
