"""The container's inference server as a WSGI application: HTTP in front of `serving`, nothing more.

Routes, as the container's Flask app has them:

* `GET /ping`: 200 with an empty body once the model is loaded;
* `POST /invocations`: `serving.predict` with the request's Content-Type and Accept, answered with its status,
  body and mimetype; a body over the server's content length limit (the container's MAX_CONTENT_LENGTH, 6 MiB
  by default, at most 20 MiB) is Flask's 413;
* `GET /execution-parameters`: what batch transform asks before it sends records (one concurrent transform per
  CPU, MULTI_RECORD, the content length limit in whole MB);
* anything else: Flask's 404 (unknown path) or 405 (known path, other method).

A Content-Type header is the answer's mimetype with `; charset=utf-8` added for text types, as Flask writes it.
The model is loaded once per process (`load`), which the model server calls in each worker before it accepts
requests. The application holds no other state, so any WSGI server can run it.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import serving
from .serving import InvocationResult, LoadedModel
from .versions import ContainerVersion

StartResponse = Callable[..., Any]

_HTML = "text/html; charset=utf-8"
_JSON = "application/json"
_NOT_FOUND = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was "
    "not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
)
_METHOD_NOT_ALLOWED = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    "<p>The method is not allowed for the requested URL.</p>\n"
)
_INTERNAL_ERROR = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application.</p>\n"
)
_TOO_LARGE = (
    "<!doctype html>\n<html lang=en>\n<title>413 Request Entity Too Large</title>\n<h1>Request Entity Too Large</h1>\n"
    "<p>The data value transmitted exceeds the capacity limit.</p>\n"
)
_REASONS = {200: "OK", 204: "NO CONTENT", 400: "BAD REQUEST", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED",
            406: "NOT ACCEPTABLE", 413: "REQUEST ENTITY TOO LARGE", 415: "UNSUPPORTED MEDIA TYPE",
            500: "INTERNAL SERVER ERROR"}
MIB = 1024**2
DEFAULT_MAX_CONTENT_LENGTH = 6 * MIB
# Types Flask (werkzeug) gives a charset besides text/*.
_CHARSET_TYPES = {"application/ecmascript", "application/javascript", "application/sql", "application/xml",
                  "application/xml-dtd", "application/xml-external-parsed-entity"}


def execution_parameters(max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> dict[str, Any]:
    """The container's `GET /execution-parameters` answer."""
    return {"MaxConcurrentTransforms": multiprocessing.cpu_count(), "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max_content_length // MIB}


def content_type_header(mimetype: str) -> str:
    """The Content-Type Flask sends for a response of `mimetype`."""
    lowered = mimetype.lower()
    if "charset=" not in lowered and (
        lowered.startswith("text/") or lowered in _CHARSET_TYPES or lowered.endswith("+xml")
    ):
        return f"{mimetype}; charset=utf-8"
    return mimetype


class InferenceApp:
    """The WSGI application of one model: `model_dir` holds the extracted model.tar.gz of an image `version`.

    `batch` is the container's SAGEMAKER_BATCH: answers as batch transform reads them. `max_content_length`
    is the largest request body answered (bytes).
    """

    def __init__(self, model_dir: Path | str, version: str | ContainerVersion, batch: bool,
                 max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> None:
        self.model_dir = Path(model_dir)
        self.version = version
        self.batch = batch
        self.max_content_length = max_content_length
        self._model: LoadedModel | None = None
        self._loading = threading.Lock()

    def load(self) -> LoadedModel:
        """The model, loaded on the first call; raises what `serving.load_model` raises."""
        with self._loading:
            if self._model is None:
                self._model = serving.load_model(self.model_dir, self.version)
            return self._model

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        route = _ROUTES.get(path)
        if route is None:
            status, body, mimetype, extra = 404, _NOT_FOUND.encode(), _HTML, []
        elif method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            allowed = ", ".join(sorted({*route.methods, "OPTIONS"} | ({"HEAD"} if "GET" in route.methods else set())))
            status, body, mimetype, extra = 405, _METHOD_NOT_ALLOWED.encode(), _HTML, [("Allow", allowed)]
        else:
            try:
                result = route.handler(self, environ)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                result = InvocationResult(500, _INTERNAL_ERROR.encode(), _HTML)
            status, body, mimetype, extra = result.status, result.body, result.mimetype, []
        headers = [("Content-Type", content_type_header(mimetype)), ("Content-Length", str(len(body))), *extra]
        start_response(f"{status} {_REASONS.get(status, 'UNKNOWN')}", headers)
        return [b""] if method == "HEAD" else [body]

    def _ping(self, environ: dict[str, Any]) -> InvocationResult:
        self.load()
        return InvocationResult(200, b"", _HTML)

    def _execution_parameters(self, environ: dict[str, Any]) -> InvocationResult:
        return InvocationResult(200, json.dumps(execution_parameters(self.max_content_length)).encode(), _JSON)

    def _invocations(self, environ: dict[str, Any]) -> InvocationResult:
        payload = _request_body(environ, self.max_content_length)
        if payload is None:
            return InvocationResult(413, _TOO_LARGE.encode(), _HTML)
        try:
            model = self.load()
        except Exception as e:
            return InvocationResult(500, f"Unable to load model: {e}".encode(), _HTML)
        content_type = environ.get("CONTENT_TYPE") or None
        accept = environ.get("HTTP_ACCEPT") or None
        return serving.predict(model, payload, content_type, accept, batch=self.batch)


def _request_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request's body; None when it is longer than `limit`."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        if int(length) <= limit:
            return bytes(stream.read(int(length)))
        _drain(stream, int(length))
        return None
    if not environ.get("wsgi.input_terminated"):
        return b""
    # No length: a chunked body, which the server ends for us (gunicorn sets wsgi.input_terminated).
    body = bytes(stream.read(limit + 1))
    if len(body) <= limit:
        return body
    _drain(stream, None)
    return None


def _drain(stream: Any, length: int | None) -> None:
    """Read what the client sends before answering, so that it reads the 413 rather than a reset connection."""
    remaining = length
    while remaining is None or remaining > 0:
        chunk = stream.read(1 << 16 if remaining is None else min(remaining, 1 << 16))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)


class _Route:
    def __init__(self, methods: frozenset[str], handler: Callable[[InferenceApp, dict[str, Any]], InvocationResult]):
        self.methods = methods
        self.handler = handler


_ROUTES = {
    "/ping": _Route(frozenset({"GET"}), InferenceApp._ping),
    "/execution-parameters": _Route(frozenset({"GET"}), InferenceApp._execution_parameters),
    "/invocations": _Route(frozenset({"POST"}), InferenceApp._invocations),
}
