"""Nothing from S3 keys or model archives can write outside a job's workspace."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from backends.emulator.executor.artifacts import UnsafeArchive, pack_model, unpack_model
from backends.emulator.executor.workspace import UnsafePath, safe_join


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "", "a/..", "..\\\\x"])
def test_safe_join_refuses_escapes(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UnsafePath):
        safe_join(tmp_path, relative)


def test_safe_join_keeps_sub_paths(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "dir/sub/file.csv") == tmp_path / "dir" / "sub" / "file.csv"


def _archive(tmp_path: Path, add: object) -> Path:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        add(tar)  # type: ignore[operator]
    return path


def _file(tar: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("name", ["../evil", "/abs/evil", "ok/../../evil"])
def test_archive_members_that_escape_are_refused(tmp_path: Path, name: str) -> None:
    archive = _archive(tmp_path, lambda tar: _file(tar, name))
    with pytest.raises(UnsafeArchive):
        unpack_model(archive, tmp_path / "out")
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_and_devices_are_refused(tmp_path: Path, kind: bytes) -> None:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("xgboost-model")
        info.type = kind
        info.linkname = "/etc/passwd"
        tar.addfile(info)

    with pytest.raises(UnsafeArchive):
        unpack_model(_archive(tmp_path, add), tmp_path / "out")


def test_pack_then_unpack_round_trips(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "xgboost-model").write_bytes(b"model-bytes")
    (model / "sub" / "extra.json").write_text("{}")
    pack_model(model, tmp_path / "model.tar.gz")
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["sub", "sub/extra.json", "xgboost-model"]
    unpack_model(tmp_path / "model.tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "xgboost-model").read_bytes() == b"model-bytes"
    assert (tmp_path / "out" / "sub" / "extra.json").read_text() == "{}"
