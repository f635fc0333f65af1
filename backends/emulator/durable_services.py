"""Write-through of the embedded S3 and CloudWatch Logs: a change is on disk before its request is answered.

moto keeps S3 and CloudWatch Logs in memory. This WSGI layer sits between the gateway and the embedded moto: while
moto handles a request, hooks on moto's backends note every change it makes (an object stored or deleted, a
bucket created or deleted, a log group or stream created or deleted, log events put), in the order it makes them;
before the answer leaves, the changes are written to the journal (journal.py: object bytes to a file, fsync,
rename; then a record, fsync). If that fails, the request is answered 500 `InternalError` in the service's shape
instead of moto's answer, and the failure is logged: nobody is told 200 about a change that a crash would lose.

The hooks sit on the backend methods every write path ends in (`S3Backend.put_object` under PutObject,
CompleteMultipartUpload, CopyObject and PostObject; `delete_object` under DeleteObject and DeleteObjects; the
buckets' and logs' own), so the path-style or virtual-hosted addressing, the signing or the protocol of a request
do not matter. They take one lock while moto changes its state, which also numbers the changes: moto's own
in-memory stores are not safe for concurrent writers anyway (its Logs backend says so).

What a change records is what the clean-stop snapshot keeps (snapshot.py): an object's current version with its
content type and user metadata, buckets with their region, log groups, streams and events.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import io
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .executor.embedded_s3 import write_value
from .journal import INLINE_LIMIT, Journal, Order, Replay, object_files

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_local = threading.local()  # the changes of the request this thread is handling
_changing = threading.RLock()  # held while moto changes its state; RLock: moto's writes call one another
_sequence = itertools.count(1)
_installed = False
_install_lock = threading.Lock()
_USER_METADATA = "x-amz-meta-"
_EVENTS_MAX_AGE_MS = 14 * 24 * 3600 * 1000
_EVENTS_MAX_AHEAD_MS = 2 * 3600 * 1000


@dataclass(frozen=True)
class Change:
    seq: int
    record: dict[str, Any]  # the journal record, without its seq (and, for an object, without its bytes' place)
    stored: Any = None  # for an object or a part of a multipart upload: moto's key, whose bytes are journaled
    multipart: Any = None  # the multipart upload whose completion stored the object
    prewritten: Future[tuple[str, int]] | None = None  # the object's bytes, being written while moto works on


@dataclass(frozen=True)
class _Part:
    file: str  # relative to the journal's root
    size: int
    md5: bytes


class DurableServices:
    """`DurableServices(embedded_moto())`: the services application, answering only once its changes are durable.

    Until `attach` gives it a journal (after the start has loaded the saved data) it passes requests through."""

    def __init__(self, app: WSGIApp) -> None:
        install_hooks()
        self.app = app
        self.journal: Journal | None = None
        self._root: Path | None = None
        self._live: dict[tuple[str, str], tuple[Order, tuple[Path, ...]]] = {}  # each key's newest journaled state
        self._live_lock = threading.Lock()
        self._parts: dict[tuple[str, int], _Part] = {}  # (upload id, part number) -> its journaled file
        self._parts_lock = threading.Lock()
        self._writers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="journal-write")

    def attach(self, journal: Journal, replayed: Replay) -> None:
        self._root = journal.directory.parent
        self._live = {key: (stored.order, stored.files) for key, stored in replayed.objects.items()
                      if stored is not None}
        self.journal = journal

    def detach(self) -> None:
        """Close the journal (at a stop): requests pass through again."""
        journal, self.journal = self.journal, None
        if journal is not None:
            journal.close()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.journal is None:
            return self.app(environ, start_response)
        changes: list[Change] = []
        answer: list[Any] = []
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer[:] = [status, headers, exc_info]
            return written.append

        _local.changes, _local.service = changes, self
        try:
            body = self.app(environ, capture)
            if not answer:  # an application that answers only when iterated: take its whole answer now
                body = [b"".join(body)]
        finally:
            _local.changes = _local.service = None
        journal = self.journal
        if changes and journal is not None:
            try:
                self._persist(journal, changes)
            except Exception:
                log.exception("could not write %d S3/CloudWatch Logs change(s) to the journal in %s; answering "
                              "500", len(changes), journal.directory)
                _close(body)
                return _internal_error(environ, start_response)
        start_response(*answer)
        return itertools.chain(written, body) if written else body

    def _persist(self, journal: Journal, changes: list[Change]) -> None:
        records: list[tuple[dict[str, Any], bytes | None]] = []
        for change in sorted(changes, key=lambda item: item.seq):
            if change.record["op"] == "part":
                self._persist_part(journal, change)
                continue
            record = {"seq": change.seq, **change.record}
            inline = None
            if change.stored is not None:
                stored = change.stored
                parts = self._claim_parts(change.multipart, stored) if change.multipart is not None else None
                written = change.prewritten.result() if change.prewritten is not None else None
                if written is not None and written[1] != stored.size:  # not what moto stored after all
                    self._root_path(written[0]).unlink(missing_ok=True)
                    written = None
                if written is not None:
                    record["file"], record["size"] = written
                elif parts is not None:
                    record["parts"], record["size"] = parts, stored.size
                elif stored.size <= INLINE_LIMIT:
                    buffer = io.BytesIO()
                    write_value(stored, buffer)
                    inline = buffer.getvalue()
                    record["inline"] = len(inline)
                else:
                    record["file"], record["size"] = journal.write_object(functools.partial(write_value, stored))
                metadata = dict(stored.metadata)
                record["content_type"] = metadata.get("Content-Type") or metadata.get("content-type")
                record["metadata"] = {name[len(_USER_METADATA):]: value for name, value in metadata.items()
                                      if name.lower().startswith(_USER_METADATA)}
            records.append((record, inline))
        if records:
            journal.append(records)
            self._forget_superseded(journal.generation, [record for record, _ in records])

    def prewrite(self, value: bytes) -> Future[tuple[str, int]] | None:
        """Start writing (and flushing) an object's bytes to the journal as moto is given them, so that the disk
        works while moto stores them and answers; the request waits for it before its answer."""
        journal = self.journal
        if journal is None or not isinstance(value, bytes | bytearray) or len(value) > INLINE_LIMIT:
            return None
        return self._writers.submit(journal.write_object, functools.partial(_write_bytes, bytes(value)))

    def discard(self, prewritten: Future[tuple[str, int]]) -> None:
        """The file of a prewrite whose change did not happen."""
        prewritten.add_done_callback(lambda done: None if done.exception() else
                                     self._root_path(done.result()[0]).unlink(missing_ok=True))

    def _persist_part(self, journal: Journal, change: Change) -> None:
        """A part of a multipart upload, durable before UploadPart is answered; its completion names it."""
        stored = change.stored
        file, size = journal.write_object(functools.partial(write_value, stored))
        key = (change.record["upload"], change.record["part"])
        with self._parts_lock:
            replaced = self._parts.get(key)
            self._parts[key] = _Part(file, size, bytes.fromhex(stored.etag.strip('"')))
        if replaced is not None:
            self._root_path(replaced.file).unlink(missing_ok=True)

    def _claim_parts(self, multipart: Any, stored: Any) -> list[str] | None:
        """The journaled files of the parts a completed multipart upload is made of, in order; None unless they
        are every part of it in order (its ETag says so), then copied whole. Claimed once: an object copied
        from it later gets its own copy."""
        with self._parts_lock:
            keys = [(multipart.id, number) for number in sorted(multipart.partlist)]
            parts = [self._parts.get(key) for key in keys]
            if not parts or any(part is None for part in parts):
                return None
            whole = [part for part in parts if part is not None]
            etag = f"{hashlib.md5(b''.join(part.md5 for part in whole)).hexdigest()}-{len(whole)}"
            if etag != stored.etag.strip('"') or sum(part.size for part in whole) != stored.size:
                return None
            for key in keys:
                del self._parts[key]
        return [part.file for part in whole]

    def _root_path(self, relative: str) -> Path:
        assert self._root is not None
        return self._root / relative

    def _forget_superseded(self, generation: int, records: list[dict[str, Any]]) -> None:
        """Delete the files of object states that a durable newer state replaces."""
        stale: list[Path] = []
        with self._live_lock:
            for record in records:
                if record["op"] not in ("object", "object-deleted"):
                    continue
                key = (record["bucket"], record["key"])
                order = (generation, record["seq"])
                files = tuple(self._root_path(name) for name in object_files(record))
                previous = self._live.get(key)
                if previous is None or previous[0] < order:
                    self._live[key] = (order, files)
                    if previous is not None:
                        stale.extend(previous[1])
                else:
                    stale.extend(files)
        for path in stale:
            path.unlink(missing_ok=True)


def install_hooks() -> None:
    """Note the changes moto's S3 and Logs backends make while a DurableServices request runs (once a process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.logs.models import LogsBackend
        from moto.s3.models import FakeKey, FakeMultipart, S3Backend

        def object_state(backend: Any, bucket: str, key: str) -> Change:
            current = backend.get_bucket(bucket).keys.get(key)
            if isinstance(current, FakeKey):
                return Change(0, {"op": "object", "bucket": bucket, "key": key}, current)
            return Change(0, {"op": "object-deleted", "bucket": bucket, "key": key})

        _hook(S3Backend, "put_object", lambda backend, a, result: [
            Change(0, {"op": "object", "bucket": a["bucket_name"], "key": a["key_name"]}, result,
                   a.get("multipart"))], prewrite=True)
        # UploadPart and UploadPartCopy: the part is journaled as it arrives, the completion only names it.
        _hook(FakeMultipart, "set_part", lambda multipart, a, result: [
            Change(0, {"op": "part", "upload": multipart.id, "part": a["part_id"]}, result)])
        _hook(S3Backend, "delete_object", lambda backend, a, result: [
            object_state(backend, a["bucket_name"], a["key_name"])])
        _hook(S3Backend, "create_bucket", lambda backend, a, result: [
            Change(0, {"op": "bucket", "bucket": a["bucket_name"], "region": result.region_name})])
        _hook(S3Backend, "delete_bucket", lambda backend, a, result: [
            Change(0, {"op": "bucket-deleted", "bucket": a["bucket_name"]})] if result is not None else [])

        def logs(op: str, *names: str) -> Callable[[Any, dict[str, Any], Any], list[Change]]:
            def note(backend: Any, a: dict[str, Any], result: Any) -> list[Change]:
                record = {"op": op, "region": backend.region_name, "group": a["log_group_name"]}
                if "log_stream_name" in names:
                    record["stream"] = a["log_stream_name"]
                if "log_events" in names:
                    # What moto took: it leaves out events older than 14 days or over 2 hours ahead.
                    now = time.time() * 1000
                    oldest, newest = now - _EVENTS_MAX_AGE_MS, now + _EVENTS_MAX_AHEAD_MS
                    record["events"] = [{"timestamp": event["timestamp"], "message": event["message"]}
                                        for event in a["log_events"] if oldest <= event["timestamp"] <= newest]
                return [Change(0, record)]
            return note

        _hook(LogsBackend, "create_log_group", logs("log-group"))
        _hook(LogsBackend, "delete_log_group", logs("log-group-deleted"))
        _hook(LogsBackend, "create_log_stream", logs("log-stream", "log_stream_name"))
        _hook(LogsBackend, "delete_log_stream", logs("log-stream-deleted", "log_stream_name"))
        _hook(LogsBackend, "put_log_events", logs("log-events", "log_stream_name", "log_events"))
        _installed = True


def _hook(cls: type, name: str, note: Callable[[Any, dict[str, Any], Any], list[Change]],
          prewrite: bool = False) -> None:
    """Wrap `cls.name` so that, in a request of a DurableServices, the changes `note` gives are kept, numbered in
    the order they are made; with `prewrite`, the bytes of the object it stores start on their way to disk first."""
    original = getattr(cls, name)
    signature = inspect.signature(original)

    @functools.wraps(original)
    def changing(self: Any, *args: Any, **kwargs: Any) -> Any:
        changes: list[Change] | None = getattr(_local, "changes", None)
        if changes is None:  # not a request of a DurableServices (the start's restore, another emulator)
            return original(self, *args, **kwargs)
        arguments = signature.bind(self, *args, **kwargs).arguments
        service: DurableServices = _local.service
        early = service.prewrite(arguments["value"]) if prewrite and arguments.get("multipart") is None else None
        try:
            with _changing:
                result = original(self, *args, **kwargs)
                noted = [dataclasses.replace(change, seq=next(_sequence)) for change in note(self, arguments, result)]
        except BaseException:
            if early is not None:
                service.discard(early)
            raise
        if early is not None:
            noted = [dataclasses.replace(change, prewritten=early) if change.stored is not None else change
                     for change in noted]
        changes.extend(noted)
        return result

    setattr(cls, name, changing)


def _write_bytes(value: bytes, out: Any) -> int:
    out.write(value)
    return len(value)


def _internal_error(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    request_id = str(uuid.uuid4())
    message = "We encountered an internal error. Please try again."
    if environ.get("HTTP_X_AMZ_TARGET"):  # CloudWatch Logs: the JSON protocol
        body = json.dumps({"__type": "InternalFailure", "message": message}).encode()
        content_type = "application/x-amz-json-1.1"
    else:  # S3: REST-XML
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        content_type = "application/xml"
    start_response("500 Internal Server Error", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                                 ("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)])
    return [body]


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()

