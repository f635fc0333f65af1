"""The model server's WSGI application, shared by every image the emulator serves: HTTP in front of a
`Predictor`, nothing more. Batch transform, endpoints and the images built by `harness images build` all answer
through it; what differs between images is the predictor (the built-in XGBoost's `serving`, or a user's
inference script in script mode).

Routes, as the containers' Flask apps have them:

* `GET /ping`: 200 with an empty body once the model is loaded;
* `POST /invocations`: the predictor's answer to the request's body, Content-Type and Accept, with its status,
  body and mimetype; a body over the server's content length limit is Flask's 413;
* `GET /execution-parameters`: only where the predictor has an answer (what batch transform asks first);
* anything else: Flask's 404 (unknown path) or 405 (known path, other method); an exception, Flask's 500.

A Content-Type header is the answer's mimetype with `; charset=utf-8` added for text types, as Flask writes it.
The model is loaded once per process (`load`), which the model server calls in each worker before it accepts
requests. The application holds no other state, so any WSGI server can run it. Kept compatible with Python 3.8+
(runtimes' interpreters): it imports nothing of any framework.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:  # an alias for annotations only: subscripting collections.abc needs Python 3.9 at run time
    StartResponse = Callable[..., Any]

HTML = "text/html; charset=utf-8"
JSON = "application/json"
NOT_FOUND = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was "
    "not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
)
METHOD_NOT_ALLOWED = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    "<p>The method is not allowed for the requested URL.</p>\n"
)
INTERNAL_ERROR = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application.</p>\n"
)
TOO_LARGE = (
    "<!doctype html>\n<html lang=en>\n<title>413 Request Entity Too Large</title>\n<h1>Request Entity Too Large</h1>\n"
    "<p>The data value transmitted exceeds the capacity limit.</p>\n"
)
REASONS = {200: "OK", 204: "NO CONTENT", 400: "BAD REQUEST", 404: "NOT FOUND", 405: "METHOD NOT ALLOWED",
            406: "NOT ACCEPTABLE", 413: "REQUEST ENTITY TOO LARGE", 415: "UNSUPPORTED MEDIA TYPE",
            500: "INTERNAL SERVER ERROR"}
MIB = 1024**2
DEFAULT_MAX_CONTENT_LENGTH = 6 * MIB
# Types Flask (werkzeug) gives a charset besides text/*.
CHARSET_TYPES = {"application/ecmascript", "application/javascript", "application/sql", "application/xml",
                  "application/xml-dtd", "application/xml-external-parsed-entity"}




@dataclass(frozen=True)
class InvocationResult:
    status: int
    body: bytes
    mimetype: str


Model = TypeVar("Model")


class Predictor(Protocol[Model]):
    """What an image's model server does with a model: load it, answer an invocation with it."""

    def load(self) -> Model: ...

    def predict(self, model: Model, payload: bytes, content_type: str | None,
                accept: str | None) -> InvocationResult: ...

    def execution_parameters(self) -> dict[str, Any] | None: ...


def content_type_header(mimetype: str) -> str:
    """The Content-Type Flask sends for a response of `mimetype`."""
    lowered = mimetype.lower()
    if "charset=" not in lowered and (
        lowered.startswith("text/") or lowered in CHARSET_TYPES or lowered.endswith("+xml")
    ):
        return f"{mimetype}; charset=utf-8"
    return mimetype


class InferenceApp(Generic[Model]):
    """The WSGI application of one model, answered by `predictor`. `max_content_length` is the largest request
    body answered (bytes)."""

    def __init__(self, predictor: Predictor[Model], max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH) -> None:
        self.predictor = predictor
        self.max_content_length = max_content_length
        self._model: Model | None = None
        self._loaded = False
        self._loading = threading.Lock()

    def load(self) -> Model:
        """The model, loaded on the first call; raises what the predictor's `load` raises."""
        with self._loading:
            if not self._loaded:
                self._model = self.predictor.load()
                self._loaded = True
            return self._model  # type: ignore[return-value]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        route = _ROUTES.get(path)
        if route is None:
            status, body, mimetype, extra = 404, NOT_FOUND.encode(), HTML, []
        elif method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            allowed = ", ".join(sorted({*route.methods, "OPTIONS"} | ({"HEAD"} if "GET" in route.methods else set())))
            status, body, mimetype, extra = 405, METHOD_NOT_ALLOWED.encode(), HTML, [("Allow", allowed)]
        else:
            try:
                result = route.handler(self, environ)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                result = InvocationResult(500, INTERNAL_ERROR.encode(), HTML)
            status, body, mimetype, extra = result.status, result.body, result.mimetype, []
        headers = [("Content-Type", content_type_header(mimetype)), ("Content-Length", str(len(body))), *extra]
        start_response(f"{status} {REASONS.get(status, 'UNKNOWN')}", headers)
        return [b""] if method == "HEAD" else [body]

    def _ping(self, environ: dict[str, Any]) -> InvocationResult:
        self.load()
        return InvocationResult(200, b"", HTML)

    def _execution_parameters(self, environ: dict[str, Any]) -> InvocationResult:
        parameters = self.predictor.execution_parameters()
        if parameters is None:
            return InvocationResult(404, NOT_FOUND.encode(), HTML)
        return InvocationResult(200, json.dumps(parameters).encode(), JSON)

    def _invocations(self, environ: dict[str, Any]) -> InvocationResult:
        payload = _request_body(environ, self.max_content_length)
        if payload is None:
            return InvocationResult(413, TOO_LARGE.encode(), HTML)
        try:
            model = self.load()
        except Exception as e:
            return InvocationResult(500, f"Unable to load model: {e}".encode(), HTML)
        content_type = environ.get("CONTENT_TYPE") or None
        accept = environ.get("HTTP_ACCEPT") or None
        return self.predictor.predict(model, payload, content_type, accept)


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
    def __init__(self, methods: frozenset[str],
                 handler: Callable[[InferenceApp[Any], dict[str, Any]], InvocationResult]) -> None:
        self.methods = methods
        self.handler = handler


_ROUTES = {
    "/ping": _Route(frozenset({"GET"}), InferenceApp._ping),
    "/execution-parameters": _Route(frozenset({"GET"}), InferenceApp._execution_parameters),
    "/invocations": _Route(frozenset({"POST"}), InferenceApp._invocations),
}
