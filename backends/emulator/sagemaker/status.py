"""The training job status machine: primary status, secondary status and its transitions.

SageMaker reports a coarse `TrainingJobStatus` and a finer `SecondaryStatus`; every change of the latter
appends to `SecondaryStatusTransitions` (closing the previous entry with an `EndTime`). The SageMaker SDK 2.x
prints `<time> <Status> - <StatusMessage>` from these and indexes `StatusMessage` unconditionally, so every
entry carries one.
"""

from __future__ import annotations

from typing import Any

# The messages real jobs show for each step.
STARTING = "Starting the training job"
PREPARING = "Preparing the instances for training"
DOWNLOADING = "Downloading input data"
TRAINING = "Training image download completed. Training in progress."
UPLOADING = "Uploading generated training model"
COMPLETED = "Training job completed"
FAILED = "Training job failed"
STOPPING = "Stopping the training job"
STOPPED = "Training job stopped"
MAX_RUNTIME = "Training job stopped because it exceeded MaxRuntimeInSeconds"

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
PRIMARY_FOR_SECONDARY = {
    "Starting": "InProgress",
    "Downloading": "InProgress",
    "Training": "InProgress",
    "Uploading": "InProgress",
    "Stopping": "Stopping",
    "Completed": "Completed",
    "Failed": "Failed",
    "Stopped": "Stopped",
    "MaxRuntimeExceeded": "Stopped",
}


def advance(job: dict[str, Any], secondary: str, message: str, now: float) -> None:
    """Move `job` to `secondary` (and the primary status that goes with it)."""
    transitions: list[dict[str, Any]] = job.setdefault("SecondaryStatusTransitions", [])
    last = transitions[-1] if transitions else None
    if last is not None and last["Status"] == secondary:
        last["StatusMessage"] = message
    else:
        if last is not None:
            last.setdefault("EndTime", now)
        transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
    primary = PRIMARY_FOR_SECONDARY[secondary]
    if primary in TERMINAL:
        transitions[-1].setdefault("EndTime", now)
    job["SecondaryStatus"] = secondary
    job["TrainingJobStatus"] = primary
    job["LastModifiedTime"] = now


def is_terminal(job: dict[str, Any]) -> bool:
    return job["TrainingJobStatus"] in TERMINAL
