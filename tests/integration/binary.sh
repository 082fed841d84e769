#!/usr/bin/env bash
# The shipped binary: statically linked, at most 2.5 MiB stripped, and it
# runs in a root tree with no libraries at all.
. "$(dirname "$0")/lib.sh"

if ! ldd "$PALISADE" 2>&1 | grep -q 'statically linked'; then
    skip_all "this build is linked dynamically (a sanitizer build)"
fi
desc=$(file -b "$PALISADE")
expect_match "file(1) says it is statically linked" 'static(-pie)? linked' "$desc"
strip -o "$WORK/palisade" "$PALISADE"
size=$(stat -c %s "$WORK/palisade")
check "stripped size $size bytes is at most 2.5 MiB" test "$size" -le $((5 * 1024 * 1024 / 2))
if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$WORK/empty/etc"
    cp "$WORK/palisade" "$WORK/empty/palisade"
    out=$(chroot "$WORK/empty" /palisade --version 2>&1); rc=$?
    expect_eq "it runs where there is no library at all" "0 palisade" "$rc $(echo "$out" | cut -d' ' -f1)"
fi
finish
