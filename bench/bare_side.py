"""Running the bare side: each phase as a `python -m bench.bare` child, its memory sampled from outside (the child
and the processes it forks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .datasets import DataFiles
from .measurements import BareRun, Phase
from .sampling import TreeSampler


def run_bare(files: DataFiles, rounds: int, workdir: Path) -> BareRun:
    """Train on `files.train`, then transform `files.test` both ways; predictions land in `bare_output(workdir)`
    and `bare_output(workdir, native=True)`."""
    model = workdir / "bare-model.ubj"
    training, training_rss, _ = _child(["train", str(files.train), str(model), str(rounds)])
    transform, transform_rss, rows = _child(["transform", str(model), str(files.test), str(bare_output(workdir))])
    native, native_rss, _ = _child(["transform-native", str(model), str(files.test),
                                    str(bare_output(workdir, native=True))])
    return BareRun(training, transform, rows, max(training_rss, transform_rss, native_rss), native)


def bare_output(workdir: Path, native: bool = False) -> Path:
    return workdir / ("bare-native-test.csv.out" if native else "bare-test.csv.out")


def bare_transform(model: Path, test_csv: Path, output: Path) -> Phase:
    """The bare transform of `test_csv` with `model` (an XGBoost model file), predictions in `output`."""
    phase, _, _ = _child(["transform", str(model), str(test_csv), str(output)])
    return phase


def bare_latencies(model_dir: Path, body: Path, samples: int, warmup: int) -> tuple[list[float], bytes]:
    """Seconds of each of `samples` `serving.predict` calls answering `body` (after `warmup` untimed ones), and
    the answer."""
    result, _ = _run(["latency", str(model_dir), str(body), str(samples), str(warmup)])
    return [float(value) for value in result["latencies"]], str(result["answer"]).encode()


def bare_throughput(model_dir: Path, bodies: Path, rows_per_request: int, requests: int,
                    levels: tuple[int, ...]) -> dict[int, float]:
    """Rows/s of `serving.predict` answering `requests` requests from `c` forked processes, for each `c` of
    `levels`."""
    result, _ = _run(["throughput", str(model_dir), str(bodies), str(rows_per_request), str(requests),
                      ",".join(map(str, levels))])
    return {int(level): float(rate) for level, rate in result["rates"].items()}


def bare_tuning(train: Path, validation: Path, points: list[dict[str, str]], static: dict[str, str], workers: int,
                workdir: Path) -> tuple[Phase, list[float]]:
    """The trainings of tuning children with tuned hyperparameters `points` and the static hyperparameters `static`
    (num_round and early_stopping_rounds; the others are `bare_tuning_params`'), one after another (`workers` 1)
    or in `workers` forked processes: the phase, and each training's last validation metric, in `points` order."""
    points_file = workdir / "tuning-points.json"
    points_file.write_text(json.dumps(points))
    result, sampler = _run(["tuning", str(train), str(validation), str(points_file), static["num_round"],
                            static["early_stopping_rounds"], str(workers)])
    return _phase(result, sampler), [float(value) for value in result["objectives"]]


def _child(args: list[str]) -> tuple[Phase, int, int]:
    """(phase, the child's own ru_maxrss, rows) of one `bench.bare` command."""
    result, sampler = _run(args)
    return _phase(result, sampler), int(result["max_rss_bytes"]), int(result["rows"])


def _phase(result: dict[str, Any], sampler: TreeSampler) -> Phase:
    # A child too quick for a single sample (smoke runs) falls back to its own peak RSS.
    peak = max((s.rss_bytes for s in sampler.samples), default=0) or int(result["max_rss_bytes"])
    return Phase(result["seconds"], peak, result["cpu_seconds"])


def _run(args: list[str]) -> tuple[dict[str, Any], TreeSampler]:
    """The JSON result of one `bench.bare` command, and the samples of its memory."""
    # bench/ is not part of the installed package: let the child import it from this checkout, whatever its cwd.
    checkout = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen([sys.executable, "-m", "bench.bare", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
    with TreeSampler(process.pid) as sampler:
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench.bare {args[0]} failed ({process.returncode}):\n{stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result, sampler
