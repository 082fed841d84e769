#!/usr/bin/env bash
# The name check's cost (docs/security.md "The name check"): new TLS
# connections per second from the agent (uid 1000, inside the sandbox) to
# an allowed name's address on port 443, and each connection's time to
# the server's first byte, with the check and with --no-name-check, with
# each fence backend, everything else the same.
#
#   bench/names.sh [SECONDS] [ROUNDS]   (as root; default 2 s, 12 rounds)
#   BACKENDS="nft" bench/names.sh      (one backend; default "legacy nft")
#
# Prints markdown tables; keeps the raw output in bench/out/names/.
#
# The allowlist is one name, api.bench.test, which the world's dnsmasq
# (10.77.0.1) answers with 10.77.0.10, where bench/connrate.c's hello
# server listens on port 443: it reads one TLS record, answers one byte
# and closes. palisade (--allow-private api.bench.test: the address is a
# private one) resolves the name as it starts and puts the address in its
# set. The client, the agent, is connrate's tls mode: connect, send a TLS
# 1.3 ClientHello naming api.bench.test (254 bytes, one segment; OpenSSL's
# s_server answers it with a ServerHello), wait for the server's first
# byte, close with a reset, in a tight loop. It takes its source ports in
# turn (20000..60999, carried over from run to run in /work/ports), so
# that no connection reuses another's addresses and ports within 41,000
# connections: a packet of addresses and ports PID 1 decided lately goes
# back through the chain once more before it is read (the kernel's own
# choice of port reuses a port closed with a reset at once), which would
# add a round trip the ordinary client does not pay.
# Time to first byte is taken from just before the send to the read's
# return, each connection's; a run gives its median (and p25, p75, p90,
# p99).
#
# With the check, the handshake's last ACK and the ClientHello go to PID 1
# through NFQUEUE 1953; PID 1 lets the ACK through, reads the server name
# and sends the segment back marked allowed (the connection is not queued
# again). With --no-name-check nothing is queued.
#
# Every configuration is its own sandbox (own network namespace, same
# veth to the world), all started before the first run (bench/lib/
# sandbox.sh); the runs go round-robin, ROUNDS times, the order turned
# round every other round. "check / no check" divides each round's rate
# with the check by the same backend's without it in the same round, and
# "added" subtracts the medians of time to first byte likewise: the median
# of those per-pair figures, with their p25..p75. After the runs, PID 1's
# status file must count one checked name for every connection the client
# made (the warm-up's too) and none refused; without the check, none.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root cc dnsmasq
SECS=${1:-2}
ROUNDS=${2:-12}
BACKENDS=${BACKENDS:-legacy nft}
NAME=api.bench.test
fence_bench_start names hello 443

echo "$NAME" > "$WORK/names"
bench_upstream "$WORK/names" 10.77.0.10 || exit 1
FENCE_ALLOW=$WORK/allow
printf '%s\nprivate %s\n' "$NAME" "$NAME" > "$FENCE_ALLOW"

# label|entries|kind|palisade options (lib/sandbox.sh fence_configs_start):
# for each backend, the check (row 2b) and without it (row 2b+1).
CONFIGS=()
for b in $BACKENDS; do
    case $b in legacy|nft) ;; *) echo "BACKENDS: $b is not legacy or nft" >&2; exit 2 ;; esac
    CONFIGS+=("palisade $b, name check|1|$b|" "palisade $b, --no-name-check|1|$b|--no-name-check")
done
# The agent stays, and palisade with it, until the status files are read.
FENCE_AGENT_TAIL='while [ ! -e /work/done ]; do sleep 0.1; done'
fence_configs_start "connrate tls 10.77.0.10 443 $SECS $NAME /work/ports"
# cpu_ns C: config C's PID 1 on the CPU so far, in ns (its schedstat).
cpu_ns() { cut -d' ' -f1 "/proc/${PID1S[$1]}/schedstat"; }
for c in "${!CONFIGS[@]}"; do cpu_ns "$c" > "$RAW/cpu0.$c"; done
fence_rounds $((SECS + 30)) "$RAW"
for c in "${!CONFIGS[@]}"; do cpu_ns "$c" > "$RAW/cpu1.$c"; done

# PID 1 writes its status file at most once a second.
sleep 1.5
# checked C: "names-checked names-refused" of config C's PID 1.
checked() {
    local st=${ROOTS[$1]}/run/palisade/status
    [ -r "$st" ] || { echo "? ?"; return; }
    awk '$1 == "names-checked" {c = $2} $1 == "names-refused" {r = $2} END {print c + 0, r + 0}' "$st"
}
# total FIELD C: the sum of FIELD over config C's runs.
total() { fence_values "$1" "$2" "$RAW" | awk '{s += $1} END {print s + 0}'; }

for c in "${!CONFIGS[@]}"; do
    for f in rate failed attempts ttfb_p50 ttfb_p90 ttfb_p99; do
        fence_values "$f" "$c" "$RAW" > "$RAW/$f.$c"
    done
    read -r chk ref < <(checked "$c")
    want_chk=$(total attempts "$c")
    [ $((c % 2)) -eq 0 ] || want_chk=0
    if [ "$chk" != "$want_chk" ] || [ "$ref" != 0 ]; then
        echo "${CONFIGS[$c]%%|*}: PID 1 counts $chk names checked and $ref refused, not $want_chk and 0" >&2
        exit 1
    fi
    echo "$chk" > "$RAW/checked.$c"
    touch "${ROOTS[$c]}/work/done"
done

# added A B: "median (p25..p75)" of A - B run by run, in µs.
added() {
    local m lo hi
    read -r m lo hi _ < <(pair_diffs "$1" "$2" | quartiles)
    awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {
        if (m == "nan") print "n/a"; else printf "%+.1f (%+.1f..%+.1f)\n", m, lo, hi }'
}
# left_out A B: pairs a ratio of A / B leaves out (a side without a rate).
left_out() {
    paste -d ' ' "$1" "$2" | awk '!(NF == 2 && $1 > 0 && $2 > 0) {n++} END {print n + 0}'
}
med() { quartiles < "$1" | cut -d' ' -f1; }

{
    echo "## The name check: new TLS connections through the fence"
    echo
    machine_line
    echo
    echo "The agent (uid 1000) connects to $NAME (10.77.0.10:443 in the world namespace), sends a"
    echo "254-byte TLS 1.3 ClientHello naming it, waits for the server's first byte and closes with a"
    echo "reset, in a tight loop, ${SECS} s a run; the median of $ROUNDS runs, taken round-robin over the"
    echo "configurations (the order turned round every other round). \"check / no check\": each round's"
    echo "rate with the name check over the same backend's with --no-name-check in the same round, the"
    echo "median of those ratios, then their p25..p75. \"PID 1 CPU\": its time on the CPU over all the"
    echo "runs (/proc/PID/schedstat) over the connections made (the warm-ups' too). $(load_line) at the end of the run."
    echo
    echo "| configuration | connections/s (median) | min | max | check / no check | failed | names checked by PID 1 | PID 1 CPU per connection (µs) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for c in "${!CONFIGS[@]}"; do
        read -r m _ _ lo hi < <(quartiles < "$RAW/rate.$c")
        vs=—
        if [ $((c % 2)) -eq 0 ]; then
            vs=$(vs_pairs "$RAW/rate.$c" "$RAW/rate.$((c + 1))")
            n=$(left_out "$RAW/rate.$c" "$RAW/rate.$((c + 1))")
            [ "$n" -eq 0 ] || vs="$vs, $n pairs left out"
        fi
        cpu=$(awk -v a="$(cat "$RAW/cpu0.$c")" -v b="$(cat "$RAW/cpu1.$c")" -v n="$(total attempts "$c")" \
            'BEGIN { if (n > 0) printf "%.1f", (b - a) / 1000 / n; else print "n/a" }')
        printf '| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s |\n' "${CONFIGS[$c]%%|*}" "$m" "$lo" "$hi" \
            "$vs" "$(total failed "$c")" "$(cat "$RAW/checked.$c")" "$cpu"
    done
    echo
    echo "Time to first byte: from just before the ClientHello's send to the read of the server's"
    echo "first byte, every connection of a run; the columns are the medians over the $ROUNDS runs of each"
    echo "run's p50, p90 and p99, in µs. \"added\": each round's p50 with the check less the same backend's"
    echo "without it in the same round, the median of those differences and their p25..p75."
    echo
    echo "| configuration | p50 (µs) | p90 | p99 | added p50 per pair (µs) |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for c in "${!CONFIGS[@]}"; do
        add=—
        [ $((c % 2)) -ne 0 ] || add=$(added "$RAW/ttfb_p50.$c" "$RAW/ttfb_p50.$((c + 1))")
        printf '| %s | %.1f | %.1f | %.1f | %s |\n' "${CONFIGS[$c]%%|*}" "$(med "$RAW/ttfb_p50.$c")" \
            "$(med "$RAW/ttfb_p90.$c")" "$(med "$RAW/ttfb_p99.$c")" "$add"
    done
} | tee "$OUT_DIR/names.md"
