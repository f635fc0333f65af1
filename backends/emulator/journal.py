"""The write-ahead journal of the embedded S3 and CloudWatch Logs: every change, on disk before it is answered.

Layout: `<state-dir>/journal/<generation>/records` (one JSON record a line; a small object's bytes right after
its record's line) and `.../objects/<n>` (a large object's bytes). A generation is one run's journal since the
last clean-stop snapshot; the snapshot's manifest names the last generation it covers (`journal_through`), and a
start loads the snapshot, then every later generation.

Writing an object of up to `INLINE_LIMIT` bytes: its record and its bytes are appended to `records` in one
write and fdatasync'd: one disk flush per request, which is what a small upload's durability costs. A larger
object's bytes go to `objects/<n>.partial`, are fsync'd, renamed to `objects/<n>` and the directory is fsync'd;
only then is the record that names the file appended and fdatasync'd. The parts of a multipart upload are
written so as each UploadPart is answered, in parallel as they arrive; the record of its completion names them,
in order, and no byte is copied again. So a crash at any moment leaves either
the whole change or none of it: a `.partial` file is an upload that was never answered (it is removed at the
next start), and a torn last record (power loss in the middle of a write) is one whose request was never
answered (it and anything after it are ignored). When a key's newer state is durable, the file of its older
state is deleted, so the journal holds one copy of the large live objects; small objects' bytes stay in
`records` until the clean stop's snapshot replaces the generation.

Each record carries the order (`seq`) in which its change happened in moto, taken while the change was made:
records of concurrent requests may reach the file in another order, and replaying sorts them back.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
_RECORDS = "records"
_OBJECTS = "objects"
_PARTIAL = ".partial"
INLINE_LIMIT = 8 * 2**20  # objects up to this size may travel in the records file (as boto3's multipart threshold)

Order = tuple[int, int]  # (generation, seq): the order in which changes happened


def generations(state_dir: Path) -> list[int]:
    """The journal generations in `state_dir`, oldest first."""
    root = state_dir / JOURNAL_DIR
    if not root.is_dir():
        return []
    return sorted(int(entry.name) for entry in root.iterdir() if entry.name.isdigit() and entry.is_dir())


def generation_dir(state_dir: Path, generation: int) -> Path:
    return state_dir / JOURNAL_DIR / f"{generation:08d}"


def remove_through(state_dir: Path, generation: int) -> None:
    """Delete every generation up to `generation` (a snapshot now holds what they did)."""
    for number in generations(state_dir):
        if number <= generation:
            shutil.rmtree(generation_dir(state_dir, number), ignore_errors=True)


class Journal:
    """Appends to one generation. Thread-safe: requests of every server thread write through one Journal."""

    def __init__(self, state_dir: Path, generation: int, flush: bool = True) -> None:
        self.generation = generation
        # False: written to the operating system before the answer, not flushed to the disk: what was answered
        # survives the process's death (kill -9, OOM), not the machine's (power loss, kernel panic).
        self.flush = flush
        self.directory = generation_dir(state_dir, generation)
        (self.directory / _OBJECTS).mkdir(parents=True, exist_ok=True)
        fsync_path(self.directory.parent)
        self._records_fd = os.open(self.directory / _RECORDS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._end = os.fstat(self._records_fd).st_size  # where the next record goes
        self._broken: OSError | None = None  # set when a failed append could not be undone
        self._append_lock = threading.Lock()
        self._files = iter(range(1, 2**63))
        self._files_lock = threading.Lock()

    def write_object(self, fill: Callable[[BinaryIO], int]) -> tuple[str, int]:
        """A new object file written by `fill` (which returns the bytes it wrote), durable and whole; its name
        relative to the journal's root (`<generation>/objects/<n>`) and size."""
        with self._files_lock:
            number = next(self._files)
        final = self.directory / _OBJECTS / f"{number:010d}"
        partial = final.with_name(final.name + _PARTIAL)
        with open(partial, "wb") as out:
            size = fill(out)
            out.flush()
            if self.flush:
                os.fsync(out.fileno())
        os.rename(partial, final)
        if self.flush:
            fsync_path(final.parent)
        return f"{self.directory.name}/{_OBJECTS}/{final.name}", size

    def append(self, records: list[tuple[dict[str, Any], bytes | None]]) -> None:
        """Append `records`, each with the bytes of an object written inline (its record says how many, as
        `inline`), in one write, and make them durable before returning."""
        pieces: list[bytes] = []
        for record, inline in records:
            pieces.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            if inline is not None:
                pieces.append(inline)
        data = b"".join(pieces)
        with self._append_lock:
            if self._broken is not None:
                raise OSError(f"the journal {self.directory} is unusable since an earlier failure: {self._broken}")
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._records_fd, data[written:])
                if self.flush:
                    os.fdatasync(self._records_fd)
            except OSError:
                self._undo()
                raise
            self._end += len(data)

    def _undo(self) -> None:
        """Cut a failed append off (a disk full, a file size limit): a part of a record would end what a replay
        reads, and every record after it would be lost. If it cannot be cut off, refuse every later append."""
        try:
            os.ftruncate(self._records_fd, self._end)
            os.fdatasync(self._records_fd)
        except OSError as exc:
            self._broken = exc

    def close(self) -> None:
        with self._append_lock:
            os.close(self._records_fd)


# -- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    """An object's journaled state: its bytes inline in a records file (`inline`: the file and where they start),
    or in files of its own: one file, or the files of the parts of the multipart upload that made it, in order."""

    files: tuple[Path, ...]
    size: int
    content_type: str | None
    metadata: dict[str, str]
    order: Order
    inline: tuple[Path, int] | None = None

    @property
    def multipart(self) -> bool:
        return len(self.files) > 1

    def read(self) -> bytes:
        """An inline object's bytes."""
        assert self.inline is not None
        path, offset = self.inline
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(self.size)


@dataclass
class Replay:
    """What the journal generations after a snapshot change, compacted: each bucket's and each key's last state
    (None: deleted), and the log changes in the order they happened."""

    buckets: dict[str, str | None] = field(default_factory=dict)  # name -> region, None when deleted
    objects: dict[tuple[str, str], StoredObject | None] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0

    @property
    def empty(self) -> bool:
        return self.records == 0


def read(state_dir: Path, after: int) -> Replay:
    """The changes of every generation after `after`, oldest first; removes the `.partial` files of uploads that
    were never answered."""
    ordered: list[tuple[Order, dict[str, Any]]] = []
    for generation in generations(state_dir):
        if generation <= after:
            continue
        directory = generation_dir(state_dir, generation)
        for leftover in (directory / _OBJECTS).glob(f"*{_PARTIAL}"):
            leftover.unlink(missing_ok=True)
        ordered.extend(((generation, record["seq"]), record) for record in _records(directory / _RECORDS))
    ordered.sort(key=lambda item: item[0])
    replay = Replay(records=len(ordered))
    root = state_dir / JOURNAL_DIR
    for order, record in ordered:
        kind = record["op"]
        if kind == "bucket":
            replay.buckets[record["bucket"]] = record["region"]
        elif kind == "bucket-deleted":
            replay.buckets[record["bucket"]] = None
        elif kind == "object":
            files = tuple(root / name for name in object_files(record))
            replay.objects[(record["bucket"], record["key"])] = StoredObject(
                files, record["size"], record.get("content_type"), record.get("metadata", {}), order,
                (record["path"], record["offset"]) if "offset" in record else None)
        elif kind == "object-deleted":
            replay.objects[(record["bucket"], record["key"])] = None
        else:
            replay.logs.append(record)
    return replay


def object_files(record: dict[str, Any]) -> list[str]:
    """The files (relative to the journal's root) holding an object record's bytes: its multipart upload's parts,
    its own file, or none (bytes inline in the records file)."""
    parts: list[str] = record.get("parts", [record["file"]] if "file" in record else [])
    return parts


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a records file; an inline object's record with `path` and `offset` of its bytes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        try:
            if end < 0:
                raise ValueError("no end of line")
            record = json.loads(data[position:end])
            position = end + 1
            if "inline" in record:
                if position + record["inline"] > len(data):
                    raise ValueError("inline bytes cut short")
                record.update(path=path, offset=position, size=record["inline"])
                position += record["inline"]
        except ValueError:
            # Only a power loss in the middle of an append tears a record, and that request was never answered.
            log.warning("ignoring the torn record at byte %d of %s and what follows it", position, path)
            return
        yield record


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (its entries: a rename into it) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
