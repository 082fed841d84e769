# Shared by bench/dns.sh, bench/memory.sh and bench/conn.sh: the sandbox of
# the integration tests (tests/integration/lib.sh: palisade as PID 1 of its
# own PID, mount and network namespaces, chrooted into a busybox root tree),
# a "world" namespace joined to each sandbox by a veth pair, and a few
# helpers for measuring. Only these namespaces and loopback see traffic.
#
#   world   10.77.0.1 (resolver), 10.77.0.10 (TCP server)
#   netns k 10.77.k.2, world's side 10.77.k.1, default route through it
#
# Environment: PALISADE and PROBE (default: the release build in build/).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOURCE_ROOT=$(dirname "$BENCH_DIR")
export PALISADE=${PALISADE:-$SOURCE_ROOT/build/palisade}
export PROBE=${PROBE:-$SOURCE_ROOT/build/tests/palisade-probe}
OUT_DIR=$BENCH_DIR/out
mkdir -p "$OUT_DIR"
# median, quartiles and the other helpers for paired runs (bench_need_root
# and machine_line are this file's own, below).
. "$BENCH_DIR/common.sh"

# make_root, in_sandbox, sandbox_pid1, on_cleanup, WORK and its cleanup.
. "$SOURCE_ROOT/tests/integration/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

bench_need_root() {
    need_root
    [ -x "$PALISADE" ] || { echo "no $PALISADE: build first (meson setup build && ninja -C build)" >&2; exit 1; }
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 ||
            { echo "$t is missing: run scripts/install-deps.sh --bench" >&2; exit 1; }
    done
}

# The machine line every table starts with.
machine_line() {
    local cpu
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    printf 'machine: nproc %s, CPU %s, kernel %s; %s (%s)\n' "$(nproc)" "${cpu:-unknown}" \
        "$(uname -r)" "$("$PALISADE" --version 2>/dev/null | head -n 1)" "$PALISADE"
}

# Another run of something heavy on this machine skews every number.
warn_if_busy() {
    local p q others=
    for p in $(pgrep -f '\.ci/run|bench/'); do
        # This script and its own subshells are not others.
        q=$p
        while [ -n "$q" ] && [ "$q" -gt 1 ] && [ "$q" != $$ ]; do
            q=$(ps -o ppid= -p "$q" 2>/dev/null | tr -d ' ')
        done
        [ "$q" = $$ ] || others="$others $p"
    done
    if [ -n "$others" ]; then
        echo "warning: other benchmark or CI processes are running (pids:$others); numbers may be skewed" >&2
    fi
}

# cc_static NAME: compiles bench/NAME.c into $WORK/NAME (static).
cc_static() {
    cc -O2 -static -Wall -o "$WORK/$1" "$BENCH_DIR/$1.c" ||
        { echo "cannot compile bench/$1.c" >&2; exit 1; }
}

# bench_world: the world namespace ($WORLD), with 10.77.0.1 and 10.77.0.10
# on its loopback, reached from each netns made by bench_netns.
bench_world() {
    WORLD=pbw$$
    ip netns add "$WORLD"
    on_cleanup "ip netns del $WORLD"
    ip -n "$WORLD" link set lo up
    ip -n "$WORLD" addr add 10.77.0.1/32 dev lo
    ip -n "$WORLD" addr add 10.77.0.10/32 dev lo
    ip netns exec "$WORLD" sysctl -qw net.ipv4.ip_forward=0
}

# bench_netns K: a network namespace pb<K>-<pid> joined to the world; sets
# BENCH_NS to its name (not a command substitution: the cleanup hook must
# be registered in the calling shell).
bench_netns() {
    local k=$1 ns=pb$1-$$ vw=pbw$1-$$ vs=pbs$1-$$
    ip netns add "$ns"
    on_cleanup "ip netns del $ns"
    ip link add "$vw" netns "$WORLD" type veth peer name "$vs" netns "$ns"
    ip -n "$WORLD" link set "$vw" up
    ip -n "$WORLD" addr add "10.77.$k.1/24" dev "$vw"
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$vs" up
    ip -n "$ns" addr add "10.77.$k.2/24" dev "$vs"
    ip -n "$ns" route add default via "10.77.$k.1"
    BENCH_NS=$ns
}

# bench_names N FILE: N names n001.bench.test ..., one a line.
bench_names() {
    local i
    for ((i = 1; i <= $1; i++)); do printf 'n%03d.bench.test\n' "$i"; done > "$2"
}

# bench_upstream NAMES: the world's resolver on 10.77.0.1:53, a dnsmasq
# that answers each name of the file NAMES (the i-th: 10.201.i/256.i%256)
# from its own records, TTL 300 s, without logging. Sets UPSTREAM_PID.
bench_upstream() {
    local hosts=$WORK/upstream.hosts i=0 n
    while read -r n; do
        i=$((i + 1))
        echo "10.201.$((i / 256)).$((i % 256)) $n"
    done < "$1" > "$hosts"
    ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --user=root --group=root --bind-interfaces --listen-address=10.77.0.1 \
        --local=/test/ --addn-hosts="$hosts" --local-ttl=300 \
        --pid-file="$WORK/upstream.pid" 2>"$WORK/upstream.err" &
    UPSTREAM_PID=$!
    on_cleanup "kill $UPSTREAM_PID"
    local first
    first=$(head -n 1 "$1")
    for _ in $(seq 1 100); do
        ip netns exec "$WORLD" "$PROBE" dns "$first" 10.77.0.1 2>/dev/null | grep -q '^NOERROR' &&
            return 0
        sleep 0.05
    done
    echo "the upstream dnsmasq did not come up: $(cat "$WORK/upstream.err")" >&2
    return 1
}

# start_palisade ROOT NETNS ARGS...: palisade as PID 1 of a sandbox in
# NETNS, in the background; waits for /run/palisade/ready. Sets PID1 (its
# host pid) and BG (the sandbox's job).
start_palisade() {
    local r=$1 ns=$2
    shift 2
    rm -f "$r/run/palisade/ready"
    NETNS=$ns in_sandbox "$r" /sbin/palisade "$@" >"$WORK/palisade-$ns.out" \
        2>"$WORK/palisade-$ns.err" </dev/null &
    BG=$!
    on_cleanup "kill $BG"
    PID1=$(sandbox_pid1 "$BG") || { echo "palisade did not start: $(cat "$WORK/palisade-$ns.err")" >&2; return 1; }
    local i
    for i in $(seq 1 400); do
        [ -e "$r/run/palisade/ready" ] && return 0
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.05
    done
    echo "palisade did not get ready: $(cat "$WORK/palisade-$ns.err")" >&2
    return 1
}

# stop_job PID: ends a background sandbox (unshare --kill-child takes its
# PID 1 with it) and waits for it.
stop_job() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# cpu_ticks PID: user + system time of PID so far, in clock ticks.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# busy_ticks: "busy total" clock ticks of all CPUs so far (/proc/stat).
busy_ticks() {
    awk '/^cpu /{t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat
}

# mem_kib PID: "VmRSS Pss" of PID, in KiB.
mem_kib() {
    local rss pss
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$1/status")
    pss=$(awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null)
    echo "${rss:-?} ${pss:-?}"
}

# field NAME LINE: the word after NAME in a "name value name value" line.
field() {
    printf '%s\n' "$2" | awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit }}'
}
