"""Writing and reading `xgboost-model` in each version's format.

* <= 1.2-2: a pickled Booster (protocol 4 from 1.2-1). The pickle also carries `best_ntree_limit`, which the
  inference server passes to predict so that a legacy early-stopped model predicts with its best trees.
* 1.3-1 .. 3.2-0: what `Booster.save_model("xgboost-model")` writes. On the image's own release (in its
  runtime) that is XGBoost's binary format up to 1.7 and UBJSON from 2.1, byte for byte the container's.
  On a newer release standing in for it, 1.3-1 .. 1.7-1 get JSON instead: XGBoost 3.1+ can no longer write
  the binary format, and JSON is the closest format that those releases load.

The per-round model of save_model_on_termination is written the same way (pickled up to 1.2-2 as well).

Every write goes to a temporary file that is then renamed, so a stop in the middle never leaves half a model.
Pickles are read with an unpickler that only builds Boosters: a model artifact comes from S3 and must not be
able to run code.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import xgboost as xgb

from . import library
from .versions import ContainerVersion, ModelFormat

MODEL_NAME = "xgboost-model"


def serialize(booster: xgb.Booster, version: ContainerVersion) -> bytes:
    if version.model_format is ModelFormat.PICKLE:
        return pickle.dumps(booster, protocol=version.pickle_protocol)
    if library.is_release(version.xgboost_release):
        return library.save_model_bytes(booster)
    return library.raw_bytes(booster, version.model_format.value)


def serialize_checkpoint(booster: xgb.Booster, version: ContainerVersion) -> bytes:
    """The per-round model of save_model_on_termination: pickled by <= 1.2-2, `save_model` from 1.3-1."""
    return serialize(booster, version)


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_pickled_booster(data: bytes) -> xgb.Booster:
    booster = _BoosterUnpickler(io.BytesIO(data)).load()
    if not isinstance(booster, xgb.Booster):
        raise pickle.UnpicklingError(f"expected an xgboost Booster, found {type(booster).__name__}")
    return booster


def load_xgboost_booster(data: bytes) -> xgb.Booster:
    return library.load_booster(data)


class _BoosterUnpickler(pickle.Unpickler):
    _ALLOWED = {("xgboost.core", "Booster"), ("builtins", "bytearray")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is forbidden in a model file")
        return super().find_class(module, name)
