"""A finished training job's model on a real-time endpoint with the SageMaker Python SDK 3.x: `ModelBuilder`
builds a `Model` resource from the image and the job's model artifacts (as the SDK's documentation does for an
XGBoost model) and deploys it to an `Endpoint` resource, `Endpoint.invoke` sends all the test rows as CSV,
then `Endpoint.delete` and `wait_for_delete`, and the endpoint configuration and the model are deleted through
their resources.

    python endpoint_sdk3.py DATA_DIR TRAINING_JOB_NAME ROLE_ARN

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes. Prints one JSON line describing what it did and what it was answered.
"""

import json
import logging
import os
import sys

from aws_errors import lookup_error_of
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TrainingJob
from sagemaker.serve import ModelBuilder

logging.basicConfig(level=logging.INFO, format="%(message)s")
for noisy in ("botocore", "sagemaker.config"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

data_dir, training_job_name, role = sys.argv[1:4]

session = Session()
training_job = TrainingJob.get(training_job_name, session=session.boto_session)
container = image_uris.retrieve("xgboost", region=session.boto_region_name, version="1")

builder = ModelBuilder(image_uri=container, s3_model_data_url=training_job.model_artifacts.s3_model_artifacts,
                       role_arn=role, sagemaker_session=session)
model = builder.build()
endpoint = builder.deploy(initial_instance_count=1, instance_type="ml.m5.large")

with open(os.path.join(data_dir, "test.csv")) as f:
    payload = f.read()
response = endpoint.invoke(body=payload, content_type="text/csv")
result = response.body.read().decode("utf-8")

endpoint_config = EndpointConfig.get(endpoint.endpoint_config_name, session=session.boto_session)
variant = endpoint_config.production_variants[0]
deployed_model = Model.get(variant.model_name, session=session.boto_session)
summary = {
    "endpoint": endpoint.endpoint_name, "status": endpoint.endpoint_status,
    "endpoint_config": endpoint_config.endpoint_config_name, "model": model.model_name,
    "variant_model": variant.model_name, "instance_type": variant.instance_type,
    "instance_count": variant.initial_instance_count, "image": deployed_model.primary_container.image,
    "model_data": deployed_model.primary_container.model_data_url,
    "training_job_model_data": training_job.model_artifacts.s3_model_artifacts,
    "content_type": response.content_type, "invoked_variant": response.invoked_production_variant,
    "predictions": result,
}

endpoint.delete()
endpoint.wait_for_delete(poll=1, timeout=120)
endpoint_config.delete()
model.delete()


summary.update({
    "endpoint_after_delete": lookup_error_of(Endpoint.get, summary["endpoint"], session.boto_session),
    "endpoint_config_after_delete": lookup_error_of(EndpointConfig.get, summary["endpoint_config"],
                                                    session.boto_session),
    "model_after_delete": lookup_error_of(Model.get, summary["model"], session.boto_session),
})
print(json.dumps(summary))
