#!/usr/bin/env bash
# The firewall's cost per new connection: TCP connections per second from
# the agent (uid 1000, inside the sandbox) to an allowed address, with 10,
# 1000 and 10,000 entries in palisade's set, with each fence backend
# (nf_tables and iptables-legacy with ipset), against the same sandbox with
# no firewall and with connection tracking alone.
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
# round: the median of those ratios, with their p25..p75; "vs conntrack
# only" likewise by the conntrack-only rate of the same backend. The
# N-entry allowlist is /etc/palisade/allow in the root tree: 10.77.0.10 and
# N-1 addresses from 10.200.0.0/16 that are never contacted, so palisade4
# (legacy) or default_host (nft) holds N members.
#   no firewall          PID 1 is a shell running as uid 1000: no rules and
#                        no conntrack in the namespace
#   conntrack only       the same shell, with one rule in the namespace that
#                        accepts established connections (iptables-legacy
#                        -m conntrack, or an nft chain at hook output): what
#                        connection tracking alone costs, which any
#                        stateful fence pays
#   palisade, N entries  palisade --backend legacy|nft as PID 1, the client
#                        its agent (under its seccomp filter)
# lib/sandbox.sh fence_configs_start describes the configurations.
. "$(dirname "$0")/lib/sandbox.sh"
bench_need_root cc
SECS=${1:-5}
ROUNDS=${2:-5}
fence_bench_start conn serve 80

# label|entries|kind|palisade options (lib/sandbox.sh fence_configs_start);
# each palisade row is compared with the conntrack-only row of its backend.
CONFIGS=(
    "${FENCE_BASELINES[@]}"
    "palisade legacy, 10 entries|10|legacy|"
    "palisade legacy, 1000 entries|1000|legacy|"
    "palisade legacy, 10,000 entries|10000|legacy|"
    "palisade nft, 10 entries|10|nft|"
    "palisade nft, 1000 entries|1000|nft|"
    "palisade nft, 10,000 entries|10000|nft|"
)
fence_configs_start "connrate client 10.77.0.10 80 $SECS"
fence_rounds $((SECS + 30)) "$RAW"

{
    echo "## New TCP connections per second through the fence"
    echo
    machine_line
    echo
    echo "The agent (uid 1000) connects to 10.77.0.10:80 in the world namespace and closes with a reset,"
    echo "in a tight loop, ${SECS} s a run; the median of $ROUNDS runs, taken round-robin over the configurations"
    echo "(the order turned round every other round). \"vs no firewall\" and \"vs conntrack only\" (the conntrack-only"
    echo "row of the same backend): each round's rate over that row's rate in the same round; the median of those"
    echo "ratios, then their p25..p75. $(load_line) at the end of the run."
    echo
    echo "| configuration | entries in the set | connections/s (median) | min | max | vs no firewall | vs conntrack only | failed |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    fence_rows rate %.0f "$RAW" failed
} | tee "$OUT_DIR/conn.md"
