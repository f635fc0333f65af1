"""`harness runtimes list | install | remove`: the per-image-version XGBoost environments, like pulling images."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from backends.emulator.runtimes import CATALOG, RuntimeInstallError, RuntimeState, RuntimeStore
from backends.emulator.runtimes.store import ENV_VAR

console = Console(stderr=True)

_DIR_OPTION = click.option(
    "--dir", "root", type=click.Path(path_type=Path), envvar=ENV_VAR, show_envvar=True, default=None,
    help="Runtimes directory (default: ~/.cache/sagemaker-harness/runtimes).",
)


@click.group()
def runtimes() -> None:
    """Runtimes: one isolated Python environment per image version, holding the XGBoost release that image
    pins. A job whose image version has one trains and predicts with it, as the real container does."""


@runtimes.command("list")
@_DIR_OPTION
def list_runtimes(root: Path | None) -> None:
    """Image versions, their XGBoost release and model format, and which runtimes are installed."""
    store = RuntimeStore(root)
    table = Table(title=f"runtimes in {store.root}", show_header=True, header_style="bold")
    for column in ("image version", "XGBoost", "Python", "model artifact", "status", "size"):
        table.add_column(column)
    for entry in store.entries():
        spec = entry.spec
        size = f"{entry.manifest['size_bytes'] / 1e6:.0f} MB" if entry.manifest else ""
        status = entry.state.value
        if entry.state is RuntimeState.OUTDATED:
            status += f" (reinstall: harness runtimes install --force {spec.image_version})"
        release = spec.xgboost_release if spec.pip_release == spec.xgboost_release else (
            f"{spec.xgboost_release} ({spec.pip_release})")
        table.add_row(spec.image_version, release, spec.python, spec.artifact_format, status, size)
    output = Console()
    output.width = max(output.width, 110)  # one row per version, even when stdout is not a terminal
    output.print(table)


@runtimes.command("install")
@click.argument("versions", nargs=-1)
@click.option("--all", "install_all", is_flag=True, help="Install every image version's runtime.")
@click.option("--force", is_flag=True, help="Reinstall even if installed.")
@_DIR_OPTION
def install(versions: tuple[str, ...], install_all: bool, force: bool, root: Path | None) -> None:
    """Install the runtime of each image VERSION, one after the other."""
    chosen = list(CATALOG) if install_all else list(versions)
    if not chosen:
        raise click.UsageError(f"name an image version ({', '.join(CATALOG)}) or give --all")
    _check_known(chosen)
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
@click.argument("versions", nargs=-1, required=True)
@_DIR_OPTION
def remove(versions: tuple[str, ...], root: Path | None) -> None:
    """Remove the runtime of each image VERSION (its jobs then use the emulator's XGBoost)."""
    _check_known(list(versions))
    store = RuntimeStore(root)
    for version in versions:
        removed = store.remove(version)
        console.print(f"{version}: {'removed' if removed else 'not installed'}", highlight=False)


def _check_known(versions: list[str]) -> None:
    unknown = [v for v in versions if v not in CATALOG]
    if unknown:
        raise click.BadParameter(f"unknown image version {', '.join(unknown)}; known: {', '.join(CATALOG)}")
