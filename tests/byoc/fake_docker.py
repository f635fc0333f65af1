"""A stand-in for the `docker` command, so the emulator's Docker runner is tested end to end without an engine.

It answers what the runner asks (`version`, `image inspect`, `pull`, `run`, `kill`) and "runs" an image by
executing tests/byoc/container.py in place of the container, with the mounts and the published port translated
into FAKE_DOCKER_* variables and only the `--env` variables passed on (as a container would see them). Every
`run` is recorded in $FAKE_DOCKER_STATE/runs.jsonl with the values of its `--env` variables, so tests can check
the exact command and what reached the container. Images named `harness-test/...` exist (`harness-test/exits:1`
dies at once); nothing can be pulled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path

CONTAINER = Path(__file__).with_name("container.py")
STATE = Path(os.environ.get("FAKE_DOCKER_STATE", "/tmp/fake-docker"))


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "version":
        print("0.0-fake")
        return 0
    if command == "image" and args[0] == "inspect":
        image = args[-1]
        if image.startswith("harness-test/"):
            print("sha256:fake")
            return 0
        print(f"Error: No such image: {image}", file=sys.stderr)
        return 1
    if command == "pull":
        print(f"Error response from daemon: pull access denied for {args[-1]}", file=sys.stderr)
        return 1
    if command == "kill":
        return kill(args)
    if command == "run":
        return run(args)
    print(f"fake docker: unsupported command {argv}", file=sys.stderr)
    return 125


def kill(args: list[str]) -> int:
    signal_name = args[args.index("--signal") + 1] if "--signal" in args else "KILL"
    pid_file = STATE / f"{args[-1]}.pid"
    if not pid_file.exists():
        print(f"Error: No such container: {args[-1]}", file=sys.stderr)
        return 1
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(pid_file.read_text()), getattr(signal, f"SIG{signal_name}"))
    return 0


def run(args: list[str]) -> int:
    options: dict[str, list[str]] = {}
    flags = {"--rm"}
    position = 0
    while args[position].startswith("--"):
        if args[position] in flags:
            options.setdefault(args[position], []).append("")
            position += 1
        else:
            options.setdefault(args[position], []).append(args[position + 1])
            position += 2
    image, command = args[position], args[position + 1:]
    env_keys = options.get("--env", [])
    record = {"argv": ["run", *args], "image": image, "command": command, "options": options,
              "env": {key: os.environ.get(key) for key in env_keys}}
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "runs.jsonl").open("a") as runs:
        runs.write(json.dumps(record) + "\n")
    if not image.startswith("harness-test/"):
        print(f"Unable to find image '{image}' locally", file=sys.stderr)
        return 125
    if image == "harness-test/exits:1":  # a container whose program dies at once
        print("exec /usr/local/bin/serve: no such file or directory", file=sys.stderr)
        return 3
    container_env = {key: value for key, value in record["env"].items() if value is not None}
    container_env["PATH"] = os.environ.get("PATH", "")
    for volume in options.get("--volume", []):
        source, target = volume.split(":")[:2]
        container_env["FAKE_DOCKER_OPT_ML" if target == "/opt/ml" else "FAKE_DOCKER_MODEL_DIR"] = source
    for publish in options.get("--publish", []):
        container_env["FAKE_DOCKER_PORT"] = publish.split(":")[1]
    (STATE / f"{options['--name'][0]}.pid").write_text(str(os.getpid()))
    # The process becomes the "container": `kill` signals this very pid.
    os.execve(sys.executable, [sys.executable, str(CONTAINER), *command], container_env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
