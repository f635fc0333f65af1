"""Runtimes for the tests: installed once into `.runtimes/` at the repository root (git-ignored) and kept
there across sessions. A runtime that cannot be installed fails the tests that need it.

The default run tests the 1.7-1 runtime, and the seed image's (`1`, XGBoost 0.72) too for tests marked
`default_runtimes("1", "1.7-1")`; `--all-runtimes` tests every image version's, and `--runtimes 0.90-1,1.0-1`
the ones named.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.emulator.runtimes import Runtime, RuntimeStore
from backends.emulator.server import Emulator, EmulatorConfig
from tests.conftest import make_client
from tests.runtimes.helpers import RUNTIMES_DIR, installed_runtime

DEFAULT_VERSIONS = ["1.7-1"]
# Image versions whose runtime installs on this machine's Pythons (see backends/emulator/runtimes/catalog.py).
ALL_VERSIONS = ["1", "0.90-1", "0.90-2", "1.0-1", "1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5", "3.2-0"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime_version" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--runtimes")
        if chosen:
            versions = chosen.split(",")
        elif metafunc.config.getoption("--all-runtimes"):
            versions = ALL_VERSIONS
        else:
            marker = metafunc.definition.get_closest_marker("default_runtimes")
            versions = list(marker.args) if marker is not None else DEFAULT_VERSIONS
        metafunc.parametrize("runtime_version", versions, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `runtime_versions(...)` states what only those image versions' containers do (a reference
    exists for them only): it is deselected, not skipped, for the other runtimes chosen."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("runtime_versions")
        callspec = getattr(item, "callspec", None)
        version = callspec.params.get("runtime_version") if callspec is not None else None
        if marker is not None and version is not None and version not in marker.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def runtime_store() -> RuntimeStore:
    return RuntimeStore(RUNTIMES_DIR)


@pytest.fixture(scope="session")
def runtime(runtime_version: str) -> Runtime:
    return installed_runtime(runtime_version)


@pytest.fixture(scope="session")
def runtime_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator (embedded moto) whose jobs run in the runtimes of `.runtimes/`."""
    config = EmulatorConfig(state_dir=tmp_path_factory.mktemp("runtime-state"), runtimes_dir=RUNTIMES_DIR,
                            persist_services=False)
    with Emulator(config) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def rt_clients(runtime_emulator: Emulator) -> dict[str, object]:
    clients = {name: make_client(name, runtime_emulator.endpoint_url) for name in ("sagemaker", "s3", "logs")}
    clients["s3"].create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    return clients


BUCKET = "sagemaker-us-east-1-123456789012"
