"""The built-in XGBoost container's inference server: the shared WSGI application (`inference_app`) in front of
`serving`.

What is the XGBoost container's own: `/execution-parameters` answers one concurrent transform per CPU,
MULTI_RECORD and the content length limit in whole MB (the container's MAX_CONTENT_LENGTH, 6 MiB by default, at
most 20 MiB); the model is the extracted model.tar.gz's booster; `batch` is the container's SAGEMAKER_BATCH
(answers as batch transform reads them).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from ...inference_app import DEFAULT_MAX_CONTENT_LENGTH, MIB, InvocationResult, content_type_header
from ...inference_app import InferenceApp as _App
from . import serving
from .serving import LoadedModel
from .versions import ContainerVersion

__all__ = ["DEFAULT_MAX_CONTENT_LENGTH", "MIB", "InferenceApp", "XGBoostPredictor", "content_type_header",
           "execution_parameters"]


def execution_parameters(max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> dict[str, Any]:
    """The container's `GET /execution-parameters` answer."""
    return {"MaxConcurrentTransforms": multiprocessing.cpu_count(), "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max_content_length // MIB}


class XGBoostPredictor:
    def __init__(self, model_dir: Path | str, version: str | ContainerVersion, batch: bool,
                 max_content_length: int) -> None:
        self.model_dir = Path(model_dir)
        self.version = version
        self.batch = batch
        self.max_content_length = max_content_length

    def load(self) -> LoadedModel:
        return serving.load_model(self.model_dir, self.version)

    def predict(self, model: LoadedModel, payload: bytes, content_type: str | None,
                accept: str | None) -> InvocationResult:
        return serving.predict(model, payload, content_type, accept, batch=self.batch)

    def execution_parameters(self) -> dict[str, Any]:
        return execution_parameters(self.max_content_length)


class InferenceApp(_App[LoadedModel]):
    """The WSGI application of one model: `model_dir` holds the extracted model.tar.gz of an image `version`."""

    def __init__(self, model_dir: Path | str, version: str | ContainerVersion, batch: bool,
                 max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> None:
        super().__init__(XGBoostPredictor(model_dir, version, batch, max_content_length), max_content_length)
        self.version = version  # the model server names the container's modules after it in a load failure
