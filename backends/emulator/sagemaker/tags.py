"""Tags: AddTags, ListTags, DeleteTags, and the `Tags` of every Create* operation.

A resource's tags are one document of the store's `tags` kind, keyed by the resource's ARN: as durable as the
resource, and never part of its Describe* response. No component knows about tags. The wire layer calls this
component's `before_operation` / `after_operation` around every operation, and from the service model alone it
  - refuses reserved keys in the `Tags` of a Create* operation before the resource is made,
  - stores those `Tags` against the ARN the Create* operation answered with (replacing any left over),
  - drops the tags of a resource a Delete* operation removed (`Delete<Noun>` with its `<Noun>Name`).

Which ARNs can be tagged comes from the model too: every Create* operation that takes `Tags` names the resource
type in the pattern of the ARN it answers with (`...:training-job/...`). AddTags, ListTags and DeleteTags find
the resource in the store under the kind of the same name, the convention every component follows
(`training_jobs.KIND == "training-job"`); `STORE_KINDS` is the one place for a type that does not follow it,
or whose ARN pattern the model leaves out. A resource kind added later is taggable with no code here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from botocore.model import OperationModel

from ..errors import ValidationException
from ..service_model import service_model
from ..store import Store
from .arns import arn
from .context import RequestContext
from .listing import page_of

KIND = "tags"
MAX_TAGS = 50  # per resource (Tag keys with the reserved prefix would not count; users cannot add them)
DEFAULT_MAX_RESULTS = 50  # the smallest MaxResults ListTags accepts
RESERVED_PREFIX = "aws:"

# ARN resource type -> store kind, for types whose kind differs from the type, or which the model's ARN patterns
# do not name (e.g. "notebook-instance": its ARN shape has no pattern).
STORE_KINDS: dict[str, str] = {}

_ARN_TYPE_IN_PATTERN = re.compile(r":\[0-9\]\{12\}:([a-z0-9-]+)/")
_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:([a-z0-9-]+)/(.+)", re.IGNORECASE)


class Tags:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()  # read-change-write of one resource's tags

    # -- operations ---------------------------------------------------------------------------------

    def add_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        added = _tag_map(params["Tags"])
        _refuse_reserved(added)
        resource_arn = self._existing(ctx, params["ResourceArn"])
        with self._lock:
            tags = self._read(ctx, resource_arn)
            tags.update(added)
            if len(tags) > MAX_TAGS:
                raise ValidationException(
                    f"Tag limit exceeded for resource {params['ResourceArn']}: a resource can have at most "
                    f"{MAX_TAGS} tags, and this request would leave it with {len(tags)}.")
            self._write(ctx, resource_arn, tags)
        return {"Tags": _tag_list(tags)}

    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        resource_arn = self._existing(ctx, params["ResourceArn"])
        page, token = page_of(_tag_list(self._read(ctx, resource_arn)), params, DEFAULT_MAX_RESULTS)
        return {"Tags": page, "NextToken": token}

    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        keys = params["TagKeys"]
        _refuse_reserved(keys)
        resource_arn = self._existing(ctx, params["ResourceArn"])
        with self._lock:
            tags = self._read(ctx, resource_arn)
            for key in keys:
                tags.pop(key, None)  # a key the resource does not have is no error
            self._write(ctx, resource_arn, tags)
        return {}

    # -- around every operation (called by the wire layer) --------------------------------------------

    def before_operation(self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any]) -> None:
        if _created_arn_member(operation) is not None and params.get("Tags"):
            _refuse_reserved(_tag_map(params["Tags"]))

    def after_operation(self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any],
                        result: dict[str, Any]) -> None:
        member = _created_arn_member(operation)
        created = result.get(member) if member else None
        deleted = _deleted_arn(ctx, operation, params)
        with self._lock:
            if isinstance(created, str):
                # Replaces whatever an earlier resource of the same name left behind.
                self._write(ctx, created, _tag_map(params.get("Tags") or []))
            if deleted is not None:
                self._write(ctx, deleted, {})

    # -- helpers --------------------------------------------------------------------------------------

    def _existing(self, ctx: RequestContext, resource_arn: str) -> str:
        """The canonical ARN of the existing resource `resource_arn` names, or the error SageMaker answers."""
        match = _ARN.fullmatch(resource_arn)
        arn_type = match.group(1).lower() if match else ""
        if match is None or arn_type not in taggable_types():
            raise ValidationException(f"The ARN {resource_arn} does not name a SageMaker resource that can be "
                                      "tagged.")
        name = match.group(2)
        canonical = arn(ctx, arn_type, name)
        # Another region's or account's resource is not one this endpoint has.
        if canonical.lower() != resource_arn.lower() or self.store.get(
                STORE_KINDS.get(arn_type, arn_type), ctx.region, name) is None:
            raise ValidationException(f"Could not find resource {resource_arn}.")
        return canonical

    def _read(self, ctx: RequestContext, resource_arn: str) -> dict[str, str]:
        document = self.store.get(KIND, ctx.region, resource_arn)
        return _tag_map(document["Tags"]) if document else {}

    def _write(self, ctx: RequestContext, resource_arn: str, tags: dict[str, str]) -> None:
        if not tags:
            self.store.delete(KIND, ctx.region, resource_arn)
            return
        document = {"ResourceArn": resource_arn, "Tags": _tag_list(tags)}

        def replace(stored: dict[str, Any]) -> None:
            stored.update(document)

        if self.store.update(KIND, ctx.region, resource_arn, replace) is None:
            self.store.insert(KIND, ctx.region, resource_arn, document)


@cache
def taggable_types() -> dict[str, str]:
    """ARN resource type -> resource noun (`training-job` -> `TrainingJob`), for every Create* operation of the
    service model that takes `Tags` and answers with an ARN whose pattern names its type; plus `STORE_KINDS`."""
    model = service_model("sagemaker")
    found: dict[str, str] = {}
    for name in model.operation_names:
        operation = model.operation_model(name)
        member = _created_arn_member(operation)
        if member is None or operation.output_shape is None:
            continue
        pattern = operation.output_shape.members[member].metadata.get("pattern", "")
        match = _ARN_TYPE_IN_PATTERN.search(pattern)
        if match is not None:
            found.setdefault(match.group(1), name.removeprefix("Create"))
    for arn_type in STORE_KINDS:
        found.setdefault(arn_type, "")
    return found


def _created_arn_member(operation: OperationModel) -> str | None:
    """The output member holding the new resource's ARN, for a Create* operation that takes `Tags`."""
    if not operation.name.startswith("Create") or operation.input_shape is None \
            or "Tags" not in operation.input_shape.members or operation.output_shape is None:
        return None
    members = operation.output_shape.members
    named = operation.name.removeprefix("Create") + "Arn"
    if named in members:
        return named
    arns = [member for member in members if member.endswith("Arn")]
    return arns[0] if len(arns) == 1 else None


def _deleted_arn(ctx: RequestContext, operation: OperationModel, params: dict[str, Any]) -> str | None:
    """The ARN of the resource a successful `Delete<Noun>` removed, for a taggable noun named by `<Noun>Name`."""
    noun = operation.name.removeprefix("Delete")
    if noun == operation.name:
        return None
    name = params.get(f"{noun}Name")
    arn_types = [arn_type for arn_type, known in taggable_types().items() if known == noun]
    if not isinstance(name, str) or len(arn_types) != 1:
        return None
    return arn(ctx, arn_types[0], name)


def _refuse_reserved(keys: Iterable[str]) -> None:
    for key in keys:
        if key.lower().startswith(RESERVED_PREFIX):
            raise ValidationException(f"System prefix '{RESERVED_PREFIX}' reserved for AWS usage in tag key: {key}")


def _tag_map(tags: list[dict[str, Any]]) -> dict[str, str]:
    """Tags by key, in the order given; a key given twice keeps its last value."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]
