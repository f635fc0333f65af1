"""What one repetition of each side measured: wall time, CPU time and peak memory per phase."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phase:
    seconds: float
    peak_bytes: int  # sampled peak of the summed RSS of the side's processes during the phase (see sampling.py)
    cpu_seconds: float  # user + system time of the side's processes during the phase


@dataclass(frozen=True)
class BareRun:
    training: Phase
    transform: Phase
    test_rows: int
    max_rss_bytes: int  # the largest of the children's own ru_maxrss, to check the sampler against
    # The transform again with XGBoost's own CSV reader (not the container's parse; not part of the total).
    native_transform: Phase

    @property
    def total(self) -> Phase:
        return Phase(self.training.seconds + self.transform.seconds,
                     max(self.training.peak_bytes, self.transform.peak_bytes),
                     self.training.cpu_seconds + self.transform.cpu_seconds)


@dataclass(frozen=True)
class EmulatorRun:
    upload: Phase
    training: Phase
    model: Phase
    transform: Phase
    download: Phase
    test_rows: int
    # Seconds the training job spent in each SecondaryStatus (Starting, Downloading, Training, Uploading).
    training_steps: dict[str, float] = field(default_factory=dict)

    @property
    def phases(self) -> list[Phase]:
        return [self.upload, self.training, self.model, self.transform, self.download]

    @property
    def total(self) -> Phase:
        return Phase(sum(p.seconds for p in self.phases), max(p.peak_bytes for p in self.phases),
                     sum(p.cpu_seconds for p in self.phases))


@dataclass(frozen=True)
class EndpointRun:
    """One repetition against a real-time endpoint, and bare `serving.predict` of the same requests."""

    bare_latency: list[float]  # seconds per one-row request
    http_latency: list[float]
    boto3_latency: list[float]
    bare_throughput: dict[int, float]  # rows/s of 100-row requests, by concurrency
    emulator_throughput: dict[int, float]


@dataclass(frozen=True)
class StrategyRun:
    """One repetition of the same input transformed with each BatchStrategy, and by the bare side."""

    single_record: Phase
    multi_record: Phase
    bare: Phase


@dataclass(frozen=True)
class TuningRun:
    """One repetition of a tuning job, and bare training of its children's hyperparameters."""

    emulator: Phase  # CreateHyperParameterTuningJob until the end the emulator recorded
    bare: Phase  # the same trainings one after another, in one process
    bare_parallel: Phase  # ... in MaxParallelTrainingJobs forked processes
    jobs: int  # children (all Completed)
    children_training_seconds: float  # the children's SecondaryStatus Training, summed

    @property
    def added_per_child(self) -> float:
        """Wall time the emulator adds per child over bare training at the same parallelism."""
        return (self.emulator.seconds - self.bare_parallel.seconds) / self.jobs if self.jobs else float("nan")


@dataclass(frozen=True)
class ScriptRun:
    """One repetition of script mode: a training job of the example script and a batch transform through its
    inference functions, and the same script and `model.predict` run bare in the runtime's interpreter."""

    training: Phase  # CreateTrainingJob until the TrainingEndTime the emulator recorded
    transform: Phase  # CreateTransformJob until its TransformEndTime
    bare_training: float  # seconds: `python train.py` in the runtime, start to exit
    bare_predict: float  # seconds: a process of the runtime loading model.joblib, reading test.csv, predicting
    bare_predict_after_imports: float  # ... of which after its imports (loading, reading, predicting)

    @property
    def added_training(self) -> float:
        return self.training.seconds - self.bare_training

    @property
    def added_transform(self) -> float:
        return self.transform.seconds - self.bare_predict
