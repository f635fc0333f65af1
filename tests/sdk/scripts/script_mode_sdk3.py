"""Script mode with the SageMaker Python SDK 3.x: `ModelTrainer` with a `SourceCode` (source directory, entry
script, requirements) on the SKLearn image, as its examples write it.

    python script_mode_sdk3.py DATA_DIR SOURCE_DIR OUT_DIR ROLE_ARN

Nothing here names the emulator. Prints one JSON line describing what it did.
"""

import json
import logging
import os
import sys

from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.s3 import S3Downloader
from sagemaker.core.training.configs import Compute, InputData, SourceCode
from sagemaker.train import ModelTrainer

logging.basicConfig(level=logging.INFO, format="%(message)s")
for noisy in ("botocore", "sagemaker.config"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

data_dir, source_dir, out_dir, role = sys.argv[1:5]
prefix = "boston-sklearn-sdk3"

session = Session()
train_location = session.upload_data(os.path.join(data_dir, "train.csv"), key_prefix=f"{prefix}/train")
val_location = session.upload_data(os.path.join(data_dir, "validation.csv"), key_prefix=f"{prefix}/validation")

image = image_uris.retrieve("sklearn", region=session.boto_region_name, version="1.2-1")
trainer = ModelTrainer(
    training_image=image, role=role, sagemaker_session=session, base_job_name="boston-sklearn",
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    source_code=SourceCode(source_dir=source_dir, entry_script="train.py", requirements="requirements.txt"),
    hyperparameters={"n_estimators": 120, "learning_rate": 0.1},
)
trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_location),
                                 InputData(channel_name="validation", data_source=val_location)],
              wait=True, logs=True)
job = trainer._latest_training_job
S3Downloader.download(job.model_artifacts.s3_model_artifacts, os.path.join(out_dir, "model"),
                      sagemaker_session=session)
print()
print(json.dumps({"training_job": job.training_job_name, "training_status": job.training_job_status,
                  "entrypoint": job.algorithm_specification.container_entrypoint,
                  "hyperparameters": job.hyper_parameters,
                  "channels": sorted(channel.channel_name for channel in job.input_data_config)}, default=str))
