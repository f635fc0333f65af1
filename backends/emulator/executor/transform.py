"""Running one batch transform job: model and inputs in, the model's process, `.out` objects uploaded."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..algorithms.images import AlgorithmImage, resolve_image
from ..runtimes import runtime_noting_fallback
from .artifacts import UnsafeArchive, unpack_model
from .clients import AwsClients
from .cloudwatch import LogShipper
from .docker_runner import require_docker
from .docker_serving import run_container_transform
from .hosts import SHARDED_BY_S3_KEY, distribute, replicate
from .processes import JobProcess
from .s3_transfer import DataError, S3Object, download, list_source, split_uri, upload_file
from .script_code import RequirementsError, framework_runtime, serves_script, serving_code
from .supervision import JobSlot, Supervised, supervise_hosts
from .training import INTERNAL_ERROR, RunSettings
from .workspace import safe_join

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TransformJobs"
TRANSFORM_ENTRY = "backends.emulator.executor.transform_entry:run_transform_job"


class TransformRecorder(Protocol):
    def get(self, region: str, name: str) -> dict[str, Any]: ...

    def set_status(self, region: str, name: str, new_status: str, **fields: Any) -> None: ...


class _Stopped(Exception):
    pass


@dataclass
class _Instance:
    """One instance of the job: its own directory (model, input, output, log) and its own log stream."""

    root: Path
    shipper: LogShipper
    relatives: list[str]  # the input objects it transforms


class TransformRun:
    def __init__(self, region: str, name: str, jobs: TransformRecorder, clients: AwsClients, root: Path,
                 settings: RunSettings, slots: threading.Semaphore) -> None:
        self.region = region
        self.name = name
        self.jobs = jobs
        self.clients = clients
        self.root = root
        self.settings = settings
        self._slots = slots
        self._stop = threading.Event()
        self.instances: list[_Instance] = []

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        shipper: LogShipper | None = None
        try:
            with JobSlot(self._slots, self._stop, _Stopped):
                job = self.jobs.get(self.region, self.name)
                self.jobs.set_status(self.region, self.name, "InProgress", TransformStartTime=time.time())
                container = job["ModelSnapshot"][0]
                image = resolve_image(container.get("Image", ""))
                # Images of one's own are served from one container (one instance) whatever the InstanceCount.
                count = int(job.get("TransformResources", {}).get("InstanceCount", 1) or 1) if image else 1
                self._create_workspace(job, count)
                shipper = self.instances[0].shipper
                # Any other image is served from Docker; without Docker the job fails here with a ClientError.
                docker = require_docker(container.get("Image", ""), "serves") if image is None else None
                self._fetch_model(container, required=docker is None)
                relatives = self._fetch_inputs(job)
                self._check_stop()
                for instance in self.instances:
                    (instance.root / "request.json").write_text(json.dumps(job))
                    (instance.root / "inputs.json").write_text(json.dumps(instance.relatives))
                if image is not None:
                    working = [instance for instance in self.instances if instance.relatives]
                    processes: list[Supervised] = [self._start_model_process(image, container, instance.root)
                                                   for instance in working]
                    supervise_hosts(processes, self._stop, None, [instance.shipper for instance in working],
                                    self.settings.stop_grace_seconds, self.settings.poll_seconds,
                                    self.settings.ship_logs_every, end_others_on_failure=False)
                elif docker is not None:
                    run_container_transform(docker, self.root, job, container, relatives, self._stop, shipper,
                                            self.region, self.settings.stop_grace_seconds)
                self._check_stop()
                failures = self._upload_outputs(job)
                failures = {relative: failures[relative] for relative in relatives if relative in failures}
                if failures:
                    first, message = next(iter(failures.items()))
                    more = f" ({len(failures) - 1} more input objects failed)" if len(failures) > 1 else ""
                    reason = f"ClientError: {first}: {message}{more}. See job logs for more information"
                    self._end(shipper, "Failed", FailureReason=reason[:1024])
                else:
                    self._end(shipper, "Completed")
        except _Stopped:
            # A stopped job stores no output, as in SageMaker.
            self._end(shipper, "Stopped")
        except (DataError, UnsafeArchive) as exc:
            self._end(shipper, "Failed", FailureReason=f"ClientError: {exc}"[:1024])
        except RequirementsError as exc:
            self._end(shipper, "Failed", FailureReason=f"AlgorithmError: {exc}"[:1024])
        except Exception:
            log.exception("transform job %s failed inside the emulator", self.name)
            self._end(shipper, "Failed", FailureReason=INTERNAL_ERROR)
        finally:
            if not self.settings.keep_inputs:
                for root in {self.root, *(instance.root for instance in self.instances)}:
                    shutil.rmtree(root / "input", ignore_errors=True)
                    shutil.rmtree(root / "output", ignore_errors=True)

    def _start_model_process(self, image: AlgorithmImage, container: dict[str, Any], root: Path) -> JobProcess:
        """An instance's model process: the built-in algorithm's, or the user's inference script in the framework
        image's runtime."""
        log_path = root / "job.log"
        if not serves_script(image, container.get("Environment") or {}):
            runtime = runtime_noting_fallback(image.version, log_path, self.settings.runtimes_dir)
            return JobProcess(TRANSFORM_ENTRY, (str(root), image.version), log_path, runtime)
        runtime = framework_runtime(image, self.settings.runtimes_dir)
        script = serving_code(self.clients.s3(self.region), container.get("Environment") or {}, runtime, root,
                              log_path)
        (root / "script.json").write_text(json.dumps(script))
        return JobProcess(TRANSFORM_ENTRY, (str(root), image.version, str(root / "script.json")), log_path, runtime)

    def _create_workspace(self, job: dict[str, Any], count: int) -> None:
        """The job's directory for one instance; `<job>/instance-<i>/` for each of several, each with its own
        log stream `<job>/i-<id>-<epoch>` as SageMaker names a transform instance's."""
        if self.root.exists():
            shutil.rmtree(self.root)
        epoch = int(time.time())
        logs = self.clients.logs(self.region)
        for index in range(count):
            root = self.root if count == 1 else self.root / f"instance-{index + 1}"
            for directory in ("model", "input", "output"):
                (root / directory).mkdir(parents=True)
            (root / "job.log").touch()
            stream = f"{job['TransformJobName']}/i-{secrets.token_hex(8)}-{epoch}"
            self.instances.append(_Instance(root, LogShipper(logs, root / "job.log", LOG_GROUP, stream), []))

    def _fetch_model(self, container: dict[str, Any], required: bool = True) -> None:
        url = container.get("ModelDataUrl")
        if not url and not required:
            return  # an image of one's own may carry its model inside
        if not url:
            raise DataError("The model has no ModelDataUrl; the built-in XGBoost image needs model artifacts.")
        bucket, key = split_uri(url)
        archive = self.root / "model.tar.gz"
        try:
            self.clients.s3(self.region).download_file(bucket, key, str(archive))
        except Exception as exc:
            raise DataError(f"Could not download model data from {url}: {exc}") from None
        try:
            unpack_model(archive, self.root / "model")
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise DataError(f"Model data at {url} is not a valid tar.gz archive: {exc}") from None
        archive.unlink()
        for instance in self.instances:
            if instance.root != self.root:
                replicate(self.root / "model", instance.root / "model")

    def _fetch_inputs(self, job: dict[str, Any]) -> list[str]:
        """Every input object, each downloaded to the one instance that transforms it: with several instances the
        objects are split across them as ShardedByS3Key splits a training channel (see hosts.py)."""
        s3 = self.clients.s3(self.region)
        source = job["TransformInput"]["DataSource"]["S3DataSource"]
        objects = list_source(s3, source, None, self.region)
        shares: list[list[S3Object]] = distribute(objects, SHARDED_BY_S3_KEY, len(self.instances))
        for instance, share in zip(self.instances, shares, strict=True):
            download(s3, share, instance.root / "input")
            instance.relatives = [obj.relative for obj in share]
        return [obj.relative for obj in objects]

    def _upload_outputs(self, job: dict[str, Any]) -> dict[str, str]:
        """Each instance's `.out` objects; the failed input objects of all, in input order."""
        failures: dict[str, str] = {}
        output_path = job["TransformOutput"]["S3OutputPath"].rstrip("/")
        s3 = self.clients.s3(self.region)
        for instance in self.instances:
            if not instance.relatives:
                continue
            failures_file = instance.root / "failures.json"
            if not failures_file.exists():
                failure = instance.root / "failure"
                message = failure.read_text() if failure.exists() else "the model process ended unexpectedly"
                raise DataError(message)
            failed: dict[str, str] = json.loads(failures_file.read_text())
            failures.update(failed)
            for relative in instance.relatives:
                if relative not in failed:
                    upload_file(s3, safe_join(instance.root / "output", relative + ".out"),
                                f"{output_path}/{relative}.out")
        return failures

    def _end(self, shipper: LogShipper | None, new_status: str, **fields: Any) -> None:
        shippers = [instance.shipper for instance in self.instances] or ([shipper] if shipper is not None else [])
        try:
            for each in shippers:
                each.pump(final=True)
            if "FailureReason" in fields and shippers:
                # A failure the model process reported is in its log already (its traceback's last line).
                reason: str = fields["FailureReason"]
                if not any(reason.partition(": ")[2] in "\n".join(each.lines) for each in shippers):
                    shippers[0].write(reason)
                    shippers[0].pump(final=True)
        except Exception:
            log.exception("could not ship the last log lines of %s", self.name)
        self.jobs.set_status(self.region, self.name, new_status, TransformEndTime=time.time(), **fields)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped
