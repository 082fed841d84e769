#!/usr/bin/env bash
# scripts/lib/errtrap.sh: a script under `set -e` that a command stops says
# which file, line and command, with the command's status, and exits with
# that status; a failure the script expects (a condition) says nothing. And
# every script of the tree that runs under `set -e` has the trap.
. "$(dirname "$0")/../integration/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERRTRAP=$ROOT/scripts/lib/errtrap.sh

# run NAME: runs $WORK/NAME.sh with bash; sets out, err and rc.
run() {
    out=$(cd "$WORK" && bash "./$1.sh" 2>"$WORK/$1.err"); rc=$?
    err=$(cat "$WORK/$1.err")
}
# script NAME: writes $WORK/NAME.sh from stdin, after the two lines every
# such script starts with (so the body starts at line 3).
script() {
    { printf 'set -euo pipefail\n. %q\n' "$ERRTRAP"; cat; } > "$WORK/$1.sh"
}

# A failing command at the top level.
script top <<'SH'
echo before
ls /nonexistent-palisade-errtrap
echo after
SH
run top
expect_eq "top level: the exit status is the command's" 2 "$rc"
expect_eq "top level: the script stops there" before "$out"
expect_match "top level: names the file, line, command and status" \
    '^\./top\.sh: line 4: "ls /nonexistent-palisade-errtrap" failed \(status 2\)$' "$(tail -n 1 <<<"$err")"

# In a function of a sourced file: that file and its line.
cat > "$WORK/helpers.sh" <<'SH'
# helpers
copy_it() {
    cp "$1" "$2"
}
SH
script sourced <<'SH'
. ./helpers.sh
copy_it /nonexistent-palisade-errtrap /tmp
echo after
SH
run sourced
expect_eq "sourced function: non-zero exit" 1 "$rc"
expect_match "sourced function: names the script, the file, its line and the command" \
    '^\./sourced\.sh: \./helpers\.sh: line 3: "cp "\$1" "\$2"" failed \(status 1\)$' "$(tail -n 1 <<<"$err")"
expect_no_match "sourced function: the script stops there" after "$out"

# A pipeline (pipefail): the status and each command's status.
script pipe <<'SH'
f() { return 3; }
f | cat
echo after
SH
run pipe
expect_eq "pipeline: the exit status is the pipeline's" 3 "$rc"
expect_match "pipeline: names the line and the statuses" \
    '^\./pipe\.sh: line 4: ".*" failed \(status 3; pipeline statuses: 3 0\)$' "$err"

# A command substitution and a subshell that fail.
script subst <<'SH'
v=$(exit 4)
echo after
SH
run subst
expect_eq "command substitution: its status" 4 "$rc"
expect_match "command substitution: names it" '^\./subst\.sh: line 3: "v=\$\(exit 4\)" failed \(status 4\)$' "$err"
script subshell <<'SH'
( cd /nonexistent-palisade-errtrap; echo inside )
echo after
SH
run subshell
expect_eq "subshell: non-zero exit" 1 "$rc"
expect_match "subshell: names the command inside it" \
    '^\./subshell\.sh: line 3: "cd /nonexistent-palisade-errtrap" failed \(status 1\)$' "$err"
expect_no_match "subshell: the script stops there" 'inside|after' "$out"

# Failures the script expects: no message, the script goes on.
script expected <<'SH'
f() { false; echo "f goes on"; return 1; }
if false; then :; fi
if ! grep -q x /nonexistent-palisade-errtrap 2>/dev/null; then :; fi
false || true
false && true
while false; do :; done
until true; do :; done
! false
if f; then :; fi
f || true
v=$(false; echo "substitution goes on")
echo "$v"
v=$(false | true) || true
set -- a b
false || true
echo "end $*"
SH
run expected
expect_eq "expected failures: exit 0" 0 "$rc"
expect_eq "expected failures: no message" "" "$err"
expect_match "expected failures: the script runs to its end" 'end a b$' "$out"

# Every script of the tree that runs under `set -e` has the trap: it
# sources scripts/lib/errtrap.sh or writes its own ERR trap, and, unless it
# is only sourced (no #! line), runs under bash (dash has no ERR trap).
n=0
while IFS= read -r f; do
    first=$(head -n 1 "$f" | tr -d '\0')
    [[ $f == *.sh || $first == '#!'* ]] || continue
    grep -Eq '^set -[a-zA-Z]*e' "$f" || continue
    n=$((n + 1))
    rel=${f#"$ROOT"/}
    if grep -q 'lib/errtrap\.sh"' "$f" || grep -Eq "^trap '.*' ERR$" "$f"; then
        pass "$rel: has the ERR trap"
    else
        fail "$rel: runs under set -e without the ERR trap (source scripts/lib/errtrap.sh)"
    fi
    case $first in
    '#!/bin/bash' | '#!/usr/bin/env bash') pass "$rel: runs under bash" ;;
    '#!'*) fail "$rel: starts with \"$first\": the ERR trap needs bash" ;;
    esac
done < <(find "$ROOT/scripts" "$ROOT/tests" "$ROOT/bench" "$ROOT/.ci" -type f ! -path '*/out/*' | sort)
check "found the scripts that use set -e ($n)" [ "$n" -ge 10 ]
finish
