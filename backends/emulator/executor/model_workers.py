"""The model server's workers: forked processes that answer invocations with the model already loaded.

The container's model server runs one worker process per CPU behind its endpoint, and a batch transform with
MaxConcurrentTransforms > 1 keeps that many requests in flight. In a single process, Python's GIL serializes
the parts of an invocation that hold it (writing each prediction with `str()` costs about as much as parsing
the CSV), so concurrent requests ran hardly faster than one at a time: on a 1 GiB transform, two threads took
9.3 s where two workers take 8.1 s. Workers are forked after the model is loaded, so each starts in
milliseconds and shares the model's memory. The job process keeps the batching, ordering and assembly and
sends each request body over a pipe to an idle worker; the worker answers with a status byte and the body.

Many small requests (SingleRecord: one per record) go by `invoke_many`: the job process hands each idle worker
a bundle of consecutive requests in one pipe message, and the worker answers each of them on its own (its own
parse, prediction and answer, one after another, as a worker answers the requests that queue up for it) and
sends the answers back together. A pipe round trip and a thread hand-off per record cost more than predicting
one record; per bundle they cost next to nothing. At most one bundle is with each worker, so no more requests
are in flight than there are workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any, cast

from .forkserver import die_with_parent
from .transform_files import InvocationError

_ANSWERED = b"\x00"
_RAISED = b"\x01"
# What the job sends a worker, in a message of its own before the request: one request body, or a bundle.
_ONE = b"1"
_BUNDLE = b"B"
_JOIN_SECONDS = 5.0
# A bundle holds consecutive requests up to this many, or this many bytes (and at least one request): small enough
# that the last bundles finish close together, large enough that the round trip is a small part of its time.
BUNDLE_REQUESTS = 64
BUNDLE_BYTES = 256 * 1024
# Bundles answered ahead of the one the caller is waiting for, per worker (their answers wait in memory).
_AHEAD_PER_WORKER = 4


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
            connection.send_bytes(_ONE)
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

    def invoke_many(self, payloads: Sequence[bytes]) -> Iterator[bytes]:
        """The answers to `payloads`, in order, each request answered on its own by a worker; raises
        InvocationError at the first request (in order) that failed, once the answers before it are taken.

        Takes every worker for itself until it ends (do not call `invoke` meanwhile)."""
        if self._broken is not None:
            raise InvocationError(self._broken)
        connections = [self._idle.get() for _ in self._connections]
        try:
            yield from self._bundled(payloads, connections)
        finally:
            for connection in connections:
                self._idle.put(connection)

    def _bundled(self, payloads: Sequence[bytes], connections: list[Connection]) -> Iterator[bytes]:
        bundles = _bundles(payloads)
        idle = list(reversed(connections))
        busy: dict[Connection, int] = {}  # worker -> index of the bundle it is answering
        answered: dict[int, list[bytes]] = {}
        sent = taken = 0
        ahead = _AHEAD_PER_WORKER * len(connections)
        try:
            while taken < len(bundles):
                while idle and sent < len(bundles) and sent - taken < ahead:
                    connection = idle.pop()
                    start, end = bundles[sent]
                    try:
                        connection.send_bytes(_BUNDLE)
                        connection.send_bytes(pickle.dumps(list(payloads[start:end]), pickle.HIGHEST_PROTOCOL))
                    except OSError:
                        raise self._failed(connection) from None
                    busy[connection] = sent
                    sent += 1
                if taken in answered:
                    for answer in answered.pop(taken):
                        if answer[:1] != _ANSWERED:
                            raise InvocationError(answer[1:].decode("utf-8", errors="replace"))
                        yield answer[1:]
                    taken += 1
                    continue
                for ready in wait(list(busy)):
                    connection = cast(Connection, ready)
                    index = busy.pop(connection)
                    try:
                        answered[index] = pickle.loads(connection.recv_bytes())
                    except (EOFError, OSError):
                        raise self._failed(connection) from None
                    idle.append(connection)
        finally:
            # Answers still owed (a request failed, or the caller stopped reading): wait for them, so that every
            # worker is idle again before it is sent another request.
            for connection in busy:
                with contextlib.suppress(EOFError, OSError):
                    connection.recv_bytes()

    def _failed(self, connection: Connection) -> InvocationError:
        self._broken = self._describe_exit(connection)
        return InvocationError(self._broken)

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
            kind = connection.recv_bytes()
            payload = connection.recv_bytes()
        except EOFError:
            return
        if kind == _BUNDLE:
            answers = [_answer(invoke, request) for request in pickle.loads(payload)]
            connection.send_bytes(pickle.dumps(answers, pickle.HIGHEST_PROTOCOL))
        else:
            connection.send_bytes(_answer(invoke, payload))


def _answer(invoke: Callable[[bytes], bytes], payload: bytes) -> bytes:
    try:
        return _ANSWERED + invoke(payload)
    except Exception as exc:
        return _RAISED + (str(exc) or type(exc).__name__).encode("utf-8", errors="replace")


def _bundles(payloads: Sequence[bytes]) -> list[tuple[int, int]]:
    """(start, end) of each bundle: consecutive requests, at most BUNDLE_REQUESTS of them or BUNDLE_BYTES
    (at least one)."""
    bundles: list[tuple[int, int]] = []
    start = size = 0
    for index, payload in enumerate(payloads):
        if index > start and (index - start >= BUNDLE_REQUESTS or size + len(payload) > BUNDLE_BYTES):
            bundles.append((start, index))
            start, size = index, 0
        size += len(payload)
    if len(payloads) > start:
        bundles.append((start, len(payloads)))
    return bundles
