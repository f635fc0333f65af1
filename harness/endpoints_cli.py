"""`harness endpoints list|describe` and `harness invoke`: a running emulator's (or AWS's) real-time endpoints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from backends import BACKENDS

_BACKEND = click.option("--backend", type=click.Choice(BACKENDS), envvar="HARNESS_BACKEND", default="emulator",
                        show_default=True)
_ENDPOINT = click.option("--endpoint", envvar="HARNESS_ENDPOINT", default=None, help="A running emulator's URL.")


def _backend(backend: str, endpoint: str | None) -> Any:
    from .cli import _start_backend

    return _start_backend(backend, None, inspect=True, endpoint=endpoint)


@click.group()
def endpoints() -> None:
    """List and describe real-time endpoints."""


@endpoints.command("list")
@_BACKEND
@_ENDPOINT
@click.option("--max", "max_results", default=20, show_default=True, type=click.IntRange(1, 100))
def list_endpoints(backend: str, endpoint: str | None, max_results: int) -> None:
    """The most recent endpoints, newest first, with their variants."""
    target = _backend(backend, endpoint)
    try:
        sagemaker = target.client("sagemaker")
        summaries = sagemaker.list_endpoints(MaxResults=max_results)["Endpoints"]
        variants = {}
        for summary in summaries:
            described = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
            variants[summary["EndpointName"]] = ", ".join(
                f"{v['VariantName']} x{v.get('CurrentInstanceCount', '?')} w={v.get('CurrentWeight', '?')}"
                for v in described.get("ProductionVariants", []))
    finally:
        target.stop()
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "status", "variants", "created"):
        table.add_column(column)
    for summary in summaries:
        table.add_row(summary["EndpointName"], summary["EndpointStatus"], variants.get(summary["EndpointName"], ""),
                      summary["CreationTime"].strftime("%Y-%m-%d %H:%M:%S"))
    Console().print(table)


@endpoints.command("describe")
@click.argument("name")
@_BACKEND
@_ENDPOINT
def describe_endpoint(name: str, backend: str, endpoint: str | None) -> None:
    """An endpoint's full Describe response, as JSON."""
    from .cli import print_description

    print_description(backend, endpoint, lambda sagemaker: sagemaker.describe_endpoint(EndpointName=name))


@click.command()
@click.argument("name")
@click.option("--body", default=None, help="The request body (text). Give this or --file.")
@click.option("--file", "body_file", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Send this file's bytes as the request body ('-' reads stdin).")
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None, help="The Accept header (default: the container's, text/csv).")
@click.option("--target-variant", default=None, help="Send to this production variant.")
@_BACKEND
@_ENDPOINT
def invoke(name: str, body: str | None, body_file: Path | None, content_type: str, accept: str | None,
           target_variant: str | None, backend: str, endpoint: str | None) -> None:
    """Invoke an endpoint (InvokeEndpoint) and print the model's answer; the variant that answered goes to stderr."""
    from botocore.exceptions import ClientError

    if (body is None) == (body_file is None):
        raise click.UsageError("give the request body with exactly one of --body and --file")
    payload = body.encode() if body is not None else body_file.read_bytes()  # type: ignore[union-attr]
    request: dict[str, Any] = {"EndpointName": name, "Body": payload, "ContentType": content_type}
    if accept:
        request["Accept"] = accept
    if target_variant:
        request["TargetVariant"] = target_variant
    target = _backend(backend, endpoint)
    try:
        try:
            answer = target.client("sagemaker-runtime").invoke_endpoint(**request)
        except ClientError as exc:
            raise click.ClickException(exc.response["Error"]["Message"]) from None
        data = answer["Body"].read()
    finally:
        target.stop()
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
    sys.stdout.buffer.flush()
    click.echo(f"variant: {answer.get('InvokedProductionVariant', '?')}  content type: "
               f"{answer.get('ContentType', '?')}", err=True)
