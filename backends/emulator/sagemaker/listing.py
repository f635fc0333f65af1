"""Filtering, sorting and `NextToken` pagination shared by the List* operations."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import ValidationException

Document = dict[str, Any]


@dataclass(frozen=True)
class ListSpec:
    """How one List* operation names things: its name member, status member and defaults."""

    name_key: str
    status_key: str | None
    default_sort_order: str
    default_max_results: int = 10


def list_page(documents: Sequence[Document], params: dict[str, Any], spec: ListSpec,
              summarize: Callable[[Document], Document]) -> tuple[list[Document], str | None]:
    """The page of summaries `params` asks for, and the token of the next page (None on the last)."""
    selected = [doc for doc in documents if _matches(doc, params, spec)]
    sort_by = params.get("SortBy", "CreationTime")
    descending = params.get("SortOrder", spec.default_sort_order) == "Descending"
    selected.sort(key=lambda doc: _sort_key(doc, sort_by, spec), reverse=descending)

    query = _fingerprint(params)
    start = _decode_token(params.get("NextToken"), query)
    limit = params.get("MaxResults") or spec.default_max_results
    page = selected[start:start + limit]
    end = start + len(page)
    next_token = _encode_token(end, query) if end < len(selected) else None
    return [summarize(doc) for doc in page], next_token


def _matches(doc: Document, params: dict[str, Any], spec: ListSpec) -> bool:
    contains = params.get("NameContains")
    if contains and contains.lower() not in doc[spec.name_key].lower():
        return False
    status = params.get("StatusEquals")
    if status and spec.status_key and doc.get(spec.status_key) != status:
        return False
    for member, field_name, after in (
        ("CreationTimeAfter", "CreationTime", True),
        ("CreationTimeBefore", "CreationTime", False),
        ("LastModifiedTimeAfter", "LastModifiedTime", True),
        ("LastModifiedTimeBefore", "LastModifiedTime", False),
    ):
        bound = params.get(member)
        if bound is None:
            continue
        value = float(doc.get(field_name) or doc["CreationTime"])
        limit = _epoch(bound)
        if (after and not value > limit) or (not after and not value < limit):
            return False
    return True


def _sort_key(doc: Document, sort_by: str, spec: ListSpec) -> tuple[Any, ...]:
    if sort_by == "Name":
        return (doc[spec.name_key].lower(),)
    if sort_by == "Status" and spec.status_key:
        return (doc.get(spec.status_key, ""), doc["CreationTime"])
    return (doc["CreationTime"], doc[spec.name_key].lower())


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValidationException(f"Invalid timestamp value '{value}'.") from None


def _fingerprint(params: dict[str, Any]) -> str:
    """A token is only valid for the query that produced it, as in AWS."""
    query = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _encode_token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": query}).encode()).decode()


def _decode_token(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(decoded["o"])
        if decoded["q"] != query or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ValidationException("The pagination token is invalid or does not match this request.") from None
    return offset
