"""The environment a runtime's interpreter runs the project's runner code in.

A runtime must see its own site-packages and the `backends` package, and nothing of the environment the
emulator runs in: not its site-packages (XGBoost 3.2, numpy 2, pandas), not the user's site, not whatever
else shares a directory with `backends` (in a non-editable install that is the main site-packages). So
`PYTHONPATH` names a directory that holds only a symlink to the `backends` package; it lives under the
runtimes directory, one per checkout of the package. That directory is also the processes' working
directory, since Python puts the working directory first on `sys.path` for `-m` and `-c`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

# The package whose code runs inside runtimes: two levels above this file.
_PACKAGE_DIR = Path(__file__).resolve().parents[2]
PACKAGE_NAME = _PACKAGE_DIR.name  # "backends"

# Variables that would point a child interpreter back at the emulator's environment.
_INHERITED_PATHS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


def runner_path(root: Path) -> Path:
    """A directory whose only entry is a `backends` symlink to this checkout's package."""
    digest = hashlib.sha1(str(_PACKAGE_DIR).encode()).hexdigest()[:12]
    directory = root / ".runner" / digest
    _link(directory, PACKAGE_NAME, _PACKAGE_DIR)
    return directory


def _link(directory: Path, name: str, target: Path) -> None:
    """`directory/name` -> `target`, unless it is already that link."""
    link = directory / name
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    directory.mkdir(parents=True, exist_ok=True)
    # Made under another name and renamed, so a concurrent reader never sees a missing or partial link.
    temporary = directory / f".{name}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)


def runner_environment(root: Path) -> dict[str, str]:
    """os.environ for a process of a runtime's interpreter under the runtimes directory `root`."""
    env = {name: value for name, value in os.environ.items() if name not in _INHERITED_PATHS}
    env["PYTHONPATH"] = str(runner_path(root))
    env["PYTHONNOUSERSITE"] = "1"
    return env

