"""`model.tar.gz`: packing a job's model directory and unpacking it safely for inference."""

from __future__ import annotations

import tarfile
from pathlib import Path

from .workspace import UnsafePath, safe_join


class UnsafeArchive(ValueError):
    """An archive member that is absolute, climbs out with `..`, or is a link or device."""


def pack_model(model_dir: Path, archive: Path) -> None:
    """Every file of `model_dir` at the archive's root, as SageMaker packs `/opt/ml/model`."""
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)


def unpack_model(archive: Path, destination: Path) -> None:
    """Extract `archive` into `destination`, refusing any member that could write outside it."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchive(f"model archive member {member.name!r} is a link or device; refusing it")
            try:
                safe_join(destination, member.name.removeprefix("./") or ".")
            except UnsafePath as exc:
                if member.name in (".", "./"):
                    continue
                raise UnsafeArchive(f"model archive member {member.name!r}: {exc}") from None
        tar.extractall(destination, members=[m for m in members if m.name not in (".", "./")], filter="data")
