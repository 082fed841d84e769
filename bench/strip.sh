#!/usr/bin/env bash
# Stripping speed: files per second for the set-uid / set-gid walk
# (strip_setid, caps/strip.c) over a tree of 100,000 files, on a fresh tmpfs
# and on the disk under /tmp. bench/strip.c is compiled here against the
# release build's own object code (build/libpalisade-core.a), so what is
# timed is what build/palisade runs. Each file system is walked both with
# getxattrat (Linux 6.13) and with it refused by a seccomp filter, as on an
# older kernel or under a profile that does not know it (the lookup then goes
# through /proc/self/fd), the two taking turns run by run. A reference build of the same walk without the
# file-capability lookup shows that lookup's share.
#
#   bench/strip.sh                       # 100,000 files, 9 timed runs each
#   FILES=20000 RUNS=5 bench/strip.sh
#
# Results: bench/out/strip.md.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/errtrap.sh"
. "$(dirname "$0")/common.sh"

FILES=${FILES:-100000}
RUNS=${RUNS:-9}
DISK_DIR=${DISK_DIR:-/tmp}

bench_need_root
bench_need_tools cc
bench_need_build
mkdir -p "$OUT_DIR"

bin=$OUT_DIR/strip
cc -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -I"$TOP" "$BENCH_DIR/strip.c" \
    "$BUILD/libpalisade-core.a" -o "$bin"
cc -O2 -D_GNU_SOURCE -DNO_CAP_CHECK -Wall -Wextra -Werror -Wno-format-truncation -I"$TOP" \
    "$BENCH_DIR/strip.c" "$BUILD/libpalisade-core.a" -Wl,--wrap=lgetxattr -Wl,--wrap=syscall \
    -o "$bin-nocap"

{
    echo "## Stripping set-uid and set-gid bits (strip_setid, median of $RUNS runs, warm caches)"
    echo
    echo "| file system | files | directories | set-id bits stripped | median ms | files/s | min..max ms | speed-up, per pair |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    disk="$(findmnt -n -o FSTYPE -T "$DISK_DIR") ($DISK_DIR)"
    "$bin" --fs tmpfs --files "$FILES" --runs "$RUNS" --dir "$DISK_DIR" --both
    "$bin" --fs disk --files "$FILES" --runs "$RUNS" --dir "$DISK_DIR" --label "$disk" --both
    "$bin-nocap" --fs tmpfs --files "$FILES" --runs "$RUNS" \
        --label "tmpfs, reference: without the file-capability lookup"
    echo
    echo "The walk is palisade's own (build/libpalisade-core.a): statx for every entry, and for every regular file"
    echo "but root's non-executable ones (two thirds of these) a security.capability lookup: getxattrat, or, in the"
    echo "rows \"without getxattrat\" (a seccomp filter answers ENOSYS), lgetxattr through /proc/self/fd/N/NAME."
    echo "The walks with and without getxattrat take turns run by run, each in a child of its own; \"speed-up, per"
    echo "pair\": each run's time without getxattrat over the time with it next to it (median, then p25..p75)."
    echo "The reference row answers that lookup \"none\" without a system call, to show its share."
    echo
    machine_line
} > "$OUT_DIR/strip.md"
cat "$OUT_DIR/strip.md"
