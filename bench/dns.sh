#!/usr/bin/env bash
# The DNS filter's overhead: palisade as PID 1 of a sandbox, answering on
# 127.0.0.1, against the upstream resolver it forwards to (a dnsmasq in the
# world namespace, answering from its own records) and against dnsmasq set
# up for the same job (a local dnsmasq with --ipset for the allowed names,
# forwarding to the same upstream).
#
#   bench/dns.sh [SECONDS] [ROUNDS]     (as root; default 10 s, 3 rounds)
#
# Prints a markdown table; keeps the raw output in bench/out/dns/.
#
# Every target gets the same query mix: the 100 allowed names in turn, type A,
# over UDP, sent from the target's own network namespace by root (nsenter/ip
# netns exec as root is root, so the fence lets it reach 127.0.0.1 and the
# upstream alike):
#   upstream            the world's dnsmasq at 10.77.0.1, queried from the
#                       sandbox of the first palisade row (with its fence)
#   palisade, 100 names -a for each name: the names are resolved at start, so
#                       their addresses are already permanent in the sets and
#                       an answer needs no set update
#   palisade, wildcard  *.bench.test: every answer is written to the set
#                       (one netlink transaction) before it is passed back
#   dnsmasq --ipset     a dnsmasq on 127.0.0.1 of a namespace of its own,
#                       --ipset=/n001.bench.test/.../set (a hash:ip set),
#                       --cache-size=0 (forwards every query, as palisade
#                       does) and with its default cache (150 entries: every
#                       name is answered from the cache after the first time,
#                       and only then written to the set)
# Throughput: dnsperf -q 100 (100 queries outstanding) for SECONDS, median of
# ROUNDS rounds, with the CPU time each resolver used meanwhile. Latency:
# bench/dnslat.c, one query outstanding (an unloaded resolver), every query
# timed, percentiles over all rounds' medians. The targets take turns within
# each round (the order turned round every other round); "vs upstream" and
# "added p50" compare each round's figure with the upstream's of the same
# round: the median of those per-round ratios or differences, with their
# p25..p75.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root dnsperf dnsmasq ipset cc
SECS=${1:-10}
ROUNDS=${2:-3}
LAT_SECS=5
NNAMES=100
RAW=$OUT_DIR/dns
rm -rf "$RAW"
mkdir -p "$RAW"
warn_if_busy
cc_static dnslat

NAMES=$WORK/names
bench_names $NNAMES "$NAMES"
sed 's/$/ A/' "$NAMES" > "$WORK/dnsperf.data"

bench_world
bench_upstream "$NAMES" || exit 1

# Two palisade sandboxes (netns 1 and 2).
bench_netns 1; NS_P=$BENCH_NS
bench_netns 2; NS_W=$BENCH_NS
for k in P W; do
    r=$WORK/root$k
    make_root "$r"
    echo "nameserver 10.77.0.1" > "$r/etc/resolv.conf"
    if [ $k = P ]; then cp "$NAMES" "$r/etc/palisade/allow"; else echo '*.bench.test' > "$r/etc/palisade/allow"; fi
    # The names' addresses are private (10.201.0.0/16): opted in.
    echo 'private *.bench.test' >> "$r/etc/palisade/allow"
    chmod 0644 "$r/etc/palisade/allow"
done
start_palisade "$WORK/rootP" "$NS_P" -q -u agent -- sleep 600 || exit 1
PID1_P=$PID1 BG_P=$BG
start_palisade "$WORK/rootW" "$NS_W" -q -u agent -- sleep 600 || exit 1
PID1_W=$PID1 BG_W=$BG

# Two dnsmasq --ipset resolvers (netns 3: no cache, netns 4: default cache).
ipset_arg="--ipset=/$(paste -sd/ "$NAMES")/benchallow"
bench_netns 3; NS_N=$BENCH_NS
bench_netns 4; NS_C=$BENCH_NS
for k in N C; do
    ns_var=NS_$k
    ns=${!ns_var}
    ip netns exec "$ns" ipset create benchallow hash:ip family inet
    cache=()
    [ $k = N ] && cache=(--cache-size=0)
    ip netns exec "$ns" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --user=root --group=root --bind-interfaces --listen-address=127.0.0.1 \
        --server=10.77.0.1 "${cache[@]}" "$ipset_arg" \
        --pid-file="$WORK/dnsmasq$k.pid" 2>"$WORK/dnsmasq$k.err" &
    eval "DM_$k=$!"
    on_cleanup "kill $!"
done
for ns in "$NS_N" "$NS_C" "$NS_P" "$NS_W"; do
    for _ in $(seq 1 100); do
        ip netns exec "$ns" "$PROBE" dns n001.bench.test 127.0.0.1 2>/dev/null | grep -q '^NOERROR' &&
            continue 2
        sleep 0.05
    done
    echo "no answer from 127.0.0.1 in $ns" >&2
    exit 1
done

# target: label netns server pid-of-the-resolver-under-test
TARGETS=(
    "upstream|$NS_P|10.77.0.1|$UPSTREAM_PID"
    "palisade, 100 names|$NS_P|127.0.0.1|$PID1_P"
    "palisade, *.bench.test|$NS_W|127.0.0.1|$PID1_W"
    "dnsmasq --ipset, no cache|$NS_N|127.0.0.1|$DM_N"
    "dnsmasq --ipset, default cache|$NS_C|127.0.0.1|$DM_C"
)
HZ=$(getconf CLK_TCK)

for ((round = 1; round <= ROUNDS; round++)); do
    for i in $(round_order ${#TARGETS[@]} "$round"); do
        IFS='|' read -r label ns server pid <<<"${TARGETS[$i]}"
        # Throughput, with the CPU time of the resolver and of the upstream.
        t0=$(cpu_ticks "$pid") u0=$(cpu_ticks "$UPSTREAM_PID")
        read -r b0 a0 < <(busy_ticks)
        ip netns exec "$ns" dnsperf -s "$server" -d "$WORK/dnsperf.data" -l "$SECS" -q 100 \
            >"$RAW/dnsperf.$i.$round" 2>&1
        t1=$(cpu_ticks "$pid") u1=$(cpu_ticks "$UPSTREAM_PID")
        read -r b1 a1 < <(busy_ticks)
        echo "$((t1 - t0)) $((u1 - u0)) $(( (b1 - b0) * 100 / (a1 - a0) ))" > "$RAW/cpu.$i.$round"
        # Latency, one query at a time.
        ip netns exec "$ns" "$WORK/dnslat" "$server" 53 "$NAMES" "$LAT_SECS" 1 \
            >"$RAW/lat.$i.$round" 2>&1
        echo "round $round: $label: $(sed -n 's/^ *Queries per second: *//p' "$RAW/dnsperf.$i.$round") q/s," \
            "p50 $(field p50_us "$(cat "$RAW/lat.$i.$round")") us" >&2
    done
done

# The sets really were written.
set_count() { ip netns exec "$1" ipset list "$2" 2>/dev/null | sed -n 's/^Number of entries: //p'; }

dp() { sed -n "s/^ *$1: *\([0-9.]*\).*/\1/p" "$2"; }
us() { awk -v s="$1" 'BEGIN {printf "%.0f", s * 1e6}'; }
{
    echo "## DNS: palisade's filter vs its upstream vs dnsmasq --ipset"
    echo
    machine_line
    echo
    echo "$NNAMES allowed names, type A over UDP, each target queried from its own network namespace."
    echo "Throughput: dnsperf, 100 queries outstanding, ${SECS} s, median of $ROUNDS rounds (the targets in turn"
    echo "within each round); \"vs upstream\": the median, then p25..p75, of each round's ratio to the upstream's."
    echo "CPU: the resolver's own user+system time over the run, in % of one core and in"
    echo "CPU µs per answered query; \"upstream CPU\" is the world's dnsmasq during the same run;"
    echo "\"machine busy\" is all CPUs' busy time over the run (dnsperf, resolvers, softirqs) out of $(nproc) CPUs."
    echo
    echo "| target | queries/s | vs upstream | avg latency (µs) | stddev (µs) | lost | resolver CPU | µs CPU/query | upstream CPU | machine busy |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for i in "${!TARGETS[@]}"; do
        for ((round = 1; round <= ROUNDS; round++)); do
            qps=$(dp 'Queries per second' "$RAW/dnsperf.$i.$round")
            echo "${qps:-0}"
        done > "$RAW/qps.$i"
    done
    for i in "${!TARGETS[@]}"; do
        IFS='|' read -r label ns server pid <<<"${TARGETS[$i]}"
        # The round with the median throughput speaks for the row.
        best=$(for ((round = 1; round <= ROUNDS; round++)); do
                   echo "$(dp 'Queries per second' "$RAW/dnsperf.$i.$round") $round"
               done | sort -g | awk '{r[NR] = $2} END {print r[int((NR + 1) / 2)]}')
        f=$RAW/dnsperf.$i.$best
        qps=$(dp 'Queries per second' "$f")
        vs=1.00
        if [ "$i" -gt 0 ]; then
            read -r vm v25 v75 _ < <(pair_ratios "$RAW/qps.$i" "$RAW/qps.0" | quartiles)
            vs=$(awk -v m="$vm" -v lo="$v25" -v hi="$v75" 'BEGIN {
                if (m == "nan") print "n/a (no rate)"; else printf "%.2f (%.2f..%.2f)\n", m, lo, hi }')
        fi
        read -r tt ut busy < "$RAW/cpu.$i.$best"
        done_q=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$f")
        lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$f")
        runtime=$(dp 'Run time (s)' "$f")
        awk -v l="$label" -v q="$qps" -v vs="$vs" -v a="$(dp 'Average Latency (s)' "$f")" \
            -v s="$(dp 'Latency StdDev (s)' "$f")" -v lost="$lost" -v tt="$tt" -v ut="$ut" \
            -v busy="$busy" -v hz="$HZ" -v rt="$runtime" -v n="$done_q" -v first="$i" 'BEGIN {
            printf "| %s | %.0f | %s | %.0f | %.0f | %d | %.0f%% | %.1f | %s | %d%% |\n", l, q,
                vs, a * 1e6, s * 1e6, lost,
                100 * tt / hz / rt, tt / hz * 1e6 / n, first == 0 ? "(same)" : sprintf("%.0f%%", 100 * ut / hz / rt), busy }'
    done
    echo
    echo "Latency of an unloaded resolver: bench/dnslat, one query outstanding, every query timed"
    echo "(${LAT_SECS} s a round; the median over $ROUNDS rounds of each percentile, in µs; \"added p50\": the median,"
    echo "then p25..p75, of each round's p50 less the upstream's p50 of the same round)."
    echo
    echo "| target | p50 | p90 | p99 | p99.9 | added p50 vs upstream |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for i in "${!TARGETS[@]}"; do
        for ((round = 1; round <= ROUNDS; round++)); do
            field p50_us "$(cat "$RAW/lat.$i.$round")"
        done > "$RAW/p50.$i"
    done
    for i in "${!TARGETS[@]}"; do
        IFS='|' read -r label ns server pid <<<"${TARGETS[$i]}"
        pct() { for ((round = 1; round <= ROUNDS; round++)); do
                    field "$1" "$(cat "$RAW/lat.$i.$round")"; done | median; }
        p50=$(pct p50_us) p90=$(pct p90_us) p99=$(pct p99_us) p999=$(pct p999_us)
        added=—
        if [ "$i" -gt 0 ]; then
            read -r am a25 a75 _ < <(pair_diffs "$RAW/p50.$i" "$RAW/p50.0" | quartiles)
            added=$(awk -v m="$am" -v lo="$a25" -v hi="$a75" 'BEGIN {
                printf "%+.0f (%+.0f..%+.0f)\n", m, lo, hi }')
        fi
        awk -v l="$label" -v a="$p50" -v b="$p90" -v c="$p99" -v d="$p999" -v added="$added" 'BEGIN {
            printf "| %s | %.0f | %.0f | %.0f | %.0f | %s |\n", l, a, b, c, d, added }'
    done
    echo
    echo "Set entries afterwards: palisade4 of the wildcard sandbox $(set_count "$NS_W" palisade4)," \
        "dnsmasq's sets $(set_count "$NS_N" benchallow) (no cache) and $(set_count "$NS_C" benchallow) (cache)."
} | tee "$OUT_DIR/dns.md"
