"""One image version's image: the runtime's interpreter and packages, the project's code, and the container
contract's two commands.

An XGBoost runtime makes an algorithm image (`train` runs the project's XGBoost algorithm,
`algorithms/xgboost/container.py`); an SKLearn runtime makes a framework image (`train` runs the
`sagemaker-training` toolkit on the user's script, `serve` the user's inference functions,
`frameworks/container.py`).

The image holds what a job runs on in the emulator, so the two agree by construction on the library side:
- the interpreter the runtime was made from (its installation prefix, less its own site-packages and tests),
  at /opt/python;
- the runtime's site-packages (that version's XGBoost or scikit-learn release, numpy, scipy, the toolkit), plus
  gunicorn and its dependency `packaging`, taken from this environment (pure Python);
- the `backends` package at /opt/harness (on PYTHONPATH), and nothing else of the project;
- `train` and `serve` on PATH, as SageMaker runs `docker run <image> train|serve`.

Nothing is downloaded: the build only copies files into the image, so it needs no registry and no network.
A build is skipped when the image already holds the same inputs (the label `sagemaker-harness.inputs`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..emulator.runtimes import Runtime
from ..emulator.runtimes.catalog import RuntimeSpec
from .docker_cli import DockerCliError, docker, image_size, run_streamed, tag

REPOSITORY = "sagemaker-harness/xgboost"
ENTRY_MODULE = "backends.emulator.algorithms.xgboost.container"
FRAMEWORK_ENTRY_MODULE = "backends.emulator.frameworks.container"
INPUTS_LABEL = "sagemaker-harness.inputs"
# Pure-Python distributions the image's `serve` needs besides the runtime's packages.
SERVER_DISTRIBUTIONS = ("gunicorn", "packaging")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # backends/
# Parts of an interpreter's installation a job never uses.
_NOT_COPIED = {"site-packages", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "__pycache__",
               "include", "share", "pkgconfig"}


@dataclass(frozen=True)
class BuildStep:
    name: str
    seconds: float


@dataclass
class ImageBuild:
    version: str
    image: str
    tags: list[str]
    skipped: bool = False
    size_bytes: int = 0
    steps: list[BuildStep] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


def build_algorithm_image(runtime: Runtime, base: str, uris: Iterable[str], say: Callable[[str], None],
                          log: Path | None = None, force: bool = False) -> ImageBuild:
    """Build (or find up to date) the image of `runtime`'s image version on `base`, tagged with `uris`."""
    version = runtime.spec.image_version
    local_name = local_image_name(runtime.spec)
    build = ImageBuild(version, local_name, [local_name, *uris])
    clock = time.monotonic()

    def step(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        build.steps.append(BuildStep(name, now - clock))
        clock = now

    interpreter = _interpreter(runtime)
    inputs = _inputs_digest(runtime, base, interpreter)
    step("inspect")
    if not force and _label(local_name) == inputs:
        say(f"{version}: {local_name} is up to date")
        build.skipped = True
    else:
        with tempfile.TemporaryDirectory(prefix=f"harness-image-{version}-") as scratch:
            context = Path(scratch)
            _context(runtime, interpreter, context, version, base)
            step("context")
            say(f"{version}: building {local_name} on {base} ({runtime.spec.framework_name} {runtime.release}, "
                f"Python {interpreter['version']})")
            run_streamed([docker(), "build", "--label", f"{INPUTS_LABEL}={inputs}", "-t", local_name, str(context)],
                         lambda line: None, f"docker build of {local_name}", log)
            step("docker build")
    for uri in build.tags[1:]:
        tag(local_name, uri)
    step("tag")
    build.size_bytes = image_size(local_name)
    return build


def local_image_name(spec: RuntimeSpec) -> str:
    """`sagemaker-harness/xgboost:1.7-1`, `sagemaker-harness/sklearn:1.2-1`."""
    repository = REPOSITORY if spec.framework == "xgboost" else f"sagemaker-harness/{spec.framework}"
    return f"{repository}:{spec.image_tag}"


def entry_module(spec: RuntimeSpec) -> str:
    return ENTRY_MODULE if spec.framework == "xgboost" else FRAMEWORK_ENTRY_MODULE


def _interpreter(runtime: Runtime) -> dict[str, str]:
    """The runtime's base installation: its prefix, `X.Y` and where the venv's site-packages are."""
    probe = ("import json, sys, sysconfig; print(json.dumps({'prefix': sys.base_prefix, 'version': "
             "'%d.%d' % sys.version_info[:2], 'site': sysconfig.get_paths()['purelib'], 'venv': sys.prefix}))")
    result = subprocess.run([str(runtime.python), "-I", "-c", probe], capture_output=True, text=True)
    if result.returncode != 0:
        raise DockerCliError(f"the {runtime.spec.image_version} runtime's interpreter does not run: "
                             f"{result.stderr.strip()[-500:]}")
    found: dict[str, str] = json.loads(result.stdout)
    return found


def _context(runtime: Runtime, interpreter: dict[str, str], context: Path, version: str, base: str) -> None:
    python = f"python{interpreter['version']}"
    shutil.copytree(interpreter["prefix"], context / "python", symlinks=True, ignore=_ignore)
    site = context / "site-packages"
    shutil.copytree(interpreter["site"], site, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    # What a release installed beside the venv's lib/ (XGBoost 0.72 puts libxgboost.so in <prefix>/xgboost/).
    extra = context / "prefix"
    extra.mkdir()
    for entry in Path(interpreter["venv"]).iterdir():
        if entry.name not in ("bin", "include", "lib", "lib64", "pyvenv.cfg", "share"):
            (shutil.copytree(entry, extra / entry.name, symlinks=True) if entry.is_dir()
             else shutil.copy2(entry, extra / entry.name))
    for name in SERVER_DISTRIBUTIONS:
        copy_distribution(name, site)
    shutil.copytree(_PACKAGE_DIR, context / "app" / _PACKAGE_DIR.name, ignore=shutil.ignore_patterns("__pycache__"))
    for command in ("train", "serve"):
        script = context / command
        script.write_text(f'#!/bin/sh\nexec /opt/python/bin/{python} -m {entry_module(runtime.spec)} {command} "$@"\n')
        script.chmod(0o755)
    (context / "Dockerfile").write_text(_dockerfile(python, runtime.spec, base))


def _dockerfile(python: str, spec: RuntimeSpec | None, base: str) -> str:
    version = spec.image_version if spec else ""
    framework, release = (spec.framework, spec.release) if spec else ("", "")
    return f"""FROM {base}
COPY python /opt/python
COPY site-packages /opt/python/lib/{python}/site-packages
COPY prefix /opt/python
COPY app /opt/harness
COPY train serve /usr/local/bin/
ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LD_LIBRARY_PATH=/opt/python/lib \\
    PYTHONPATH=/opt/harness \\
    PYTHONNOUSERSITE=1 \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    HARNESS_IMAGE_VERSION={version} \\
    HARNESS_FRAMEWORK={framework}
LABEL sagemaker-harness.image-version="{version}" sagemaker-harness.{framework}="{release}"
EXPOSE 8080
WORKDIR /opt/ml
"""


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in _NOT_COPIED}


def copy_distribution(name: str, site: Path) -> None:
    """Copy an installed pure-Python distribution (its files and metadata) into `site`, unless already there."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise DockerCliError(f"{name} is not installed here; the images' `serve` needs it (pip install {name})") \
            from None
    if any(site.glob(f"{name.replace('-', '_')}-*.dist-info")):
        return  # the runtime has its own
    for file in distribution.files or []:
        source = Path(str(distribution.locate_file(file)))
        if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc" or not source.is_file():
            continue  # scripts outside site-packages and byte code are not needed
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _inputs_digest(runtime: Runtime, base: str, interpreter: dict[str, str]) -> str:
    """What the image is made of: the runtime as installed, the base image, the server packages and the code."""
    digest = hashlib.sha256()
    base_id = subprocess.run([docker(), "image", "inspect", "--format", "{{.Id}}", base], capture_output=True,
                             text=True).stdout.strip()
    digest.update(json.dumps([runtime.identity, base_id, interpreter, entry_module(runtime.spec),
                              [importlib.metadata.version(name) for name in SERVER_DISTRIBUTIONS],
                              _dockerfile("", None, base)]).encode())
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_PACKAGE_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _label(image: str) -> str | None:
    result = subprocess.run([docker(), "image", "inspect", "--format", f'{{{{index .Config.Labels "{INPUTS_LABEL}"}}}}',
                             image], capture_output=True, text=True)
    return result.stdout.strip() or None if result.returncode == 0 else None
