"""Status rules of the control plane: a job that is stopping always ends, and a terminal job never changes."""

from __future__ import annotations

from pathlib import Path

from backends.emulator.sagemaker import status
from backends.emulator.sagemaker.context import RequestContext
from backends.emulator.sagemaker.training_jobs import TrainingJobs
from backends.emulator.store import Store
from harness.requests import TrainingConfig, training_job_request

CTX = RequestContext(region="us-east-1")


def _jobs(tmp_path: Path) -> TrainingJobs:
    jobs = TrainingJobs(Store(tmp_path / "state.sqlite3"), is_builtin_image=lambda uri: True)
    jobs.create_training_job(CTX, training_job_request(TrainingConfig(
        job_name="j", image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        role="arn:aws:iam::123456789012:role/r", output_path="s3://b/o", train_uri="s3://b/t")))
    return jobs


def test_a_stop_during_upload_still_ends_stopped(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path)
    jobs.advance("us-east-1", "j", "Uploading", status.UPLOADING)
    jobs.stop_training_job(CTX, {"TrainingJobName": "j"})
    job = jobs.advance("us-east-1", "j", "Completed", status.COMPLETED)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Uploading", "Stopping", "Stopped"]


def test_a_stopping_job_ignores_progress_and_terminal_jobs_never_change(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path)
    jobs.stop_training_job(CTX, {"TrainingJobName": "j"})
    assert jobs.advance("us-east-1", "j", "Training", status.TRAINING)["SecondaryStatus"] == "Stopping"
    jobs.advance("us-east-1", "j", "Stopped", status.STOPPED)
    done = jobs.advance("us-east-1", "j", "Failed", status.FAILED, FailureReason="late")
    assert done["TrainingJobStatus"] == "Stopped" and "FailureReason" not in done
    assert all("EndTime" in t for t in done["SecondaryStatusTransitions"])
