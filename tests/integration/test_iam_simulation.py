"""IAM behind the gateway with the embedded moto: the policy simulator the SageMaker SDK 3.x calls before a
training job, and the execution role the emulator's account comes with. (With `--upstream`, IAM is the
upstream's own.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN, EXECUTION_ROLE_NAME
from backends.emulator.server import Emulator, EmulatorConfig
from tests.conftest import make_client

# What ModelTrainer asks before every training job (sagemaker.core.helper.iam_role_resolver).
TRAINING_ACTIONS = ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "ec2:CreateNetworkInterface"]


@pytest.fixture(scope="module")
def iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    state: Path = tmp_path_factory.mktemp("iam-state")
    with Emulator(EmulatorConfig(state_dir=state, persist_services=False)) as emulator:
        yield make_client("iam", emulator.endpoint_url)


def test_the_account_has_a_sagemaker_execution_role(iam: Any) -> None:
    role = iam.get_role(RoleName=EXECUTION_ROLE_NAME)["Role"]
    assert role["Arn"] == EXECUTION_ROLE_ARN
    trust = role["AssumeRolePolicyDocument"]
    statements = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"]
    assert {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole"} in statements


def test_every_action_is_allowed_for_an_existing_role(iam: Any) -> None:
    answer = iam.simulate_principal_policy(PolicySourceArn=EXECUTION_ROLE_ARN, ActionNames=TRAINING_ACTIONS)
    assert answer["IsTruncated"] is False
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in answer["EvaluationResults"]] \
        == [(action, "*", "allowed") for action in TRAINING_ACTIONS]


def test_resources_are_evaluated_each(iam: Any) -> None:
    resources = ["arn:aws:s3:::bucket-a/*", "arn:aws:s3:::bucket-b/*"]
    answer = iam.simulate_principal_policy(PolicySourceArn=EXECUTION_ROLE_ARN, ActionNames=["s3:PutObject"],
                                           ResourceArns=resources)
    (result,) = answer["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert [r["EvalResourceName"] for r in result["ResourceSpecificResults"]] == resources


def test_a_role_created_through_the_endpoint_is_known(iam: Any) -> None:
    arn = iam.create_role(RoleName="MyOwnSageMakerRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"])
    assert answer["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_an_unknown_principal_is_no_such_entity(iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/Nobody",
                                      ActionNames=["s3:GetObject"])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("NoSuchEntity", "The role with name Nobody cannot be found.")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_constraints_come_from_the_service_model(iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn=EXECUTION_ROLE_ARN, ActionNames=["s3:GetObject"],
                                      MaxItems=5000)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == ("1 validation error detected: Value '5000' at 'maxItems' failed to satisfy "
                                "constraint: Member must have value less than or equal to 1000")


def test_a_malformed_principal_arn_is_invalid_input(iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:s3:::not-a-principal", ActionNames=["s3:GetObject"])
    assert caught.value.response["Error"]["Code"] == "InvalidInput"


def test_other_iam_calls_still_reach_moto(iam: Any) -> None:
    names = [role["RoleName"] for role in iam.list_roles()["Roles"]]
    assert EXECUTION_ROLE_NAME in names


def test_nested_query_members_are_read(iam: Any) -> None:
    # Lists of structures holding lists (ContextEntries.member.1.ContextKeyValues.member.1) decode and validate.
    answer = iam.simulate_principal_policy(
        PolicySourceArn=EXECUTION_ROLE_ARN, ActionNames=["s3:GetObject"],
        ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["a", "b"],
                         "ContextKeyType": "stringList"}])
    assert answer["EvaluationResults"][0]["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(
            PolicySourceArn=EXECUTION_ROLE_ARN, ActionNames=["s3:GetObject"],
            ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["a"], "ContextKeyType": "bogus"}])
    assert "at 'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum" \
        in caught.value.response["Error"]["Message"]


def test_the_same_behind_an_upstream(emulator: Emulator) -> None:
    """With moto or LocalStack behind the gateway (the shared fixture runs both), the SDK's role check sees the
    same answers: the execution role exists and trusts SageMaker, its actions are allowed, a stranger is not."""
    iam = make_client("iam", emulator.endpoint_url)
    role = iam.get_role(RoleName=EXECUTION_ROLE_NAME)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    statement = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"][0]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    answer = iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=TRAINING_ACTIONS)
    assert {result["EvalDecision"] for result in answer["EvaluationResults"]} == {"allowed"}
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:role/Stranger",
                                      ActionNames=TRAINING_ACTIONS)
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
