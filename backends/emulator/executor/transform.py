"""Running one batch transform job: model and inputs in, the model's process, `.out` objects uploaded."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from ..algorithms.images import AlgorithmImage, resolve_image
from ..runtimes import runtime_noting_fallback
from .artifacts import UnsafeArchive, unpack_model
from .clients import AwsClients
from .cloudwatch import LogShipper
from .docker_runner import require_docker
from .docker_serving import run_container_transform
from .processes import JobProcess
from .s3_transfer import DataError, download, list_source, split_uri, upload_file
from .script_code import RequirementsError, framework_runtime, serves_script, serving_code
from .supervision import JobSlot, supervise
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

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        shipper: LogShipper | None = None
        try:
            with JobSlot(self._slots, self._stop, _Stopped):
                job = self.jobs.get(self.region, self.name)
                self.jobs.set_status(self.region, self.name, "InProgress", TransformStartTime=time.time())
                self._create_workspace()
                stream = f"{job['TransformJobName']}/i-{secrets.token_hex(8)}-{int(time.time())}"
                shipper = LogShipper(self.clients.logs(self.region), self.root / "job.log", LOG_GROUP, stream)
                container = job["ModelSnapshot"][0]
                image = resolve_image(container.get("Image", ""))
                # Any other image is served from Docker; without Docker the job fails here with a ClientError.
                docker = require_docker(container.get("Image", ""), "serves") if image is None else None
                self._fetch_model(container, required=docker is None)
                relatives = self._fetch_inputs(job)
                self._check_stop()
                (self.root / "request.json").write_text(json.dumps(job))
                (self.root / "inputs.json").write_text(json.dumps(relatives))
                if image is not None:
                    process = self._start_model_process(image, container)
                    supervise(process, self._stop, None, shipper, self.settings.stop_grace_seconds,
                              self.settings.poll_seconds, self.settings.ship_logs_every)
                elif docker is not None:
                    run_container_transform(docker, self.root, job, container, relatives, self._stop, shipper,
                                            self.region, self.settings.stop_grace_seconds)
                self._check_stop()
                failures = self._upload_outputs(job, relatives)
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
                shutil.rmtree(self.root / "input", ignore_errors=True)
                shutil.rmtree(self.root / "output", ignore_errors=True)

    def _start_model_process(self, image: AlgorithmImage, container: dict[str, Any]) -> JobProcess:
        """The model's process: the built-in algorithm's, or the user's inference script in the framework image's
        runtime."""
        log_path = self.root / "job.log"
        if not serves_script(image, container.get("Environment") or {}):
            runtime = runtime_noting_fallback(image.version, log_path, self.settings.runtimes_dir)
            return JobProcess(TRANSFORM_ENTRY, (str(self.root), image.version), log_path, runtime)
        runtime = framework_runtime(image, self.settings.runtimes_dir)
        script = serving_code(self.clients.s3(self.region), container.get("Environment") or {}, runtime, self.root,
                              log_path)
        (self.root / "script.json").write_text(json.dumps(script))
        return JobProcess(TRANSFORM_ENTRY, (str(self.root), image.version, str(self.root / "script.json")),
                          log_path, runtime)

    def _create_workspace(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for directory in ("model", "input", "output"):
            (self.root / directory).mkdir(parents=True)
        (self.root / "job.log").touch()

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

    def _fetch_inputs(self, job: dict[str, Any]) -> list[str]:
        s3 = self.clients.s3(self.region)
        source = job["TransformInput"]["DataSource"]["S3DataSource"]
        objects = list_source(s3, source, None, self.region)
        download(s3, objects, self.root / "input")
        return [obj.relative for obj in objects]

    def _upload_outputs(self, job: dict[str, Any], relatives: list[str]) -> dict[str, str]:
        failures_file = self.root / "failures.json"
        if not failures_file.exists():
            failure = (self.root / "failure")
            message = failure.read_text() if failure.exists() else "the model process ended unexpectedly"
            raise DataError(message)
        failures: dict[str, str] = json.loads(failures_file.read_text())
        output_path = job["TransformOutput"]["S3OutputPath"].rstrip("/")
        s3 = self.clients.s3(self.region)
        for relative in relatives:
            if relative in failures:
                continue
            upload_file(s3, safe_join(self.root / "output", relative + ".out"), f"{output_path}/{relative}.out")
        return failures

    def _end(self, shipper: LogShipper | None, new_status: str, **fields: Any) -> None:
        if shipper is not None:
            try:
                if "FailureReason" in fields:
                    shipper.pump(final=True)
                    # A failure the model process reported is in the log already (its traceback's last line).
                    reason: str = fields["FailureReason"]
                    if reason.partition(": ")[2] not in "\n".join(shipper.lines):
                        shipper.write(reason)
                shipper.pump(final=True)
            except Exception:
                log.exception("could not ship the last log lines of %s", self.name)
        self.jobs.set_status(self.region, self.name, new_status, TransformEndTime=time.time(), **fields)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped
