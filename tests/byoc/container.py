"""A bring-your-own-container algorithm for the Docker runner's tests, following SageMaker's container contract.

`train`: reads `/opt/ml/input/config/hyperparameters.json` and the `train` channel (CSV, label first), writes
`/opt/ml/model/model.json` (the label's mean and a `scale` hyperparameter), prints what it saw. Hyperparameters
steer the failure paths: `fail` writes `/opt/ml/output/failure` and exits 1, `sleep` sleeps that many seconds.
`serve`: answers `GET /ping` and `POST /invocations` on port 8080; each CSV line becomes `mean + scale * x0`.

The same file is the image built by tests/byoc/Dockerfile (real engine) and what tests/byoc/fake_docker.py runs
in place of one (no engine): the fake points the /opt/ml paths and the port elsewhere with FAKE_DOCKER_* variables.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OPT_ML = Path(os.environ.get("FAKE_DOCKER_OPT_ML", "/opt/ml"))
MODEL_DIR = Path(os.environ.get("FAKE_DOCKER_MODEL_DIR", str(OPT_ML / "model")))
PORT = int(os.environ.get("FAKE_DOCKER_PORT", "8080"))


def train() -> int:
    hyperparameters = json.loads((OPT_ML / "input/config/hyperparameters.json").read_text())
    print(f"training job {os.environ.get('TRAINING_JOB_NAME')} with {sorted(hyperparameters)}", flush=True)
    print(f"endpoint {os.environ.get('AWS_ENDPOINT_URL', 'none')}", flush=True)
    if "sleep" in hyperparameters:
        time.sleep(float(hyperparameters["sleep"]))
    if "fail" in hyperparameters:
        (OPT_ML / "output/failure").write_text(f"bad hyperparameter fail={hyperparameters['fail']}")
        return 1
    labels = []
    for path in sorted((OPT_ML / "input/data/train").rglob("*")):
        if path.is_file():
            labels += [float(line.split(",")[0]) for line in path.read_text().splitlines() if line.strip()]
    model = {"mean": sum(labels) / len(labels), "scale": float(hyperparameters.get("scale", "1"))}
    (MODEL_DIR / "model.json").write_text(json.dumps(model))
    print(f"trained on {len(labels)} rows: {model}", flush=True)
    return 0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(200 if self.path == "/ping" else 404, b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if not (MODEL_DIR / "model.json").exists():
            self._answer(500, b"no model loaded")
            return
        model = json.loads((MODEL_DIR / "model.json").read_text())
        try:
            rows = [float(line.split(",")[0]) for line in body.splitlines() if line.strip()]
        except ValueError as exc:
            self._answer(415, f"cannot parse: {exc}".encode())
            return
        answer = "".join(f"{model['mean'] + model['scale'] * x}\n" for x in rows)
        self._answer(200, answer.encode(), "text/csv")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print("serve:", format % args, flush=True)


def serve() -> int:
    print(f"serving batch={os.environ.get('SAGEMAKER_BATCH')} on {PORT}", flush=True)
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit({"train": train, "serve": serve}[sys.argv[1]]())
