"""The non-SageMaker services behind the gateway: an embedded moto, or a proxy to an upstream endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import urllib3

# Hop-by-hop headers are the connection's business, not the message's (RFC 9110, 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade"}


def embedded_moto() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """moto's server application, dispatching on the signed service name like the real endpoints."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


class UpstreamProxy:
    """Forwards requests unchanged to an upstream AWS-compatible endpoint (e.g. LocalStack)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = urllib3.PoolManager(maxsize=16, retries=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _rebuild_path(environ)
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            headers["Content-Length"] = str(length)
        body = environ["wsgi.input"].read(length) if length else None
        try:
            response = self._http.request(environ["REQUEST_METHOD"], self.url + path, body=body, headers=headers,
                                          preload_content=False, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            message = f"Upstream endpoint {self.url} is unreachable: {exc}".encode()
            start_response("502 Bad Gateway", [("Content-Type", "text/plain"), ("Content-Length", str(len(message)))])
            return [message]
        out_headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{response.status} {response.reason or ''}".strip(), out_headers)
        return _stream(response)


def _stream(response: urllib3.BaseHTTPResponse) -> Iterable[bytes]:
    try:
        yield from response.stream(1024 * 1024)
    finally:
        response.release_conn()


def _rebuild_path(environ: dict[str, Any]) -> str:
    from urllib.parse import quote

    path = quote(environ.get("PATH_INFO", "/"))
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path
