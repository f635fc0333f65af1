"""Benchmarks (not tests): the emulator against bare in-process XGBoost on the same machine.

`python -m bench` (or `harness bench`) generates a regression CSV, times both sides phase by phase, measures
job-start latency and the reference workflow, times a hyperparameter tuning job against the same trainings bare,
and writes `bench/RESULTS.md`; `--only tuning` (or `main`) measures one part and keeps the file's other sections.
See `bench/runner.py`.
"""
