"""The base of the algorithm images: a minimal Debian root filesystem made with debootstrap and imported into
the Docker engine once, so that no container registry is needed.

The images carry their own interpreter (the runtime's, see `algorithm.py`), so the base only has to provide the
C libraries that interpreter and XGBoost link against: glibc and libstdc++ of this machine's Debian release
(the runtimes were built here, so an older release could lack symbols they need), libgomp for XGBoost's
OpenMP, and the libraries of Python's own extension modules (ssl, ffi, sqlite, bz2, lzma), which Debian's
`python3` package brings in. The release is this machine's (`VERSION_CODENAME` of /etc/os-release), the
packages come from the mirror apt uses here, and the result is tagged `sagemaker-harness/base:<release>`.

The same base serves the images that install packages while they build (the emulator's, LocalStack's, the
test algorithm's): it has Debian's Python with venv and pip, and trusts the certificate authorities this
machine added (`/usr/local/share/ca-certificates`), as builds that reach the package registry from here need;
`PIP_CERT`, `SSL_CERT_FILE` and `REQUESTS_CA_BUNDLE` name the system bundle, since pip uses its own otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .docker_cli import DockerCliError, docker, image_exists, run_streamed

BASE_REPOSITORY = "sagemaker-harness/base"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MIRROR_VARIABLE = "HARNESS_DEBIAN_MIRROR"
PACKAGES = ("ca-certificates", "libgomp1", "libstdc++6", "python3", "python3-venv", "python3-pip")
EXTRA_CERTIFICATES = Path("/usr/local/share/ca-certificates")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_ENVIRONMENT = {"LANG": "C.UTF-8", "PIP_CERT": SYSTEM_BUNDLE, "SSL_CERT_FILE": SYSTEM_BUNDLE,
                "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


class BaseImageError(Exception):
    """The base image could not be made; the message says what to do."""


def release() -> str:
    """This machine's Debian release codename (bookworm, trixie, ...)."""
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        raise BaseImageError("cannot read /etc/os-release: the base image is made on Debian (or give --base)") \
            from None
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    if match is None or "debian" not in text.lower():
        raise BaseImageError("this machine is not Debian, so debootstrap cannot make the base image here; "
                             "give --base with an image of this machine's C library and libgomp")
    return match.group(1)


def apt_mirror() -> str:
    """$HARNESS_DEBIAN_MIRROR, else the Debian mirror apt uses on this machine, else deb.debian.org."""
    configured = os.environ.get(MIRROR_VARIABLE)
    if configured:
        return configured
    for sources in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        try:
            text = sources.read_text()
        except OSError:
            continue
        match = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.MULTILINE) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+\S+", text, re.MULTILINE)
        if match:
            return match.group(1)
    return DEFAULT_MIRROR


def ensure_base_image(say: Callable[[str], None], log: Path | None = None, force: bool = False,
                      codename: str | None = None) -> str:
    """The base image's name, made first if the engine does not have it (about a minute).

    `codename` is the Debian release to make it from: this machine's by default (see `release`); another one
    (`trixie` for a newer Python) serves only images that install their own packages, as LocalStack's does."""
    codename = codename or release()
    name = f"{BASE_REPOSITORY}:{codename}"
    if image_exists(name) and not force:
        say(f"base image {name}: present")
        return name
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise BaseImageError("making the base image needs debootstrap (`apt-get install debootstrap`), or give "
                             "--base with an image of your own")
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root to make the base image: run `harness images build` as root "
                             "once (later builds reuse it), or give --base")
    mirror = apt_mirror()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-base-") as scratch:
        root = Path(scratch) / "rootfs"
        say(f"base image {name}: debootstrap {codename} from {mirror} ({', '.join(PACKAGES)})")
        run_streamed([debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", codename, str(root),
                      mirror], lambda line: None, "debootstrap", log)
        # apt's lists and caches are of no use in an image that never runs apt.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / leftover, ignore_errors=True)
        _trust_extra_certificates(root, log)
        say(f"base image {name}: root filesystem made in {time.monotonic() - started:.0f} s; importing")
        _import(root, name)
    say(f"base image {name}: ready in {time.monotonic() - started:.0f} s")
    return name


def _trust_extra_certificates(root: Path, log: Path | None) -> None:
    """Copy this machine's added certificate authorities into the root filesystem and rebuild its bundle."""
    certificates = sorted(EXTRA_CERTIFICATES.glob("*.crt")) if EXTRA_CERTIFICATES.is_dir() else []
    if not certificates:
        return
    target = root / EXTRA_CERTIFICATES.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    for certificate in certificates:
        shutil.copy2(certificate, target / certificate.name)
    run_streamed(["chroot", str(root), "update-ca-certificates"], lambda line: None, "update-ca-certificates", log)


def _import(root: Path, name: str) -> None:
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    changes = [part for key, value in _ENVIRONMENT.items() for part in ("--change", f"ENV {key}={value}")]
    imported = subprocess.run([docker(), "import", *changes, "-", name], stdin=tar.stdout, capture_output=True,
                              text=True)
    assert tar.stdout is not None and tar.stderr is not None
    tar.stdout.close()
    tar_error = tar.stderr.read().decode(errors="replace")
    if tar.wait() != 0:
        raise DockerCliError(f"tar of the base root filesystem failed: {tar_error.strip()}")
    if imported.returncode != 0:
        raise DockerCliError(f"docker import {name} failed: {imported.stderr.strip()}")
