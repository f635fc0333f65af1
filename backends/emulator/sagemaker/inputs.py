"""The S3 check CreateTrainingJob and CreateTransformJob make on their input data before creating anything.

SageMaker refuses the Create call itself when an input's S3 URL has no objects under it (or its bucket does not
exist): public notebook CI logs show the `ValidationException` below raised by both `create_training_job` and
`create_transform_job` (e.g. aws/amazon-sagemaker-examples issues 2267, 2489 and 2270, 2414). The emulator
makes one prefix listing of the data source's `S3Uri`, whatever its `S3DataType` and input mode: for a
`ManifestFile` or an `AugmentedManifestFile` the URL names the manifest object, which the listing finds when it
exists; a manifest's entries are only read when the job runs. (No public log was found showing SageMaker reading
a manifest, or treating Pipe mode differently, at Create: that part is the message's own wording, "objects exist
under that S3 prefix", taken literally.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ValidationException
from .context import RequestContext

# Tells whether any S3 object's key starts with an s3:// URI's key (a listing with MaxKeys=1), False as well when
# the bucket does not exist; None when the emulator cannot check (S3 unreachable, or a URI it cannot list).
PrefixHasObjects = Callable[[str, str], "bool | None"]


def no_objects_message(uri: str, region: str, role: str | None) -> str:
    """SageMaker's words for an input URL with nothing under it (at Create, and as a job's failure reason)."""
    bucket = uri.split("://", 1)[-1].split("/", 1)[0]
    return (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
        f"exists in the selected region ({region}), that objects exist under that S3 prefix, and that the role "
        f'"{role or ""}" has "s3:ListBucket" permissions on bucket "{bucket}".'
    )


def check_inputs_exist(has_objects: PrefixHasObjects | None, ctx: RequestContext,
                       sources: Iterable[dict[str, Any]], role: str | None) -> None:
    """Refuse with SageMaker's `ValidationException` when one of the `S3DataSource`s has no object under its URL.

    `role` is the role SageMaker lists with: a training job's `RoleArn`, a transform job's model's
    `ExecutionRoleArn`. An answer of None (cannot check) lets the request through."""
    if has_objects is None:
        return
    for source in sources:
        uri = source.get("S3Uri")
        if uri and uri.startswith("s3://") and has_objects(ctx.region, uri) is False:
            raise ValidationException(no_objects_message(uri, ctx.region, role))
