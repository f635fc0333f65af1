"""Job processes: each job runs in a fresh process forked from a warm server.

A `forkserver` that has already imported the algorithm code (and so XGBoost) forks a child per job in a few
milliseconds: the job is isolated (its own process, killed on stop) yet pays nothing for imports. The
child's stdout and stderr go to the job's log file at the file-descriptor level, so output from native code
is captured too, and the child ends when the emulator ends.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

# Modules the warm server imports once; every job process is forked with them loaded.
PRELOAD = ["backends.emulator.algorithms.xgboost.entry"]

_context: ForkServerContext | None = None
_context_lock = threading.Lock()


def _ctx() -> ForkServerContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            assert isinstance(context, ForkServerContext)
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def warm_up() -> None:
    """Start the fork server now (it imports the algorithms), so the first job does not wait for it."""
    process = _ctx().Process(target=_noop, daemon=True)
    process.start()
    process.join()


class JobProcess:
    """One running job: `target` is "module:function", called with `args`; its return value is the exit code."""

    def __init__(self, target: str, args: tuple[Any, ...], log_path: Path) -> None:
        self._process = _ctx().Process(target=_child_main, args=(target, args, str(log_path), os.getpid()),
                                       daemon=True)
        self._process.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        return self._process.exitcode

    def terminate(self) -> None:
        """SIGTERM, as SageMaker sends to a container it stops."""
        if self._process.exitcode is None:
            self._process.terminate()

    def kill(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()


def _noop() -> None:
    return None


def _child_main(target: str, args: tuple[Any, ...], log_path: str, emulator_pid: int) -> None:
    _die_with(emulator_pid)
    # Restore the default so SIGTERM stops the job even if the server ignored it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    code = function(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(int(code or 0))


def _die_with(pid: int) -> None:
    """End this job the moment the emulator process `pid` ends, even by kill -9.

    The fork server outlives the emulator while it has children (every child holds its liveness pipe), so
    the child watches the emulator itself, through a pidfd where Linux has one (immune to pid reuse).
    """
    def watch() -> None:
        try:
            handle = os.pidfd_open(pid)
        except (AttributeError, OSError):
            handle = None
        if handle is not None:
            select.select([handle], [], [])
        else:
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
                time.sleep(0.5)
        os._exit(137)

    threading.Thread(target=watch, name="emulator-watch", daemon=True).start()
