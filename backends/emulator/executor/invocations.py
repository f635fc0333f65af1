"""An endpoint invocation as the platform sees it: what the caller sent, and what the container answered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None
    inference_id: str | None = None


@dataclass(frozen=True)
class Answer:
    """The container's answer, and which variant and instance (log stream) gave it."""

    status: int
    body: bytes
    content_type: str | None
    custom_attributes: str | None
    variant: str
    log_stream: str
