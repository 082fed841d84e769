#!/usr/bin/env bash
# Makes a Docker engine available for the end-to-end tests: installs
# Debian's docker.io when needed, starts dockerd when none runs, and makes
# the local Debian bookworm base image (palisade-test/bookworm) with
# debootstrap, since no image can be pulled here. Idempotent. Run as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"
cd "$(dirname "$0")/.."

scripts/install-deps.sh --docker >/dev/null

if ! docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl start docker
    else
        log=/var/log/palisade-dockerd.log
        echo "docker-engine: starting dockerd (log: $log)"
        nohup dockerd >"$log" 2>&1 &
    fi
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { echo "docker-engine: dockerd did not start" >&2; exit 1; }
fi

BASE=palisade-test/bookworm
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    mirror=$(debian_mirror)
    echo "docker-engine: making $BASE with debootstrap from $mirror"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
    tar -C "$root" -c . | docker import - "$BASE" >/dev/null
fi
echo "docker-engine: ready ($(docker version -f '{{.Server.Version}}'), base $BASE)"
