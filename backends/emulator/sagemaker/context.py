"""Who is asking, and where: what every operation needs besides its parameters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_ACCOUNT = "123456789012"  # moto's default account, so ARNs agree with its STS (LocalStack says 000000000000)
# The SageMaker execution role the emulator's account comes with (created in its IAM at start-up).
EXECUTION_ROLE_NAME = "AmazonSageMaker-ExecutionRole-harness"
EXECUTION_ROLE_PATH = "/service-role/"
EXECUTION_ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role{EXECUTION_ROLE_PATH}{EXECUTION_ROLE_NAME}"


@dataclass(frozen=True)
class RequestContext:
    region: str
    account: str = DEFAULT_ACCOUNT
    received: float = field(default_factory=time.time)
