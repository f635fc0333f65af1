"""Stopping a training job on SIGTERM (what SageMaker sends on StopTrainingJob and at MaxRuntime).

The handler raises `TrainingTerminated` in the main thread, which interrupts data loading or the round loop
as soon as the current XGBoost call returns. It derives from BaseException so that no `except Exception`
(for instance the one turning XGBoost failures into AlgorithmErrors) can swallow it, and the job entry point
reports a stop rather than a failure.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

# What a shell reports for a process ended by SIGTERM, as the container is when it has no handler.
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


class TrainingTerminated(BaseException):
    def __init__(self, exit_code: int = TERMINATED_EXIT_CODE) -> None:
        super().__init__("training stopped by SIGTERM")
        self.exit_code = exit_code


@contextlib.contextmanager
def sigterm_stops_training() -> Iterator[None]:
    # Signal handlers can only be installed from the main thread; elsewhere the caller keeps its own.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise TrainingTerminated()

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
