#!/usr/bin/env bash
# Fuzzes the DNS message parser (dns/dnsmsg.c), which reads every query of
# the agent and every answer of the upstream resolver: builds the libFuzzer
# target with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz, and runs it for a bounded time on a copy of the seed corpus.
# Fails on any crash, sanitizer report, leak or slow input; the input that
# did it is left in build-fuzz/fuzz-artifacts. Needs clang-14 and
# libclang-rt-14-dev (scripts/install-deps.sh installs both).
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."

secs=${1:-60}
case "$secs" in
'' | *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac

opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dstatic=false -Dwerror=true)
if [ -f build-fuzz/build.ninja ]; then
    CC=clang-14 meson setup --reconfigure build-fuzz "${opts[@]}" >/dev/null
else
    CC=clang-14 meson setup build-fuzz "${opts[@]}" >/dev/null
fi
meson compile -C build-fuzz fuzz_dns

# The run adds what it finds to its corpus: work on a copy, so that the
# seeds in the tree stay as they are.
corpus=build-fuzz/fuzz-corpus
artifacts=build-fuzz/fuzz-artifacts
rm -rf "$corpus"
mkdir -p "$corpus" "$artifacts"
cp tests/fuzz/corpus/* "$corpus"/

echo "== fuzzing the DNS parser for $secs seconds"
if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-fuzz/tests/fuzz_dns -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts"/ "$corpus"; then
    echo "fuzz.sh: the DNS parser failed; the input is in $artifacts/" >&2
    exit 1
fi
echo "== fuzzing found nothing in $secs seconds"
