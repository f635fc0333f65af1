"""Reading a channel directory into a DMatrix, the way the container does.

CSV: no header, label in column 0 (and the instance weight in column 1 with csv_weights=1), delimiter sniffed
from the first line with csv.Sniffer. Loading goes through XGBoost's own text reader (the dmlc parser the
container uses too), because its float32 values are not always the correctly rounded ones: parsing with
Python or pandas would give different matrices for about 1% of values, and so different models. That reader
is also multi-threaded, which keeps files of gigabytes fast. Non-numeric fields become missing values, so a
header line becomes a row with label 0.

Which files are read differs per version: up to 1.5-1 the first leaf directory `os.walk` finds, from 1.7-1
every file down to three directory levels. They are handed to XGBoost as one `a;b;c?format=csv` list in
sorted path order (the container's order depends on the file system and on Python's hash seed). XGBoost
resolves symlinks before it parses that syntax, so a file whose real path contains `#`, `?` or `;` is
hard-linked (or, across file systems, copied) under a plain name first.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import xgboost as xgb

from . import library
from .content_types import DataFormat
from .errors import UserError
from .log import ContainerLog
from .versions import ChannelLayout, ContainerVersion

MAX_FOLDER_DEPTH = 3
# Where the 1.7-1+ containers link a channel's files (here the files are read where they are).
LINKS_DIR = "/tmp/sagemaker_xgboost_input_data"
# Characters of XGBoost's text-input URI syntax: file list, arguments, cache file.
_URI_SYNTAX = re.compile(r"[;?#]")

NO_LABELS_MESSAGE = (
    "Got input data without labels. Please check the input data set. If training job is running on multiple "
    "instances, please switch to using single instance if number of records in the data set is less than "
    "number of workers (16 * number of instance) in the cluster."
)


def channel_size(path: Path) -> int:
    """Total bytes under a channel; 0 when it does not exist. A hidden file anywhere stops the job."""
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name.startswith("."):
                raise UserError("Hidden file found in the data path! Remove that before training.")
            total += os.path.getsize(os.path.join(root, name))
    return total


def validate_channel_files(path: Path, data_format: DataFormat, log: ContainerLog) -> None:
    """The container's light format check: the first line of each data file of the first leaf directory."""
    for file in _validation_files(path):
        if data_format is DataFormat.CSV:
            with open(file, errors="ignore") as handle:
                sniff_delimiter(handle.readline(), log)
        elif data_format is DataFormat.LIBSVM:
            _validate_libsvm_file(file, log)


def load_channel(
    path: Path, data_format: DataFormat, version: ContainerVersion, log: ContainerLog, csv_weights: int = 0
) -> xgb.DMatrix:
    if version.channel_layout is ChannelLayout.NESTED:
        # 1.7-1+ link every file into one directory, which XGBoost then reads (data_utils.py).
        log.info(f"File path {path} of input files")
        _log_links(path, log, depth=1)
        files = channel_files(path, version, log)
        log.info(f"files path: {LINKS_DIR}")
    else:
        files = channel_files(path, version, log)
        log.info(f"files path: {path}")
    if data_format is DataFormat.CSV:
        dmatrix = _load_csv(files, csv_weights, log)
    elif data_format is DataFormat.LIBSVM:
        dmatrix = _load_with_xgboost(files, "format=libsvm", "libsvm")
    else:
        raise UserError(
            f"Content type {data_format.value} is not supported by this emulator; use csv or libsvm data."
        )
    if dmatrix.get_label().size == 0:
        raise UserError(NO_LABELS_MESSAGE)
    return dmatrix


def channel_files(path: Path, version: ContainerVersion, log: ContainerLog) -> list[Path]:
    """The files XGBoost reads for a channel, in the order they are concatenated."""
    if path.is_file():
        return [path]
    if version.channel_layout is ChannelLayout.FIRST_LEAF_DIRECTORY:
        leaf = _first_leaf_directory(path)
        return sorted(p for p in leaf.iterdir() if p.is_file())
    files: list[Path] = []
    too_deep = False
    for root, dirs, names in _walk_sorted(path):
        depth = len(root.relative_to(path).parts) + 1
        if depth > MAX_FOLDER_DEPTH:
            too_deep = True
            dirs.clear()
            continue
        files.extend(root / name for name in names)
    if too_deep:
        # The container stops its whole scan at the first too-deep folder; here only the deeper files are
        # left out, so the result does not depend on directory listing order.
        log.warning(
            f"The depth of folder {path} exceed the limit {MAX_FOLDER_DEPTH}. Files in deeper sub dirs won't "
            "be loaded. Please adjust the folder structure accordingly."
        )
    return sorted(files)


def _log_links(path: Path, log: ContainerLog, depth: int) -> None:
    """The lines the container logs while linking `path`'s files into LINKS_DIR, folder by folder. Each link is
    named after the file plus `hash()` of its path, which differs from process to process there too."""
    if path.is_file():
        link = f"{LINKS_DIR}/{path.name}{hash(log.container_text(str(path)))}"
        log.info(f"creating symlink between Path {path} and destination {link}")
        return
    log.info(f"Making smlinks from folder {path} to folder {LINKS_DIR}")
    for entry in sorted(path.iterdir()):
        if entry.is_dir():
            if depth + 1 <= MAX_FOLDER_DEPTH:  # deeper folders are not linked (channel_files warns)
                _log_links(entry, log, depth + 1)
        elif entry.is_file():
            _log_links(entry, log, depth)


def sniff_delimiter(line: str, log: ContainerLog) -> str:
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except Exception as e:
        raise UserError(f"Could not determine delimiter on line {line[:50]}:\n{e}") from e
    log.info(f"Determined delimiter of CSV input is '{delimiter}'")
    return delimiter


def _load_csv(files: list[Path], csv_weights: int, log: ContainerLog) -> xgb.DMatrix:
    # The container sniffs the first file of the directory; empty files are skipped here because XGBoost skips
    # them too and they have no line to sniff.
    sample = next((f for f in files if f.stat().st_size > 0), files[0])
    with open(sample) as handle:
        delimiter = sniff_delimiter(handle.readline(), log)
    args = "format=csv&label_column=0"
    if library.CSV_READER_OPTIONS:
        args += f"&delimiter={delimiter}"
    elif delimiter != "," or csv_weights == 1:
        raise UserError(f"XGBoost {library.RELEASE} reads comma-separated CSV without weights only.")
    if csv_weights == 1:
        args += "&weight_column=1"
    return _load_with_xgboost(files, args, "csv")


def _load_with_xgboost(files: list[Path], args: str, kind: str) -> xgb.DMatrix:
    try:
        with _uri_safe_paths(files) as paths, warnings.catch_warnings():
            # XGBoost 3.1+ warns that text input is deprecated; the container's behaviour is what is wanted.
            warnings.simplefilter("ignore")
            return xgb.DMatrix(";".join(paths) + "?" + args)
    except Exception as e:
        raise UserError(f"Failed to load {kind} data with exception:\n{e}") from e


@contextlib.contextmanager
def _uri_safe_paths(files: list[Path]) -> Iterator[list[str]]:
    paths = [os.path.realpath(file) for file in files]
    unsafe = [index for index, path in enumerate(paths) if _URI_SYNTAX.search(path)]
    if not unsafe:
        yield paths
        return
    with tempfile.TemporaryDirectory(prefix="sagemaker_xgboost_input_data_") as tmp:
        for index in unsafe:
            plain = os.path.join(tmp, f"{index:08d}")
            try:
                os.link(paths[index], plain)
            except OSError:
                shutil.copyfile(paths[index], plain)
            paths[index] = plain
        yield paths


def _first_leaf_directory(path: Path) -> Path:
    for root, dirs, _names in _walk_sorted(path):
        if not dirs:
            return root
    return path


def _walk_sorted(path: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    for root, dirs, names in os.walk(path):
        dirs.sort()
        yield Path(root), dirs, sorted(names)


def _validation_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    leaf = _first_leaf_directory(path)
    return sorted(p for p in leaf.iterdir() if p.is_file() and _is_data_file(p.name))


def _is_data_file(name: str) -> bool:
    if name.startswith((".", "_")):
        return False
    # XGBoost's own external-memory cache files.
    return not (".cache" in name and ("dtrain" in name or "dval" in name))


def _validate_libsvm_file(file: Path, log: ContainerLog) -> None:
    with open(file, errors="ignore") as handle:
        for line in handle:
            features = _libsvm_feature_count(line, log)
            if features > 1:
                return
            if features < 0:
                raise UserError(
                    f"First line '{line[:50]}...' of file '{file.name}' is not 'LIBSVM' format. "
                    "Please ensure the file is in 'LIBSVM' format."
                )
    log.warning(
        f"File {file.name} is not an invalid LIBSVM file but has no features. Accepting simple validation."
    )


def _libsvm_feature_count(line: str, log: ContainerLog) -> int:
    """Features of a `<label>[:<weight>] idx:val ...` line, or -1 when it is not libsvm.

    As in the container, lines are split on single spaces (a trailing space or tab fails) and only the first
    feature's `idx:val` shape is checked.
    """
    tokens = line.split(" ")
    if not _is_libsvm_label(tokens[0]):
        log.error(f"{tokens[0]} does not follow LIBSVM label format <label>(:<weight>).")
        return -1
    count = 0
    for token in tokens[1:]:
        if ":" not in token or len(tokens[1].split(":")) != 2:
            return -1
        count += 1
    return count


def _is_libsvm_label(token: str) -> bool:
    parts = token.split(":")
    if len(parts) > 2:
        return False
    try:
        for part in parts:
            float(part)
    except ValueError:
        return False
    return True
