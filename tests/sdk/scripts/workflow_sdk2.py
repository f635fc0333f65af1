"""The reference workflow with the SageMaker Python SDK 2.x: `Estimator.fit`, `transformer().transform`,
`Session.logs_for_job`, `Session.wait_for_transform_job`.

    python workflow_sdk2.py DATA_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes (the default bucket, so that `default_bucket()` need not ask STS at its
AWS address; telemetry off). Prints one JSON line describing what it did.
"""

import json
import os
import sys

import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.s3 import S3Downloader

data_dir, out_dir, role = sys.argv[1:4]
prefix = "boston-xgboost-sdk2"

session = sagemaker.Session()
bucket = session.default_bucket()
test_location = session.upload_data(os.path.join(data_dir, "test.csv"), key_prefix=prefix)
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

container = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1")
xgb = Estimator(container, role, instance_count=1, instance_type="ml.m4.xlarge", volume_size=5, max_run=86400,
                output_path=f"s3://{bucket}/{prefix}/output", base_job_name="boston-xgboost", sagemaker_session=session)
xgb.set_hyperparameters(max_depth=5, eta=0.2, gamma=4, min_child_weight=6, subsample=0.8, objective="reg:linear",
                        early_stopping_rounds=10, num_round=200)
xgb.fit({"train": TrainingInput(train_location, content_type="csv"),
         "validation": TrainingInput(val_location, content_type="csv")}, logs=True)
training_job_name = xgb.latest_training_job.name

# The finished job's log again, as the seed notebook reads it.
session.logs_for_job(training_job_name, wait=False)
description = session.describe_training_job(training_job_name)

transformer = xgb.transformer(instance_count=1, instance_type="ml.m4.xlarge", strategy="MultiRecord", max_payload=6,
                              max_concurrent_transforms=1, output_path=f"s3://{bucket}/{prefix}/batch-transform/")
transformer.transform(test_location, content_type="text/csv", split_type="Line", wait=False)
transform_job_name = transformer.latest_transform_job.name
transform = session.wait_for_transform_job(transform_job_name)

S3Downloader.download(f"s3://{bucket}/{prefix}/batch-transform/", out_dir, sagemaker_session=session)
print()
print(json.dumps({"training_job": training_job_name, "training_status": description["TrainingJobStatus"],
                  "model_data": xgb.model_data, "model": transformer.model_name,
                  "transform_job": transform_job_name, "transform_status": transform["TransformJobStatus"]}))
