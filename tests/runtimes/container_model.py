"""A runtime's interpreter doing what the image's container code does with `xgboost-model`, using the library
only: `write` trains with `xgb.train` and saves the model as that image's train.py does (pickle.dump for
<= 1.2, protocol 4 from 1.2; `save_model` from 1.3); `predict` loads it as its serve_utils does (pickle.load,
else `Booster().load_model`) and predicts with `best_ntree_limit` as it does (`ntree_limit` up to 1.7,
`iteration_range` from 2.0).

`train` is the 1.3-1+ containers' training call (train.py `train_job` with callback.py `get_callbacks`):
`xgb.train(..., evals=[train, validation], callbacks=[EvaluationMonitor(), EarlyStopping(save_best=True)],
verbose_eval=False)` then `save_model`; `resave` is `Booster(model_file=).copy()` saved again (what `train`'s
`return bst.copy()` does to a model); `attributes` reads a model's attributes.

Usage: python container_model.py write '{"train": ..., "hyperparameters": {...}, "model": path, "protocol": n}'
       python container_model.py predict '{"model": path, "test": path}'
       python container_model.py train '{"train": ..., "validation": ..., "hyperparameters": {...},
                                         "stopping_metric": name or null, "model": path}'
       python container_model.py resave '{"model": path, "to": path}'
       python container_model.py attributes '{"model": path}'
"""

import json
import os
import pickle
import sys

import numpy as np
import xgboost as xgb
from direct_xgboost import typed  # this script's directory is on sys.path


def release():
    return tuple(int("".join(c for c in p if c.isdigit())) for p in xgb.__version__.split(".")[:2])


def write(request):
    hyperparameters = dict(request["hyperparameters"])
    rounds = int(hyperparameters.pop("num_round"))
    dtrain = xgb.DMatrix(request["train"] + "?format=csv&label_column=0")
    booster = xgb.train(dict(hyperparameters, nthread=os.cpu_count()), dtrain, num_boost_round=rounds)
    if release() < (1, 3):
        with open(request["model"], "wb") as handle:
            pickle.dump(booster, handle, protocol=request["protocol"])
    else:
        booster.save_model(request["model"])
    return "ok"


def predict(request):
    try:
        with open(request["model"], "rb") as handle:
            booster = pickle.load(handle)
    except Exception:
        booster = xgb.Booster()
        booster.load_model(request["model"])
    limit = getattr(booster, "best_ntree_limit", 0)
    dtest = xgb.DMatrix(np.loadtxt(request["test"], delimiter=",", ndmin=2))
    if release() < (2, 0):
        predictions = booster.predict(dtest, ntree_limit=limit, validate_features=False)
    elif limit:
        predictions = booster.predict(dtest, iteration_range=(0, limit), validate_features=False)
    else:
        predictions = booster.predict(dtest, validate_features=False)
    if predictions.ndim == 1:
        return [str(float(value)) for value in predictions]
    return [str([float(value) for value in row]) for row in predictions]


def train(request):
    hyperparameters = {name: typed(value) for name, value in request["hyperparameters"].items()}
    rounds = hyperparameters.pop("num_round")
    stopping_rounds = hyperparameters.pop("early_stopping_rounds", None)
    dtrain = xgb.DMatrix(request["train"] + "?format=csv&label_column=0")
    dval = xgb.DMatrix(request["validation"] + "?format=csv&label_column=0")
    callbacks: list = [xgb.callback.EvaluationMonitor()]
    if stopping_rounds and request["stopping_metric"]:
        callbacks.append(xgb.callback.EarlyStopping(
            rounds=stopping_rounds, data_name="validation", metric_name=request["stopping_metric"],
            maximize=False, save_best=True))
    booster = xgb.train(dict(hyperparameters, nthread=os.cpu_count()), dtrain, num_boost_round=rounds,
                        evals=[(dtrain, "train"), (dval, "validation")], callbacks=callbacks, verbose_eval=False)
    booster.save_model(request["model"])
    rounds = len(booster.get_dump())  # one tree per round here; num_boosted_rounds() exists from 1.4
    return {"rounds": rounds, "attributes": attributes(request)}


def resave(request):
    xgb.Booster(model_file=request["model"]).copy().save_model(request["to"])
    return "ok"


def attributes(request):
    return xgb.Booster(model_file=request["model"]).attributes()


if __name__ == "__main__":
    actions = {"write": write, "predict": predict, "train": train, "resave": resave, "attributes": attributes}
    action = actions[sys.argv[1]]
    print(json.dumps(action(json.loads(sys.argv[2]))))
