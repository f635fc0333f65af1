"""`harness runtimes list | install | remove`: the per-image environments (an XGBoost release per built-in image
version, scikit-learn and the training toolkit per SKLearn framework image), like pulling images."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from backends.emulator.algorithms.images import resolve_image
from backends.emulator.runtimes import CATALOG, RuntimeInstallError, RuntimeState, RuntimeStore
from backends.emulator.runtimes.store import ENV_VAR

console = Console(stderr=True)

_DIR_OPTION = click.option(
    "--dir", "root", type=click.Path(path_type=Path), envvar=ENV_VAR, show_envvar=True, default=None,
    help="Runtimes directory (default: ~/.cache/sagemaker-harness/runtimes).",
)


@click.group()
def runtimes() -> None:
    """Runtimes: one isolated Python environment per image, holding the framework release that image pins
    (XGBoost for the built-in algorithm's versions; scikit-learn and the sagemaker-training toolkit for the
    SKLearn framework images, which run your own scripts). A job whose image has one trains and predicts with
    it, as the real container does."""


@runtimes.command("list")
@_DIR_OPTION
def list_runtimes(root: Path | None) -> None:
    """Runtimes, their framework release and model format, and which are installed."""
    store = RuntimeStore(root)
    table = Table(title=f"runtimes in {store.root}", show_header=True, header_style="bold")
    for column in ("runtime", "framework", "Python", "model artifact", "status", "size"):
        table.add_column(column)
    for entry in store.entries():
        spec = entry.spec
        size = f"{entry.manifest['size_bytes'] / 1e6:.0f} MB" if entry.manifest else ""
        status = entry.state.value
        if entry.state is RuntimeState.OUTDATED:
            status += f" (reinstall: harness runtimes install --force {spec.image_version})"
        release = spec.release if spec.pip_release == spec.release else f"{spec.release} ({spec.pip_release})"
        release = f"{spec.framework_name} {release}"
        table.add_row(spec.image_version, release, spec.python, spec.artifact_format, status, size)
    output = Console()
    output.width = max(output.width, 120)  # one row per version, even when stdout is not a terminal
    output.print(table)


@runtimes.command("install")
@click.argument("versions", nargs=-1, metavar="[VERSION | IMAGE-URI]...")
@click.option("--all", "install_all", is_flag=True, help="Install every image version's runtime.")
@click.option("--force", is_flag=True, help="Reinstall even if installed.")
@_DIR_OPTION
def install(versions: tuple[str, ...], install_all: bool, force: bool, root: Path | None) -> None:
    """Install the runtime of each image VERSION (1.7-1, sklearn-1.2-1, ...), one after the other. An image URI
    as your code names it (for example 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1 or
    .../sagemaker-scikit-learn:1.2-1-cpu-py3) stands for its runtime."""
    chosen = list(CATALOG) if install_all else _image_versions(versions)
    if not chosen:
        raise click.UsageError(f"name an image version ({', '.join(CATALOG)}) or give --all")
    store = RuntimeStore(root)
    failed: list[str] = []
    for version in chosen:
        try:
            store.install(version, progress=lambda message: console.print(message, highlight=False),
                          force=force)
        except RuntimeInstallError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            failed.append(version)
    if failed:
        raise click.ClickException(f"could not install: {', '.join(failed)}")


@runtimes.command("remove")
@click.argument("versions", nargs=-1, required=True, metavar="VERSION | IMAGE-URI...")
@_DIR_OPTION
def remove(versions: tuple[str, ...], root: Path | None) -> None:
    """Remove the runtime of each image VERSION or image URI (its jobs then use the emulator's XGBoost)."""
    store = RuntimeStore(root)
    for version in _image_versions(versions):
        removed = store.remove(version)
        console.print(f"{version}: {'removed' if removed else 'not installed'}", highlight=False)


def _image_versions(arguments: tuple[str, ...]) -> list[str]:
    """The runtime each argument names: a runtime's name itself, or an image URI of a built-in XGBoost image or
    an SKLearn framework image."""
    versions: list[str] = []
    for argument in arguments:
        if argument in CATALOG:
            version = argument
        elif "/" in argument or ":" in argument:
            image = resolve_image(argument)
            if image is None:
                raise click.BadParameter(
                    f"{argument} is not an image the emulator has a runtime for. Runtimes are for the built-in "
                    "XGBoost images and the SKLearn framework images as SageMaker names them in each region: "
                    "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version> (or xgboost:1) and "
                    ".../sagemaker-scikit-learn:<1.0-1|1.2-1|1.4-2>-cpu-py3, with the region's account (what "
                    "sagemaker.image_uris.retrieve('xgboost' or 'sklearn', region, version) returns).",
                    param_hint="IMAGE-URI")
            version = image.runtime_key
        else:
            raise click.BadParameter(f"unknown image version {argument}; known: {', '.join(CATALOG)}",
                                     param_hint="VERSION")
        if version not in versions:
            versions.append(version)
    return versions
