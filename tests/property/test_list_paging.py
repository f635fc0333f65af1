"""List* paging as botocore's service model documents it, over the real wire protocol (boto3 to an in-process
emulator).

ListTrainingJobs: "When StatusEquals and MaxResults are set at the same time, the MaxResults number of training
jobs are first retrieved ignoring the StatusEquals parameter and then they are filtered by the StatusEquals
parameter". No other filter, and no filter of ListTransformJobs or ListModels, is documented so: those narrow the
resources before the page is cut. ListModels' CreationTimeAfter is "greater than or equal to"; the jobs' is
"created after".

The properties compare the emulator's answers with each other (a filtered walk against the unfiltered walk of the
same query), not with a second implementation of paging.

The resources are inserted into the store the control plane lists from, not created with Create* calls: the
properties need chosen statuses and creation times (ties included), which jobs run by the executor and stamped by
the clock cannot give, and a real job per resource would not fit ~100 examples in a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.emulator.sagemaker import models, training_jobs, transform_jobs
from backends.emulator.server import Emulator
from tests.property.conftest import LISTING_REGION as REGION

BASE = 1_700_000_000  # resources are created at BASE + a few seconds, so times tie and bounds hit them exactly
WORDS = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class Operation:
    name: str  # the boto3 method
    kind: str  # the store's kind
    name_key: str
    arn_key: str
    status_key: str | None
    summaries: str  # the response member holding the page
    sort_by: tuple[str, ...]
    statuses: tuple[str, ...]
    status_after_cut: bool  # as documented: only ListTrainingJobs
    creation_after_inclusive: bool  # as documented: only ListModels (of these)

    def document(self, name: str, status: str, created: int, modified: int) -> dict[str, Any]:
        doc: dict[str, Any] = {self.name_key: name, self.arn_key: f"arn:aws:sagemaker:{REGION}:123456789012:x/{name}",
                               "CreationTime": float(BASE + created)}
        if self.status_key is not None:
            doc.update({self.status_key: status, "LastModifiedTime": float(BASE + modified)})
        if self.kind == training_jobs.KIND:
            doc["SecondaryStatus"] = {"InProgress": "Training", "Completed": "Completed", "Failed": "Failed",
                                      "Stopping": "Stopping", "Stopped": "Stopped"}[status]
        return doc


TRAINING = Operation("list_training_jobs", training_jobs.KIND, "TrainingJobName", "TrainingJobArn",
                     "TrainingJobStatus", "TrainingJobSummaries", ("CreationTime", "Name", "Status"),
                     ("InProgress", "Completed", "Failed", "Stopping", "Stopped"), True, False)
TRANSFORM = Operation("list_transform_jobs", transform_jobs.KIND, "TransformJobName", "TransformJobArn",
                      "TransformJobStatus", "TransformJobSummaries", ("CreationTime", "Name", "Status"),
                      ("InProgress", "Completed", "Failed", "Stopping", "Stopped"), False, False)
MODELS = Operation("list_models", models.KIND, "ModelName", "ModelArn", None, "Models", ("CreationTime", "Name"),
                   ("-",), False, True)
OPERATIONS = (TRAINING, TRANSFORM, MODELS)


Resource = tuple[str, str, int, int]  # name, status, creation and last-modified offsets from BASE


def resources(operation: Operation) -> st.SearchStrategy[list[Resource]]:
    one = st.tuples(st.sampled_from(WORDS), st.sampled_from(operation.statuses), st.integers(0, 4),
                    st.integers(0, 4))
    return st.lists(one, max_size=12).map(
        lambda items: [(f"{word}-{i}", status, created, created + later)
                       for i, (word, status, created, later) in enumerate(items)])


def filters(operation: Operation) -> st.SearchStrategy[dict[str, Any]]:
    members: dict[str, st.SearchStrategy[Any]] = {
        "NameContains": st.sampled_from(["alpha", "BETA", "a", "-1", "zeta"]),
        "CreationTimeAfter": st.integers(0, 4).map(_time),
        "CreationTimeBefore": st.integers(0, 5).map(_time),
    }
    if operation.status_key is not None:
        members.update({"StatusEquals": st.sampled_from(operation.statuses),
                        "LastModifiedTimeAfter": st.integers(0, 8).map(_time),
                        "LastModifiedTimeBefore": st.integers(0, 9).map(_time)})
    return st.fixed_dictionaries({}, optional=members).filter(bool)


def _time(offset: int) -> datetime:
    return datetime.fromtimestamp(BASE + offset, tz=timezone.utc)


def _seconds(value: datetime) -> float:
    return value.timestamp()


def passes(operation: Operation, summary: dict[str, Any], member: str, wanted: Any) -> bool:
    """One documented filter, as the documentation words it, on a summary the emulator returned."""
    if member == "NameContains":
        return str(wanted).lower() in summary[operation.name_key].lower()
    if member == "StatusEquals":
        return bool(summary[operation.status_key] == wanted)
    field = "CreationTime" if member.startswith("Creation") else "LastModifiedTime"
    value, bound = _seconds(summary[field]), _seconds(wanted)
    if member.endswith("Before"):
        return value < bound
    return value >= bound if member == "CreationTimeAfter" and operation.creation_after_inclusive else value > bound


Page = tuple[list[dict[str, Any]], bool]  # the summaries, and whether a NextToken came with them


def walk(sm: Any, operation: Operation, **params: Any) -> list[Page]:
    call: Callable[..., dict[str, Any]] = getattr(sm, operation.name)
    pages: list[Page] = []
    token = None
    for _ in range(100):
        answer = call(**params, **({"NextToken": token} if token else {}))
        token = answer.get("NextToken")
        pages.append((answer[operation.summaries], token is not None))
        if token is None:
            return pages
    raise AssertionError("the pages never ended")


def names(operation: Operation, summaries: list[dict[str, Any]]) -> list[str]:
    return [summary[operation.name_key] for summary in summaries]


def _stored(emu: Emulator, operation: Operation, items: list[Resource]) -> None:
    for name, status, created, modified in items:
        assert emu.store.insert(operation.kind, REGION, name, operation.document(name, status, created, modified))


def _cleared(emu: Emulator, operation: Operation) -> None:
    for doc in emu.store.list(operation.kind, REGION):
        emu.store.delete(operation.kind, REGION, doc[operation.name_key])


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data(), operation=st.sampled_from(OPERATIONS), page_size=st.integers(1, 5),
       sort_order=st.sampled_from(["Ascending", "Descending"]))
def test_paging_follows_the_documented_rule(emu: Emulator, sm: Any, data: st.DataObject,
                                            operation: Operation, page_size: int, sort_order: str) -> None:
    items = data.draw(resources(operation))
    chosen = data.draw(filters(operation))
    sort_by = data.draw(st.sampled_from(operation.sort_by))
    _stored(emu, operation, items)
    try:
        query = {"SortBy": sort_by, "SortOrder": sort_order, "MaxResults": page_size}
        plain = walk(sm, operation, **query)
        everything = [s for summaries, _ in plain for s in summaries]
        # Without filters: every resource once, pages of MaxResults with a token until the last.
        assert sorted(names(operation, everything)) == sorted(name for name, *_ in items)
        assert all(len(summaries) == page_size and more for summaries, more in plain[:-1])
        assert len(plain[-1][0]) <= page_size and not plain[-1][1]
        # The order asked for, checked on the key alone (ties are in no documented order).
        key_of = {"CreationTime": lambda s: s["CreationTime"], "Name": lambda s: s[operation.name_key].lower(),
                  "Status": lambda s: s.get(operation.status_key or "", "")}[sort_by]
        keys = [key_of(s) for s in everything]
        assert keys == sorted(keys, reverse=sort_order == "Descending")

        after = {m: v for m, v in chosen.items() if m == "StatusEquals" and operation.status_after_cut}
        before = {m: v for m, v in chosen.items() if m not in after}
        # The walk with the filters before the cut is the unfiltered walk's resources that pass them, in order,
        # in full pages.
        narrowed = walk(sm, operation, **query, **before)
        kept = [s for s in everything if all(passes(operation, s, m, v) for m, v in before.items())]
        assert names(operation, [s for summaries, _ in narrowed for s in summaries]) == names(operation, kept)
        assert all(len(summaries) == page_size and more for summaries, more in narrowed[:-1])
        assert not narrowed[-1][1] and len(narrowed[-1][0]) <= page_size
        # A filter applied after the cut narrows each of those pages in place: same pages, same tokens.
        filtered = walk(sm, operation, **query, **chosen)
        assert len(filtered) == len(narrowed)
        for (summaries, more), (whole, whole_more) in zip(filtered, narrowed, strict=True):
            expected = [s for s in whole if all(passes(operation, s, m, v) for m, v in after.items())]
            assert names(operation, summaries) == names(operation, expected)
            assert more == whole_more
            assert len(summaries) <= page_size
    finally:
        _cleared(emu, operation)


def test_status_is_applied_after_max_results_for_training_jobs_only(emu: Emulator, sm: Any) -> None:
    """Three jobs (Failed, Failed, Completed): SageMaker cuts one job first, then keeps it only if Completed."""
    for operation, prefix in ((TRAINING, "st"), (TRANSFORM, "tj")):
        _stored(emu, operation, [(f"{prefix}-a", "Failed", 0, 0), (f"{prefix}-b", "Failed", 1, 1),
                                 (f"{prefix}-c", "Completed", 2, 2)])
        try:
            query = {"StatusEquals": "Completed", "MaxResults": 1, "SortOrder": "Ascending"}
            pages = [(names(operation, summaries), more) for summaries, more in walk(sm, operation, **query)]
            if operation is TRAINING:
                assert pages == [([], True), ([], True), (["st-c"], False)]
            else:
                assert pages == [(["tj-c"], False)]
        finally:
            _cleared(emu, operation)


def test_a_token_is_only_good_for_its_own_query(emu: Emulator, sm: Any) -> None:
    _stored(emu, TRAINING, [("st-a", "Failed", 0, 0), ("st-b", "Completed", 1, 1)])
    try:
        first = sm.list_training_jobs(StatusEquals="Completed", MaxResults=1)
        assert first["TrainingJobSummaries"] == [] and first["NextToken"]
        with pytest.raises(sm.exceptions.ClientError) as excinfo:
            sm.list_training_jobs(StatusEquals="Failed", MaxResults=1, NextToken=first["NextToken"])
        error = excinfo.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
    finally:
        _cleared(emu, TRAINING)
