"""The emulator as a running thing: composes store, control plane, executor and gateway, and serves HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import journal, snapshot
from .algorithms.images import resolve_image
from .durable_services import DurableServices
from .executor import embedded_s3
from .executor.async_inference import AsyncInvocations
from .executor.clients import AwsClients
from .executor.endpoint_fleet import EndpointFleet
from .executor.executor import Executor
from .executor.training import RunSettings
from .gateway import Gateway, WSGIApp
from .http_server import HttpServer
from .iam import PolicySimulator, ensure_execution_role
from .sagemaker.api import SageMakerApi
from .sagemaker.endpoint_configs import EndpointConfigs
from .sagemaker.endpoints import Endpoints
from .sagemaker.models import Models
from .sagemaker.tags import Tags
from .sagemaker.training_jobs import TrainingJobs
from .sagemaker.transform_jobs import TransformJobs
from .sagemaker.tuning_jobs import TuningJobs
from .sagemaker_runtime import RuntimeApi
from .services import UpstreamProxy, embedded_moto
from .store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorConfig:
    state_dir: Path = field(default_factory=lambda: Path(".harness-state"))
    host: str = "127.0.0.1"  # loopback unless told otherwise: the emulator has no authentication
    port: int = 0  # 0 = any free port
    region: str = "us-east-1"  # for requests that carry no SigV4 region
    upstream: str | None = None  # e.g. a LocalStack endpoint for S3/Logs/STS/IAM instead of embedded moto
    max_running_jobs: int = 4
    runtimes_dir: Path | None = None  # image versions' XGBoost runtimes (None: $HARNESS_RUNTIMES_DIR or the default)
    # Save the embedded S3 and Logs data in state_dir at stop and load it at start (see snapshot.py); an
    # upstream keeps its own data.
    persist_services: bool = True
    # With persist_services: write every S3 and Logs change to the journal in state_dir before answering it, so
    # that whatever was answered survives a crash (durable_services.py). False: saved only at a clean stop.
    durable_services: bool = True
    # With durable_services: flush each change to the disk (fsync) before answering it, so that it survives a power
    # loss too. False: handed to the operating system only, which survives kill -9 and the OOM killer.
    journal_fsync: bool = True
    capture_flush_seconds: float = 1.0  # how often endpoints' data capture files are written to S3


class SnapshotError(Exception):
    """The saved S3 and Logs data could not be loaded at start."""


class Emulator:
    """`with Emulator(config) as emu:` serves on `emu.endpoint_url` from a background thread."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.store = Store(self.config.state_dir / "state.sqlite3")
        self.training = TrainingJobs(self.store, is_builtin_image=_is_builtin_algorithm,
                                     has_objects=self._prefix_has_objects)
        self.models = Models(self.store, object_exists=self._object_exists)
        self.transforms = TransformJobs(self.store, self.models, has_objects=self._prefix_has_objects)
        self._moto: WSGIApp | None = None
        self._durable: DurableServices | None = None
        services: WSGIApp
        if self.config.upstream:
            services = UpstreamProxy(self.config.upstream)
        else:
            services = self._moto = embedded_moto()
            if self._persists and self.config.durable_services:  # every change on disk before it is answered
                services = self._durable = DurableServices(self._moto)
        # IAM's policy simulator answers for this emulator, which enforces no IAM policy (see iam.py).
        services = PolicySimulator(services)
        self.endpoint_configs = EndpointConfigs(self.store, self.models)
        self.endpoints = Endpoints(self.store, self.endpoint_configs, self.models)
        self.tuning = TuningJobs(self.store, is_builtin_image=_is_builtin_algorithm,
                                 has_objects=self._prefix_has_objects)
        self.tags = Tags(self.store)
        api = SageMakerApi(self.training, self.models, self.transforms, self.endpoint_configs, self.endpoints,
                           self.tuning, self.tags)
        self.runtime = RuntimeApi(self.endpoints, None, self.config.region)
        self.gateway = Gateway(api, services, self.config.region, self.runtime)
        self._server: HttpServer | None = None
        self._saves_at_stop = False
        self.restored: snapshot.Restored | None = None  # what start() loaded from the state directory
        self.saved: snapshot.SnapshotCounts | None = None  # what stop() saved there
        self.restore_seconds = 0.0
        self._clients: AwsClients | None = None
        self.executor: Executor | None = None
        self.fleet: EndpointFleet | None = None
        self._async: AsyncInvocations | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host = self.config.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self._server.port}"

    def start(self) -> Emulator:
        """Bind, recover jobs interrupted by a previous crash, and serve in a background thread."""
        self._server = HttpServer(self.config.host, self.config.port, self.gateway)
        self._server.bind()  # requests wait in the backlog until it serves, below
        services_url = self.config.upstream or self.endpoint_url
        if not self.config.upstream:
            embedded_s3.serve_locally(services_url)  # job inputs are copied from moto's store, not over HTTP
        self._clients = AwsClients(services_url)
        self.executor = Executor(self.training, self.transforms, self._clients, self.config.state_dir / "jobs",
                                 max_running_jobs=self.config.max_running_jobs,
                                 settings=RunSettings(runtimes_dir=self.config.runtimes_dir))
        self.executor.recover(self.training.unfinished(), self.transforms.unfinished())
        self.training.executor = self.executor
        self.transforms.executor = self.executor
        self.executor.tuning = self.tuning
        self.tuning.tuner = self.executor
        self.executor.recover_tuning(self.tuning.unfinished())
        self.executor.warm_up()
        if self._persists:
            self._restore_services()
        # Endpoints serve again as they did before a stop or a crash (their model data is in S3, loaded above).
        self.fleet = EndpointFleet(self.endpoints, self._clients, self.config.state_dir / "endpoints",
                                   RunSettings(runtimes_dir=self.config.runtimes_dir),
                                   capture_flush_seconds=self.config.capture_flush_seconds)
        self.endpoints.fleet = self.fleet
        self.fleet.recover(self.endpoints.recoverable())
        self._async = AsyncInvocations(self.endpoints, self._clients)
        self.runtime.submitter = self._async
        self._server.start()
        self._saves_at_stop = self._persists  # only a start that loaded the snapshot whole may replace it
        # The account's SageMaker execution role, so SDK role checks pass with no setup (see iam.py).
        ensure_execution_role(services_url, self.config.region)
        return self

    def _restore_services(self) -> None:
        """Load the saved S3 and Logs data before the endpoint answers anyone, so nobody sees it half loaded:
        through a private loopback server of moto alone, not journaling what it loads (requests to the endpoint
        wait meanwhile). Then journal every change from here on, in a new generation."""
        private = self._private_moto_server("gateway-restore")
        started = time.monotonic()
        try:
            self.restored = snapshot.restore(AwsClients(f"http://127.0.0.1:{private.port}"),
                                             self.config.state_dir)
            self.restore_seconds = time.monotonic() - started
        except Exception as exc:
            self.stop()
            where = " and ".join(str(self.config.state_dir / name) for name in (snapshot.SNAPSHOT_DIR,
                                                                                 journal.JOURNAL_DIR))
            raise SnapshotError(f"Could not load the saved S3 and CloudWatch Logs data from {where}: {exc}. "
                                "Move those directories away to start without it.") from exc
        finally:
            private.stop()
        if self._durable is not None:
            newest = max([self.restored.journal_through, *journal.generations(self.config.state_dir)])
            self._durable.attach(journal.Journal(self.config.state_dir, newest + 1, flush=self.config.journal_fsync),
                                 self.restored.journal)

    def stop(self) -> None:
        """Stop running jobs (they end Stopped), stop serving, save the embedded services' data, close the store."""
        if self._async is not None:
            self._async.shutdown()
        if self.fleet is not None:
            self.fleet.shutdown()  # the endpoints stay InService: they serve again at the next start
        if self.executor is not None:
            self.executor.shutdown()
        if self._server is not None:
            self._server.stop()  # nobody changes S3 or Logs while they are saved
        if self._saves_at_stop:
            self._saves_at_stop = False
            self._save_services()
        if self._clients is not None:
            embedded_s3.forget(self._clients.endpoint_url)
        if self._durable is not None:
            self._durable.detach()
        self.store.close()
        self._server = None

    def _private_moto_server(self, name: str) -> HttpServer:
        """A loopback server of the embedded moto alone, started: what it loads or reads is not journaled."""
        assert self._moto is not None
        return HttpServer("127.0.0.1", 0, Gateway(self.gateway.sagemaker, self._moto, self.config.region),
                          name=name).start()

    def _save_services(self) -> None:
        """The snapshot of everything, through a private loopback server of moto alone, holding every journal
        generation so far, which it then replaces."""
        through = max([0, *journal.generations(self.config.state_dir)])
        private = self._private_moto_server("gateway-save")
        url = f"http://127.0.0.1:{private.port}"
        embedded_s3.serve_locally(url)
        try:
            self.saved = snapshot.save(AwsClients(url), self.config.state_dir, self._log_regions(),
                                       journal_through=through)
        except Exception:
            log.exception("could not save the S3 and CloudWatch Logs data in %s", self.config.state_dir)
            return
        finally:
            embedded_s3.forget(url)
            private.stop()
        journal.remove_through(self.config.state_dir, through)

    @property
    def _persists(self) -> bool:
        return self.config.persist_services and not self.config.upstream

    def _log_regions(self) -> list[str]:
        return sorted({self.config.region, *boto3.session.Session().get_available_regions("logs")})

    def wait(self) -> None:
        """Block until the server thread ends (Ctrl-C in the CLI)."""
        if self._server is not None:
            while self._server.running:
                self._server.join(0.5)

    def _object_exists(self, region: str, url: str) -> bool | None:
        """Whether `url` names an S3 object (CreateModel checks its ModelDataUrl); None if S3 cannot say."""
        return self._ask_s3(region, url, lambda s3, bucket, key: bool(s3.head_object(Bucket=bucket, Key=key)))

    def _prefix_has_objects(self, region: str, url: str) -> bool | None:
        """Whether any object's key starts with `url`'s, False without the bucket too (the input checks of
        CreateTrainingJob and CreateTransformJob); None if S3 cannot say."""
        return self._ask_s3(region, url, lambda s3, bucket, prefix: s3.list_objects_v2(
            Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0) > 0)

    def _ask_s3(self, region: str, url: str, question: Callable[[Any, str, str], bool]) -> bool | None:
        """`question` asked of the emulator's S3 about `url`'s bucket and key: False when S3 answers that the key
        or the bucket does not exist, None when it cannot answer (not started, unreachable, refused)."""
        if self._clients is None:
            return None
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            return question(self._clients.s3(region), bucket, key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            return False if code in ("404", "NoSuchKey", "NoSuchBucket") else None
        except Exception:
            return None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _is_builtin_algorithm(uri: str) -> bool:
    """A built-in algorithm's image (whose metrics SageMaker defines), not a framework image running a script."""
    image = resolve_image(uri)
    return image is not None and not image.script_mode_only
