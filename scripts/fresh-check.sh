#!/usr/bin/env bash
# Runs the whole suite (scripts/test.sh --no-docker) in a fresh Debian
# bookworm root, so that whatever this machine has installed and
# scripts/install-deps.sh does not install shows up as a failure or as a
# skipped check here instead of on a new user's machine.
#
#   scripts/fresh-check.sh
#
# The fresh root is a container from palisade-test/bookworm, the image that
# scripts/docker-engine.sh makes with `debootstrap --variant=minbase
# bookworm` (nothing can be pulled here): its apt sources are the one line
# debootstrap writes, it has its own network namespace and reaches Debian's
# archive through Docker's bridge, and it sees nothing of this machine but
# the kernel. The files git tracks, as they are in the work tree (so
# uncommitted changes are checked too; a file not yet added to git is not),
# are copied in with tar; the container and everything in it is removed
# when the run ends, however it ends.
#
# The integration tests make network, PID and mount namespaces, iptables
# rules and ipsets, and set sysctls inside their own network namespaces, so
# the container gets every capability this shell has that Docker knows
# (`--cap-add ALL`, less any missing from this shell's bounding set; Debian's
# Docker 20.10 knows none after CAP_AUDIT_READ, so CAP_PERFMON, CAP_BPF and
# CAP_CHECKPOINT_RESTORE are left out, CAP_SYS_ADMIN covering the first
# two), no seccomp or AppArmor profile, and an unmasked, writable /proc
# (`systempaths=unconfined`). `--privileged` is not used: it asks for every
# capability Docker knows and fails ("unable to apply caps") on a machine
# whose own bounding set lacks one, and it would also hand the container
# all of the machine's devices.
#
# The kernel is the machine's, so the fresh root must give the same results:
# the script prints meson's summary (Ok, Fail, Skipped, ...) and every
# skipped check of both builds, compares them with this machine's own run
# when one has left its logs in build/ and build-asan/ (scripts/test.sh does),
# and fails on any difference. It exits non-zero when the suite fails inside.
#
# scripts/test.sh runs this after its own run ("== the suite in a fresh
# Debian root"), unless given --no-docker or --no-fresh. The run inside uses
# --no-docker, which never starts this check again; PALISADE_FRESH_ROOT=1,
# set inside, makes sure of it. PALISADE_CROSS goes in as it is here
# (scripts/test.sh sets it to no: no aarch64 build inside).
#
# On 2 cores it takes about 3 minutes once Docker's engine and the base
# image are there (scripts/docker-engine.sh makes them in about a minute
# more): one minute to install the packages (clang-14 among them) and build
# the static libiptc, under two for the suite itself. Nothing is cached
# from one run to the next.
set -Eeuo pipefail
trap 'echo "$0: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
    echo "usage: scripts/fresh-check.sh" >&2
    exit 2
fi
if [ -n "${PALISADE_FRESH_ROOT:-}" ]; then
    echo "fresh-check: already inside the fresh root; not starting another" >&2
    exit 2
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "fresh-check: $PWD is not a git work tree: it copies the files git tracks" >&2
    exit 2
fi

scripts/docker-engine.sh
BASE=palisade-test/bookworm

# Capabilities 0-37 by number: the ones every Docker since 20.10 knows by
# name. Drop those this shell lacks, so that Docker asks for no more.
cap_names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
    SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW
    IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
    SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
    LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ)
bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
caps=(--cap-add ALL)
for i in "${!cap_names[@]}"; do
    if (( (0x$bnd >> i & 1) == 0 )); then
        caps+=(--cap-drop "${cap_names[$i]}")
    fi
done

name=palisade-fresh-$(date +%Y%m%d-%H%M%S)-$$
out=$(mktemp -d /tmp/palisade-fresh-XXXXXX)
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$out"
}
trap cleanup EXIT

# Inside: unpack, install (timed on its own), run the suite, keep meson's
# test logs in /out, and exit with the suite's status.
inner='
set -u
mkdir /src && tar -x -C /src && cd /src || exit 1
t=$SECONDS
scripts/install-deps.sh || exit 1
echo "fresh-check: packages installed and libiptc built in $((SECONDS - t)) s"
t=$SECONDS
rc=0
scripts/test.sh --no-docker || rc=$?
echo "fresh-check: scripts/test.sh --no-docker took $((SECONDS - t)) s, exit status $rc"
for b in build build-asan; do
    if [ -f "$b/meson-logs/testlog.txt" ]; then cp "$b/meson-logs/testlog.txt" "/out/$b.txt"; fi
done
exit $rc
'

# The files git tracks, less those deleted in the work tree.
tracked() {
    local f
    git ls-files -z | while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done
}

echo "fresh-check: running scripts/test.sh --no-docker in a fresh $BASE container ($name)"
start=$SECONDS
# In the background, so that an interrupt is acted on at once: the trap
# exits, and the exit removes the container. (Without job control, a
# background job ignores SIGINT, so Docker does not pass it on either.)
trap 'exit 130' INT
trap 'exit 143' TERM
(
    trap - ERR
    tracked | tar --null -T - --owner=0 --group=0 --numeric-owner -c |
        docker run --rm -i --name "$name" --hostname palisade-fresh \
            "${caps[@]}" \
            --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
            --security-opt systempaths=unconfined \
            -e PALISADE_FRESH_ROOT=1 -e PALISADE_CROSS -v "$out:/out" \
            "$BASE" bash -c "$inner" 2>&1 |
        sed -u 's/^/fresh| /'
) &
rc=0
wait $! || rc=$?
elapsed=$((SECONDS - start))

# results TESTLOG: meson's summary, then every skipped check, after the
# name of its test: a TAP skip of the integration scripts ("ok N - what
# # SKIP why", shown without its number, which depends on the checks before
# it, or a whole script's "1..0 # SKIP why"), a unit test's "skip - ..." or
# "SKIP: ...", or cmocka's "[  SKIPPED ] test".
results() {
    awk '/^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): / {
             gsub(/ +/, " "); sub(/ $/, ""); print }' "$1"
    awk '/^test: / { sub(/^test: +/, ""); name = $0; next }
         /^ok [0-9]+ - .* # SKIP/ {
             l = $0; sub(/^ok [0-9]+ - /, "", l); sub(/ # SKIP */, ": ", l)
             print name ": skip - " l; next }
         /^1\.\.0 # SKIP / { l = $0; sub(/^1\.\.0 # SKIP /, "", l); print name ": skip - " l; next }
         /^(skip - |SKIP: )/ || (/^\[  SKIPPED \]/ && !/listed below/) {
             print name ": " $0 }' "$1" | sort -u
}

echo "== the suite in a fresh Debian root: $((elapsed / 60)) min $((elapsed % 60)) s, exit status $rc"
differs=0
for b in build build-asan; do
    case $b in build) what="release build" ;; *) what="ASan+UBSan build" ;; esac
    if [ ! -f "$out/$b.txt" ]; then
        echo "-- $what: no test log (the run stopped before its tests)"
        continue
    fi
    echo "-- $what, fresh root:"
    results "$out/$b.txt" | sed 's/^/   /'
    host=$b/meson-logs/testlog.txt
    if [ ! -f "$host" ]; then
        echo "-- $what, this machine: no $host to compare with (scripts/test.sh writes it)"
    elif diff <(results "$host") <(results "$out/$b.txt") >"$out/diff" 2>&1; then
        echo "-- $what, this machine ($host, $(date -r "$host" '+%F %T')): the same"
    else
        differs=1
        echo "-- $what, this machine ($host, $(date -r "$host" '+%F %T')): DIFFERENT"
        echo "   (< this machine, > fresh root; rerun scripts/test.sh if that log is old)"
        grep '^[<>]' "$out/diff" | sed 's/^/   /'
    fi
done

if [ "$rc" -ne 0 ]; then
    echo "fresh-check: the suite failed in the fresh root (exit status $rc); its output is above, after \"fresh| \"" >&2
    exit 1
fi
if [ "$differs" -ne 0 ]; then
    echo "fresh-check: the fresh root's results differ from this machine's: something this machine has and scripts/install-deps.sh does not install?" >&2
    exit 1
fi
echo "fresh-check: passed"
