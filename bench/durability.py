"""Durability: S3 upload throughput of `harness serve` with its write-through journal against the same server
without it, all measured in the same run.

Three `harness serve` processes run side by side on their own state directories: one as users run it (every S3 and
CloudWatch Logs change written to the journal and flushed to the disk, fsync, before it is answered:
backends/emulator/durable_services.py), one with `HARNESS_JOURNAL_FSYNC=0` (journaled, handed to the operating
system but not flushed: survives kill -9, not a power loss), one with `HARNESS_DURABLE_SERVICES=0` (moto's memory
only, saved at a clean stop). Each repetition, on each, in rotating order so that a change in the machine's load
touches them alike: `durability_small_count` objects of 1 MiB with boto3's `put_object`, one after another (bytes
over the time of all the calls), then one object of `durability_large_mb` MiB with boto3's `upload_file` from a
file (its defaults: multipart, 8 MiB parts, 10 threads), from the call until it returns. The objects are deleted,
untimed, after each measurement, and the page cache's dirty pages flushed (`sync`) before each, so that no side's
fsyncs write out what another side left unflushed. The ratios are durable / not durable of the median throughputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .server import BUCKET, EmulatorProcess
from .settings import BenchSettings

SMALL = 2**20
_SIDE_NAMES = {"durable": "durable", "unflushed": "durable without fsync", "plain": "not durable"}
_CHUNK = 8 * 2**20
NOT_DURABLE = {"HARNESS_DURABLE_SERVICES": "0"}
NOT_FLUSHED = {"HARNESS_JOURNAL_FSYNC": "0"}


@dataclass(frozen=True)
class DurabilityRun:
    """Throughputs in bytes per second, of one repetition."""

    small_plain: float
    small_durable: float
    small_unflushed: float
    large_plain: float
    large_durable: float
    large_unflushed: float


@dataclass(frozen=True)
class DurabilityResults:
    small_count: int
    large_bytes: int
    runs: list[DurabilityRun]
    differing_objects: int  # objects whose bytes read back differ from those uploaded (both sides)


def durability_runs(settings: BenchSettings, workdir: Path, say: Callable[[str], None]) -> DurabilityResults:
    large = workdir / "durability-large.bin"
    say(f"durability: writing a {settings.durability_large_mb} MiB file to upload")
    _random_file(large, settings.durability_large_mb * 2**20, settings.seed)
    small = _random_bytes(SMALL, settings.seed + 1)
    runs: list[DurabilityRun] = []
    differing = 0
    with EmulatorProcess(workdir / "durable-state") as durable, \
            EmulatorProcess(workdir / "unflushed-state", env=NOT_FLUSHED) as unflushed, \
            EmulatorProcess(workdir / "not-durable-state", env=NOT_DURABLE) as plain:
        sides = [("durable", durable), ("unflushed", unflushed), ("plain", plain)]
        for repetition in range(settings.repeat):
            measured: dict[str, tuple[float, float]] = {}
            shift = repetition % len(sides)
            for name, emulator in sides[shift:] + sides[:shift]:
                say(f"durability: repetition {repetition + 1}/{settings.repeat}, {_SIDE_NAMES[name]}")
                s3 = emulator.client("s3")
                small_rate, small_wrong = _puts(s3, small, settings.durability_small_count)
                large_rate, large_wrong = _upload(s3, large)
                measured[name] = (small_rate, large_rate)
                differing += small_wrong + large_wrong
            runs.append(DurabilityRun(measured["plain"][0], measured["durable"][0], measured["unflushed"][0],
                                      measured["plain"][1], measured["durable"][1], measured["unflushed"][1]))
    large.unlink()
    return DurabilityResults(settings.durability_small_count, settings.durability_large_mb * 2**20, runs, differing)


def _puts(s3: Any, body: bytes, count: int) -> tuple[float, int]:
    """Bytes per second of `count` PutObject calls of `body`; objects read back different (the first and last)."""
    keys = [f"durability/small-{index:05d}" for index in range(count)]
    os.sync()  # what earlier measurements left unflushed is not this one's to write out
    start = time.perf_counter()
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    seconds = time.perf_counter() - start
    wrong = sum(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() != body for key in (keys[0], keys[-1]))
    for first in range(0, count, 1000):
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key} for key in keys[first:first + 1000]]})
    return count * len(body) / seconds, wrong


def _upload(s3: Any, path: Path) -> tuple[float, int]:
    """Bytes per second of one `upload_file` of `path`; 1 if the object is not the file's size afterwards."""
    key = "durability/large"
    os.sync()
    start = time.perf_counter()
    s3.upload_file(str(path), BUCKET, key)
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    wrong = int(s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] != size)
    s3.delete_object(Bucket=BUCKET, Key=key)
    return size / seconds, wrong


def _random_bytes(size: int, seed: int) -> bytes:
    import numpy as np

    return np.random.default_rng(seed).bytes(size)


def _random_file(path: Path, size: int, seed: int) -> None:
    """Incompressible bytes, written in chunks (never the whole file in memory)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with open(path, "wb") as out:
        left = size
        while left:
            step = min(_CHUNK, left)
            out.write(rng.bytes(step))
            left -= step
        out.flush()
        os.fsync(out.fileno())
