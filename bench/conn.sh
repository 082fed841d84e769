#!/usr/bin/env bash
# The firewall's cost per new connection: TCP connections per second from
# the agent (uid 1000, inside the sandbox) to an allowed address, with 10,
# 1000 and 10,000 entries in palisade's sets, against the same sandbox with
# no firewall at all.
#
#   bench/conn.sh [SECONDS] [ROUNDS]    (as root; default 5 s, 5 rounds)
#
# Prints a markdown table; keeps the raw output in bench/out/conn/.
#
# The client is bench/connrate.c (connect, then close with a reset, in a
# tight loop: no TIME_WAIT, so the ephemeral ports never run out), the
# server the same program's accept-and-close loop on 10.77.0.10:80 in the
# world namespace. Every configuration is its own sandbox (own network
# namespace, same veth to the world), all started before the first run; the
# runs go round-robin through the configurations, ROUNDS times (the order
# turned round every other round), and each row reports the median. "vs no
# firewall" divides each round's rate by the no-firewall rate of the same
# round: the median of those ratios, with their p25..p75. The N-entry allowlist is /etc/palisade/allow in the
# root tree: 10.77.0.10 and N-1 addresses from 10.200.0.0/16 that are never
# contacted, so palisade4 holds N members.
#   no firewall          PID 1 is a shell running as uid 1000: no iptables
#                        rules and no conntrack in the namespace
#   conntrack only       the same shell, with one rule in the namespace
#                        (OUTPUT -m conntrack --ctstate ESTABLISHED -j
#                        ACCEPT, policy ACCEPT): what connection tracking
#                        alone costs, which any stateful fence pays
#   palisade, N entries  palisade as PID 1, the client its agent (under its
#                        seccomp filter)
#   ..., --no-seccomp    the same without the agent's system call filter, to
#                        tell the filter's cost from the fence's
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root cc
SECS=${1:-5}
ROUNDS=${2:-5}
RAW=$OUT_DIR/conn
rm -rf "$RAW"
mkdir -p "$RAW"
warn_if_busy
cc_static connrate

bench_world
ip netns exec "$WORLD" "$WORK/connrate" serve 10.77.0.10 80 >"$WORK/serve.log" 2>&1 &
on_cleanup "kill $!"

# label|entries|palisade options
CONFIGS=(
    "no firewall|0|"
    "conntrack only (one -m conntrack rule, no palisade)|0|conntrack"
    "palisade, 10 entries|10|"
    "palisade, 1000 entries|1000|"
    "palisade, 10,000 entries|10000|"
    "palisade, 10,000 entries, --no-seccomp|10000|--no-seccomp"
)
declare -a ROOTS NSES
for c in "${!CONFIGS[@]}"; do
    IFS='|' read -r label n opts <<<"${CONFIGS[$c]}"
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
    connrate client 10.77.0.10 80 $SECS > /work/res.tmp 2>&1
    mv /work/res.tmp /work/res.\$i
    i=\$((i + 1))
done
SH
    chmod 0755 "$r/work/agent.sh"
    if [ "$n" -eq 0 ]; then
        [ "$opts" = conntrack ] && ip netns exec "$ns" iptables-legacy -A OUTPUT \
            -m conntrack --ctstate ESTABLISHED -j ACCEPT
        NETNS=$ns CHROOT_OPTS=--userspec=1000:1000 in_sandbox "$r" /bin/sh /work/agent.sh \
            >"$WORK/sandbox$c.log" 2>&1 </dev/null &
        on_cleanup "kill $!"
        continue
    fi
    {
        echo 10.77.0.10
        for ((i = 1; i < n; i++)); do echo "10.200.$((i / 256)).$((i % 256))"; done
    } > "$r/etc/palisade/allow"
    chmod 0644 "$r/etc/palisade/allow"
    # shellcheck disable=SC2086
    start_palisade "$r" "$ns" -q -u agent $opts -- /bin/sh /work/agent.sh || exit 1
    got=$(ip netns exec "$ns" ipset list -t palisade4 | sed -n 's/^Number of entries: //p')
    [ "$got" = "$n" ] || { echo "$label: palisade4 has $got entries, not $n" >&2; exit 1; }
done
grep -q serving "$WORK/serve.log" || sleep 0.2

for ((round = 1; round <= ROUNDS; round++)); do
    for c in $(round_order ${#CONFIGS[@]} "$round"); do
        r=${ROOTS[$c]}
        touch "$r/work/go.$round"
        for _ in $(seq 1 $(( (SECS + 30) * 20 ))); do
            [ -e "$r/work/res.$round" ] && break
            sleep 0.05
        done
        cp "$r/work/res.$round" "$RAW/res.$c.$round" 2>/dev/null ||
            { echo "no result from ${CONFIGS[$c]%%|*} in round $round" >&2; exit 1; }
        ct=$(cat "/proc/sys/net/netfilter/nf_conntrack_count" 2>/dev/null)
        ct_ns=$(ip netns exec "${NSES[$c]}" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)
        echo "${ct_ns:-0}" > "$RAW/conntrack.$c.$round"
        echo "round $round: ${CONFIGS[$c]%%|*}: $(cat "$RAW/res.$c.$round") (conntrack entries in its netns: ${ct_ns:-none}; host: ${ct:-none})" >&2
    done
done

{
    echo "## New TCP connections per second through the fence"
    echo
    machine_line
    echo
    echo "The agent (uid 1000) connects to 10.77.0.10:80 in the world namespace and closes with a reset,"
    echo "in a tight loop, ${SECS} s a run; the median of $ROUNDS runs, taken round-robin over the configurations"
    echo "(the order turned round every other round). \"vs no firewall\": each round's rate over the no-firewall"
    echo "rate of the same round; the median of those ratios, then their p25..p75."
    echo
    echo "| configuration | entries in palisade4 | connections/s (median) | min | max | vs no firewall | failed |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for c in "${!CONFIGS[@]}"; do
        IFS='|' read -r label n opts <<<"${CONFIGS[$c]}"
        for ((round = 1; round <= ROUNDS; round++)); do
            field rate "$(cat "$RAW/res.$c.$round")"
        done > "$RAW/rates.$c"
        failed=$(for ((round = 1; round <= ROUNDS; round++)); do
                     field failed "$(cat "$RAW/res.$c.$round")"; done | awk '{s += $1} END {print s + 0}')
        read -r med _ _ lo hi < <(quartiles < "$RAW/rates.$c")
        if [ "$c" -eq 0 ]; then
            vs=1.00
        else
            read -r rm r25 r75 _ < <(pair_ratios "$RAW/rates.$c" "$RAW/rates.0" | quartiles)
            vs=$(awk -v m="$rm" -v lo="$r25" -v hi="$r75" 'BEGIN {
                if (m == "nan") print "n/a (no rate)"
                else printf "%.3f (%+.1f%%; %.3f..%.3f)\n", m, 100 * (m - 1), lo, hi }')
        fi
        printf '| %s | %s | %.0f | %.0f | %.0f | %s | %d |\n' "$label" \
            "$([ "$n" -eq 0 ] && echo — || echo "$n")" "$med" "$lo" "$hi" "$vs" "$failed"
    done
} | tee "$OUT_DIR/conn.md"
