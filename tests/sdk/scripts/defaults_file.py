"""SDK code that names neither bucket nor role: both come from the SDK defaults file.

    python defaults_file.py

Prints one JSON line with the role and bucket the SDK resolved.
"""

import json

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"

try:
    from sagemaker.train import ModelTrainer
except ImportError:  # SDK 2.x
    from sagemaker.estimator import Estimator

    estimator = Estimator(IMAGE, instance_count=1, instance_type="ml.m4.xlarge")
    role, bucket = estimator.role, estimator.sagemaker_session.default_bucket()
else:
    # Also runs the 3.x role check (IAM) on the role it found.
    trainer = ModelTrainer(training_image=IMAGE)
    role, bucket = trainer.role, trainer.sagemaker_session.default_bucket()

print(json.dumps({"role": role, "bucket": bucket}))
