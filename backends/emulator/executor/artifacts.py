"""`model.tar.gz`: packing a job's model directory and unpacking it safely for inference."""

from __future__ import annotations

import os
import shutil
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
        checked: list[tuple[tarfile.TarInfo, Path]] = []
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchive(f"model archive member {member.name!r} is a link or device; refusing it")
            if member.name in (".", "./"):
                continue
            try:
                target = safe_join(destination, member.name.removeprefix("./"))
            except UnsafePath as exc:
                raise UnsafeArchive(f"model archive member {member.name!r}: {exc}") from None
            checked.append((member, target))
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, members=[member for member, _ in checked], filter="data")
        else:
            _extract_checked(tar, checked)


def _extract_checked(tar: tarfile.TarFile, checked: list[tuple[tarfile.TarInfo, Path]]) -> None:
    """Pythons before 3.10.12 / 3.11.4 have no extraction filters (PEP 706): write the members, already
    checked to be regular files and directories inside the destination, ourselves, with default permissions
    and without following a link where a file goes."""
    for member, target in checked:
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        if source is None:  # unreachable for a regular file; refuse rather than write nothing
            raise UnsafeArchive(f"model archive member {member.name!r} has no data")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with source, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
            shutil.copyfileobj(source, out)
