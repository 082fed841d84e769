# Shared by the benchmark programs (bench/*.sh): paths, the machine line,
# and the tools they need. Sourced, not run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$BENCH_DIR")
BUILD=${BUILD:-$TOP/build}
OUT_DIR=$BENCH_DIR/out

bench_need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$(basename "$0"): run as root (namespaces, iptables, mounts)" >&2
        exit 1
    fi
}

# bench_need_tools CMD...: installs the benchmark tools with
# scripts/install-deps.sh --bench when one of CMD is missing.
bench_need_tools() {
    local c missing=0
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing=1
    done
    if [ $missing -eq 1 ]; then
        "$TOP/scripts/install-deps.sh" --bench >&2
    fi
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 ||
            { echo "$(basename "$0"): $c is still missing after scripts/install-deps.sh --bench" >&2; exit 1; }
    done
}

# bench_need_build: build/palisade (and the rest of the release build).
bench_need_build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        (cd "$TOP" && meson setup "$BUILD") >&2
    fi
    meson compile -C "$BUILD" >/dev/null ||
        { echo "$(basename "$0"): meson compile -C $BUILD failed" >&2; exit 1; }
}

# The machine line every table ends with.
machine_line() {
    local cpu
    cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
    printf 'machine: %s CPUs, %s, Linux %s\n' "$(nproc)" "${cpu:-unknown CPU}" "$(uname -r)"
}

# median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Statistics for runs taken in pairs (bench/fence.sh, conn.sh, dns.sh): the
# configurations are interleaved run by run, so that a busy machine slows a
# run and the one it is compared with alike, and each pair is subtracted or
# divided on its own; the spread of those per-pair figures is reported with
# their median, and a ratio is never printed from a denominator noise made
# zero or negative.

# quartiles: "median p25 p75 min max" of the numbers on stdin (linear
# interpolation between ranks); "nan nan nan nan nan" when there are none.
quartiles() {
    sort -g | awk '{ v[NR] = $1 }
        function q(p,   h, i) {
            h = 1 + (NR - 1) * p; i = int(h)
            return i < NR ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[NR]
        }
        END {
            if (NR == 0) { print "nan nan nan nan nan"; exit }
            printf "%.6g %.6g %.6g %.6g %.6g\n", q(0.5), q(0.25), q(0.75), v[1], v[NR]
        }'
}

# pair_diffs FILE_A FILE_B: A - B line by line (a run and its pair's).
pair_diffs() {
    paste -d ' ' "$1" "$2" | awk 'NF == 2 { print $1 - $2 }'
}

# pair_ratios FILE_A FILE_B: A / B line by line; a pair with a side that
# is not positive (a failed run) is left out.
pair_ratios() {
    paste -d ' ' "$1" "$2" | awk 'NF == 2 && $1 > 0 && $2 > 0 { print $1 / $2 }'
}

# ratio A B [FORMAT]: A / B printed with FORMAT (default "%.0fx"), or
# "n/a (noise)" unless both are positive.
ratio() {
    awk -v a="$1" -v b="$2" -v f="${3:-%.0fx}" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0) printf f "\n", a / b; else print "n/a (noise)" }'
}

# spread LO HI [FORMAT]: "LO..HI" with FORMAT (default "%.1f") for each.
spread() {
    awk -v lo="$1" -v hi="$2" -v f="${3:-%.1f}" 'BEGIN { printf f ".." f "\n", lo, hi }'
}

# round_order N ROUND: 0..N-1, reversed in even rounds, so that no
# configuration always runs first or right after the same one.
round_order() {
    if [ $(($2 % 2)) -eq 1 ]; then seq 0 $(($1 - 1)); else seq $(($1 - 1)) -1 0; fi
}

# once_ms COMMAND: runs the shell command once (output discarded) and prints
# its wall-clock time in ms; returns 1 when the command fails.
once_ms() {
    local t0 t1
    t0=$EPOCHREALTIME
    eval "$1" >/dev/null 2>&1 </dev/null || return 1
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

# load_line: the load averages now, for the tables (a busy machine skews
# every figure; the per-pair ones less).
load_line() {
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
}
