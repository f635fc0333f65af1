"""The images' model server: gunicorn with sync workers running an `inference_app.InferenceApp`.

One server for every image of the project: the XGBoost algorithm's (`algorithms/xgboost/container.py`) and the
framework images' (`frameworks/container.py`, the user's inference script); the application decides what a
request is answered with, the server only how it is served.

Gunicorn is started from Python (its `BaseApplication`) rather than its command line: the settings come from
the container's variables, checked here with clear messages, the model-loading hook is a Python callable, and
the image needs no configuration file — `serve` is one `python -m` command in any runtime's interpreter.

* bind `<host>:$SAGEMAKER_BIND_TO_PORT` (8080); the host is 0.0.0.0 as in the container, `HARNESS_BIND_HOST`
  changes it (tests bind 127.0.0.1);
* `$SAGEMAKER_MODEL_SERVER_WORKERS` worker processes (one per CPU), `$SAGEMAKER_MODEL_SERVER_TIMEOUT` seconds
  (60) before a silent worker is restarted;
* sync workers: each answers one request at a time, as the container's do, so one XGBoost Booster never
  predicts from two threads at once (releases before 1.4 answer wrongly when it does);
* each worker loads the model once, before it accepts a request. A model that does not load stops the server
  with gunicorn's boot-error exit code (3) after logging why (the container's traceback), so the container
  exits instead of never answering `/ping`. (The container's own workers `sys.exit(1)` there, which gunicorn
  answers by starting another worker, which fails the same way.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import gunicorn.app.base
import gunicorn.arbiter

from .inference_app import InferenceApp

DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 60
PORT_VARIABLE = "SAGEMAKER_BIND_TO_PORT"
WORKERS_VARIABLE = "SAGEMAKER_MODEL_SERVER_WORKERS"
TIMEOUT_VARIABLE = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
HOST_VARIABLE = "HARNESS_BIND_HOST"


class ServerSettingError(ValueError):
    """A model server variable with a value the server cannot use."""


def server_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Gunicorn's settings from the container's variables."""
    host = environ.get(HOST_VARIABLE) or "0.0.0.0"
    port = _positive_int(environ, PORT_VARIABLE, DEFAULT_PORT)
    return {
        "bind": f"{host}:{port}",
        "workers": _positive_int(environ, WORKERS_VARIABLE, os.cpu_count() or 1),
        "timeout": _positive_int(environ, TIMEOUT_VARIABLE, DEFAULT_TIMEOUT),
        "worker_class": "sync",
        "threads": 1,
        "errorlog": "-",
        "loglevel": "info",
    }


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ServerSettingError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class ServerLog(Protocol):
    """How an image logs: `info` and `error` lines in its container's format."""

    def info(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...


class ModelServer(gunicorn.app.base.BaseApplication):
    def __init__(self, app: InferenceApp[Any], options: Mapping[str, Any], log: ServerLog,
                 describe_failure: Callable[[Exception], str]) -> None:
        self.application = app
        self.options = dict(options)
        self.container_log = log
        self.describe_failure = describe_failure  # a model that did not load, as the container logs it
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", self._post_worker_init)

    def load(self) -> InferenceApp[Any]:
        return self.application

    def _post_worker_init(self, worker: Any) -> None:
        try:
            self.application.load()
        except Exception as e:
            self.container_log.error(self.describe_failure(e).rstrip("\n"))
            # A worker that exits with this code before it has booted makes gunicorn's arbiter halt. Exiting
            # rather than raising keeps gunicorn from logging the traceback again, with this emulator's paths.
            sys.exit(gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR)
        self.container_log.info(f"Model loaded successfully for worker : {os.getpid()}")


def serve(app: InferenceApp[Any], environ: Mapping[str, str], log: ServerLog,
          describe_failure: Callable[[Exception], str]) -> int:
    """Run the server until it is stopped (SIGTERM, SIGINT); the process's exit code."""
    try:
        options = server_options(environ)
    except ServerSettingError as e:
        print(f"The model server did not start: {e}", file=sys.stderr)
        return 2
    try:
        ModelServer(app, options, log, describe_failure).run()
    except SystemExit as stop:  # gunicorn's arbiter ends with sys.exit(<status>)
        code = stop.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
