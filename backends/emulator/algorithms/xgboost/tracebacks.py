"""A failure's traceback as the container shows it: its frames, its Python's paths, no emulator paths.

The container's failure file holds the traceback of its own code, under the image's site-packages
(`/miniconda3/lib/python3.9/site-packages/sagemaker_xgboost_container/...` on 1.7-1). A job here runs the
emulator's modules instead, in a runtime's venv or the emulator's own. Each frame is shown as the container
module that does the same step (hyperparameters.py -> sagemaker_algorithm_toolkit/hyperparameter_validation.py,
...), with the container's function name where the emulator's differs; frames of helpers the container has no
counterpart for are left out. Library and standard-library frames keep their module path under the image's
directories, and the same prefixes are replaced in the messages (XGBoost's native stack trace names its
shared library). Frames are printed in the plain `File ..., line N, in f` form of the image's Python (3.6 ...
3.10), without the `^^^^` markers Python 3.11 adds, and a chained exception reads "During handling of the above
exception" as in the container, which never raises `from`.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from types import TracebackType

from .errors import ToolkitError
from .versions import ContainerVersion

_TOOLKIT = "sagemaker_algorithm_toolkit/"
_CONTAINER = "sagemaker_xgboost_container/"
_ALGORITHM_MODE = _CONTAINER + "algorithm_mode/"

# Emulator module -> the container module doing that step; None: a helper with no counterpart (not shown).
_MODULES: dict[str, str | None] = {
    "entry": "sagemaker_containers/_trainer.py",
    "training": _ALGORITHM_MODE + "train.py",
    "hyperparameters": _TOOLKIT + "hyperparameter_validation.py",
    "ranges": _TOOLKIT + "hyperparameter_validation.py",
    "dependency_rules": _ALGORITHM_MODE + "hyperparameter_validation.py",
    "channels": _TOOLKIT + "channel_validation.py",
    "content_types": _CONTAINER + "data_utils.py",
    "data": _CONTAINER + "data_utils.py",
    "metrics": _ALGORITHM_MODE + "train_utils.py",
    "params": _ALGORITHM_MODE + "train.py",
    "model_files": _ALGORITHM_MODE + "train.py",
    "boosting": "xgboost/training.py",
    "serving": _ALGORITHM_MODE + "serve_utils.py",
    "payloads": _ALGORITHM_MODE + "serve_utils.py",
    "errors": _TOOLKIT + "exceptions.py",
}
# (emulator module, function) -> (container module, function) where the names differ.
_FUNCTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("entry", "run_training_job"): ("sagemaker_containers/_trainer.py", "train"),
    ("training", "train"): (_CONTAINER + "training.py", "main"),
    ("training", "_train"): (_CONTAINER + "training.py", "run_algorithm_mode"),
    ("training", "run"): (_ALGORITHM_MODE + "train.py", "sagemaker_train"),
    ("training", "_train_job"): (_ALGORITHM_MODE + "train.py", "train_job"),
    ("training", "_save_model"): (_ALGORITHM_MODE + "train.py", "train_job"),
    ("hyperparameters", "validate_hyperparameters"): (_TOOLKIT + "hyperparameter_validation.py", "validate"),
    ("channels", "validate_channels"): (_TOOLKIT + "channel_validation.py", "validate"),
    ("data", "load_channel"): (_CONTAINER + "data_utils.py", "get_dmatrix"),
    ("boosting", "run_boosting"): ("xgboost/training.py", "train"),
}
_PACKAGE = "/backends/emulator/algorithms/xgboost/"
_CAUSE = "\nDuring handling of the above exception, another exception occurred:\n\n"


def container_traceback(error: BaseException, version: ContainerVersion) -> str:
    """`traceback.format_exc()` of `error` as the image's container would print it."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return _CAUSE.join(_one_exception(e, version) for e in reversed(chain))


def container_paths(text: str, version: ContainerVersion) -> str:
    """`text` with this interpreter's package and library directories shown as the image's."""
    library = os.path.dirname(version.site_packages)
    for prefix, replacement in _prefixes(version.site_packages, library):
        text = text.replace(prefix, replacement)
    return text


def _one_exception(error: BaseException, version: ContainerVersion) -> str:
    lines: list[str] = []
    frames = traceback.extract_tb(error.__traceback__) if isinstance(error.__traceback__, TracebackType) else []
    for frame in frames:
        shown = _container_frame(frame.filename, frame.name, version)
        if shown is None:
            continue
        filename, name = shown
        lines.append(f'  File "{filename}", line {frame.lineno}, in {name}\n')
        if frame.line:
            lines.append(f"    {frame.line.strip()}\n")
    if isinstance(error, ToolkitError):
        # The class as the container's module path names it.
        last = f"{type(error).container_class_path}: {error}\n"
    else:
        last = "".join(traceback.format_exception_only(type(error), error))
    head = "Traceback (most recent call last):\n" if lines else ""
    return head + "".join(lines) + container_paths(last, version)


def _container_frame(filename: str, name: str, version: ContainerVersion) -> tuple[str, str] | None:
    normalized = filename.replace(os.sep, "/")
    if _PACKAGE in normalized:
        module = normalized.rsplit("/", 1)[-1].removesuffix(".py")
        renamed = _FUNCTIONS.get((module, name))
        if renamed is not None:
            return f"{version.site_packages}/{renamed[0]}", renamed[1]
        target = _MODULES.get(module)
        return (f"{version.site_packages}/{target}", name) if target is not None else None
    if "/site-packages/" in normalized:
        return f"{version.site_packages}/{normalized.rsplit('/site-packages/', 1)[1]}", name
    library = os.path.dirname(version.site_packages)
    for prefix, replacement in _prefixes(version.site_packages, library):
        if normalized.startswith(prefix):
            return replacement + normalized[len(prefix):], name
    return None  # some other file of this machine: not shown


def _prefixes(site_packages: str, library: str) -> list[tuple[str, str]]:
    """(this interpreter's directory, the image's), longest first so site-packages wins over the stdlib."""
    paths = sysconfig.get_paths()
    pairs = {paths[key].rstrip("/") + "/": site_packages + "/" for key in ("purelib", "platlib") if key in paths}
    for key in ("stdlib", "platstdlib"):
        if key in paths:
            pairs.setdefault(paths[key].rstrip("/") + "/", library + "/")
    return sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)
