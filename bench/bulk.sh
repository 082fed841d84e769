#!/usr/bin/env bash
# The firewall's cost per packet: one TCP stream from the agent (uid 1000,
# inside the sandbox) to a sink in the world namespace, over the veth,
# with no firewall, connection tracking alone (iptables-legacy, nft) and
# palisade with 10,000 entries in its set (--backend legacy, nft).
#
#   bench/bulk.sh [MIB] [ROUNDS]        (as root; default 1024 MiB, 9 rounds)
#
# Prints a markdown table; keeps the raw output in bench/out/bulk/.
#
# The client is bench/connrate.c's bulk mode (connect, write MIB MiB from a
# 256 KiB buffer, shut down, wait for the sink's close), the server its
# sink mode (read to the end) on 10.77.0.10:443. The configurations are
# bench/conn.sh's (lib/sandbox.sh fence_configs_start), each its own
# sandbox, all started before the first run; the runs go round-robin,
# ROUNDS times, the order turned round every other round. "vs no firewall"
# and "vs conntrack only" (the conntrack-only row of the same backend)
# divide each round's throughput by that row's in the same round: the
# median of those ratios, with their p25..p75.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root cc nft iptables-legacy
MIB=${1:-1024}
ROUNDS=${2:-9}
fence_bench_start bulk sink 443

# label|entries|kind|palisade options (lib/sandbox.sh fence_configs_start)
CONFIGS=(
    "${FENCE_BASELINES[@]}"
    "palisade legacy, 10,000 entries|10000|legacy|"
    "palisade nft, 10,000 entries|10000|nft|"
)
fence_configs_start "connrate bulk 10.77.0.10 443 $MIB"
fence_rounds 120 "$RAW"

{
    echo "## One TCP stream through the fence"
    echo
    machine_line
    echo
    echo "The agent (uid 1000) sends $MIB MiB over one connection to 10.77.0.10:443 in the world namespace,"
    echo "over the veth, and waits for the sink to close; Gbit/s from connect to close, the median of $ROUNDS"
    echo "runs taken round-robin over the configurations (the order turned round every other round)."
    echo "\"vs no firewall\" and \"vs conntrack only\" (the conntrack-only row of the same backend): each round's"
    echo "throughput over that row's in the same round; the median of those ratios, then their p25..p75."
    echo "$(load_line) at the end of the run."
    echo
    echo "| configuration | entries in the set | Gbit/s (median) | min | max | vs no firewall | vs conntrack only |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    fence_rows gbits %.2f "$RAW"
} | tee "$OUT_DIR/bulk.md"
