"""Script-mode training inside a framework runtime: the open-source `sagemaker-training` toolkit's own `train`.

The framework container's entry point runs the toolkit, which reads `/opt/ml/input/config/*.json`, downloads
`sagemaker_submit_directory` into `/opt/ml/code`, installs `requirements.txt`, exports the `SM_*` environment,
runs the `sagemaker_program` with the hyperparameters as command-line arguments, and writes
`/opt/ml/output/failure` when the script fails. Here the toolkit does all of that itself, pointed at the job's
workspace instead of `/opt/ml` (`SAGEMAKER_BASE_DIR`) and at the emulator's S3 for the download; the
requirements are already in the layer on `PYTHONPATH` (`executor/script_code.py`), so its pip finds them
installed.

The process makes a process group of its own and becomes the toolkit (exec), so the user's script is in that
group and a stop (SIGTERM, then SIGKILL) reaches both.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def run_script_training(opt_ml: str, settings_file: str) -> int:
    """Never returns on success (the process becomes the toolkit); returns 1 if the toolkit cannot start."""
    settings = json.loads(Path(settings_file).read_text())
    train = Path(sys.executable).parent / "train"
    if not train.exists():
        print(f"The runtime has no sagemaker-training toolkit ({train} is missing): reinstall it with "
              f"`harness runtimes install --force {settings['runtime']}`.", flush=True)
        return 1
    env = script_environment(opt_ml, settings)
    os.setpgid(0, 0)
    os.chdir(opt_ml)
    os.execve(str(train), [str(train)], env)
    return 1  # unreachable


def script_environment(opt_ml: str, settings: dict[str, Any]) -> dict[str, str]:
    """What the container's environment holds for the toolkit, redirected to this job's workspace and the
    emulator's endpoint. The runner's own path is not passed on: the script sees the runtime, its layer and
    its code only."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    endpoint = settings["endpoint_url"]
    region = settings["region"]
    env.update({
        "SAGEMAKER_BASE_DIR": opt_ml,
        # The toolkit otherwise resolves every host name (algo-1) and waits up to 15 minutes for them.
        "SM_STUDIO_LOCAL_MODE": "true",
        "S3_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "TRAINING_JOB_NAME": settings["job_name"],
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    env.update({str(k): str(v) for k, v in (settings.get("environment") or {}).items()})
    if settings.get("layer"):
        env["PYTHONPATH"] = settings["layer"]
    return env
