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
from .hosts import distribute, free_ports, host_names, replicate
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
from .supervision import JobSlot, Supervised, supervise_hosts
from .workspace import TrainingWorkspace

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRAINING_ENTRY = "backends.emulator.algorithms.xgboost.entry:run_training_job"
HOST_ENTRY = "backends.emulator.algorithms.xgboost.entry:run_training_host"
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


@dataclass
class _Host:
    """One instance of the job: `algo-<i>`, its own /opt/ml workspace and its own log stream."""

    name: str
    workspace: TrainingWorkspace
    shipper: LogShipper


class TrainingRun:
    def __init__(self, region: str, name: str, jobs: TrainingRecorder, clients: AwsClients, root: Path,
                 settings: RunSettings, slots: threading.Semaphore) -> None:
        self.region = region
        self.name = name
        self.jobs = jobs
        self.clients = clients
        self.settings = settings
        self.root = root
        self.workspace = TrainingWorkspace(root)  # the first host's (the only one's, for one instance)
        self.hosts: list[_Host] = []
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
                image_uri = job["AlgorithmSpecification"].get("TrainingImage", "")
                image = resolve_image(image_uri)
                self._create_hosts(job, max(1, int(job["ResourceConfig"].get("InstanceCount", 1) or 1)))
                shipper = self.hosts[0].shipper
                # Any other image runs in Docker; without Docker the job fails here with a ClientError saying so.
                docker = require_docker(image_uri or str(job["AlgorithmSpecification"]), "runs") if image is None \
                    else None
                self._check_stop()
                started = time.time()
                self._advance("Downloading", status.DOWNLOADING, TrainingStartTime=started)
                self._download(job)
                self._check_stop()
                self._advance("Training", status.TRAINING)
                deadline = started + job["StoppingCondition"]["MaxRuntimeInSeconds"]
                codes, failed = self._train(image, docker, job, deadline)
                if self._stop.is_set():
                    raise _Stopped
                if failed is not None:
                    # The job fails with that host's reason. The algorithm's own failure text is already in its log
                    # (it logs it as it writes the file).
                    host = self.hosts[failed]
                    reported = host.workspace.failure_message() is not None
                    self._fail(self._algorithm_error(codes[failed], host.workspace), started, host.shipper,
                               to_log=not reported)
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
                for host in self.hosts:
                    host.workspace.remove_inputs()

    # -- hosts ----------------------------------------------------------------------------------------

    def _create_hosts(self, job: dict[str, Any], count: int) -> None:
        """One workspace per host: the job's directory itself for one host, `<job>/algo-<i>/` for several."""
        names = host_names(count)
        if count > 1:
            if self.root.exists():
                shutil.rmtree(self.root)
            (self.root / "rendezvous").mkdir(parents=True)
        epoch = int(time.time())
        logs = self.clients.logs(self.region)
        for name in names:
            workspace = TrainingWorkspace(self.root if count == 1 else self.root / name)
            workspace.create()
            workspace.write_config(job, current_host=name, hosts=names)
            shipper = LogShipper(logs, workspace.log, LOG_GROUP, f"{job['TrainingJobName']}/{name}-{epoch}")
            self.hosts.append(_Host(name, workspace, shipper))
        self.workspace = self.hosts[0].workspace

    # -- steps ----------------------------------------------------------------------------------------

    def _download(self, job: dict[str, Any]) -> None:
        """Each channel's objects to each host, by the channel's S3DataDistributionType (see hosts.py)."""
        s3 = self.clients.s3(self.region)
        for channel in job.get("InputDataConfig", []):
            source = channel["DataSource"].get("S3DataSource")
            if source is None:
                raise DataError(f"Channel {channel['ChannelName']}: only S3DataSource inputs are supported by "
                                "the emulator.")
            objects = list_source(s3, source, job.get("RoleArn"), self.region)
            shares = distribute(objects, source.get("S3DataDistributionType"), len(self.hosts))
            first = self.hosts[0].workspace.channel(channel["ChannelName"])
            for index, (host, share) in enumerate(zip(self.hosts, shares, strict=True)):
                target = host.workspace.channel(channel["ChannelName"])
                target.mkdir(parents=True, exist_ok=True)  # a host without objects still has the channel
                if index > 0 and share == shares[0]:
                    replicate(first, target)  # FullyReplicated: downloaded once, linked for the other hosts
                else:
                    download(s3, share, target)
                self._check_stop()

    def _train(self, image: AlgorithmImage | None, docker: DockerCli | None, job: dict[str, Any], deadline: float
               ) -> tuple[list[int], int | None]:
        """Start every host's process and wait for them all; (exit codes, the first failed host or None)."""
        processes: list[Supervised] = []
        cluster_file = self._cluster_file() if len(self.hosts) > 1 else None
        script_layer: tuple[Runtime, Path | None] | None = None
        for host in self.hosts:
            workspace = host.workspace
            if image is not None and job["AlgorithmSpecification"].get("ContainerEntrypoint"):
                processes.append(self._start_command(image, job, workspace))
            elif image is not None and trains_script(image, job.get("HyperParameters", {})):
                if script_layer is None:
                    script_layer = self._script_layer(image, job)
                processes.append(self._start_in_runtime(SCRIPT_TRAINING_ENTRY, script_layer[0], job, script_layer[1],
                                                        workspace))
            elif docker is None:
                runtime = None
                version = image.version if image is not None else None
                if version is not None:
                    runtime = runtime_noting_fallback(version, workspace.log, self.settings.runtimes_dir)
                if cluster_file is None:
                    processes.append(JobProcess(TRAINING_ENTRY, (workspace.opt_ml, version), workspace.log, runtime))
                else:
                    processes.append(JobProcess(HOST_ENTRY, (workspace.opt_ml, version, cluster_file), workspace.log,
                                                runtime))
            else:
                processes.append(start_training_container(docker, job, workspace, self.region,
                                                          self.clients.endpoint_url))
        codes, self._max_runtime, failed = supervise_hosts(
            processes, self._stop, deadline, [host.shipper for host in self.hosts], self.settings.stop_grace_seconds,
            self.settings.poll_seconds, self.settings.ship_logs_every)
        return codes, failed

    def _cluster_file(self) -> Path:
        """Where the hosts' XGBoost tracker listens: the master's, on loopback ports free now (SageMaker's hosts use
        9099 and 9100 on their own network; here jobs share one machine)."""
        path = self.root / "cluster.json"
        path.write_text(json.dumps({"address": "127.0.0.1", "ports": free_ports(2),
                                    "rendezvous": str(self.root / "rendezvous")}))
        return path

    def _script_layer(self, image: AlgorithmImage, job: dict[str, Any]) -> tuple[Runtime, Path | None]:
        """The user's script, run by the sagemaker-training toolkit in the framework image's runtime: the runtime
        and the layer of the script's requirements (made once for all hosts)."""
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
        return runtime, layer

    def _start_command(self, image: AlgorithmImage, job: dict[str, Any], workspace: TrainingWorkspace
                       ) -> JobProcess:
        """The job's own ContainerEntrypoint and ContainerArguments, in the image's runtime, as SDK 3.x's
        ModelTrainer runs a SourceCode: its driver scripts (the `sm_drivers` channel) name /opt/ml, which is
        mapped to the workspace in them and in the command."""
        runtime = framework_runtime(image, self.settings.runtimes_dir)
        algorithm = job["AlgorithmSpecification"]
        command = [map_container_paths(part, workspace.opt_ml)
                   for part in [*algorithm["ContainerEntrypoint"], *algorithm.get("ContainerArguments", [])]]
        drivers = workspace.channel(DRIVERS_CHANNEL)
        layer = None
        if drivers.is_dir():
            map_container_paths_in(drivers, workspace.opt_ml)
            layer = requirements_layer(runtime, self._source_code_requirements(drivers, workspace), workspace.log)
        return self._start_in_runtime(COMMAND_ENTRY, runtime, job, layer, workspace, command=command)

    @staticmethod
    def _source_code_requirements(drivers: Path, workspace: TrainingWorkspace) -> Path:
        """The requirements file SDK 3.x's SourceCode names (in its `sourcecode.json`), in the `code` channel."""
        with contextlib.suppress(OSError, ValueError):
            named = json.loads((drivers / "sourcecode.json").read_text()).get("requirements")
            if named:
                return workspace.channel("code") / str(named)
        return workspace.channel("code") / REQUIREMENTS

    def _start_in_runtime(self, entry: str, runtime: Runtime, job: dict[str, Any], layer: Path | None,
                          workspace: TrainingWorkspace, **extra: Any) -> JobProcess:
        settings = {"endpoint_url": self.clients.endpoint_url, "region": self.region, "job_name": self.name,
                    "runtime": runtime.spec.image_version, "layer": str(layer) if layer else None,
                    "environment": job.get("Environment") or {}, **extra}
        settings_file = workspace.root / "script.json"
        settings_file.write_text(json.dumps(settings))
        return JobProcess(entry, (workspace.opt_ml, settings_file), workspace.log, runtime)

    def _saved_model(self) -> TrainingWorkspace | None:
        """The host whose /opt/ml/model is uploaded: the first that saved one (the XGBoost container's master, the
        first host with data); None when none did."""
        return next((host.workspace for host in self.hosts if _has_files(host.workspace.model)), None)

    def _upload_model(self, job: dict[str, Any]) -> None:
        workspace = self._saved_model() or self.workspace
        archive = workspace.root / "model.tar.gz"
        pack_model(workspace.model, archive)
        model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
        upload_file(self.clients.s3(self.region), archive, model_uri)
        archive.unlink()
        output_data = workspace.output / "data"
        if _has_files(output_data):
            # What the algorithm left in /opt/ml/output/data, beside the model, as SageMaker packs it.
            archive = workspace.root / "output.tar.gz"
            pack_model(output_data, archive)
            upload_file(self.clients.s3(self.region), archive, model_uri.rsplit("/", 1)[0] + "/output.tar.gz")
            archive.unlink()

    # -- endings --------------------------------------------------------------------------------------

    def _stopped(self, started: float | None, shipper: LogShipper | None) -> None:
        # A stopped job keeps what the algorithm saved, as SageMaker uploads /opt/ml/model on stop.
        try:
            job = self.jobs.get(self.region, self.name)
            if self._saved_model() is not None:
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
        shippers = [host.shipper for host in self.hosts] or ([shipper] if shipper is not None else [])
        for each in shippers:
            try:
                each.pump(final=True)
            except Exception:
                log.exception("could not ship the last log lines of %s", self.name)
            lines.extend(each.lines)
        if started is not None:
            seconds = max(1, round(end - started))
            job = self.jobs.get(self.region, self.name)
            definitions = job["AlgorithmSpecification"].get("MetricDefinitions", [])
            # Billed per instance: N hosts for `seconds` each (TrainingTimeInSeconds is the job's wall time).
            fields.update(TrainingEndTime=end, TrainingTimeInSeconds=seconds,
                          BillableTimeInSeconds=seconds * max(1, len(self.hosts)),
                          FinalMetricDataList=final_metrics(definitions, lines, end))
        self.jobs.advance(self.region, self.name, secondary, message, **fields)

    # -- helpers --------------------------------------------------------------------------------------

    def _advance(self, secondary: str, message: str, **fields: Any) -> None:
        self.jobs.advance(self.region, self.name, secondary, message, **fields)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    @staticmethod
    def _algorithm_error(code: int, workspace: TrainingWorkspace) -> str:
        message = workspace.failure_message()
        if message:
            return f"AlgorithmError: {message}"
        if code < 0:
            return (f"AlgorithmError: The training process was killed by signal {-code}; if that was SIGKILL, "
                    "it may have run out of memory. See the job's logs.")
        return f"AlgorithmError: The training process exited with code {code}. See the job's logs."

    def _slot(self) -> JobSlot:
        return JobSlot(self._slots, self._stop, _Stopped)


def _has_files(directory: Path) -> bool:
    return directory.is_dir() and any(directory.iterdir())
