"""XGBoost's own distributed training, run by a runtime's interpreter: the reference for a job of several hosts.

It uses the library only, never the emulator's code, each release the way its own API has it: the tracker
(`xgboost.tracker.RabitTracker`, Python up to 1.7, native from 2.0) in this process, then one worker process
per shard that loads its files, joins (`xgboost.rabit.init` up to 1.7, `xgboost.collective.CommunicatorContext`
from 2.0) and runs `xgb.train`; worker 0 prints its predictions of the test file, as the container's batch
transform writes them (one `str(float)` per line).

Worker i is given task id i (1.7 and 2.x+ sort by it: `sortby="task"`); the 1.0 ... 1.5 trackers rank workers
in the order they connect, so worker i is started only once worker i-1 has had time to connect. 0.72 and 0.90
ship no tracker: their workers are served by XGBoost 1.7's (the same protocol), run by the interpreter the
request names as "tracker_python".

Usage: python direct_distributed.py '{"shards": [[csv, ...], ...], "test": csv, "hyperparameters": {...}}'
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import xgboost as xgb
from direct_xgboost import release, typed  # this script's directory is first on sys.path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(request):
    workers = len(request["shards"])
    port = free_port()
    try:
        from xgboost import tracker as tracker_module
    except ImportError:
        tracker_module = None
    if tracker_module is None:
        code = ("import sys; from xgboost.tracker import RabitTracker; "
                "t = RabitTracker(host_ip='127.0.0.1', n_workers=int(sys.argv[1]), port=int(sys.argv[2]), "
                "sortby='task'); t.start(int(sys.argv[1])); t.join()")
        tracker = subprocess.Popen([request["tracker_python"], "-c", code, str(workers), str(port)])
        time.sleep(2.0)  # listening (a probe connection would stall that tracker)
    elif release() >= (2, 0):
        tracker = tracker_module.RabitTracker(n_workers=workers, host_ip="127.0.0.1", port=port, sortby="task")
        tracker.start()
    elif release() >= (1, 7):
        tracker = tracker_module.RabitTracker(host_ip="127.0.0.1", n_workers=workers, port=port, sortby="task")
        tracker.start(workers)
    else:
        tracker = tracker_module.RabitTracker(hostIP="127.0.0.1", nslave=workers, port=port, port_end=port + 1)
        tracker.start(workers)
    processes = []
    for task in range(workers):
        argument = json.dumps({**request, "task": task, "port": port, "workers": workers})
        processes.append(subprocess.Popen([sys.executable, __file__, "worker", argument], stdout=subprocess.PIPE))
        time.sleep(0.5)
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), [p.returncode for p in processes]
    return json.loads(outputs[0].decode().strip().splitlines()[-1])


def worker(request):
    hyperparameters = {name: typed(value) for name, value in request["hyperparameters"].items()}
    rounds = int(hyperparameters.pop("num_round"))
    # The workers share this machine's cores (the thread count does not change the trees).
    params = dict(hyperparameters, nthread=max(1, os.cpu_count() // request["workers"]))
    files = request["shards"][request["task"]]
    # One file per shard, the files one after another, read by XGBoost's own CSV reader.
    joined = f"{files[0]}.joined-{request['task']}"
    with open(joined, "wb") as out:
        for name in files:
            with open(name, "rb") as part:
                out.write(part.read())
    dtrain = xgb.DMatrix(joined + "?format=csv&label_column=0")
    address, port, task = "127.0.0.1", request["port"], str(request["task"])
    if release() >= (2, 0):
        from xgboost import collective

        with collective.CommunicatorContext(dmlc_tracker_uri=address, dmlc_tracker_port=port, dmlc_task_id=task):
            rank = collective.get_rank()
            booster = xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train")],
                                verbose_eval=False)
    else:
        from xgboost import rabit

        rabit.init([f"DMLC_NUM_WORKER={request['workers']}".encode(), f"DMLC_TRACKER_URI={address}".encode(),
                    f"DMLC_TRACKER_PORT={port}".encode(), f"DMLC_TASK_ID={task}".encode()])
        rank = rabit.get_rank()
        booster = xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train")], verbose_eval=False)
        rabit.finalize()
    test = np.loadtxt(request["test"], delimiter=",", ndmin=2)
    predictions = booster.predict(xgb.DMatrix(test), validate_features=False)
    print(json.dumps({"rank": rank, "task": request["task"],
                      "predictions": [str(float(value)) for value in predictions]}))


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        worker(json.loads(sys.argv[2]))
    else:
        print(json.dumps(launch(json.loads(sys.argv[1]))))
