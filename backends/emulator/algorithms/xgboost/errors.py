"""The container's three exception classes (sagemaker_algorithm_toolkit.exceptions).

Their text is what a failed job shows in FailureReason, so the message format is the container's own:
the message, plus ` (caused by ValueError)` when the error wraps another exception.
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base of the errors that end a training job; carries the container's message text."""

    # The module path the container's traceback prints on its last line; the failure file repeats it.
    container_class_path = "sagemaker_algorithm_toolkit.exceptions.BaseToolkitError"

    def __init__(self, message: str | None = None, caused_by: BaseException | None = None) -> None:
        formatted = _format_message(message, caused_by)
        super().__init__(formatted)
        self.message = formatted
        self.caused_by = caused_by


class UserError(ToolkitError):
    """The job's input is wrong (hyperparameters, channels, data); the user can fix it."""

    container_class_path = "sagemaker_algorithm_toolkit.exceptions.UserError"


class AlgorithmError(ToolkitError):
    """The algorithm failed in a way the user could not prevent (for instance inside XGBoost)."""

    container_class_path = "sagemaker_algorithm_toolkit.exceptions.AlgorithmError"


class PlatformError(ToolkitError):
    """The environment is not what the algorithm needs (hosts, directories)."""

    container_class_path = "sagemaker_algorithm_toolkit.exceptions.PlatformError"


def _format_message(message: str | None, caused_by: BaseException | None) -> str:
    if message:
        text = message
    elif caused_by is not None:
        text = str(getattr(caused_by, "message", caused_by))
    else:
        text = "unknown error occurred"
    if caused_by is not None:
        text += f" (caused by {type(caused_by).__name__})"
    return text
