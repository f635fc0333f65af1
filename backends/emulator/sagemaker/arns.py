"""ARNs of SageMaker resources. SageMaker lower-cases the resource name inside its ARNs."""

from __future__ import annotations

from .context import RequestContext


def arn(ctx: RequestContext, resource_type: str, name: str) -> str:
    partition = "aws-cn" if ctx.region.startswith("cn-") else "aws"
    return f"arn:{partition}:sagemaker:{ctx.region}:{ctx.account}:{resource_type}/{name.lower()}"
