"""Running one training job: workspace, download, the algorithm's process, upload, status at each step."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..algorithms.images import AlgorithmImage, resolve_image
from ..runtimes import Runtime, runtime_noting_fallback
from ..sagemaker import status
from ..sagemaker.metrics import final_metrics
from .artifacts import pack_model
from .clients import AwsClients
from .cloudwatch import LogShipper
from .docker_runner import DockerCli, require_docker, start_training_container
from .processes import JobProcess
from .s3_transfer import DataError, download, list_source, upload_file
from .script_code import (
    REQUIREMENTS,
    RequirementsError,
    fetch_source,
    framework_runtime,
    hyperparameter,
    map_container_paths,
    map_container_paths_in,
    requirements_layer,
    trains_script,
)
from .supervision import JobSlot, Supervised, supervise
from .workspace import TrainingWorkspace

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRAINING_ENTRY = "backends.emulator.algorithms.xgboost.entry:run_training_job"
SCRIPT_TRAINING_ENTRY = "backends.emulator.frameworks.script_training:run_script_training"
COMMAND_ENTRY = "backends.emulator.frameworks.script_training:run_container_command"
# SDK 3.x's ModelTrainer with a SourceCode sends its driver scripts as this channel (and the code as `code`).
DRIVERS_CHANNEL = "sm_drivers"
MAX_FAILURE_REASON = 1024
INTERNAL_ERROR = "InternalServerError: We encountered an internal error. Please try again."


class TrainingRecorder(Protocol):
    """What a run needs from the control plane: the job document and a way to record each step."""

    def get(self, region: str, name: str) -> dict[str, Any]: ...

    def advance(self, region: str, name: str, secondary: str, message: str, **fields: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunSettings:
    stop_grace_seconds: float = 2.0  # SageMaker waits 120 s after SIGTERM; a local job needs far less
    poll_seconds: float = 0.02
    ship_logs_every: float = 0.1
    keep_inputs: bool = False
    runtimes_dir: Path | None = None  # where image versions' runtimes are (None: $HARNESS_RUNTIMES_DIR or the default)


class _Stopped(Exception):
    pass


class TrainingRun:
    def __init__(self, region: str, name: str, jobs: TrainingRecorder, clients: AwsClients, root: Path,
                 settings: RunSettings, slots: threading.Semaphore) -> None:
        self.region = region
        self.name = name
        self.jobs = jobs
        self.clients = clients
        self.settings = settings
        self.workspace = TrainingWorkspace(root)
        self._slots = slots
        self._stop = threading.Event()
        self._max_runtime = False

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        started: float | None = None
        shipper: LogShipper | None = None
        try:
            with self._slot():
                job = self.jobs.get(self.region, self.name)
                self._advance("Starting", status.PREPARING)
                self.workspace.create()
                stream = f"{job['TrainingJobName']}/algo-1-{int(time.time())}"
                shipper = LogShipper(self.clients.logs(self.region), self.workspace.log, LOG_GROUP, stream)
                image_uri = job["AlgorithmSpecification"].get("TrainingImage", "")
                image = resolve_image(image_uri)
                # Any other image runs in Docker; without Docker the job fails here with a ClientError saying so.
                docker = require_docker(image_uri or str(job["AlgorithmSpecification"]), "runs") if image is None \
                    else None
                self.workspace.write_config(job)
                self._check_stop()
                started = time.time()
                self._advance("Downloading", status.DOWNLOADING, TrainingStartTime=started)
                self._download(job)
                self._check_stop()
                self._advance("Training", status.TRAINING)
                deadline = started + job["StoppingCondition"]["MaxRuntimeInSeconds"]
                code = self._train(image, docker, job, deadline, shipper)
                if self._stop.is_set():
                    raise _Stopped
                if code != 0:
                    # The algorithm's own failure text is already in the log (it logs it as it writes the file).
                    reported = self.workspace.failure_message() is not None
                    self._fail(self._algorithm_error(code), started, shipper, to_log=not reported)
                    return
                self._advance("Uploading", status.UPLOADING)
                self._upload_model(job)
                self._finish("Completed", status.COMPLETED, started, shipper)
        except _Stopped:
            self._stopped(started, shipper)
        except DataError as exc:
            self._fail(f"ClientError: {exc}", started, shipper)
        except RequirementsError as exc:
            self.workspace.failure.write_text(str(exc))
            self._fail(f"AlgorithmError: {exc}", started, shipper)
        except Exception:
            log.exception("training job %s failed inside the emulator", self.name)
            self._fail(INTERNAL_ERROR, started, shipper)
        finally:
            if not self.settings.keep_inputs:
                self.workspace.remove_inputs()

    # -- steps ----------------------------------------------------------------------------------------

    def _download(self, job: dict[str, Any]) -> None:
        s3 = self.clients.s3(self.region)
        for channel in job.get("InputDataConfig", []):
            source = channel["DataSource"].get("S3DataSource")
            if source is None:
                raise DataError(f"Channel {channel['ChannelName']}: only S3DataSource inputs are supported by "
                                "the emulator.")
            objects = list_source(s3, source, job.get("RoleArn"), self.region)
            download(s3, objects, self.workspace.channel(channel["ChannelName"]))
            self._check_stop()

    def _train(self, image: AlgorithmImage | None, docker: DockerCli | None, job: dict[str, Any], deadline: float,
               shipper: LogShipper) -> int:
        process: Supervised
        if image is not None and job["AlgorithmSpecification"].get("ContainerEntrypoint"):
            process = self._start_command(image, job)
        elif image is not None and trains_script(image, job.get("HyperParameters", {})):
            process = self._start_script(image, job)
        elif docker is None:
            runtime = None
            version = image.version if image is not None else None
            if version is not None:
                runtime = runtime_noting_fallback(version, self.workspace.log, self.settings.runtimes_dir)
            process = JobProcess(TRAINING_ENTRY, (self.workspace.opt_ml, version), self.workspace.log, runtime)
        else:
            process = start_training_container(docker, job, self.workspace, self.region, self.clients.endpoint_url)
        code, self._max_runtime = supervise(process, self._stop, deadline, shipper, self.settings.stop_grace_seconds,
                                            self.settings.poll_seconds, self.settings.ship_logs_every)
        return code

    def _start_script(self, image: AlgorithmImage, job: dict[str, Any]) -> JobProcess:
        """The user's script, run by the sagemaker-training toolkit in the framework image's runtime."""
        runtime = framework_runtime(image, self.settings.runtimes_dir)
        hyperparameters = job.get("HyperParameters", {})
        layer = None
        submitted = hyperparameter(hyperparameters, "sagemaker_submit_directory")
        if submitted is not None and submitted.startswith("s3://"):
            # The toolkit downloads the source itself; here only its requirements are looked at, to make the layer.
            source = self.workspace.root / "source"
            fetch_source(self.clients.s3(self.region), submitted, source)
            layer = requirements_layer(runtime, source / REQUIREMENTS, self.workspace.log)
            shutil.rmtree(source, ignore_errors=True)
        return self._start_in_runtime(SCRIPT_TRAINING_ENTRY, runtime, job, layer)

    def _start_command(self, image: AlgorithmImage, job: dict[str, Any]) -> JobProcess:
        """The job's own ContainerEntrypoint and ContainerArguments, in the image's runtime, as SDK 3.x's
        ModelTrainer runs a SourceCode: its driver scripts (the `sm_drivers` channel) name /opt/ml, which is
        mapped to the workspace in them and in the command."""
        runtime = framework_runtime(image, self.settings.runtimes_dir)
        algorithm = job["AlgorithmSpecification"]
        command = [map_container_paths(part, self.workspace.opt_ml)
                   for part in [*algorithm["ContainerEntrypoint"], *algorithm.get("ContainerArguments", [])]]
        drivers = self.workspace.channel(DRIVERS_CHANNEL)
        layer = None
        if drivers.is_dir():
            map_container_paths_in(drivers, self.workspace.opt_ml)
            layer = requirements_layer(runtime, self._source_code_requirements(drivers), self.workspace.log)
        return self._start_in_runtime(COMMAND_ENTRY, runtime, job, layer, command=command)

    def _source_code_requirements(self, drivers: Path) -> Path:
        """The requirements file SDK 3.x's SourceCode names (in its `sourcecode.json`), in the `code` channel."""
        with contextlib.suppress(OSError, ValueError):
            named = json.loads((drivers / "sourcecode.json").read_text()).get("requirements")
            if named:
                return self.workspace.channel("code") / str(named)
        return self.workspace.channel("code") / REQUIREMENTS

    def _start_in_runtime(self, entry: str, runtime: Runtime, job: dict[str, Any], layer: Path | None,
                          **extra: Any) -> JobProcess:
        settings = {"endpoint_url": self.clients.endpoint_url, "region": self.region, "job_name": self.name,
                    "runtime": runtime.spec.image_version, "layer": str(layer) if layer else None,
                    "environment": job.get("Environment") or {}, **extra}
        settings_file = self.workspace.root / "script.json"
        settings_file.write_text(json.dumps(settings))
        return JobProcess(entry, (self.workspace.opt_ml, settings_file), self.workspace.log, runtime)

    def _upload_model(self, job: dict[str, Any]) -> None:
        archive = self.workspace.root / "model.tar.gz"
        pack_model(self.workspace.model, archive)
        model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
        upload_file(self.clients.s3(self.region), archive, model_uri)
        archive.unlink()
        output_data = self.workspace.output / "data"
        if output_data.is_dir() and any(output_data.iterdir()):
            # What the algorithm left in /opt/ml/output/data, beside the model, as SageMaker packs it.
            archive = self.workspace.root / "output.tar.gz"
            pack_model(output_data, archive)
            upload_file(self.clients.s3(self.region), archive, model_uri.rsplit("/", 1)[0] + "/output.tar.gz")
            archive.unlink()

    # -- endings --------------------------------------------------------------------------------------

    def _stopped(self, started: float | None, shipper: LogShipper | None) -> None:
        # A stopped job keeps what the algorithm saved, as SageMaker uploads /opt/ml/model on stop.
        try:
            job = self.jobs.get(self.region, self.name)
            if self.workspace.model.exists() and any(self.workspace.model.iterdir()):
                self._upload_model(job)
        except Exception:
            log.exception("could not upload the model of stopped job %s", self.name)
        if self._max_runtime:
            self._finish("MaxRuntimeExceeded", status.MAX_RUNTIME, started, shipper)
        else:
            self._finish("Stopped", status.STOPPED, started, shipper)

    def _fail(self, reason: str, started: float | None, shipper: LogShipper | None, to_log: bool = True) -> None:
        if shipper is not None and to_log:
            with contextlib.suppress(OSError):
                shipper.write(reason)
        self._finish("Failed", status.FAILED, started, shipper, FailureReason=reason[:MAX_FAILURE_REASON])

    def _finish(self, secondary: str, message: str, started: float | None, shipper: LogShipper | None,
                **fields: Any) -> None:
        end = time.time()
        lines: list[str] = []
        if shipper is not None:
            try:
                shipper.pump(final=True)
            except Exception:
                log.exception("could not ship the last log lines of %s", self.name)
            lines = shipper.lines
        if started is not None:
            seconds = max(1, round(end - started))
            job = self.jobs.get(self.region, self.name)
            definitions = job["AlgorithmSpecification"].get("MetricDefinitions", [])
            fields.update(TrainingEndTime=end, TrainingTimeInSeconds=seconds, BillableTimeInSeconds=seconds,
                          FinalMetricDataList=final_metrics(definitions, lines, end))
        self.jobs.advance(self.region, self.name, secondary, message, **fields)

    # -- helpers --------------------------------------------------------------------------------------

    def _advance(self, secondary: str, message: str, **fields: Any) -> None:
        self.jobs.advance(self.region, self.name, secondary, message, **fields)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def _algorithm_error(self, code: int) -> str:
        message = self.workspace.failure_message()
        if message:
            return f"AlgorithmError: {message}"
        if code < 0:
            return (f"AlgorithmError: The training process was killed by signal {-code}; if that was SIGKILL, "
                    "it may have run out of memory. See the job's logs.")
        return f"AlgorithmError: The training process exited with code {code}. See the job's logs."

    def _slot(self) -> JobSlot:
        return JobSlot(self._slots, self._stop, _Stopped)
