#!/usr/bin/env bash
# The capabilities palisade needs, as a container started with
# --cap-drop ALL (Kubernetes, a careful docker run) or with Podman's
# default set (no NET_RAW) gives them: each one missing fails at once with
# status 125 and a message that names it and the flag to add, before
# anything is changed; with the list the README gives, the fence goes up.
# The sandbox's bounding set is cut with setpriv, so palisade, started as
# root, holds only what is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root
for t in setpriv setcap getcap sysctl; do
    command -v "$t" >/dev/null || skip_all "$t is not installed (scripts/install-deps.sh)"
done

world_root

# What palisade needs under --cap-drop ALL when the image has nothing for
# it to strip that another user owns, and the sandbox's own need: chroot
# (SYS_CHROOT, which palisade does not use).
NEEDED=net_admin,setuid,setgid,setpcap,kill
HARNESS=sys_chroot
only() { # only CAP,...: setpriv keeping these and the harness's in the bounding set
    echo "setpriv --bounding-set=-all,+${1//,/,+},+$HARNESS --"
}
port_start() { ip netns exec "$SANDBOX_NS" sysctl -qw net.ipv4.ip_unprivileged_port_start="$1"; }
fresh_fence() {
    fence_reset
    rm -f "$R/tmp/ran"
}
# Docker and containerd 2 let any process bind low ports in a container;
# a fresh network namespace, Podman and older Kubernetes runtimes do not.
port_start 0

# refused "what" "capabilities named (regex)" "flags (regex)" WRAP...: the
# start fails before any change, naming the capabilities and the fix.
refused() {
    local what=$1 names=$2 flags=$3
    shift 3
    fresh_fence
    SANDBOX_WRAP="$*" run_palisade "$R" -u agent -a 10.77.0.10 -- /bin/touch /tmp/ran
    expect_eq "$what: exit 125" 125 "$RC"
    expect_match "$what: the message names what is missing" "^palisade: the container lacks $names" "$ERR"
    expect_match "$what: and the flags for docker run, podman run and Kubernetes" \
        "run the container with $flags \\(docker run, podman run; Kubernetes: securityContext\\.capabilities\\.add: \\[" "$ERR"
    check "$what: the command never ran" test ! -e "$R/tmp/ran"
    check "$what: nothing of the fence was installed" not fence_installed
}
for cap in net_admin setuid setgid setpcap kill; do
    C=${cap^^}
    refused "without $C" "CAP_$C \\([a-z]" "--cap-add $C" setpriv --bounding-set=-"$cap" --
done
refused "without SETPCAP and KILL" 'CAP_SETPCAP \([^)]*\), CAP_KILL \([^)]*\);' \
    '--cap-add SETPCAP --cap-add KILL' setpriv --bounding-set=-setpcap,-kill --
expect_match "without SETPCAP and KILL: the Kubernetes list names both" \
    'securityContext\.capabilities\.add: \["SETPCAP", "KILL"\]\)$' "$ERR"
# Where binding port 53 is privileged, the DNS filter needs NET_BIND_SERVICE.
port_start 1024
refused "without NET_BIND_SERVICE where port 53 is privileged" \
    'CAP_NET_BIND_SERVICE \(to serve DNS on port 53: ports below 1024 need it here\)' \
    '--cap-add NET_BIND_SERVICE' setpriv --bounding-set=-net_bind_service --
port_start 0

# ran "what" WRAP...: the fence is up and the agent ran behind it.
ran() {
    local what=$1
    shift
    fresh_fence
    SANDBOX_WRAP="$*" run_palisade "$R" -u agent -a 10.77.0.10 -- /bin/sh -c \
        'probe tcp 10.77.0.10 80; probe tcp 10.77.0.20 80; touch /tmp/ran'
    expect_eq "$what: the agent runs" 0 "$RC"
    expect_match "$what: the allowed address is reached" '^open' "$(printf '%s\n' "$OUT" | sed -n 1p)"
    expect_match "$what: the other address is refused" '^refused' "$(printf '%s\n' "$OUT" | sed -n 2p)"
    expect_match "$what: the policy is DROP" "$FENCE_OUTPUT_DROP" "$(fence_rules 4)"
}
# Podman and Kubernetes' restricted profiles drop NET_RAW: palisade opens
# no raw socket.
ran "without NET_RAW (Podman's default)" setpriv --bounding-set=-net_raw --
ran "with --cap-drop ALL and only the needed list" $(only "$NEEDED")
port_start 1024
ran "with the needed list and NET_BIND_SERVICE where port 53 is privileged" \
    $(only "$NEEDED,net_bind_service")
port_start 0

# What the image holds decides the rest: stripping a file another user owns,
# or one with file capabilities, needs more. The start fails after the
# fence went up (fail closed), naming the capability and the file.
strip_refused() { # strip_refused "what" CAP "file regex" WRAP...
    local what=$1 cap=$2 file=$3
    shift 3
    fresh_fence
    SANDBOX_WRAP="$*" run_palisade "$R" -u agent -a 10.77.0.10 -- /bin/touch /tmp/ran
    expect_eq "$what: exit 125" 125 "$RC"
    expect_match "$what: the message names the file and CAP_$cap" "^palisade: .*$file.*palisade lacks CAP_$cap" "$ERR"
    expect_match "$what: and the flags" \
        "run the container with --cap-add $cap \\(docker run, podman run; Kubernetes: securityContext\\.capabilities\\.add: \\[\"$cap\"\\]\\)" "$ERR"
    check "$what: the command never ran" test ! -e "$R/tmp/ran"
}
# A directory only its owner may read (apt's partial downloads are _apt's).
mkdir -p "$R/var/cache/private"
cp "$BUSYBOX" "$R/var/cache/private/tool"
chown -R 1001:1001 "$R/var/cache/private"
chmod 4755 "$R/var/cache/private/tool"
chmod 0700 "$R/var/cache/private"
strip_refused "a directory another user owns, without DAC_READ_SEARCH" DAC_READ_SEARCH \
    '/var/cache/private' $(only "$NEEDED")
ran "a directory another user owns, with DAC_READ_SEARCH" $(only "$NEEDED,dac_read_search,fowner")
expect_eq "a directory another user owns: its set-uid file is stripped" 755 \
    "$(stat -c %a "$R/var/cache/private/tool")"
rm -rf "$R/var/cache/private"
# A set-uid file another user owns.
cp "$BUSYBOX" "$R/usr/bin/owned"
chown 1001:1001 "$R/usr/bin/owned"
chmod 4755 "$R/usr/bin/owned"
strip_refused "a set-uid file another user owns, without FOWNER" FOWNER '/usr/bin/owned' $(only "$NEEDED")
ran "a set-uid file another user owns, with FOWNER" $(only "$NEEDED,fowner")
expect_eq "a set-uid file another user owns: stripped" 755 "$(stat -c %a "$R/usr/bin/owned")"
rm -f "$R/usr/bin/owned"
# A file with file capabilities (Debian's ping has cap_net_raw).
cp "$BUSYBOX" "$R/usr/bin/ping"
setcap cap_net_raw+ep "$R/usr/bin/ping"
strip_refused "a file with file capabilities, without SETFCAP" SETFCAP '/usr/bin/ping' $(only "$NEEDED")
ran "a file with file capabilities, with SETFCAP" $(only "$NEEDED,setfcap")
expect_eq "a file with file capabilities: they are gone" "" "$(getcap "$R/usr/bin/ping")"
rm -f "$R/usr/bin/ping"
# A resolv.conf another user owns, which palisade points at its DNS filter.
chown 1001:1001 "$R/etc/resolv.conf"
strip_refused "a resolv.conf another user owns, without DAC_OVERRIDE" DAC_OVERRIDE \
    '/etc/resolv.conf' $(only "$NEEDED")
ran "a resolv.conf another user owns, with DAC_OVERRIDE" $(only "$NEEDED,dac_override")
expect_eq "a resolv.conf another user owns: it names palisade's filter" "nameserver 127.0.0.1" \
    "$(grep -m 1 '^nameserver' "$R/etc/resolv.conf")"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
chown 0:0 "$R/etc/resolv.conf"
# An audit report in a directory another user owns (a workspace).
mkdir -p "$R/work/report"
chown 1001:1001 "$R/work/report"
refused_report() {
    fresh_fence
    SANDBOX_WRAP="$(only "$NEEDED")" run_palisade "$R" -u agent --audit --audit-report /work/report/allow \
        -a 10.77.0.10 -- /bin/touch /tmp/ran
    expect_eq "an audit report in a directory another user owns, without DAC_OVERRIDE: exit 125" 125 "$RC"
    expect_match "an audit report in a directory another user owns: the message" \
        '^palisade: --audit-report /work/report/allow: cannot create it: permission denied: palisade lacks CAP_DAC_OVERRIDE; run the container with --cap-add DAC_OVERRIDE ' "$ERR"
    check "an audit report in a directory another user owns: the command never ran" test ! -e "$R/tmp/ran"
}
refused_report
rm -rf "$R/work/report"
finish
