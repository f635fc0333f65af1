"""Validation of inputdataconfig.json, as the container's channel validator does it.

Only `train` (required), `validation` and `code` exist. A channel's (ContentType, TrainingInputMode,
S3DistributionType) must match a supported combination as exact strings, so `text/csv;label_size=1` or
`Text/CSV` are refused here even though the inference server accepts them. A channel without ContentType gets
`text/libsvm`. A missing TrainingInputMode is a raw KeyError there, and here.

A channel without S3DistributionType is taken as `FullyReplicated`. The container raises a raw KeyError there
(aws/sagemaker-xgboost-container#155), which makes every job of SageMaker SDK local mode fail: its
inputdataconfig.json never names a distribution. A single-host job reads the whole channel either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .content_types import VALID_CONTENT_TYPES, VALID_PIPED_CONTENT_TYPES
from .errors import UserError

DEFAULT_CONTENT_TYPE = "text/libsvm"
DEFAULT_DISTRIBUTION = "FullyReplicated"

_DISTRIBUTIONS = ("ShardedByS3Key", "FullyReplicated")


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    required: bool
    supported: frozenset[tuple[str, str, str]]


def _data_channel(name: str, required: bool) -> ChannelSpec:
    supported = {(ct, "File", dist) for ct in VALID_CONTENT_TYPES for dist in _DISTRIBUTIONS}
    supported |= {(ct, "Pipe", dist) for ct in VALID_PIPED_CONTENT_TYPES for dist in _DISTRIBUTIONS}
    return ChannelSpec(name, required, frozenset(supported))


CHANNELS = (
    _data_channel("train", required=True),
    _data_channel("validation", required=False),
    # Script mode's source channel.
    ChannelSpec("code", required=False, supported=frozenset({("text/python", "File", "FullyReplicated")})),
)


def validate_channels(config: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check the channels of inputdataconfig.json; returns them with the defaults filled in."""
    for spec in CHANNELS:
        if spec.required and spec.name not in config:
            raise UserError(f"Missing required channel: {spec.name}")

    by_name = {spec.name: spec for spec in CHANNELS}
    validated: dict[str, dict[str, Any]] = {}
    for name, settings in config.items():
        channel_spec = by_name.get(name)
        if channel_spec is None:
            raise UserError(f"Extraneous channel found: {name}")
        channel = dict(settings)
        channel.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
        channel.setdefault("S3DistributionType", DEFAULT_DISTRIBUTION)
        key = (channel["ContentType"], channel["TrainingInputMode"], channel["S3DistributionType"])
        if key not in channel_spec.supported:
            raise UserError(f"Channel configuration for '{name}' channel is not supported: {channel}")
        validated[name] = channel
    return validated
