"""XGBoost framework mode with the SageMaker Python SDK 2.x: `XGBoost(entry_point=..., framework_version="1.7-1")`
`.fit()` and `.transformer().transform()`.

    python xgboost_script_sdk2.py DATA_DIR SOURCE_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Prints one JSON line describing what it did.
"""

import json
import os
import sys

import sagemaker
from sagemaker.s3 import S3Downloader
from sagemaker.xgboost import XGBoost

data_dir, source_dir, out_dir, role = sys.argv[1:5]
prefix = "boston-xgboost-script-sdk2"

session = sagemaker.Session()
bucket = session.default_bucket()
test_location = session.upload_data(os.path.join(data_dir, "test.csv"), key_prefix=prefix)
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

estimator = XGBoost(entry_point="train.py", source_dir=source_dir, framework_version="1.7-1",
                    instance_type="ml.m5.large", instance_count=1, role=role, sagemaker_session=session,
                    hyperparameters={"num_round": 40, "max_depth": 4})
estimator.fit({"train": train_location, "validation": val_location}, logs=True)
description = estimator.latest_training_job.describe()

transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", accept="text/csv",
                                    output_path=f"s3://{bucket}/{prefix}/batch-transform/")
transformer.transform(test_location, content_type="text/csv", split_type="Line")
transformer.wait()
S3Downloader.download(f"s3://{bucket}/{prefix}/batch-transform/", out_dir, sagemaker_session=session)
S3Downloader.download(estimator.model_data, os.path.join(out_dir, "model"), sagemaker_session=session)

print()
print(json.dumps({"training_job": description["TrainingJobName"], "training_status": description["TrainingJobStatus"],
                  "image": description["AlgorithmSpecification"]["TrainingImage"],
                  "hyperparameters": description["HyperParameters"], "model_data": estimator.model_data,
                  "transform_job": transformer.latest_transform_job.name}, default=str))
