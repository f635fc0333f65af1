"""Benchmarks (not tests): the emulator against bare in-process XGBoost on the same machine.

`python -m bench` (or `harness bench`) generates a regression CSV, times both sides phase by phase, measures
job-start latency and the reference workflow, and writes `bench/RESULTS.md`. See `bench/runner.py`.
"""
