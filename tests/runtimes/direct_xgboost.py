"""Plain XGBoost, run by a runtime's interpreter: train on CSV files and print the predictions as the
container's batch transform does (one `str(float)` per line, a Python list per row for probabilities).

It uses the library only, never the emulator's code, each release the way its own documentation says:
`xgb.train(early_stopping_rounds=)` and `predict(ntree_limit=best_ntree_limit)` up to 1.2 (what those
images do), and no early stopping from 1.3 when no eval_metric is named (the images then train every round).

Usage: python direct_xgboost.py '{"train": ..., "validation": ... or null, "test": ..., "hyperparameters": {...}}'
"""

import json
import os
import sys

import numpy as np
import xgboost as xgb


def release():
    parts = []
    for piece in xgb.__version__.split(".")[:2]:
        parts.append(int("".join(ch for ch in piece if ch.isdigit())))
    return tuple(parts)


def typed(value):
    """The number a hyperparameter string holds, as the container parses it (0.90's train needs an int
    num_class)."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def main(request):
    hyperparameters = {name: typed(value) for name, value in request["hyperparameters"].items()}
    rounds = int(hyperparameters.pop("num_round"))
    stopping = hyperparameters.pop("early_stopping_rounds", None)
    params = dict(hyperparameters, nthread=os.cpu_count())
    dtrain = xgb.DMatrix(request["train"] + "?format=csv&label_column=0")
    evals = [(dtrain, "train")]
    if request.get("validation"):
        evals.append((xgb.DMatrix(request["validation"] + "?format=csv&label_column=0"), "validation"))
    legacy = release() < (1, 3)
    options = {}
    if stopping is not None and legacy:
        options["early_stopping_rounds"] = int(stopping)
    booster = xgb.train(params, dtrain, num_boost_round=rounds, evals=evals, verbose_eval=False, **options)
    test = np.loadtxt(request["test"], delimiter=",", ndmin=2)
    predict_options = {"ntree_limit": booster.best_ntree_limit} if legacy else {}
    predictions = booster.predict(xgb.DMatrix(test), validate_features=False, **predict_options)
    if predictions.ndim == 1:
        return [str(float(value)) for value in predictions]
    return [str([float(value) for value in row]) for row in predictions]


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
