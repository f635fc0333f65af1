"""Load: 50 training jobs and 20 transform jobs submitted at once from several threads, on 2 cores.

Every job reaches a terminal state with correct output, none is lost, and the server's memory stays
bounded: jobs beyond `--max-running-jobs` wait in `Starting` instead of exhausting the machine.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import ROLE, XGB_17, free_port, make_client, serve, upload_csv, wait_training, wait_transform
from tests.integration.requests import training_request

TRAINING_JOBS = 50
TRANSFORM_JOBS = 20


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_fifty_trainings_and_twenty_transforms_at_once(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path / "state", port)
    endpoint = f"http://127.0.0.1:{port}"
    peak = {"rss": 0.0}
    done = threading.Event()

    def watch_memory() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], _rss_mb(server.pid))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch_memory, daemon=True)
    try:
        sagemaker: Any = make_client("sagemaker", endpoint)
        s3: Any = make_client("s3", endpoint)
        s3.create_bucket(Bucket="load")
        frame = pd.DataFrame(np.random.default_rng(5).normal(size=(400, 6)))
        train = upload_csv(s3, "load", "data/train.csv", frame)
        test = upload_csv(s3, "load", "data/test/test.csv", frame.iloc[:, 1:])
        baseline = _rss_mb(server.pid)
        watcher.start()
        started = time.time()

        def one_training(i: int) -> dict[str, Any]:
            client = make_client("sagemaker", endpoint)
            name = f"load-train-{i}"
            client.create_training_job(**training_request(name, "load", train, image=XGB_17,
                                                          hyperparameters={"num_round": "10"}))
            return wait_training(client, name, timeout=600)

        with ThreadPoolExecutor(max_workers=8) as pool:
            trainings = list(pool.map(one_training, range(TRAINING_JOBS)))
        assert [job["TrainingJobStatus"] for job in trainings] == ["Completed"] * TRAINING_JOBS
        artifact = trainings[0]["ModelArtifacts"]["S3ModelArtifacts"]
        sagemaker.create_model(**model_request("load-model", XGB_17, artifact, ROLE))

        def one_transform(i: int) -> dict[str, Any]:
            client = make_client("sagemaker", endpoint)
            name = f"load-transform-{i}"
            client.create_transform_job(**transform_job_request(TransformConfig(
                job_name=name, model_name="load-model", input_uri=test, output_path=f"s3://load/out/{i}/")))
            return wait_transform(client, name, timeout=600)

        with ThreadPoolExecutor(max_workers=8) as pool:
            transforms = list(pool.map(one_transform, range(TRANSFORM_JOBS)))
        elapsed = time.time() - started
        assert [job["TransformJobStatus"] for job in transforms] == ["Completed"] * TRANSFORM_JOBS
        outputs = {s3.get_object(Bucket="load", Key=f"out/{i}/test.csv.out")["Body"].read()
                   for i in range(TRANSFORM_JOBS)}
        assert len(outputs) == 1 and len(next(iter(outputs)).splitlines()) == 400
        listed = sagemaker.get_paginator("list_training_jobs").paginate(NameContains="load-train")
        assert sum(len(page["TrainingJobSummaries"]) for page in listed) == TRAINING_JOBS
        done.set()
        watcher.join()
        growth = peak["rss"] - baseline
        print(f"\nload: {TRAINING_JOBS} trainings + {TRANSFORM_JOBS} transforms in {elapsed:.1f} s; "
              f"server RSS {baseline:.0f} MB -> peak {peak['rss']:.0f} MB")
        # Bounded: job data lives in job processes and S3, not in the server.
        assert growth < 400, f"server memory grew by {growth:.0f} MB"
    finally:
        done.set()
        server.terminate()
        server.wait(30)
