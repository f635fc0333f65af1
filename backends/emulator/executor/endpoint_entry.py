"""What runs inside one endpoint instance's process: the container's model server for one model.

The process is forked by the model's runtime's warm process server (`processes.py`), so it runs that image
version's XGBoost release. It loads the model into the container's WSGI application (`wsgi.InferenceApp`, the
code the algorithm images serve with gunicorn), opens its Unix socket, and forks `SAGEMAKER_MODEL_SERVER_WORKERS`
workers (one per CPU by default, as the container), which share the loaded model. Like gunicorn's sync workers,
each worker accepts a connection from the socket and answers its requests one at a time; unlike them, a
connection stays open between requests, and a request is a frame (`instance_protocol`) rather than HTTP, which
would cost more than the prediction. Each request is answered by calling the application with the request's
method, path and headers, so `/ping`, `/invocations`, the 413 of an oversized body and the 404/405 of other paths
are the container's own answers. The gateway keeps at most one connection per worker.

It logs what the container logs at start-up and one access line per request, as the container's front end does.
A worker that dies is replaced. The workers die with the server, and the server with the emulator. Kept
compatible with Python 3.7+ (runtimes' interpreters).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..algorithms.xgboost.log import CONTAINER_ROOT, ContainerLog
from ..inference_app import DEFAULT_MAX_CONTENT_LENGTH, InferenceApp
from .forkserver import die_with_parent
from .instance_protocol import decode, encode, read_frame, worker_count

_PLATFORM = '10.32.0.2 - - [{time}] "{method} {path} HTTP/1.1" {status} {size} "-" "AHC/2.0"'


def serve_instance(settings_file: str) -> int:
    """Serve until killed (SIGTERM, or the emulator's end). Returns only when the server cannot start.

    `settings_file` is a JSON object: model_dir, version, socket (the Unix socket's path), environment (the
    model's container Environment) and, for a framework image, script (what `frameworks.script_serving` reads).
    """
    settings: dict[str, Any] = json.loads(Path(settings_file).read_text())
    # The model's Environment is the container's environment (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT etc.).
    os.environ.update({str(k): str(v) for k, v in settings["environment"].items()})
    log = ContainerLog(sys.stdout)
    try:
        workers = worker_count(os.environ)
        app = _application(settings)
    except ValueError as error:
        print(f"The model server did not start: {error}", flush=True)
        return 2
    try:
        app.load()
    except Exception as error:
        log.error(_load_failure(settings, error))
        return 1
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(settings["socket"])
    server.listen(64)
    answer = _answerer(app)
    pids = set()
    for _ in range(workers):
        pids.add(_fork_worker(server, answer, log))
    signal.signal(signal.SIGTERM, lambda *_: _stop(pids))
    while True:  # replace a worker that dies, as gunicorn's arbiter does
        pid, status = os.wait()
        if pid in pids:
            pids.discard(pid)
            log.error(f"Worker with pid {pid} exited unexpectedly (wait status {status}); booting another")
            pids.add(_fork_worker(server, answer, log))


def _application(settings: dict[str, Any]) -> InferenceApp[Any]:
    script = settings.get("script")
    if script is not None:
        from ..frameworks.script_serving import ScriptPredictor

        return InferenceApp(ScriptPredictor.from_settings(script, settings["model_dir"]), DEFAULT_MAX_CONTENT_LENGTH)
    from ..algorithms.xgboost.container import max_content_length
    from ..algorithms.xgboost.wsgi import InferenceApp as XGBoostApp

    return XGBoostApp(settings["model_dir"], settings["version"], batch=False,
                      max_content_length=max_content_length(os.environ))


def _load_failure(settings: dict[str, Any], error: BaseException) -> str:
    """What the container logs when its model does not load: its traceback, with its own paths."""
    if settings.get("script") is not None:
        import traceback

        return "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip("\n")
    from ..algorithms.xgboost.tracebacks import container_traceback
    from ..algorithms.xgboost.versions import get_version

    text = container_traceback(error, get_version(settings["version"])).rstrip("\n")
    return text.replace(settings["model_dir"], f"{CONTAINER_ROOT}/model")


def _stop(pids: Any) -> None:
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os._exit(0)


def _fork_worker(server: socket.socket, answer: Callable[[bytes], bytes], log: ContainerLog) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            die_with_parent()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _work(server, answer)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    log.info(f"Booting worker with pid: {pid}")
    log.info(f"Model loaded successfully for worker : {pid}")
    return pid


def _work(server: socket.socket, answer: Callable[[bytes], bytes]) -> None:
    """A worker: take one connection at a time and answer its frames until the gateway closes it."""
    while True:
        connection, _ = server.accept()
        with connection:
            while True:
                try:
                    frame = read_frame(connection)
                except OSError:
                    break
                if frame is None:
                    break
                header, _ = decode(frame)
                reply = answer(frame)
                status, body = decode(reply)
                line = _PLATFORM.format(time=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                                        method=header["method"], path=header["path"], status=status["status"],
                                        size=len(body))
                os.write(1, (line + "\n").encode())  # one write: lines of several workers never interleave
                try:
                    connection.sendall(reply)
                except OSError:
                    break


def _answerer(app: InferenceApp[Any]) -> Callable[[bytes], bytes]:
    """What a worker does with a request frame: call the container's application, return the answer frame."""

    def answer(frame: bytes) -> bytes:
        header, body = decode(frame)
        environ = {
            "REQUEST_METHOD": header["method"], "PATH_INFO": header["path"], "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for name, key in (("content_type", "CONTENT_TYPE"), ("accept", "HTTP_ACCEPT"),
                          ("custom_attributes", "HTTP_X_AMZN_SAGEMAKER_CUSTOM_ATTRIBUTES")):
            if header.get(name) is not None:
                environ[key] = header[name]
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks = app(environ, lambda status, headers, *_: started.append((status, headers)))
        data = b"".join(chunks)
        status, headers = started[0]
        found = {name.lower(): value for name, value in headers}
        return encode({"status": int(status.split(" ", 1)[0]), "content_type": found.get("content-type"),
                       "custom_attributes": found.get("x-amzn-sagemaker-custom-attributes")}, data)

    return answer
