"""Hyperparameter tuning with the SageMaker Python SDK 3.x: a `ModelTrainer` for the built-in XGBoost image, the
3.x `HyperparameterTuner` over it (Bayesian, `validation:rmse` minimized, an integer and two continuous ranges),
`tune(wait=True)`, `best_training_job()`, `analytics().dataframe()`, the `HyperParameterTuningJob` resource's
`get` and `get_all_training_jobs`, then the best child's model on a real-time endpoint through `ModelBuilder`,
`Endpoint.invoke` with the validation rows, `Endpoint.delete`.

    python tuning_sdk3.py DATA_DIR ROLE_ARN

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes. Prints one JSON line describing what it did and what it was answered.
"""

import json
import logging
import os
import sys

import numpy as np
import pandas as pd
from aws_errors import lookup_error_of
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.resources import Endpoint, EndpointConfig, HyperParameterTuningJob, Model, TrainingJob
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, StoppingCondition
from sagemaker.serve import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

logging.basicConfig(level=logging.INFO, format="%(message)s")
for noisy in ("botocore", "sagemaker.config"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

data_dir, role = sys.argv[1:3]
prefix = "boston-xgboost-tuning-sdk3"

session = Session()
bucket = session.default_bucket()
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

container = image_uris.retrieve("xgboost", region=session.boto_region_name, version="1")
trainer = ModelTrainer(
    training_image=container,
    role=role,
    sagemaker_session=session,
    compute=Compute(instance_type="ml.m4.xlarge", instance_count=1, volume_size_in_gb=5),
    stopping_condition=StoppingCondition(max_runtime_in_seconds=86400),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
    # The seed's hyperparameters without early stopping: each child's model is then the one its final
    # validation:rmse (the tuning objective) was measured on.
    hyperparameters={"max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.8,
                     "objective": "reg:linear", "num_round": 100},
)
tuner = HyperparameterTuner(
    model_trainer=trainer,
    objective_metric_name="validation:rmse",
    objective_type="Minimize",
    hyperparameter_ranges={"max_depth": IntegerParameter(3, 12),
                           "eta": ContinuousParameter(0.05, 0.5),
                           "subsample": ContinuousParameter(0.5, 0.9)},
    strategy="Bayesian",
    max_jobs=4,
    max_parallel_jobs=2,
    base_tuning_job_name="boston-xgb-sdk3",
)
tuner.tune(inputs=[InputData(channel_name="train", data_source=train_location, content_type="csv"),
                   InputData(channel_name="validation", data_source=val_location, content_type="csv")], wait=True)
tuning_job_name = tuner.latest_tuning_job.hyper_parameter_tuning_job_name
best_training_job = tuner.best_training_job()
frame = tuner.analytics().dataframe()
frame = frame.astype({column: str for column in ("TrainingStartTime", "TrainingEndTime")})

tuning_job = HyperParameterTuningJob.get(tuning_job_name, session=session.boto_session)
children = list(tuning_job.get_all_training_jobs(sort_by="FinalObjectiveMetricValue", sort_order="Ascending"))

best = TrainingJob.get(best_training_job, session=session.boto_session)
builder = ModelBuilder(image_uri=container, s3_model_data_url=best.model_artifacts.s3_model_artifacts,
                       role_arn=role, sagemaker_session=session)
model = builder.build()
endpoint = builder.deploy(initial_instance_count=1, instance_type="ml.m5.large")
validation = pd.read_csv(os.path.join(data_dir, "validation.csv"), header=None)
response = endpoint.invoke(body=validation.iloc[:, 1:].to_csv(header=False, index=False), content_type="text/csv")
predictions = np.fromstring(response.body.read().decode("utf-8"), sep=",")
endpoint_status = endpoint.endpoint_status

endpoint_config = EndpointConfig.get(endpoint.endpoint_config_name, session=session.boto_session)
endpoint.delete()
endpoint.wait_for_delete(poll=1, timeout=120)
endpoint_config.delete()
model.delete()


print(json.dumps({
    "tuning_job": tuning_job_name, "status": tuning_job.hyper_parameter_tuning_job_status,
    "strategy": tuning_job.hyper_parameter_tuning_job_config.strategy,
    "max_jobs": tuning_job.hyper_parameter_tuning_job_config.resource_limits.max_number_of_training_jobs,
    "max_parallel_jobs": tuning_job.hyper_parameter_tuning_job_config.resource_limits.max_parallel_training_jobs,
    "static_hyperparameters": tuning_job.training_job_definition.static_hyper_parameters,
    "completed_children": tuning_job.training_job_status_counters.completed,
    "succeeded_objectives": tuning_job.objective_status_counters.succeeded,
    "best_training_job": best_training_job,
    "best_tuned_hyperparameters": tuning_job.best_training_job.tuned_hyper_parameters,
    "dataframe": frame.to_dict(orient="records"),
    "children_by_objective": [{"name": child.training_job_name,
                               "objective": child.final_hyper_parameter_tuning_job_objective_metric.value,
                               "tuned": child.tuned_hyper_parameters} for child in children],
    "best_hyperparameters": best.hyper_parameters, "best_model_data": best.model_artifacts.s3_model_artifacts,
    "endpoint": endpoint.endpoint_name, "endpoint_status": endpoint_status,
    "endpoint_model_data": model.primary_container.model_data_url,
    "prediction_count": len(predictions),
    "validation_rmse": float(np.sqrt(np.mean((predictions - validation[0].to_numpy()) ** 2))),
    "endpoint_after_delete": lookup_error_of(Endpoint.get, endpoint.endpoint_name, session.boto_session),
    "model_after_delete": lookup_error_of(Model.get, model.model_name, session.boto_session),
}))
