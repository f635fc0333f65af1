"""Nothing from S3 keys or model archives can write outside a job's workspace."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from backends.emulator.executor.artifacts import UnsafeArchive, pack_model, unpack_model
from backends.emulator.executor.workspace import UnsafePath, safe_join


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "", "a/..", "..\\\\x"])
def test_safe_join_refuses_escapes(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UnsafePath):
        safe_join(tmp_path, relative)


def test_safe_join_keeps_sub_paths(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "dir/sub/file.csv") == tmp_path / "dir" / "sub" / "file.csv"


@pytest.fixture(params=["data filter", "no filter"])
def extraction(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of extracting: with PEP 706's `filter="data"`, and as on a Python before 3.10.12 / 3.11.4,
    where `tarfile` has no `data_filter` and `extractall` takes no `filter`."""
    if request.param == "no filter":
        monkeypatch.delattr(tarfile, "data_filter")
        extractall = tarfile.TarFile.extractall

        def old_extractall(self: tarfile.TarFile, *args: Any, **kwargs: Any) -> None:
            if "filter" in kwargs:
                raise TypeError("extractall() got an unexpected keyword argument 'filter'")
            extractall(self, *args, **kwargs)

        monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    return str(request.param)


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
def test_archive_members_that_escape_are_refused(tmp_path: Path, name: str, extraction: str) -> None:
    archive = _archive(tmp_path, lambda tar: _file(tar, name))
    with pytest.raises(UnsafeArchive):
        unpack_model(archive, tmp_path / "out")
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_and_devices_are_refused(tmp_path: Path, kind: bytes, extraction: str) -> None:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("xgboost-model")
        info.type = kind
        info.linkname = "/etc/passwd"
        tar.addfile(info)

    with pytest.raises(UnsafeArchive):
        unpack_model(_archive(tmp_path, add), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unsafe_member_after_safe_ones_leaves_nothing_extracted(tmp_path: Path, extraction: str) -> None:
    def add(tar: tarfile.TarFile) -> None:
        _file(tar, "xgboost-model")
        _file(tar, "sub/../../evil")

    with pytest.raises(UnsafeArchive):
        unpack_model(_archive(tmp_path, add), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_pack_then_unpack_round_trips(tmp_path: Path, extraction: str) -> None:
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


def test_a_dot_member_and_dot_slash_names_unpack(tmp_path: Path, extraction: str) -> None:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(".")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        _file(tar, "./xgboost-model", b"model-bytes")
        _file(tar, "./sub/extra.json", b"{}")

    unpack_model(_archive(tmp_path, add), tmp_path / "out")
    assert (tmp_path / "out" / "xgboost-model").read_bytes() == b"model-bytes"
    assert (tmp_path / "out" / "sub" / "extra.json").read_bytes() == b"{}"


def test_the_data_filter_is_used_where_python_has_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The project's interpreter (3.11.4+) has PEP 706's filters; the fallback is tested by the other leg.
    assert hasattr(tarfile, "data_filter"), "this test needs a Python with tarfile extraction filters (PEP 706)"
    calls: list[Any] = []
    extractall = tarfile.TarFile.extractall

    def spy(self: tarfile.TarFile, *args: Any, **kwargs: Any) -> None:
        calls.append(kwargs.get("filter"))
        extractall(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extractall", spy)
    unpack_model(_archive(tmp_path, lambda tar: _file(tar, "xgboost-model")), tmp_path / "out")
    assert calls == ["data"]


def test_without_filters_files_get_default_permissions_and_no_link_is_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(tarfile, "data_filter")

    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("xgboost-model")
        info.size, info.mode = 5, 0o4777
        tar.addfile(info, io.BytesIO(b"model"))

    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "outside").write_text("keep")
    (out / "xgboost-model").symlink_to(tmp_path / "outside")
    with pytest.raises(OSError):
        unpack_model(_archive(tmp_path, add), out)
    assert (tmp_path / "outside").read_text() == "keep"
    (out / "xgboost-model").unlink()
    unpack_model(_archive(tmp_path, add), out)
    assert (out / "xgboost-model").read_bytes() == b"model"
    assert (out / "xgboost-model").stat().st_mode & 0o7000 == 0


@pytest.mark.parametrize(("prefix", "key", "lands_at"), [
    # sagemaker.Session.upload_data of a directory returns s3://bucket/<key_prefix> without a trailing "/", and
    # SDK 3.x's ModelTrainer sends its `sm_drivers` channel so, then runs /opt/ml/input/data/sm_drivers/sm_train.sh:
    # a prefix naming a folder is taken off whole, with or without its "/".
    ("base/input/sm_drivers", "base/input/sm_drivers/sm_train.sh", "sm_train.sh"),
    ("base/input/sm_drivers", "base/input/sm_drivers/scripts/environment.py", "scripts/environment.py"),
    ("data/train/", "data/train/part-1.csv", "part-1.csv"),
    # A prefix naming an object: the object's name.
    ("boston/train.csv", "boston/train.csv", "train.csv"),
    # A partial match keeps its whole name from the prefix's last "/" (aws/sagemaker-python-sdk#3612: remote
    # jobs name `s3://bucket/data/train` matching data/train-data.csv "train-data.csv").
    ("data/train", "data/train-data.csv", "train-data.csv"),
    ("data/tr", "data/train/a.csv", "train/a.csv"),
    ("", "top/a.csv", "top/a.csv"),
])
def test_an_s3_prefix_s_objects_land_where_sagemaker_puts_them(prefix: str, key: str, lands_at: str) -> None:
    from backends.emulator.executor.s3_transfer import landing_path

    assert landing_path(prefix, key) == lands_at
