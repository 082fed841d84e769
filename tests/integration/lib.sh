# Shared helpers for the integration tests. Each test runs the real palisade
# binary as PID 1 of its own PID, mount and network namespaces, chrooted into
# a small root tree made from Debian's busybox-static. Nothing runs against
# the machine's own root filesystem or network namespace.
#
# Environment (set by meson): PALISADE, PROBE, SOURCE_ROOT, BUILD_ROOT.
set -u

: "${PALISADE:?set PALISADE to the palisade binary}"
: "${PROBE:?set PROBE to the palisade-probe binary}"
BUSYBOX=${BUSYBOX:-/bin/busybox}

failures=0
checks=0
skips=0
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/palisade-$TEST_NAME-XXXXXX")
chmod 0755 "$WORK"
cleanup_hooks=()

cleanup() {
    local i
    for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do
        eval "${cleanup_hooks[$i]}" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
on_cleanup() { cleanup_hooks+=("$1"); }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "skip - $TEST_NAME: needs root (namespaces, chroot)"
        exit 77
    fi
    [ -x "$BUSYBOX" ] || { echo "FAIL: $BUSYBOX missing: run scripts/install-deps.sh"; exit 1; }
    need_fence_kernel
}

# Every test that needs root runs palisade, which fences: ask the kernel,
# without palisade, whether it offers what the fence is made of (legacy
# iptables and ip6tables, ipset, and the matches and targets palisade's
# rules use), in a scratch network namespace. When it does not, the whole
# test is skipped with the reason (exit 77): none of its checks could tell
# anything on this kernel.
need_fence_kernel() {
    local ns=palk$$ why= out
    if ! out=$(ip netns add "$ns" 2>&1); then
        echo "skip - $TEST_NAME: cannot make a network namespace: $out"
        exit 77
    fi
    local in=(ip netns exec "$ns")
    local v6=yes
    "$PROBE" kernel ipv6 >/dev/null 2>&1 || v6=no
    if ! out=$("${in[@]}" iptables-legacy -w -S 2>&1); then
        why="legacy iptables (ip_tables, iptable_filter): $out"
    elif [ $v6 = yes ] && ! out=$("${in[@]}" ip6tables-legacy -w -S 2>&1); then
        why="legacy ip6tables (ip6_tables, ip6table_filter): $out"
    elif ! out=$("${in[@]}" ipset create palk hash:net 2>&1); then
        why="ipset (ip_set, ip_set_hash_net): $out"
    elif ! out=$("${in[@]}" iptables-legacy -w -A OUTPUT -p tcp -m owner --socket-exists \
                 ! --uid-owner 0 -m conntrack --ctstate RELATED,ESTABLISHED \
                 --ctorigdstport 53 -m set --match-set palk dst -m multiport --dports 80,443 \
                 -j NFLOG --nflog-group 1953 2>&1) ||
         ! out=$("${in[@]}" iptables-legacy -w -A OUTPUT -j REJECT 2>&1); then
        why="a netfilter extension palisade's rules use (xt_owner, xt_conntrack, xt_set, xt_multiport, xt_NFLOG, ipt_REJECT): $out"
    fi
    ip netns del "$ns" >/dev/null 2>&1
    if [ -n "$why" ]; then
        echo "skip - $TEST_NAME: this kernel does not offer $why"
        exit 77
    fi
}

# kernel_offers FEATURE: asks the kernel, without palisade, in this
# namespace (see tests/kernel.c for the features); sets WHY when it does not.
kernel_offers() {
    local out
    if out=$("$PROBE" kernel "$1" 2>&1); then WHY=; return 0; fi
    WHY=${out#"$1: no: "}
    return 1
}

pass() { checks=$((checks + 1)); echo "ok   - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $*"; }
# skip "check" "reason": a check this kernel cannot run; never counted as passed.
skip() { skips=$((skips + 1)); echo "skip - $1: $2"; }

# check "description" test-command...
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq "description" expected actual
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

# expect_match "description" regex text
expect_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else
        fail "$1: [$3] does not match /$2/"; fi
}

expect_no_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then fail "$1: [$3] matches /$2/"; else
        pass "$1"; fi
}

finish() {
    echo "# $TEST_NAME: $checks checks, $failures failed, $skips skipped"
    [ "$failures" -eq 0 ]
    exit $?
}

# make_root DIR: a root tree with busybox, palisade, the probe, and an
# unprivileged user "agent" (uid 1000).
make_root() {
    local r=$1
    mkdir -p "$r"/{bin,sbin,etc/palisade,proc,dev,tmp,root,home/agent,usr/bin,work}
    cp "$BUSYBOX" "$r/bin/busybox"
    local a
    for a in sh cat echo sleep kill ls id ps true false grep sed wc env pwd head \
             test mkdir rm touch stat chmod cut tr printf readlink find; do
        ln -sf busybox "$r/bin/$a"
    done
    # A sanitizer build is linked dynamically: give the tree the host's
    # libraries, read-only, as mounts of their own (see in_sandbox).
    if ! ldd "$PALISADE" 2>&1 | grep -q 'statically linked' ||
       ! ldd "$PROBE" 2>&1 | grep -q 'statically linked'; then
        mkdir -p "$r/usr/lib" "$r/usr/lib64"
        ln -sfn usr/lib "$r/lib"
        ln -sfn usr/lib64 "$r/lib64"
        touch "$r/.dynamic"
    fi
    cp "$PALISADE" "$r/sbin/palisade"
    cp "$PROBE" "$r/bin/probe"
    cat > "$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:Agent:/home/agent:/bin/sh
other:x:1001:1001::/home/other:/bin/sh
PW
    cat > "$r/etc/group" <<'GR'
root:x:0:
agent:x:1000:
extra:x:1500:agent
GR
    chown 1000:1000 "$r/home/agent" "$r/work"
    chmod 1777 "$r/tmp"
    chmod 0755 "$r" "$r/etc" "$r/etc/palisade"
}

# The sandbox: new PID and mount namespaces (and a new network namespace,
# unless NETNS names one to enter), the root tree bind-mounted on itself so
# that it is a mount of its own, /proc and a small /dev, then chroot.
# in_sandbox ROOT CMD... runs CMD (normally /sbin/palisade ...) as PID 1.
in_sandbox() {
    local root=$1
    shift
    local pre=()
    if [ -n "${NETNS:-}" ]; then
        pre=(ip netns exec "$NETNS")
        set -- "$@"
    fi
    local net=--net
    [ -n "${NETNS:-}" ] && net=
    "${pre[@]}" unshare --pid --fork --mount $net --kill-child -- \
        /bin/sh -c '
            set -e
            r=$1; shift
            mount --make-rprivate /
            mount --bind "$r" "$r"
            mount -t proc proc "$r/proc"
            if [ -e "$r/.dynamic" ]; then
                mount --bind -o ro /usr/lib "$r/usr/lib"
                mount --bind -o ro /usr/lib64 "$r/usr/lib64"
            fi
            mount -t tmpfs -o mode=0755,size=1m dev "$r/dev"
            for d in null:1:3 zero:1:5 urandom:1:9 tty:5:0; do
                IFS=: read -r n ma mi <<EOF2
$d
EOF2
                mknod -m 0666 "$r/dev/$n" c "$ma" "$mi"
            done
            [ -n "${SANDBOX_SETUP:-}" ] && eval "$SANDBOX_SETUP"
            exec ${SANDBOX_WRAP:-} chroot ${CHROOT_OPTS:-} "$r" "$@"
        ' sandbox "$root" "$@"
}

# Runs palisade as PID 1 in the sandbox; sets OUT, ERR and RC.
run_palisade() {
    local root=$1
    shift
    in_sandbox "$root" /sbin/palisade "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# The host pid of the palisade that runs as PID 1 of the sandbox started by
# background job $1: the descendant of $1 whose command name is palisade.
sandbox_pid1() {
    local top=$1 i
    for i in $(seq 1 200); do
        local queue=("$top") found=
        while [ ${#queue[@]} -gt 0 ] && [ -z "$found" ]; do
            local p=${queue[0]} kid
            queue=("${queue[@]:1}")
            for kid in $(pgrep -P "$p"); do
                if [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = palisade ]; then
                    found=$kid
                    break
                fi
                queue+=("$kid")
            done
        done
        if [ -n "$found" ]; then echo "$found"; return 0; fi
        sleep 0.05
    done
    return 1
}

# wait_for_text FILE TEXT [SECONDS]
wait_for_text() {
    local i n=$(( ${3:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
