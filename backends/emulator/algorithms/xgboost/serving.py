"""The container's inference: load `xgboost-model`, answer `/invocations` requests.

`predict` returns what the container's Flask view would answer, in its order: 204 for an empty body, 415
when the body does not parse as its Content-Type (none means libsvm), 400 when XGBoost cannot predict,
406 for an Accept it does not serve (checked after predicting, from 1.2-2), then the predictions as text:

* batch transform (SAGEMAKER_BATCH set): `str()` of each float32 prediction as a Python float, one per line,
  with a final newline, whatever the Accept; multiclass probability rows print as Python lists;
* real time, text/csv: one prediction per line (1.2-2+), or all joined by "," (<= 1.2-1);
* real time, application/json: {"predictions": [{"score": ...}, ...]}.

Model loading tries pickle first, then XGBoost's own formats, like the container. A pickled model (images
<= 1.2) predicts with its `best_ntree_limit` trees and gets the container's column-count check.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from ...inference_app import InvocationResult
from . import library
from .content_types import DataFormat, split_media_type
from .model_files import load_pickled_booster, load_xgboost_booster
from .payloads import parse_payload
from .versions import ContainerVersion, LoadErrorStyle, ResponseStyle, get_version

SUPPORTED_ACCEPTS = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
]
DEFAULT_VERSION = "1.7-1"
# Flask's answers carry this type when the view gives none.
_FLASK_DEFAULT_MIMETYPE = "text/html; charset=utf-8"
_FLASK_INTERNAL_ERROR = (
    "The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application."
)


@dataclass(frozen=True)
class LoadedModel:
    booster: xgb.Booster
    path: Path
    pickled: bool
    version: ContainerVersion
    iteration_limit: int  # 0: all trees; otherwise predict with the first `iteration_limit` rounds
    tree_limit: int = 0  # the same limit in trees (`best_ntree_limit`), as XGBoost < 2.0 takes it
    # One request at a time reaches XGBoost, as in the container, whose model server workers each answer one
    # request at a time: releases before 1.4 give wrong predictions when one Booster predicts from several
    # threads at once. Parallelism comes from worker processes (`executor.model_workers`), each with its own.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def num_features(self) -> int:
        return library.num_features(self.booster)


def load_model(model_dir: Path | str, version: str | ContainerVersion = DEFAULT_VERSION) -> LoadedModel:
    """Load the model file of an extracted model.tar.gz (the first non-hidden file, in name order).

    A tar archive beside other files is skipped: SageMaker SDK local mode extracts `model.tar.gz` into the
    model directory and leaves the archive there, where it sorts before `xgboost-model`. An archive alone is
    still tried, and fails to load as in the container.

    `version` is the container version of the model's image; it decides the answers' formats.
    """
    model_dir = Path(model_dir)
    rules = get_version(version)
    files = sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise RuntimeError(f"No model file found in {model_dir}")
    path = next((p for p in files if not tarfile.is_tarfile(p)), files[0])
    data = path.read_bytes()
    try:
        booster = load_pickled_booster(data)
        pickled = True
    except Exception as pickle_error:
        try:
            booster = load_xgboost_booster(data)
            pickled = False
        except Exception as xgb_error:
            raise RuntimeError(*_load_error(rules, model_dir, path, pickle_error, xgb_error)) from xgb_error
    limit = trees = 0
    if pickled:
        # ntree_limit counted trees per class: rounds times num_parallel_tree.
        trees = int(vars(booster).get("best_ntree_limit", 0) or 0)
        limit = trees // library.num_parallel_tree(booster)
    # The container's server runs with OMP_NUM_THREADS=1 and sets nthread=1: one thread per request, and
    # parallelism from concurrent requests (MaxConcurrentTransforms). It also spares small payloads the cost
    # of waking a thread pool, which on a busy machine dwarfs the prediction itself.
    booster.set_param("nthread", "1")
    return LoadedModel(booster, path, pickled, rules, limit, trees)


def predict(
    model: LoadedModel, payload: bytes, content_type: str | None, accept: str | None, batch: bool
) -> InvocationResult:
    if len(payload) == 0:
        return InvocationResult(204, b"", _FLASK_DEFAULT_MIMETYPE)
    with model.lock:
        try:
            dmatrix, data_format = parse_payload(payload, content_type, model.version)
        except Exception as e:
            return InvocationResult(415, str(e).encode(), _FLASK_DEFAULT_MIMETYPE)
        try:
            predictions = _predict(model, dmatrix, data_format)
        except Exception as e:
            return InvocationResult(
                400, f"Unable to evaluate payload provided: {e}".encode(), _FLASK_DEFAULT_MIMETYPE
            )

    values = predictions.tolist()
    if model.version.response_style is ResponseStyle.COMMA_JOINED:
        text = _lines(values) if batch else ",".join(map(str, values))
        return InvocationResult(200, text.encode(), "text/csv")

    try:
        accept_type = _parse_accept(accept)
    except ValueError as e:
        return InvocationResult(406, str(e).encode(), _FLASK_DEFAULT_MIMETYPE)
    if batch:
        return InvocationResult(200, _lines(values).encode(), accept_type)
    if accept_type == "application/json":
        body = json.dumps({"predictions": [{"score": value} for value in values]})
        return InvocationResult(200, body.encode(), accept_type)
    if accept_type == "text/csv":
        return InvocationResult(200, _csv_rows(values).encode(), accept_type)
    # jsonlines and recordio-protobuf have no encoder outside selectable inference: an unhandled error.
    return InvocationResult(500, _FLASK_INTERNAL_ERROR.encode(), _FLASK_DEFAULT_MIMETYPE)


def _predict(model: LoadedModel, dmatrix: xgb.DMatrix, data_format: DataFormat) -> np.ndarray:
    if model.pickled:
        _check_feature_count(model.num_features, dmatrix.num_col(), data_format)
    return library.predict(
        model.booster,
        dmatrix,
        tree_limit=model.tree_limit,
        round_limit=model.iteration_limit,
        validate_features=False,
    )


def _check_feature_count(model_features: int, columns: int, data_format: DataFormat) -> None:
    # The container checks column counts of pickled models only; XGBoost itself rejects more columns than
    # the model has and accepts fewer.
    if data_format is DataFormat.LIBSVM:
        if columns > model_features + 1:
            raise ValueError(
                f"Feature size of libsvm inference data {columns} is larger than feature size of trained "
                f"model {model_features}."
            )
    elif columns not in (model_features, model_features - 1):
        raise ValueError(
            f"Feature size of {data_format.value} inference data {columns} is not consistent with feature "
            f"size of trained model {model_features}."
        )


def _parse_accept(accept: str | None) -> str:
    media_type, _ = split_media_type(accept or "")
    if not media_type or media_type == "*/*":
        return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    if media_type.lower() not in SUPPORTED_ACCEPTS:
        raise ValueError(
            f"Accept type {media_type} is not supported. "
            f"Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return media_type.lower()


def _lines(values: list[Any]) -> str:
    return "\n".join(map(str, values)) + "\n"


def _csv_rows(values: list[Any]) -> str:
    # sagemaker-containers' array_to_csv: a 1-D array becomes one column, written by csv.writer.
    array = np.array(values)
    if array.ndim == 1:
        array = array.reshape(array.shape[0], 1)
    stream = io.StringIO()
    csv.writer(
        stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True
    ).writerows(array)
    return stream.getvalue()


def _load_error(
    rules: ContainerVersion, model_dir: Path, path: Path, pickle_error: Exception, xgb_error: Exception
) -> tuple[Any, ...]:
    style = rules.load_error_style
    if style is LoadErrorStyle.ARGUMENTS_TUPLE:
        # RuntimeError("Unable to load model: %s %s", e1, e2): the arguments are never interpolated.
        return ("Unable to load model: %s %s", pickle_error, xgb_error)
    if style is LoadErrorStyle.AT_DIRECTORY:
        return (f"Model at {model_dir} cannot be loaded:\n{pickle_error}\n{xgb_error}",)
    if style is LoadErrorStyle.AT_FILE:
        return (f"Model at {path} cannot be loaded:\n{pickle_error}\n{xgb_error}",)
    return (
        f"Model {path} cannot be loaded:\nPickle load error={pickle_error}\nXGB load model error={xgb_error}",
    )
