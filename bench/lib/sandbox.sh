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
    echo "$(load_line)" >&2
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

# bench_upstream NAMES [ADDR]: the world's resolver on 10.77.0.1:53, a
# dnsmasq that answers each name of the file NAMES (the i-th:
# 10.201.i/256.i%256, or ADDR for every one) from its own records, TTL
# 300 s, without logging. Sets UPSTREAM_PID.
bench_upstream() {
    local hosts=$WORK/upstream.hosts i=0 n
    while read -r n; do
        i=$((i + 1))
        echo "${2:-10.201.$((i / 256)).$((i % 256))} $n"
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

# fence_bench_start NAME MODE PORT: RAW=out/NAME (emptied), the world
# (bench_world) and bench/connrate.c's MODE (serve, sink) on
# 10.77.0.10:PORT there, up before it returns; the start of conn.sh and
# bulk.sh.
fence_bench_start() {
    RAW=$OUT_DIR/$1
    rm -rf "$RAW"
    mkdir -p "$RAW"
    warn_if_busy
    cc_static connrate
    bench_world
    ip netns exec "$WORLD" "$WORK/connrate" "$2" 10.77.0.10 "$3" >"$WORK/$2.log" 2>&1 &
    on_cleanup "kill $!"
    for _ in $(seq 1 100); do
        grep -q serving "$WORK/$2.log" && return 0
        sleep 0.05
    done
    echo "connrate $2 did not start: $(cat "$WORK/$2.log")" >&2
    exit 1
}

# Configurations compared per pair (bench/conn.sh, bench/bulk.sh). Each
# entry of the array CONFIGS is "label|entries|kind|palisade options", kind
# one of
#   none        PID 1 is a shell running as uid 1000: no rules, no conntrack
#   ct-legacy   the same, with OUTPUT -m conntrack --ctstate ESTABLISHED -j
#               ACCEPT (iptables-legacy, policy ACCEPT) in its namespace
#   ct-nft      the same with nft: table ip ctonly, chain out (hook
#               output, priority 0), ct state established accept
#   legacy, nft palisade as PID 1 with --backend KIND and an allowlist of
#               10.77.0.10 and entries-1 addresses of 10.200.0.0/16 that are
#               never contacted, the client its agent
#               (FENCE_ALLOW, when set, is a file to use as that
#               allowlist instead; entries is then what its set should hold)
# FENCE_BASELINES: the first three rows of conn.sh and bulk.sh, in this
# order (fence_rows compares with the first).
FENCE_BASELINES=(
    "no firewall|0|none|"
    "conntrack only, iptables-legacy|0|ct-legacy|"
    "conntrack only, nft|0|ct-nft|"
)
# fence_configs_start CLIENT: makes a root tree and a network namespace for
# each, all joined to the world (bench_world first), and starts each
# sandbox, whose agent runs the shell command CLIENT (its output the
# result) once for each of ROUNDS rounds when fence_rounds says go, then
# the shell lines FENCE_AGENT_TAIL, if set, before it exits (and palisade
# with it). Sets ROOTS and NSES, and PID1S (palisade's host pid, for its
# rows). Checks that palisade's set holds the entries.
fence_configs_start() {
    local client=$1 c label n kind opts r ns got
    ROOTS=() NSES=() PID1S=()
    for c in "${!CONFIGS[@]}"; do
        IFS='|' read -r label n kind opts <<<"${CONFIGS[$c]}"
        r=$WORK/root$c
        bench_netns $((c + 1)); ns=$BENCH_NS
        ROOTS[$c]=$r NSES[$c]=$ns
        make_root "$r"
        cp "$WORK/connrate" "$r/bin/connrate"
        echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
        cat > "$r/work/agent.sh" <<SH
i=1
while [ \$i -le $ROUNDS ]; do
    while [ ! -e /work/go.\$i ]; do sleep 0.02; done
    $client > /work/res.tmp 2>&1
    mv /work/res.tmp /work/res.\$i
    i=\$((i + 1))
done
${FENCE_AGENT_TAIL:-}
SH
        chmod 0755 "$r/work/agent.sh"
        case $kind in
        none|ct-legacy|ct-nft)
            # ("ct" is an nft keyword: the table is ctonly.)
            if [ "$kind" = ct-legacy ]; then
                ip netns exec "$ns" iptables-legacy -A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
            elif [ "$kind" = ct-nft ]; then
                ip netns exec "$ns" nft -f - <<'NFT'
add table ip ctonly
add chain ip ctonly out { type filter hook output priority 0; }
add rule ip ctonly out ct state established accept
NFT
            fi || { echo "$label: the conntrack rule did not go in" >&2; exit 1; }
            NETNS=$ns CHROOT_OPTS=--userspec=1000:1000 in_sandbox "$r" /bin/sh /work/agent.sh \
                >"$WORK/sandbox$c.log" 2>&1 </dev/null &
            on_cleanup "kill $!"
            continue ;;
        esac
        if [ -n "${FENCE_ALLOW:-}" ]; then
            cat "$FENCE_ALLOW"
        else
            echo 10.77.0.10
            for ((i = 1; i < n; i++)); do echo "10.200.$((i / 256)).$((i % 256))"; done
        fi > "$r/etc/palisade/allow"
        chmod 0644 "$r/etc/palisade/allow"
        # shellcheck disable=SC2086
        start_palisade "$r" "$ns" -q --backend "$kind" -u agent $opts -- /bin/sh /work/agent.sh || exit 1
        PID1S[$c]=$PID1
        got=$(fence_entries "$kind" "$ns")
        [ "$got" = "$n" ] || { echo "$label: palisade's set holds $got entries, not $n" >&2; exit 1; }
    done
}

# fence_entries KIND NETNS: the number of addresses in palisade's IPv4 host
# set: ipset palisade4 (legacy), or the elements of nft set default_host.
fence_entries() {
    if [ "$1" = legacy ]; then
        ip netns exec "$2" ipset list -t palisade4 | sed -n 's/^Number of entries: //p'
    else
        ip netns exec "$2" nft list set ip palisade default_host | tr -d '\n' |
            sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' | tr ',' '\n' | grep -c '[0-9]'
    fi
}

# fence_rounds SECONDS RAW: ROUNDS rounds over CONFIGS (the order turned
# round every other round), each run given up to SECONDS; run c of round k
# is kept in RAW/res.c.k.
fence_rounds() {
    local limit=$1 raw=$2 round c r ct_ns
    for ((round = 1; round <= ROUNDS; round++)); do
        for c in $(round_order ${#CONFIGS[@]} "$round"); do
            r=${ROOTS[$c]}
            touch "$r/work/go.$round"
            for _ in $(seq 1 $((limit * 20))); do
                [ -e "$r/work/res.$round" ] && break
                sleep 0.05
            done
            cp "$r/work/res.$round" "$raw/res.$c.$round" 2>/dev/null ||
                { echo "no result from ${CONFIGS[$c]%%|*} in round $round" >&2; exit 1; }
            ct_ns=$(ip netns exec "${NSES[$c]}" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)
            echo "round $round: ${CONFIGS[$c]%%|*}: $(cat "$raw/res.$c.$round") (conntrack entries in its netns: ${ct_ns:-none})" >&2
        done
    done
}

# fence_values NAME C RAW: the field NAME of each of config C's runs, one a line.
fence_values() {
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        field "$1" "$(cat "$3/res.$2.$round")"
    done
}

# vs_pairs FILE_A FILE_B: "median (+x%; p25..p75)" of A / B run by run.
vs_pairs() {
    local m lo hi
    read -r m lo hi _ < <(pair_ratios "$1" "$2" | quartiles)
    awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {
        if (m == "nan") print "n/a (no rate)"
        else printf "%.3f (%+.1f%%; %.3f..%.3f)\n", m, 100 * (m - 1), lo, hi }'
}


# fence_base KIND: the index in CONFIGS of the conntrack-only row that a
# palisade row of backend KIND is compared with (none for other rows).
fence_base() {
    local c label n kind opts
    case $1 in legacy|nft) ;; *) return 0 ;; esac
    for c in "${!CONFIGS[@]}"; do
        IFS='|' read -r label n kind opts <<<"${CONFIGS[$c]}"
        [ "$kind" = "ct-$1" ] && { echo "$c"; return 0; }
    done
}

# fence_rows FIELD FORMAT RAW [SUM]: a table row for each configuration:
# label, entries, the median, min and max of FIELD in its runs (printed
# with FORMAT), vs the first configuration (no firewall) and vs its
# backend's conntrack-only row, run by run, and, with SUM, the total of
# that field over its runs.
fence_rows() {
    local f=$1 fmt=$2 raw=$3 sum=${4:-} c label n kind opts med lo hi vs vsct b tot
    for c in "${!CONFIGS[@]}"; do
        fence_values "$f" "$c" "$raw" > "$raw/$f.$c"
    done
    for c in "${!CONFIGS[@]}"; do
        IFS='|' read -r label n kind opts <<<"${CONFIGS[$c]}"
        read -r med _ _ lo hi < <(quartiles < "$raw/$f.$c")
        vs=1.00 vsct=— tot=
        [ "$c" -eq 0 ] || vs=$(vs_pairs "$raw/$f.$c" "$raw/$f.0")
        b=$(fence_base "$kind")
        [ -z "$b" ] || vsct=$(vs_pairs "$raw/$f.$c" "$raw/$f.$b")
        [ -z "$sum" ] || tot=" $(fence_values "$sum" "$c" "$raw" | awk '{s += $1} END {print s + 0}') |"
        printf "| %s | %s | $fmt | $fmt | $fmt | %s | %s |%s\n" "$label" \
            "$([ "$n" -eq 0 ] && echo — || echo "$n")" "$med" "$lo" "$hi" "$vs" "$vsct" "$tot"
    done
}
