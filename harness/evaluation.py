"""How good the predictions are: metrics and the actual-vs-predicted plot."""

from __future__ import annotations

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
