"""The hosts of a job of several instances: their names, which objects each gets, and the tracker's ports.

SageMaker names a training job's instances `algo-1` ... `algo-N` (resourceconfig.json's `hosts`) and gives each
channel's objects to them by its `S3DataDistributionType`:

* `FullyReplicated`: every host gets every object;
* `ShardedByS3Key`: "each instance gets approximately 1/n of the number of S3 objects" (the API reference of
  `S3DataSource.S3DataDistributionType`, which also warns that with more instances than objects some get
  none). Which object goes where is not documented; the emulator deals them out in listing order (S3 lists keys
  in UTF-8 binary order; a manifest in its own order): object i goes to host `algo-(i mod n + 1)`. Every host
  thus gets floor(m/n) or ceil(m/n) of the m objects, the lower-numbered hosts the extra ones.

A batch transform of `InstanceCount` n splits its input objects across the instances the same way (the Developer
Guide's "Batch transform" page: "When you have multiples files, one instance might process input1.csv, and the
other instance might process another file named input2.csv").

The built-in XGBoost trains on the hosts together with XGBoost's own engine (algorithms/xgboost/distributed.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

FULLY_REPLICATED = "FullyReplicated"
SHARDED_BY_S3_KEY = "ShardedByS3Key"


def host_names(count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, max(1, count) + 1)]


def shard(items: Sequence[T], count: int, index: int) -> list[T]:
    """The items host `index` (0-based) of `count` gets under ShardedByS3Key: every count-th, from its own."""
    return list(items[index::count])


def distribute(items: Sequence[T], distribution: str | None, count: int) -> list[list[T]]:
    """Each host's items, host by host."""
    if distribution == SHARDED_BY_S3_KEY:
        return [shard(items, count, index) for index in range(count)]
    return [list(items) for _ in range(count)]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free just now (the tracker binds them a moment later)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def replicate(source: Path, destination: Path) -> None:
    """A copy of the tree `source` at `destination`, hard-linked where the file system allows (no extra space)."""
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    with contextlib.suppress(FileExistsError):
        shutil.copytree(source, destination, copy_function=link_or_copy, dirs_exist_ok=True)
