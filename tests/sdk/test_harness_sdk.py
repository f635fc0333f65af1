"""`harness.sdk`, the offline helpers for SageMaker SDK code, used the way docs/sdk.md shows: the
`python -m harness.sdk config` command from the project's environment, and the Session helper inside each SDK
major's own environment (the SDKs are not dependencies of the project)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN

from .conftest import REGION, BostonData, run_script, user_env, write_sdk_defaults
from .envs import REPO, SdkEnv

pytestmark = pytest.mark.timeout(1800)  # the first run builds the SDK environments

BUCKET = f"sagemaker-{REGION}-123456789012"


def test_config_command_writes_the_sdk_defaults_file(endpoint: str, tmp_path: Path) -> None:
    written = write_sdk_defaults(user_env(endpoint, tmp_path / "home"))
    assert written == tmp_path / "home" / ".config" / "sagemaker" / "config.yaml"
    # JSON is YAML: the SDKs read this file with their YAML loader.
    config = json.loads(written.read_text())
    assert config["SchemaVersion"] == "1.0"
    assert config["SageMaker"]["PythonSDK"]["Modules"] == {"Session": {"DefaultS3Bucket": BUCKET},
                                                          "TelemetryOptOut": True}
    assert config["SageMaker"]["TrainingJob"] == {"RoleArn": EXECUTION_ROLE_ARN}
    assert config["SageMaker"]["Model"] == {"ExecutionRoleArn": EXECUTION_ROLE_ARN}


@pytest.mark.parametrize("major", ["sdk3", "sdk2"])
def test_session_helper_in_each_sdk(major: str, request: pytest.FixtureRequest, endpoint: str,
                                    boston: BostonData, tmp_path: Path) -> None:
    env: SdkEnv = request.getfixturevalue(f"{major}_env")
    shell = user_env(endpoint, tmp_path / "home", PYTHONPATH=str(REPO))
    run = run_script(env.python, "session_helper.py", [str(boston.directory / "test.csv")], shell)
    found = json.loads(run.output.strip().splitlines()[-1])
    expected_class = ("sagemaker.core.helper.session_helper.Session" if major == "sdk3"
                      else "sagemaker.session.Session")
    assert found["session"] == expected_class
    assert found["bucket"] == BUCKET
    assert found["upload"] == f"s3://{BUCKET}/harness-sdk-helper/test.csv"
    assert found["role"] == EXECUTION_ROLE_ARN
    assert found["telemetry_opt_out"] is True
    if major == "sdk3":
        assert found["role_check"] == "passed"
        # A role the emulator's IAM does not have is refused by the SDK's check, as on AWS.
        assert found["unknown_role"].startswith("RoleValidationError: IAM role "
                                                "'arn:aws:iam::123456789012:role/NotInThisAccount'")


def test_helpers_need_no_sdk_in_the_project(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own environment has no `sagemaker`: the bucket and role helpers work, the Session helper
    says what to install."""
    from harness import sdk

    for name, value in user_env(endpoint, tmp_path / "home").items():
        monkeypatch.setenv(name, value)
    assert sdk.default_bucket_name() == BUCKET
    assert sdk.execution_role() == EXECUTION_ROLE_ARN
    monkeypatch.setenv("HARNESS_ROLE", "arn:aws:iam::123456789012:role/Mine")
    assert sdk.execution_role() == "arn:aws:iam::123456789012:role/Mine"
    if importlib.util.find_spec("sagemaker") is None:
        with pytest.raises(ImportError, match="pip install sagemaker"):
            sdk.sagemaker_session()


@pytest.mark.parametrize("major", ["sdk3", "sdk2"])
def test_defaults_file_supplies_bucket_and_role(major: str, request: pytest.FixtureRequest, endpoint: str,
                                                tmp_path: Path) -> None:
    env: SdkEnv = request.getfixturevalue(f"{major}_env")
    shell = user_env(endpoint, tmp_path / "home")
    write_sdk_defaults(shell)
    run = run_script(env.python, "defaults_file.py", [], shell)
    assert json.loads(run.output.strip().splitlines()[-1]) == {"role": EXECUTION_ROLE_ARN, "bucket": BUCKET}
