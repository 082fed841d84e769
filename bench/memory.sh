#!/usr/bin/env bash
# PID 1's memory while an agent runs: palisade idle, palisade under the DNS
# load of bench/dns.sh, palisade with its DNS cache full (a load over more
# distinct allowed names than the cache holds: FULL_CACHE's "names|cache
# size[|long]" rows), palisade idle with a 10,000-entry allowlist, and Debian's
# tini (tini-static) running the same agent as PID 1 of the same kind of
# sandbox. tini serves no DNS and fences nothing, so only the idle rows
# compare like with like.
#
#   bench/memory.sh [SECONDS]     (as root; default 10 s of DNS load a row)
#
# The cache's fill level is nowhere to be read (the status file counts
# hits, not entries), so it is told from what went in: every distinct name
# has an address of its own, each allowed answer puts its address in the
# fence and its message in the cache (one A record, TTL 300 s, longer than
# the run), so the fence's count of addresses is the count of distinct
# answers the cache took, and the cache is full once that passes its size.
# The cache is also bounded by bytes (512 an entry on average): an entry of
# bench_names's names is about 150 bytes, and the cache fills by count;
# the "long" rows use names of 200 characters (long_names), whose entries
# are above 512 bytes, so that the cache fills by bytes, the most it can
# take.
#
# VmRSS from /proc/PID/status; Pss from /proc/PID/smaps_rollup (both static
# binaries, so nothing is shared with other processes and the two agree up
# to page-table rounding). Under load: the highest value of samples every
# 0.2 s, and the value 2 s after the load.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root dnsperf dnsmasq
SECS=${1:-10}
# names|cache size[|long]: the default cache (1024) and the largest
# (16384), each full by count and by bytes (more names than it holds), and
# the same load without a cache (0), which tells the cache's share from the
# rest (the fence, and the filter's table of the names of the last 4096
# addresses).
FULL_CACHE=${FULL_CACHE:-"2000|1024 2000|1024|long 20000|16384 20000|16384|long 20000|0"}
TINI=${TINI:-/usr/bin/tini-static}
[ -x "$TINI" ] || { echo "no $TINI: run scripts/install-deps.sh --bench" >&2; exit 1; }
RAW=$OUT_DIR/memory
rm -rf "$RAW"
mkdir -p "$RAW"
warn_if_busy

# long_names N FILE: N names of 200 characters under bench.test, one a line
# (three labels of 60 characters after the first, which tells them apart).
long_names() {
    local i pad
    pad=$(printf '%060d' 0 | tr 0 x)
    for ((i = 1; i <= $1; i++)); do printf 'n%05d.%s.%s.%s.bench.test\n' "$i" "$pad" "$pad" "$pad"; done > "$2"
}

# The upstream answers the most names a row asks, of each kind; the first
# 100 are bench/dns.sh's.
most=100 most_long=0
for spec in $FULL_CACHE; do
    IFS='|' read -r n _ long <<<"$spec"
    if [ -n "$long" ]; then
        [ "$n" -gt "$most_long" ] && most_long=$n
    else
        [ "$n" -gt "$most" ] && most=$n
    fi
done
SHORT_NAMES=$WORK/names.short
bench_names "$most" "$SHORT_NAMES"
LONG_NAMES=$WORK/names.long
long_names "$most_long" "$LONG_NAMES"
NAMES=$WORK/names
head -n 100 "$SHORT_NAMES" > "$NAMES"
bench_world
cat "$SHORT_NAMES" "$LONG_NAMES" > "$WORK/names.all"
bench_upstream "$WORK/names.all" || exit 1

# pid_by_comm TOP COMM: the descendant of TOP whose command name is COMM.
pid_by_comm() {
    local i p kid queue
    for i in $(seq 1 200); do
        queue=("$1")
        while [ ${#queue[@]} -gt 0 ]; do
            p=${queue[0]}
            queue=("${queue[@]:1}")
            for kid in $(pgrep -P "$p"); do
                [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = "$2" ] && { echo "$kid"; return 0; }
                queue+=("$kid")
            done
        done
        sleep 0.05
    done
    return 1
}

row() { # label pid note
    read -r rss pss <<<"$(mem_kib "$2")"
    echo "$1|$rss|$pss|$3" >> "$RAW/rows"
}

# load_rows LABEL PID NAMES TAG: dnsperf (type A, 100 queries
# outstanding, SECS s) over the names of the file NAMES, in order and round
# again, from the netns $ns to palisade (PID); the rows of the highest
# sample under load and of the value 2 s after. Keeps dnsperf's output in
# RAW/dnsperf.TAG and the samples in RAW/samples.TAG.
load_rows() {
    local label=$1 p=$2 names=$3 tag=$4 dp qps prss ppss
    sed 's/$/ A/' "$names" > "$WORK/dnsperf.$tag"
    ip netns exec "$ns" dnsperf -s 127.0.0.1 -d "$WORK/dnsperf.$tag" -l "$SECS" -q 100 \
        >"$RAW/dnsperf.$tag" 2>&1 &
    dp=$!
    : > "$RAW/samples.$tag"
    while kill -0 "$dp" 2>/dev/null; do
        mem_kib "$p" >> "$RAW/samples.$tag"
        sleep 0.2
    done
    wait "$dp"
    qps=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$RAW/dnsperf.$tag")
    prss=$(sort -k1,1g "$RAW/samples.$tag" | tail -n 1 | awk '{print $1}')
    ppss=$(sort -k2,2g "$RAW/samples.$tag" | tail -n 1 | awk '{print $2}')
    echo "$label, under DNS load (peak)|$prss|$ppss|dnsperf -q 100, ${SECS} s, ${qps} queries/s" >> "$RAW/rows"
    sleep 2
    row "$label, after the load" "$p" "2 s later"
}

# status_count ROOT KEY: the count KEY of palisade's status file in ROOT.
status_count() {
    sed -n "s/^$2 //p" "$1/run/palisade/status"
}

# palisade, the 100 names of bench/dns.sh.
bench_netns 1; ns=$BENCH_NS
r=$WORK/root1
make_root "$r"
echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
cp "$NAMES" "$r/etc/palisade/allow"
echo 'private *.bench.test' >> "$r/etc/palisade/allow" # their addresses are private
chmod 0644 "$r/etc/palisade/allow"
start_palisade "$r" "$ns" -q -u agent -- sleep 600 || exit 1
sleep 2
row "palisade, 100 names, idle" "$PID1" "after start, 2 s"
load_rows "palisade, 100 names" "$PID1" "$NAMES" 100

# palisade with its cache full: more distinct names than the cache holds,
# all allowed by one wildcard (the allowlist stays one entry, so what
# grows is the cache and the fence). Queried in order and round again, the
# least recently used entry is always the next one asked: every query
# misses and evicts once the cache is full.
k=3
: > "$RAW/cache"
for spec in $FULL_CACHE; do
    IFS='|' read -r n size long <<<"$spec"
    k=$((k + 1))
    bench_netns $k; ns=$BENCH_NS
    r=$WORK/root$k
    make_root "$r"
    echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
    printf '*.bench.test\nprivate *.bench.test\n' > "$r/etc/palisade/allow"
    chmod 0644 "$r/etc/palisade/allow"
    if [ -n "$long" ]; then
        head -n "$n" "$LONG_NAMES" > "$WORK/names.$n.long"
        names=$WORK/names.$n.long
        label="palisade, $n names of 200 characters (*.bench.test), --dns-cache-size $size"
    else
        head -n "$n" "$SHORT_NAMES" > "$WORK/names.$n"
        names=$WORK/names.$n
        label="palisade, $n names (*.bench.test), --dns-cache-size $size"
    fi
    start_palisade "$r" "$ns" -q -u agent --dns-cache-size "$size" -- sleep 600 || exit 1
    sleep 2
    tag=$n.$size${long:+.long}
    load_rows "$label" "$PID1" "$names" "$tag"
    # What went in (the status file is written at most once a second:
    # the 2 s after the load let it catch up).
    allowed=$(status_count "$r" queries-allowed)
    hits=$(status_count "$r" cache-hits)
    failed=$(status_count "$r" queries-failed)
    backend=$(sed -n 's/^backend //p' "$r/run/palisade/status")
    completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$RAW/dnsperf.$tag")
    infence=$(fence_entries "$backend" "$ns")
    if [ "$size" -eq 0 ]; then
        full="none: $infence distinct answers went in"
    elif [ "${infence:-0}" -ge "$size" ]; then
        full="full: $infence distinct answers went in, more than its $size entries"
    else
        full="NOT full: only $infence distinct answers went in (raise SECONDS)"
        echo "warning: $label: the cache is not full ($infence distinct answers, $size entries)" >&2
    fi
    echo "$label: cache $full; queries completed $completed, allowed $allowed, cache hits $hits, failed $failed; the fence ($backend) holds $infence addresses" \
        | tee -a "$RAW/cache" >&2
    stop_job "$BG"
done

# palisade, 10,000 addresses.
bench_netns 2; ns=$BENCH_NS
r=$WORK/root2
make_root "$r"
echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
for ((i = 1; i <= 10000; i++)); do echo "10.200.$((i / 256)).$((i % 256))"; done > "$r/etc/palisade/allow"
chmod 0644 "$r/etc/palisade/allow"
start_palisade "$r" "$ns" -q -u agent -- sleep 600 || exit 1
sleep 2
row "palisade, 10,000 addresses, idle" "$PID1" "after start, 2 s"

# tini, the same agent, the same kind of sandbox.
bench_netns 3; ns=$BENCH_NS
r=$WORK/root3
make_root "$r"
cp "$TINI" "$r/sbin/tini"
NETNS=$ns in_sandbox "$r" /sbin/tini -- sleep 600 >"$WORK/tini.log" 2>&1 </dev/null &
on_cleanup "kill $!"
T=$(pid_by_comm $! tini) || { echo "tini did not start: $(cat "$WORK/tini.log")" >&2; exit 1; }
sleep 2
row "tini-static ($("$TINI" --version 2>&1 | head -n 1 | awk '{print $3}')), idle" "$T" "no DNS, no fence: only idle compares"

{
    echo "## PID 1's memory: palisade vs tini"
    echo
    machine_line
    echo
    echo "PID 1 of a sandbox (own PID, mount and network namespaces) running \`sleep 600\` as the agent."
    echo "palisade $(ls -l "$PALISADE" | awk '{printf "%.0f KiB", $5 / 1024}') static; tini-static $(ls -l "$TINI" | awk '{printf "%.0f KiB", $5 / 1024}')."
    echo
    echo "| PID 1 | VmRSS (KiB) | Pss (KiB) | when |"
    echo "| --- | ---: | ---: | --- |"
    while IFS='|' read -r label rss pss note; do
        echo "| $label | $rss | $pss | $note |"
    done < "$RAW/rows"
    if [ -s "$RAW/cache" ]; then
        echo
        echo "The cache's fill level, from what went in (each name's answer has an address of its own;"
        echo "the fence's count of addresses is the count of distinct answers the cache took):"
        echo
        sed 's/^/- /' "$RAW/cache"
    fi
    echo
    load_line
} | tee "$OUT_DIR/memory.md"
