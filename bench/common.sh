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
