"""The one error the batch-transform data plane raises.

Its message is shown to the user as the job's `FailureReason` after a `ClientError: ` prefix, so every message
says which input object, which record or batch, and which sizes or settings are involved.
"""

from __future__ import annotations


class TransformError(Exception):
    """A transform of one input object failed for a reason the user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
