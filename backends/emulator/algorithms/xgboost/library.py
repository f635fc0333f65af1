"""XGBoost's own Python API where it differs between the releases the images pin (0.90 ... 3.2).

The runner code runs on whichever XGBoost is imported: the image's own release inside a runtime (see
backends/emulator/runtimes), or the emulator's XGBoost standing in for every image. Every library call whose
spelling or meaning changed between those releases goes through this module, so the rest reads as one
program. What changed (read from each release's python-package):

* parameters: `xgb.train` turns a list-valued `eval_metric` into repeated (name, value) pairs in every
  release, and `Booster()` does so itself only from 1.3: the pairs are built here, as `xgb.train` would;
* `predict(training=)` exists from 1.0; the tree limit is `ntree_limit` (in trees) up to 1.7, and
  `iteration_range` (in rounds, from 1.4) is the only one from 2.0;
* the model's feature count is `num_features()` from 1.4; before, `len(feature_names)`, which the Booster
  takes from its training DMatrix (`f0` ... `fN`);
* the text reader takes `delimiter=` and `weight_column=` from 0.80 (0.72 reads commas only);
* `save_config()` exists from 1.0 (`num_parallel_tree` is read from it);
* `save_model(name)` writes a name without extension in XGBoost's binary format up to 1.7 and in UBJSON from
  2.1; `save_raw(raw_format=)` exists from 1.6, and from 3.1 the binary format can no longer be written.

`is_release(x)` says whether the imported library is the image's release `x`. When it is, the runner lets
the library do what it does (its default metrics, warnings, parameter handling and save format) instead of
emulating those of an older release on a newer one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

RELEASE = str(xgb.__version__)


def _parts(release: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in release.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


_RELEASE = _parts(RELEASE)
HAS_TRAINING_FLAG = _RELEASE >= (1, 0)
HAS_NTREE_LIMIT = _RELEASE < (2, 0)
HAS_SAVE_CONFIG = _RELEASE >= (1, 0)
WRITES_BINARY_FORMAT = _RELEASE < (3, 1)
# 0.72's CSV reader knows only `format` and `label_column` (no `delimiter`, no `weight_column`).
CSV_READER_OPTIONS = _RELEASE >= (0, 80)
# The distributed engine: `xgboost.rabit` and a Python tracker up to 1.7, `xgboost.collective` and the native
# tracker from 2.0 (0.72 and 0.90 have `rabit` but no tracker).
HAS_COLLECTIVE_TRACKER = _RELEASE >= (2, 0)


def release_parts(release: str) -> tuple[int, ...]:
    """(1, 7, 4) for "1.7.4"; (0, 72, 1) for "0.72.1"."""
    return _parts(release)


def broadcast(value: Any, root: int) -> Any:
    """The engine's broadcast of a picklable value from rank `root` (every host calls it)."""
    if HAS_COLLECTIVE_TRACKER:
        from xgboost import collective

        return collective.broadcast(value, root)
    rabit: Any = importlib.import_module("xgboost.rabit")  # gone from 2.0, so not in the type stubs
    return rabit.broadcast(value, root)


def is_release(release: str) -> bool:
    """Whether the imported XGBoost is `release` ("0.72" matches 0.72.1, the only 0.72 on PyPI)."""
    wanted = _parts(release)
    return _RELEASE[: len(wanted)] == wanted


def booster(params: Mapping[str, Any], cache: list[xgb.DMatrix]) -> xgb.Booster:
    """`Booster(params, cache)` as `xgb.train` creates it."""
    return xgb.Booster(parameter_pairs(params), cache)


def parameter_pairs(params: Mapping[str, Any]) -> dict[str, Any] | list[tuple[str, Any]]:
    metrics = params.get("eval_metric")
    if not isinstance(metrics, (list, tuple)):  # a tuple, not X | Y: the 0.72 runtime is 3.9
        return dict(params)
    pairs = [(name, value) for name, value in params.items() if name != "eval_metric"]
    return pairs + [("eval_metric", metric) for metric in metrics]


def predict(
    booster: xgb.Booster,
    dmatrix: xgb.DMatrix,
    output_margin: bool = False,
    tree_limit: int = 0,
    round_limit: int = 0,
    validate_features: bool = True,
) -> np.ndarray:
    """`booster.predict` with at most `tree_limit` trees (releases < 2.0: the container's `ntree_limit`) or
    `round_limit` rounds (2.0+: `iteration_range`); 0 means every tree. Never the training-mode prediction."""
    options: dict[str, Any] = {"output_margin": output_margin, "validate_features": validate_features}
    if HAS_TRAINING_FLAG:
        options["training"] = False
    if HAS_NTREE_LIMIT:
        if tree_limit:
            options["ntree_limit"] = tree_limit
    elif round_limit:
        options["iteration_range"] = (0, round_limit)
    result: np.ndarray = booster.predict(dmatrix, **options)
    return result


def trained_model(booster: xgb.Booster, release: str) -> xgb.Booster:
    """The model as `xgb.train` of the image's `release` returns it.

    From 1.2 to 2.x `train` ends with `return bst.copy()`: the model is serialized and loaded again, which
    rewrites parts of the trees (the left-child flag in a node's parent field) that `save_model` then writes.
    0.72 ... 1.0 return the booster itself, and 3.x `bst.reset()`, which only frees training caches.
    """
    if (1, 2) <= _parts(release) < (3, 0):
        return booster.copy()
    return booster


def record_best(booster: xgb.Booster, release: str, best_iteration: int, trees: int, early_stopped: bool) -> None:
    """The attributes `xgb.train` of the image's `release` leaves in the model after training, given those
    the early-stopping callback set (`best_iteration`, `best_score`, on the model cut to its best round).

    Read from each release's training.py and callback.py, and checked by running them: 1.5 ... 1.7 store
    `best_iteration` and `best_ntree_limit` whether early stopping ran or not, because `save_best`'s slice of
    the model drops the callback's `best_iteration` and `best_score` (XGBoosterSlice from 1.5), so `train`
    takes the sliced model's last round as its best. 1.3 keeps the slice's attributes and stores none itself;
    the legacy releases (<= 1.2) and 3.x store none either (Python attributes only).
    """
    if (1, 5) <= _parts(release) < (2, 0):
        if early_stopped:
            booster.set_attr(best_score=None)
        booster.set_attr(best_iteration=str(best_iteration), best_ntree_limit=str(trees))


def num_features(booster: xgb.Booster) -> int:
    counter = getattr(booster, "num_features", None)
    if counter is not None:
        return int(counter())
    names = getattr(booster, "feature_names", None)
    return len(names) if names is not None else 0


def num_parallel_tree(booster: xgb.Booster) -> int:
    if not HAS_SAVE_CONFIG:
        return 1  # 0.90 has no config to read; its predictions use ntree_limit (trees) anyway
    import json

    gradient_booster = json.loads(booster.save_config())["learner"]["gradient_booster"]
    tree_model = gradient_booster.get("gbtree", gradient_booster)  # dart nests its gbtree
    params = tree_model.get("gbtree_model_param")
    return int(params["num_parallel_tree"]) if params else 1


def save_model_bytes(booster: xgb.Booster) -> bytes:
    """What `booster.save_model("xgboost-model")` writes with this release: its default for a file name
    without extension (binary up to 1.7, UBJSON from 2.1)."""
    with tempfile.TemporaryDirectory(prefix="xgboost-model-") as directory:
        path = os.path.join(directory, "xgboost-model")
        with _quiet():
            booster.save_model(path)
        return Path(path).read_bytes()


def raw_bytes(booster: xgb.Booster, raw_format: str) -> bytes:
    """The model in `raw_format` ("json" or "ubj"), for releases that have `save_raw(raw_format=)`."""
    return bytes(booster.save_raw(raw_format=raw_format))


def load_booster(data: bytes) -> xgb.Booster:
    """A Booster from XGBoost's own formats (every release reads a bytearray buffer)."""
    loaded = xgb.Booster()
    loaded.load_model(bytearray(data))
    return loaded


def text_dmatrix(uri: str) -> xgb.DMatrix:
    """A DMatrix from XGBoost's text reader (`path;path?format=csv&...`)."""
    with warnings.catch_warnings():
        # XGBoost 3.1+ warns that text input is deprecated; the container's behaviour is what is wanted.
        warnings.simplefilter("ignore")
        return xgb.DMatrix(uri)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # 2.1+ warn that an extension-less name means UBJSON; the container's log has that line from XGBoost's
    # own logger, which the job's stderr captures anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
