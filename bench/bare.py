"""The bare side: in-process XGBoost doing what the emulator's jobs do, one phase per child process.

Run as `python -m bench.bare train|transform ...`; prints one JSON object: the phase's wall and CPU time
(measured after the imports, as the emulator's jobs are forked from a process that has imported XGBoost
already) and the process's peak RSS. Each phase runs in its own process so that its memory is its own.

* train: load the CSV as the container's training does (XGBoost's text reader, label in column 0), train the
  fixed number of rounds with the train set as the watchlist (the container evaluates it every round), save
  the model.
* transform: load the model, read the test CSV as the container's inference reads CSV (numbers parsed to
  float64, then given to XGBoost, which narrows them to float32; pandas' C reader parses them to the same
  doubles), predict, and write what the container answers in a batch transform: `str()` of each float32
  prediction, one per line. XGBoost's own text reader would parse straight to float32, which is another
  computation: a value on a rounding boundary can become another float32, and so another prediction.
* transform-native: the same with XGBoost's own multi-threaded text reader, the quickest way to predict a CSV
  in process. Not what the container computes; measured to show what the container-faithful parse costs.
* latency: the container's own inference code in process: `serving.load_model` of an extracted model
  artifact, then `serving.predict` of one request body (text/csv, real time) again and again; the seconds of
  each call.
* throughput: the same code answering 100-row requests from `c` processes forked after the model is loaded (the
  container's model server runs one process per worker), each answering its share, for each concurrency level
  `c`; rows/s from the moment all are ready until the last has answered.
* tuning: the trainings of a tuning job's children, given their tuned hyperparameters: each reads the train and
  validation CSVs as the container does, trains with the train then the validation set as the watchlist and the
  child's early stopping, and gives the last validation metric it evaluated (what the child's log shows last, and
  so its objective). With `workers` 1 they run one after another in this process; with more, in that many
  processes forked before any training (libgomp's threads do not survive a fork), each taking the next point as
  it becomes free, as the tuner launches the next child when one ends.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from backends.emulator.algorithms.xgboost import serving

from .datasets import request_bodies
from .workload import bare_params, bare_tuning_params, image_version


def train(train_csv: str, model_path: str, rounds: int) -> int:
    dtrain = _read_csv(train_csv + "?format=csv&label_column=0")
    booster = xgb.train(bare_params(), dtrain, num_boost_round=rounds, evals=[(dtrain, "train")],
                        verbose_eval=False)
    booster.save_model(model_path)
    return int(dtrain.num_row())


def transform(model_path: str, test_csv: str, output_path: str) -> int:
    booster = xgb.Booster(model_file=model_path)
    # pandas < 3 needs round_trip to give the correctly rounded doubles (3.x does by default).
    options = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    features = pd.read_csv(test_csv, header=None, dtype=np.float64, **options).to_numpy()
    dtest = xgb.DMatrix(features)
    predictions = booster.predict(dtest)
    with open(output_path, "w") as handle:
        handle.write("\n".join(map(str, predictions.tolist())) + "\n")
    return int(dtest.num_row())


def transform_native(model_path: str, test_csv: str, output_path: str) -> int:
    booster = xgb.Booster(model_file=model_path)
    dtest = _read_csv(test_csv + "?format=csv")
    predictions = booster.predict(dtest)
    with open(output_path, "w") as handle:
        handle.write("\n".join(map(str, predictions.tolist())) + "\n")
    return int(dtest.num_row())


def latency(model_dir: str, body_file: str, samples: int, warmup: int) -> dict[str, Any]:
    model = serving.load_model(model_dir, image_version())
    body = Path(body_file).read_bytes()
    for _ in range(warmup):
        answer = _answer(model, body)
    seconds = []
    for _ in range(samples):
        start = time.perf_counter()
        answer = _answer(model, body)
        seconds.append(time.perf_counter() - start)
    return {"latencies": seconds, "answer": answer.decode(), "rows": samples}


def throughput(model_dir: str, bodies_file: str, rows_per_request: int, requests: int,
               levels: list[int]) -> dict[str, Any]:
    model = serving.load_model(model_dir, image_version())
    bodies = request_bodies(Path(bodies_file).read_bytes(), rows_per_request)
    rates = {str(concurrency): requests * rows_per_request / _forked_seconds(model, bodies, concurrency, requests)
             for concurrency in levels}
    return {"rates": rates, "rows": requests * rows_per_request * len(levels)}


def tuning(train_csv: str, validation_csv: str, points_file: str, rounds: int, early_stopping_rounds: int,
           workers: int) -> dict[str, Any]:
    points = json.loads(Path(points_file).read_text())
    jobs = [_TuningChild(train_csv, validation_csv, point, rounds, early_stopping_rounds) for point in points]
    if workers == 1:
        objectives = [_tuning_child(job) for job in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            objectives = pool.map(_tuning_child, jobs, chunksize=1)
            pool.close()
            pool.join()  # reaped, so that their CPU time counts as this command's
    return {"objectives": objectives, "rows": len(points)}


@dataclass(frozen=True)
class _TuningChild:
    train_csv: str
    validation_csv: str
    point: dict[str, str]  # its tuned hyperparameters
    rounds: int  # num_round
    early_stopping_rounds: int


def _tuning_child(child: _TuningChild) -> float:
    """One child's training: its last validation metric."""
    params = bare_tuning_params(child.point)
    dtrain = _read_csv(child.train_csv + "?format=csv&label_column=0")
    dvalidation = _read_csv(child.validation_csv + "?format=csv&label_column=0")
    history: dict[str, dict[str, list[float]]] = {}
    xgb.train(params, dtrain, num_boost_round=child.rounds, evals=[(dtrain, "train"), (dvalidation, "validation")],
              early_stopping_rounds=child.early_stopping_rounds, evals_result=history, verbose_eval=False)
    return float(history["validation"][params["eval_metric"]][-1])


def _forked_seconds(model: serving.LoadedModel, bodies: list[bytes], concurrency: int, requests: int) -> float:
    """Seconds for `concurrency` forked processes to answer `requests` requests, shared out evenly, from the moment
    all are ready (forked and warmed up)."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    try:
        pids = []
        for worker in range(concurrency):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child ends with os._exit
                code = 1
                try:
                    _answer(model, bodies[worker % len(bodies)])  # warm-up
                    os.write(ready_write, b"r")
                    os.read(go_read, 1)
                    for index in range(worker, requests, concurrency):
                        _answer(model, bodies[index % len(bodies)])
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        ready = 0
        while ready < concurrency:
            ready += len(os.read(ready_read, concurrency - ready))
        start = time.perf_counter()
        os.write(go_write, b"g" * concurrency)
        failed = [pid for pid in pids if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
        seconds = time.perf_counter() - start
    finally:
        for fd in (ready_read, ready_write, go_read, go_write):
            os.close(fd)
    if failed:
        raise RuntimeError(f"{len(failed)} of {concurrency} bare throughput processes failed")
    return seconds


def _answer(model: serving.LoadedModel, body: bytes) -> bytes:
    """The container's real-time answer to a text/csv request."""
    result = serving.predict(model, body, "text/csv", None, batch=False)
    if result.status != 200:
        raise RuntimeError(f"serving.predict answered {result.status}: {result.body[:200]!r}")
    return result.body


def _read_csv(uri: str) -> xgb.DMatrix:
    with warnings.catch_warnings():
        # XGBoost 3.1+ warns that text input is deprecated; it is what the container uses.
        warnings.simplefilter("ignore")
        return xgb.DMatrix(uri)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train")
    train_parser.add_argument("train_csv")
    train_parser.add_argument("model")
    train_parser.add_argument("rounds", type=int)
    for command in ("transform", "transform-native"):
        transform_parser = commands.add_parser(command)
        transform_parser.add_argument("model")
        transform_parser.add_argument("test_csv")
        transform_parser.add_argument("output")
    latency_parser = commands.add_parser("latency")
    latency_parser.add_argument("model_dir")
    latency_parser.add_argument("body")
    latency_parser.add_argument("samples", type=int)
    latency_parser.add_argument("warmup", type=int)
    throughput_parser = commands.add_parser("throughput")
    throughput_parser.add_argument("model_dir")
    throughput_parser.add_argument("bodies")
    throughput_parser.add_argument("rows_per_request", type=int)
    throughput_parser.add_argument("requests", type=int)
    throughput_parser.add_argument("levels", help="concurrency levels, comma-separated")
    tuning_parser = commands.add_parser("tuning")
    tuning_parser.add_argument("train_csv")
    tuning_parser.add_argument("validation_csv")
    tuning_parser.add_argument("points", help="a JSON list of the children's tuned hyperparameters")
    tuning_parser.add_argument("rounds", type=int, help="the children's num_round")
    tuning_parser.add_argument("early_stopping_rounds", type=int)
    tuning_parser.add_argument("workers", type=int)
    args = parser.parse_args(argv)

    cpu_start, start = _cpu_seconds(), time.perf_counter()
    extra: dict[str, Any] = {}
    if args.command == "train":
        rows = train(args.train_csv, args.model, args.rounds)
    elif args.command == "transform":
        rows = transform(args.model, args.test_csv, args.output)
    elif args.command == "transform-native":
        rows = transform_native(args.model, args.test_csv, args.output)
    elif args.command == "latency":
        extra = latency(args.model_dir, args.body, args.samples, args.warmup)
        rows = extra.pop("rows")
    elif args.command == "throughput":
        extra = throughput(args.model_dir, args.bodies, args.rows_per_request, args.requests,
                           [int(level) for level in args.levels.split(",")])
        rows = extra.pop("rows")
    else:
        extra = tuning(args.train_csv, args.validation_csv, args.points, args.rounds, args.early_stopping_rounds,
                       args.workers)
        rows = extra.pop("rows")
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    result = {"seconds": seconds, "cpu_seconds": cpu, "rows": rows, "max_rss_bytes": peak, **extra}
    print(json.dumps(result), flush=True)


def _cpu_seconds() -> float:
    """Every thread of this process, and the processes it forked and waited for (tuning's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
