"""`harness images build | list`: the project's own algorithm and framework images, tagged as SageMaker's, built
offline."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from backends.emulator.algorithms.images import REGIONS, image_uri
from backends.emulator.runtimes import CATALOG, RuntimeInstallError, RuntimeStore
from backends.emulator.runtimes.store import ENV_VAR
from backends.images import BaseImageError, DockerCliError, build_algorithm_image, ensure_base_image
from backends.images.algorithm import local_image_name
from backends.images.docker_cli import image_exists, image_size

console = Console(stderr=True)
DEFAULT_VERSIONS = ("1", "1.7-1")


@click.group()
def images() -> None:
    """Images of our own for Docker (SDK local mode, the emulator's Docker runner): SageMaker's container contract
    with the project's XGBoost algorithm and each image version's XGBoost release, or (sklearn-<version>) the
    SKLearn framework image's runtime running your script, tagged with the ECR URI SageMaker SDKs use for it, so
    unchanged code finds them without pulling. Built with no container registry."""


@images.command("build")
@click.argument("versions", nargs=-1)
@click.option("--all", "build_all", is_flag=True, help="Build every image version's image.")
@click.option("--region", "regions", multiple=True,
              help="Tag with this region's ECR URI (repeatable; default $AWS_DEFAULT_REGION, else us-east-1).")
@click.option("--base", default=None, help="Base image to build on (default: a Debian base made with debootstrap "
                                           "once, sagemaker-harness/base:<release>).")
@click.option("--force", is_flag=True, help="Rebuild even if up to date (and remake the base unless --base).")
@click.option("--dir", "root", type=click.Path(path_type=Path), envvar=ENV_VAR, default=None,
              help="Runtimes directory (default: ~/.cache/sagemaker-harness/runtimes).")
def build(versions: tuple[str, ...], build_all: bool, regions: tuple[str, ...], base: str | None, force: bool,
          root: Path | None) -> None:
    """Build the image of each image VERSION (default: 1 and 1.7-1; sklearn-1.2-1 for the SKLearn framework),
    installing its runtime first if needed."""
    chosen = list(CATALOG) if build_all else list(versions or DEFAULT_VERSIONS)
    unknown = [v for v in chosen if v not in CATALOG]
    if unknown:
        raise click.BadParameter(f"unknown image version {', '.join(unknown)}; known: {', '.join(CATALOG)}")
    regions = regions or (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",)
    bad = [r for r in regions if r not in REGIONS]
    if bad:
        raise click.BadParameter(f"no XGBoost image in region {', '.join(bad)}")

    def say(message: str) -> None:
        console.print(message, highlight=False)

    store = RuntimeStore(root)
    try:
        base_image = base or ensure_base_image(say, force=force)
        if base and not image_exists(base):
            raise click.ClickException(f"the base image {base} is not in the Docker engine")
        table = Table(title="images", header_style="bold")
        for column in ("image version", "tags", "size", "steps", "total"):
            table.add_column(column)
        for version in chosen:
            runtime = store.find(version)
            if runtime is None:
                say(f"{version}: installing its runtime first")
                runtime = store.install(version, progress=say)
            uris = [image_uri(region, runtime.spec.framework, runtime.spec.image_tag) for region in regions]
            result = build_algorithm_image(runtime, base_image, uris, say, force=force)
            steps = ", ".join(f"{s.name} {s.seconds:.1f} s" for s in result.steps)
            table.add_row(version, "\n".join(result.tags), f"{result.size_bytes / 1e6:.0f} MB",
                          "up to date" if result.skipped else steps, f"{result.seconds:.1f} s")
    except (BaseImageError, DockerCliError, RuntimeInstallError) as exc:
        raise click.ClickException(str(exc)) from None
    Console().print(table)


@images.command("list")
def list_images() -> None:
    """Which image versions have an image in the Docker engine."""
    try:
        table = Table(title="algorithm images", header_style="bold")
        for column in ("image version", "image", "size"):
            table.add_column(column)
        for version, spec in CATALOG.items():
            name = local_image_name(spec)
            present = image_exists(name)
            table.add_row(version, name if present else "not built", f"{image_size(name) / 1e6:.0f} MB"
                          if present else "")
    except DockerCliError as exc:
        raise click.ClickException(str(exc)) from None
    Console().print(table)
