"""The SDK test environments: one virtual environment per SageMaker SDK major, and one for the AWS CLI.

The two SDK majors cannot share an environment (both install the `sagemaker` package), and neither belongs in
the project's own venv (the 3.x SDK alone weighs about 1 GB). So the tests build them under `.venv-sdk/` in
the repository (or `$HARNESS_SDK_ENV_DIR`), the first time they are needed, and reuse them afterwards. Each
environment carries a stamp: the hash of its requirements and of the interpreter that built it. A missing or
different stamp means the environment is rebuilt from scratch, so changing a requirement here is enough to
refresh it; `rm -rf .venv-sdk` forces the latest releases.

None of them needs `xgboost`: SDK code only talks to the emulator over HTTP.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAMP = ".harness-stamp"
# Bumped when the way environments are built changes, so old ones are rebuilt.
BUILD_FORMAT = 1
PIP_TIMEOUT_SECONDS = 1500


@dataclass(frozen=True)
class EnvSpec:
    name: str
    requirements: tuple[str, ...]
    # Run in the new environment after installing: proves it works and says which versions it holds.
    probe: str


SPECS = {
    "sdk3": EnvSpec(
        "sdk3", ("sagemaker>=3,<4",),
        "import importlib.metadata as m; print('sagemaker', m.version('sagemaker'), 'boto3', m.version('boto3'))",
    ),
    "sdk2": EnvSpec(
        "sdk2", ("sagemaker>=2,<3",),
        "import importlib.metadata as m; print('sagemaker', m.version('sagemaker'), 'boto3', m.version('boto3'))",
    ),
    "awscli": EnvSpec(
        "awscli", ("awscli",),
        # awscli 1.44+ carries its own copy of botocore (awscli.botocore), so it is asked, not the metadata.
        "import awscli, awscli.botocore as b; print('awscli', awscli.__version__, 'botocore', b.__version__)",
    ),
}


class EnvBuildError(RuntimeError):
    """An environment could not be built; the message carries pip's output."""


@dataclass(frozen=True)
class SdkEnv:
    name: str
    path: Path
    versions: str  # what the probe printed
    built_seconds: float | None  # None when the cached environment was reused

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, command: str) -> Path:
        return self.path / "bin" / command


def cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_SDK_ENV_DIR") or REPO / ".venv-sdk")


def base_python() -> str:
    """The interpreter the environments are built with: python3.11 where present (the version the project is
    developed on), else the one running the tests."""
    return shutil.which("python3.11") or sys.executable


def stamp_for(spec: EnvSpec, python: str) -> str:
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
                             check=True).stdout.strip()
    document = {"format": BUILD_FORMAT, "requirements": list(spec.requirements), "python": version}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def ensure(spec: EnvSpec, report: Callable[[str], None] = print) -> SdkEnv:
    """The environment for `spec`, built if missing or stale. Raises EnvBuildError with pip's output."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    path = root / spec.name
    python = base_python()
    wanted = stamp_for(spec, python)
    with _locked(root / f"{spec.name}.lock"):
        stamp = path / STAMP
        if stamp.is_file() and stamp.read_text().strip() == wanted and (path / "bin" / "python").exists():
            return SdkEnv(spec.name, path, _probe(spec, path), None)
        started = time.monotonic()
        report(f"building SDK test environment {spec.name} ({' '.join(spec.requirements)}) in {path} ...")
        if path.exists():
            shutil.rmtree(path)
        _run([python, "-m", "venv", str(path)], f"creating the {spec.name} venv")
        _run([str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
              "--quiet", *spec.requirements], f"pip install {' '.join(spec.requirements)} into {spec.name}")
        versions = _probe(spec, path)
        # The stamp is written last: an interrupted build has none and is redone next time.
        stamp.write_text(wanted + "\n")
        seconds = time.monotonic() - started
        report(f"built {spec.name} in {seconds:.0f} s ({_size_mb(path)} MB): {versions}")
        return SdkEnv(spec.name, path, versions, seconds)


def ensure_all(names: tuple[str, ...], report: Callable[[str], None] = print
               ) -> dict[str, SdkEnv | EnvBuildError]:
    """Build (in parallel) whichever of `names` are missing; each result is the environment or its error."""
    def build(name: str) -> SdkEnv | EnvBuildError:
        try:
            return ensure(SPECS[name], report)
        except EnvBuildError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return dict(zip(names, pool.map(build, names), strict=True))


def _probe(spec: EnvSpec, path: Path) -> str:
    result = subprocess.run([str(path / "bin" / "python"), "-c", spec.probe], capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise EnvBuildError(f"the {spec.name} environment at {path} does not work:\n{result.stderr[-4000:]}")
    return result.stdout.strip()


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        # pip.conf on some machines names local indexes that do not exist; those warnings are not the problem.
        lines = [line for line in output.splitlines() if "is ignored: it is neither a file nor a directory" not in line]
        raise EnvBuildError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(lines[-80:]))


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """One builder per environment at a time, also across concurrent test runs."""
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _size_mb(path: Path) -> int:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total // 1_000_000


if __name__ == "__main__":
    # `python -m tests.sdk.envs` builds them all ahead of a test run.
    for name, outcome in ensure_all(tuple(SPECS)).items():
        print(name, outcome if isinstance(outcome, EnvBuildError) else f"{outcome.path}: {outcome.versions}")
