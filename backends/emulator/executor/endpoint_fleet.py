"""Real-time endpoints' instances: warm model servers, started, routed to, rescaled and stopped.

Every instance of a production variant is a model server process: for a built-in XGBoost image, the
container's application (`endpoint_entry`) forked by the image version's runtime, with its own worker processes,
taking requests as frames on a Unix socket of its own (`FramedTransport`); for any other image, `docker run
<image> serve` with port 8080 published on loopback, called over HTTP as SageMaker's front end calls it
(`HttpTransport`). An invocation goes to one of the variant's instances in turn; the answer's status, body and
Content-Type are the container's.

A deployment (the servers of one endpoint configuration) comes up completely, answering `GET /ping`, before it
takes traffic; an update brings the new one up beside the old and switches at once, then stops the old.
Instances whose variant keeps its model and image are kept, so a weight change is immediate and a count change
only starts or stops the difference. Each instance's log goes to `/aws/sagemaker/Endpoints/<endpoint>`, stream
`<variant>/<instance-id>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import itertools
import json
import logging
import random
import secrets
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..algorithms.images import resolve_image
from ..runtimes import Runtime, runtime_noting_fallback
from .artifacts import UnsafeArchive, unpack_model
from .clients import AwsClients
from .cloudwatch import LogShipper
from .data_capture import CaptureWriter
from .docker_runner import CONTAINER_OPT_ML, SERVING_PORT, ContainerSpec, Mount, container_name, require_docker
from .docker_serving import free_port
from .instance_protocol import decode, encode, read_frame, worker_count
from .invocations import Answer, Invocation
from .processes import JobProcess
from .s3_transfer import DataError, split_uri
from .script_code import RequirementsError, framework_runtime, serves_script, serving_code
from .supervision import Supervised
from .training import RunSettings

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/Endpoints"
ENDPOINT_ENTRY = "backends.emulator.executor.endpoint_entry:serve_instance"
DEFAULT_HEALTH_CHECK_SECONDS = 120.0  # a variant's ContainerStartupHealthCheckTimeoutInSeconds when not given
INVOCATION_TIMEOUT_SECONDS = 60.0  # SageMaker gives a container 60 s to answer an invocation
RECOVERY_WAIT_SECONDS = 60.0  # how long an invocation waits for an endpoint whose servers are (re)starting
_SHIP_EVERY = 0.5
_MODEL_READY = ".model-ready"  # written once the model is extracted in full


class EndpointRecorder(Protocol):
    """The control plane's side: what the fleet reads and records."""

    def stored(self, region: str, name: str) -> dict[str, Any] | None: ...

    def mark_in_service(self, region: str, name: str, deployment: dict[str, Any],
                        variants: list[dict[str, Any]], failure: str | None) -> None: ...

    def mark_failed(self, region: str, name: str, reason: str) -> None: ...

    def remove(self, region: str, name: str) -> None: ...


class NoSuchVariant(Exception):
    pass


class NotServing(Exception):
    """The endpoint has no running servers (never deployed, failed, or deleted)."""


class InstanceError(Exception):
    """The instance did not answer (its process died, or it timed out)."""


Reply = tuple[int, bytes, "str | None", "str | None"]  # status, body, Content-Type, CustomAttributes


class HttpTransport:
    """A container's server on a loopback port: `/ping` and `/invocations` over HTTP, as SageMaker calls them."""

    def __init__(self, port: int) -> None:
        self.port = port

    def ping(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2.0)
            try:
                connection.request("GET", "/ping", headers={"User-Agent": "AHC/2.0"})
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except (OSError, http.client.HTTPException):
            return False

    def invoke(self, request: Invocation) -> Reply:
        headers = {"User-Agent": "AHC/2.0"}
        for header, value in (("Content-Type", request.content_type), ("Accept", request.accept),
                              ("X-Amzn-SageMaker-Custom-Attributes", request.custom_attributes),
                              ("X-Amzn-SageMaker-Inference-Id", request.inference_id)):
            if value is not None:
                headers[header] = value
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=INVOCATION_TIMEOUT_SECONDS)
        try:
            connection.request("POST", "/invocations", body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return (response.status, body, response.getheader("Content-Type"),
                    response.getheader("X-Amzn-SageMaker-Custom-Attributes"))
        except http.client.HTTPException as exc:
            raise OSError(str(exc)) from None
        finally:
            connection.close()

    def close(self) -> None:
        pass


class FramedTransport:
    """The emulator's own model server (`endpoint_entry`): frames over a Unix socket, on connections kept open
    between requests. Each of the server's workers serves one connection at a time, so at most `workers`
    connections are open and a request beyond them waits for one, as it waits for a free worker in the container."""

    def __init__(self, path: str, workers: int) -> None:
        self.path = path
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(workers)

    def ping(self) -> bool:
        try:
            status, _, _, _ = self._call({"method": "GET", "path": "/ping"}, b"", 2.0)
        except OSError:
            return False
        return status == 200

    def invoke(self, request: Invocation) -> Reply:
        header = {"method": "POST", "path": "/invocations", "content_type": request.content_type,
                  "accept": request.accept, "custom_attributes": request.custom_attributes}
        return self._call(header, request.body, INVOCATION_TIMEOUT_SECONDS)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def _call(self, header: dict[str, Any], body: bytes, timeout: float) -> Reply:
        if not self._slots.acquire(timeout=timeout):
            raise TimeoutError("no model server worker became free")
        try:
            return self._exchange(header, body, timeout)
        finally:
            self._slots.release()

    def _exchange(self, header: dict[str, Any], body: bytes, timeout: float) -> Reply:
        with self._lock:
            sock = self._idle.pop() if self._idle else None
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.path)
            except OSError:
                sock.close()
                raise
        try:
            sock.settimeout(timeout)
            sock.sendall(encode(header, body))
            frame = read_frame(sock)
            if frame is None:
                raise ConnectionError("the model server closed the connection")
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self._idle.append(sock)
        answer, data = decode(frame)
        return answer["status"], data, answer.get("content_type"), answer.get("custom_attributes")


class Instance:
    """One model server: its process, how to reach it, its log."""

    def __init__(self, variant: str, process: Supervised, transport: HttpTransport | FramedTransport,
                 shipper: LogShipper, log_path: Path) -> None:
        self.variant = variant
        self.process = process
        self.transport = transport
        self.shipper = shipper
        self.log_path = log_path

    @property
    def stream(self) -> str:
        return self.shipper.stream

    @property
    def pid(self) -> int | None:
        """The model server's process id (None for a container: its processes are the engine's)."""
        pid = getattr(self.process, "pid", None)
        return pid if isinstance(pid, int) else None

    def ping(self) -> bool:
        return self.transport.ping()

    def invoke(self, request: Invocation) -> Reply:
        try:
            return self.transport.invoke(request)
        except TimeoutError:
            raise InstanceError(f"Your invocation timed out while waiting for a response from container "
                                f"{self.variant}.") from None
        except OSError as exc:
            raise InstanceError(f"The model server of {self.stream} did not answer: {exc}") from None

    def stop(self, grace_seconds: float) -> None:
        self.transport.close()
        if self.process.poll() is None:
            self.process.terminate()
            if self.process.wait(grace_seconds) is None:
                self.process.kill()
                self.process.wait(10)
        with contextlib.suppress(Exception):
            self.shipper.pump(final=True)


@dataclass
class VariantServers:
    name: str
    key: str  # what the instances serve: equal keys can share instances across deployments
    weight: float
    instances: list[Instance]
    workspace: Path
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def pick(self) -> Instance:
        return self.instances[next(self._turn) % len(self.instances)]


@dataclass
class Deployment:
    variants: list[VariantServers]
    capture: CaptureWriter | None = None
    document: dict[str, Any] = field(default_factory=dict)

    def variant(self, name: str) -> VariantServers:
        for variant in self.variants:
            if variant.name.lower() == name.lower():
                return variant
        raise NoSuchVariant(name)

    def choose(self) -> VariantServers:
        weights = [max(variant.weight, 0.0) for variant in self.variants]
        if sum(weights) <= 0:
            return self.variants[0]
        return random.choices(self.variants, weights=weights)[0]


class EndpointFleet:
    def __init__(self, recorder: EndpointRecorder, clients: AwsClients, root: Path,
                 settings: RunSettings | None = None, capture_flush_seconds: float = 1.0) -> None:
        self.recorder = recorder
        self.clients = clients
        self.root = root
        self.settings = settings or RunSettings()
        self.capture_flush_seconds = capture_flush_seconds
        self._live: dict[tuple[str, str], Deployment] = {}
        self._ready: dict[tuple[str, str], threading.Event] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self._sockets = Path(tempfile.mkdtemp(prefix="harness-endpoints-"))
        self._socket_ids = itertools.count(1)
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._shipping = threading.Thread(target=self._ship_logs, name="endpoint-logs", daemon=True)
        self._shipping.start()

    # -- what the control plane calls -------------------------------------------------------------------

    def apply(self, region: str, name: str) -> None:
        """Bring the endpoint's servers to what its record asks for (in the background)."""
        key = (region, name.lower())
        with self._lock:
            self._ready.setdefault(key, threading.Event())
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            thread = threading.Thread(target=self._apply, args=(region, name), name=f"endpoint:{name}", daemon=True)
            self._threads.append(thread)
        thread.start()

    def recover(self, endpoints: list[tuple[str, dict[str, Any]]]) -> None:
        """Start again the servers of endpoints that were serving (or being changed) when the emulator stopped."""
        for region, endpoint in endpoints:
            if endpoint["EndpointStatus"] in ("InService", "Creating", "Updating", "Deleting", "SystemUpdating"):
                self.apply(region, endpoint["EndpointName"])

    def invoke(self, region: str, name: str, request: Invocation) -> Answer:
        deployment = self._serving(region, name)
        variant = deployment.variant(request.target_variant) if request.target_variant else deployment.choose()
        instance = variant.pick()
        status, body, content_type, attributes = instance.invoke(request)
        answer = Answer(status, body, content_type, attributes, variant.name, instance.stream)
        if deployment.capture is not None:
            deployment.capture.record(variant.name, request, answer)
        return answer

    def deployment(self, region: str, name: str) -> Deployment | None:
        return self._live.get((region, name.lower()))

    def shutdown(self, grace_seconds: float | None = None) -> None:
        """Stop every server (the endpoints stay InService in the store: they start again with the emulator)."""
        self._closing.set()
        for thread in list(self._threads):
            thread.join(30)
        with self._lock:
            deployments = list(self._live.values())
            self._live.clear()
        for deployment in deployments:
            self._stop(deployment, [], grace_seconds, keep_files=True)
        self._shipping.join(5)
        shutil.rmtree(self._sockets, ignore_errors=True)

    # -- bringing servers up and down ---------------------------------------------------------------------

    def _serving(self, region: str, name: str) -> Deployment:
        key = (region, name.lower())
        deployment = self._live.get(key)
        if deployment is not None:
            return deployment
        ready = self._ready.get(key)
        stored = self.recorder.stored(region, name)
        if ready is not None and stored is not None and stored["EndpointStatus"] in ("InService", "Updating"):
            ready.wait(RECOVERY_WAIT_SECONDS)  # servers starting again after a restart of the emulator
            deployment = self._live.get(key)
            if deployment is not None:
                return deployment
        raise NotServing(name)

    def _apply(self, region: str, name: str) -> None:
        key = (region, name.lower())
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            try:
                self._converge(region, name, key)
            except Exception:
                log.exception("endpoint %s: could not apply its configuration", name)
                self.recorder.mark_failed(region, name, "An internal error occurred in the emulator. See its log.")
            finally:
                if key in self._live or self.recorder.stored(region, name) is None:
                    self._ready[key].set()

    def _converge(self, region: str, name: str, key: tuple[str, str]) -> None:
        stored = self.recorder.stored(region, name)
        current = self._live.get(key)
        if stored is None or stored["EndpointStatus"] == "Deleting":
            if current is not None:
                with self._lock:
                    self._live.pop(key, None)
                self._stop(current, [], None)
            if stored is not None:
                self.recorder.remove(region, name)
            shutil.rmtree(self.root / region / name.lower(), ignore_errors=True)
            return
        target = stored.get("_Pending") or stored.get("_Deployment")
        if target is None or self._closing.is_set():
            return
        if current is not None and current.document == target and "_Pending" not in stored:
            return
        try:
            deployment = self._bring_up(region, name, target, current)
        except (DataError, UnsafeArchive, _StartFailure, RequirementsError) as exc:
            if current is not None:  # an update that cannot start keeps the endpoint serving the old deployment
                self.recorder.mark_in_service(region, name, current.document, self._summaries(current),
                                              failure=str(exc))
            else:
                self.recorder.mark_failed(region, name, str(exc))
            return
        if self._closing.is_set():
            self._stop(deployment, [], None)
            return
        with self._lock:
            self._live[key] = deployment
        self.recorder.mark_in_service(region, name, target, self._summaries(deployment), failure=None)
        if current is not None:
            kept = [instance for variant in deployment.variants for instance in variant.instances]
            self._stop(current, kept, None)

    def _bring_up(self, region: str, name: str, target: dict[str, Any], current: Deployment | None) -> Deployment:
        variants: list[VariantServers] = []
        started: list[Instance] = []
        try:
            for spec in target["Variants"]:
                variant_key = json.dumps([spec["VariantName"].lower(), spec["Container"]], sort_keys=True)
                reused: list[Instance] = []
                # Named by what it serves, so the servers of a restarted emulator find their model on disk (as an
                # instance keeps it on its volume) even when S3 lost it in a crash.
                digest = hashlib.sha1(variant_key.encode()).hexdigest()[:16]
                workspace = self.root / region / name.lower() / f"{spec['VariantName']}-{digest}"
                if current is not None:
                    previous = next((v for v in current.variants if v.key == variant_key), None)
                    if previous is not None:
                        reused = previous.instances[:spec["InstanceCount"]]
                        workspace = previous.workspace
                fresh_count = spec["InstanceCount"] - len(reused)
                if fresh_count > 0 and not reused and not (workspace / _MODEL_READY).exists():
                    self._fetch_model(region, spec["Container"], workspace)
                fresh = [self._start_instance(region, name, spec, workspace) for _ in range(fresh_count)]
                started.extend(fresh)
                variants.append(VariantServers(spec["VariantName"], variant_key, float(spec["Weight"]),
                                               [*reused, *fresh], workspace))
            self._wait_healthy(started, target)
        except BaseException:
            for instance in started:
                instance.stop(self.settings.stop_grace_seconds)
            raise
        capture = None
        if (target.get("DataCapture") or {}).get("EnableCapture", True) and target.get("DataCapture"):
            capture = CaptureWriter(self.clients.s3(region), name, target["DataCapture"],
                                    self.capture_flush_seconds)
        return Deployment(variants, capture, target)

    def _fetch_model(self, region: str, container: dict[str, Any], workspace: Path) -> None:
        model_dir = workspace / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        url = container.get("ModelDataUrl")
        if not url:
            if resolve_image(container.get("Image", "")) is not None:
                raise DataError("The model has no ModelDataUrl; the built-in XGBoost image needs model artifacts.")
            (workspace / _MODEL_READY).touch()
            return
        bucket, key = split_uri(url)
        archive = workspace / "model.tar.gz"
        try:
            self.clients.s3(region).download_file(bucket, key, str(archive))
        except Exception as exc:
            raise DataError(f"Failed to download model data from {url}: {exc}") from None
        try:
            unpack_model(archive, model_dir)
        except (OSError, EOFError, tarfile.TarError):
            raise DataError(f'Failed to extract model data archive from URL "{url}". Please ensure that the object '
                            "located at the URL is a valid tar.gz archive.") from None
        archive.unlink()
        (workspace / _MODEL_READY).touch()

    def _script_code(self, region: str, container: dict[str, Any], runtime: Runtime, workspace: Path,
                     log_path: Path) -> dict[str, Any]:
        """A framework image's inference code and requirements layer, fetched once for the variant's instances."""
        settings_file = workspace / "script.json"
        if settings_file.exists():
            found: dict[str, Any] = json.loads(settings_file.read_text())
            return found
        script = serving_code(self.clients.s3(region), container.get("Environment") or {}, runtime, workspace,
                              log_path)
        settings_file.write_text(json.dumps(script))
        return script

    def _start_instance(self, region: str, name: str, spec: dict[str, Any], workspace: Path) -> Instance:
        instance_id = "i-0" + secrets.token_hex(8)
        directory = workspace / instance_id
        directory.mkdir(parents=True, exist_ok=True)
        log_path = directory / "server.log"
        log_path.touch()
        shipper = LogShipper(self.clients.logs(region), log_path, f"{LOG_GROUP}/{name}",
                             f"{spec['VariantName']}/{instance_id}", keep_lines=False)
        container = spec["Container"]
        image = resolve_image(container.get("Image", ""))
        if image is None:
            docker = require_docker(container.get("Image", ""), "serves")
            port = free_port()
            environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
            environment.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
            container_spec = ContainerSpec(
                image=container["Image"], name=container_name("endpoint", f"{name}-{instance_id}"), args=("serve",),
                mounts=(Mount(workspace / "model", f"{CONTAINER_OPT_ML}/model"),), env=environment,
                publish=(("127.0.0.1", port, SERVING_PORT),), labels={"sagemaker-harness.endpoint": name})
            process: Supervised = docker.run(container_spec, log_path)
            return Instance(spec["VariantName"], process, HttpTransport(port), shipper, log_path)
        socket_path = str(self._sockets / f"{next(self._socket_ids)}.sock")
        settings = {"model_dir": str(workspace / "model"), "version": image.version, "socket": socket_path,
                    "environment": container.get("Environment") or {}}
        runtime: Runtime | None
        if serves_script(image, container.get("Environment") or {}):
            runtime = framework_runtime(image, self.settings.runtimes_dir)
            settings["script"] = self._script_code(region, container, runtime, workspace, log_path)
        else:
            runtime = runtime_noting_fallback(image.version, log_path, self.settings.runtimes_dir)
        settings_file = directory / "server.json"
        settings_file.write_text(json.dumps(settings))
        job = JobProcess(ENDPOINT_ENTRY, (str(settings_file),), log_path, runtime)
        try:
            workers = worker_count(container.get("Environment") or {})
        except ValueError:
            workers = 1  # the server says why it does not start, and the endpoint fails its health check
        return Instance(spec["VariantName"], job, FramedTransport(socket_path, workers), shipper, log_path)

    def _wait_healthy(self, instances: list[Instance], target: dict[str, Any]) -> None:
        limits = {spec["VariantName"]: float(spec.get("HealthCheckTimeout") or DEFAULT_HEALTH_CHECK_SECONDS)
                  for spec in target["Variants"]}
        started = time.monotonic()
        waiting = list(instances)
        while waiting:
            for instance in list(waiting):
                code = instance.process.poll()
                if code is not None or time.monotonic() - started > limits[instance.variant]:
                    instance.shipper.pump(final=True)
                    raise _StartFailure(
                        f"The primary container for production variant {instance.variant} did not pass the ping "
                        "health check. Please check CloudWatch logs for this endpoint.")
                if instance.ping():
                    waiting.remove(instance)
            if self._closing.is_set():
                raise _StartFailure("The emulator is stopping.")
            if waiting:
                time.sleep(0.05)

    def _stop(self, deployment: Deployment, kept: list[Instance], grace_seconds: float | None,
              keep_files: bool = False) -> None:
        """Stop the deployment's instances but `kept`; their files go too unless `keep_files` (at the emulator's
        stop, so the next start finds the models)."""
        grace = self.settings.stop_grace_seconds if grace_seconds is None else grace_seconds
        if deployment.capture is not None:
            deployment.capture.close()
        kept_ids = {id(instance) for instance in kept}
        for variant in deployment.variants:
            stopping = [instance for instance in variant.instances if id(instance) not in kept_ids]
            for instance in stopping:
                instance.stop(grace)
                if not keep_files:
                    shutil.rmtree(instance.log_path.parent, ignore_errors=True)
            if len(stopping) == len(variant.instances) and not keep_files:
                shutil.rmtree(variant.workspace, ignore_errors=True)

    @staticmethod
    def _summaries(deployment: Deployment) -> list[dict[str, Any]]:
        return [{"VariantName": variant.name, "CurrentWeight": variant.weight,
                 "CurrentInstanceCount": len(variant.instances)} for variant in deployment.variants]

    def _ship_logs(self) -> None:
        while not self._closing.wait(_SHIP_EVERY):
            for deployment in list(self._live.values()):
                for variant in deployment.variants:
                    for instance in variant.instances:
                        try:
                            instance.shipper.pump()
                        except Exception:
                            log.debug("could not ship the log of %s", instance.stream, exc_info=True)
                if deployment.capture is not None:
                    deployment.capture.flush_if_due()


class _StartFailure(Exception):
    pass
