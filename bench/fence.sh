#!/usr/bin/env bash
# Time to fence: from palisade's start to the agent's exec, with N allowed
# names answered by a local resolver, against the shell recipe it replaces
# (bench/recipe/init-firewall.sh), in the same run.
#
#   bench/fence.sh                      # N = 10 20 100 1000, 15 runs each
#   NAMES="20 1000" RUNS=10 bench/fence.sh
#
# Each run starts in a fresh sandbox network namespace (made before the
# run, outside the timing) joined to a "world" namespace whose dnsmasq
# answers name0001.bench.test ... with one A and one AAAA record each, as in
# tests/integration/world.sh. Timed, run by run in pairs (each command's
# wall-clock time, the namespace made before it and untimed):
#
#   sandbox alone    the sandbox of tests/integration/lib.sh (PID, mount and
#                    network namespaces, chroot into a busybox tree) running
#                    /bin/true
#   palisade         the same sandbox running palisade --backend legacy
#                    -u agent -f /etc/palisade/bench-N -- /bin/true as PID 1
#                    (iptables and ip6tables through libiptc, with ipset)
#   palisade nft     the same with --backend nft (nf_tables)
#   recipe alone     ip netns exec + unshare --pid --fork --mount, without
#                    chroot (the recipe needs the machine's dig, ipset and
#                    iptables-legacy), running /bin/true
#   recipe           the same running init-firewall.sh, which ends by
#                    starting /bin/true as the agent
#
# The pairs are interleaved run by run (a busy machine slows both alike):
# "net" is a run less the sandbox-alone run next to it, reported as the
# median and p25..p75 of those differences; a ratio whose denominator noise
# made zero or negative reads "n/a (noise)". "resolving" is the
# part of palisade's net time spent resolving the names, from its -v log.
# Results: bench/out/fence.md, fence.dat, fence-runs.txt; the plot:
# bench/fence.png (bench/fence.gnuplot). Nothing leaves the namespaces.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/errtrap.sh"
. "$(dirname "$0")/common.sh"

NAMES=${NAMES:-10 20 100 1000}
RUNS=${RUNS:-15}
WARMUP=${WARMUP:-2}

bench_need_root
bench_need_tools gnuplot dig ipset iptables-legacy ip6tables-legacy \
    dnsmasq setpriv unshare busybox nft
bench_need_build
mkdir -p "$OUT_DIR"

# lib.sh gives make_root, in_sandbox, $WORK and the cleanup hooks.
export PALISADE=$BUILD/palisade PROBE=$BUILD/tests/palisade-probe
. "$TOP/tests/integration/lib.sh"
set -euo pipefail

ID=$$
WORLD=bfw$ID
NS_P=bfp$ID     # palisade's sandbox
NS_R=bfr$ID     # the recipe's sandbox
RESOLVER=10.77.0.1

# The world: a bridge with the resolver's addresses; each fresh sandbox
# namespace is joined to it by a new veth pair.
ip netns add "$WORLD"
on_cleanup "ip netns del $WORLD"
on_cleanup "ip netns del $NS_P"
on_cleanup "ip netns del $NS_R"
ip -n "$WORLD" link set lo up
ip -n "$WORLD" link add br0 type bridge
ip -n "$WORLD" addr add 10.77.0.1/16 dev br0
ip -n "$WORLD" addr add fd77::1/64 dev br0 nodad
ip -n "$WORLD" link set br0 up

max=0
for n in $NAMES; do [ "$n" -gt "$max" ] && max=$n; done
name() { printf 'name%04d.bench.test' "$1"; }
: > "$WORK/hosts"
for ((i = 1; i <= max; i++)); do
    printf '10.78.%d.%d %s\nfd78::%x %s\n' $((i / 256)) $((i % 256)) "$(name $i)" \
        "$i" "$(name $i)" >> "$WORK/hosts"
done
ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --user=root --group=root --bind-interfaces --listen-address=10.77.0.1 \
    --listen-address=fd77::1 --local=/test/ --addn-hosts="$WORK/hosts" \
    --cache-size=10000 --dns-forward-max=10000 \
    --pid-file="$WORK/dnsmasq.pid" 2>"$WORK/dnsmasq.err" &
on_cleanup "kill $!"

# fresh.sh NS ADDR4 ADDR6: (re)makes the sandbox namespace NS, joined to the
# world, and waits until the resolver answers there. Run before each timed run.
cat > "$WORK/fresh.sh" <<EOF
#!/bin/bash
set -e
trap 'echo "\$0: line \$LINENO: \"\$BASH_COMMAND\" failed (status \$?)" >&2' ERR
ns=\$1
ip netns del "\$ns" 2>/dev/null || true
ip netns add "\$ns"
v=pbv\$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')
ip link add "\$v" netns $WORLD type veth peer name eth0 netns "\$ns"
ip -n $WORLD link set "\$v" master br0 up
ip -n "\$ns" link set lo up
ip -n "\$ns" link set eth0 up
ip -n "\$ns" addr add "\$2/16" dev eth0
ip -n "\$ns" addr add "\$3/64" dev eth0 nodad
ip -n "\$ns" route add default via $RESOLVER
ip -n "\$ns" -6 route add default via fd77::1
for i in \$(seq 1 100); do
    ip netns exec "\$ns" "$PROBE" dns $(name 1) $RESOLVER >/dev/null 2>&1 && exit 0
    sleep 0.05
done
echo "fresh.sh: the resolver does not answer in \$ns" >&2
exit 1
EOF
chmod 0755 "$WORK/fresh.sh"

# The root tree, with one allowlist file for each N.
R=$WORK/root
make_root "$R"
echo "nameserver $RESOLVER" > "$R/etc/resolv.conf"
for n in $NAMES; do
    for ((i = 1; i <= n; i++)); do name $i; echo; done > "$R/etc/palisade/bench-$n"
    chmod 0644 "$R/etc/palisade/bench-$n"
    cp "$R/etc/palisade/bench-$n" "$WORK/allow-$n"
    # The names' addresses are private (10.78.0.0/16, fd78::/64): palisade
    # lets them into the fence only opted in (the recipe has no such rule).
    echo 'private *.bench.test' >> "$R/etc/palisade/bench-$n"
done
chmod 0644 "$WORK"/allow-*

# The sandboxes, as commands to time. palisade's is lib.sh's own
# in_sandbox; the recipe's sees the world's resolver in /etc/resolv.conf
# through a bind mount in its private mount namespace.
declare -f in_sandbox > "$WORK/in_sandbox.sh"
echo "nameserver $RESOLVER" > "$WORK/resolv.conf"
sandbox_cmd() { # sandbox_cmd ARGS...: palisade's sandbox running ARGS
    printf "bash -c '. %s; NETNS=%s in_sandbox %s %s'" "$WORK/in_sandbox.sh" "$NS_P" "$R" "$*"
}
recipe_cmd() { # recipe_cmd ARGS...: the recipe's sandbox running ARGS
    printf "ip netns exec %s unshare --pid --fork --mount --kill-child -- /bin/sh -c 'mount --make-rprivate / && mount --bind %s /etc/resolv.conf && exec \"\$@\"' recipe %s" \
        "$NS_R" "$WORK/resolv.conf" "$*"
}
prep_p="$WORK/fresh.sh $NS_P 10.77.0.2 fd77::2"
prep_r="$WORK/fresh.sh $NS_R 10.77.0.3 fd77::3"

# One check run of each before timing: the fence is up. palisade may leave
# out names whose answers were lost (it says which); the table counts them.
for n in $NAMES; do
    for b in legacy nft; do
        $prep_p
        NETNS=$NS_P in_sandbox "$R" /sbin/palisade --backend $b -u agent -f "/etc/palisade/bench-$n" \
            -- /bin/true >"$WORK/check.out" 2>"$WORK/check.err" </dev/null ||
            { echo "fence.sh: palisade --backend $b failed with $n names:" >&2; cat "$WORK/check.err" >&2; exit 1; }
        grep -q "fenced: IPv4: [0-9]* names" "$WORK/check.err" ||
            { echo "fence.sh: palisade --backend $b did not fence $n names:" >&2; cat "$WORK/check.err" >&2; exit 1; }
    done
    $prep_r
    eval "$(recipe_cmd bash "$BENCH_DIR/recipe/init-firewall.sh" "$WORK/allow-$n" 1000 /bin/true)" \
        >"$WORK/check.out" 2>"$WORK/check.err" </dev/null ||
        { echo "fence.sh: the recipe failed with $n names:" >&2; cat "$WORK/check.err" >&2; exit 1; }
    got=$(ip netns exec "$NS_R" ipset list allowed-domains | sed -n 's/^Number of entries: //p')
    [ "$got" = "$n" ] || { echo "fence.sh: the recipe's set has $got entries, not $n" >&2; exit 1; }
done

# timed NAME PREPARE COMMAND: prepares untimed, runs COMMAND once and, past
# the warm-up rounds ($round > 0), appends its time in ms to $WORK/t.NAME and
# to out/fence-runs.txt.
timed() {
    local ms
    eval "$2" >/dev/null
    ms=$(once_ms "$3") ||
        { echo "fence.sh: $1 failed: $3" >&2; exit 1; }
    [ "$round" -gt 0 ] || return 0
    echo "$ms" >> "$WORK/t.$1"
    printf '%s %s %s\n' "$1" "$round" "$ms" >> "$OUT_DIR/fence-runs.txt"
}
# palisade's own phases, from its -v log lines as they arrive: the time
# from "resolving" to "resolved" (c-ares asking dnsmasq for the 2N records,
# all at once) and from the first line to the summary, medians of 5 runs,
# and the fewest names resolved in those runs.
phases() { # phases N: prints "RESOLVE_MS SETUP_MS RESOLVED"
    local n=$1 k
    for k in 1 2 3 4 5; do
        $prep_p
        NETNS=$NS_P in_sandbox "$R" /sbin/palisade --backend legacy -v -u agent -f "/etc/palisade/bench-$n" \
            -- /bin/true 2>&1 </dev/null |
            while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done |
            awk 'NR == 1 { first = $1 }
                 / resolving the allowlist/ { a = $1 }
                 / resolved [0-9]+ names/ { b = $1 }
                 / started .* as agent/ { c = $1; k = $0; sub(/.*fenced: IPv4: /, "", k); sub(/ .*/, "", k) }
                 END { printf "%.3f %.3f %d\n", (b - a) * 1000, (c - first) * 1000, k }'
    done > "$WORK/phases"
    printf '%s %s %s\n' "$(cut -d' ' -f1 "$WORK/phases" | median)" \
        "$(cut -d' ' -f2 "$WORK/phases" | median)" "$(cut -d' ' -f3 "$WORK/phases" | sort -n | head -n 1)"
}

# The recipe takes seconds a run with many names: fewer runs there.
BIG_RUNS=${BIG_RUNS:-5}
recipe_runs() { if [ "$1" -gt 100 ]; then echo "$BIG_RUNS 1"; else echo "$RUNS $WARMUP"; fi; }

# med FILE: the median of a file of numbers; q FILE: "median p25 p75 min max".
med() { median < "$1"; }
q() { quartiles < "$1"; }

: > "$OUT_DIR/fence-runs.txt"
printf '# names sandbox_ms palisade_raw_ms palisade_net_ms recipe_sandbox_ms recipe_raw_ms recipe_net_ms palisade_resolving_ms palisade_setup_ms nft_raw_ms nft_net_ms\n' \
    > "$OUT_DIR/fence.dat"
{
    echo "## Time to fence (medians, ms)"
    echo
    echo "| names | resolved by palisade | palisade raw | palisade net | palisade net p25..p75 | of which resolving | net without resolving | palisade nft net | nft net p25..p75 | nft - legacy, per pair | recipe raw | recipe net | recipe net p25..p75 | recipe / palisade (net) | recipe / palisade (raw) |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$OUT_DIR/fence.md"
for n in $NAMES; do
    read -r resolving setup resolved < <(phases "$n")
    read -r rec_runs rec_warmup < <(recipe_runs "$n")
    # Run by run, in pairs: the sandbox alone then palisade in it, the
    # recipe's sandbox alone then the recipe (the order turned round every
    # other round); warm-up rounds first, untimed.
    pal_cmd=$(sandbox_cmd /sbin/palisade --backend legacy -u agent -f "/etc/palisade/bench-$n" -- /bin/true)
    nft_cmd=$(sandbox_cmd /sbin/palisade --backend nft -u agent -f "/etc/palisade/bench-$n" -- /bin/true)
    rec_cmd=$(recipe_cmd bash "$BENCH_DIR/recipe/init-firewall.sh" "$WORK/allow-$n" 1000 /bin/true)
    rm -f "$WORK"/t.*
    for ((round = 1 - WARMUP; round <= RUNS; round++)); do
        for c in $(round_order 5 $((round + WARMUP))); do
            case $c in
            0) timed sandbox-$n "$prep_p" "$(sandbox_cmd /bin/true)" ;;
            1) timed palisade-$n "$prep_p" "$pal_cmd" ;;
            2) timed nft-$n "$prep_p" "$nft_cmd" ;;
            3|4) # the recipe's pair: its own (smaller) count of rounds
                [ "$round" -gt "$rec_runs" ] || [ "$round" -le $((-rec_warmup)) ] && continue
                if [ "$c" -eq 3 ]; then timed recipe-sandbox-$n "$prep_r" "$(recipe_cmd /bin/true)"
                else timed recipe-$n "$prep_r" "$rec_cmd"; fi ;;
            esac
        done
    done
    pair_diffs "$WORK/t.palisade-$n" "$WORK/t.sandbox-$n" > "$WORK/net.palisade"
    pair_diffs "$WORK/t.nft-$n" "$WORK/t.sandbox-$n" > "$WORK/net.nft"
    pair_diffs "$WORK/t.nft-$n" "$WORK/t.palisade-$n" > "$WORK/nft-legacy"
    pair_diffs "$WORK/t.recipe-$n" "$WORK/t.recipe-sandbox-$n" > "$WORK/net.recipe"
    read -r pn pn25 pn75 _ < <(q "$WORK/net.palisade")
    read -r rn rn25 rn75 _ < <(q "$WORK/net.recipe")
    read -r nn nn25 nn75 _ < <(q "$WORK/net.nft")
    read -r dn dn25 dn75 _ < <(q "$WORK/nft-legacy")
    nr=$(med "$WORK/t.nft-$n")
    bp=$(med "$WORK/t.sandbox-$n") p=$(med "$WORK/t.palisade-$n")
    br=$(med "$WORK/t.recipe-sandbox-$n") r=$(med "$WORK/t.recipe-$n")
    printf '%d %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n' "$n" "$bp" "$p" "$pn" "$br" "$r" "$rn" \
        "$resolving" "$setup" "$nr" "$nn" >> "$OUT_DIR/fence.dat"
    # Lost answers make resolving vary from run to run, and noise can make
    # a net time negative: then they do not subtract.
    wo=$(awk -v a="$pn" -v b="$resolving" 'BEGIN { print (a - b >= 0 ? sprintf("%.1f", a - b) : "n/a (noise)") }')
    printf '| %d | %s | %.1f | %.1f | %s | %.1f | %s | %.1f | %s | %+.1f (%s) | %.0f | %.0f | %s | %s | %s |\n' "$n" \
        "$([ "$resolved" = "$n" ] && echo all || echo "fewest $resolved")" "$p" "$pn" \
        "$(spread "$pn25" "$pn75")" "$resolving" "$wo" "$nn" "$(spread "$nn25" "$nn75")" "$dn" \
        "$(spread "$dn25" "$dn75" %+.1f)" "$r" "$rn" "$(spread "$rn25" "$rn75" %.0f)" \
        "$(ratio "$rn" "$pn")" "$(ratio "$r" "$p")" >> "$OUT_DIR/fence.md"
    bases="${bases:-}$n: $(printf '%.1f' "$bp") and $(printf '%.1f' "$br"); "
done
read -r big_runs _ < <(recipe_runs 1000)
{
    echo
    echo "sandbox alone, median ms for each count of names (palisade's, then the recipe's): ${bases%; }."
    echo "palisade's is lib.sh in_sandbox (PID, mount and network namespaces, chroot, /bin/true); the recipe's"
    echo "ip netns exec + unshare --pid --fork --mount, /bin/true. \"net\": each run less the sandbox-alone run"
    echo "next to it (the two interleaved run by run), median and p25..p75 of those differences."
    echo
    echo "palisade: \`palisade --backend legacy -u agent -f /etc/palisade/bench-N -- /bin/true\` as PID 1 (\"palisade nft\": \`--backend nft\`,"
    echo "\"nft - legacy\": each nft run less the legacy run of its round); recipe: \`bench/recipe/init-firewall.sh FILE 1000 /bin/true\`."
    echo "Each name has one A and one AAAA record in a local dnsmasq; each run starts in a fresh network namespace."
    echo "$RUNS runs after $WARMUP warm-up runs (the recipe above 100 names: $big_runs runs after 1), wall-clock time of each."
    echo "\"resolved by palisade\": names in its summary line, fewest of 5 runs (a name whose answers were lost is left out, with a warning)."
    echo "\"of which resolving\": palisade's own time from \"resolving\" to \"resolved\" in its -v log (median of 5 runs), resolver answer time included."
    echo
    machine_line
    echo "$(load_line) at the end of the run."
} >> "$OUT_DIR/fence.md"

gnuplot -e "datafile='$OUT_DIR/fence.dat'; outfile='$BENCH_DIR/fence.png'" \
    "$BENCH_DIR/fence.gnuplot" 2>"$WORK/gnuplot.err" ||
    { echo "fence.sh: gnuplot failed:" >&2; cat "$WORK/gnuplot.err" >&2; }
cat "$OUT_DIR/fence.md"
