#!/usr/bin/env bash
# palisade started where it is not its container's first process: behind
# docker run --init, in a shared PID namespace, next to another PID 1 (a CI
# job's container: bypasses the entrypoint and runs steps with docker
# exec), in a user namespace as a non-root uid. Each refusal says what
# palisade found and what to do, and nothing runs.
. "$(dirname "$0")/lib.sh"
need_root

R=$WORK/root
make_root "$R"
# Programs that /proc names as others would see them: the probe installed
# under an init's, a pod's pause process's and a container runtime's names.
for name in docker-init pause containerd-shim; do
    cp "$R/bin/probe" "$R/sbin/$name"
done

sandboxed() { # sandboxed CMD...: CMD as PID 1 of a sandbox; sets OUT, RC
    rm -f "$R/tmp/ran"
    OUT=$(in_sandbox "$R" "$@" 2>&1 </dev/null)
    RC=$?
}
beside() { # beside PID CMD...: CMD in the namespaces of PID, as docker exec; sets OUT, RC
    local pid=$1
    shift
    rm -f "$R/tmp/ran"
    OUT=$(nsenter -t "$pid" -p -m -n -r -w "$@" 2>&1 </dev/null)
    RC=$?
}
refused() { # refused WHAT REGEX: the last run refused, said REGEX, ran nothing
    expect_eq "$1: exit 125" 125 "$RC"
    expect_match "$1: says why" "$2" "$OUT"
    check "$1: the command never ran" test ! -e "$R/tmp/ran"
}
not_pid1='^palisade: refusing to run: palisade is pid [0-9]+, not PID 1, and changes nothing outside a container; '

# Run by hand (here: by this script, whose shell is its parent).
OUT=$("$PALISADE" -u nobody -- true 2>&1); RC=$?
expect_match "by hand: the ENTRYPOINT advice" \
    "${not_pid1}use it as the container's ENTRYPOINT, or run palisade --check to see the plan\$" "$OUT"

# docker run --init: docker-init is PID 1 and starts palisade.
sandboxed /sbin/docker-init init -- /sbin/palisade -u agent -- touch /tmp/ran
refused "behind docker run --init" \
    "${not_pid1}PID 1 is \"docker-init\", an init that docker run --init .*remove --init: palisade is an init itself"

# An entrypoint script that starts palisade without exec.
sandboxed /bin/sh -c '/sbin/palisade -u agent -- touch /tmp/ran; exit $?'
refused "started by a script that is PID 1" \
    "${not_pid1}PID 1 is \"sh\", which started palisade.*exec palisade"

# A Kubernetes pod that shares its PID namespace: PID 1 is the pause
# process, and palisade comes from outside the namespace.
in_sandbox "$R" /sbin/pause idle >/dev/null 2>&1 </dev/null &
BG=$!
if P=$(sandbox_pid1 "$BG" pause); then
    beside "$P" /sbin/palisade -u agent -- touch /tmp/ran
    refused "a pod's shared PID namespace" \
        "${not_pid1}PID 1 is \"pause\".*shareProcessNamespace.*first process of its own PID namespace"
else
    fail "the pause process did not start"
fi
kill "$BG"; wait "$BG" 2>/dev/null

# A CI job's container: PID 1 is another program (sleep here; tail -f
# /dev/null, node), and each step runs with docker exec. The image kept
# RUN_DIR's files from an earlier run, root's and well-formed: they say
# nothing about this container.
mkdir -p "$R/run/palisade"
chmod 0755 "$R/run" "$R/run/palisade"
printf 'user agent\nseccomp on\n' > "$R/run/palisade/agent"
printf 'started sh as agent (uid 1000); fenced\n' > "$R/run/palisade/ready"
printf 'names\nqueries-allowed 0\n' > "$R/run/palisade/status"
chmod 0644 "$R/run/palisade/"*
in_sandbox "$R" /bin/sleep 60 >/dev/null 2>&1 </dev/null &
BG=$!
if P=$(sandbox_pid1 "$BG" sleep); then
    beside "$P" /sbin/palisade -u agent -- touch /tmp/ran
    refused "docker exec palisade next to another PID 1" \
        "${not_pid1}PID 1 is \"sleep\", not palisade.*entrypoint was bypassed.*run the image with docker run"
    bypassed='PID 1 of this container is "sleep", not palisade: the container.s entrypoint was bypassed \(a CI job.s container:.*nothing fences this container; run the image with docker run in a step instead'
    beside "$P" /sbin/palisade exec -- touch /tmp/ran
    expect_eq "palisade exec next to another PID 1: exit 125" 125 "$RC"
    expect_match "palisade exec next to another PID 1: says the entrypoint was bypassed" \
        "^palisade: exec: $bypassed" "$OUT"
    check "palisade exec next to another PID 1: the command never ran, stale terms or not" \
        test ! -e "$R/tmp/ran"
    beside "$P" /sbin/palisade status
    expect_eq "palisade status next to another PID 1: exit 1" 1 "$RC"
    expect_match "palisade status next to another PID 1: says the entrypoint was bypassed" \
        "^palisade: status: $bypassed" "$OUT"
    expect_no_match "palisade status next to another PID 1: shows no stale counts" 'allowed names' "$OUT"

    # The host's PID namespace (--pid=host): the runtime that started
    # the container is palisade's parent, in sight.
    beside "$P" /sbin/containerd-shim init -- /sbin/palisade -u agent -- touch /tmp/ran
    refused "the host's PID namespace" \
        "${not_pid1}palisade was started by \"containerd-shim\", a container runtime, and PID 1 is \"sleep\".*--pid=host"
else
    fail "the CI job's PID 1 did not start"
fi
kill "$BG"; wait "$BG" 2>/dev/null
rm -rf "$R/run/palisade"

# docker exec next to palisade itself.
in_sandbox "$R" /sbin/palisade -q -u agent -- sleep 60 >"$WORK/pid1.log" 2>&1 </dev/null &
BG=$!
if P=$(sandbox_pid1 "$BG") && wait_until 10 test -e "$R/run/palisade/ready"; then
    beside "$P" /sbin/palisade -u agent -- touch /tmp/ran
    refused "a second palisade next to PID 1" \
        "${not_pid1}palisade is already this container's PID 1: .*palisade exec -- COMMAND"
    beside "$P" /sbin/palisade exec -- true
    expect_eq "palisade exec next to palisade still runs" 0 "$RC"
    kill -TERM "$P"
else
    fail "palisade did not come up: $(cat "$WORK/pid1.log")"
    kill "$BG"
fi
wait "$BG" 2>/dev/null

# Rootless Podman with --userns=keep-id: PID 1 of a user namespace, as the
# user's own uid. Outside a user namespace, the advice is not given.
OUT=$(unshare --user --map-user=1000 --map-group=1000 --pid --fork --mount-proc \
      "$PALISADE" -u nobody -- true 2>&1); RC=$?
expect_eq "a non-root uid in a user namespace: exit 125" 125 "$RC"
expect_match "a non-root uid in a user namespace: add --user 0" \
    '^palisade: palisade must start as root .*rootless Podman.s --userns=keep-id .*add --user 0' "$OUT"
OUT=$(unshare --pid --fork --mount-proc setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$PALISADE" -u nobody -- true 2>&1); RC=$?
expect_eq "a non-root uid, no user namespace: exit 125" 125 "$RC"
expect_match "a non-root uid, no user namespace: remove --user" 'must start as root.*remove --user' "$OUT"
expect_no_match "a non-root uid, no user namespace: no user namespace advice" 'add --user 0' "$OUT"
finish
