#!/usr/bin/env bash
# Fuzzes the parsers of what the agent sends: the DNS message parser
# (dns/dnsmsg.c), which reads every query of the agent and every answer of
# the upstream resolver, and the name check's TLS ClientHello and HTTP
# request head parsers (fw/tlshello.c, fw/httphost.c). Builds the libFuzzer
# targets with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz, and runs each for its share of the time on a copy of its seed
# corpus. Fails when any of them finds a crash, sanitizer report, leak or
# slow input; the input that did it is left in build-fuzz/fuzz-artifacts/
# TARGET. Needs clang-14 and libclang-rt-14-dev (scripts/install-deps.sh
# installs both).
#
#   scripts/fuzz.sh [SECONDS]      (default 60, shared among the targets)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."

secs=${1:-60}
case "$secs" in
'' | *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac

# target, seed corpus, longest input, what it fuzzes. The HTTP head parser
# gets inputs past its bound of 8192 bytes.
targets=(
    "fuzz_dns corpus 4096 the DNS parser"
    "fuzz_tlshello corpus-tlshello 4096 the TLS ClientHello parser"
    "fuzz_httphost corpus-httphost 8448 the HTTP request head parser"
)
share=$((secs / ${#targets[@]}))
[ "$share" -ge 1 ] || share=1

opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dstatic=false -Dwerror=true)
if [ -f build-fuzz/build.ninja ]; then
    CC=clang-14 meson setup --reconfigure build-fuzz "${opts[@]}" >/dev/null
else
    CC=clang-14 meson setup build-fuzz "${opts[@]}" >/dev/null
fi
names=()
for t in "${targets[@]}"; do
    names+=("${t%% *}")
done
meson compile -C build-fuzz "${names[@]}"

failed=()
rm -rf build-fuzz/fuzz-corpus
for t in "${targets[@]}"; do
    read -r name seeds max_len what <<<"$t"
    # A run adds what it finds to its corpus: work on a copy, so that the
    # seeds in the tree stay as they are.
    corpus=build-fuzz/fuzz-corpus/$name
    artifacts=build-fuzz/fuzz-artifacts/$name
    mkdir -p "$corpus" "$artifacts"
    cp tests/fuzz/"$seeds"/* "$corpus"/

    echo "== fuzzing $what for $share seconds"
    if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        build-fuzz/tests/"$name" -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts"/ "$corpus"; then
        echo "fuzz.sh: $what failed; the input is in $artifacts/" >&2
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}" >&2
    exit 1
fi
echo "== fuzzing found nothing in $share seconds for each of ${names[*]}"
