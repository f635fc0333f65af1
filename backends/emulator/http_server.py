"""The HTTP server the gateway runs on: cheroot's WSGI server, in a background thread.

cheroot (CherryPy's server) parses a request in about 0.15 ms where werkzeug's development server takes about
0.5 ms: for endpoint invocations that answer in a fraction of a millisecond, the server is most of the cost. It
keeps idle keep-alive connections out of its worker threads, answers `Expect: 100-continue`, and streams large
bodies both ways.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cheroot import wsgi

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

THREADS = 32  # requests handled at once; idle keep-alive connections do not hold one
BACKLOG = 128
SOCKET_TIMEOUT = 300  # seconds a request may take to arrive or a client to read its answer (large objects)


class HttpServer:
    """`HttpServer(host, port, app).start()` binds (port 0: any free port) and serves until `stop()`."""

    def __init__(self, host: str, port: int, app: WSGIApp, name: str = "gateway") -> None:
        self._server = wsgi.Server((host, port), app, numthreads=THREADS, request_queue_size=BACKLOG,
                                   timeout=SOCKET_TIMEOUT, shutdown_timeout=5, server_name="sagemaker-harness")
        self._name = name
        self._thread: threading.Thread | None = None
        logging.getLogger("cheroot").setLevel(logging.WARNING)

    def bind(self) -> int:
        """Bind and listen; the port."""
        self._server.prepare()
        port: int = self._server.bind_addr[1]
        return port

    @property
    def address(self) -> tuple[str, int]:
        """The listening socket's address, as the kernel has it."""
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        port: int = self._server.bind_addr[1]
        return port

    def start(self) -> HttpServer:
        """Serve in a background thread (binding first if `bind` was not called)."""
        if not self._server.ready:
            self.bind()
        self._thread = threading.Thread(target=self._server.serve, name=self._name, daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(10)
