"""Print the LocalStack image's requirements: the pins of `backends/localstack.py`, read without importing it.

The process backend (`backends.localstack`) and the image (deploy/localstack/Dockerfile) install the same
versions, found to work together offline; the image reads them from the module's `PINS` tuple with `ast`, so that
they live in one place and the build needs neither the project nor its dependencies.

Usage: python deploy/localstack/requirements.py [backends/localstack.py] > requirements.txt
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def pins(source: str) -> list[str]:
    """The strings of the module-level assignment `PINS = (...)` in `source`."""
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "PINS"):
            value = ast.literal_eval(node.value)
            if isinstance(value, tuple) and value and all(isinstance(item, str) for item in value):
                return list(value)
            break
    raise ValueError("no PINS = (\"requirement\", ...) tuple of strings at the top level")


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "backends/localstack.py")
    print("\n".join(pins(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
