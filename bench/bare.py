"""The bare side: in-process XGBoost doing what the emulator's jobs do, one phase per child process.

Run as `python -m bench.bare train|transform ...`; prints one JSON object: the phase's wall and CPU time
(measured after the imports, as the emulator's jobs are forked from a process that has imported XGBoost
already) and the process's peak RSS. Each phase runs in its own process so that its memory is its own.

* train: load the CSV as the container does (XGBoost's text reader, label in column 0), train the fixed number
  of rounds with the train set as the watchlist (the container evaluates it every round), save the model.
* transform: load the model, read the test CSV with XGBoost's (multi-threaded) text reader, predict, and write
  what the container answers in a batch transform: `str()` of each float32 prediction, one per line.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import xgboost as xgb

from .workload import bare_params


def train(train_csv: str, model_path: str, rounds: int) -> int:
    dtrain = _read_csv(train_csv + "?format=csv&label_column=0")
    booster = xgb.train(bare_params(), dtrain, num_boost_round=rounds, evals=[(dtrain, "train")],
                        verbose_eval=False)
    booster.save_model(model_path)
    return int(dtrain.num_row())


def transform(model_path: str, test_csv: str, output_path: str) -> int:
    booster = xgb.Booster(model_file=model_path)
    dtest = _read_csv(test_csv + "?format=csv")
    predictions = booster.predict(dtest)
    with open(output_path, "w") as handle:
        handle.write("\n".join(map(str, predictions.tolist())) + "\n")
    return int(dtest.num_row())


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
    transform_parser = commands.add_parser("transform")
    transform_parser.add_argument("model")
    transform_parser.add_argument("test_csv")
    transform_parser.add_argument("output")
    args = parser.parse_args(argv)

    cpu_start, start = _cpu_seconds(), time.perf_counter()
    if args.command == "train":
        rows = train(args.train_csv, args.model, args.rounds)
    else:
        rows = transform(args.model, args.test_csv, args.output)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rows": rows, "max_rss_bytes": peak}), flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
