"""Moving job data between S3 and a workspace: channel downloads, manifests, artifact uploads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError as BotoClientError

from ..sagemaker.inputs import no_objects_message
from .embedded_s3 import copy_object
from .workspace import UnsafePath, safe_join

# One GET per object. The embedded S3 (moto) answers a ranged GET by reading the whole object and then slicing
# it, so boto3's default multipart download (8 MiB ranges, ten at a time) of an n-byte object reads about
# n * n / 8 MiB bytes: 1 GiB took 100 s that way, and seconds with one GET. An upstream (LocalStack) serves one
# stream just as well.
WHOLE_OBJECT = TransferConfig(multipart_threshold=2**62)


class DataError(Exception):
    """A problem with the job's data that SageMaker reports as a `ClientError`."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    relative: str  # the path under the channel (or transform input) that the object lands at
    size: int


def split_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "https") or not parsed.netloc:
        raise DataError(f"Invalid S3 URI {uri!r}.")
    return parsed.netloc, parsed.path.lstrip("/")


def list_source(s3: Any, source: dict[str, Any], role: str | None, region: str) -> list[S3Object]:
    """The objects an `S3DataSource` names: every key under an `S3Prefix`, or a manifest's entries."""
    uri = source["S3Uri"]
    if source.get("S3DataType", "S3Prefix") == "ManifestFile":
        objects = _manifest_objects(s3, uri)
    elif source.get("S3DataType", "S3Prefix") == "S3Prefix":
        objects = _prefix_objects(s3, uri)
    else:
        raise DataError(f"S3DataType {source['S3DataType']} is not supported by the emulator; "
                        "use S3Prefix or ManifestFile.")
    if not objects:  # the inputs were there at Create (see sagemaker/inputs.py) and are gone, or were folders
        raise DataError(no_objects_message(uri, region, role))
    return objects


def download(s3: Any, objects: list[S3Object], destination: Path) -> int:
    """Download `objects` under `destination`; returns the bytes written."""
    total = 0
    for obj in objects:
        try:
            target = safe_join(destination, obj.relative)
        except UnsafePath as exc:
            raise DataError(f"Data download failed: s3://{obj.bucket}/{obj.key}: {exc}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        if copy_object(s3, obj.bucket, obj.key, obj.size, target):
            total += obj.size
            continue
        try:
            s3.download_file(obj.bucket, obj.key, str(target), Config=WHOLE_OBJECT)
        except BotoClientError as exc:
            raise DataError(f"Data download failed:{_describe(exc)} (s3://{obj.bucket}/{obj.key})") from None
        total += obj.size
    return total


def upload_file(s3: Any, path: Path, uri: str) -> None:
    """Upload one file. S3 makes an object visible only when its upload completes, so a reader sees the whole
    artifact or nothing."""
    bucket, key = split_uri(uri)
    try:
        s3.upload_file(str(path), bucket, key)
    except BotoClientError as exc:
        raise DataError(f"Failed to upload {uri}: {_describe(exc)}") from None


def get_bytes(s3: Any, bucket: str, key: str) -> bytes:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except BotoClientError as exc:
        raise DataError(f"Data download failed:{_describe(exc)} (s3://{bucket}/{key})") from None
    return body


def _prefix_objects(s3: Any, uri: str) -> list[S3Object]:
    bucket, prefix = split_uri(uri)
    objects = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/"):
                    continue  # "folder" placeholder objects hold no data
                objects.append(S3Object(bucket, key, landing_path(prefix, key), item["Size"]))
    except BotoClientError as exc:
        raise DataError(f"Data download failed:{_describe(exc)} ({uri})") from None
    return objects


def landing_path(prefix: str, key: str) -> str:
    """Where an object an S3Prefix matched lands under its channel. A prefix that names a "folder", with or
    without its trailing "/", is taken off whole (`s3://b/p/train` -> p/train/a.csv lands at a.csv, as the SDK's
    `upload_data` of a directory returns such URIs for `fit`); any other match keeps its path from the prefix's
    last "/" (s3://b/p/train.csv -> train.csv; s3://b/data/train matching data/train-x.csv -> train-x.csv, as
    SageMaker names partial matches: aws/sagemaker-python-sdk#3612)."""
    if key.startswith(prefix + "/") and not prefix.endswith("/"):
        return key[len(prefix) + 1:]
    return key[prefix.rfind("/") + 1:]


def _manifest_objects(s3: Any, uri: str) -> list[S3Object]:
    bucket, key = split_uri(uri)
    raw = get_bytes(s3, bucket, key)
    try:
        manifest = json.loads(raw)
        prefix_uri = manifest[0]["prefix"]
        entries = [str(entry) for entry in manifest[1:]]
    except (ValueError, KeyError, IndexError, TypeError):
        raise DataError(f"Manifest file {uri} is not a valid manifest: expected "
                        '[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...].') from None
    prefix_bucket, prefix = split_uri(prefix_uri)
    objects = []
    for relative in entries:
        object_key = prefix + relative
        try:
            head = s3.head_object(Bucket=prefix_bucket, Key=object_key)
        except BotoClientError as exc:
            raise DataError(f"Data download failed:{_describe(exc)} (s3://{prefix_bucket}/{object_key}, "
                            f"listed in manifest {uri})") from None
        objects.append(S3Object(prefix_bucket, object_key, relative, head["ContentLength"]))
    return objects


def _describe(exc: BotoClientError) -> str:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    return f"{error.get('Code', 'Error')} ({status}): {error.get('Message', str(exc))}"
