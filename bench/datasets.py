"""The benchmark's data: a synthetic regression CSV of a chosen size, as the built-in XGBoost reads it.

Training file: label first, then the features, no header. Test file: the features only (what a batch
transform sends). Every value is a fixed-width decimal (`d.ddddd` for features, `ddd.ddddd` for the label), so
rows are written with numpy byte arithmetic instead of per-value Python formatting: a gigabyte takes
seconds to write, not minutes, and the parsers on both sides read ordinary decimal text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURES = 20
_FEATURE_DIGITS = (1, 5)  # d.ddddd in [0, 10)
_LABEL_DIGITS = (3, 5)  # ddd.ddddd in [0, 1000)
_CHUNK_ROWS = 100_000
_MB = 1024 * 1024


@dataclass(frozen=True)
class DataFiles:
    train: Path
    test: Path
    train_rows: int
    test_rows: int

    @property
    def train_bytes(self) -> int:
        return self.train.stat().st_size

    @property
    def test_bytes(self) -> int:
        return self.test.stat().st_size


def generate(directory: Path, size_mb: float, seed: int = 0) -> DataFiles:
    """`train.csv` and `test.csv` in `directory`, each of about `size_mb` MiB (whole chunks, at least one)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.0, 1.0, FEATURES)
    train, test = directory / "train.csv", directory / "test.csv"
    train_rows = _write(train, size_mb, rng, weights, with_label=True)
    test_rows = _write(test, size_mb, rng, weights, with_label=False)
    return DataFiles(train, test, train_rows, test_rows)


def training_csv_bytes(rows: int, seed: int = 0) -> bytes:
    """A small training CSV in memory, in the same format (for jobs whose data does not matter)."""
    rng = np.random.default_rng(seed)
    features = rng.uniform(0.0, 10.0, (rows, FEATURES))
    label = _label(features, rng.uniform(0.0, 1.0, FEATURES), rng)
    return _format_rows(np.hstack([label[:, None], features]), with_label=True)


def features_csv_bytes(rows: int, seed: int = 0) -> bytes:
    """Test rows in memory, in the test file's format (features only): request bodies and small inputs."""
    rng = np.random.default_rng(seed)
    return _format_rows(rng.uniform(0.0, 10.0, (rows, FEATURES)), with_label=False)


def request_bodies(rows: bytes, rows_per_request: int) -> list[bytes]:
    """`rows` (CSV lines) cut into request bodies of `rows_per_request` lines each."""
    lines = rows.splitlines(keepends=True)
    return [b"".join(lines[i:i + rows_per_request]) for i in range(0, len(lines), rows_per_request)]


def _write(path: Path, size_mb: float, rng: np.random.Generator, weights: np.ndarray, with_label: bool) -> int:
    target = int(size_mb * _MB)
    written = rows = 0
    with open(path, "wb") as handle:
        while written < target or rows == 0:
            chunk = min(_CHUNK_ROWS, max(1, (target - written) // _row_width(with_label) + 1))
            features = rng.uniform(0.0, 10.0, (chunk, FEATURES))
            columns = [features]
            if with_label:
                columns.insert(0, _label(features, weights, rng)[:, None])
            data = _format_rows(np.hstack(columns), with_label)
            handle.write(data)
            written += len(data)
            rows += chunk
    return rows


def _label(features: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # Linear plus two non-linear terms and noise, so trees have something to find at every depth.
    label = features @ weights + 2.0 * np.sin(features[:, 0]) + features[:, 1] * features[:, 2] / 10.0
    label += rng.normal(0.0, 1.0, len(label))
    return np.clip(label, 0.0, 999.99999)


def _row_width(with_label: bool) -> int:
    feature = sum(_FEATURE_DIGITS) + 1
    width = FEATURES * (feature + 1)  # each with its comma, or the newline for the last
    return width + (sum(_LABEL_DIGITS) + 2 if with_label else 0)


def _format_rows(values: np.ndarray, with_label: bool) -> bytes:
    """Fixed-width decimal text of `values` (rows x columns), comma-separated, one row per line."""
    parts = []
    if with_label:
        parts.append(_fixed_point(values[:, :1], *_LABEL_DIGITS))
        values = values[:, 1:]
    parts.append(_fixed_point(values, *_FEATURE_DIGITS))
    rows = np.concatenate(parts, axis=1)
    rows[:, -1] = ord("\n")  # the last field's separator ends the line
    return rows.tobytes()


def _fixed_point(block: np.ndarray, whole: int, decimals: int) -> np.ndarray:
    """ASCII of non-negative `block` (rows x columns): per value `whole` digits, a point, `decimals` digits and
    a comma, flattened to one row of bytes per row."""
    scaled = np.minimum(np.rint(block * 10**decimals).astype(np.int64), 10 ** (whole + decimals) - 1)
    powers = 10 ** np.arange(whole + decimals - 1, -1, -1, dtype=np.int64)
    digits = ((scaled[:, :, None] // powers) % 10 + ord("0")).astype(np.uint8)
    out = np.empty((*block.shape, whole + decimals + 2), dtype=np.uint8)
    out[:, :, :whole] = digits[:, :, :whole]
    out[:, :, whole] = ord(".")
    out[:, :, whole + 1 : -1] = digits[:, :, whole:]
    out[:, :, -1] = ord(",")
    return out.reshape(len(block), -1)
