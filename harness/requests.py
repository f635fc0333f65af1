"""Request builders: the reference workflow's CreateTrainingJob, CreateModel, CreateTransformJob and
CreateHyperParameterTuningJob dicts.

Pure functions of a typed configuration. The dicts for the `emulator` and `sagemaker` backends are identical;
for `local` only the instance type differs (SDK local mode requires `local`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEED_HYPERPARAMETERS: dict[str, str] = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "reg:linear",
    "early_stopping_rounds": "10",
    "num_round": "200",
}


@dataclass(frozen=True)
class TrainingConfig:
    job_name: str
    image: str
    role: str
    output_path: str  # s3://bucket/prefix/output
    train_uri: str
    validation_uri: str | None = None
    hyperparameters: dict[str, str] = field(default_factory=lambda: dict(SEED_HYPERPARAMETERS))
    instance_type: str = "ml.m4.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 5
    max_runtime_seconds: int = 86400
    content_type: str = "csv"


@dataclass(frozen=True)
class TransformConfig:
    job_name: str
    model_name: str
    input_uri: str
    output_path: str  # s3://bucket/prefix/batch-transform/
    instance_type: str = "ml.m4.xlarge"
    instance_count: int = 1
    max_concurrent_transforms: int = 1
    max_payload_mb: int = 6
    batch_strategy: str = "MultiRecord"
    content_type: str = "text/csv"
    split_type: str = "Line"
    accept: str | None = None
    assemble_with: str | None = None
    input_filter: str | None = None
    join_source: str | None = None
    output_filter: str | None = None


def training_job_request(config: TrainingConfig) -> dict[str, Any]:
    channels = [_channel("train", config.train_uri, config.content_type)]
    if config.validation_uri:
        channels.append(_channel("validation", config.validation_uri, config.content_type))
    return {
        "TrainingJobName": config.job_name,
        "RoleArn": config.role,
        "AlgorithmSpecification": {"TrainingImage": config.image, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": config.output_path},
        "ResourceConfig": {
            "InstanceCount": config.instance_count,
            "InstanceType": config.instance_type,
            "VolumeSizeInGB": config.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": config.max_runtime_seconds},
        "HyperParameters": {key: str(value) for key, value in config.hyperparameters.items()},
        "InputDataConfig": channels,
    }


@dataclass(frozen=True)
class TuningConfig:
    """A tuning job over the reference workflow's training job: `training` is the children's definition (its
    job name is not used; its hyperparameters are the static ones)."""

    job_name: str
    training: TrainingConfig
    parameter_ranges: dict[str, list[dict[str, Any]]]  # {"IntegerParameterRanges": [...], ...}
    objective_metric: str = "validation:rmse"
    objective_type: str = "Minimize"
    strategy: str = "Bayesian"
    max_jobs: int | None = 10  # None: not sent (the Grid strategy counts the combinations itself)
    max_parallel: int = 2
    random_seed: int | None = None
    strategy_config: dict[str, Any] | None = None  # StrategyConfig (Hyperband's MinResource and MaxResource)


def tuning_job_request(config: TuningConfig) -> dict[str, Any]:
    """Its TrainingJobDefinition is the CreateTrainingJob request `harness run` sends, less the job name, with the
    hyperparameters as StaticHyperParameters."""
    definition = training_job_request(config.training)
    del definition["TrainingJobName"]
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": config.max_parallel}
    if config.max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = config.max_jobs
    tuning: dict[str, Any] = {
        "Strategy": config.strategy,
        "HyperParameterTuningJobObjective": {"Type": config.objective_type, "MetricName": config.objective_metric},
        "ResourceLimits": limits,
        "ParameterRanges": {kind: ranges for kind, ranges in config.parameter_ranges.items() if ranges},
    }
    if config.random_seed is not None:
        tuning["RandomSeed"] = config.random_seed
    if config.strategy_config:
        tuning["StrategyConfig"] = config.strategy_config
    return {"HyperParameterTuningJobName": config.job_name, "HyperParameterTuningJobConfig": tuning,
            "TrainingJobDefinition": definition}


def model_request(model_name: str, image: str, model_data_url: str, role: str,
                  environment: dict[str, str] | None = None) -> dict[str, Any]:
    # `Environment` is always named (empty by default): SageMaker accepts an empty map, and SDK local mode's
    # transform reads PrimaryContainer["Environment"] unconditionally (KeyError without it).
    return {
        "ModelName": model_name,
        "ExecutionRoleArn": role,
        "PrimaryContainer": {"Image": image, "ModelDataUrl": model_data_url, "Environment": dict(environment or {})},
    }


def endpoint_config_request(config_name: str, model_name: str, instance_type: str, instance_count: int = 1,
                            variant_name: str = "AllTraffic") -> dict[str, Any]:
    """One production variant serving `model_name`, as `Model.deploy()` creates it."""
    return {
        "EndpointConfigName": config_name,
        "ProductionVariants": [{"VariantName": variant_name, "ModelName": model_name,
                                "InitialInstanceCount": instance_count, "InstanceType": instance_type,
                                "InitialVariantWeight": 1.0}],
    }


def transform_job_request(config: TransformConfig) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": config.job_name,
        "ModelName": config.model_name,
        "MaxConcurrentTransforms": config.max_concurrent_transforms,
        "MaxPayloadInMB": config.max_payload_mb,
        "BatchStrategy": config.batch_strategy,
        "TransformOutput": {"S3OutputPath": config.output_path},
        "TransformInput": {
            "ContentType": config.content_type,
            "SplitType": config.split_type,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": config.input_uri}},
        },
        "TransformResources": {"InstanceType": config.instance_type, "InstanceCount": config.instance_count},
    }
    if config.accept:
        request["TransformOutput"]["Accept"] = config.accept
    if config.assemble_with:
        request["TransformOutput"]["AssembleWith"] = config.assemble_with
    processing = {key: value for key, value in (("InputFilter", config.input_filter),
                                                  ("JoinSource", config.join_source),
                                                  ("OutputFilter", config.output_filter)) if value}
    if processing:
        request["DataProcessing"] = processing
    return request


def _channel(name: str, uri: str, content_type: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": content_type,
        "CompressionType": "None",
    }
