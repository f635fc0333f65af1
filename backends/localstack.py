"""LocalStack on this machine, without Docker, reachable from this machine only.

LocalStack runs from `localstack-core` in its own Python 3.13 virtual environment, installed on first use (and
reinstalled when the pins below change) the way runtimes are: under `$HARNESS_LOCALSTACK_DIR`, else
`~/.cache/sagemaker-harness/localstack`. That directory is the virtual environment itself, with `install.log`
(pip's output), `.pins` (written last: what it was built from) and `.lock` (serialises installs between
processes) inside it.

It serves S3, CloudWatch Logs, STS and IAM on 127.0.0.1 only. LocalStack's default gateway server, twisted,
ignores the host of `GATEWAY_LISTEN` and listens on every interface (`runtime/server/twisted.py` opens a
`TCP4ServerEndpoint(reactor, port)` without an interface), so it is started with `GATEWAY_SERVER=hypercorn`,
which binds the address it is given.

`ensure_localstack(url)` is what a backend calls: the LocalStack already answering at `url`, else a new one on a
free loopback port, with the function that stops it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from .base import BackendUnavailable
from .emulator.executor.docker_serving import free_port
from .emulator.runtimes.store import locked

ENV_VAR = "HARNESS_LOCALSTACK_DIR"
PYTHON = "3.13"
# Versions found to work together offline (newer cryptography/pyopenssl break localstack-core 2026.3).
PINS = ("localstack-core[runtime]==2026.3.0", "cbor2<6", "cryptography>=44,<45", "pyopenssl==24.3.0",
        "service_identity==24.1.0")
SERVICES = "s3,logs,sts,iam"
HOST = "127.0.0.1"
HEALTH_PATH = "/_localstack/health"
INSTALL_LOG = "install.log"
_STAMP = ".pins"
_LOCK = ".lock"
_OURS = (_STAMP, _LOCK, INSTALL_LOG, "pyvenv.cfg")  # a directory with one of these may be cleared and rebuilt
_PIP_TIMEOUT_SECONDS = 1800
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # $http_proxy must not see loopback


class LocalStackError(BackendUnavailable):
    """LocalStack cannot be installed or started here; the message says why in one line."""


def default_directory() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "sagemaker-harness" / "localstack"


def _say_on_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def installed(directory: Path | None = None) -> bool:
    """Whether `directory` holds a LocalStack environment built from the current pins."""
    venv = (directory if directory is not None else default_directory()).expanduser()
    stamp = venv / _STAMP
    try:
        return stamp.read_text() == _pins_digest() and (venv / "bin" / "python").exists()
    except OSError:
        return False


def ensure_installed(directory: Path | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """The LocalStack virtual environment at `directory`, installed first if missing or built from other pins.

    Raises LocalStackError (one line) when there is no Python 3.13 or pip fails; pip's output is in
    `<directory>/install.log`."""
    venv = (directory if directory is not None else default_directory()).expanduser().absolute()
    if installed(venv):
        return venv
    say = progress or _say_on_stderr
    if venv.is_dir() and any(venv.iterdir()) and not any((venv / name).exists() for name in _OURS):
        raise LocalStackError(f"{venv} is not empty and holds no LocalStack environment; refusing to install "
                              f"into it: choose an empty or new directory (${ENV_VAR})")
    venv.mkdir(parents=True, exist_ok=True)
    with locked(venv / _LOCK):
        if installed(venv):  # another process installed it while this one waited
            return venv
        python = _python313()
        for entry in venv.iterdir():  # what an older or interrupted install left, except the lock
            if entry.name != _LOCK:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        log = venv / INSTALL_LOG
        log.write_text("")
        say(f"installing LocalStack {PINS[0].split('==')[1]} into {venv} (about 2 minutes, once)")
        _run([python, "-m", "venv", str(venv)], log, f"creating the LocalStack environment {venv}")
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
              "--progress-bar", "off", *PINS], log, f"installing LocalStack into {venv} with pip")
        (venv / _STAMP).write_text(_pins_digest())
        return venv


class LocalStack:
    """A LocalStack process on 127.0.0.1:`port` (a free port when None), with S3, CloudWatch Logs, STS and IAM.

    `directory` is its virtual environment (default: `default_directory()`), installed by `start` if needed."""

    def __init__(self, port: int | None = None, directory: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self._requested_port = port
        self.port = port or 0
        self.directory = directory
        self._progress = progress
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        return self._workdir / "localstack.log" if self._workdir is not None else None

    def start(self, timeout: float = 90) -> LocalStack:
        """Install if needed, start, and return once LocalStack answers; LocalStackError (one line) if not."""
        if self._process is not None:
            raise LocalStackError(f"LocalStack at {self.url} is already started")
        venv = ensure_installed(self.directory, self._progress)
        self.port = self._requested_port or free_port()
        if not _port_is_free(self.port):
            raise LocalStackError(f"cannot start LocalStack on {HOST}:{self.port}: the port is in use")
        self._workdir = Path(tempfile.mkdtemp(prefix="harness-localstack-"))
        volume = self._workdir / "volume"
        volume.mkdir()
        env = {**os.environ, "GATEWAY_SERVER": "hypercorn", "GATEWAY_LISTEN": f"{HOST}:{self.port}",
               "LOCALSTACK_HOST": f"{HOST}:{self.port}", "SERVICES": SERVICES, "LOCALSTACK_VOLUME_DIR": str(volume),
               "DNS_ADDRESS": "0", "SKIP_SSL_CERT_DOWNLOAD": "1", "DISABLE_EVENTS": "1"}
        with (self._workdir / "localstack.log").open("wb") as log:
            self._process = subprocess.Popen([str(venv / "bin" / "python"), "-m", "localstack.runtime.main"],
                                             env=env, cwd=self._workdir, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self._fail(f"LocalStack exited with code {code} before it answered at {self.url}")
            if answers(self.url, timeout=2):
                return self
            time.sleep(0.25)
        self._fail(f"LocalStack did not answer at {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 20 s) and remove its data; safe to call twice."""
        atexit.unregister(self.stop)
        self._terminate()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return "(no log)"
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _fail(self, what: str) -> NoReturn:
        """Stop, keep the log (and only the log) for the message, and raise LocalStackError in one line."""
        atexit.unregister(self.stop)
        self._terminate()
        log = self.log_path
        last = next((line.strip() for line in reversed(self.log_tail(200).splitlines()) if line.strip()), "")
        if self._workdir is not None:
            shutil.rmtree(self._workdir / "volume", ignore_errors=True)
        self._workdir = None
        raise LocalStackError(f"{what}: {last[:200] or 'no output'} (log: {log})")


def answers(url: str, timeout: float = 2) -> bool:
    """Whether a LocalStack answers its health check at `url` (asked directly, never through a proxy)."""
    try:
        with _DIRECT.open(f"{url.rstrip('/')}{HEALTH_PATH}", timeout=timeout) as response:
            return response.status == 200 and "services" in json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_localstack(url: str | None, *, directory: Path | None = None, timeout: float = 90,
                      progress: Callable[[str], None] | None = None) -> tuple[str, Callable[[], None] | None]:
    """`(url, None)` when a LocalStack answers at `url`; else one started on a free 127.0.0.1 port (installed
    first if needed, see `ensure_installed`): `(its url, the function that stops it)`.

    Raises LocalStackError, a BackendUnavailable, in one line when LocalStack cannot be installed or started."""
    if url and answers(url):
        return url.rstrip("/"), None
    instance = LocalStack(directory=directory, progress=progress).start(timeout)
    return instance.url, instance.stop


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _pins_digest() -> str:
    return hashlib.sha256("\n".join(PINS).encode()).hexdigest()


def _python313() -> str:
    from .emulator.runtimes.interpreters import InterpreterNotFound, find_python

    try:
        return str(find_python(PYTHON))
    except InterpreterNotFound as exc:
        raise LocalStackError(f"LocalStack needs Python {PYTHON}: {exc}") from None


def _run(command: list[str], log: Path, what: str) -> None:
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        try:
            result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, timeout=_PIP_TIMEOUT_SECONDS,
                                    stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise LocalStackError(f"{what} took more than {_PIP_TIMEOUT_SECONDS} s; see {log}") from None
        except OSError as exc:
            raise LocalStackError(f"{what} failed: {exc}; see {log}") from None
    if result.returncode != 0:
        raise LocalStackError(f"{what} failed (exit {result.returncode}): {_last_error(log)}; see {log}")


def _last_error(log: Path) -> str:
    """pip's `ERROR:` line, else the log's last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return ((errors or lines or ["no output"])[-1])[:200]
