"""Script mode with the SageMaker Python SDK 2.x, as its examples write it: `SKLearn(entry_point=...,
source_dir=..., framework_version="1.2-1")` or `XGBoost(entry_point=..., framework_version="1.7-1")`, then
`.fit()`, `.transformer().transform()`, and for SKLearn `.deploy()` and `predict()` with the SKLearn predictor's
defaults (numpy arrays sent and answered as npy).

    python script_mode_sdk2.py sklearn|xgboost DATA_DIR SOURCE_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Prints one JSON line describing what it did and what it was answered.
"""

import json
import os
import sys

import pandas as pd
import sagemaker
from sagemaker.s3 import S3Downloader
from sagemaker.sklearn import SKLearn
from sagemaker.xgboost import XGBoost

framework, data_dir, source_dir, out_dir, role = sys.argv[1:6]
prefix = f"boston-{framework}-script-sdk2"

session = sagemaker.Session()
bucket = session.default_bucket()
test_location = session.upload_data(os.path.join(data_dir, "test.csv"), key_prefix=prefix)
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

common = {"entry_point": "train.py", "source_dir": source_dir, "instance_type": "ml.m5.large", "instance_count": 1,
          "role": role, "sagemaker_session": session}
if framework == "sklearn":
    estimator = SKLearn(framework_version="1.2-1", hyperparameters={"n_estimators": 150, "learning_rate": 0.1,
                                                                    "max_depth": 3},
                        metric_definitions=[{"Name": "validation:rmse", "Regex": "validation:rmse=([0-9.]+)"}],
                        **common)
else:
    estimator = XGBoost(framework_version="1.7-1", hyperparameters={"num_round": 40, "max_depth": 4}, **common)
estimator.fit({"train": train_location, "validation": val_location}, logs=True)
description = estimator.latest_training_job.describe()

transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", accept="text/csv",
                                    output_path=f"s3://{bucket}/{prefix}/batch-transform/")
transformer.transform(test_location, content_type="text/csv", split_type="Line")
transformer.wait()
S3Downloader.download(f"s3://{bucket}/{prefix}/batch-transform/", out_dir, sagemaker_session=session)
S3Downloader.download(estimator.model_data, os.path.join(out_dir, "model"), sagemaker_session=session)

served = None
if framework == "sklearn":
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    served = [float(value) for value in predictor.predict(
        pd.read_csv(os.path.join(data_dir, "test.csv"), header=None).to_numpy())]
    predictor.delete_endpoint()

print()
print(json.dumps({"training_job": description["TrainingJobName"], "training_status": description["TrainingJobStatus"],
                  "image": description["AlgorithmSpecification"]["TrainingImage"],
                  "hyperparameters": description["HyperParameters"], "metrics": description.get("FinalMetricDataList"),
                  "model_data": estimator.model_data, "transform_job": transformer.latest_transform_job.name,
                  "endpoint_predictions": served}, default=str))
