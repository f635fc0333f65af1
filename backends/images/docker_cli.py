"""The `docker` command line, for what the images need: look up, import, build and tag.

The CLI rather than the Python SDK: a build's progress goes to the user's terminal as Docker prints it, and an
import streams a root filesystem from `tar` without holding it in memory.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


class DockerCliError(Exception):
    """A docker command failed; the message names it and ends with its last output lines."""


def docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise DockerCliError("the `docker` command is not installed (Debian: `apt-get install docker.io`)")
    return found


def image_exists(name: str) -> bool:
    return subprocess.run([docker(), "image", "inspect", name], capture_output=True).returncode == 0


def image_size(name: str) -> int:
    result = subprocess.run([docker(), "image", "inspect", "--format", "{{.Size}}", name], capture_output=True,
                            text=True)
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def run_streamed(command: Sequence[str], say: Callable[[str], None], what: str, log: Path | None = None) -> None:
    """Run `command`, passing each output line to `say` (and to `log`); DockerCliError naming `what` on failure."""
    tail: list[str] = []
    with subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as process:
        assert process.stdout is not None
        with (log.open("a") if log is not None else _NullWriter()) as sink:
            for line in process.stdout:
                line = line.rstrip("\n")
                sink.write(line + "\n")
                tail = [*tail[-19:], line]
                say(line)
        code = process.wait()
    if code != 0:
        raise DockerCliError(f"{what} failed (exit code {code}):\n" + "\n".join(tail))


def tag(source: str, target: str) -> None:
    result = subprocess.run([docker(), "tag", source, target], capture_output=True, text=True)
    if result.returncode != 0:
        raise DockerCliError(f"docker tag {source} {target} failed: {result.stderr.strip()}")


class _NullWriter:
    def write(self, text: str) -> int:
        return len(text)

    def __enter__(self) -> _NullWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
