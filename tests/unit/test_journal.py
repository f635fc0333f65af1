"""The journal's file format: what a crash at any moment of a write leaves is read back as the whole change or none
of it, in the order the changes happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from backends.emulator import journal


def _fill(data: bytes) -> Callable[[BinaryIO], int]:
    def fill(out: BinaryIO) -> int:
        return out.write(data)
    return fill


def test_records_read_back_in_the_order_the_changes_happened(tmp_path: Path) -> None:
    writer = journal.Journal(tmp_path, 1)
    relative, size = writer.write_object(_fill(b"large bytes"))
    writer.append([({"seq": 3, "op": "object", "bucket": "b", "key": "k", "file": relative, "size": size}, None)])
    writer.append([({"seq": 1, "op": "bucket", "bucket": "b", "region": "eu-west-1"}, None),
                   ({"seq": 2, "op": "object", "bucket": "b", "key": "small", "inline": 5, "metadata": {"a": "1"},
                     "content_type": "text/plain"}, b"small")])
    writer.append([({"seq": 4, "op": "log-events", "region": "us-east-1", "group": "g", "stream": "s",
                     "events": [{"timestamp": 1, "message": "m"}]}, None)])
    writer.close()

    replay = journal.read(tmp_path, after=0)
    assert replay.records == 4
    assert replay.buckets == {"b": "eu-west-1"}
    small = replay.objects[("b", "small")]
    assert small is not None and small.read() == b"small" and small.files == ()
    assert (small.content_type, small.metadata, small.order) == ("text/plain", {"a": "1"}, (1, 2))
    large = replay.objects[("b", "k")]
    assert large is not None and large.inline is None and [path.read_bytes() for path in large.files] == \
        [b"large bytes"]
    assert [change["op"] for change in replay.logs] == ["log-events"]
    assert journal.read(tmp_path, after=1).empty  # generation 1 is held by a snapshot


def test_an_object_made_of_a_multipart_uploads_parts(tmp_path: Path) -> None:
    writer = journal.Journal(tmp_path, 1)
    parts = [writer.write_object(_fill(data))[0] for data in (b"part one ", b"part two")]
    writer.append([({"seq": 1, "op": "object", "bucket": "b", "key": "k", "parts": parts, "size": 17}, None)])
    writer.close()
    stored = journal.read(tmp_path, after=0).objects[("b", "k")]
    assert stored is not None and stored.multipart
    assert b"".join(path.read_bytes() for path in stored.files) == b"part one part two"


def test_a_later_generation_and_a_later_change_win(tmp_path: Path) -> None:
    for generation, body in ((1, b"old"), (2, b"new")):
        writer = journal.Journal(tmp_path, generation)
        writer.append([({"seq": 1, "op": "object", "bucket": "b", "key": "k", "inline": 3}, body),
                       ({"seq": 2, "op": "object-deleted", "bucket": "b", "key": f"gone-{generation}"}, None)])
        writer.close()
    replay = journal.read(tmp_path, after=0)
    stored = replay.objects[("b", "k")]
    assert stored is not None and stored.read() == b"new"
    assert replay.objects[("b", "gone-1")] is None and replay.objects[("b", "gone-2")] is None
    journal.remove_through(tmp_path, 1)
    assert journal.generations(tmp_path) == [2]


def test_a_torn_last_record_and_an_unfinished_object_file_are_left_out(tmp_path: Path) -> None:
    writer = journal.Journal(tmp_path, 1)
    writer.append([({"seq": 1, "op": "object", "bucket": "b", "key": "whole", "inline": 4}, b"1234")])
    writer.close()
    records = journal.generation_dir(tmp_path, 1) / "records"
    whole = records.read_bytes()
    unfinished = journal.generation_dir(tmp_path, 1) / "objects" / "0000000009.partial"
    unfinished.write_bytes(b"half an upload")
    # A power loss in the middle of an append: the inline bytes cut short; then a record cut in its middle.
    for torn in (b'{"seq":2,"op":"object","bucket":"b","key":"torn","inline":10}\n12345',
                 b'{"seq":2,"op":"obj'):
        records.write_bytes(whole + torn)
        replay = journal.read(tmp_path, after=0)
        assert set(replay.objects) == {("b", "whole")} and replay.records == 1
    assert not unfinished.exists()


def test_a_failed_append_is_cut_off_and_the_journal_goes_on(tmp_path: Path) -> None:
    writer = journal.Journal(tmp_path, 1)
    writer.append([({"seq": 1, "op": "bucket", "bucket": "b", "region": "us-east-1"}, None)])
    records = journal.generation_dir(tmp_path, 1) / "records"
    size = records.stat().st_size
    with open(records, "ab") as handle:  # what a write cut short by a full disk leaves
        handle.write(b'{"seq":2,"op":"bu')
    writer._undo()
    assert records.stat().st_size == size
    writer.append([({"seq": 3, "op": "bucket", "bucket": "c", "region": "us-east-1"}, None)])
    writer.close()
    assert journal.read(tmp_path, after=0).buckets == {"b": "us-east-1", "c": "us-east-1"}
