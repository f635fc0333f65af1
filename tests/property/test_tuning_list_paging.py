"""ListHyperParameterTuningJobs and ListTrainingJobsForHyperParameterTuningJob: paging, sorting and filtering as
botocore's service model documents them, over the real wire protocol (boto3 to an in-process emulator).

What the documentation says, and what this test therefore expects (a small reference model below computes it from
the generated resources, independently of the emulator's listing code):

- ListHyperParameterTuningJobs: SortBy Name | Status | CreationTime, "The default is Name"; SortOrder "The default
  is Ascending"; NameContains "returns only tuning jobs whose name contains the specified string" (matched without
  regard to case, as tests/property/test_list_paging.py reads it); CreationTimeAfter/Before "created after/before
  the specified time" and LastModifiedTimeAfter/Before "modified after/before" (strict bounds); StatusEquals "only
  tuning jobs with the specified status"; MaxResults "The default value is 10". No filter is documented as applied
  after the MaxResults cut (unlike ListTrainingJobs' StatusEquals), so every page but the last is full.
- ListTrainingJobsForHyperParameterTuningJob: the training jobs "that a hyperparameter tuning job launched" (not
  another tuning job's, nor standalone ones); SortBy Name | CreationTime | Status | FinalObjectiveMetricValue, and
  "If the value of this field is FinalObjectiveMetricValue, any training jobs that did not return an objective
  metric are not listed"; StatusEquals; MaxResults (default 10).

One deliberate deviation: the documentation gives Name and Ascending as the children's defaults, but three
independent real answers (the SDK's tuning analytics dataframes of 2018, 2019 and 2020, fetched with neither SortBy
nor SortOrder) listed the children newest first. So with neither member the emulator lists by CreationTime,
Descending, and this test expects that; when either member is given, the documented defaults apply to the other
(SortBy Name, SortOrder Ascending), as the real answers say nothing about those queries.

Ties of the sort key are in no documented order, so the order is checked on the keys; that paging neither drops nor
repeats a tied resource is checked by comparing the paged walk with the same query in one page (MaxResults 100).

The resources are inserted into the store the control plane lists from, as in test_list_paging.py: a tuning job
created with CreateHyperParameterTuningJob trains real children for seconds each, and the properties need chosen
statuses, creation and modification times (ties and exact bound hits included) and objective values, which real
runs stamped by the clock cannot give. The documents have the shape the Create operation and the tuner record
(a tuning job's Describe record; a child training job with TuningJobArn, its tuned hyperparameters and, once it
has one, its objective). Nothing is started for them: the executor and the tuner only take up unfinished jobs at
startup. The listing touches no S3 or Logs, so one emulator (embedded moto) serves, not the moto/LocalStack
`emulator` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.emulator.sagemaker import training_jobs, tuning_jobs
from backends.emulator.server import Emulator
from tests.property.conftest import LISTING_REGION as REGION

ACCOUNT = "123456789012"
BASE = 1_700_000_000  # times are BASE + a multiple of half a second, so they tie and bounds hit them exactly
WORDS = ("alpha", "beta", "gamma")
TUNING_STATUSES = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")  # what tuning jobs are in
TUNING_STATUS_FILTERS = (*TUNING_STATUSES, "Deleting", "DeleteFailed")  # the enum: the last two match nothing here
TRAINING_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TRAINING_STATUS_FILTERS = (*TRAINING_STATUSES, "Deleting")
OBJECTIVES = (-10.0, -2.5, 0.0, 0.125, 3.0, 12.5)  # not in the order of their text
PARENT = "tune"  # the tuning job whose children are listed
SIBLING = "tune-1"  # another tuning job, whose name and children's names start like the parent's
SINGLE_PAGE = 100  # the largest MaxResults: every generated set fits one page


def _arn(resource: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}/{name}"


def _time(offset: float) -> datetime:
    return datetime.fromtimestamp(BASE + offset, tz=timezone.utc)


def _halves(low: int, high: int) -> st.SearchStrategy[float]:
    """Offsets from BASE in half seconds: botocore sends fractions of a second, so they must count."""
    return st.integers(low, high).map(lambda n: n / 2)


# -- the generated resources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningJob:
    name: str
    status: str
    created: float  # offsets from BASE
    modified: float
    strategy: str

    def document(self) -> dict[str, Any]:
        """The record CreateHyperParameterTuningJob and the tuner keep (the Describe answer)."""
        limits = {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
        doc: dict[str, Any] = {
            "HyperParameterTuningJobName": self.name,
            "HyperParameterTuningJobArn": _arn("hyper-parameter-tuning-job", self.name),
            "HyperParameterTuningJobConfig": {
                "Strategy": self.strategy, "ResourceLimits": limits, "TrainingJobEarlyStoppingType": "Off",
                "HyperParameterTuningJobObjective": {"MetricName": "validation:rmse", "Type": "Minimize"},
                "ParameterRanges": {"IntegerParameterRanges": [], "ContinuousParameterRanges": [],
                                    "CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4"]}]}},
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"num_round": "10", "_tuning_objective_metric": "validation:rmse"},
                "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-west-2.amazonaws.com/"
                                                            "sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/tuning",
                "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
                "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600}},
            "HyperParameterTuningJobStatus": self.status,
            "CreationTime": float(BASE + self.created),
            "LastModifiedTime": float(BASE + self.modified),
            "TrainingJobStatusCounters": {"Completed": 0, "InProgress": 0, "RetryableError": 0,
                                          "NonRetryableError": 0, "Stopped": 0},
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        }
        if self.status in tuning_jobs.TERMINAL:
            doc["HyperParameterTuningEndTime"] = float(BASE + self.modified)
        return doc


@dataclass(frozen=True)
class TrainingJob:
    name: str
    tuning_job: str | None  # the tuning job that launched it; None for a standalone training job
    status: str
    created: float
    objective: float | None  # the final objective metric, once the tuner has recorded one

    def document(self) -> dict[str, Any]:
        """The record of a training job, with what the tuner adds to a child's."""
        doc: dict[str, Any] = {
            "TrainingJobName": self.name, "TrainingJobArn": _arn("training-job", self.name),
            "TrainingJobStatus": self.status,
            "SecondaryStatus": {"InProgress": "Training", "Stopping": "Stopping"}.get(self.status, self.status),
            "CreationTime": float(BASE + self.created), "LastModifiedTime": float(BASE + self.created + 1),
            "HyperParameters": {"num_round": "10", "max_depth": "4"},
        }
        if self.tuning_job is not None:
            doc.update({"TuningJobArn": _arn("hyper-parameter-tuning-job", self.tuning_job),
                        "_TuningJobName": self.tuning_job, "_TunedHyperParameters": {"max_depth": "4"}})
        if self.objective is not None:
            doc["FinalMetricDataList"] = [{"MetricName": "validation:rmse", "Value": self.objective,
                                           "Timestamp": float(BASE + self.created + 1)}]
            doc["_Objective"] = {"MetricName": "validation:rmse", "Value": self.objective}
        return doc


def tuning_job_sets() -> st.SearchStrategy[list[TuningJob]]:
    one = st.tuples(st.sampled_from(WORDS), st.sampled_from(TUNING_STATUSES), _halves(0, 8), _halves(0, 8),
                    st.sampled_from(["Bayesian", "Random", "Grid"]))
    return _sized(one, 25).map(
        lambda items: [TuningJob(f"{word}-{i}", status, created, created + later, strategy)
                       for i, (word, status, created, later, strategy) in enumerate(items)])


def _sized(element: st.SearchStrategy[Any], most: int, **unique: Any) -> st.SearchStrategy[list[Any]]:
    """Lists of a size drawn evenly up to `most` (st.lists alone keeps to a few elements), so that sets span
    several pages."""
    return st.sampled_from(range(most + 1)).flatmap(
        lambda size: st.lists(element, min_size=size, max_size=size, **unique))


def _child_name(tuning_job: str, number: int) -> str:
    """`<tuning job>-<NNN>-<8 hex>`, as the tuner (and SageMaker) names children."""
    return f"{tuning_job}-{number:03d}-{number * 2654435761 % 2**32:08x}"


def _training_jobs(owner: str | None, numbered: list[tuple[int, str, float, float | None]]) -> list[TrainingJob]:
    jobs = []
    for number, status, created, objective in numbered:
        name = _child_name(owner, number) if owner else f"{PARENT}-{number:03d}-standalone"
        # Only a child that ended with its metric has an objective: the tuner records none for a Failed child,
        # and a running one has not reported its final metric yet.
        jobs.append(TrainingJob(name, owner, status, created,
                                objective if status in ("Completed", "Stopped") else None))
    return jobs


def training_job_sets() -> st.SearchStrategy[list[TrainingJob]]:
    """The parent's children, the sibling's children and a few standalone training jobs. Children's numbers are
    drawn apart from their creation times, so sorting by name and by creation time differ."""
    status = st.just("Completed") | st.sampled_from(TRAINING_STATUSES)  # most children complete
    one = st.tuples(st.integers(1, 60), status, _halves(0, 8),
                    st.sampled_from([None, *OBJECTIVES]))

    def numbered(most: int) -> st.SearchStrategy[list[tuple[int, str, float, float | None]]]:
        return _sized(one, most, unique_by=lambda item: item[0])

    return st.builds(lambda mine, sibling, standalone: (_training_jobs(PARENT, mine)
                                                        + _training_jobs(SIBLING, sibling)
                                                        + _training_jobs(None, standalone)),
                     numbered(30), numbered(5), numbered(3))


PAGE_SIZES = st.integers(1, 6) | st.just(SINGLE_PAGE)


def name_parts(jobs: Sequence[TuningJob]) -> st.SearchStrategy[str]:
    """A NameContains: a piece of a generated name, in lower or upper case, or a string in none of them."""
    def piece(name: str) -> st.SearchStrategy[str]:
        return st.integers(0, len(name) - 1).flatmap(lambda start: st.integers(start + 1, len(name)).map(
            lambda end: name[start:end]))

    pieces = st.sampled_from([job.name for job in jobs]).flatmap(piece) if jobs else st.nothing()
    return st.just("zeta") | pieces | pieces.map(str.upper)


def tuning_queries(jobs: Sequence[TuningJob]) -> st.SearchStrategy[dict[str, Any]]:
    """A query with NameContains or not, and up to two other filters (more would leave few jobs to page through)."""
    filters: dict[str, st.SearchStrategy[Any]] = {
        "StatusEquals": st.sampled_from(TUNING_STATUS_FILTERS),
        "CreationTimeAfter": _halves(-1, 9).map(_time),
        "CreationTimeBefore": _halves(-1, 9).map(_time),
        "LastModifiedTimeAfter": _halves(-1, 17).map(_time),
        "LastModifiedTimeBefore": _halves(-1, 17).map(_time),
    }
    chosen = st.lists(st.sampled_from(sorted(filters)), unique=True, max_size=2).flatmap(
        lambda members: st.fixed_dictionaries({member: filters[member] for member in members}))
    name = (st.none() | name_parts(jobs)).map(lambda value: _present(NameContains=value))
    return st.builds(lambda *parts: {k: v for part in parts for k, v in part.items()},
                     _ordering(["Name", "Status", "CreationTime"]), chosen, name)


def children_queries() -> st.SearchStrategy[dict[str, Any]]:
    status = (st.none() | st.sampled_from(TRAINING_STATUS_FILTERS)).map(lambda value: _present(StatusEquals=value))
    return st.builds(lambda ordering, chosen: {"HyperParameterTuningJobName": PARENT, **ordering, **chosen},
                     _ordering(["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"]), status)


def _ordering(sort_by: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """SortBy, SortOrder and MaxResults, each given or not (None: left out, so the default applies)."""
    return st.builds(_present, SortBy=st.sampled_from([None, *sort_by]),
                     SortOrder=st.sampled_from([None, "Ascending", "Descending"]),
                     MaxResults=st.none() | PAGE_SIZES)


def _present(**members: Any) -> dict[str, Any]:
    return {member: value for member, value in members.items() if value is not None}


# -- the reference model: the documented semantics --------------------------------------------------------------

Key = Callable[[Any], Any]
# Statuses sort as their text; the generated names are all lower case, so no case rule is assumed for Name.
TUNING_KEYS: dict[str, Key] = {"Name": lambda job: job.name, "Status": lambda job: job.status,
                               "CreationTime": lambda job: job.created}
CHILD_KEYS: dict[str, Key] = {"Name": lambda job: job.name, "Status": lambda job: job.status,
                              "CreationTime": lambda job: job.created,
                              "FinalObjectiveMetricValue": lambda job: job.objective}


def _bound(query: dict[str, Any], member: str) -> float:
    return float(query[member].timestamp()) - BASE


def expected_tuning_jobs(jobs: Sequence[TuningJob], query: dict[str, Any]) -> tuple[list[TuningJob], Key, int]:
    """The tuning jobs the whole walk lists, in the documented order (ties in any order), the sort key, and the
    page size."""
    def passes(job: TuningJob) -> bool:
        checks = {
            "NameContains": lambda: str(query["NameContains"]).lower() in job.name.lower(),
            "StatusEquals": lambda: job.status == query["StatusEquals"],
            "CreationTimeAfter": lambda: job.created > _bound(query, "CreationTimeAfter"),
            "CreationTimeBefore": lambda: job.created < _bound(query, "CreationTimeBefore"),
            "LastModifiedTimeAfter": lambda: job.modified > _bound(query, "LastModifiedTimeAfter"),
            "LastModifiedTimeBefore": lambda: job.modified < _bound(query, "LastModifiedTimeBefore"),
        }
        return all(check() for member, check in checks.items() if member in query)

    key = TUNING_KEYS[query.get("SortBy", "Name")]  # "The default is Name."
    descending = query.get("SortOrder", "Ascending") == "Descending"  # "The default is Ascending."
    return sorted(filter(passes, jobs), key=key, reverse=descending), key, query.get("MaxResults", 10)


def expected_children(jobs: Sequence[TrainingJob], query: dict[str, Any]) -> tuple[list[TrainingJob], Key, int]:
    observed_default = "SortBy" not in query and "SortOrder" not in query  # the deviation (the module's docstring)
    sort_by = "CreationTime" if observed_default else query.get("SortBy", "Name")
    kept = [job for job in jobs if job.tuning_job == query["HyperParameterTuningJobName"]
            and ("StatusEquals" not in query or job.status == query["StatusEquals"])
            and (sort_by != "FinalObjectiveMetricValue" or job.objective is not None)]
    key = CHILD_KEYS[sort_by]
    descending = observed_default or query.get("SortOrder", "Ascending") == "Descending"
    return sorted(kept, key=key, reverse=descending), key, query.get("MaxResults", 10)


# -- the emulator, and walking its pages ------------------------------------------------------------------------


Page = tuple[list[dict[str, Any]], bool]  # the summaries, and whether a NextToken came with them


def walk(call: Callable[..., dict[str, Any]], member: str, query: dict[str, Any]) -> list[Page]:
    pages: list[Page] = []
    token = None
    for _ in range(200):
        answer = call(**query, **({"NextToken": token} if token else {}))
        token = answer.get("NextToken")
        pages.append((answer[member], token is not None))
        if token is None:
            return pages
    raise AssertionError("the pages never ended")


def check_walk(call: Callable[..., dict[str, Any]], member: str, name_key: str, query: dict[str, Any],
               expected: Sequence[Any], key: Key, page_size: int) -> list[dict[str, Any]]:
    """Walk the query's pages and check them against the expected resources; the summaries listed, in order."""
    pages = walk(call, member, query)
    listed = [summary[name_key] for summaries, _ in pages for summary in summaries]
    by_name = {job.name: job for job in expected}
    # Each expected resource exactly once, nothing else, in the documented order of the sort key.
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(n for n in listed if listed.count(n) > 1)}"
    assert set(listed) == set(by_name), (f"missing {sorted(set(by_name) - set(listed))}, "
                                         f"unexpected {sorted(set(listed) - set(by_name))}")
    assert [key(by_name[name]) for name in listed] == [key(job) for job in expected]
    # Full pages with a token until the last, which has none (and may be empty when the one before was full).
    assert all(len(summaries) == page_size and more for summaries, more in pages[:-1]), \
        [(len(summaries), more) for summaries, more in pages]
    assert len(pages[-1][0]) <= page_size and not pages[-1][1]
    # The pages are cut from one order: in one page, the same query lists the same sequence, ties included.
    if page_size != SINGLE_PAGE:
        single = walk(call, member, {**query, "MaxResults": SINGLE_PAGE})
        assert len(single) == 1
        assert [summary[name_key] for summary in single[0][0]] == listed
    return [summary for summaries, _ in pages for summary in summaries]


@contextlib.contextmanager
def _seeded(emu: Emulator, tuning: Sequence[TuningJob], training: Sequence[TrainingJob]) -> Iterator[None]:
    """The store holds these documents, and nothing else once the block ends."""
    try:
        for job in tuning:
            assert emu.store.insert(tuning_jobs.KIND, REGION, job.name, job.document())
        for child in training:
            assert emu.store.insert(training_jobs.KIND, REGION, child.name, child.document())
        yield
    finally:
        for kind, name_key in ((tuning_jobs.KIND, "HyperParameterTuningJobName"),
                               (training_jobs.KIND, "TrainingJobName")):
            for doc in emu.store.list(kind, REGION):
                emu.store.delete(kind, REGION, doc[name_key])


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- the properties ---------------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), jobs=tuning_job_sets())
def test_tuning_jobs_list_as_documented(emu: Emulator, sm: Any, data: st.DataObject, jobs: list[TuningJob]) -> None:
    query = data.draw(tuning_queries(jobs), label="query")
    with _seeded(emu, jobs, []):
        expected, key, page_size = expected_tuning_jobs(jobs, query)
        listed = check_walk(sm.list_hyper_parameter_tuning_jobs, "HyperParameterTuningJobSummaries",
                            "HyperParameterTuningJobName", query, expected, key, page_size)
        by_name = {job.name: job for job in expected}
        for summary in listed:  # each summary is its own job's
            job = by_name[summary["HyperParameterTuningJobName"]]
            assert (summary["HyperParameterTuningJobStatus"], summary["Strategy"], summary["CreationTime"],
                    summary["LastModifiedTime"]) == (job.status, job.strategy, _time(job.created),
                                                     _time(job.modified))


@SETTINGS
@given(training=training_job_sets(), query=children_queries())
def test_a_tuning_jobs_children_list_as_documented(emu: Emulator, sm: Any, training: list[TrainingJob],
                                                   query: dict[str, Any]) -> None:
    parents = [TuningJob(PARENT, "InProgress", 0, 4, "Random"), TuningJob(SIBLING, "Completed", 0, 4, "Grid")]
    with _seeded(emu, parents, training):
        expected, key, page_size = expected_children(training, query)
        listed = check_walk(sm.list_training_jobs_for_hyper_parameter_tuning_job, "TrainingJobSummaries",
                            "TrainingJobName", query, expected, key, page_size)
        by_name = {job.name: job for job in expected}
        for summary in listed:  # each summary is its own child's
            job = by_name[summary["TrainingJobName"]]
            objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
            assert (summary["TrainingJobStatus"], summary["CreationTime"], summary["TuningJobName"], objective) \
                == (job.status, _time(job.created), PARENT, job.objective)


def test_children_of_an_unknown_tuning_job_and_tokens_of_another(emu: Emulator, sm: Any) -> None:
    """The operation's one documented error, ResourceNotFound, for a tuning job that does not exist; and a token
    is only good for the query that produced it (here: its own tuning job), the rule test_list_paging.py checks
    for ListTrainingJobs."""
    children = [TrainingJob(_child_name(parent, n), parent, "Completed", n, 1.0)
                for parent in (PARENT, SIBLING) for n in (1, 2)]
    parents = [TuningJob(PARENT, "Completed", 0, 4, "Random"), TuningJob(SIBLING, "Completed", 0, 4, "Grid")]
    with _seeded(emu, parents, children):
        with pytest.raises(sm.exceptions.ResourceNotFound):
            sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="absent")
        first = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=PARENT,
                                                                      MaxResults=1)
        assert first["NextToken"]
        with pytest.raises(sm.exceptions.ClientError) as excinfo:
            sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=SIBLING, MaxResults=1,
                                                                 NextToken=first["NextToken"])
        assert excinfo.value.response["Error"]["Code"] == "ValidationException"
