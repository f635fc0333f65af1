"""What a runtime holds for each image: the framework release the image pins and an interpreter for it.

XGBoost runtimes are named by the built-in image's version ("1.7-1"); SKLearn framework runtimes by
"sklearn-<version>" ("sklearn-1.2-1"). The XGBoost part:

The release comes from `versions.py` (read from each image's Dockerfile), except where the release that
Dockerfile names cannot run on a Python this machine has; `note` says so where that happens. The other
pins are the same everywhere: numpy 1.x (XGBoost < 2 calls numpy APIs that numpy 2 removed), scipy (which
every XGBoost release requires) and scikit-learn (the container computes accuracy, f1, ... with it). For script
mode each also gets the training toolkit and pandas (`extras`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..algorithms.xgboost.versions import VERSIONS, ContainerVersion, ModelFormat

# One set of pins that installs from wheels on Python 3.9 and 3.11 and works with every XGBoost from 0.72.
COMMON_REQUIREMENTS = ("numpy==1.26.4", "scipy==1.11.4", "scikit-learn==1.3.2")
# The training toolkit that runs a user's script (XGBoost framework mode, the SKLearn images), at the release the
# SKLearn images pin; its protobuf pin is the toolkit's own limit (<= 3.20.3).
TOOLKIT = ("sagemaker-training==4.8.0", "protobuf==3.20.2")
# The XGBoost images hold pandas, which users' scripts read their CSV channels with (the images pin 1.x releases;
# 1.5.3, the last, has wheels for both Pythons and numpy 1.26). The built-in algorithm then parses large CSV
# payloads with it too, to the same values (see payloads.py).
SCRIPT_PANDAS = "pandas==1.5.3"

# XGBoost's CPU-only distribution exists from 2.1.1; older releases come as one `xgboost` wheel.
_CPU_PACKAGE_FROM = (2, 1, 1)

# The legacy `xgboost:1` image ran XGBoost 0.72 on Python 2.7. 0.72.1 (the only 0.72 on PyPI) has no wheel:
# it is built from its source distribution, which uses `collections.Mapping` and so needs Python <= 3.9.
_PIP_RELEASE = {"0.72": "0.72.1"}
_PYTHON = {"0.72": "3.9"}
DEFAULT_PYTHON = "3.11"

# What `xgboost-model` holds in the real image: a pickled Booster, or `save_model`'s default for a name
# without extension in that release (versions.py records JSON for 1.3-1 .. 1.7-1: what XGBoost 3.2 writes
# for them when no runtime is installed).
_FORMAT_NAMES = {ModelFormat.PICKLE: "pickle", ModelFormat.JSON: "binary", ModelFormat.UBJSON: "UBJSON"}


# Modules a runtime must import for the emulator to run its jobs (its warm process server preloads them).
XGBOOST_RUNNER_MODULES = ("backends.emulator.algorithms.xgboost.entry", "backends.emulator.executor.transform_entry")
SCRIPT_RUNNER_MODULES = ("backends.emulator.frameworks.script_training", "backends.emulator.frameworks.script_serving",
                         "backends.emulator.executor.transform_entry")


@dataclass(frozen=True)
class RuntimeSpec:
    image_version: str  # the runtime's name: "1.7-1", "sklearn-1.2-1"
    release: str  # the framework release the image runs, e.g. XGBoost "1.7.4", scikit-learn "1.2.1"
    pip_release: str  # what is installed: the same, or the nearest release on PyPI
    python: str  # "3.11"
    requirements: tuple[str, ...]
    artifact_format: str
    note: str | None = None
    framework: str = "xgboost"  # the importable module whose __version__ must be pip_release
    runner_modules: tuple[str, ...] = XGBOOST_RUNNER_MODULES
    # Installed after `requirements`, and not part of what makes an installed runtime up to date: a runtime
    # installed before they were added still runs the built-in algorithm (script mode asks for a reinstall).
    extras: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return self.requirements[0].split("==")[0]

    @property
    def image_tag(self) -> str:
        """The version in the image's URI: the runtime's name less its framework ("sklearn-1.2-1" -> "1.2-1")."""
        prefix = f"{self.framework}-"
        return self.image_version[len(prefix):] if self.image_version.startswith(prefix) else self.image_version

    @property
    def framework_name(self) -> str:
        return {"xgboost": "XGBoost", "sklearn": "scikit-learn"}[self.framework]


def _release_tuple(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split(".") if part.isdigit())


def _spec(rules: ContainerVersion) -> RuntimeSpec:
    pip_release = _PIP_RELEASE.get(rules.xgboost_release, rules.xgboost_release)
    package = "xgboost-cpu" if _release_tuple(pip_release) >= _CPU_PACKAGE_FROM else "xgboost"
    note = None
    if pip_release != rules.xgboost_release:
        note = f"XGBoost {rules.xgboost_release} is on PyPI as {pip_release}"
    return RuntimeSpec(
        image_version=rules.key,
        release=rules.xgboost_release,
        pip_release=pip_release,
        python=_PYTHON.get(rules.xgboost_release, DEFAULT_PYTHON),
        requirements=(f"{package}=={pip_release}", *COMMON_REQUIREMENTS),
        artifact_format=_FORMAT_NAMES[rules.model_format],
        note=note,
        extras=(*TOOLKIT, SCRIPT_PANDAS),
    )


# The SKLearn framework images' pins, from each version's Dockerfile and requirements.txt in
# aws/sagemaker-scikit-learn-container: Python, scikit-learn, numpy/scipy/pandas, and the sagemaker-training
# toolkit that runs the user's script (with the boto3 and protobuf it is pinned with). 1.4-2's image patches
# sagemaker-containers for Python 3.10; the runtimes do not install sagemaker-containers (the toolkit's own
# `train` runs the script: see frameworks/script_training.py). 0.20.0 and 0.23-1 (Python 3.6, 3.7) are not
# offered: the runner code needs Python 3.8 or later.
_SKLEARN = {
    "1.0-1": ("3.8", "1.0.2", ("numpy==1.24.1", "scipy==1.8.0", "pandas==1.1.3"), "4.7.4"),
    "1.2-1": ("3.9", "1.2.1", ("numpy==1.24.1", "scipy==1.8.0", "pandas==1.1.3"), "4.8.0"),
    "1.4-2": ("3.10", "1.4.2", ("numpy==2.1.0", "scipy==1.14.1", "pandas==2.2.3"), "4.8.0"),
}
_SKLEARN_COMMON = ("protobuf==3.20.2", "boto3==1.28.57", "psutil==5.9.8", "retrying==1.3.3", "six==1.16.0")


def _sklearn_spec(version: str) -> RuntimeSpec:
    python, release, pins, toolkit = _SKLEARN[version]
    return RuntimeSpec(
        image_version=f"sklearn-{version}", release=release, pip_release=release, python=python,
        requirements=(f"scikit-learn=={release}", *pins, f"sagemaker-training=={toolkit}", *_SKLEARN_COMMON),
        artifact_format="the script's own",
        framework="sklearn", runner_modules=SCRIPT_RUNNER_MODULES,
    )


CATALOG: dict[str, RuntimeSpec] = {key: _spec(rules) for key, rules in VERSIONS.items()}
CATALOG.update({f"sklearn-{version}": _sklearn_spec(version) for version in _SKLEARN})


def runtime_spec(image_version: str) -> RuntimeSpec:
    try:
        return CATALOG[image_version]
    except KeyError:
        raise ValueError(
            f"unknown image version {image_version!r}; known versions: {', '.join(CATALOG)}"
        ) from None
