"""The model server's forked workers: answers in order, errors passed on, dead workers reported, no leftovers;
the same for many small requests sent in bundles (`invoke_many`)."""

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

from backends.emulator.executor.model_workers import BUNDLE_BYTES, BUNDLE_REQUESTS, ModelWorkers, _bundles
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
        from backends.emulator.executor.model_workers import BUNDLE_BYTES, BUNDLE_REQUESTS, ModelWorkers, _bundles
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



def test_many_requests_are_answered_in_order_each_on_its_own() -> None:
    # Sizes around the bundle limits: single large requests, many tiny ones, empty ones.
    payloads = [f"r{n}".encode() * (1 + (n * 7919) % 50) for n in range(1000)]
    payloads[10] = b""
    payloads[500] = b"x" * (BUNDLE_BYTES + 1)
    payloads[501] = b"y" * (BUNDLE_BYTES // 2)
    with ModelWorkers(_answer, 2) as workers:
        answers = list(workers.invoke_many(payloads))
        assert [answer.partition(b":")[2] for answer in answers] == [payload[::-1] for payload in payloads]
        assert {int(answer.partition(b":")[0]) for answer in answers} == set(workers.pids)  # both worked
        assert workers.invoke(b"after").endswith(b":retfa")  # the workers are free again
        assert list(workers.invoke_many([])) == []


def test_bundles_hold_consecutive_requests_up_to_their_limits() -> None:
    sizes = [10] * 200 + [BUNDLE_BYTES * 2] + [BUNDLE_BYTES // 3] * 4
    bundles = _bundles([b"x" * size for size in sizes])
    assert bundles[0] == (0, BUNDLE_REQUESTS)
    assert [end for _, end in bundles][-1] == len(sizes)
    assert all(start == previous_end for (start, _), (_, previous_end) in zip(bundles[1:], bundles, strict=False))
    assert (200, 201) in bundles  # a request larger than a bundle goes alone
    assert bundles[-2:] == [(201, 204), (204, 205)]


def test_a_failed_request_stops_the_answers_at_its_place() -> None:
    payloads = [b"a%d" % n for n in range(300)]
    payloads[137] = b"fail"
    with ModelWorkers(_answer, 2) as workers:
        answers = []
        with pytest.raises(InvocationError, match=r"^Model server answered 415: not csv$"):
            for answer in workers.invoke_many(payloads):
                answers.append(answer)
        assert len(answers) == 137
        # Every worker is idle again: later requests get their own answers, not ones left from before.
        assert [a.partition(b":")[2] for a in workers.invoke_many([b"12", b"34"])] == [b"21", b"43"]
        assert workers.invoke(b"56").endswith(b":65")


def test_a_caller_that_stops_reading_leaves_the_workers_free() -> None:
    payloads = [b"p%d" % n for n in range(1000)]
    with ModelWorkers(_answer, 2) as workers:
        answers = workers.invoke_many(payloads)
        assert next(answers).endswith(b":0p")
        answers.close()  # type: ignore[attr-defined]
        assert workers.invoke(b"ok").endswith(b":ko")


def test_a_worker_that_dies_during_many_requests_fails_them_and_later_ones() -> None:
    payloads = [b"q%d" % n for n in range(300)]
    payloads[200] = b"die"
    with ModelWorkers(_answer, 2) as workers:
        with pytest.raises(InvocationError, match=r"model-worker-\d exited unexpectedly \(exit code 3\)"):
            list(workers.invoke_many(payloads))
        with pytest.raises(InvocationError, match="exited unexpectedly"):
            workers.invoke(b"abc")
        with pytest.raises(InvocationError, match="exited unexpectedly"):
            list(workers.invoke_many([b"abc"]))
