"""The model server's workers: forked processes that answer invocations with the model already loaded.

The container's model server runs one worker process per CPU behind its endpoint, and a batch transform with
MaxConcurrentTransforms > 1 keeps that many requests in flight. In a single process, Python's GIL serializes
the parts of an invocation that hold it (writing each prediction with `str()` costs about as much as parsing
the CSV), so concurrent requests ran hardly faster than one at a time: on a 1 GiB transform, two threads took
9.3 s where two workers take 8.1 s. Workers are forked after the model is loaded, so each starts in
milliseconds and shares the model's memory. The job process keeps the batching, ordering and assembly and
sends each request body over a pipe to an idle worker; the worker answers with a status byte and the body.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from .forkserver import die_with_parent
from .transform_files import InvocationError

_ANSWERED = b"\x00"
_RAISED = b"\x01"
_JOIN_SECONDS = 5.0


class ModelWorkers:
    """`count` forked workers, each running `invoke`; `workers.invoke(body)` answers from an idle one.

    Create it from the job's main thread: a worker is killed when the thread that forked it ends (Linux's
    parent-death signal is per thread), and the workers must outlive the threads that send requests.
    """

    def __init__(self, invoke: Callable[[bytes], bytes], count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        context: Any = multiprocessing.get_context("fork")
        self._idle: queue.Queue[Connection] = queue.Queue()
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        self._broken: str | None = None
        for number in range(1, count + 1):
            ours, theirs = context.Pipe()
            # The worker closes the job's ends of its own pipe and of the earlier workers' pipes, so that each
            # worker sees end of input when the job closes its end.
            process = context.Process(target=_serve, args=(invoke, theirs, [*self._connections, ours]),
                                      name=f"model-worker-{number}", daemon=True)
            process.start()
            theirs.close()
            self._connections.append(ours)
            self._processes.append(process)
            self._idle.put(ours)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def invoke(self, payload: bytes) -> bytes:
        """The answer of an idle worker to `payload`; raises InvocationError with the worker's error text."""
        if self._broken is not None:
            raise InvocationError(self._broken)
        connection = self._idle.get()
        try:
            connection.send_bytes(payload)
            answer = connection.recv_bytes()
        except (EOFError, OSError):
            self._broken = self._describe_exit(connection)
            raise InvocationError(self._broken) from None
        finally:
            self._idle.put(connection)  # even a dead worker's: requests waiting for one must not wait forever
        if answer[:1] == _ANSWERED:
            return answer[1:]
        raise InvocationError(answer[1:].decode("utf-8", errors="replace"))

    def close(self) -> None:
        """End of input for every worker; wait for them to exit, and kill any that does not."""
        for connection in self._connections:
            connection.close()
        for process in self._processes:
            process.join(_JOIN_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()

    def __enter__(self) -> ModelWorkers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _describe_exit(self, connection: Connection) -> str:
        process = self._processes[self._connections.index(connection)]
        process.join(_JOIN_SECONDS)
        return f"the model server's worker {process.name} exited unexpectedly (exit code {process.exitcode})"


def _serve(invoke: Callable[[bytes], bytes], connection: Connection, inherited: list[Connection]) -> None:
    die_with_parent()  # a job that is stopped or killed takes its workers with it
    for other in inherited:
        other.close()
    while True:
        try:
            payload = connection.recv_bytes()
        except EOFError:
            return
        try:
            answer = _ANSWERED + invoke(payload)
        except Exception as exc:
            answer = _RAISED + (str(exc) or type(exc).__name__).encode("utf-8", errors="replace")
        connection.send_bytes(answer)
