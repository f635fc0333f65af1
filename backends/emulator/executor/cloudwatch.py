"""Shipping a job's log file to CloudWatch Logs as it grows."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError as BotoClientError

# PutLogEvents limits: 10,000 events and 1 MiB per call (each event costs its UTF-8 size plus 26 bytes).
_MAX_EVENTS = 10_000
_MAX_BATCH_BYTES = 1_048_576 - 4096
_EVENT_OVERHEAD = 26
_MAX_EVENT_BYTES = 256 * 1024 - _EVENT_OVERHEAD


class LogShipper:
    """Tails `path` and sends each complete line to `group`/`stream`.

    SageMaker's log agent writes a tab as `#011` (syslog escaping); metric regexes rely on it, so we do too.
    """

    def __init__(self, logs: Any, path: Path, group: str, stream: str, keep_lines: bool = True) -> None:
        self.logs = logs
        self.path = path
        self.group = group
        self.stream = stream
        # Everything shipped, for a job's metrics at its end; not kept for a server that logs every request.
        self.keep_lines = keep_lines
        self.lines: list[str] = []
        self._offset = 0
        self._partial = b""
        self._created = False

    def create_stream(self) -> None:
        for call, kwargs in (
            (self.logs.create_log_group, {"logGroupName": self.group}),
            (self.logs.create_log_stream, {"logGroupName": self.group, "logStreamName": self.stream}),
        ):
            try:
                call(**kwargs)
            except BotoClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
        self._created = True

    def write(self, line: str) -> None:
        """Log a line of the platform's own (not the algorithm's)."""
        with self.path.open("a") as handle:
            handle.write(line.rstrip("\n") + "\n")

    def pump(self, final: bool = False) -> None:
        """Ship whatever complete lines were appended since the last call (all of it when `final`)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(chunk)
        data = self._partial + chunk
        pieces = data.split(b"\n")
        self._partial = pieces.pop()
        if final and self._partial:
            pieces.append(self._partial)
            self._partial = b""
        lines = [piece.decode("utf-8", errors="replace").rstrip("\r").replace("\t", "#011") for piece in pieces]
        if lines:
            self._put(lines)

    def _put(self, lines: list[str]) -> None:
        if not self._created:
            self.create_stream()
        if self.keep_lines:
            self.lines.extend(lines)
        now = int(time.time() * 1000)
        batch: list[dict[str, Any]] = []
        size = 0
        for line in lines:
            message = line.encode()[:_MAX_EVENT_BYTES].decode("utf-8", errors="ignore") or " "
            cost = len(message.encode()) + _EVENT_OVERHEAD
            if batch and (len(batch) >= _MAX_EVENTS or size + cost > _MAX_BATCH_BYTES):
                self._send(batch)
                batch, size = [], 0
            batch.append({"timestamp": now, "message": message})
            size += cost
        if batch:
            self._send(batch)

    def _send(self, events: list[dict[str, Any]]) -> None:
        self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events)
