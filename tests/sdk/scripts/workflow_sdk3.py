"""The reference workflow with the SageMaker Python SDK 3.x: `ModelTrainer`, a `Model` resource and
`Transformer`, waiting with the SDK's own waiters and log streaming.

    python workflow_sdk3.py DATA_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes (the default bucket, so that `default_bucket()` need not ask STS at its
AWS address; telemetry off). Prints one JSON line describing what it did.
"""

import json
import logging
import os
import sys

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import Model, TransformJob
from sagemaker.core.s3 import S3Downloader
from sagemaker.core.shapes import ContainerDefinition
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, StoppingCondition
from sagemaker.core.transformer import Transformer
from sagemaker.train import ModelTrainer

# 3.x reports job logs and status through `logging`; show them as a script would.
logging.basicConfig(level=logging.INFO, format="%(message)s")
for noisy in ("botocore", "sagemaker.config"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

data_dir, out_dir, role = sys.argv[1:4]
prefix = "boston-xgboost-sdk3"

session = Session()
bucket = session.default_bucket()
test_location = session.upload_data(os.path.join(data_dir, "test.csv"), key_prefix=prefix)
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=prefix)
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=prefix)

container = image_uris.retrieve("xgboost", region=session.boto_region_name, version="1")
trainer = ModelTrainer(
    training_image=container,
    role=role,
    sagemaker_session=session,
    base_job_name="boston-xgboost",
    compute=Compute(instance_type="ml.m4.xlarge", instance_count=1, volume_size_in_gb=5),
    stopping_condition=StoppingCondition(max_runtime_in_seconds=86400),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
    hyperparameters={"max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6, "subsample": 0.8,
                     "objective": "reg:linear", "early_stopping_rounds": 10, "num_round": 200},
)
trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_location, content_type="csv"),
                                 InputData(channel_name="validation", data_source=val_location, content_type="csv")],
              wait=True, logs=True)
training_job = trainer._latest_training_job
model_data = training_job.model_artifacts.s3_model_artifacts

model = Model.create(model_name=training_job.training_job_name + "-model", execution_role_arn=role,
                     primary_container=ContainerDefinition(image=container, model_data_url=model_data),
                     session=session.boto_session)

transformer = Transformer(model_name=model.model_name, instance_count=1, instance_type="ml.m4.xlarge",
                          strategy="MultiRecord", max_payload=6, max_concurrent_transforms=1,
                          output_path=f"s3://{bucket}/{prefix}/batch-transform/", sagemaker_session=session)
transformer.transform(test_location, content_type="text/csv", split_type="Line", wait=True, logs=True)
transform_job = TransformJob.get(transformer.latest_transform_job.transform_job_name, session=session.boto_session)

S3Downloader.download(f"s3://{bucket}/{prefix}/batch-transform/", out_dir, sagemaker_session=session)
print(json.dumps({"training_job": training_job.training_job_name, "training_status": training_job.training_job_status,
                  "model_data": model_data, "model": model.model_name,
                  "transform_job": transform_job.transform_job_name,
                  "transform_status": transform_job.transform_job_status}))
