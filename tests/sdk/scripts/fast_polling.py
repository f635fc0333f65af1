"""Run a script with the SageMaker SDKs' polling intervals shortened: a test-speed measure, nothing else.

    python fast_polling.py SCRIPT [ARGS...]

Both SDK majors sleep 5-10 s between status polls, and the 2.x `logs_for_job` describes the job again only
once 30 s of wall time have passed, so against an emulator whose jobs take about a second each wait would
still cost tens of seconds. Here, for code in the `sagemaker` package only, a sleep lasts at most
`MAX_REAL_SLEEP` seconds and the seconds it skipped are added to the clock that code reads (`time.time`,
`time.monotonic`): every SDK loop behaves as if it had slept its full interval, so it makes the same calls in
the same order, just sooner. Requests, responses and results are untouched, and nothing outside the SDK
(botocore, s3transfer, the script itself) sees a changed clock.

Runs as the script's own interpreter (the SDK venv's python), so it uses the standard library only.
"""

from __future__ import annotations

import runpy
import sys
import threading
import time

MAX_REAL_SLEEP = 0.1

_real_sleep = time.sleep
_real_time = time.time
_real_monotonic = time.monotonic
_lock = threading.Lock()
_skipped = 0.0


def _called_from_sdk() -> bool:
    # Frame 0 is this function, 1 the patched clock function, 2 whoever called it.
    try:
        module = sys._getframe(2).f_globals.get("__name__", "")
    except ValueError:  # called with no Python caller
        return False
    return module == "sagemaker" or module.startswith("sagemaker.")


def _sleep(seconds: float) -> None:
    global _skipped
    if seconds > MAX_REAL_SLEEP and _called_from_sdk():
        with _lock:
            _skipped += seconds - MAX_REAL_SLEEP
        seconds = MAX_REAL_SLEEP
    _real_sleep(seconds)


def _time() -> float:
    return _real_time() + _skipped if _called_from_sdk() else _real_time()


def _monotonic() -> float:
    return _real_monotonic() + _skipped if _called_from_sdk() else _real_monotonic()


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: fast_polling.py SCRIPT [ARGS...]")
    time.sleep = _sleep
    time.time = _time
    time.monotonic = _monotonic
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
