"""A training job in algorithm mode, following the container's `training.main` -> `sagemaker_train` ->
`train_job` sequence: read the configuration, validate hyperparameters then channels, check and load the
data, boost with the watchlist train then validation, and write `model/xgboost-model`.

The job sees the SageMaker layout under `opt_ml`: `input/config/{hyperparameters,inputdataconfig,
resourceconfig}.json`, `input/data/<channel>/` and `model/`. Log lines go to the given `ContainerLog`
(stdout by default) in the container's format and order.

What the emulator does not run is refused with a UserError that says so: script mode, Pipe input mode,
parquet and recordio-protobuf data, cross-validation (`_kfold`) and Dask GPU training. Several hosts train
together with XGBoost's own engine when the emulator gives them a cluster file (see distributed.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xgboost as xgb

from . import distributed, library
from .boosting import BoostingResult, BoostingSetup, run_boosting
from .channels import validate_channels
from .content_types import parse_content_type
from .data import channel_size, load_channel, validate_channel_files
from .errors import AlgorithmError, UserError
from .hyperparameters import validate_hyperparameters
from .log import ContainerLog
from .metrics import plan_metrics
from .model_files import MODEL_NAME, serialize, serialize_checkpoint, write_atomically
from .params import xgboost_params
from .termination import TrainingTerminated, sigterm_stops_training
from .versions import ContainerVersion, ModelFormat, get_version


def train(opt_ml: Path | str, version: str | ContainerVersion, log: ContainerLog | None = None,
          cluster_file: Path | str | None = None) -> None:
    """Run one training job; raises the container's exception on failure (see entry.run_training_job).

    `cluster_file` (from the emulator, for a job of several hosts) says where the hosts' tracker listens.
    A SIGTERM (in the main thread) ends it with `TrainingTerminated` after the current XGBoost call.
    """
    with sigterm_stops_training():
        _train(Path(opt_ml), get_version(version), log if log is not None else ContainerLog(), cluster_file)


def _train(opt_ml: Path, rules: ContainerVersion, log: ContainerLog, cluster_file: Path | str | None) -> None:
    config_dir = opt_ml / "input" / "config"

    # Importing the training module imports smdebug, which logs before sagemaker-containers configures logging.
    for file, line, message in rules.smdebug_lines:
        log.smdebug(file, line, message)
    log.info("Imported framework sagemaker_xgboost_container.training")
    hyperparameters = _read_json(config_dir / "hyperparameters.json", default={})
    _log_non_json_values(hyperparameters, log)
    log.info("No GPUs detected (normal if no gpus installed)")
    if "sagemaker_program" in hyperparameters:
        raise UserError(
            "Script mode (the sagemaker_program hyperparameter) is not supported by this emulator."
        )
    log.info("Running XGBoost Sagemaker in algorithm mode")

    data_config = _read_json(config_dir / "inputdataconfig.json", default={})
    if "train" not in data_config:
        # The container reads SM_CHANNEL_TRAIN before validating channels, so this is its error.
        raise KeyError("SM_CHANNEL_TRAIN")
    resources = _read_json(config_dir / "resourceconfig.json", default={"hosts": ["algo-1"]})
    hosts = list(resources.get("hosts", ["algo-1"]))
    cluster = None
    if len(hosts) > 1 and cluster_file is not None:
        cluster = distributed.Cluster.read(cluster_file, hosts, str(resources.get("current_host", hosts[0])))
    _Job(opt_ml, rules, log, cluster).run(hyperparameters, data_config, hosts)


@dataclass
class _Job:
    opt_ml: Path
    version: ContainerVersion
    log: ContainerLog
    cluster: distributed.Cluster | None = None

    @property
    def model_dir(self) -> Path:
        return self.opt_ml / "model"

    def channel_dir(self, name: str) -> Path:
        return self.opt_ml / "input" / "data" / name

    def run(
        self, hyperparameters: Mapping[str, str], data_config: Mapping[str, Any], hosts: list[str]
    ) -> None:
        validated = validate_hyperparameters(hyperparameters, self.version)
        channels = validate_channels(data_config)
        data_format = parse_content_type(channels["train"].get("ContentType"))
        if channels["train"].get("TrainingInputMode") == "Pipe":
            raise UserError("Pipe input mode is not supported by this emulator; use File mode.")
        for name in ("_kfold", "_nfold"):
            if name in validated:
                raise UserError(f"Cross-validation ({name}) is not supported by this emulator.")
        if validated.get("use_dask_gpu_training") == "true":
            raise UserError("Dask GPU training (use_dask_gpu_training) is not supported by this emulator.")
        if len(hosts) > 1 and self.cluster is None:
            raise UserError(f"Distributed training on {len(hosts)} hosts is not supported by this emulator.")

        train_path = self.channel_dir("train")
        val_path = self.channel_dir("validation") if "validation" in channels else None
        if val_path is not None and self.version.checks_data_redundancy:
            self._warn_identical_files(train_path, val_path)
        if self.version.logs_gpu_count:
            self.log.info("Determined 0 GPU(s) available on the instance.")  # SM_NUM_GPUS of a CPU instance

        csv_weights = validated.get("csv_weights", 0)
        train_size = channel_size(train_path)
        val_size = channel_size(val_path) if val_path is not None else 0
        if train_size > 0:
            validate_channel_files(train_path, data_format, self.log)
        if val_path is not None and val_size > 0:
            validate_channel_files(val_path, data_format, self.log)
        dtrain = (
            load_channel(train_path, data_format, self.version, self.log, csv_weights) if train_size else None
        )
        dval = None
        if val_path is not None and val_size > 0:
            dval = load_channel(val_path, data_format, self.version, self.log, csv_weights)

        if self.cluster is not None:
            self._run_distributed(self.cluster, dict(validated), dtrain, dval, val_path is not None)
            return
        if dtrain is None:
            raise UserError(f"No data in training channel path {train_path}")
        if val_path is not None and dval is None:
            raise UserError(f"No data in validation channel path {val_path}")
        self.log.info("Single node training.")
        self._train_job(dict(validated), dtrain, dval)

    def _run_distributed(self, cluster: distributed.Cluster, config: dict[str, Any], dtrain: xgb.DMatrix | None,
                         dval: xgb.DMatrix | None, has_validation: bool) -> None:
        """The container's `rabit_run`: agree on which hosts have data, then train on those together."""
        hosts, current = list(cluster.hosts), cluster.current_host
        self.log.info(f"Distributed node training with {len(hosts)} hosts: {hosts}")
        include = True
        guide = "https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html#Instance-XGBoost-distributed-training-divide-data"
        if dtrain is None:
            self.log.warning(
                f"Host {current} does not have training data. Will broadcast to cluster and this host {current} "
                "will not be used in distributed training. Please divide the training data across instances "
                f"properly. See {guide}. "
            )
            include = False
        if has_validation and dval is None:
            self.log.warning(
                f"Host {current} does not have validation data in the validation channel. Will broadcast to "
                f"cluster and this host {current} will not be used in distributed training. Please divide the "
                f"validation data across instances properly. See {guide}. "
            )
            include = False
        with distributed.engine(hosts, cluster, cluster.ports[0]) as rank:
            records = distributed.broadcast_all({"host": current, "include": include}, len(hosts), rank)
        with_data = [str(record["host"]) for record in records if record["include"]]
        if not include:
            # The container's host leaves here with exit code 0, and no model.
            self.log.warning(f"Host {current} not being used for distributed training.")
            return
        if len(with_data) == 1:
            self._train_job(config, dtrain, dval)
            return
        # Every host is a process on this machine: each gets its share of the cores, as each instance has its own
        # (XGBoost's threads wait by spinning, and hosts that outnumber the cores would stall each allreduce).
        config.setdefault("nthread", max(1, (os.cpu_count() or 1) // len(hosts)))
        with distributed.engine(with_data, cluster, cluster.ports[1]) as rank:
            master = current == distributed.master_of(with_data)
            self._train_job(config, dtrain, dval, is_master=master, prints_rounds=rank == 0, through_tracker=True)

    def _train_job(self, config: dict[str, Any], dtrain: xgb.DMatrix | None, dval: xgb.DMatrix | None,
                   is_master: bool = True, prints_rounds: bool = True, through_tracker: bool = False) -> None:
        assert dtrain is not None
        master = str(is_master)
        self._debug_trace(f"TRAIN_JOB_DEBUG: Received is_master={master}")
        num_round = config.pop("num_round")
        save_on_termination = config.pop("save_model_on_termination", "false")
        plan = plan_metrics(
            config.get("eval_metric"), config.pop("_tuning_objective_metric", None), self.version, self.log
        )
        early_stopping_rounds = config.pop("early_stopping_rounds", None)

        if self.version.logs_matrix_columns:
            self.log.info(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
        else:
            self.log.info(f"Train matrix has {dtrain.num_row()} rows")
        if dval is not None:
            self.log.info(f"Validation matrix has {dval.num_row()} rows")

        evals = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
        if self.version.prints_debug_traces:
            self.log.info(
                f"CALLBACK_SETUP_DEBUG: save_model_on_termination={save_on_termination}, is_master={master}"
            )
            if save_on_termination == "true" and is_master:
                self.log.info("CALLBACK_ADDING: Adding SaveIntermediateModelCallBack on master")
            else:
                self.log.info(
                    f"CALLBACK_SKIPPING save_model_on_termination={save_on_termination}, is_master={master})"
                )
        try:
            setup = BoostingSetup(
                params=xgboost_params(config, plan, self.version, self.log),
                dtrain=dtrain,
                evals=evals,
                num_round=num_round,
                plan=plan,
                early_stopping_rounds=early_stopping_rounds,
                version=self.version,
                after_round=self._save_checkpoint if save_on_termination == "true" and is_master else None,
                prints_rounds=prints_rounds,
                through_tracker=through_tracker,
            )
            result = run_boosting(setup, self.log)
        except TrainingTerminated:
            if save_on_termination == "true":
                # The container's SIGTERM handler keeps the per-round model, removes other files, exits 0.
                if is_master:
                    self._remove_all_but_model()
                raise TrainingTerminated(exit_code=0) from None
            raise
        except Exception as e:
            text = str(e)
            if self.version.is_customer_error(text):
                raise UserError(text) from e
            raise AlgorithmError(f"XGB train call failed with exception:\n {text}") from e

        self._debug_trace(f"FINAL_MODEL_DEBUG: is_master={master}, model_dir={self.model_dir}")
        if not is_master:
            return  # only the master saves the model
        self._debug_trace("FINAL_MODEL_SAVE: Saving final model as master")
        self._save_model(result, setup.params)

    def _save_model(self, result: BoostingResult, params: Mapping[str, Any]) -> None:
        release = self.version.xgboost_release
        booster = library.trained_model(result.booster, release)
        trees = (result.best_iteration + 1) * int(params.get("num_parallel_tree", 1))
        library.record_best(booster, release, result.best_iteration, trees, early_stopped=result.best_score is not None)
        if self.version.model_format is ModelFormat.PICKLE:
            # XGBoost <= 1.2's train() leaves these Python attributes on every model, early stopping or not;
            # they are pickled with the Booster's __dict__, and the inference server predicts with
            # best_ntree_limit trees.
            attributes = vars(booster)
            attributes["best_iteration"] = result.best_iteration
            attributes["best_ntree_limit"] = trees
            if result.best_score is not None:
                attributes["best_score"] = result.best_score
        write_atomically(self.model_dir / MODEL_NAME, serialize(booster, self.version))

    def _save_checkpoint(self, booster: xgb.Booster) -> None:
        write_atomically(self.model_dir / MODEL_NAME, serialize_checkpoint(booster, self.version))

    def _remove_all_but_model(self) -> None:
        if not self.model_dir.is_dir():
            return
        for path in self.model_dir.iterdir():
            if path.is_file() and not path.name.startswith(MODEL_NAME):
                path.unlink(missing_ok=True)

    def _warn_identical_files(self, train_path: Path, val_path: Path) -> None:
        if not (train_path.exists() and val_path.exists()):
            return
        train_files = {p.name: p for p in train_path.iterdir() if p.is_file()}
        for path in sorted(val_path.iterdir()):
            twin = train_files.get(path.name)
            if path.is_file() and twin is not None and twin.stat().st_size == path.stat().st_size:
                size = path.stat().st_size
                self.log.warning(
                    f"Suspected identical files found. ({twin} and {path}with same size {size} bytes). "
                    "Note: Duplicate data in the training set and validation set is usually not intentional "
                    "and can impair the validity of the model evaluation by the validation score."
                )

    def _debug_trace(self, message: str) -> None:
        # The 3.x images both log and print these lines.
        if self.version.prints_debug_traces:
            self.log.info(message)
            self.log.line(message)


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    with open(path) as handle:
        return json.load(handle)


def _log_non_json_values(hyperparameters: Mapping[str, Any], log: ContainerLog) -> None:
    # sagemaker-containers tries json.loads on every value while building its environment and says so.
    for name, value in hyperparameters.items():
        try:
            json.loads(value)
        except (ValueError, TypeError):
            log.info(
                f"Failed to parse hyperparameter {name} value {value} to Json.\nReturning the value itself"
            )
