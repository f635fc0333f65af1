"""The listing properties' emulator: one per module, with its own state, whose store the tests seed directly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backends.emulator.server import Emulator, EmulatorConfig
from tests.conftest import make_client

LISTING_REGION = "us-west-2"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("list-paging")
    with Emulator(EmulatorConfig(state_dir=state, persist_services=False, max_running_jobs=1)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def sm(emu: Emulator) -> Any:
    return make_client("sagemaker", emu.endpoint_url, region=LISTING_REGION)
