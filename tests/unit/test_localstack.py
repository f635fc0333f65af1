"""backends/localstack.py without starting LocalStack: installing its environment, the errors, ensure_localstack.

Starting a real one is in tests/integration/test_localstack_process.py."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import backends.emulator.runtimes.interpreters as interpreters
import backends.localstack as localstack
from backends.base import BackendUnavailable
from backends.localstack import LocalStackError, default_directory, ensure_installed, ensure_localstack, installed

# Stands in for Python 3.13: `-m venv DIR` makes DIR/bin/python, a "pip" that logs a line and exits with $PIP_EXIT.
FAKE_PYTHON = """#!/bin/sh
echo "$0 $*" >> "$CALLS"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$FAKE_PIP" "$3/bin/python" && chmod +x "$3/bin/python"
  exit $?
fi
exit 3
"""
FAKE_PIP = """#!/bin/sh
echo "$0 $*" >> "$CALLS"
echo "Collecting localstack-core"
[ "$PIP_EXIT" = 0 ] || echo "ERROR: No matching distribution found for localstack-core" >&2
exit "$PIP_EXIT"
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "python3.13"
    script.write_text(FAKE_PYTHON)
    script.chmod(0o755)
    (tmp_path / "pip").write_text(FAKE_PIP)
    monkeypatch.setenv("FAKE_PIP", str(tmp_path / "pip"))
    calls = tmp_path / "calls"
    calls.touch()
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("PIP_EXIT", "0")
    monkeypatch.setattr(localstack, "_python313", lambda: str(script))
    return calls


def test_the_directory_is_the_setting_else_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(localstack.ENV_VAR, raising=False)
    assert default_directory() == Path.home() / ".cache" / "sagemaker-harness" / "localstack"
    monkeypatch.setenv(localstack.ENV_VAR, str(tmp_path / "ls"))
    assert default_directory() == tmp_path / "ls"


def test_without_python_313_the_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_python(minor: str) -> Path:
        raise interpreters.InterpreterNotFound(f"no Python {minor} interpreter found (looked on PATH)")

    monkeypatch.setattr(interpreters, "find_python", no_python)
    with pytest.raises(LocalStackError) as raised:
        ensure_installed(tmp_path / "ls", progress=lambda _message: None)
    assert str(raised.value) == "LocalStack needs Python 3.13: no Python 3.13 interpreter found (looked on PATH)"
    assert isinstance(raised.value, BackendUnavailable)


def test_a_pip_failure_is_one_line_naming_the_log(tmp_path: Path, fake_python: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_EXIT", "1")
    venv = tmp_path / "ls"
    with pytest.raises(LocalStackError) as raised:
        ensure_installed(venv, progress=lambda _message: None)
    message = str(raised.value)
    assert "\n" not in message
    assert message == (f"installing LocalStack into {venv} with pip failed (exit 1): ERROR: No matching "
                       f"distribution found for localstack-core; see {venv / 'install.log'}")
    assert "localstack-core[runtime]==2026.3.0" in (venv / "install.log").read_text()
    assert not installed(venv)


def test_installed_once_then_reused_and_reinstalled_when_the_pins_change(
        tmp_path: Path, fake_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "ls"
    said: list[str] = []
    assert ensure_installed(venv, progress=said.append) == venv
    assert said == [f"installing LocalStack 2026.3.0 into {venv} (about 2 minutes, once)"]
    assert installed(venv)
    calls = fake_python.read_text().splitlines()
    assert [call.split()[1:4] for call in calls] == [["-m", "venv", str(venv)], ["-m", "pip", "install"]]
    (venv / "leftover").write_text("from the old install")

    assert ensure_installed(venv, progress=said.append) == venv
    assert len(fake_python.read_text().splitlines()) == 2  # nothing run again
    monkeypatch.setattr(localstack, "PINS", (*localstack.PINS, "extra==1"))
    assert not installed(venv)
    ensure_installed(venv, progress=said.append)
    assert len(fake_python.read_text().splitlines()) == 4
    assert installed(venv) and not (venv / "leftover").exists()


def test_a_directory_of_other_files_is_never_cleared(tmp_path: Path, fake_python: Path) -> None:
    (tmp_path / "ls").mkdir()
    (tmp_path / "ls" / "notes.txt").write_text("mine")
    with pytest.raises(LocalStackError, match=r"is not empty and holds no LocalStack environment; refusing"):
        ensure_installed(tmp_path / "ls", progress=lambda _message: None)
    assert (tmp_path / "ls" / "notes.txt").read_text() == "mine"
    assert fake_python.read_text() == ""


def test_the_tests_environment_digest_is_unchanged() -> None:
    """`.venv-localstack` built by the former tests/localstack.py stays valid: same pins, same stamp."""
    assert localstack._pins_digest() == "4c8648f1ce4ab7ee815908ab76e28ff1f0421bf3b5544d20de125dcd2a8c460e"


class FakeLocalStack:
    started: list[FakeLocalStack] = []

    def __init__(self, port: int | None = None, directory: Path | None = None, progress: object = None) -> None:
        self.directory = directory
        self.url = "http://127.0.0.1:45999"
        self.stopped = False

    def start(self, timeout: float = 90) -> FakeLocalStack:
        FakeLocalStack.started.append(self)
        return self

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def fake_localstack(monkeypatch: pytest.MonkeyPatch) -> list[FakeLocalStack]:
    FakeLocalStack.started = []
    monkeypatch.setattr(localstack, "LocalStack", FakeLocalStack)
    return FakeLocalStack.started


def test_ensure_localstack_uses_the_one_that_answers(fake_localstack: list[FakeLocalStack],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localstack, "answers", lambda url, timeout=2: url == "http://ls.internal:4566/")
    assert ensure_localstack("http://ls.internal:4566/") == ("http://ls.internal:4566", None)
    assert fake_localstack == []


@pytest.mark.parametrize("url", [None, "", "http://127.0.0.1:4566"])
def test_ensure_localstack_starts_one_when_none_answers(fake_localstack: list[FakeLocalStack], url: str | None,
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(localstack, "answers", lambda url, timeout=2: False)
    started_url, stop = ensure_localstack(url, directory=tmp_path)
    assert [instance.directory for instance in fake_localstack] == [tmp_path]
    assert started_url == "http://127.0.0.1:45999"
    assert stop is not None
    stop()
    assert fake_localstack[0].stopped


def test_a_busy_port_is_refused_before_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localstack, "ensure_installed", lambda directory, progress: tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        busy_port = rf"^cannot start LocalStack on 127.0.0.1:{port}: the port is in use$"
        with pytest.raises(LocalStackError, match=busy_port):
            localstack.LocalStack(port, directory=tmp_path).start()


def test_an_early_exit_is_one_line_with_the_kept_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "ls"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\necho starting\necho \"bind: $GATEWAY_SERVER $GATEWAY_LISTEN\"\n"
                                         "exit 7\n")
    (venv / "bin" / "python").chmod(0o755)
    monkeypatch.setattr(localstack, "ensure_installed", lambda directory, progress: venv)
    instance = localstack.LocalStack(directory=venv)
    with pytest.raises(LocalStackError) as raised:
        instance.start(timeout=10)
    message = str(raised.value)
    assert message.startswith(f"LocalStack exited with code 7 before it answered at {instance.url}: bind: "
                              f"hypercorn 127.0.0.1:{instance.port} (log: ")
    log = Path(message.rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.read_text().startswith("starting\n")
    assert not (log.parent / "volume").exists()
    instance.stop()
    log.unlink()
    log.parent.rmdir()
