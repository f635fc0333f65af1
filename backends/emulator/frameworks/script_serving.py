"""Script-mode serving inside a runtime: the user's inference functions, the framework container's way.

The SKLearn framework container (and the XGBoost container in framework mode) imports the module that
`SAGEMAKER_PROGRAM` names (from the code of `SAGEMAKER_SUBMIT_DIRECTORY`, already fetched into `code_dir`, its
requirements in the layer on `sys.path`) and looks up, by name:

* `model_fn(model_dir)`: required; the container has no default and fails with its own message;
* `input_fn(body, content_type)`: default decodes `application/json`, `text/csv` and `application/x-npy` into
  a numpy array (float32 for the two text types);
* `predict_fn(data, model)`: default `model.predict(data)`;
* `output_fn(prediction, accept)`: default encodes as JSON, CSV or npy; Accept `*/*` or none means
  `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`, else `application/json`;
* `transform_fn(model, body, content_type, accept)`: replaces the three above (the container refuses both);
* `execution_parameters_fn()`: when defined, answers `GET /execution-parameters`.

The XGBoost container's defaults differ in two: `input_fn` makes an `xgboost.DMatrix` of `text/csv` or
`text/libsvm` (the built-in algorithm's parsing), and `predict_fn` is `model.predict(dmatrix,
validate_features=False)`.

An answer may be `(body, content_type)`. An unsupported Content-Type or Accept is a 500, as in the container: its
default functions are wrapped so that their "unsupported format" error escapes as a server error, not a 415.
Each exception's traceback goes to the log.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..inference_app import InvocationResult

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
DEFAULT_ACCEPT_VARIABLE = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
MODEL_FN_MISSING = "Please provide a model_fn implementation."  # the SKLearn container's words


class UnsupportedFormatError(Exception):
    def __init__(self, content_type: str) -> None:
        super().__init__(f"Content type {content_type} is not supported by this framework: implement input_fn "
                         "to deserialize the request data, or output_fn to serialize the response.")


class UserModuleError(Exception):
    pass


def module_name(program: str) -> str:
    """`train.py` -> `train`, `pkg/serve.py` -> `pkg.serve`: what the container imports."""
    name = program[:-3] if program.endswith(".py") else program
    return name.replace("/", ".")


class ScriptPredictor:
    """A `Predictor` (see inference_app) over the user's inference functions."""

    def __init__(self, code_dir: str, model_dir: str, program: str, layer: str | None = None,
                 framework: str = "sklearn", version: str | None = None) -> None:
        self.code_dir = code_dir
        self.model_dir = model_dir
        self.program = program
        self.layer = layer
        self._functions: dict[str, Callable[..., Any]] | None = None
        self._defaults: dict[str, Callable[..., Any]] = {
            "input_fn": default_input_fn, "predict_fn": default_predict_fn, "output_fn": default_output_fn}
        if framework == "xgboost":
            self._defaults.update(input_fn=xgboost_input_fn(version or "1.7-1"), predict_fn=xgboost_predict_fn)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], model_dir: str) -> ScriptPredictor:
        """From what `executor/script_code.serving_code` wrote."""
        return cls(settings["code_dir"], model_dir, settings["program"], settings.get("layer"),
                   settings.get("framework", "sklearn"), settings.get("version"))

    def functions(self) -> dict[str, Callable[..., Any]]:
        if self._functions is None:
            for path in (self.layer, self.code_dir):
                if path and path not in sys.path:
                    sys.path.insert(0, path)
            module = importlib.import_module(module_name(self.program))
            found = {name: getattr(module, name) for name in
                     ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn", "execution_parameters_fn")
                     if callable(getattr(module, name, None))}
            if "transform_fn" in found and {"input_fn", "predict_fn", "output_fn"} & set(found):
                raise UserModuleError("Cannot use transform_fn implementation in conjunction with input_fn, "
                                      "predict_fn, and/or output_fn implementation")
            self._functions = found
        return self._functions

    def load(self) -> Any:
        functions = self.functions()
        if "model_fn" not in functions:
            raise UserModuleError(MODEL_FN_MISSING)
        return functions["model_fn"](self.model_dir)

    def execution_parameters(self) -> dict[str, Any] | None:
        function = self.functions().get("execution_parameters_fn")
        if function is None:
            return None
        result: dict[str, Any] = function()
        return result

    def predict(self, model: Any, payload: bytes, content_type: str | None,
                accept: str | None) -> InvocationResult:
        functions = self.functions()
        content_type = content_type or JSON
        if not accept or accept == "*/*":
            accept = os.environ.get(DEFAULT_ACCEPT_VARIABLE) or JSON
        if "transform_fn" in functions:
            result = functions["transform_fn"](model, payload, content_type, accept)
        else:
            data = functions.get("input_fn", self._defaults["input_fn"])(payload, content_type)
            prediction = functions.get("predict_fn", self._defaults["predict_fn"])(data, model)
            result = functions.get("output_fn", self._defaults["output_fn"])(prediction, accept)
        body, mimetype = result if isinstance(result, tuple) else (result, accept)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return InvocationResult(200, bytes(body), str(mimetype))


def default_input_fn(body: bytes | str, content_type: str) -> Any:
    import numpy as np

    media = content_type.split(";")[0].strip().lower()
    if media == NPY:
        return np.load(io.BytesIO(body if isinstance(body, bytes) else body.encode()), allow_pickle=False)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if media == JSON:
        return np.array(json.loads(text)).astype(np.float32)
    if media == CSV:
        return np.genfromtxt(io.StringIO(text), delimiter=",").astype(np.float32)
    raise UnsupportedFormatError(content_type)


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    import numpy as np

    media = accept.split(";")[0].strip().lower()
    array = np.asarray(prediction)
    if media == JSON:
        return json.dumps(array.tolist()).encode("utf-8"), JSON
    if media == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array, delimiter=",", fmt="%s")
        return stream.getvalue().encode("utf-8"), CSV
    if media == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue(), NPY
    raise UnsupportedFormatError(accept)


def xgboost_input_fn(version: str) -> Callable[[bytes | str, str], Any]:
    """The XGBoost container's default: a DMatrix, parsed as the built-in algorithm parses requests."""
    from ..algorithms.xgboost.payloads import parse_payload
    from ..algorithms.xgboost.versions import get_version

    rules = get_version(version)

    def input_fn(body: bytes | str, content_type: str) -> Any:
        return parse_payload(body if isinstance(body, bytes) else body.encode(), content_type, rules)[0]

    return input_fn


def xgboost_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data, validate_features=False)


def read_settings(path: str) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(Path(path).read_text())
    return settings
