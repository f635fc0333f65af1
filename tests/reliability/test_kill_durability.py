"""kill -9 of `harness serve` at random moments of a burst of S3 uploads, overwrites, copies and deletions,
CloudWatch Logs events, training jobs and batch transforms; after each restart nothing answered is lost and nothing
is inconsistent:

- every object whose upload (PutObject, multipart upload, CopyObject) was answered is there with the same bytes,
  and every object whose deletion (DeleteObject, DeleteObjects) was answered is gone; a request cut off by the
  kill left either the state before it or the state after it, never anything else;
- every Completed training job's model artifact exists, and every Completed transform's output objects;
- every log stream of a Completed job has events, every listed stream has events unless its job was interrupted
  by the kill before it logged anything (the stream, created and answered, is then empty, as CloudWatch keeps it);
- the events of every answered PutLogEvents are there, in order, and an interrupted call's are there whole or not
  at all.

Seeded, so a failure replays with the same operations and kill moments (the server's timing still varies).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from harness.requests import TransformConfig, model_request, transform_job_request
from tests.conftest import ROLE, TRAINING_LOGS, TRANSFORM_LOGS, XGB_17, free_port, serve
from tests.integration.requests import training_request

SEED = 18
KILLS = 20
BUCKET = "kill-durability"
GROUP = "/kill/durability"
STREAM = "events"
TRAIN = b"".join(f"{i % 7}.5,{i},{(i * 37) % 11}\n".encode() for i in range(80))
TEST = b"".join(f"{i},{(i * 37) % 11}\n".encode() for i in range(40))
MULTIPART = 9 * 2**20  # over boto3's 8 MiB threshold: upload_fileobj sends a multipart upload


def _client(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(
        service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60, s3={"addressing_style": "path"}))


@dataclass
class Ledger:
    """What the server answered: each key's acknowledged state (None: deleted) and the log events; and what was
    in flight when the server died (at most one S3 change per worker, one PutLogEvents)."""

    objects: dict[str, bytes | None] = field(default_factory=dict)
    in_flight: dict[str, bytes | None] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    events_in_flight: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    cut_off: int = 0

    def begin(self, changes: dict[str, bytes | None]) -> None:
        with self.lock:
            self.in_flight.update(changes)

    def done(self, changes: dict[str, bytes | None]) -> None:
        with self.lock:
            self.objects.update(changes)
            for key in changes:
                self.in_flight.pop(key, None)
            self.answered += 1

    def live(self, worker: int) -> list[str]:
        with self.lock:
            return [key for key, body in self.objects.items() if body is not None and key.startswith(f"w{worker}/")]


def _s3_worker(endpoint: str, ledger: Ledger, worker: int, rng: random.Random, stop: threading.Event,
               cycle: int) -> None:
    s3 = _client("s3", endpoint)
    count = 0
    try:
        while not stop.is_set():
            count += 1
            live = ledger.live(worker)
            choice = rng.random()
            if choice < 0.45 or not live:
                key = f"w{worker}/c{cycle}-{count}"
                size = MULTIPART if rng.random() < 0.03 else rng.choice([0, 1, 100, 4096, 65536, 2**20])
                body = rng.randbytes(size)
                ledger.begin({key: body})
                if size >= MULTIPART:
                    s3.upload_fileobj(io.BytesIO(body), BUCKET, key)
                else:
                    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                ledger.done({key: body})
            elif choice < 0.6:
                key = rng.choice(live)
                body = rng.randbytes(rng.choice([10, 2000, 300_000]))
                ledger.begin({key: body})
                s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                ledger.done({key: body})
            elif choice < 0.7:
                source = rng.choice(live)
                key = f"w{worker}/c{cycle}-{count}-copy"
                body = ledger.objects[source]
                ledger.begin({key: body})
                s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": source})
                ledger.done({key: body})
            elif choice < 0.9:
                key = rng.choice(live)
                ledger.begin({key: None})
                s3.delete_object(Bucket=BUCKET, Key=key)
                ledger.done({key: None})
            else:
                keys = rng.sample(live, min(3, len(live)))
                ledger.begin(dict.fromkeys(keys))
                s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key} for key in keys]})
                ledger.done(dict.fromkeys(keys))
            stop.wait(rng.uniform(0.0, 0.02))
    except Exception:  # the server was killed under this request: it stays in flight
        with ledger.lock:
            ledger.cut_off += 1


def _logs_worker(endpoint: str, ledger: Ledger, rng: random.Random, stop: threading.Event, cycle: int) -> None:
    logs = _client("logs", endpoint)
    count = 0
    try:
        while not stop.is_set():
            messages = [f"c{cycle}-{count + i}" for i in range(rng.randint(1, 4))]
            count += len(messages)
            now = int(time.time() * 1000)
            ledger.events_in_flight = messages
            logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM,
                                logEvents=[{"timestamp": now, "message": message} for message in messages])
            ledger.events.extend(messages)
            ledger.events_in_flight = []
            stop.wait(rng.uniform(0.0, 0.05))
    except Exception:
        pass


def _start_jobs(endpoint: str, cycle: int, artifacts: list[str]) -> None:
    """One training job, and a batch transform of a model made from an earlier cycle's artifact."""
    sagemaker = _client("sagemaker", endpoint)
    try:
        sagemaker.create_training_job(**training_request(f"kill-train-{cycle}", BUCKET, f"s3://{BUCKET}/in/train.csv",
                                                         image=XGB_17, hyperparameters={"num_round": "2"}))
        if artifacts:
            model = f"kill-model-{cycle}"
            sagemaker.create_model(**model_request(model, XGB_17, artifacts[-1], ROLE))
            sagemaker.create_transform_job(**transform_job_request(TransformConfig(
                job_name=f"kill-transform-{cycle}", model_name=model, input_uri=f"s3://{BUCKET}/in/test.csv",
                output_path=f"s3://{BUCKET}/out/{cycle}")))
    except Exception:
        pass  # killed while creating: the job is there or not, and is checked as any other


def _body(s3: Any, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise


def _digest(body: bytes | None) -> str:
    return "absent" if body is None else f"{len(body)} bytes, md5 {hashlib.md5(body).hexdigest()}"


def _check_objects(s3: Any, ledger: Ledger) -> None:
    listed = {item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="w")
              for item in page.get("Contents", [])}
    expected_live = {key for key, body in ledger.objects.items() if body is not None}
    assert not (expected_live - listed - set(ledger.in_flight)), "answered uploads missing from the listing"
    assert not (listed - set(ledger.objects) - set(ledger.in_flight)), "objects nobody uploaded"
    for key in sorted(set(ledger.objects) | set(ledger.in_flight)):
        actual = _body(s3, key) if key in listed or key in ledger.in_flight else None
        allowed = [ledger.objects.get(key)] + ([ledger.in_flight[key]] if key in ledger.in_flight else [])
        assert actual in allowed, (f"{key}: {_digest(actual)}; answered state {_digest(ledger.objects.get(key))}"
                                   + (f", or in flight {_digest(ledger.in_flight[key])}" if key in ledger.in_flight
                                      else ""))
        ledger.objects[key] = actual  # a change in flight took effect or did not: either is now the state
    ledger.in_flight.clear()


def _check_log_events(logs: Any, ledger: Ledger) -> None:
    events = [event["message"] for event in logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM,
                                                                 startFromHead=True, limit=10000)["events"]]
    allowed = [ledger.events]
    if ledger.events_in_flight:
        allowed.append(ledger.events + ledger.events_in_flight)
    assert events in allowed, f"log events: {len(events)} there, {len(ledger.events)} answered"
    ledger.events = events
    ledger.events_in_flight = []


def _streams(logs: Any, group: str) -> dict[str, bool]:
    """Each stream of `group`, and whether it has events."""
    try:
        pages = list(logs.get_paginator("describe_log_streams").paginate(logGroupName=group))
    except ClientError:
        return {}
    return {stream["logStreamName"]: "firstEventTimestamp" in stream for page in pages
            for stream in page["logStreams"]}


def _check_jobs(endpoint: str, outputs: dict[str, str]) -> tuple[int, int]:
    """Completed jobs' artifacts, outputs and logs (`outputs`: each Completed job's artifact or output object, as
    its Describe gave it, kept across restarts); the numbers of Completed trainings and transforms."""
    sagemaker, s3, logs = (_client(service, endpoint) for service in ("sagemaker", "s3", "logs"))
    trainings = {job["TrainingJobName"] for page in sagemaker.get_paginator("list_training_jobs").paginate()
                 for job in page["TrainingJobSummaries"] if job["TrainingJobStatus"] == "Completed"}
    transforms = {job["TransformJobName"] for page in sagemaker.get_paginator("list_transform_jobs").paginate()
                  for job in page["TransformJobSummaries"] if job["TransformJobStatus"] == "Completed"}
    assert set(outputs) <= trainings | transforms, "a Completed job is no longer Completed"
    for name in trainings - set(outputs):
        outputs[name] = sagemaker.describe_training_job(TrainingJobName=name)["ModelArtifacts"]["S3ModelArtifacts"]
    for name in transforms - set(outputs):
        job = sagemaker.describe_transform_job(TransformJobName=name)
        outputs[name] = f"{job['TransformOutput']['S3OutputPath'].rstrip('/')}/test.csv.out"
    stored = {f"s3://{BUCKET}/{item['Key']}" for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
              for item in page.get("Contents", [])}
    missing = {name: uri for name, uri in outputs.items() if uri not in stored}
    assert not missing, f"Completed jobs whose model artifact or output is missing: {missing}"
    for group, completed in ((TRAINING_LOGS, trainings), (TRANSFORM_LOGS, transforms)):
        streams = _streams(logs, group)
        empty = [stream for stream, has_events in streams.items() if not has_events
                 and stream.split("/", 1)[0] in completed]
        assert not empty, f"{group}: streams of Completed jobs without events: {empty}"
        silent = [job for job in completed if not any(stream.startswith(f"{job}/") and has_events
                                                      for stream, has_events in streams.items())]
        assert not silent, f"{group}: Completed jobs without log events: {silent}"
    return len(trainings), len(transforms)


def _kill(server: Any) -> None:
    os.kill(server.pid, signal.SIGKILL)
    server.wait(30)


def test_kill_9_at_random_moments_loses_nothing_answered(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    state = tmp_path / "state"
    ledger = Ledger()
    outputs: dict[str, str] = {}  # Completed job -> its model artifact or transform output
    started = time.monotonic()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = serve(state, port)
    try:
        s3, logs = _client("s3", endpoint), _client("logs", endpoint)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="in/train.csv", Body=TRAIN)
        s3.put_object(Bucket=BUCKET, Key="in/test.csv", Body=TEST)
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        completed = (0, 0)
        for cycle in range(KILLS):
            stop = threading.Event()
            workers = [threading.Thread(target=_s3_worker, args=(endpoint, ledger, index, random.Random(rng.random()),
                                                                 stop, cycle)) for index in range(2)]
            workers.append(threading.Thread(target=_logs_worker,
                                            args=(endpoint, ledger, random.Random(rng.random()), stop, cycle)))
            artifacts = sorted(uri for name, uri in outputs.items() if name.startswith("kill-train-"))
            workers.append(threading.Thread(target=_start_jobs, args=(endpoint, cycle, artifacts)))
            for worker in workers:
                worker.start()
            time.sleep(rng.uniform(0.1, 1.8))  # the moment of the kill
            _kill(server)
            stop.set()
            for worker in workers:
                worker.join(60)
                assert not worker.is_alive()

            server = serve(state, port)
            s3, logs = _client("s3", endpoint), _client("logs", endpoint)
            _check_objects(s3, ledger)
            _check_log_events(logs, ledger)
            completed = _check_jobs(endpoint, outputs)
    finally:
        _kill(server)
    elapsed = time.monotonic() - started
    # The burst did what it is for: many answered changes, and jobs that completed between the kills (so the
    # artifact, output and log checks above checked something).
    assert ledger.answered >= 100, ledger.answered
    assert completed[0] >= 3 and completed[1] >= 2, f"Completed trainings, transforms: {completed}"
    print(f"{KILLS} kills in {elapsed:.0f} s: {ledger.answered} S3 changes answered, {ledger.cut_off} cut off by "
          f"a kill, {len(ledger.events)} log events, Completed {completed[0]} trainings and {completed[1]} "
          "transforms")
