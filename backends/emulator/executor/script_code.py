"""The user's code in script mode, on the emulator's side: its source archive and its requirements layer.

The SDKs upload the script's directory as `sourcedir.tar.gz` and name it in the hyperparameter
`sagemaker_submit_directory` (training) or the model's `SAGEMAKER_SUBMIT_DIRECTORY` (serving), with the entry
point in `sagemaker_program` / `SAGEMAKER_PROGRAM`.

A `requirements.txt` at the archive's root is installed, as the framework container installs it before the
script runs, but not into the runtime: into a layer of its own beside it (`pip install --prefix`), found again by
the hash of the runtime's pins and the file's bytes, so the next job with the same requirements starts at once
and no job changes what another one sees. Packages the runtime already has are not installed again. The layer
is made under a lock and renamed into place when complete, so a half-made layer is never used. Without a
package index (offline) and without a layer for these requirements, the job fails saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..algorithms.images import AlgorithmImage
from ..runtimes import Runtime, RuntimeStore
from ..runtimes.store import locked
from .artifacts import UnsafeArchive, unpack_model
from .s3_transfer import DataError, split_uri

REQUIREMENTS = "requirements.txt"
_PIP_TIMEOUT_SECONDS = 1800


class RequirementsError(Exception):
    """pip could not install the requirements: the text is the toolkit's InstallRequirementsError."""


def trains_script(image: AlgorithmImage | None, hyperparameters: dict[str, Any]) -> bool:
    """A training job runs the user's script: on a framework image always, on the XGBoost image when
    `sagemaker_program` names one (the container's framework mode)."""
    return image is not None and (image.script_mode_only or "sagemaker_program" in hyperparameters)


def serves_script(image: AlgorithmImage | None, environment: dict[str, Any]) -> bool:
    """A model is served by the user's inference script: on a framework image always, on the XGBoost image when
    its Environment has `SAGEMAKER_PROGRAM`."""
    return image is not None and (image.script_mode_only or "SAGEMAKER_PROGRAM" in environment)


def framework_runtime(image: AlgorithmImage, runtimes_dir: Path | None) -> Runtime:
    """The installed runtime that runs a user's script for `image`; without one, the job fails saying how to install
    it (a user's script needs the image's framework and the toolkit: the emulator's own environment has neither)."""
    runtime = RuntimeStore(runtimes_dir).find(image.runtime_key)
    if runtime is None:
        raise DataError(
            f"The {image.algorithm} {image.version} image runs the user's script in the emulator's "
            f"{image.runtime_key} runtime, which is not installed. Install it with `harness runtimes install "
            f"{image.runtime_key}` (or the image URI).")
    if not runtime.runs_scripts:
        raise DataError(
            f"The emulator's {image.runtime_key} runtime was installed without the sagemaker-training toolkit that "
            f"runs the user's script. Reinstall it with `harness runtimes install --force {image.runtime_key}`.")
    return runtime


CONTAINER_ROOT = "/opt/ml"
# Files of the SDK's driver channel in which /opt/ml is mapped to the job's workspace.
_MAPPED_SUFFIXES = (".py", ".sh", ".json", ".env", ".txt", ".yaml", ".yml")


def map_container_paths(text: str, opt_ml: Path) -> str:
    """`/opt/ml/...` as the job's workspace holds it."""
    return text.replace(CONTAINER_ROOT, str(opt_ml))


def map_container_paths_in(directory: Path, opt_ml: Path) -> None:
    """Map /opt/ml in the text files of `directory` (a channel of driver scripts that hard-code the container's
    paths, as SDK 3.x's `sm_drivers`) to the job's workspace."""
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix in _MAPPED_SUFFIXES:
            text = path.read_text(errors="surrogateescape")
            if CONTAINER_ROOT in text:
                path.write_text(map_container_paths(text, opt_ml), errors="surrogateescape")


def hyperparameter(hyperparameters: dict[str, Any], name: str) -> str | None:
    """A `sagemaker_*` hyperparameter's value: the SDKs send them JSON-encoded (`"\\"train.py\\""`), boto3 users
    often plain; the toolkit decodes JSON and keeps a value that is not JSON as it is."""
    raw = hyperparameters.get(name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return str(raw)
    return value if isinstance(value, str) else str(raw)


def fetch_source(s3: Any, uri: str, destination: Path) -> None:
    """Download and unpack `sourcedir.tar.gz` (an `s3://` URI) into `destination`."""
    if not uri.startswith("s3://"):
        raise DataError(f"The submit directory {uri!r} is not an s3:// URI; the emulator fetches the script's "
                        "source from S3, as SageMaker does (upload it, or let the SDK upload it for you).")
    bucket, key = split_uri(uri)
    with tempfile.TemporaryDirectory(prefix="sourcedir-") as scratch:
        archive = Path(scratch) / "sourcedir.tar.gz"
        try:
            s3.download_file(bucket, key, str(archive))
        except Exception as exc:
            raise DataError(f"Could not download the script's source {uri}: {exc}") from None
        try:
            unpack_model(archive, destination)
        except (OSError, EOFError, tarfile.TarError, UnsafeArchive) as exc:
            raise DataError(f"The script's source {uri} is not a valid tar.gz archive: {exc}") from None


def requirements_layer(runtime: Runtime, requirements: Path, log: Path) -> Path | None:
    """The site-packages directory holding `requirements` installed over `runtime` (made now, or found made
    earlier), or None when there is no requirements file. Progress and pip's output go to the job's `log`."""
    if not requirements.is_file():
        return None
    content = requirements.read_bytes()
    digest = hashlib.sha256(json.dumps(runtime.spec.requirements).encode() + b"\0" + content).hexdigest()[:16]
    layers = runtime.root / ".layers" / runtime.spec.image_version
    layer = layers / digest
    site = _site_packages(layer, runtime.spec.python)
    layers.mkdir(parents=True, exist_ok=True)
    with locked(layers / f".{digest}.lock"):
        if layer.is_dir():
            _say(log, f"Reusing the layer of these requirements ({REQUIREMENTS} sha256 {digest}): {layer}")
            return site
        _say(log, f"Installing dependencies from {REQUIREMENTS} into a layer over the {runtime.spec.image_version} "
                  f"runtime (kept for the next job with the same requirements: {layer})")
        building = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=layers))
        command = [str(runtime.python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                   "--progress-bar", "off", "--no-warn-script-location", "--prefix", str(building), "-r",
                   str(requirements)]
        try:
            code = _run_logged(command, log, requirements.parent)
            if code != 0:
                _say(log, f"pip could not install {REQUIREMENTS} (exit {code}). If this machine has no package "
                          "index (offline), no layer of these requirements is cached either: install them once "
                          "where the index can be reached, or give pip a local one (PIP_INDEX_URL, "
                          "PIP_FIND_LINKS).")
                raise RequirementsError(
                    f'InstallRequirementsError:\nExitCode {code}\nErrorMessage ""\n'
                    f'Command "{runtime.python} -m pip install -r {REQUIREMENTS}"')
            os.replace(building, layer)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return site


def _site_packages(prefix: Path, python: str) -> Path:
    return prefix / "lib" / f"python{python}" / "site-packages"


def _run_logged(command: list[str], log: Path, cwd: Path) -> int:
    with open(log, "ab") as out:
        try:
            return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                  env=_pip_environment(), timeout=_PIP_TIMEOUT_SECONDS, check=False).returncode
        except subprocess.TimeoutExpired:
            return 124


def _pip_environment() -> dict[str, str]:
    # The runtime's pip, not the emulator's environment: none of its paths.
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_PREFIX", "PIP_TARGET", "PIP_USER")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _say(log: Path, message: str) -> None:
    with open(log, "a") as out:
        out.write(message + "\n")


def serving_code(s3: Any, environment: dict[str, Any], runtime: Runtime, directory: Path, log: Path) -> dict[str, Any]:
    """Fetch a script-mode model's inference code (`SAGEMAKER_SUBMIT_DIRECTORY`) into `directory/code` and make
    its requirements layer; returns the settings `frameworks.script_serving` reads."""
    program = environment.get("SAGEMAKER_PROGRAM")
    submitted = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not program or not submitted:
        missing = "SAGEMAKER_PROGRAM" if not program else "SAGEMAKER_SUBMIT_DIRECTORY"
        raise DataError(f"The model's container Environment has no {missing}: a framework image serves the "
                        "inference script that SAGEMAKER_PROGRAM names, from the source archive that "
                        "SAGEMAKER_SUBMIT_DIRECTORY names (the SDK sets both).")
    code = directory / "code"
    fetch_source(s3, str(submitted), code)
    layer = requirements_layer(runtime, code / REQUIREMENTS, log)
    return {"code_dir": str(code), "program": str(program), "layer": str(layer) if layer else None,
            "framework": runtime.spec.framework, "version": runtime.spec.image_version}
