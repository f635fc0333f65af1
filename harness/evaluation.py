"""How good the predictions are: metrics, the actual-vs-predicted plot and a tuning job's objective plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Metrics:
    rmse: float
    mae: float
    r2: float
    count: int


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> Metrics:
    if len(actual) != len(predicted):
        raise ValueError(f"{len(actual)} labels but {len(predicted)} predictions: the transform output does not "
                         "have one line per test row")
    errors = predicted.astype(float) - actual.astype(float)
    total = float(np.sum((actual - np.mean(actual)) ** 2))
    r2 = 1.0 - float(np.sum(errors ** 2)) / total if total else float("nan")
    return Metrics(rmse=float(np.sqrt(np.mean(errors ** 2))), mae=float(np.mean(np.abs(errors))), r2=r2,
                   count=len(actual))


def plot_actual_vs_predicted(actual: np.ndarray, predicted: np.ndarray, path: Path) -> Path:
    """The seed's scatter plot ("Median Price vs Predicted Price") with the x = y line for reference."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed: the plot goes to a file
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 6))
    axes.scatter(actual, predicted, s=14, alpha=0.7)
    low = float(min(np.min(actual), np.min(predicted)))
    high = float(max(np.max(actual), np.max(predicted)))
    axes.plot([low, high], [low, high], color="grey", linewidth=1, linestyle="--")
    axes.set_xlabel("Median Price")
    axes.set_ylabel("Predicted Price")
    axes.set_title("Median Price vs Predicted Price")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_tuning_objective(points: Sequence[tuple[int, float]], best: int | None, metric: str, maximize: bool,
                          title: str, path: Path) -> Path:
    """A tuning job's objective per training job: `points` are (launch number, objective) of the children that
    reported one; the best so far in launch order is drawn as a step line and the `best` child as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ordered = sorted(points)
    numbers = [number for number, _ in ordered]
    values = [value for _, value in ordered]
    running = np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(numbers, values, s=22, zorder=3, label="training jobs")
    axes.step(numbers, running, where="post", color="grey", linewidth=1, label="best so far")
    chosen = [(number, value) for number, value in ordered if number == best]
    if chosen:
        axes.scatter([chosen[0][0]], [chosen[0][1]], s=160, marker="*", color="tab:red", zorder=4, label="best")
    axes.set_xlabel("training job (launch order)")
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
