"""`harness.sdk` inside an SDK environment, with no SDK defaults file: the configured Session and the
execution role, then (3.x) the SDK's own IAM role check against the emulator.

    python session_helper.py FILE_TO_UPLOAD

Prints one JSON line with what it found.
"""

import json
import sys

from harness.sdk import execution_role, sagemaker_session

session = sagemaker_session()
role = execution_role()
result = {
    "session": f"{type(session).__module__}.{type(session).__name__}",
    "bucket": session.default_bucket(),
    "upload": session.upload_data(sys.argv[1], key_prefix="harness-sdk-helper"),
    "role": role,
    "telemetry_opt_out": session.sagemaker_config["SageMaker"]["PythonSDK"]["Modules"]["TelemetryOptOut"],
}

try:
    from sagemaker.train import ModelTrainer
except ImportError:  # SDK 2.x: no ModelTrainer, and no role check before a job
    pass
else:
    image = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    # Constructing a ModelTrainer validates the role: iam:SimulatePrincipalPolicy, then GetRole's trust policy.
    ModelTrainer(training_image=image, role=role, sagemaker_session=session)
    result["role_check"] = "passed"
    try:
        ModelTrainer(training_image=image, role="arn:aws:iam::123456789012:role/NotInThisAccount",
                     sagemaker_session=session)
    except Exception as exc:
        result["unknown_role"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

print(json.dumps(result))
