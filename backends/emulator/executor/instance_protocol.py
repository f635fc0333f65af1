"""How the gateway talks to an endpoint instance's model server: one frame per request, one per answer, over a
Unix socket that stays open between requests.

A frame is a 4-byte big-endian length, a JSON header of that length, then the body, whose length the header
gives (`length`). A request's header carries the HTTP method, path and the headers the container reads; an
answer's, the status and the headers the platform passes back. HTTP between the two would cost more than the
prediction itself (about 0.4 ms a request for gunicorn's parsing and a connection each time): this is the
container's `/ping` and `/invocations` with the transport left out. Kept compatible with Python 3.7+ (it runs in
runtimes' interpreters too).
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

_LENGTH = struct.Struct(">I")
WORKERS_VARIABLE = "SAGEMAKER_MODEL_SERVER_WORKERS"


def worker_count(environ: Any) -> int:
    """The model server's workers: SAGEMAKER_MODEL_SERVER_WORKERS from the container's environment, else one per
    CPU; the gateway keeps at most this many connections to an instance."""
    value = environ.get(WORKERS_VARIABLE)
    if value is None or str(value).strip() == "":
        return os.cpu_count() or 1
    if not str(value).strip().isdigit() or int(value) < 1:
        raise ValueError(f"{WORKERS_VARIABLE} must be a positive integer, got {value!r}")
    return int(value)


def encode(header: dict[str, Any], body: bytes) -> bytes:
    text = json.dumps({**header, "length": len(body)}).encode()
    return _LENGTH.pack(len(text)) + text + body


def decode(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """A whole frame (as one pipe message carries it) split into its header and body."""
    (size,) = _LENGTH.unpack_from(frame)
    header: dict[str, Any] = json.loads(frame[4:4 + size])
    return header, frame[4 + size:4 + size + header["length"]]


def read_frame(sock: socket.socket) -> bytes | None:
    """The next whole frame from `sock`; None when the peer closed the connection between frames."""
    prefix = _read_exactly(sock, 4, allow_end=True)
    if prefix is None:
        return None
    (size,) = _LENGTH.unpack(prefix)
    header_bytes = _read_exactly(sock, size)
    assert header_bytes is not None
    length = json.loads(header_bytes)["length"]
    body = _read_exactly(sock, length) if length else b""
    assert body is not None
    return prefix + header_bytes + body


def _read_exactly(sock: socket.socket, count: int, allow_end: bool = False) -> bytes | None:
    chunks = []
    remaining = count
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            if allow_end and remaining == count:
                return None
            raise ConnectionError("the connection closed in the middle of a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
