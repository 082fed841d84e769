#!/usr/bin/env bash
# scripts/lib/debian-mirror.sh, which gives scripts/docker-engine.sh the
# mirror for debootstrap: found in either sources format, in fake apt
# directories, whichever files are missing; the default with a reason when
# there is none; never a failure under `set -euo pipefail`. And on this
# machine, the mirror its apt uses. Runs nothing but apt-get indextargets.
. "$(dirname "$0")/../integration/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# mirror_of DIR: runs debian_mirror DIR in a script under set -euo pipefail
# with the ERR trap, as scripts/docker-engine.sh does; sets out, err, rc.
mirror_of() {
    out=$(bash -c 'set -euo pipefail
        . "$1/scripts/lib/errtrap.sh"
        . "$1/scripts/lib/debian-mirror.sh"
        debian_mirror ${2:+"$2"}' mirror_of "$ROOT" "$1" 2>"$WORK/err"); rc=$?
    err=$(cat "$WORK/err")
}

# deb822 only: no sources.list at all. A disabled stanza, the security
# archive and a deb-src-only stanza come first and must be passed over.
A=$WORK/deb822
mkdir -p "$A/sources.list.d"
cat > "$A/sources.list.d/debian.sources" <<'S'
Types: deb
URIs: http://disabled.test/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
# a comment inside the stanza
URIs: http://security.test/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.test/debian
Suites: bookworm
Components: main

Types: deb deb-src
URIs: http://mirror.test/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
mirror_of "$A"
expect_eq "deb822 only: status 0" 0 "$rc"
expect_eq "deb822 only: the enabled bookworm main mirror, without its trailing /" http://mirror.test/debian "$out"
expect_eq "deb822 only: nothing on stderr" "" "$err"

# One-line format only: sources.list, and no sources.list.d directory.
B=$WORK/oneline
mkdir -p "$B"
cat > "$B/sources.list" <<'S'
# deb http://commented.test/debian bookworm main
deb-src http://src.test/debian bookworm main
deb http://security.test/debian-security bookworm-security main
deb http://updates.test/debian bookworm-updates main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://ftp.test/debian bookworm main contrib
S
mirror_of "$B"
expect_eq "one-line only: status 0" 0 "$rc"
expect_eq "one-line only: the bookworm main mirror, options and all" https://ftp.test/debian "$out"
expect_eq "one-line only: nothing on stderr" "" "$err"

# One-line format in sources.list.d/*.list.
C=$WORK/listd
mkdir -p "$C/sources.list.d"
echo "deb http://listd.test/debian bookworm main" > "$C/sources.list.d/mirror.list"
mirror_of "$C"
expect_eq "sources.list.d/*.list: the mirror" http://listd.test/debian "$out"

# Nothing: an empty directory.
D=$WORK/empty
mkdir -p "$D"
mirror_of "$D"
expect_eq "no sources: status 0 under set -euo pipefail" 0 "$rc"
expect_eq "no sources: the default mirror" http://deb.debian.org/debian "$out"
expect_match "no sources: says why, and what it uses" \
    "^debian-mirror: no \"deb\" source for bookworm main in $D/sources.list or $D/sources.list.d/; using http://deb.debian.org/debian$" "$err"

# Sources without bookworm main: the default, with the reason.
E=$WORK/other
mkdir -p "$E"
echo "deb http://other.test/debian trixie main" > "$E/sources.list"
mirror_of "$E"
expect_eq "no bookworm source: the default mirror" http://deb.debian.org/debian "$out"
expect_match "no bookworm source: says why" '^debian-mirror: no "deb" source for bookworm main' "$err"

# A file apt cannot read: the default, with apt's own error.
F=$WORK/broken
mkdir -p "$F"
echo "this is not a source line" > "$F/sources.list"
mirror_of "$F"
expect_eq "broken sources: status 0" 0 "$rc"
expect_eq "broken sources: the default mirror" http://deb.debian.org/debian "$out"
expect_match "broken sources: passes on apt's error" \
    "^debian-mirror: apt-get indextargets failed: E: .*$F/sources.list; using http://deb.debian.org/debian$" "$err"

# No apt-get at all.
mkdir -p "$WORK/bin"
for t in bash awk grep head cat; do ln -s "$(command -v "$t")" "$WORK/bin/$t"; done
out=$(PATH=$WORK/bin mirror_of "$A"; printf '%s|%s|%s' "$rc" "$out" "$err")
expect_eq "no apt-get: the default mirror, and why" \
    "0|http://deb.debian.org/debian|debian-mirror: apt-get is not installed; using http://deb.debian.org/debian" "$out"

# This machine: the mirror its own apt uses for bookworm main, not the
# default for want of one (the default is also deb.debian.org's address).
if grep -Eqs '^(deb[[:space:]].*[[:space:]]bookworm[[:space:]].*main|Suites:.*[[:space:]]bookworm([[:space:]]|$))' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
    mirror_of ""
    expect_eq "this machine: status 0" 0 "$rc"
    expect_eq "this machine: found, not defaulted" "" "$err"
    expect_match "this machine: an http(s) URI" '^https?://[^ ]+[^/]$' "$out"
    named() { [ -n "$out" ] && grep -Eqs -- "(^|[[:space:]])$out/?([[:space:]]|$)" /etc/apt/sources.list \
                  /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; }
    check "this machine: a URI named in /etc/apt's sources (\"$out\")" named
else
    skip "this machine's mirror" "/etc/apt names no bookworm source"
fi
finish
