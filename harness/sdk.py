"""The SageMaker Python SDK (2.x or 3.x) on the emulator, offline, with the code unchanged.

`AWS_ENDPOINT_URL` sends every AWS client the SDK creates to the emulator, with one exception: to learn the
account (for the default bucket `sagemaker-{region}-{account}`, and in `get_execution_role()`), both SDK
majors build their STS client with an explicit `https://sts.{region}.amazonaws.com`, and an explicit endpoint
wins over `AWS_ENDPOINT_URL`. Offline, that call fails. Everything else works once the SDK does not need it,
which this module arranges in one of two ways:

- `write_sdk_config()` (or `python -m harness.sdk config`) writes the SDK's own defaults file
  (`~/.config/sagemaker/config.yaml`, read by both majors) with the default bucket, the execution role for
  training jobs and models, and telemetry off. Code that says `Session()`, `session.default_bucket()` and omits
  `role=` then runs unchanged.
- `sagemaker_session()` builds the SDK's `Session` with the default bucket passed in, and `execution_role()`
  stands in for `get_execution_role()`. Both learn the account from STS through the configured endpoint, so
  they give the same answers in the cloud as the SDK would there.

`sagemaker` is imported only inside `sagemaker_session()`: the project does not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from backends.emulator.sagemaker.context import EXECUTION_ROLE_ARN, EXECUTION_ROLE_NAME

# What the SDKs call the user's defaults file; both majors read it (SAGEMAKER_USER_CONFIG_OVERRIDE moves it).
USER_CONFIG = Path("~/.config/sagemaker/config.yaml")
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER")


def default_bucket_name(boto_session: Any = None, endpoint_url: str | None = None) -> str:
    """`sagemaker-{region}-{account}`, the SDK's default bucket, with the account asked of STS through the
    configured endpoint (the emulator's, or AWS's when none is configured)."""
    session = boto_session or boto3.session.Session()
    region = _region(session)
    account = session.client("sts", region_name=region, endpoint_url=endpoint_url).get_caller_identity()["Account"]
    return f"sagemaker-{region}-{account}"


def execution_role(boto_session: Any = None, endpoint_url: str | None = None) -> str:
    """The role jobs run with, where the SDK's `get_execution_role()` cannot reach STS.

    `$HARNESS_ROLE` if set; else the caller's own role when it is one (as `get_execution_role()` answers on
    AWS); else the emulator's execution role when the IAM behind the endpoint has it."""
    configured = os.environ.get("HARNESS_ROLE")
    if configured:
        return configured
    session = boto_session or boto3.session.Session()
    region = _region(session)
    caller = session.client("sts", region_name=region, endpoint_url=endpoint_url).get_caller_identity()["Arn"]
    partition, account = caller.split(":")[1], caller.split(":")[4]
    iam = session.client("iam", region_name=region, endpoint_url=endpoint_url)
    if ":assumed-role/" in caller:
        # arn:aws:sts::<account>:assumed-role/<role>/<session> omits the role's path; IAM knows it.
        name = caller.split("/")[1]
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except ClientError:
            return f"arn:{partition}:iam::{account}:role/{name}"
    if ":role/" in caller:
        return str(caller)
    try:
        return str(iam.get_role(RoleName=EXECUTION_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        raise ValueError(
            f"{caller} is not a role and {EXECUTION_ROLE_ARN} does not exist here: pass the role ARN jobs "
            "should run with (or set HARNESS_ROLE)"
        ) from None


def sdk_config(bucket: str, role: str | None = None, telemetry: bool = False) -> dict[str, Any]:
    """The SDK defaults document (schema 1.0) that makes `Session()` and role-less calls work offline."""
    modules: dict[str, Any] = {"Session": {"DefaultS3Bucket": bucket}, "TelemetryOptOut": not telemetry}
    document: dict[str, Any] = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": modules}}}
    if role:
        document["SageMaker"]["TrainingJob"] = {"RoleArn": role}
        document["SageMaker"]["Model"] = {"ExecutionRoleArn": role}
    return document


def write_sdk_config(path: Path | str | None = None, bucket: str | None = None, role: str | None = None,
                     telemetry: bool = False, endpoint_url: str | None = None) -> Path:
    """Write the SDK defaults file (default: `~/.config/sagemaker/config.yaml`); missing values are asked of
    the endpoint. JSON is YAML, so the file needs no YAML library to write."""
    target = Path(path).expanduser() if path else USER_CONFIG.expanduser()
    if target.is_dir():  # SAGEMAKER_USER_CONFIG_OVERRIDE may name a directory: the SDKs read config.yaml in it
        target = target / "config.yaml"
    bucket = bucket or default_bucket_name(endpoint_url=endpoint_url)
    role = role or execution_role(endpoint_url=endpoint_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(sdk_config(bucket, role, telemetry), indent=2) + "\n")
    return target


def sagemaker_session(boto_session: Any = None, bucket: str | None = None, telemetry: bool | None = None,
                      **session_options: Any) -> Any:
    """The installed SDK's `Session` (3.x or 2.x), configured so that it never needs the explicit STS endpoint.

    Telemetry (an HTTPS request to an AWS host after SDK calls) is off when an endpoint is configured, that is
    when the SDK talks to the emulator, unless `telemetry=True`; in the cloud the user's own setting applies.
    """
    session_class, load_config = _sdk()
    boto_session = boto_session or boto3.session.Session()
    bucket = bucket or default_bucket_name(boto_session)
    if telemetry is None:
        telemetry = not any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)
    if not telemetry and "sagemaker_config" not in session_options:
        # Keep whatever the user's defaults files say, and opt out of telemetry on top.
        config = load_config() or {}
        modules = config.setdefault("SageMaker", {}).setdefault("PythonSDK", {}).setdefault("Modules", {})
        modules["TelemetryOptOut"] = True
        config.setdefault("SchemaVersion", "1.0")
        session_options["sagemaker_config"] = config
    return session_class(boto_session=boto_session, default_bucket=bucket, **session_options)


def _sdk() -> tuple[Any, Any]:
    """The Session class and config loader of whichever SDK major is installed."""
    for loader in (_sdk3, _sdk2):
        try:
            return loader()
        except ImportError:
            continue
    raise ImportError("the SageMaker Python SDK is not installed: pip install sagemaker")


def _sdk3() -> tuple[Any, Any]:
    from sagemaker.core.config import load_sagemaker_config
    from sagemaker.core.helper.session_helper import Session

    return Session, load_sagemaker_config


def _sdk2() -> tuple[Any, Any]:
    from sagemaker.config import load_sagemaker_config
    from sagemaker.session import Session

    return Session, load_sagemaker_config


def _region(session: Any) -> str:
    region = session.region_name
    if not region:
        raise ValueError("no AWS region configured: set AWS_DEFAULT_REGION (or AWS_REGION)")
    return str(region)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.sdk",
                                     description="Make SageMaker SDK code run against the emulator unchanged.")
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("config", help="write the SDK defaults file (default bucket, role, no telemetry)")
    config.add_argument("--path", default=None,
                        help=f"where to write it (default: $SAGEMAKER_USER_CONFIG_OVERRIDE, else {USER_CONFIG})")
    config.add_argument("--bucket", default=None, help="default bucket (default: sagemaker-{region}-{account})")
    config.add_argument("--role", default=None, help="execution role ARN (default: the emulator's)")
    config.add_argument("--endpoint-url", default=None, help="endpoint to ask (default: $AWS_ENDPOINT_URL)")
    args = parser.parse_args(argv)
    path = args.path or os.environ.get("SAGEMAKER_USER_CONFIG_OVERRIDE")
    try:
        written = write_sdk_config(path, bucket=args.bucket, role=args.role, endpoint_url=args.endpoint_url)
    except (BotoCoreError, ClientError, ValueError) as exc:
        print(f"python -m harness.sdk: {exc}", file=sys.stderr)
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
