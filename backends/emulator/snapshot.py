"""The embedded services' data kept across restarts: S3 objects and CloudWatch log events, in the state directory.

The embedded moto holds S3 and CloudWatch Logs in memory, while the emulator's own records (jobs, models) live in
SQLite and survive any restart. Without this, a restarted emulator would list jobs whose model artifacts,
transform outputs and logs were gone. Two things keep the services' data:

- The journal (journal.py, written by durable_services.py): every change is written to
  `<state-dir>/journal/<generation>/` before its request is answered, so whatever was answered survives a crash
  (`kill -9`, power loss): uploads, deletions, log events, and so every job's artifacts, outputs and logs, which
  the jobs upload through the same S3 and Logs APIs before they are recorded as Completed.
- The snapshot, at a clean stop: every bucket, object and log event under `<state-dir>/services/`, whose manifest
  names the last journal generation it holds (`journal_through`); those generations are then deleted.

A start loads the snapshot, then replays the journal generations after it (each key's last state, the log changes
in order), through the same S3 and Logs APIs everything else uses, before it answers anyone. Each change is
flushed to the disk (fsync) before it is answered, so what was answered survives kill -9 and a power loss; with
`--no-journal-fsync` it is handed to the operating system only: it survives kill -9 of the emulator (and the OOM
killer), not a power loss. Without the journal (`harness serve --no-durable-services`), a crash loses that run's
services' data and the previous snapshot stays.

What it costs: every answered change waits for its journal write and flush (a 1 MiB PutObject for one 1 MiB file
write and two fsyncs, started while moto stores the object, then a small record and its fdatasync; a multipart
upload for each part as it arrives, and its completion for one record), and the journal holds a copy of the live
objects between clean stops. docs/performance.md#durability has the measured throughput.

Kept: every bucket with its region, the current version of each object with its content type and user
metadata, every log group, stream and event. Not kept: older object versions, tags, ACLs and bucket
configuration (policies, lifecycle, notifications), multipart uploads not yet completed, and log events older
than 14 days, which CloudWatch Logs refuses to take.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import journal
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
# Error codes that mean a restore's change is there already (created) or gone already (deleted).
_BUCKET_EXISTS = ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
_EXISTS = ("ResourceAlreadyExistsException",)
_MISSING = ("NoSuchKey", "NoSuchBucket", "ResourceNotFoundException")


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


@dataclass(frozen=True)
class Restored:
    """What a start loaded: the snapshot's data (None without one) and the journal's changes after it."""

    snapshot: SnapshotCounts | None
    journal: journal.Replay
    journal_through: int  # the last journal generation the snapshot holds

    def describe(self) -> str:
        parts = [self.snapshot.describe()] if self.snapshot is not None else []
        if not self.journal.empty:
            parts.append(f"{self.journal.records} journaled changes")
        return ", then ".join(parts) or "nothing"


def save(clients: AwsClients, state_dir: Path, regions: Iterable[str], journal_through: int = 0) -> SnapshotCounts:
    """Write every bucket, object and log event of the services at `clients` to `state_dir/services/`, as holding
    every journal generation up to `journal_through`.

    The snapshot is written beside the previous one and swapped in whole, so a crash while saving leaves the
    previous snapshot in place.
    """
    partial = state_dir / f"{SNAPSHOT_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "objects").mkdir(parents=True)
    buckets, objects, size = _save_s3(clients.s3(_HOME_REGION), partial)
    groups, streams, events = _save_logs(clients, regions)
    (partial / _MANIFEST).write_text(json.dumps({"s3": buckets, "logs": groups, "journal_through": journal_through}))
    _fsync_tree(partial)  # on disk before the journal generations it replaces are deleted
    _swap_in(partial, state_dir / SNAPSHOT_DIR)
    journal.fsync_path(state_dir)
    return SnapshotCounts(len(buckets), objects, size, streams, events)


def restore(clients: AwsClients, state_dir: Path) -> Restored:
    """Load `state_dir/services/`, then the journal generations after it, into the services at `clients`."""
    directory = _current(state_dir)
    manifest = json.loads((directory / _MANIFEST).read_text()) if directory is not None else None
    through = manifest.get("journal_through", 0) if manifest is not None else 0
    counts = _restore_snapshot(clients, directory, manifest) if directory is not None and manifest else None
    changes = journal.read(state_dir, through)
    saved = {(bucket["name"], item["key"]) for bucket in manifest["s3"] for item in bucket["objects"]} \
        if manifest else set()
    _replay(clients, changes, saved)
    return Restored(counts, changes, through)


def _restore_snapshot(clients: AwsClients, directory: Path, manifest: dict[str, Any]) -> SnapshotCounts:
    objects = size = 0
    for bucket in manifest["s3"]:
        s3 = clients.s3(bucket["region"])
        _create_bucket(s3, bucket["name"], bucket["region"])
        for item in bucket["objects"]:
            extra = _object_arguments(item["metadata"], item.get("content_type"))
            path = directory / item["file"]
            s3.upload_file(str(path), bucket["name"], item["key"], ExtraArgs=extra)
            objects += 1
            size += path.stat().st_size
    streams = events = 0
    for group in manifest["logs"]:
        logs = clients.logs(group["region"])
        _ignoring(_EXISTS, logs.create_log_group, logGroupName=group["name"])
        for stream in group["streams"]:
            _ignoring(_EXISTS, logs.create_log_stream, logGroupName=group["name"], logStreamName=stream["name"])
            for batch in _batches(stream["events"]):
                logs.put_log_events(logGroupName=group["name"], logStreamName=stream["name"], logEvents=batch)
            streams += 1
            events += len(stream["events"])
    return SnapshotCounts(len(manifest["s3"]), objects, size, streams, events)


def _replay(clients: AwsClients, changes: journal.Replay, saved: set[tuple[str, str]]) -> None:
    """Apply the journal's changes: buckets, then each key's last state (a deletion only of a key the snapshot
    had: no other exists yet), then the buckets deleted; then the log changes in the order they happened, the
    events of consecutive calls to one stream in as few calls as PutLogEvents takes them."""
    home = clients.s3(_HOME_REGION)
    for name, region in changes.buckets.items():
        if region is not None:
            _create_bucket(clients.s3(region), name, region)
    for (bucket, key), stored in changes.objects.items():
        if stored is None:
            if (bucket, key) in saved:
                _ignoring(_MISSING, home.delete_object, Bucket=bucket, Key=key)
            continue
        extra = _object_arguments(stored.metadata, stored.content_type)
        if stored.inline is not None:
            home.put_object(Bucket=bucket, Key=key, Body=stored.read(), **extra)
        elif stored.multipart:
            _upload_parts(home, bucket, key, stored.files, extra)
        else:
            home.upload_file(str(stored.files[0]), bucket, key, ExtraArgs=extra)
    for name, region in changes.buckets.items():
        if region is None:
            _ignoring(_MISSING, home.delete_bucket, Bucket=name)
    for change in _merged_events(changes.logs):
        logs = clients.logs(change["region"])
        group, stream = change["group"], change.get("stream")
        if change["op"] == "log-group":
            _ignoring(_EXISTS, logs.create_log_group, logGroupName=group)
        elif change["op"] == "log-group-deleted":
            _ignoring(_MISSING, logs.delete_log_group, logGroupName=group)
        elif change["op"] == "log-stream":
            _ignoring(_EXISTS, logs.create_log_stream, logGroupName=group, logStreamName=stream)
        elif change["op"] == "log-stream-deleted":
            _ignoring(_MISSING, logs.delete_log_stream, logGroupName=group, logStreamName=stream)
        elif change["op"] == "log-events" and change["events"]:
            for batch in _batches(change["events"]):
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)


def _upload_parts(s3: Any, bucket: str, key: str, parts: tuple[Path, ...], extra: dict[str, Any]) -> None:
    """A multipart upload of the same parts as the one that made the object (so its ETag is the same too)."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    done = []
    for number, path in enumerate(parts, start=1):
        with open(path, "rb") as body:
            etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})


def _merged_events(changes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The log changes, with consecutive PutLogEvents calls to one stream as one (while their timestamps do not
    go back: a call's events must be in order)."""
    pending: dict[str, Any] | None = None
    for change in changes:
        if pending is not None and change["op"] == "log-events" and \
                (change["region"], change["group"], change["stream"]) == \
                (pending["region"], pending["group"], pending["stream"]) and change["events"] and \
                (not pending["events"] or change["events"][0]["timestamp"] >= pending["events"][-1]["timestamp"]):
            pending["events"] = pending["events"] + change["events"]
            continue
        if pending is not None:
            yield pending
        pending = dict(change) if change["op"] == "log-events" else None
        if pending is None:
            yield change
    if pending is not None:
        yield pending


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
    _ignoring(_BUCKET_EXISTS, s3.create_bucket, Bucket=name, **options)


def _ignoring(codes: tuple[str, ...], call: Callable[..., Any], **arguments: Any) -> None:
    """`call`, where an error whose code is one of `codes` means the state is as wanted already."""
    try:
        call(**arguments)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in codes:
            raise


def _object_arguments(metadata: dict[str, str], content_type: str | None) -> dict[str, Any]:
    """What an object is stored with besides its bytes: its user metadata and content type."""
    return {"Metadata": metadata, **({"ContentType": content_type} if content_type else {})}


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        journal.fsync_path(path)
    journal.fsync_path(directory)



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
