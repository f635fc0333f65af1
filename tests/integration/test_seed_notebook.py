"""The seed notebook, cell by cell, offline: only its session, role and image helpers come from `harness`.

Every call and request dict below is the notebook's own (shared/seed/sagemaker-notebook-low-level.md); the
differences are the three imports, `load_boston` from the shipped copy of the data set, a temporary data
directory in place of `../data/boston`, and `session.download_data` in place of the `!aws s3 cp` shell line.
"""

from __future__ import annotations

import os
from pathlib import Path
from time import gmtime, strftime
from typing import Any

import numpy as np
import pandas as pd
import sklearn.model_selection

from backends.emulator.backend import EmulatorBackend
from fixtures.datasets import load_boston
from harness import Session, get_execution_role, get_image_uri


def test_seed_notebook_runs_offline(tmp_path: Path, capsys: Any) -> None:
    backend = EmulatorBackend("us-east-1")
    backend.start()
    try:
        _notebook(tmp_path / "data" / "boston", Session(backend))
    finally:
        backend.stop()
    printed = capsys.readouterr().out
    assert "Training - Training image download completed. Training in progress." in printed
    assert "#011validation-rmse:" in printed
    assert "Billable seconds:" in printed


def _notebook(data_dir_path: Path, session: Session) -> None:
    # --- "Always ensure that in the notebook you get both the execution role ... and create a session"
    role = get_execution_role()

    # --- Preparing the data (the notebook's `boston` object, from the shipped CSV)
    features, target = load_boston()
    X_bos_pd = features
    Y_bos_pd = pd.DataFrame(target)
    X_train, X_test, Y_train, Y_test = sklearn.model_selection.train_test_split(
        X_bos_pd, Y_bos_pd, test_size=0.33)
    X_train, X_val, Y_train, Y_val = sklearn.model_selection.train_test_split(
        X_train, Y_train, test_size=0.33)

    # --- Save the data locally
    data_dir = str(data_dir_path)
    if not os.path.exists(data_dir):
        os.makedirs(data_dir)
    X_test.to_csv(os.path.join(data_dir, 'test.csv'), header=False, index=False)
    pd.concat([Y_val, X_val], axis=1).to_csv(os.path.join(data_dir, 'validation.csv'), header=False, index=False)
    pd.concat([Y_train, X_train], axis=1).to_csv(os.path.join(data_dir, 'train.csv'), header=False, index=False)

    # --- Upload to S3
    prefix = 'boston-xgboost-LL'
    test_location = session.upload_data(os.path.join(data_dir, 'test.csv'), key_prefix=prefix)
    val_location = session.upload_data(os.path.join(data_dir, 'validation.csv'), key_prefix=prefix)
    train_location = session.upload_data(os.path.join(data_dir, 'train.csv'), key_prefix=prefix)

    # --- Set up the training job
    container = get_image_uri(session.boto_region_name, 'xgboost')
    assert container == "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    training_params: dict[str, Any] = {}
    training_params['RoleArn'] = role
    training_params['AlgorithmSpecification'] = {
        "TrainingImage": container,
        "TrainingInputMode": "File"
    }
    training_params['OutputDataConfig'] = {
        "S3OutputPath": "s3://" + session.default_bucket() + "/" + prefix + "/output"
    }
    training_params['ResourceConfig'] = {
        "InstanceCount": 1,
        "InstanceType": "ml.m4.xlarge",
        "VolumeSizeInGB": 5
    }
    training_params['StoppingCondition'] = {
        "MaxRuntimeInSeconds": 86400
    }
    training_params['HyperParameters'] = {
        "max_depth": "5",
        "eta": "0.2",
        "gamma": "4",
        "min_child_weight": "6",
        "subsample": "0.8",
        "objective": "reg:linear",
        "early_stopping_rounds": "10",
        "num_round": "200"
    }
    training_params['InputDataConfig'] = [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": train_location,
                    "S3DataDistributionType": "FullyReplicated"
                }
            },
            "ContentType": "csv",
            "CompressionType": "None"
        },
        {
            "ChannelName": "validation",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": val_location,
                    "S3DataDistributionType": "FullyReplicated"
                }
            },
            "ContentType": "csv",
            "CompressionType": "None"
        }
    ]

    # --- Executing the training job
    training_job_name = "boston-xgboost-" + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    training_params['TrainingJobName'] = training_job_name
    session.sagemaker_client.create_training_job(**training_params)
    session.logs_for_job(training_job_name, wait=True)

    # --- Build the model
    training_job_info = session.sagemaker_client.describe_training_job(TrainingJobName=training_job_name)
    model_artifacts = training_job_info['ModelArtifacts']['S3ModelArtifacts']
    model_name = training_job_name + "-model"
    primary_container = {
        "Image": container,
        "ModelDataUrl": model_artifacts
    }
    session.sagemaker_client.create_model(
        ModelName=model_name,
        ExecutionRoleArn=role,
        PrimaryContainer=primary_container)

    # --- Set up the batch transform job
    transform_job_name = 'boston-xgboost-batch-transform-' + strftime("%Y-%m-%d-%H-%M-%S", gmtime())
    transform_request = {
        "TransformJobName": transform_job_name,
        "ModelName": model_name,
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "TransformOutput": {
            "S3OutputPath": f"s3://{session.default_bucket()}/{prefix}/batch-bransform/"
        },
        "TransformInput": {
            "ContentType": "text/csv",
            "SplitType": "Line",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": test_location,
                }
            }
        },
        "TransformResources": {
            "InstanceType": "ml.m4.xlarge",
            "InstanceCount": 1
        }
    }

    # --- Execute the batch transform job
    session.sagemaker_client.create_transform_job(**transform_request)
    transform_desc = session.wait_for_transform_job(transform_job_name)
    assert transform_desc["TransformJobStatus"] == "Completed"

    # --- Analyze the results: the notebook's `!aws s3 cp --recursive $transform_output $data_dir`, done with
    # the Session's download_data (the AWS CLI against the emulator is covered by the SDK-compatibility tests)
    transform_output = f"s3://{session.default_bucket()}/{prefix}/batch-bransform/"
    bucket, _, key_prefix = transform_output.removeprefix("s3://").partition("/")
    session.download_data(data_dir, bucket, key_prefix)
    Y_pred = pd.read_csv(os.path.join(data_dir, 'test.csv.out'), header=None)
    assert len(Y_pred) == len(Y_test)
    rmse = float(np.sqrt(np.mean((Y_pred[0].to_numpy() - Y_test.to_numpy()[:, 0]) ** 2)))
    assert rmse < 6, rmse

    # --- Optional: clean up (`!rm $data_dir/*` and `!rmdir $data_dir`)
    for name in os.listdir(data_dir):
        os.remove(os.path.join(data_dir, name))
    os.rmdir(data_dir)
    assert not os.path.exists(data_dir)
