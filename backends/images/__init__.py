"""Algorithm images of our own: SageMaker's container contract (`train`, `serve` on port 8080) with the project's
XGBoost algorithm and an image version's own XGBoost release, built with no container registry.

`harness images build VERSION` tags each image with the ECR URI that SageMaker SDKs and `image_uri` give for that
version, so unchanged code (SDK local mode, the emulator's Docker runner) finds it in the engine without a pull.
"""

from __future__ import annotations

from .algorithm import BuildStep, ImageBuild, build_algorithm_image
from .base import BASE_REPOSITORY, BaseImageError, ensure_base_image
from .docker_cli import DockerCliError

__all__ = ["BASE_REPOSITORY", "BaseImageError", "BuildStep", "DockerCliError", "ImageBuild", "build_algorithm_image",
           "ensure_base_image"]
