"""A user's script that embeds the emulator, with no `if __name__ == "__main__"` guard, runs exactly once:
job processes are forked from the warm process server, never by re-importing the user's main module."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import sys
    with open(sys.argv[1], "a") as marker:
        marker.write("ran\\n")
    from backends import create_backend
    from fixtures.datasets import load_boston
    from harness.workflow import Workflow, WorkflowOptions
    backend = create_backend("emulator")
    backend.start()
    options = WorkflowOptions(data_dir=__import__("pathlib").Path(sys.argv[2]) / "data",
                              output_dir=__import__("pathlib").Path(sys.argv[2]) / "out",
                              hyperparameters={"num_round": "5"})
    result = Workflow(backend, options).run(*load_boston())
    backend.stop()
    print(result.metrics.count)
""")


def test_unguarded_script_runs_once(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(marker), str(tmp_path)], capture_output=True,
                            text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["167"]  # 33 % of 506 rows, one prediction each
    assert marker.read_text() == "ran\n"
