"""LocalStack on the host, for the integration tests' second leg (S3, Logs and STS behind the emulator).

Without Docker, LocalStack runs from `localstack-core` in its own Python 3.13 virtual environment, built here
on first use (and rebuilt when the pins change) under `.venv-localstack/`. A LocalStack that cannot be built
or started is a test error with the reason, never a skip.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-localstack"
# Versions found to work together offline (newer cryptography/pyopenssl break localstack-core 2026.3).
PINS = ["localstack-core[runtime]==2026.3.0", "cbor2<6", "cryptography>=44,<45", "pyopenssl==24.3.0",
        "service_identity==24.1.0"]


class LocalStackError(RuntimeError):
    pass


def python313() -> str:
    """A Python 3.13 interpreter: on PATH, or from pyenv's versions."""
    candidates = [shutil.which("python3.13") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True)
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
                                        capture_output=True).returncode == 0:
            return candidate
    raise LocalStackError("LocalStack needs Python 3.13 and none was found (python3.13 on PATH or in pyenv)")


def ensure_venv() -> Path:
    """The LocalStack virtual environment, built if missing or built with other pins."""
    stamp = VENV / ".pins"
    wanted = hashlib.sha256("\n".join(PINS).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and (VENV / "bin" / "python").exists():
        return VENV
    shutil.rmtree(VENV, ignore_errors=True)
    print(f"\nbuilding {VENV.name} (LocalStack {PINS[0].split('==')[1]}, about 2 minutes, once)", flush=True)
    for command in ([python313(), "-m", "venv", str(VENV)],
                    [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *PINS]):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise LocalStackError(f"could not build {VENV}: {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    stamp.write_text(wanted)
    return VENV


class LocalStack:
    """A LocalStack process on `port`, with S3, CloudWatch Logs, STS and IAM."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._data = tempfile.TemporaryDirectory(prefix="localstack-")
        self._process: subprocess.Popen[bytes] | None = None
        self._log = Path(self._data.name) / "localstack.log"

    def start(self, timeout: float = 90) -> LocalStack:
        venv = ensure_venv()
        env = {**os.environ, "GATEWAY_LISTEN": f"127.0.0.1:{self.port}", "SERVICES": "s3,logs,sts,iam",
               "LOCALSTACK_VOLUME_DIR": self._data.name, "DNS_ADDRESS": "0", "SKIP_SSL_CERT_DOWNLOAD": "1",
               "DISABLE_EVENTS": "1"}
        with self._log.open("wb") as log:
            self._process = subprocess.Popen([str(venv / "bin" / "python"), "-m", "localstack.runtime.main"],
                                             env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self._process.poll() is not None:
                raise LocalStackError(f"LocalStack exited with {self._process.returncode}:\n{self.log_tail()}")
            if self._ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise LocalStackError(f"LocalStack did not become ready in {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._data.cleanup()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_localstack/health", timeout=2) as response:
                return b'"s3": "available"' in response.read() or response.status == 200
        except (urllib.error.URLError, OSError):
            return False
