"""The warm process server: a child of the emulator that has imported the algorithms and forks one process
per job.

Forking from a process that already holds XGBoost makes a job start in milliseconds without sharing
anything with the emulator (whose threads and sockets a plain fork would copy). Unlike
`multiprocessing`'s fork server it never re-imports the user's `__main__` module in a job, so a script or
notebook that embeds the emulator is never run twice.

Protocol, one JSON object per line. The emulator writes `{"id", "target", "args", "log"}` to the server's
stdin; the server answers `{"id", "pid"}` once forked and `{"pid", "status"}` when a job ends (status as
`os.waitstatus_to_exitcode`: negative for a signal). End of stdin means the emulator is gone: the server
kills its jobs and exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import threading
from typing import Any

_write_lock = threading.Lock()
_children: set[int] = set()


def main(preload: list[str]) -> None:
    for module in preload:
        importlib.import_module(module)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    # Nothing else may write to the protocol stream: point stdout at stderr for stray prints.
    os.dup2(2, 1)
    threading.Thread(target=_reap, args=(out,), name="reaper", daemon=True).start()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)  # never returns
        with _write_lock:
            _children.add(pid)
        _send(out, {"id": request["id"], "pid": pid})
    with _write_lock:
        for pid in _children:
            signal_job(pid, signal.SIGKILL)
    os._exit(0)


def signal_job(pid: int, signum: int) -> None:
    """Signal a job: its whole process group when it leads one (a script-mode job runs the user's script as
    its child, in the group it made), else the process alone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _reap(out: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            threading.Event().wait(0.05)  # no children yet
            continue
        with _write_lock:
            _children.discard(pid)
        _send(out, {"pid": pid, "status": exit_code(status)})


def exit_code(status: int) -> int:
    """`os.waitstatus_to_exitcode` (Python 3.9+), for the Python 3.8 of the SKLearn 1.0-1 runtime."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _send(out: Any, message: dict[str, Any]) -> None:
    with _write_lock:
        out.write(json.dumps(message) + "\n")
        out.flush()


def _run_child(request: dict[str, Any]) -> None:
    code = 1
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.closerange(3, 1024)  # the protocol pipes and anything else the server holds are not the job's
        os.close(0)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the process
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        module_name, _, function_name = request["target"].partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        code = int(function(*request["args"]) or 0)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def die_with_parent() -> None:
    """If the server itself is killed, its jobs go too (Linux; elsewhere the server's exit covers it)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


if __name__ == "__main__":
    main(sys.argv[1:])
