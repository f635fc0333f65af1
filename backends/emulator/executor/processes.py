"""Job processes, forked by a warm process server (`forkserver.py`) that the emulator starts once per
interpreter.

The server has already imported the algorithm code (and so XGBoost): a job starts in milliseconds, runs in
its own process (killed on stop), writes stdout and stderr to its log at the file-descriptor level (so
output from native code is captured too), and ends when the emulator ends.

Jobs run on the emulator's own interpreter, or on a runtime's (an image version's own XGBoost release, see
`runtimes/`): each runtime gets its own server, started on its first job, whose interpreter sees the
runtime's site-packages and the `backends` package only.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from ..runtimes import Runtime
from ..runtimes.catalog import XGBOOST_RUNNER_MODULES
from ..runtimes.runner_env import runner_environment, runner_path
from .forkserver import signal_job


class ForkServer:
    """The emulator's side of a warm process server: the emulator's interpreter, or a runtime's."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self._runtime = runtime
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, JobProcess] = {}
        self._running: dict[int, JobProcess] = {}
        self._exits: dict[int, int] = {}  # exits reported before the pid was matched to its job

    def start(self) -> None:
        with self._lock:
            self._ensure_running()

    def fork(self, job: JobProcess, target: str, args: tuple[Any, ...], log: Path) -> None:
        with self._lock:
            stdin = self._ensure_running()
            request_id = next(self._ids)
            self._pending[request_id] = job
            stdin.write(json.dumps({"id": request_id, "target": target, "args": list(args), "log": str(log)}) + "\n")
            stdin.flush()

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            process.stdin.close()  # end of input: the server kills its jobs and exits
            process.wait(10)

    def _ensure_running(self) -> IO[str]:
        if self._process is None or self._process.poll() is not None:
            python, env, cwd = self._interpreter()
            # Modules the server imports once; every job process is forked with them loaded.
            preload = self._runtime.spec.runner_modules if self._runtime is not None else XGBOOST_RUNNER_MODULES
            self._process = subprocess.Popen(
                [python, "-m", "backends.emulator.executor.forkserver", *preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env, cwd=cwd,
            )
            threading.Thread(target=self._read, args=(self._process,), name="forkserver-reader", daemon=True).start()
        assert self._process.stdin is not None
        return self._process.stdin

    def _interpreter(self) -> tuple[str, dict[str, str], str | None]:
        if self._runtime is None:
            return sys.executable, {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}, None
        root = self._runtime.root
        return str(self._runtime.python), runner_environment(root), str(runner_path(root))

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            message = json.loads(line)
            with self._lock:
                if "id" in message:
                    job = self._pending.pop(message["id"])
                    pid = message["pid"]
                    if pid in self._exits:
                        job._exited(self._exits.pop(pid))
                    else:
                        self._running[pid] = job
                        job._started(pid)
                else:
                    pid, status = message["pid"], message["status"]
                    job_or_none = self._running.pop(pid, None)
                    if job_or_none is None:
                        self._exits[pid] = status
                    else:
                        job_or_none._exited(status)
        # The server is gone: every job it held is gone with it.
        with self._lock:
            for job in [*self._pending.values(), *self._running.values()]:
                job._exited(-int(signal.SIGKILL))
            self._pending.clear()
            self._running.clear()


_server = ForkServer()
_runtime_servers: dict[str, ForkServer] = {}
_runtime_servers_lock = threading.Lock()


def warm_up() -> None:
    """Start the process server now, so the first job does not wait for its imports."""
    _server.start()


def shutdown() -> None:
    _server.stop()
    with _runtime_servers_lock:
        servers = list(_runtime_servers.values())
        _runtime_servers.clear()
    for server in servers:
        server.stop()


def _server_for(runtime: Runtime | None) -> ForkServer:
    if runtime is None:
        return _server
    with _runtime_servers_lock:
        # Keyed by install, so a reinstalled runtime gets a fresh server (the old one ends with the emulator).
        server = _runtime_servers.get(runtime.identity)
        if server is None:
            server = _runtime_servers[runtime.identity] = ForkServer(runtime)
        return server


class JobProcess:
    """One running job: `target` is "module:function", called with `args` (JSON values); its return value is
    the exit code. It runs on `runtime`'s interpreter, or on the emulator's when None."""

    def __init__(self, target: str, args: tuple[Any, ...], log_path: Path, runtime: Runtime | None = None) -> None:
        self._pid: int | None = None
        self._code: int | None = None
        self._started_event = threading.Event()
        self._done = threading.Event()
        _server_for(runtime).fork(self, target, tuple(str(a) if isinstance(a, Path) else a for a in args), log_path)

    @property
    def pid(self) -> int | None:
        return self._pid

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        return self._code

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self._code

    def terminate(self) -> None:
        """SIGTERM, as SageMaker sends to a container it stops."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        self._started_event.wait(10)
        if self._pid is not None and self._code is None:
            signal_job(self._pid, signum)

    def _started(self, pid: int) -> None:
        self._pid = pid
        self._started_event.set()

    def _exited(self, code: int) -> None:
        self._code = code
        self._started_event.set()
        self._done.set()
