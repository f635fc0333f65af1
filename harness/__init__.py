"""sagemaker-harness: SageMaker's training -> model -> batch-transform workflow, offline or in the cloud."""

from .session import Session, get_execution_role, get_image_uri

__all__ = ["Session", "get_execution_role", "get_image_uri"]
