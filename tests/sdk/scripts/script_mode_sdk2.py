"""Script mode with the SageMaker Python SDK 2.x, as its SKLearn examples write it:
`SKLearn(entry_point=..., source_dir=..., framework_version="1.2-1").fit()`, `.transformer().transform()`,
then `.deploy()` and `predict()` with the SKLearn predictor's defaults (numpy arrays sent and answered as npy).

    python script_mode_sdk2.py DATA_DIR SOURCE_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Prints one JSON line describing what it did and what it was answered.
"""

import json
import os
import sys

import pandas as pd
import sagemaker
from sagemaker.s3 import S3Downloader
from sagemaker.sklearn import SKLearn

data_dir, source_dir, out_dir, role = sys.argv[1:5]
prefix = "boston-sklearn-sdk2"

session = sagemaker.Session()
bucket = session.default_bucket()
test_location = session.upload_data(os.path.join(data_dir, "test.csv"), key_prefix=prefix)
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

estimator = SKLearn(entry_point="train.py", source_dir=source_dir, framework_version="1.2-1",
                    instance_type="ml.m5.large", instance_count=1, role=role, sagemaker_session=session,
                    hyperparameters={"n_estimators": 150, "learning_rate": 0.1, "max_depth": 3},
                    metric_definitions=[{"Name": "validation:rmse", "Regex": "validation:rmse=([0-9.]+)"}])
estimator.fit({"train": train_location, "validation": val_location}, logs=True)
description = estimator.latest_training_job.describe()

transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", accept="text/csv",
                                    output_path=f"s3://{bucket}/{prefix}/batch-transform/")
transformer.transform(test_location, content_type="text/csv", split_type="Line")
transformer.wait()
S3Downloader.download(f"s3://{bucket}/{prefix}/batch-transform/", out_dir, sagemaker_session=session)
S3Downloader.download(estimator.model_data, os.path.join(out_dir, "model"), sagemaker_session=session)

predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
test_rows = pd.read_csv(os.path.join(data_dir, "test.csv"), header=None).to_numpy()
served = predictor.predict(test_rows)
predictor.delete_endpoint()

print()
print(json.dumps({"training_job": description["TrainingJobName"], "training_status": description["TrainingJobStatus"],
                  "image": description["AlgorithmSpecification"]["TrainingImage"],
                  "hyperparameters": description["HyperParameters"], "metrics": description["FinalMetricDataList"],
                  "model_data": estimator.model_data, "transform_job": transformer.latest_transform_job.name,
                  "endpoint_predictions": [float(value) for value in served]}, default=str))
