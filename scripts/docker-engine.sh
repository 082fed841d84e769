#!/usr/bin/env bash
# Makes a container engine available for the end-to-end tests: Docker
# (Debian's docker.io, dockerd started when none runs) or rootful Podman
# (Debian's podman with netavark and aardvark-dns), each installed when
# needed, and the local Debian bookworm base image (palisade-test/bookworm)
# in the engine's own store, since no image can be pulled here: made with
# debootstrap, or for Podman copied from Docker's store when Docker has it.
# Idempotent. Run as root.
#
#   scripts/docker-engine.sh [docker|podman]     (default: docker)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"
cd "$(dirname "$0")/.."

engine=${1:-docker}
case $engine in
docker | podman) ;;
*) echo "usage: scripts/docker-engine.sh [docker|podman]" >&2; exit 2 ;;
esac

scripts/install-deps.sh --docker >/dev/null

BASE=palisade-test/bookworm
root=
trap '[ -z "$root" ] || rm -rf "$root"' EXIT
# make_base IMPORT...: the base image made with debootstrap, its root
# filesystem given to IMPORT as a tar stream.
make_base() {
    local mirror
    mirror=$(debian_mirror)
    echo "docker-engine: making $BASE with debootstrap from $mirror"
    root=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
    tar -C "$root" -c . | "$@" >/dev/null
}

docker_up() {
    docker info >/dev/null 2>&1 && return 0
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
}

case $engine in
docker)
    docker_up
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
        make_base docker import - "$BASE"
    fi
    echo "docker-engine: ready ($(docker version -f '{{.Server.Version}}'), base $BASE)"
    ;;
podman)
    # Rootful Podman has no daemon: each command is the engine.
    out=$(podman info --format '{{.Host.NetworkBackend}}' 2>&1) ||
        { echo "docker-engine: podman does not work: $out" >&2; exit 1; }
    if ! podman image exists "$BASE"; then
        if docker image inspect "$BASE" >/dev/null 2>&1; then
            echo "docker-engine: copying $BASE from Docker's store to Podman's"
            docker save "$BASE" | podman load -q >/dev/null
        else
            make_base podman import -q - "$BASE"
        fi
    fi
    echo "docker-engine: ready (podman $(podman version -f '{{.Client.Version}}'), network backend $out, base $BASE)"
    ;;
esac
