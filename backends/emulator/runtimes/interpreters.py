"""Finding a Python interpreter of a given minor version ("3.11") to build a runtime with.

Looked for, in order: the interpreter running this code (outside a virtual environment, or the one that
virtual environment was made from), `pythonX.Y` on PATH, then pyenv's installs (`$PYENV_ROOT/versions/X.Y.*`,
newest patch first). pyenv's shims are skipped: they resolve only where a pyenv version is selected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


class InterpreterNotFound(Exception):
    pass


def find_python(minor: str) -> Path:
    for candidate in _candidates(minor):
        if _reports_version(candidate, minor):
            return candidate
    raise InterpreterNotFound(
        f"no Python {minor} interpreter found (looked at python{minor} on PATH and in pyenv's versions); "
        f"install one, e.g. `pyenv install {minor}`"
    )


def _candidates(minor: str) -> list[Path]:
    found: list[Path] = []
    if f"{sys.version_info.major}.{sys.version_info.minor}" == minor:
        found.append(Path(getattr(sys, "_base_executable", sys.executable)))
    on_path = shutil.which(f"python{minor}")
    if on_path and "/shims/" not in on_path:
        found.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installs = sorted(
        (p for p in (pyenv_root / "versions").glob(f"{minor}.*") if p.name.replace(".", "").isdigit()),
        key=lambda p: tuple(int(part) for part in p.name.split(".")),
        reverse=True,
    )
    found.extend(p / "bin" / f"python{minor}" for p in installs)
    return [p for p in found if p.is_file() and os.access(p, os.X_OK)]


def _reports_version(python: Path, minor: str) -> bool:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == minor
