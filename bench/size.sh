#!/usr/bin/env bash
# Binary size: build/palisade, stripped, against tini-static (Debian's
# tini package) and against what the shell recipe (bench/recipe/) needs in
# the image: dig, ipset, iptables-legacy / ip6tables-legacy with the
# extensions its rules load, sudo (or setpriv) and bash, each with its
# shared libraries (ldd). Files are measured as they are installed (Debian
# ships them stripped); palisade is stripped into a temporary file.
#
#   bench/size.sh
#
# Results: bench/out/size.md.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/errtrap.sh"
. "$(dirname "$0")/common.sh"

bench_need_root
bench_need_tools strip ldd tini-static dig ipset iptables-legacy
bench_need_build
mkdir -p "$OUT_DIR"

tmp=$(mktemp -d /tmp/palisade-size-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

bytes() { stat -L -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
# The shared libraries a program loads (the loader included), one path a line.
libs_of() { ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u; }
sum_bytes() { local f t=0; while read -r f; do [ -n "$f" ] && t=$((t + $(bytes "$f"))); done; echo $t; }

strip -o "$tmp/palisade" "$BUILD/palisade"
strip -o "$tmp/tini-static" /usr/bin/tini-static
pal=$(bytes "$tmp/palisade")
tini=$(bytes "$tmp/tini-static")

xtdir=$(dirname "$(find /usr/lib /lib -name libxt_conntrack.so -print -quit 2>/dev/null)")
xt=()
for e in libxt_standard libxt_conntrack libxt_set libxt_multiport libxt_tcp libxt_udp \
         libipt_REJECT libip6t_REJECT libip6t_icmp6; do
    [ -f "$xtdir/$e.so" ] && xt+=("$xtdir/$e.so")
done

{
    echo "## Binary size (bytes)"
    echo
    echo "| what | binary | shared libraries | total | MiB |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    printf '| palisade (build/palisade, static-pie, stripped) | %d | 0 | %d | %s |\n' "$pal" "$pal" "$(mib "$pal")"
    printf '| tini-static (Debian tini %s, stripped; an init only: no fence) | %d | 0 | %d | %s |\n' \
        "$(dpkg-query -W -f '${Version}' tini 2>/dev/null || echo '?')" "$tini" "$tini" "$(mib "$tini")"
    : > "$tmp/all"
    row() { # row LABEL FILE...: the files and their libraries, added to the recipe's total
        local label=$1 f b=0 l
        shift
        for f in "$@"; do
            b=$((b + $(bytes "$f")))
            echo "$f" >> "$tmp/all"
        done
        l=$(for f in "$@"; do libs_of "$f"; done | sort -u | tee -a "$tmp/all" | sum_bytes)
        printf '| recipe: %s | %d | %d | %d | %s |\n' "$label" "$b" "$l" $((b + l)) "$(mib $((b + l)))"
    }
    row "dig (bind9-dnsutils)" "$(command -v dig)"
    row "ipset" "$(command -v ipset)"
    row "iptables-legacy, ip6tables-legacy ($(basename "$(readlink -f "$(command -v iptables-legacy)")"))" \
        "$(readlink -f "$(command -v iptables-legacy)")"
    [ ${#xt[@]} -gt 0 ] && row "the ${#xt[@]} iptables extensions its rules load" "${xt[@]}"
    if command -v sudo >/dev/null 2>&1; then
        row "sudo" "$(readlink -f "$(command -v sudo)")"
    else
        echo "| recipe: sudo | not installed here | | | |"
    fi
    row "setpriv (the drop bench/recipe uses)" "$(readlink -f "$(command -v setpriv)")"
    row "bash (the scripts' interpreter)" "$(readlink -f "$(command -v bash)")"
    total=$(sort -u "$tmp/all" | sum_bytes)
    printf '| **recipe: all of the above, each library once** | | | **%d** | **%s** |\n' "$total" "$(mib "$total")"
    echo
    icu=$(libs_of "$(command -v dig)" | grep libicudata || true)
    [ -n "$icu" ] && echo "dig's libraries include $(basename "$icu") ($(mib "$(bytes "$icu")") MiB, through libxml2)."
    awk -v p="$pal" -v t="$total" 'BEGIN { printf "palisade is %.1f%% of the recipe'"'"'s tools (%.1fx smaller). Both need the same kernel modules (ip_tables, ip_set); the recipe'"'"'s count includes the libc its tools load, palisade carries its own.\n", 100 * p / t, t / p }'
    echo
    machine_line
} > "$OUT_DIR/size.md"
cat "$OUT_DIR/size.md"
