"""Job inputs copied straight out of the embedded S3: the same bytes as a GET, and a GET whenever in doubt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from backends.emulator.executor.embedded_s3 import copy_object
from backends.emulator.executor.s3_transfer import S3Object, download
from backends.emulator.server import Emulator

SMALL = os.urandom(100_000)  # kept in memory by moto
LARGE = os.urandom(6 * 1024 * 1024)  # rolled over to a temporary file by moto (above 5 MiB)


def _put(s3: Any, bucket: str, key: str, body: bytes, **options: Any) -> S3Object:
    s3.put_object(Bucket=bucket, Key=key, Body=body, **options)
    return S3Object(bucket, key, key.rsplit("/", 1)[-1], len(body))


def test_plain_objects_are_copied_locally_only_from_the_embedded_s3(emulator: Emulator, s3: Any, bucket: str,
                                                                    tmp_path: Path) -> None:
    embedded = emulator.config.upstream is None
    for body, name in ((SMALL, "small.bin"), (LARGE, "large.bin")):
        obj = _put(s3, bucket, f"embedded/{name}", body)
        target = tmp_path / name
        assert copy_object(s3, obj.bucket, obj.key, obj.size, target) is embedded
        if embedded:
            assert target.read_bytes() == body


def test_anything_unusual_is_left_to_a_get(emulator: Emulator, s3: Any, bucket: str, tmp_path: Path) -> None:
    encrypted = _put(s3, bucket, "embedded/encrypted.bin", SMALL, ServerSideEncryption="AES256")
    assert not copy_object(s3, encrypted.bucket, encrypted.key, encrypted.size, tmp_path / "encrypted.bin")
    plain = _put(s3, bucket, "embedded/resized.bin", LARGE)
    assert not copy_object(s3, plain.bucket, plain.key, plain.size + 1, tmp_path / "resized.bin")
    assert not copy_object(s3, bucket, "embedded/no-such-key", 1, tmp_path / "missing.bin")
    assert not copy_object(s3, "no-such-bucket-for-copy", "key", 1, tmp_path / "missing.bin")


def test_download_gives_the_same_files_either_way(emulator: Emulator, s3: Any, bucket: str, tmp_path: Path) -> None:
    objects = [
        _put(s3, bucket, "embedded/dl/plain.bin", LARGE),
        _put(s3, bucket, "embedded/dl/encrypted.bin", SMALL, ServerSideEncryption="AES256"),
        _put(s3, bucket, "embedded/dl/empty.bin", b""),
    ]
    assert download(s3, objects, tmp_path) == len(LARGE) + len(SMALL)
    assert (tmp_path / "plain.bin").read_bytes() == LARGE
    assert (tmp_path / "encrypted.bin").read_bytes() == SMALL
    assert (tmp_path / "empty.bin").read_bytes() == b""
