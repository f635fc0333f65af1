"""Filtering, sorting and `NextToken` pagination shared by the List* operations.

A page is cut from the resources that pass the operation's filters, sorted; a `NextToken` comes back while
resources remain after the cut. Filters an operation documents as applied after the cut (`filtered_after_cut`)
then narrow the page itself, so a page can hold fewer than `MaxResults` summaries, or none, and still have a
token. Each operation declares its own rules in its `ListSpec`.
"""

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

FILTERS = ("NameContains", "StatusEquals", "CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter",
           "LastModifiedTimeBefore")
_TIME_FILTERS = {  # member: (document field, whether it is a lower bound)
    "CreationTimeAfter": ("CreationTime", True),
    "CreationTimeBefore": ("CreationTime", False),
    "LastModifiedTimeAfter": ("LastModifiedTime", True),
    "LastModifiedTimeBefore": ("LastModifiedTime", False),
}


@dataclass(frozen=True)
class ListSpec:
    """How one List* operation names things, its defaults, and how its filters meet the page cut.

    What botocore's service model documents, as the operations declare it: ListEndpoints and ListEndpointConfigs
    sort Descending by default and take CreationTimeAfter as "greater than or equal to"
    (creation_time_after_inclusive); ListHyperParameterTuningJobs sorts by Name, Ascending ("The default is
    Name"). None of the three says a filter applies after the MaxResults cut."""

    name_key: str
    status_key: str | None
    default_sort_order: str
    default_max_results: int = 10
    default_sort_by: str = "CreationTime"
    # Filter members applied to the page after it is cut to MaxResults, where the operation's documentation says
    # so (ListTrainingJobs: StatusEquals); every other filter narrows the resources before the cut.
    filtered_after_cut: frozenset[str] = frozenset()
    # CreationTimeAfter as ">=" where documented ("with a creation time greater than or equal to the specified
    # time": ListModels, ListEndpoints, ListEndpointConfigs); otherwise "created after", ">".
    creation_time_after_inclusive: bool = False
    # SortBy values beyond Name, CreationTime and Status, and the document field each sorts on
    # (ListTrainingJobsForHyperParameterTuningJob: FinalObjectiveMetricValue).
    extra_sort_keys: tuple[tuple[str, str], ...] = ()


def list_page(documents: Sequence[Document], params: dict[str, Any], spec: ListSpec,
              summarize: Callable[[Document], Document]) -> tuple[list[Document], str | None]:
    """The page of summaries `params` asks for, and the token of the next page (None on the last)."""
    given = [member for member in FILTERS if params.get(member) not in (None, "")]
    bounds = {member: _epoch(params[member]) for member in given if member in _TIME_FILTERS}
    before_cut = [member for member in given if member not in spec.filtered_after_cut]
    after_cut = [member for member in given if member in spec.filtered_after_cut]
    selected = [doc for doc in documents if _matches(doc, params, bounds, spec, before_cut)]
    sort_by = params.get("SortBy", spec.default_sort_by)
    descending = params.get("SortOrder", spec.default_sort_order) == "Descending"
    selected.sort(key=lambda doc: _sort_key(doc, sort_by, spec), reverse=descending)

    query = _fingerprint(params)
    start = _decode_token(params.get("NextToken"), query)
    limit = params.get("MaxResults") or spec.default_max_results
    page = selected[start:start + limit]
    end = start + len(page)
    next_token = _encode_token(end, query) if end < len(selected) else None
    shown = [doc for doc in page if _matches(doc, params, bounds, spec, after_cut)]
    return [summarize(doc) for doc in shown], next_token


def _matches(doc: Document, params: dict[str, Any], bounds: dict[str, float], spec: ListSpec,
             members: Sequence[str]) -> bool:
    return all(_passes(doc, member, params[member], bounds, spec) for member in members)


def _passes(doc: Document, member: str, wanted: Any, bounds: dict[str, float], spec: ListSpec) -> bool:
    if member == "NameContains":
        return str(wanted).lower() in doc[spec.name_key].lower()
    if member == "StatusEquals":
        return spec.status_key is None or doc.get(spec.status_key) == wanted
    field_name, lower = _TIME_FILTERS[member]
    value, bound = float(doc.get(field_name) or doc["CreationTime"]), bounds[member]
    if not lower:
        return value < bound
    inclusive = member == "CreationTimeAfter" and spec.creation_time_after_inclusive
    return value >= bound if inclusive else value > bound


def _sort_key(doc: Document, sort_by: str, spec: ListSpec) -> tuple[Any, ...]:
    if sort_by == "Name":
        return (doc[spec.name_key].lower(),)
    if sort_by == "Status" and spec.status_key:
        return (doc.get(spec.status_key, ""), doc["CreationTime"])
    for name, field in spec.extra_sort_keys:
        if sort_by == name:
            return (doc[field], doc["CreationTime"])
    return (doc["CreationTime"], doc[spec.name_key].lower())


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):  # not a timestamp, or one outside what the platform can convert
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


def page_of(items: Sequence[Document], params: dict[str, Any],
            default_max_results: int) -> tuple[list[Document], str | None]:
    """The page of an already selected and ordered sequence that `MaxResults` and `NextToken` ask for, and the
    next page's token (None on the last), with the tokens of `list_page` (ListTags)."""
    query = _fingerprint(params)
    start = _decode_token(params.get("NextToken"), query)
    page = list(items[start:start + (params.get("MaxResults") or default_max_results)])
    end = start + len(page)
    return page, _encode_token(end, query) if end < len(items) else None
