"""Log lines in the container's format, written to a stream as they happen.

The container configures Python logging with `[%(asctime)s:%(levelname)s] %(message)s` and the date format
`%Y-%m-%d:%H:%M:%S`, and prints evaluation lines (`[0]\\ttrain-rmse:...`) bare. Both end up in the job's
CloudWatch stream, so both go to one stream here, flushed per line so a log tail sees each round at once.
smdebug, which the 1.3-1 ... 1.7-1 images import, logs with its own format
(`[%Y-%m-%d %H:%M:%S.mmm <host>:<pid> INFO <file>:<line>] message`, smdebug/core/logger.py).

A job runs in a workspace directory that stands for the container's /opt/ml; paths in its lines (`files path:
/opt/ml/input/data/train`) are shown as the container shows them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

CONTAINER_ROOT = "/opt/ml"
# The host name smdebug's lines show: a SageMaker training instance's (its EC2 private DNS name).
CONTAINER_HOSTNAME = "ip-10-0-0-1.ec2.internal"


class ContainerLog:
    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.time,
                 workspace: Path | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._clock = clock
        self._workspace = str(workspace) if workspace is not None else None

    def container_text(self, text: str) -> str:
        """`text` with the workspace's path shown as the container's /opt/ml."""
        return text.replace(self._workspace, CONTAINER_ROOT) if self._workspace else text

    def info(self, message: str) -> None:
        self._emit("INFO", message)

    def warning(self, message: str) -> None:
        self._emit("WARNING", message)

    def error(self, message: str) -> None:
        self._emit("ERROR", message)

    def library_warning(self, message: str) -> None:
        """A warning in XGBoost's own format (`[17:30:00] WARNING: ...`), which it prints itself."""
        stamp = time.strftime("%H:%M:%S", time.gmtime(self._clock()))
        self.line(f"[{stamp}] WARNING: {message}")

    def tracker_line(self, message: str, native: bool) -> None:
        """A line a worker printed through XGBoost's tracker (training on several hosts), as the master's tracker
        writes it: the native tracker (2.0 on) as XGBoost's console log, `[17:30:00] message`; the container's
        Python tracker (dmlc_patch, 1.x images) with its logger, in the container's logging format."""
        if native:
            stamp = time.strftime("%H:%M:%S", time.gmtime(self._clock()))
            self.line(f"[{stamp}] {message}")
        else:
            self.info(message)

    def smdebug(self, file: str, line: int, message: str) -> None:
        """An INFO line of smdebug's logger, logged from `file`:`line` of smdebug."""
        now = self._clock()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
        millis = int(now * 1000) % 1000
        self.line(f"[{stamp}.{millis:03d} {CONTAINER_HOSTNAME}:{os.getpid()} INFO {file}:{line}] {message}")

    def line(self, text: str) -> None:
        """A bare line, as the container's `print` calls write it (evaluation results)."""
        self._stream.write(self.container_text(text) + "\n")
        self._stream.flush()

    def _emit(self, level: str, message: str) -> None:
        # Training containers run in UTC, so the timestamps are UTC whatever this machine's zone is.
        stamp = time.strftime("%Y-%m-%d:%H:%M:%S", time.gmtime(self._clock()))
        self.line(f"[{stamp}:{level}] {message}")
