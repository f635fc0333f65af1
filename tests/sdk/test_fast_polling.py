"""The test-speed wrapper shortens the SDKs' sleeps and nothing else: code outside the `sagemaker` package
sleeps and reads the clock as usual, and SDK code sees a clock that moved by the full interval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import SCRIPTS

# The same timed sleep, defined once in a namespace that calls itself part of the SDK and once in the script.
PROBE = """
import json, time

TIMED_SLEEP = '''
def timed_sleep(seconds):
    wall, seen = time.perf_counter(), time.time()
    time.sleep(seconds)
    return {"wall": time.perf_counter() - wall, "seen": time.time() - seen}
'''
sdk_module = {"__name__": "sagemaker.core.resources", "time": time}
exec(TIMED_SLEEP, sdk_module)
exec(TIMED_SLEEP)
print(json.dumps({"sdk": sdk_module["timed_sleep"](2.0), "user": timed_sleep(0.3)}))
"""


def test_only_sdk_sleeps_are_shortened(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    result = subprocess.run([sys.executable, str(SCRIPTS / "fast_polling.py"), str(probe)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    # SDK code: a 2 s sleep takes about 0.1 s of real time, and its clock says 2 s passed.
    assert measured["sdk"]["wall"] < 1.0
    assert 1.9 < measured["sdk"]["seen"] < 3.0
    # Anyone else: a real 0.3 s sleep on a real clock.
    assert measured["user"]["wall"] >= 0.29
    assert 0.29 <= measured["user"]["seen"] < 1.5
