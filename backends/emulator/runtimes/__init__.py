"""Runtimes: isolated Python environments that each hold the XGBoost release an image version pins.

A job whose image version has an installed runtime trains and predicts in a process of that runtime's
interpreter (see `executor/processes.py`), so its model and predictions are the real container's. Without
one, the job runs on the XGBoost the emulator itself has, and its log says so.
"""

from __future__ import annotations

from .catalog import CATALOG, RuntimeSpec, runtime_spec
from .selection import fallback_note, runtime_for_job, runtime_noting_fallback
from .store import Runtime, RuntimeEntry, RuntimeInstallError, RuntimeState, RuntimeStore, default_root

__all__ = [
    "CATALOG",
    "Runtime",
    "RuntimeEntry",
    "RuntimeInstallError",
    "RuntimeSpec",
    "RuntimeState",
    "RuntimeStore",
    "default_root",
    "fallback_note",
    "runtime_for_job",
    "runtime_noting_fallback",
    "runtime_spec",
]
