"""Transforming a workspace's input objects into its output objects through a model's `invoke`.

Shared by the two ways a model answers: the built-in XGBoost handler inside the job's forked process
(`transform_entry`), and a model container's `/invocations` (`docker_serving`). No algorithm imports here, so
the emulator's own process can use it without loading XGBoost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..transform.errors import TransformError
from ..transform.pipeline import TransformSettings, transform_object

if TYPE_CHECKING:
    from ..transform.pipeline import InvokeMany
from .workspace import safe_join


class InvocationError(Exception):
    """The model answered an invocation with an error status, as the container's HTTP server would."""


def transform_inputs(root: Path, relatives: list[str], settings: TransformSettings, invoke: Callable[[bytes], bytes],
                     concurrency: int, emit: Callable[[str], None] | None = None,
                     invoke_many: InvokeMany | None = None) -> dict[str, str]:
    """Transform each input object under `root/input` into `root/output/<relative>.out` through `invoke` (the model,
    in this process or a container's /invocations), or `invoke_many` for an object of many requests (see
    `transform_object`); records the failed ones in `root/failures.json`."""
    say = emit or (lambda line: print(line, flush=True))
    failures: dict[str, str] = {}
    for relative in relatives:
        source = safe_join(root / "input", relative)
        target = safe_join(root / "output", relative + ".out")
        try:
            output = transform_object(source.read_bytes(), settings, invoke, concurrency, invoke_many=invoke_many)
        except TransformError as exc:
            failures[relative] = str(exc)
            say(f"ERROR: {relative}: {exc}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(output)
        partial.rename(target)  # an output exists whole or not at all
        say(f"Transformed {relative}: {len(output)} bytes")
    (root / "failures.json").write_text(json.dumps(failures))
    return failures
