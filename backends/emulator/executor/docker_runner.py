"""Running an image that is not a built-in algorithm the SageMaker way: in Docker.

SageMaker's contract for a bring-your-own container: training runs `docker run <image> train` with the job's
`/opt/ml` (config, channels, model, output) mounted; serving runs `<image> serve`, which answers `GET /ping`
and `POST /invocations` on port 8080. The command lines are built by pure functions (`run_argv` of a
`ContainerSpec`), so what would run is testable without an engine; `DockerCli` executes them.

The runner drives the Docker command-line client (`$HARNESS_DOCKER`, default `docker`; `podman` works too),
as SDK local mode does: nothing more to install in the emulator, and the job log shows a command a user can
run by hand. Environment values are passed as `-e NAME` with the value in the client's own environment, so
they never appear in a process listing.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .s3_transfer import DataError
from .workspace import TrainingWorkspace

CONTAINER_OPT_ML = "/opt/ml"
SERVING_PORT = 8080  # the port SageMaker sends /ping and /invocations to
PULL_TIMEOUT_SECONDS = 1800
# Credentials for calls the container makes to the emulator's services, which accept any.
_CONTAINER_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool = False

    def argument(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass(frozen=True)
class ContainerSpec:
    """One `docker run`: everything that decides what the container sees."""

    image: str
    name: str
    args: tuple[str, ...]
    mounts: tuple[Mount, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    network: str | None = None  # None: Docker's default bridge
    publish: tuple[tuple[str, int, int], ...] = ()  # (host address, host port, container port)
    entrypoint: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def run_argv(spec: ContainerSpec, executable: str = "docker") -> list[str]:
    """The exact `docker run` command line for `spec` (environment values travel in the process environment)."""
    argv = [executable, "run", "--rm", "--name", spec.name]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    if spec.network is not None:
        argv += ["--network", spec.network]
    for host, host_port, container_port in spec.publish:
        argv += ["--publish", f"{host}:{host_port}:{container_port}"]
    for mount in spec.mounts:
        argv += ["--volume", mount.argument()]
    for key in sorted(spec.env):
        argv += ["--env", key]
    if spec.entrypoint is not None:
        argv += ["--entrypoint", spec.entrypoint]
    return [*argv, spec.image, *spec.args]


def container_name(kind: str, job_name: str) -> str:
    """A unique, valid container name that says which job it belongs to."""
    safe = re.sub(r"[^a-zA-Z0-9_.-]", "-", job_name)[:64]
    return f"sagemaker-harness-{kind}-{safe}-{secrets.token_hex(3)}"


def training_spec(job: dict[str, Any], opt_ml: Path, region: str, endpoint_url: str | None) -> ContainerSpec:
    """`docker run <image> train` for a CreateTrainingJob document, with its workspace at /opt/ml.

    Network: `none` when the job asks for `EnableNetworkIsolation`, as SageMaker cuts the container off; otherwise
    the host's network, so that the container reaches the emulator (which listens on loopback) at the same URL
    as this process, given to it as AWS_ENDPOINT_URL.
    """
    algorithm = job["AlgorithmSpecification"]
    isolated = bool(job.get("EnableNetworkIsolation"))
    env = {
        **{str(k): str(v) for k, v in (job.get("Environment") or {}).items()},
        "TRAINING_JOB_NAME": job["TrainingJobName"],
        "TRAINING_JOB_ARN": job.get("TrainingJobArn", ""),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    if endpoint_url and not isolated:
        env.update({"AWS_ENDPOINT_URL": endpoint_url, **_CONTAINER_CREDENTIALS})
    entrypoint, args = _command(algorithm.get("ContainerEntrypoint"), algorithm.get("ContainerArguments"), "train")
    return ContainerSpec(
        image=algorithm["TrainingImage"], name=container_name("training", job["TrainingJobName"]), args=args,
        mounts=(Mount(opt_ml, CONTAINER_OPT_ML),), env=env, network="none" if isolated else "host",
        entrypoint=entrypoint, labels={"sagemaker-harness.training-job": job["TrainingJobName"]},
    )


def serving_spec(job: dict[str, Any], container: dict[str, Any], model_dir: Path, host_port: int,
                 region: str) -> ContainerSpec:
    """`docker run <image> serve` for a transform job, with the model at /opt/ml/model and port 8080 published on
    the host's loopback only.

    The default bridge network is needed to publish a port, so a model's network isolation is not enforced here;
    the emulator talks to the container through the published port only.
    """
    strategy = {"SingleRecord": "SINGLE_RECORD", "MultiRecord": "MULTI_RECORD"}
    env = {
        **{str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
        **{str(k): str(v) for k, v in (job.get("Environment") or {}).items()},
        # What SageMaker tells a container that it serves a batch transform job.
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(job.get("MaxPayloadInMB", 6)),
        "SAGEMAKER_BATCH_STRATEGY": strategy.get(job.get("BatchStrategy", "MultiRecord"), "MULTI_RECORD"),
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(job.get("MaxConcurrentTransforms") or 1),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    return ContainerSpec(
        image=container["Image"], name=container_name("transform", job["TransformJobName"]), args=("serve",),
        mounts=(Mount(model_dir, f"{CONTAINER_OPT_ML}/model"),), env=env,
        publish=(("127.0.0.1", host_port, SERVING_PORT),),
        labels={"sagemaker-harness.transform-job": job["TransformJobName"]},
    )


def _command(entrypoint: list[str] | None, arguments: list[str] | None, default: str
             ) -> tuple[str | None, tuple[str, ...]]:
    """SageMaker runs `ContainerEntrypoint` + `ContainerArguments` when given, else the image's own entrypoint with
    `train` (and any `ContainerArguments` after it). `docker run --entrypoint` takes one program; the rest of the
    entrypoint list becomes its first arguments."""
    if entrypoint:
        return entrypoint[0], (*entrypoint[1:], *(arguments or []))
    return None, (default, *(arguments or []))


def docker_executable() -> str:
    return os.environ.get("HARNESS_DOCKER", "docker")


class DockerCli:
    """The Docker client: is there an engine, is the image there, run a spec."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or docker_executable()

    def problem(self) -> str | None:
        """None when the client exists and the engine answers; otherwise why not, in one line."""
        if shutil.which(self.executable) is None:
            return f"the `{self.executable}` command is not installed"
        try:
            result = subprocess.run([self.executable, "version", "--format", "{{.Server.Version}}"],
                                    capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{self.executable} version` failed: {exc}"
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().splitlines()
            return message[0][:200] if message else f"`{self.executable} version` exited {result.returncode}"
        return None

    def ensure_image(self, image: str) -> None:
        """The image in the engine, pulled if missing; a DataError (the job's ClientError) when it cannot be had."""
        present = subprocess.run([self.executable, "image", "inspect", "--format", "{{.Id}}", image],
                                 capture_output=True, text=True, timeout=60)
        if present.returncode == 0:
            return
        try:
            pulled = subprocess.run([self.executable, "pull", "--quiet", image], capture_output=True, text=True,
                                    timeout=PULL_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise DataError(f"The emulator cannot run image '{image}': Docker could not pull it within "
                            f"{PULL_TIMEOUT_SECONDS} s.") from None
        if pulled.returncode != 0:
            reason = (pulled.stderr or pulled.stdout).strip().splitlines()
            raise DataError(f"The emulator cannot run image '{image}': it is not in the local Docker engine and "
                            f"Docker could not pull it ({reason[-1][:300] if reason else 'no reason given'}). "
                            "Build or pull it first.")

    def run(self, spec: ContainerSpec, log_path: Path) -> ContainerProcess:
        return ContainerProcess(self, spec, log_path)

    def signal(self, name: str, signal_name: str) -> None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([self.executable, "kill", "--signal", signal_name, name], capture_output=True,
                           timeout=30)


def require_docker(image_uri: str, role: str) -> DockerCli:
    """The Docker client for an image the emulator has no native runner for, or the job's ClientError.

    `role` says what the emulator does natively ("runs" for training, "serves" for transform).
    """
    cli = DockerCli()
    problem = cli.problem()
    if problem is not None:
        raise DataError(
            f"The emulator cannot run image '{image_uri}': it {role} the built-in XGBoost images (xgboost:1 and "
            "sagemaker-xgboost:<version> in any region) natively, and any other image runs in Docker, which is "
            f"not available here ({problem})."
        )
    cli.ensure_image(image_uri)
    return cli


class ContainerProcess:
    """A running `docker run`, watched like a job process (poll, wait, terminate, kill).

    Its stdout and stderr (the container's, and the client's own errors) go to the job's log. Stopping signals
    the container through the engine: signalling the client alone would leave the container running.
    """

    def __init__(self, cli: DockerCli, spec: ContainerSpec, log_path: Path) -> None:
        self.cli = cli
        self.spec = spec
        argv = run_argv(spec, cli.executable)
        with log_path.open("ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             env={**os.environ, **spec.env})
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    def poll(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        """SIGTERM to the container, as SageMaker sends on stop."""
        if self.poll() is None:
            self.cli.signal(self.spec.name, "TERM")

    def kill(self) -> None:
        if self.poll() is None:
            self.cli.signal(self.spec.name, "KILL")
            with self._lock, contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(10)
            if self._process.poll() is None:
                self._process.kill()


def start_training_container(cli: DockerCli, job: dict[str, Any], workspace: TrainingWorkspace, region: str,
                             endpoint_url: str | None) -> ContainerProcess:
    """Run the training container on the job's workspace (already holding its config and channels)."""
    # Images may run as any user; /opt/ml/model and /opt/ml/output must be writable to it, as on SageMaker.
    for directory in (workspace.model, workspace.output, workspace.output / "data"):
        directory.chmod(0o777)
    return cli.run(training_spec(job, workspace.opt_ml, region, endpoint_url), workspace.log)
