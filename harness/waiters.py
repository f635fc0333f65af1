"""Waiting for jobs while following their CloudWatch logs (ours, not the SDK's: SDK 3.x dropped them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
TERMINAL = ("Completed", "Failed", "Stopped")
_UNSEEN = object()


class JobFailed(Exception):
    """A job ended Failed (or Stopped when that was not asked for); `description` is its last Describe."""

    def __init__(self, kind: str, name: str, description: dict[str, Any]) -> None:
        status = (description.get("TrainingJobStatus") or description.get("TransformJobStatus")
                  or description.get("EndpointStatus") or description.get("HyperParameterTuningJobStatus"))
        reason = description.get("FailureReason", "no reason given")
        noun = kind if kind == "Endpoint" else f"{kind} job"
        super().__init__(f"{noun} {name} ended {status}: {reason}")
        self.description = description


class LogFollower:
    """Yields the new events of every stream a job writes (`<job>/...`) in a log group."""

    def __init__(self, logs: Any, group: str, job_name: str) -> None:
        self.logs = logs
        self.group = group
        self.prefix = f"{job_name}/"
        self._tokens: dict[str, str | None] = {}

    def poll(self) -> list[str]:
        messages: list[str] = []
        for stream in self._streams():
            token = self._tokens.get(stream)
            while True:
                kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": stream,
                                          "startFromHead": True}
                if token:
                    kwargs["nextToken"] = token
                response = self.logs.get_log_events(**kwargs)
                messages.extend(event["message"] for event in response["events"])
                next_token = response.get("nextForwardToken")
                # The end of a stream is the token that no longer changes.
                if not response["events"] or next_token == token:
                    token = next_token
                    break
                token = next_token
            self._tokens[stream] = token
        return messages

    def _streams(self) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamNamePrefix": self.prefix}
        try:
            while True:
                response = self.logs.describe_log_streams(**kwargs)
                names.extend(stream["logStreamName"] for stream in response.get("logStreams", []))
                if not response.get("nextToken"):
                    return names
                kwargs["nextToken"] = response["nextToken"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return names  # the job has not logged anything yet
            raise


def wait_for_training_job(sagemaker: Any, logs: Any, name: str, poll_seconds: float,
                          on_log: Callable[[str], None] | None = None,
                          on_status: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll until the training job ends, passing log lines and status changes along; returns its Describe."""
    return _wait(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus",
                 LogFollower(logs, TRAINING_LOG_GROUP, name) if logs is not None else None,
                 poll_seconds, on_log, on_status, status_key="SecondaryStatus")


def wait_for_transform_job(sagemaker: Any, logs: Any, name: str, poll_seconds: float,
                           on_log: Callable[[str], None] | None = None,
                           on_status: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    return _wait(lambda: sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus",
                 LogFollower(logs, TRANSFORM_LOG_GROUP, name) if logs is not None else None,
                 poll_seconds, on_log, on_status, status_key="TransformJobStatus")


def _wait(describe: Callable[[], dict[str, Any]], primary: str, follower: LogFollower | None,
          poll_seconds: float, on_log: Callable[[str], None] | None,
          on_status: Callable[[dict[str, Any]], None] | None, status_key: str) -> dict[str, Any]:
    seen: object = _UNSEEN  # not None: SDK local mode's Describe has no SecondaryStatus, and that is news too
    while True:
        description = describe()
        done = description[primary] in TERMINAL
        # Log lines first: they were written before the status they led to.
        if follower is not None:
            for line in follower.poll():
                if on_log is not None:
                    on_log(line)
        if on_status is not None and description.get(status_key) != seen:
            seen = description.get(status_key)
            on_status(description)
        if done:
            return description
        time.sleep(poll_seconds)


ENDPOINT_CHANGING = ("Creating", "Updating", "SystemUpdating", "RollingBack")


def wait_for_endpoint(sagemaker: Any, name: str, poll_seconds: float,
                      on_status: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll until the endpoint is no longer being created or updated; returns its Describe (InService, Failed...)."""
    seen: object = _UNSEEN
    while True:
        description: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if on_status is not None and description["EndpointStatus"] != seen:
            seen = description["EndpointStatus"]
            on_status(description)
        if description["EndpointStatus"] not in ENDPOINT_CHANGING:
            return description
        time.sleep(poll_seconds)


def wait_for_tuning_job(sagemaker: Any, name: str, poll_seconds: float,
                        on_status: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll until the tuning job ends; `on_status` gets every Describe (its counters change as children end)."""
    while True:
        description: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name)
        if on_status is not None:
            on_status(description)
        if description["HyperParameterTuningJobStatus"] in TERMINAL:
            return description
        time.sleep(poll_seconds)
