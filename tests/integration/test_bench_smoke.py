"""`python -m bench --smoke`: the benchmark runs end to end and produces every figure, the real-time endpoint's
(latency, throughput) and the SingleRecord/MultiRecord comparison's included.

Only completeness is checked, never a duration: timings belong in bench/RESULTS.md, not in a test that a busy CI
machine could fail.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from bench.report import FIGURES, ROWS

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_produces_every_figure(tmp_path: Path) -> None:
    markdown, figures = tmp_path / "RESULTS.md", tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(markdown), "--json", str(figures),
         "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]

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

    table = markdown.read_text()
    assert result.stdout == table  # printed as written
    for label, _cells in ROWS.values():
        assert f"| {label} |" in table, f"table row missing: {label}"
    assert "n/a" not in table
    # The temporary data directory is removed at the end.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("harness-bench-")] == []
