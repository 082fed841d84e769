#!/usr/bin/env bash
# PID 1's memory while an agent runs: palisade idle, palisade under the DNS
# load of bench/dns.sh, palisade idle with a 10,000-entry allowlist, and
# Debian's tini (tini-static) running the same agent as PID 1 of the same
# kind of sandbox. tini serves no DNS and fences nothing, so only the idle
# rows compare like with like.
#
#   bench/memory.sh [SECONDS]     (as root; default 10 s of DNS load)
#
# VmRSS from /proc/PID/status; Pss from /proc/PID/smaps_rollup (both static
# binaries, so nothing is shared with other processes and the two agree up
# to page-table rounding). Under load: the highest value of samples every
# 0.2 s, and the value 2 s after the load.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root dnsperf dnsmasq
SECS=${1:-10}
TINI=${TINI:-/usr/bin/tini-static}
[ -x "$TINI" ] || { echo "no $TINI: run scripts/install-deps.sh --bench" >&2; exit 1; }
RAW=$OUT_DIR/memory
rm -rf "$RAW"
mkdir -p "$RAW"
warn_if_busy

NAMES=$WORK/names
bench_names 100 "$NAMES"
sed 's/$/ A/' "$NAMES" > "$WORK/dnsperf.data"
bench_world
bench_upstream "$NAMES" || exit 1

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

# palisade, the 100 names of bench/dns.sh.
bench_netns 1; ns=$BENCH_NS
r=$WORK/root1
make_root "$r"
echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
cp "$NAMES" "$r/etc/palisade/allow"
echo 'private *.bench.test' >> "$r/etc/palisade/allow" # their addresses are private
chmod 0644 "$r/etc/palisade/allow"
start_palisade "$r" "$ns" -q -u agent -- sleep 600 || exit 1
P=$PID1
sleep 2
row "palisade, 100 names, idle" "$P" "after start, 2 s"
ip netns exec "$ns" dnsperf -s 127.0.0.1 -d "$WORK/dnsperf.data" -l "$SECS" -q 100 \
    >"$RAW/dnsperf" 2>&1 &
DP=$!
: > "$RAW/samples"
while kill -0 "$DP" 2>/dev/null; do
    mem_kib "$P" >> "$RAW/samples"
    sleep 0.2
done
wait "$DP"
qps=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$RAW/dnsperf")
read -r prss ppss <<<"$(sort -k1,1g "$RAW/samples" | tail -n 1)"
ppss=$(sort -k2,2g "$RAW/samples" | tail -n 1 | awk '{print $2}')
echo "palisade, 100 names, under DNS load (peak)|$prss|$ppss|dnsperf -q 100, ${SECS} s, ${qps} queries/s" >> "$RAW/rows"
sleep 2
row "palisade, 100 names, after the load" "$P" "2 s later"

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
} | tee "$OUT_DIR/memory.md"
