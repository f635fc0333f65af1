"""A child training job's objective at each epoch, read from its CloudWatch log as it runs.

SageMaker takes a tuning job's intermediate objective from the metric the child emits: each match of the
objective's metric definition (a regular expression over the log, where a tab shows as `#011`) is one epoch, a
boosting round for XGBoost. The tuner's early stopping and Hyperband read them here, from the log stream the
child's log shipper writes (`<job>/algo-1-<epoch>` in `/aws/sagemaker/TrainingJobs`), a page at a time.
"""

from __future__ import annotations

from typing import Any

import regex
from botocore.exceptions import ClientError

from .training import LOG_GROUP


class ObjectiveSeries:
    def __init__(self, logs: Any, pattern: str) -> None:
        self.logs = logs
        try:
            self.pattern: regex.Pattern[str] | None = regex.compile(pattern)
        except regex.error:
            self.pattern = None  # a regex that does not compile matches nothing, as in SageMaker
        self._streams: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    def read(self, child: str) -> list[float]:
        """The child's objective values logged since the last read, in order."""
        if self.pattern is None:
            return []
        stream = self._streams.get(child) or self._find_stream(child)
        if stream is None:
            return []
        values: list[float] = []
        while True:
            kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
            if child in self._tokens:
                kwargs["nextToken"] = self._tokens[child]
            page = self.logs.get_log_events(**kwargs)
            for event in page.get("events", []):
                match = self.pattern.search(event["message"])
                if match and match.groups():
                    try:
                        values.append(float(match.group(1)))
                    except ValueError:
                        continue
            token = page.get("nextForwardToken")
            if not token or token == self._tokens.get(child) or not page.get("events"):
                if token:
                    self._tokens[child] = token
                return values
            self._tokens[child] = token

    def _find_stream(self, child: str) -> str | None:
        try:
            streams = self.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{child}/")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None  # no job has logged yet
            raise
        names = [stream["logStreamName"] for stream in streams.get("logStreams", [])]
        if not names:
            return None
        self._streams[child] = names[0]
        return names[0]
