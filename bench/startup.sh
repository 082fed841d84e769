#!/usr/bin/env bash
# Start-up as a user sees it: from `docker run` to the agent's first
# instruction, in an image the size of the Claude Code image, with palisade
# as the ENTRYPOINT and with the shell recipe it replaces, in the same image
# and the same run.
#
#   bench/startup.sh        # PAIRS=15 WARMUP=2: about 1.5 minutes once the
#                           # images are built (the first run builds them)
#   PAIRS=25 AGENT=node NODE_PACKAGES="nodejs npm" FILES=30000 bench/startup.sh
#
# (as root; SUBNET, default 172.31.250, is the /24 of the run's network).
#
# The image (bench/startup.Dockerfile, on the debootstrap bookworm base of
# scripts/docker-engine.sh: nothing is pulled) holds palisade as the top
# Dockerfile builds it, the recipe (bench/recipe/: iptables-legacy, ipset,
# dig, sudo), Debian's Node (NODE_PACKAGES, default "nodejs") and a
# synthetic node_modules tree up to FILES files (default 28000; all but
# directories). The agent is bench/stamp.c, static, whose first instruction
# reads CLOCK_REALTIME (the host's clock: containers share it) and prints it;
# AGENT=node runs `node -e` printing performance.timeOrigin + now() instead,
# which adds Node's own start to every row. Timed: from the host's clock
# just before `docker run` to the agent's printed time, and to docker run's
# return (the container removed, --rm). Four configurations, run by run in
# rounds (the order turned round every other round), all with
# `--rm --cap-add NET_ADMIN --network NET --dns RESOLVER`:
#
#   floor            --user node --entrypoint AGENT: the agent alone, no
#                    fence (the cost of docker run itself)
#   palisade         the image's ENTRYPOINT, /sbin/palisade -- AGENT, as
#                    root; the backend palisade chooses (auto)
#   palisade legacy  the same with -e PALISADE_BACKEND=legacy (iptables
#                    through libiptc and ipset, what the recipe uses)
#   recipe           --user node --entrypoint
#                    /opt/recipe/docker-entrypoint.sh AGENT: sudo runs
#                    init-firewall.sh, which drops back to node (setpriv)
#
# Both resolve the same five names (NAMES in the Dockerfile) through
# Docker's embedded DNS, which asks a dnsmasq container
# (tests/docker/dnsmasq.Dockerfile) on an --internal network of the run's
# own: nothing leaves the machine. Every timed run is checked: palisade's
# summary names the five names, the recipe says its firewall is complete.
# Per round: each configuration less the floor of its round ("over the
# floor"), and recipe / palisade, raw and over the floor; medians with their
# p25..p75. A ratio from a pair whose either side noise made zero or
# negative is left out (the table says how many), never printed.
# Also timed: palisade's own steps, from its -v log (5 runs), and GNU
# find's walk of the same root file system, for scale. Results:
# bench/out/startup.md, startup-runs.txt, startup-verbose.txt.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/errtrap.sh"
. "$(dirname "$0")/common.sh"
export LC_ALL=C

PAIRS=${PAIRS:-15}
WARMUP=${WARMUP:-2}
FILES=${FILES:-28000}
NODE_PACKAGES=${NODE_PACKAGES:-nodejs}
AGENT=${AGENT:-stamp}
SUBNET=${SUBNET:-172.31.250}
BASE=palisade-test/bookworm
IMG=palisade-bench/startup
case $AGENT in
stamp) AGENT_CMD=(/usr/local/bin/stamp) ;;
node) AGENT_CMD=(node -e 'console.log("agent-start " + ((performance.timeOrigin + performance.now()) / 1000).toFixed(6))') ;;
*) echo "startup.sh: AGENT=$AGENT: stamp or node" >&2; exit 2 ;;
esac

bench_need_root
bench_need_tools docker debootstrap cc
mkdir -p "$OUT_DIR"
"$TOP/scripts/docker-engine.sh" docker >&2

WORK=$(mktemp -d)
LABEL=palisade-startup.run=$$
NET=palisade-startup-$$
cleanup() {
    docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# build WHAT ARGS...: docker build, its log shown only when it fails.
build() {
    local what=$1
    shift
    echo "startup.sh: building $what" >&2
    docker build -q "$@" >"$WORK/build.log" 2>&1 ||
        { echo "startup.sh: building $what failed:" >&2; tail -n 30 "$WORK/build.log" >&2; exit 1; }
}
build "palisade (Dockerfile)" --build-arg BASE=$BASE -t palisade-bench/palisade "$TOP"
build "the resolver (tests/docker/dnsmasq.Dockerfile)" --build-arg BASE=$BASE \
    -t palisade-bench/dnsmasq -f "$TOP/tests/docker/dnsmasq.Dockerfile" "$TOP/tests/docker"
CTX=$WORK/ctx
mkdir -p "$CTX/recipe"
cp "$BENCH_DIR/startup.Dockerfile" "$CTX/Dockerfile"
cp "$BENCH_DIR/startup-tree.sh" "$CTX/"
cp "$BENCH_DIR"/recipe/{init-firewall.sh,start-agent.sh,docker-entrypoint.sh} "$CTX/recipe/"
cc -O2 -static -Wall -Wextra -Werror -o "$CTX/stamp" "$BENCH_DIR/stamp.c"
build "the image (bench/startup.Dockerfile, $FILES files)" --build-arg BASE=$BASE \
    --build-arg PALISADE_IMAGE=palisade-bench/palisade --build-arg "NODE_PACKAGES=$NODE_PACKAGES" \
    --build-arg "FILES=$FILES" -t "$IMG" "$CTX"

# What the image holds.
in_image() { docker run --rm --label "$LABEL" --entrypoint "$1" "$IMG" "${@:2}"; }
nfiles=$(in_image find / -xdev ! -type d | wc -l)
ndirs=$(in_image find / -xdev -type d | wc -l)
nsetid=$(in_image find / -xdev -type f -perm /6000 | wc -l)
mib=$(docker image inspect -f '{{.Size}}' "$IMG" | awk '{ printf "%.0f", $1 / 1048576 }')
node=$(in_image sh -c 'command -v node >/dev/null && node --version || echo none')
npm=$(in_image sh -c 'command -v npm >/dev/null && npm --version 2>/dev/null || echo none')
if [ "$AGENT" = node ] && [ "$node" = none ]; then
    echo "startup.sh: AGENT=node, but the image has no node (NODE_PACKAGES=$NODE_PACKAGES)" >&2
    exit 1
fi

# The network, its resolver and the names' records (addresses on the
# network that nothing answers on: only resolving matters here).
docker network create --internal --subnet "$SUBNET.0/24" "$NET" >/dev/null
DNS=$SUBNET.53
mkdir -p "$WORK/hosts"
names=$(in_image cat /etc/recipe/allow)
nnames=$(wc -w <<<"$names")
i=100
for n in $names; do
    i=$((i + 1))
    echo "$SUBNET.$i $n"
done > "$WORK/hosts/hosts"
docker run -d --label "$LABEL" --name "palisade-startup-dns-$$" --network "$NET" --ip "$DNS" \
    -v "$WORK/hosts":/hosts:ro palisade-bench/dnsmasq >/dev/null
for _ in $(seq 1 50); do
    docker logs "palisade-startup-dns-$$" 2>&1 | grep -q started && break
    sleep 0.1
done

COMMON=(--rm --label "$LABEL" --cap-add NET_ADMIN --network "$NET" --dns "$DNS")
CONFIGS=(floor palisade palisade-legacy recipe)
run_args() { # run_args CONFIG: sets RUN to docker run's arguments after COMMON
    case $1 in
    floor) RUN=(--user node --entrypoint "${AGENT_CMD[0]}" "$IMG" "${AGENT_CMD[@]:1}") ;;
    palisade) RUN=("$IMG" "${AGENT_CMD[@]}") ;;
    palisade-legacy) RUN=(-e PALISADE_BACKEND=legacy "$IMG" "${AGENT_CMD[@]}") ;;
    recipe) RUN=(--user node --entrypoint /opt/recipe/docker-entrypoint.sh "$IMG" "${AGENT_CMD[@]}") ;;
    esac
}
# fenced CONFIG: did the run whose output is in $WORK/out and err put its
# fence up?
fenced() {
    case $1 in
    floor) return 0 ;;
    palisade*) grep -q "fenced: IPv4: $nnames names" "$WORK/err" ;;
    recipe) [ "$(grep -c '^Adding .* for ' "$WORK/out")" -eq "$nnames" ] &&
        grep -q '^Firewall configuration complete' "$WORK/out" ;;
    esac
}
# once CONFIG: one docker run; prints "FIRST_MS RETURN_MS": from just
# before docker run to the agent's printed time, and to docker run's return.
once() {
    local t0 t1 s
    run_args "$1"
    t0=$EPOCHREALTIME
    if ! docker run "${COMMON[@]}" "${RUN[@]}" >"$WORK/out" 2>"$WORK/err" </dev/null; then
        echo "startup.sh: $1: docker run failed:" >&2
        cat "$WORK/out" "$WORK/err" >&2
        exit 1
    fi
    t1=$EPOCHREALTIME
    s=$(sed -n 's/^agent-start \([0-9][0-9.]*\)$/\1/p' "$WORK/out" | head -n 1)
    if [ -z "$s" ] || ! fenced "$1"; then
        echo "startup.sh: $1: no agent-start line, or no fence:" >&2
        cat "$WORK/out" "$WORK/err" >&2
        exit 1
    fi
    awk -v a="$t0" -v b="$t1" -v s="$s" 'BEGIN { printf "%.3f %.3f\n", (s - a) * 1000, (b - a) * 1000 }'
}

# What palisade chose and how long its own steps took: runs with -v, each
# log line timed as it arrives through docker run; for scale, GNU find's
# walk of the same root file system in the same kind of container.
# phases: "FENCE_MS STRIP_MS" of one -v run: from palisade's first line to
# the fence read back, and from "stripping" to "walked".
phases() {
    docker run "${COMMON[@]}" --entrypoint /sbin/palisade "$IMG" -v -- "${AGENT_CMD[@]}" \
        2>&1 </dev/null | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done \
        > "$WORK/verbose"
    awk 'NR == 1 { first = $1 } / fence installed / { f = $1 } / stripping set-uid/ { a = $1 }
         / walked [0-9]+ directories/ { b = $1 }
         END { if (f && a && b) printf "%.3f %.3f\n", (f - first) * 1000, (b - a) * 1000 }' "$WORK/verbose"
}
for _ in 1 2 3 4 5; do phases; done > "$WORK/phases"
[ "$(wc -l < "$WORK/phases")" -eq 5 ] ||
    { echo "startup.sh: palisade -v did not log its steps:" >&2; cat "$WORK/verbose" >&2; exit 1; }
cp "$WORK/verbose" "$OUT_DIR/startup-verbose.txt"
backend=$(sed -n 's/.*fence backend: \([a-z]*\).*/\1/p' "$WORK/verbose" | head -n 1)
walked=$(sed -n 's/.*walked \([0-9]* directories and [0-9]* files\).*/\1/p' "$WORK/verbose" | head -n 1)
fence_ms=$(cut -d' ' -f1 "$WORK/phases" | median)
strip_ms=$(cut -d' ' -f2 "$WORK/phases" | median)
for _ in 1 2 3 4 5; do
    docker run "${COMMON[@]}" --entrypoint bash "$IMG" -c \
        'a=$EPOCHREALTIME; find / -xdev -perm /6000 >/dev/null; b=$EPOCHREALTIME; echo "$a $b"' |
        awk '{ printf "%.3f\n", ($2 - $1) * 1000 }'
done > "$WORK/find"
find_ms=$(median < "$WORK/find")

# The rounds: every configuration once a round, in an order turned round
# every other round; WARMUP rounds first, untimed.
: > "$OUT_DIR/startup-runs.txt"
for c in "${CONFIGS[@]}"; do : > "$WORK/first.$c"; : > "$WORK/ret.$c"; done
for ((round = 1 - WARMUP; round <= PAIRS; round++)); do
    for k in $(round_order ${#CONFIGS[@]} $((round + WARMUP))); do
        c=${CONFIGS[$k]}
        r=$(once "$c")
        read -r first ret <<<"$r"
        [ "$round" -gt 0 ] || continue
        echo "$first" >> "$WORK/first.$c"
        echo "$ret" >> "$WORK/ret.$c"
        printf '%s %s %s %s\n' "$c" "$round" "$first" "$ret" >> "$OUT_DIR/startup-runs.txt"
    done
    if [ "$round" -gt 0 ]; then echo "startup.sh: round $round of $PAIRS" >&2; else echo "startup.sh: warm-up round" >&2; fi
done

# pos_ratios A B: A / B line by line, for the pairs where both are positive.
pos_ratios() {
    paste -d ' ' "$1" "$2" | awk 'NF == 2 && $1 > 0 && $2 > 0 { print $1 / $2 }'
}
# ratio_cell FILE PAIRS: "M.MMx (P25..P75)" of the ratios in FILE, with the
# pairs left out when there are any; "n/a (noise)" when none is left.
ratio_cell() {
    local n m p25 p75 _
    n=$(wc -l < "$1")
    [ "$n" -gt 0 ] || { echo "n/a (noise)"; return; }
    read -r m p25 p75 _ < <(quartiles < "$1")
    printf '%s (%s)%s\n' "$(ratio "$m" 1 %.2fx)" "$(spread "$p25" "$p75" %.2f)" \
        "$([ "$n" -eq "$2" ] || echo "; $(($2 - n)) of $2 pairs left out")"
}
label() {
    case $1 in
    floor) echo "floor: \`--user node --entrypoint AGENT\`, no fence" ;;
    palisade) echo "palisade (ENTRYPOINT, backend auto: ${backend:-?})" ;;
    palisade-legacy) echo "palisade, \`-e PALISADE_BACKEND=legacy\`" ;;
    recipe) echo "recipe: sudo init-firewall.sh, setpriv to node" ;;
    esac
}
{
    echo "## Start-up in a real image (ms)"
    echo
    echo "| configuration | to the agent's first instruction | p25..p75 | over the floor, per pair | p25..p75 | docker run returns |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for c in "${CONFIGS[@]}"; do
        read -r m p25 p75 _ < <(quartiles < "$WORK/first.$c")
        r=$(median < "$WORK/ret.$c")
        if [ "$c" = floor ]; then
            printf '| %s | %.1f | %s | — | — | %.1f |\n' "$(label "$c")" "$m" "$(spread "$p25" "$p75")" "$r"
        else
            pair_diffs "$WORK/first.$c" "$WORK/first.floor" > "$WORK/net.$c"
            read -r n n25 n75 _ < <(quartiles < "$WORK/net.$c")
            printf '| %s | %.1f | %s | %+.1f | %s | %.1f |\n' "$(label "$c")" "$m" "$(spread "$p25" "$p75")" \
                "$n" "$(spread "$n25" "$n75" %+.1f)" "$r"
        fi
    done
    echo
    echo "| recipe / palisade, per pair (median, p25..p75) | to the first instruction | over the floor |"
    echo "| --- | ---: | ---: |"
    for c in palisade palisade-legacy; do
        pos_ratios "$WORK/first.recipe" "$WORK/first.$c" > "$WORK/ratio.raw"
        pos_ratios "$WORK/net.recipe" "$WORK/net.$c" > "$WORK/ratio.net"
        printf '| recipe / %s | %s | %s |\n' "$(label "$c")" \
            "$(ratio_cell "$WORK/ratio.raw" "$PAIRS")" "$(ratio_cell "$WORK/ratio.net" "$PAIRS")"
    done
    echo
    echo "image: $IMG, $nfiles files and links (find / -xdev ! -type d) in $ndirs directories, $nsetid set-id files, $mib MiB;"
    echo "Debian bookworm minbase; Node $node, npm $npm (NODE_PACKAGES=\"$NODE_PACKAGES\"); palisade $(in_image /sbin/palisade --version | awk '{ print $2 }')."
    echo "agent: $AGENT ($(printf '%s ' "${AGENT_CMD[@]}" | sed 's/ $//')); allowlist: $nnames names ($(tr "\n" " " <<<"$names" | sed "s/ *$//")),"
    echo "resolved through Docker's embedded DNS and a dnsmasq container on an --internal network."
    echo "every run: \`docker run --rm --cap-add NET_ADMIN --network NET --dns RESOLVER\` and its own arguments; $PAIRS rounds after $WARMUP warm-up rounds,"
    echo "the four configurations in each (the order turned round every other round). \"to the agent's first instruction\":"
    echo "the host's CLOCK_REALTIME just before docker run to the one the agent prints; \"docker run returns\": to"
    echo "its return (container removed). \"over the floor\": each run less the floor of its round."
    echo
    printf 'palisade -v, median of 5 runs (log lines timed as they arrive): from its first line to the fence read back %.1f ms,\n' "$fence_ms"
    # shellcheck disable=SC2016 # the backquotes are Markdown
    printf 'stripping %.1f ms (%s, %.0f files/s); for scale, `find / -xdev -perm /6000` in the same image: %.1f ms.\n' \
        "$strip_ms" "${walked:-?}" "$(awk -v w="${walked:-0 files}" -v t="$strip_ms" 'BEGIN { n = w; sub(/.* and /, "", n); print (t > 0 ? (n + 0) / t * 1000 : 0) }')" "$find_ms"
    echo
    machine_line
    echo "docker $(docker version -f '{{.Server.Version}}'), storage $(docker info -f '{{.Driver}}')"
    echo "$(load_line) at the end of the run."
} > "$OUT_DIR/startup.md"
cat "$OUT_DIR/startup.md"
