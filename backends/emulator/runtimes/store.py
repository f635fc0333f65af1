"""The runtimes directory: installing, finding, listing and removing runtimes.

Layout: `<root>/<image version>/venv/` (a virtual environment), `install.log` (pip's output) and
`runtime.json` (what was installed, when, how big). The manifest is written last, so a runtime without one
is an interrupted install: it is never used, and the next install starts it over. Installs of one version
are serialised by a lock file, so two processes (a test session and a CLI, say) cannot build it at once.

The root is `$HARNESS_RUNTIMES_DIR`, else `~/.cache/sagemaker-harness/runtimes`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from .catalog import CATALOG, RuntimeSpec, runtime_spec
from .interpreters import find_python
from .runner_env import runner_environment, runner_path

ENV_VAR = "HARNESS_RUNTIMES_DIR"
MANIFEST = "runtime.json"
INSTALL_LOG = "install.log"
_PIP_TIMEOUT_SECONDS = 1800  # a source build (XGBoost 0.72) takes minutes on two cores


def default_root() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "sagemaker-harness" / "runtimes"


class RuntimeInstallError(Exception):
    pass


class RuntimeState(Enum):
    INSTALLED = "installed"
    OUTDATED = "outdated"  # installed from other pins than the catalog's: reinstall to use it
    INCOMPLETE = "incomplete"  # an install that did not finish
    ABSENT = "not installed"


@dataclass(frozen=True)
class Runtime:
    spec: RuntimeSpec
    path: Path
    manifest: Mapping[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def python(self) -> Path:
        return self.path / "venv" / "bin" / "python"

    @property
    def xgboost_version(self) -> str:
        return str(self.manifest["xgboost"])

    @property
    def release(self) -> str:
        """The framework release installed (XGBoost's, or scikit-learn's)."""
        return str(self.manifest.get("release") or self.manifest["xgboost"])

    @property
    def runs_scripts(self) -> bool:
        """It holds the training toolkit that runs a user's script (runtimes installed before it was added do not)."""
        return (self.python.parent / "train").exists()

    @property
    def identity(self) -> str:
        """Changes when the runtime is reinstalled, so a process started from the old one is not reused."""
        return f"{self.path}@{self.manifest.get('installed_at')}"


@dataclass(frozen=True)
class RuntimeEntry:
    spec: RuntimeSpec
    state: RuntimeState
    path: Path
    manifest: Mapping[str, Any] | None


class RuntimeStore:
    def __init__(self, root: Path | None = None) -> None:
        # Absolute: the runtime's processes run in another working directory.
        self.root = (root if root is not None else default_root()).expanduser().absolute()

    def path(self, image_version: str) -> Path:
        return self.root / image_version

    def entry(self, image_version: str) -> RuntimeEntry:
        spec = runtime_spec(image_version)
        path = self.path(image_version)
        manifest = _read_manifest(path)
        if manifest is not None and (path / "venv" / "bin" / "python").exists():
            fresh = tuple(manifest.get("requirements", ())) == spec.requirements
            return RuntimeEntry(spec, RuntimeState.INSTALLED if fresh else RuntimeState.OUTDATED, path, manifest)
        state = RuntimeState.INCOMPLETE if path.exists() else RuntimeState.ABSENT
        return RuntimeEntry(spec, state, path, None)

    def entries(self) -> list[RuntimeEntry]:
        return [self.entry(version) for version in CATALOG]

    def find(self, image_version: str) -> Runtime | None:
        """The installed, up-to-date runtime of an image version, or None."""
        if image_version not in CATALOG:
            return None
        entry = self.entry(image_version)
        if entry.state is not RuntimeState.INSTALLED or entry.manifest is None:
            return None
        return Runtime(entry.spec, entry.path, entry.manifest)

    def install(self, image_version: str, progress: Callable[[str], None] | None = None,
                force: bool = False) -> Runtime:
        """Build the runtime (or return the installed one); raises RuntimeInstallError saying why not."""
        say = progress or (lambda _message: None)
        spec = runtime_spec(image_version)
        self.root.mkdir(parents=True, exist_ok=True)
        with locked(self.root / f".{image_version}.lock"):
            existing = self.find(image_version)
            if existing is not None and not force:
                say(f"{image_version}: already installed at {existing.path}")
                return existing
            try:
                python = find_python(spec.python)
            except Exception as exc:
                raise RuntimeInstallError(f"{image_version}: {exc}") from None
            path = self.path(image_version)
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            started = time.monotonic()
            try:
                manifest = self._build(spec, python, path, say)
            except BaseException:
                # Keep pip's log for the error message, drop the half-built environment.
                shutil.rmtree(path / "venv", ignore_errors=True)
                raise
            manifest["install_seconds"] = round(time.monotonic() - started, 1)
            _write_manifest(path, manifest)
            say(f"{image_version}: {spec.framework_name} {manifest['release']} on Python {manifest['python']}, "
                f"{manifest['size_bytes'] / 1e6:.0f} MB, {manifest['install_seconds']:.0f} s")
            return Runtime(spec, path, manifest)

    def remove(self, image_version: str) -> bool:
        runtime_spec(image_version)
        path = self.path(image_version)
        if not path.exists():
            return False
        with locked(self.root / f".{image_version}.lock"):
            # The manifest goes first: from then on the runtime counts as not installed.
            with contextlib.suppress(FileNotFoundError):
                (path / MANIFEST).unlink()
            shutil.rmtree(path, ignore_errors=True)
        return True

    def _build(self, spec: RuntimeSpec, python: Path, path: Path, say: Callable[[str], None]) -> dict[str, Any]:
        venv = path / "venv"
        log = path / INSTALL_LOG
        say(f"{spec.image_version}: creating a Python {spec.python} environment from {python}")
        _run([str(python), "-m", "venv", str(venv)], log, f"{spec.image_version}: creating the environment")
        venv_python = venv / "bin" / "python"
        say(f"{spec.image_version}: installing {' '.join(spec.requirements)}")
        _run([str(venv_python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
              "--progress-bar", "off", *spec.requirements], log, f"{spec.image_version}: pip install")
        if spec.extras:
            say(f"{spec.image_version}: installing {' '.join(spec.extras)} (for script mode)")
            _run([str(venv_python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                  "--progress-bar", "off", *spec.extras], log, f"{spec.image_version}: pip install (script mode)")
        say(f"{spec.image_version}: checking that the runner code imports there")
        report = self._check(venv_python, log, spec)
        if report["release"] != spec.pip_release:
            raise RuntimeInstallError(f"{spec.image_version}: the environment has {spec.framework_name} "
                                      f"{report['release']}, expected {spec.pip_release}")
        manifest = {"xgboost": report["release"]} if spec.framework == "xgboost" else {}
        return {
            **manifest,
            "image_version": spec.image_version,
            "framework": spec.framework,
            "release": report["release"],
            "python": report["python"],
            "interpreter": str(python),
            "requirements": list(spec.requirements),
            "extras": list(spec.extras),
            "packages": report["packages"],
            "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "size_bytes": _size(venv),
        }

    def _check(self, venv_python: Path, log: Path, spec: RuntimeSpec) -> dict[str, Any]:
        script = (
            "import importlib, json, platform, sys\n"
            "from importlib import metadata\n"
            f"for name in {list(spec.runner_modules)!r}: importlib.import_module(name)\n"
            f"import {spec.framework} as framework\n"
            "packages = {d.metadata['Name']: d.version for d in metadata.distributions()}\n"
            "print(json.dumps({'release': framework.__version__, 'python': platform.python_version(),"
            " 'packages': packages}))\n"
        )
        output = _run([str(venv_python), "-c", script], log, f"{spec.image_version}: importing the runner code",
                      env=runner_environment(self.root), cwd=runner_path(self.root))
        report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        return report


def _run(command: list[str], log: Path, what: str, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> str:
    with open(log, "a") as handle:
        handle.write(f"$ {' '.join(command)}\n")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_SECONDS,
                                env=dict(env) if env is not None else None, cwd=cwd, check=False,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RuntimeInstallError(f"{what} took more than {_PIP_TIMEOUT_SECONDS} s; see {log}") from None
    with open(log, "a") as handle:
        handle.write(result.stdout + result.stderr + "\n")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeInstallError(f"{what} failed (exit {result.returncode}); the end of {log}:\n{tail}")
    return result.stdout


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    temporary = path / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path / MANIFEST)


def _size(path: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive `flock` on the file `path` (created if missing), held by one process at a time."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
