"""Batch transform with a model container: `<image> serve`, wait for `GET /ping`, POST each mini-batch to
`/invocations`, as SageMaker does for a bring-your-own inference image.

The record handling (split, batch, filter, join, assemble) is the emulator's own, the same as for the built-in
images (`transform_files.transform_inputs`); only `invoke` changes: an HTTP call to the container.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..transform.settings import TransformSettings
from .cloudwatch import LogShipper
from .docker_runner import ContainerProcess, DockerCli, serving_spec
from .s3_transfer import DataError
from .transform_files import InvocationError, transform_inputs

PING_TIMEOUT_SECONDS = 120.0  # how long a model container may take to answer /ping (SDK local mode waits as long)
DEFAULT_INVOCATION_TIMEOUT = 600  # ModelClientConfig.InvocationsTimeoutInSeconds' default


class ServingContainer:
    """A model container serving on a loopback port of this machine."""

    def __init__(self, process: ContainerProcess, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, stop: threading.Event, shipper: LogShipper, timeout: float = PING_TIMEOUT_SECONDS) -> None:
        """Until `/ping` answers 200; a DataError (the job's ClientError) if the container exits or never does."""
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            code = self.process.poll()
            if code is not None:
                raise DataError(f"The model container exited with code {code} before answering /ping. "
                                "See job logs for more information")
            if self._pinged():
                return
            if time.monotonic() > deadline:
                raise DataError(f"The model container did not answer GET /ping with 200 within {timeout:.0f} s. "
                                "See job logs for more information")
            shipper.pump()
            time.sleep(0.2)

    def invoke(self, payload: bytes, content_type: str | None, accept: str | None, timeout: float) -> bytes:
        headers = {key: value for key, value in (("Content-Type", content_type), ("Accept", accept)) if value}
        request = urllib.request.Request(f"{self.url}/invocations", data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")[:500]
            raise InvocationError(f"Model container answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise InvocationError(f"Model container did not answer /invocations: {exc}") from None

    def close(self, grace_seconds: float) -> None:
        self.process.terminate()
        if self.process.wait(grace_seconds) is None:
            self.process.kill()
            self.process.wait(10)

    def _pinged(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def run_container_transform(cli: DockerCli, root: Path, job: dict[str, Any], container: dict[str, Any],
                            relatives: list[str], stop: threading.Event, shipper: LogShipper, region: str,
                            grace_seconds: float) -> None:
    """Serve the model from its image and transform every input object; outputs and `failures.json` land in the
    workspace exactly as the built-in path leaves them. Returns early (outputs incomplete) when `stop` is set."""
    settings = TransformSettings.from_request(job)
    timeout = float((job.get("ModelClientConfig") or {}).get("InvocationsTimeoutInSeconds")
                    or DEFAULT_INVOCATION_TIMEOUT)
    # SageMaker sends at most MaxConcurrentTransforms requests at once; 1 when the request leaves it out.
    concurrency = int(job.get("MaxConcurrentTransforms") or 1)
    port = free_port()
    serving = ServingContainer(cli.run(serving_spec(job, container, root / "model", port, region), root / "job.log"),
                               port)
    outcome: list[BaseException] = []
    worker: threading.Thread | None = None
    try:
        serving.wait_ready(stop, shipper)
        if stop.is_set():
            return

        def work() -> None:
            try:
                transform_inputs(root, relatives, settings,
                                 lambda payload: serving.invoke(payload, settings.content_type, settings.accept,
                                                                timeout),
                                 concurrency, emit=shipper.write)
            except BaseException as exc:  # re-raised in the job's thread below
                outcome.append(exc)

        worker = threading.Thread(target=work, name="container-transform", daemon=True)
        worker.start()
        while worker.is_alive() and not stop.is_set():
            shipper.pump()
            worker.join(0.1)
    finally:
        serving.close(grace_seconds)  # on stop, this also makes pending invocations fail fast
    if worker is not None:
        worker.join(timeout + 10)
    if outcome and not stop.is_set():
        raise outcome[0]


def free_port() -> int:
    """A free TCP port on the loopback interface, for the container's published port 8080."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
