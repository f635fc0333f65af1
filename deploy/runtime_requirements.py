"""Print the emulator image's requirements: the project's dependencies with `xgboost` swapped for `xgboost-cpu`.

`xgboost` on Linux pulls NVIDIA's NCCL wheel (about 470 MB) for GPU training the emulator never does;
`xgboost-cpu` is the same library built without CUDA. The Dockerfile installs this list, then the project itself
with `pip install --no-deps .`, so the swap cannot be undone by the resolver.

Usage: python deploy/runtime_requirements.py [pyproject.toml] > requirements.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

# A requirement's name, per PEP 508: letters, digits, and . _ - inside.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(pyproject: str) -> list[str]:
    requirements = []
    for requirement in tomllib.loads(pyproject)["project"]["dependencies"]:
        match = _NAME.match(requirement)
        if match and canonical(match.group(1)) == "xgboost":
            requirement = "xgboost-cpu" + requirement[match.end():]
        requirements.append(requirement)
    return requirements


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "pyproject.toml")
    print("\n".join(runtime_requirements(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
