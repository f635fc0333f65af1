"""`python -m bench --smoke`: the benchmark runs end to end and produces every figure, the real-time endpoint's
(latency, throughput), the SingleRecord/MultiRecord comparison's and the tuning job's (4 children, 2 at a time)
included; `--only tuning` measures that part alone and keeps the rest of the document it writes to.

Only completeness is checked, never a duration: timings belong in bench/RESULTS.md, not in a test that a busy CI
machine could fail.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from backends.emulator.runtimes.store import ENV_VAR as RUNTIMES_VARIABLE
from bench.report import FIGURES, PART_FIGURES, ROWS, TUNING_HEADING, TUNING_ROWS, sections
from bench.settings import BenchSettings
from tests.runtimes.helpers import RUNTIMES_DIR

ROOT = Path(__file__).resolve().parents[2]
SMOKE = BenchSettings().as_smoke()


def _bench(tmp_path: Path, markdown: Path, figures: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", *args, "--output", str(markdown), "--json", str(figures),
         "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        # The script-mode part installs the sklearn runtime where the runtime tests keep theirs: once per machine.
        env={**os.environ, RUNTIMES_VARIABLE: str(RUNTIMES_DIR)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def _assert_same_tuning_work(values: dict[str, Any]) -> None:
    """Every child completed, and bare training of each child's hyperparameters (one after another, and as many
    at once) ended with the child's objective: both sides did the same work."""
    assert values["tuning.jobs"] == SMOKE.tuning_jobs
    assert values["tuning.children"] == [SMOKE.tuning_jobs] * SMOKE.repeat
    assert values["tuning.compared_objectives"] == 2 * SMOKE.repeat * SMOKE.tuning_jobs
    assert values["tuning.differing_objectives"] == 0
    assert values["tuning.max_objective_difference"] <= 1e-5


def test_smoke_run_produces_every_figure(tmp_path: Path) -> None:
    markdown, figures = tmp_path / "RESULTS.md", tmp_path / "figures.json"
    result = _bench(tmp_path, markdown, figures)

    values = json.loads(figures.read_text())
    missing = [name for name in FIGURES if name not in values]
    assert not missing, f"figures missing: {missing}"
    not_finite = {name: values[name] for name in FIGURES if not math.isfinite(values[name])}
    assert not not_finite, f"figures not finite: {not_finite}"

    # The endpoint answers as serving.predict does, and SingleRecord transforms as MultiRecord does, byte for byte.
    assert values["endpoint.differing_answers"] == 0
    assert values["strategies.differing_lines"] == 0
    assert values["strategies.differing_bare_lines"] == 0
    # Every row of the endpoint and batch-strategy measurements ran (latency, throughput at each concurrency).
    assert all(f"endpoint.throughput_c{c}.ratio" in values for c in (1, 2, 4, 8))
    _assert_same_tuning_work(values)

    table = markdown.read_text()
    assert result.stdout == table  # printed as written
    for label, _cells in ROWS.values():
        assert f"| {label} |" in table, f"table row missing: {label}"
    assert "n/a" not in table
    # The temporary data directory is removed at the end.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("harness-bench-")] == []


def test_only_tuning_replaces_its_section_and_keeps_the_others(tmp_path: Path) -> None:
    # A document a full run wrote: its main table stays as it is, its tuning section is measured again.
    markdown, figures = tmp_path / "RESULTS.md", tmp_path / "figures.json"
    main_table = (ROOT / "bench" / "RESULTS.md").read_text().split(TUNING_HEADING)[0].rstrip("\n")
    previous = f"{main_table}\n\n{TUNING_HEADING}\n\nAn earlier run's tuning section.\n"
    markdown.write_text(previous)
    result = _bench(tmp_path, markdown, figures, "--only", "tuning")

    values = json.loads(figures.read_text())
    assert set(PART_FIGURES["tuning"]) <= set(values)
    assert not set(PART_FIGURES["main"]) & set(values), "--only tuning measured the main table"
    _assert_same_tuning_work(values)

    table = markdown.read_text()
    assert result.stdout == table
    main, tuning = table.split(TUNING_HEADING)
    assert main.split("\n", 1)[1] == previous.split(TUNING_HEADING)[0].split("\n", 1)[1]  # but the title line
    assert "An earlier run's tuning section." not in tuning
    assert f"A tuning job of {SMOKE.tuning_jobs} training jobs, {SMOKE.tuning_parallel} at a time" in tuning
    for label, _cells in TUNING_ROWS.values():
        assert f"| {label} |" in tuning, f"table row missing: {label}"
    assert "n/a" not in tuning


def test_sections_of_a_written_document() -> None:
    """What a run of some parts keeps: the main table before any heading, the tuning section under its own."""
    main_only = "# Benchmark\n\nMachine: a\n\n| measure |\n|---|\n"
    assert sections(main_only) == {"main": "Machine: a\n\n| measure |\n|---|"}
    both = f"{main_only}\n{TUNING_HEADING}\n\nMachine: b\n\n| measure |\n"
    assert sections(both) == {"main": "Machine: a\n\n| measure |\n|---|",
                              "tuning": f"{TUNING_HEADING}\n\nMachine: b\n\n| measure |"}
    assert sections(f"# Benchmark\n\n{TUNING_HEADING}\n\nMachine: b\n") == {
        "tuning": f"{TUNING_HEADING}\n\nMachine: b"}
