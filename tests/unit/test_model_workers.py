"""The model server's forked workers: answers in order, errors passed on, dead workers reported, no leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backends.emulator.executor.model_workers import ModelWorkers
from backends.emulator.executor.transform_files import InvocationError
from tests.conftest import process_alive

ROOT = Path(__file__).resolve().parents[2]


def _answer(payload: bytes) -> bytes:
    if payload == b"fail":
        raise ValueError("Model server answered 415: not csv")
    if payload == b"die":
        os._exit(3)
    return f"{os.getpid()}:".encode() + payload[::-1]


def test_concurrent_requests_are_answered_by_several_workers() -> None:
    with ModelWorkers(_answer, 3) as workers:
        assert len(set(workers.pids)) == 3 and os.getpid() not in workers.pids
        payloads = [f"payload-{n}".encode() * (n * 1000 + 1) for n in range(40)]
        with ThreadPoolExecutor(6) as threads:
            answers = list(threads.map(workers.invoke, payloads))
    for payload, answer in zip(payloads, answers, strict=True):
        pid, _, body = answer.partition(b":")
        assert body == payload[::-1]
        assert int(pid) in workers.pids
    assert len({answer.partition(b":")[0] for answer in answers}) > 1  # the work was shared
    assert not any(process_alive(pid) for pid in workers.pids)  # close() ended them


def test_a_workers_error_reaches_the_caller_and_the_worker_carries_on() -> None:
    with ModelWorkers(_answer, 1) as workers:
        with pytest.raises(InvocationError, match=r"^Model server answered 415: not csv$"):
            workers.invoke(b"fail")
        assert workers.invoke(b"abc").endswith(b":cba")


def test_a_worker_that_dies_fails_this_and_later_requests() -> None:
    with ModelWorkers(_answer, 2) as workers:
        with pytest.raises(InvocationError, match=r"model-worker-\d exited unexpectedly \(exit code 3\)"):
            workers.invoke(b"die")
        with pytest.raises(InvocationError, match="exited unexpectedly"):
            workers.invoke(b"abc")


def test_an_empty_request_is_a_request_not_the_end() -> None:
    with ModelWorkers(_answer, 1) as workers:
        assert workers.invoke(b"").endswith(b":")
        assert workers.invoke(b"xy").endswith(b":yx")


def test_workers_die_with_a_killed_job_process(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys, time
        from backends.emulator.executor.model_workers import ModelWorkers
        workers = ModelWorkers(lambda payload: payload, 2)
        print(" ".join(map(str, workers.pids)), flush=True)
        time.sleep(600)
    """)
    job = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert job.stdout is not None
    pids = [int(pid) for pid in job.stdout.readline().split()]
    assert len(pids) == 2 and all(process_alive(pid) for pid in pids)
    job.send_signal(signal.SIGKILL)
    job.wait()
    deadline = time.monotonic() + 30
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(process_alive(pid) for pid in pids)


def test_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ModelWorkers(_answer, 0)

