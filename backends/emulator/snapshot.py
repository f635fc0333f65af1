"""The embedded services' data kept across restarts: S3 objects and CloudWatch log events, in the state directory.

The embedded moto holds S3 and CloudWatch Logs in memory, while the emulator's own records (jobs, models) live in
SQLite and survive any restart. Without this, a restarted emulator would list jobs whose model artifacts,
transform outputs and logs were gone. So a clean stop saves the services' data under `<state-dir>/services/`
and the next start loads it back, through the same S3 and Logs APIs everything else uses.

Kept: every bucket with its region, the current version of each object with its content type and user
metadata, every log group, stream and event. Not kept: older object versions, tags, ACLs and bucket
configuration (policies, lifecycle, notifications), and log events older than 14 days, which CloudWatch Logs
refuses to take. A crash (kill -9) saves nothing: the services' data of that run is lost and the previous
snapshot stays, while the jobs' records survive as always.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .executor.clients import AwsClients
from .executor.embedded_s3 import copy_object
from .executor.s3_transfer import WHOLE_OBJECT

SNAPSHOT_DIR = "services"
_MANIFEST = "manifest.json"
_HOME_REGION = "us-east-1"  # where S3 answers ListBuckets for every region, and buckets need no LocationConstraint
# PutLogEvents takes at most 10,000 events and 1,048,576 bytes a call, counting 26 bytes per event.
_EVENTS_PER_CALL = 10_000
_BYTES_PER_CALL = 1_048_576
_EVENT_OVERHEAD = 26


@dataclass(frozen=True)
class SnapshotCounts:
    buckets: int = 0
    objects: int = 0
    object_bytes: int = 0
    log_streams: int = 0
    log_events: int = 0

    def describe(self) -> str:
        return (f"{self.buckets} buckets, {self.objects} objects ({self.object_bytes / 2**20:.1f} MiB), "
                f"{self.log_streams} log streams, {self.log_events} log events")


def save(clients: AwsClients, state_dir: Path, regions: Iterable[str]) -> SnapshotCounts:
    """Write every bucket, object and log event of the services at `clients` to `state_dir/services/`.

    The snapshot is written beside the previous one and swapped in whole, so a crash while saving leaves the
    previous snapshot in place.
    """
    partial = state_dir / f"{SNAPSHOT_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "objects").mkdir(parents=True)
    buckets, objects, size = _save_s3(clients.s3(_HOME_REGION), partial)
    groups, streams, events = _save_logs(clients, regions)
    (partial / _MANIFEST).write_text(json.dumps({"s3": buckets, "logs": groups}))
    _swap_in(partial, state_dir / SNAPSHOT_DIR)
    return SnapshotCounts(len(buckets), objects, size, streams, events)


def restore(clients: AwsClients, state_dir: Path) -> SnapshotCounts | None:
    """Load `state_dir/services/` into the services at `clients`; None when there is no snapshot."""
    directory = _current(state_dir)
    if directory is None:
        return None
    manifest = json.loads((directory / _MANIFEST).read_text())
    objects = size = 0
    for bucket in manifest["s3"]:
        s3 = clients.s3(bucket["region"])
        _create_bucket(s3, bucket["name"], bucket["region"])
        for item in bucket["objects"]:
            extra = {"Metadata": item["metadata"]}
            if item.get("content_type"):
                extra["ContentType"] = item["content_type"]
            path = directory / item["file"]
            s3.upload_file(str(path), bucket["name"], item["key"], ExtraArgs=extra)
            objects += 1
            size += path.stat().st_size
    streams = events = 0
    for group in manifest["logs"]:
        logs = clients.logs(group["region"])
        _ignore_existing(logs.create_log_group, logGroupName=group["name"])
        for stream in group["streams"]:
            _ignore_existing(logs.create_log_stream, logGroupName=group["name"], logStreamName=stream["name"])
            for batch in _batches(stream["events"]):
                logs.put_log_events(logGroupName=group["name"], logStreamName=stream["name"], logEvents=batch)
            streams += 1
            events += len(stream["events"])
    return SnapshotCounts(len(manifest["s3"]), objects, size, streams, events)


def _save_s3(s3: Any, directory: Path) -> tuple[list[dict[str, Any]], int, int]:
    buckets: list[dict[str, Any]] = []
    count = size = 0
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or _HOME_REGION
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                count += 1
                file = f"objects/{count:08d}"
                head = s3.head_object(Bucket=name, Key=item["Key"])
                # Straight from moto's store when it is in this process; otherwise a GET.
                if not copy_object(s3, name, item["Key"], head["ContentLength"], directory / file):
                    s3.download_file(name, item["Key"], str(directory / file), Config=WHOLE_OBJECT)
                size += head["ContentLength"]
                objects.append({"key": item["Key"], "file": file, "content_type": head.get("ContentType"),
                                "metadata": head.get("Metadata", {})})
        buckets.append({"name": name, "region": region, "objects": objects})
    return buckets, count, size


def _save_logs(clients: AwsClients, regions: Iterable[str]) -> tuple[list[dict[str, Any]], int, int]:
    groups: list[dict[str, Any]] = []
    stream_count = event_count = 0
    for region in regions:
        logs = clients.logs(region)
        for page in logs.get_paginator("describe_log_groups").paginate():
            for group in page.get("logGroups", []):
                name = group["logGroupName"]
                streams = []
                for stream_page in logs.get_paginator("describe_log_streams").paginate(logGroupName=name):
                    for stream in stream_page.get("logStreams", []):
                        events = list(_events(logs, name, stream["logStreamName"]))
                        streams.append({"name": stream["logStreamName"], "events": events})
                        stream_count += 1
                        event_count += len(events)
                groups.append({"region": region, "name": name, "streams": streams})
    return groups, stream_count, event_count


def _events(logs: Any, group: str, stream: str) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                   **({"nextToken": token} if token else {}))
        for event in page.get("events", []):
            yield {"timestamp": event["timestamp"], "message": event["message"]}
        if not page.get("events") or page.get("nextForwardToken") in (None, token):
            return
        token = page["nextForwardToken"]


def _batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + _EVENT_OVERHEAD
        if batch and (len(batch) == _EVENTS_PER_CALL or size + cost > _BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


def _create_bucket(s3: Any, name: str, region: str) -> None:
    options = {} if region == _HOME_REGION else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=name, **options)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _ignore_existing(call: Callable[..., Any], **arguments: Any) -> None:
    try:
        call(**arguments)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


def _swap_in(partial: Path, target: Path) -> None:
    previous = target.with_name(f"{SNAPSHOT_DIR}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    partial.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def _current(state_dir: Path) -> Path | None:
    """The snapshot to load: `services/`, or the previous one if a save was cut off between its two renames."""
    for name in (SNAPSHOT_DIR, f"{SNAPSHOT_DIR}.previous"):
        if (state_dir / name / _MANIFEST).exists():
            return state_dir / name
    return None
