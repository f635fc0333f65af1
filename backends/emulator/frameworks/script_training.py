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

# What the emulator's own environment passes on to a user's script: where it runs (PATH, HOME, locale, temporary
# directory, time zone) and how it reaches a package index for its requirements (pip's settings, proxies,
# certificates). Nothing else: not the emulator's credentials, virtual environment or Python settings.
_PASSED = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TMPDIR", "TZ", "TERM", "SSL_CERT_FILE",
           "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY",
           "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "PYTHONNOUSERSITE"}
_PASSED_PREFIXES = ("LC_", "PIP_")


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


def run_container_command(opt_ml: str, settings_file: str) -> int:
    """The job's own ContainerEntrypoint + ContainerArguments (`settings["command"]`, its /opt/ml paths already
    mapped to the workspace), run with the runtime's `python`, `python3` and `pip` first on PATH, in a process
    group of its own. Never returns on success (the process becomes the command)."""
    settings = json.loads(Path(settings_file).read_text())
    env = script_environment(opt_ml, settings)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    os.setpgid(0, 0)
    os.chdir(opt_ml)
    command = [str(part) for part in settings["command"]]
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        print(f"The container's entry point {command[0]!r} could not be run: {error}", flush=True)
    return 1


def script_environment(opt_ml: str, settings: dict[str, Any]) -> dict[str, str]:
    """What the container's environment holds for the toolkit, redirected to this job's workspace and the
    emulator's endpoint. The runner's own path is not passed on: the script sees the runtime, its layer and
    its code only."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED or k.startswith(_PASSED_PREFIXES)}
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
