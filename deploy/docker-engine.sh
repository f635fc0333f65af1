#!/usr/bin/env bash
# A Docker engine for the `docker`-marked tests and the local backend, on a Debian machine where none runs:
# installs Debian's docker.io (and debootstrap, which `harness images build` uses to make its base image) when
# missing, and starts dockerd in the background when no engine answers. Idempotent; needs root for what it
# installs or starts. Prints the pid of a dockerd it started on fd 3 if that is open (so a caller can stop it).
set -euo pipefail

say() { echo "docker-engine: $*" >&2; }

if docker info >/dev/null 2>&1; then
    say "an engine answers already"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "no Docker engine answers, and starting one needs root: start dockerd (or the docker service) yourself"
    exit 1
fi
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    started=$SECONDS
    say "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    say "installed in $((SECONDS - started)) s"
fi
log=${DOCKERD_LOG:-/tmp/dockerd.log}
say "starting dockerd (log: $log)"
dockerd >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        say "dockerd answers (pid $pid)"
        { echo "$pid" >&3; } 2>/dev/null || true
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        say "dockerd exited; the end of its log:"
        tail -n 20 "$log" >&2
        exit 1
    fi
    sleep 1
done
say "dockerd did not answer in 60 s; the end of its log:"
tail -n 20 "$log" >&2
exit 1
