"""The reference workflow's model on a real-time endpoint, in plain boto3, as the seed notebook's low-level
deploy version does it: an endpoint configuration, an endpoint, one InvokeEndpoint with all the test rows,
then delete. It waits with boto3's own waiters, `endpoint_in_service` and `endpoint_deleted`, given a short
`Delay` (their default is 30 s between polls).

    python endpoint_boto3.py DATA_DIR MODEL_NAME

Nothing here names the emulator. Prints one JSON line describing what it did and what it was answered.
"""

import json
import os
import sys
from time import gmtime, strftime

import boto3
from aws_errors import error_of

data_dir, model_name = sys.argv[1:3]
sagemaker, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
fast = {"Delay": 1, "MaxAttempts": 120}

endpoint_config_name = "boston-xgboost-endpoint-config-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
sagemaker.create_endpoint_config(
    EndpointConfigName=endpoint_config_name,
    ProductionVariants=[{"InstanceType": "ml.m5.large", "InitialVariantWeight": 1, "InitialInstanceCount": 1,
                         "ModelName": model_name, "VariantName": "AllTraffic"}])

endpoint_name = "boston-xgboost-endpoint-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=endpoint_config_name)
sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name, WaiterConfig=fast)
described = sagemaker.describe_endpoint(EndpointName=endpoint_name)

with open(os.path.join(data_dir, "test.csv")) as f:
    payload = f.read()
response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv", Body=payload)
result = response["Body"].read().decode("utf-8")

sagemaker.delete_endpoint(EndpointName=endpoint_name)
sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=endpoint_name, WaiterConfig=fast)
sagemaker.delete_endpoint_config(EndpointConfigName=endpoint_config_name)


print(json.dumps({
    "endpoint": endpoint_name, "endpoint_config": endpoint_config_name, "model": model_name,
    "status": described["EndpointStatus"], "described_config": described["EndpointConfigName"],
    "variants": [{"name": v["VariantName"], "instances": v.get("CurrentInstanceCount"),
                  "weight": v.get("CurrentWeight")} for v in described.get("ProductionVariants", [])],
    "content_type": response["ContentType"], "invoked_variant": response["InvokedProductionVariant"],
    "predictions": result,
    "describe_after_delete": error_of(sagemaker.describe_endpoint, EndpointName=endpoint_name),
    "invoke_after_delete": error_of(runtime.invoke_endpoint, EndpointName=endpoint_name, ContentType="text/csv",
                                    Body=payload),
    "describe_config_after_delete": error_of(sagemaker.describe_endpoint_config,
                                             EndpointConfigName=endpoint_config_name),
}))
