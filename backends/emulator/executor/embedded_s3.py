"""Copying job inputs straight out of the embedded S3 when it lives in this process.

With the embedded moto (no upstream), every S3 object is already in this process: moto keeps each in a spooled
temporary file. Downloading a job's inputs through our own HTTP endpoint sends every byte through a socket
to ourselves and costs both ends CPU, 2 to 3 s per GiB: most of the emulator's overhead on the batch transform
of a large file. So objects are copied from moto's store instead, when nothing about them needs S3's request
handling: a plain object (standard storage class, no server-side encryption) of the expected size, in a bucket
without server access logging (which records GETs). Anything else, or anything unexpected (no such key, a
different moto layout, an overwrite during the copy), answers False and the caller downloads over HTTP as
before, so results and errors are the same as without this. The same copy takes an object's bytes out of moto's
store for the durable journal (`write_value`, durable_services.py).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

_CHUNK = 8 * 1024 * 1024
_endpoints: set[str] = set()
_lock = threading.Lock()


def serve_locally(endpoint_url: str) -> None:
    """Say that S3 requests to `endpoint_url` are answered by the moto embedded in this process."""
    with _lock:
        _endpoints.add(endpoint_url.rstrip("/"))


def forget(endpoint_url: str) -> None:
    with _lock:
        _endpoints.discard(endpoint_url.rstrip("/"))


def copy_object(s3: Any, bucket: str, key: str, size: int, target: Path) -> bool:
    """Copy s3://bucket/key (of `size` bytes) to `target` from the embedded store; False to use HTTP instead."""
    endpoint = str(getattr(s3.meta, "endpoint_url", "") or "").rstrip("/")
    with _lock:
        if endpoint not in _endpoints:
            return False
    try:
        stored = _stored_object(s3.meta.region_name, bucket, key)
        if stored is None or stored.size != size:
            return False
        with stored.lock, open(target, "wb") as out:  # the lock: what moto holds while it reads for a GET
            copied = _copy(stored._value_buffer, out, size)
        return copied == size
    except Exception:
        return False


def write_value(stored: Any, out: Any) -> int:
    """Write the bytes of moto's stored object `stored` (a key of its S3 backend) to the file `out`; the bytes
    written. The durable journal's copy of an object as its upload is answered (durable_services.py)."""
    with stored.lock:
        return _copy(stored._value_buffer, out, stored.size)


def _copy(source: Any, out: Any, size: int) -> int:
    """Copy moto's spooled buffer into `out`. Once moto has rolled it over to a temporary file, the kernel copies
    file to file (copy_file_range: no pass through this process's memory, several times faster for gigabytes);
    a buffer still in memory is copied as is (asking it for a file descriptor would roll it over)."""
    if getattr(source, "_rolled", False):
        try:
            done = 0
            while done < size:
                step = os.copy_file_range(source.fileno(), out.fileno(), size - done, done, done)
                if step == 0:
                    break
                done += step
            return done
        except OSError:
            out.seek(0)
            out.truncate()
    source.seek(0)
    shutil.copyfileobj(source, out, _CHUNK)
    return int(out.tell())


def _stored_object(region: str, bucket_name: str, key: str) -> Any:
    """moto's object, if it is one a plain GET would return as is; None otherwise."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[DEFAULT_ACCOUNT_ID][get_partition(region)]
    bucket = backend.get_bucket(bucket_name)
    if bucket.logging:
        return None
    stored = backend.get_object(bucket_name, key)
    if stored is None or stored.storage_class not in (None, "STANDARD") or stored.encryption is not None:
        return None
    return stored
