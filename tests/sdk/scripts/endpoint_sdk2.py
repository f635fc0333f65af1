"""A finished training job's model on a real-time endpoint with the SageMaker Python SDK 2.x, as the seed
notebook's high-level deploy version does it: `Estimator.attach(...).deploy()`, `Predictor.predict()` with a CSV
serializer on all the test rows, then `delete_model()` and `delete_endpoint()`.

    python endpoint_sdk2.py DATA_DIR TRAINING_JOB_NAME

Nothing here names the emulator. Offline it needs AWS_ENDPOINT_URL and the SDK defaults file that
`python -m harness.sdk config` writes. Prints one JSON line describing what it did and what it was answered.
"""

import json
import os
import sys
import time

import pandas as pd
import sagemaker
from aws_errors import error_of
from botocore.exceptions import ClientError
from sagemaker.estimator import Estimator
from sagemaker.serializers import CSVSerializer

data_dir, training_job_name = sys.argv[1:3]

session = sagemaker.Session()
xgb = Estimator.attach(training_job_name, sagemaker_session=session)
xgb_predictor = xgb.deploy(initial_instance_count=1, instance_type="ml.m5.large")

xgb_predictor.serializer = CSVSerializer()
X_test = pd.read_csv(os.path.join(data_dir, "test.csv"), header=None)
Y_pred = xgb_predictor.predict(X_test.values).decode("utf-8")

endpoint_name = xgb_predictor.endpoint_name
described = session.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)
config = session.sagemaker_client.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
model_name = config["ProductionVariants"][0]["ModelName"]
model_data = session.sagemaker_client.describe_model(ModelName=model_name)["PrimaryContainer"]["ModelDataUrl"]

xgb_predictor.delete_model()
xgb_predictor.delete_endpoint()


# DeleteEndpoint returns at once; the endpoint is `Deleting` until its instances are gone.
statuses_while_deleting = []
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        statuses_while_deleting.append(session.sagemaker_client.describe_endpoint(EndpointName=endpoint_name)
                                       ["EndpointStatus"])
    except ClientError:
        break
    time.sleep(0.2)

print()
print(json.dumps({
    "endpoint": endpoint_name, "status": described["EndpointStatus"], "endpoint_config": config["EndpointConfigName"],
    "model": model_name, "model_data": model_data, "training_job_model_data": xgb.model_data,
    "instance_type": config["ProductionVariants"][0]["InstanceType"], "predictions": Y_pred,
    "statuses_while_deleting": sorted(set(statuses_while_deleting)),
    "describe_after_delete": error_of(session.sagemaker_client.describe_endpoint, EndpointName=endpoint_name),
    "describe_config_after_delete": error_of(session.sagemaker_client.describe_endpoint_config,
                                             EndpointConfigName=config["EndpointConfigName"]),
    "describe_model_after_delete": error_of(session.sagemaker_client.describe_model, ModelName=model_name),
}))
