"""The snapshot's pieces that need no server: PutLogEvents batches and which snapshot directory is current."""

from __future__ import annotations

from pathlib import Path

from backends.emulator.snapshot import SNAPSHOT_DIR, _batches, _current, _swap_in


def test_log_events_are_sent_within_putlogevents_limits() -> None:
    many = [{"timestamp": i, "message": "x"} for i in range(25_000)]
    assert [len(batch) for batch in _batches(many)] == [10_000, 10_000, 5_000]
    large = [{"timestamp": i, "message": "y" * 300_000} for i in range(7)]
    batches = list(_batches(large))
    assert [len(batch) for batch in batches] == [3, 3, 1]  # 3 x (300,000 + 26) bytes fit in 1,048,576
    assert [event for batch in batches for event in batch] == large
    assert list(_batches([])) == []


def test_a_save_cut_off_between_its_renames_leaves_a_loadable_snapshot(tmp_path: Path) -> None:
    assert _current(tmp_path) is None
    first = tmp_path / "first"
    first.mkdir()
    (first / "manifest.json").write_text("{}")
    _swap_in(first, tmp_path / SNAPSHOT_DIR)
    assert _current(tmp_path) == tmp_path / SNAPSHOT_DIR
    # The moment between renaming the old snapshot away and the new one in: the old one is found.
    (tmp_path / SNAPSHOT_DIR).rename(tmp_path / f"{SNAPSHOT_DIR}.previous")
    assert _current(tmp_path) == tmp_path / f"{SNAPSHOT_DIR}.previous"
    second = tmp_path / "second"
    second.mkdir()
    (second / "manifest.json").write_text('{"s3": []}')
    _swap_in(second, tmp_path / SNAPSHOT_DIR)
    assert (tmp_path / SNAPSHOT_DIR / "manifest.json").read_text() == '{"s3": []}'
    assert not (tmp_path / f"{SNAPSHOT_DIR}.previous").exists()
