#!/usr/bin/env bash
# Installs what palisade needs and runs the whole test suite: unit tests and
# kernel integration tests, in a release build and in an AddressSanitizer +
# UndefinedBehaviorSanitizer build, 30 seconds of fuzzing for each of the
# DNS, TLS ClientHello and HTTP request head parsers, a static aarch64
# build tested under qemu-user-static (scripts/cross-arm64.sh), then the
# end-to-end tests under a real Docker engine (installed and started when
# none runs) and again under rootful Podman, each once per fence backend
# (legacy, then nft: the second run finds the images in the engine's
# cache), and last the same suite again in a fresh Debian root
# (scripts/fresh-check.sh), which shows what scripts/install-deps.sh fails
# to install. Run as root on Debian bookworm: the integration tests make
# network, PID and mount namespaces.
#
#   scripts/test.sh [--no-docker] [--no-podman] [--no-fresh] [--no-cross]
#
#   --no-docker   no end-to-end tests and no fresh root (it needs Docker)
#   --no-podman   the end-to-end tests under Docker only (Podman's two
#                 passes, one per backend, take about 4 minutes, 6 when the
#                 source changed, 12 the first time)
#   --no-fresh    the end-to-end tests, but not the fresh root (about 3 minutes)
#   --no-cross    no aarch64 build (never in the fresh root; the first run
#                 installs the cross compiler and the :arm64 packages and
#                 builds libiptc for aarch64: 3-5 minutes; later ones, about
#                 one); also PALISADE_CROSS=no
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."

docker=yes
podman=yes
fresh=yes
cross=${PALISADE_CROSS:-yes}
for arg in "$@"; do
    case $arg in
    --no-docker) docker=no ;;
    --no-podman) podman=no ;;
    --no-fresh) fresh=no ;;
    --no-cross) cross=no ;;
    *) echo "usage: scripts/test.sh [--no-docker] [--no-podman] [--no-fresh] [--no-cross]" >&2; exit 2 ;;
    esac
done
case $cross in
yes|no) ;;
*) echo "scripts/test.sh: PALISADE_CROSS is \"$cross\": use yes or no" >&2; exit 2 ;;
esac
export PALISADE_CROSS=$cross
# Inside the fresh root the suite runs with --no-docker; never start
# another fresh root from there.
[ -z "${PALISADE_FRESH_ROOT:-}" ] || fresh=no

scripts/install-deps.sh

setup() { # setup DIR [meson options...]
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

# -Werror here, not in meson.build's defaults: CI fails on a warning, and
# a user's compiler with warnings of its own still builds palisade.
echo "== release build"
setup build -Dwerror=true
meson compile -C build
meson test -C build --print-errorlogs

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs

echo "== fuzzing the parsers (libFuzzer, bounded)"
scripts/fuzz.sh 90

if [ "$cross" = yes ]; then
    echo "== arm64: a static aarch64 build, tested under qemu-user-static"
    PALISADE_NATIVE=build/palisade scripts/cross-arm64.sh build-arm64
fi

if [ "$docker" = yes ]; then
    backends="legacy nft"
    for backend in $backends; do
        echo "== Docker end-to-end tests, fence backend $backend"
        scripts/docker-engine.sh
        PALISADE_BACKEND=$backend tests/docker/e2e.sh build
    done
    # scripts/install-deps.sh --docker installs Podman too; a machine
    # where it is not there skips the pass, and says so.
    if [ "$podman" = no ]; then
        :
    elif command -v podman >/dev/null; then
        for backend in $backends; do
            echo "== the end-to-end tests under rootful Podman, fence backend $backend"
            scripts/docker-engine.sh podman
            ENGINE=podman PALISADE_BACKEND=$backend tests/docker/e2e.sh build
        done
    else
        echo "== no podman: the end-to-end tests under Podman are skipped"
    fi
    if [ "$fresh" = yes ]; then
        echo "== the suite in a fresh Debian root"
        # Without the aarch64 step: its cross compiler and :arm64 packages
        # would add minutes to every run, and the step checks its own
        # packages' versions against the machine's before it installs.
        PALISADE_CROSS=no scripts/fresh-check.sh
    fi
fi

echo "== all tests passed"
