"""Hyperparameter tuning with the SageMaker Python SDK 2.x, as the Boston "Hyperparameter Tuning - High Level"
notebook does it: the built-in XGBoost `Estimator`, a `HyperparameterTuner` (Bayesian, `validation:rmse`
minimized, an integer and two continuous ranges), `fit`, `wait`, `best_training_job`, `analytics().dataframe()`,
then the best model on a real-time endpoint: `best_estimator().deploy()`, `predict()` on the validation rows,
`delete_model()` and `delete_endpoint()`. (`fit(wait=False)` then `wait()`, so that the tuner's own `wait` is
what polls the tuning job.)

    python tuning_sdk2.py DATA_DIR ROLE_ARN

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes. Prints one JSON line describing what it did and what it was answered.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
import sagemaker
from aws_errors import error_of
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

data_dir, role = sys.argv[1:3]
prefix = "boston-xgboost-tuning-sdk2"

session = sagemaker.Session()
bucket = session.default_bucket()
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

container = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1")
xgb = Estimator(container, role, instance_count=1, instance_type="ml.m4.xlarge", volume_size=5, max_run=86400,
                output_path=f"s3://{bucket}/{prefix}/output", sagemaker_session=session)
# The seed's hyperparameters without early stopping: each child's model is then the one its final
# validation:rmse (the tuning objective) was measured on.
xgb.set_hyperparameters(max_depth=5, eta=0.2, gamma=4, min_child_weight=6, subsample=0.8, objective="reg:linear",
                        num_round=100)

xgb_hyperparameter_tuner = HyperparameterTuner(
    estimator=xgb,
    objective_metric_name="validation:rmse",
    objective_type="Minimize",
    max_jobs=4,
    max_parallel_jobs=2,
    strategy="Bayesian",
    base_tuning_job_name="boston-xgb-sdk2",
    hyperparameter_ranges={"max_depth": IntegerParameter(3, 12),
                           "eta": ContinuousParameter(0.05, 0.5),
                           "subsample": ContinuousParameter(0.5, 0.9)},
)
xgb_hyperparameter_tuner.fit({"train": TrainingInput(train_location, content_type="csv"),
                              "validation": TrainingInput(val_location, content_type="csv")}, wait=False)
status_after_fit = xgb_hyperparameter_tuner.describe()["HyperParameterTuningJobStatus"]
xgb_hyperparameter_tuner.wait()
tuning_job_name = xgb_hyperparameter_tuner.latest_tuning_job.name
best_training_job = xgb_hyperparameter_tuner.best_training_job()
described = xgb_hyperparameter_tuner.describe()

frame = xgb_hyperparameter_tuner.analytics().dataframe()
frame = frame.astype({column: str for column in ("TrainingStartTime", "TrainingEndTime")})

xgb_attached = xgb_hyperparameter_tuner.best_estimator()
xgb_predictor = xgb_attached.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                    serializer=CSVSerializer())
validation = pd.read_csv(os.path.join(data_dir, "validation.csv"), header=None)
Y_pred = xgb_predictor.predict(validation.iloc[:, 1:].values).decode("utf-8")
predictions = np.fromstring(Y_pred, sep=",")
endpoint_name = xgb_predictor.endpoint_name
endpoint = session.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)
endpoint_config = session.sagemaker_client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
model = session.sagemaker_client.describe_model(ModelName=endpoint_config["ProductionVariants"][0]["ModelName"])
xgb_predictor.delete_model()
xgb_predictor.delete_endpoint()


# DeleteEndpoint returns at once; the endpoint is `Deleting` until its instances are gone.
deadline = time.monotonic() + 120
while time.monotonic() < deadline and error_of(session.sagemaker_client.describe_endpoint,
                                               EndpointName=endpoint_name) is None:
    time.sleep(0.2)

print()
print(json.dumps({
    "tuning_job": tuning_job_name, "status_after_fit": status_after_fit,
    "status": described["HyperParameterTuningJobStatus"],
    "strategy": described["HyperParameterTuningJobConfig"]["Strategy"],
    "resource_limits": described["HyperParameterTuningJobConfig"]["ResourceLimits"],
    "static_hyperparameters": described["TrainingJobDefinition"]["StaticHyperParameters"],
    "training_job_status_counters": described["TrainingJobStatusCounters"],
    "objective_status_counters": described["ObjectiveStatusCounters"],
    "best_training_job": best_training_job,
    "best_tuned_hyperparameters": described["BestTrainingJob"]["TunedHyperParameters"],
    "dataframe": frame.to_dict(orient="records"),
    "attached_job": xgb_attached.latest_training_job.name, "attached_model_data": xgb_attached.model_data,
    "attached_hyperparameters": xgb_attached.hyperparameters(),
    "endpoint": endpoint_name, "endpoint_status": endpoint["EndpointStatus"],
    "endpoint_model_data": model["PrimaryContainer"]["ModelDataUrl"],
    "prediction_count": len(predictions),
    "validation_rmse": float(np.sqrt(np.mean((predictions - validation[0].to_numpy()) ** 2))),
    "describe_after_delete": error_of(session.sagemaker_client.describe_endpoint, EndpointName=endpoint_name),
    "describe_model_after_delete": error_of(session.sagemaker_client.describe_model, ModelName=model["ModelName"]),
}))
