"""What runs inside one endpoint instance's process: the container's model server for one model.

The process is forked by the model's runtime's warm process server (`processes.py`), so it runs that image
version's XGBoost release. It serves `wsgi.InferenceApp` with the container's gunicorn settings
(`model_server`) on a Unix socket of its own, which the emulator's gateway forwards invocations to. The
gunicorn workers die with it, as the container's die with the container: the emulator never leaves a model
server behind. Kept compatible with Python 3.7+ (runtimes' interpreters).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .forkserver import die_with_parent


def serve_instance(settings_file: str) -> int:
    """Serve until stopped; the gunicorn arbiter's exit code.

    `settings_file` is a JSON object: model_dir, version, bind (`unix:<path>`), environment (the model's
    container Environment) and server_packages (a directory to append to sys.path for gunicorn).
    """
    settings: dict[str, Any] = json.loads(Path(settings_file).read_text())
    if settings["server_packages"] and settings["server_packages"] not in sys.path:
        sys.path.append(settings["server_packages"])
    from ..algorithms.xgboost.container import max_content_length
    from ..algorithms.xgboost.log import ContainerLog
    from ..algorithms.xgboost.model_server import BIND_VARIABLE, serve
    from ..algorithms.xgboost.wsgi import InferenceApp

    # The model's Environment is the container's environment (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT etc.).
    os.environ.update({str(k): str(v) for k, v in settings["environment"].items()})
    environ = {**os.environ, BIND_VARIABLE: settings["bind"]}
    app = InferenceApp(settings["model_dir"], settings["version"], batch=False,
                       max_content_length=max_content_length(environ))
    return serve(app, environ, ContainerLog(sys.stdout), extra={
        "post_fork": _worker_dies_with_server,
        "accesslog": "-",
        "access_log_format": '%({x-harness-client}i)s - - %(t)s "%(r)s" %(s)s %(b)s "-" "%(a)s"',
        "pidfile": None,
    })


def _worker_dies_with_server(server: Any, worker: Any) -> None:
    die_with_parent()
