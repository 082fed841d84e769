#!/usr/bin/env bash
# Tests an aarch64 build of palisade (scripts/cross-arm64.sh) on another
# machine, under qemu-user-static, called by name (no binfmt_misc needed):
#
# - palisade --version, and --check as an unprivileged user with an
#   allowlist of addresses and networks only (nothing is looked up), whose
#   plan must be the same as the build machine's palisade's when
#   PALISADE_NATIVE names one; bad input exits 125 with its message;
# - as PID 1 (root: in namespaces of its own, chrooted), where qemu passes
#   on no netfilter, palisade fails closed with status 125;
# - every cmocka unit test of the build, except those that cannot run
#   under qemu-user, each said with its reason.
#
# One line a check: "ok - what", "FAIL - what", "skip - what: reason".
# Exits 1 when a check failed.
#
#   tests/cross/qemu-arm64.sh BUILD_DIR
#
# Environment: PALISADE_NATIVE, the build machine's palisade built from
# the same source (scripts/test.sh passes build/palisade); QEMU (default
# qemu-aarch64-static); CROSS_CC (default aarch64-linux-gnu-gcc), which
# builds the probe that asks qemu what it passes on.
set -Eeuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/errtrap.sh"
cd "$(dirname "$0")/../.."

[ $# -eq 1 ] || { echo "usage: tests/cross/qemu-arm64.sh BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
QEMU=${QEMU:-qemu-aarch64-static}
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
command -v "$QEMU" >/dev/null || { echo "qemu-arm64: $QEMU not found (Debian package qemu-user-static)" >&2; exit 1; }

passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
skip() { skipped=$((skipped + 1)); echo "skip - $1: $2"; }
# show TEXT: what a failed check printed, indented.
show() { sed 's/^/    /' <<< "$1"; }

work=$(mktemp -d /tmp/palisade-qemu-arm64-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"

echo "== aarch64 palisade under $QEMU ($("$QEMU" --version | head -n 1))"

# --- the binary ---
version=$(meson introspect "$build" --projectinfo |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
out=$("$QEMU" "$build/palisade" --version 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = "palisade $version" ]; then
    ok "--version: $out"
else
    bad "--version: expected [palisade $version] and status 0, got status $rc:"
    show "$out"
fi

# --check as nobody, outside any container: the plan, and nothing changed.
# Addresses and networks only, so that nothing is resolved.
cp "$build/palisade" "$work/palisade"
# The backend named: auto would take legacy under qemu-user, which passes
# no netfilter netlink on, and nft natively.
check_args=(--check --backend legacy -u nobody -a 192.0.2.1 -a 198.51.100.0/24:22 -a '[2001:db8::1]:8443'
            -a 2001:db8:1::/48 true)
as_nobody=()
[ "$(id -u)" -ne 0 ] || as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
out=$("${as_nobody[@]}" "$QEMU" "$work/palisade" "${check_args[@]}" 2>&1) && rc=0 || rc=$?
missing=()
for want in '^user: nobody \(uid 65534' \
            '^  192\.0\.2\.1 +tcp 80,443 udp 443  \[--allow\]' \
            '^  198\.51\.100\.0/24:22 +tcp 22 udp 22  \[--allow\]' \
            '^  \[2001:db8::1\]:8443 +tcp 8443 udp 8443  \[--allow\]' \
            '^# iptables$' '^# ip6tables$' ':OUTPUT DROP' \
            '^-A OUTPUT -p tcp -m set --match-set palisade4 dst -m multiport --dports 80,443 -j ACCEPT$' \
            '^-A OUTPUT -j REJECT --reject-with icmp6-adm-prohibited$'; do
    grep -Eq -- "$want" <<< "$out" || missing+=("$want")
done
if [ "$rc" -eq 0 ] && [ ${#missing[@]} -eq 0 ]; then
    ok "--check as an unprivileged user: status 0, the plan with both rulesets"
else
    bad "--check as an unprivileged user: status $rc${missing[*]:+, lacks ${missing[*]}}:"
    show "$out"
fi
if [ -n "${PALISADE_NATIVE:-}" ]; then
    cp "$PALISADE_NATIVE" "$work/palisade-native"
    for backend in legacy nft; do
        args=("${check_args[@]}")
        args[2]=$backend
        emulated=$("${as_nobody[@]}" "$QEMU" "$work/palisade" "${args[@]}" 2>&1) || true
        native=$("${as_nobody[@]}" "$work/palisade-native" "${args[@]}" 2>&1) || true
        if [ "$native" = "$emulated" ]; then
            ok "--check --backend $backend: the same plan as the $(uname -m) build, line for line"
        else
            bad "--check --backend $backend: the plan differs from the $(uname -m) build's ($PALISADE_NATIVE):"
            show "$(diff <(printf '%s\n' "$native") <(printf '%s\n' "$emulated") || true)"
        fi
    done
else
    skip "--check: the same plan as the $(uname -m) build" "PALISADE_NATIVE names no build to compare with"
fi

# Bad input: status 125 and the message that names it.
out=$("$QEMU" "$work/palisade" --check -u nobody -a 'exa mple.com' true 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 125 ] && grep -q '"exa mple.com" is not a domain, address or CIDR' <<< "$out"; then
    ok "--check with a bad allowlist entry: status 125 and the entry named"
else
    bad "--check with a bad allowlist entry: expected status 125 and the entry named, got $rc:"
    show "$out"
fi
out=$("$QEMU" "$work/palisade" --check -u nobody-at-all true 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 125 ] && grep -q 'nobody-at-all' <<< "$out"; then
    ok "--check with an unknown user: status 125 and the user named"
else
    bad "--check with an unknown user: expected status 125 and the user named, got $rc:"
    show "$out"
fi

# What qemu-user cannot give a test, asked of qemu itself where it can be.
"$CROSS_CC" -static -O2 -Wall -Wextra -Werror -o "$work/qemu-probe" tests/cross/qemu-probe.c
# probe FEATURE: sets WHY when qemu does not offer it. In a network
# namespace of its own when it can (root): "netfilter" reads the filter
# table.
probe() {
    local out in=()
    [ "$(id -u)" -ne 0 ] || in=(unshare -n)
    if out=$("${in[@]}" "$QEMU" "$work/qemu-probe" "$1" 2>&1); then WHY=; return 0; fi
    WHY=${out#"$1: no: "}
    return 1
}

# As PID 1, where qemu cannot pass on what the fence is made of: palisade
# must fail closed, with status 125 (the command never ran). In namespaces
# of its own, chrooted into a root that holds only palisade, qemu, and
# /etc/passwd and /etc/group.
if [ "$(id -u)" -ne 0 ]; then
    skip "as PID 1 without a fence, status 125" "needs root (namespaces, chroot)"
elif probe netfilter; then
    skip "as PID 1 without a fence, status 125" "this qemu passes on netfilter: palisade could fence and strip here"
else
    root=$work/root
    mkdir -p "$root/etc" "$root/proc" "$root/bin"
    cp "$build/palisade" "$root/palisade"
    cp "$(command -v "$QEMU")" "$root/bin/qemu"
    printf 'root:x:0:0::/root:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
    out=$(unshare -fpmn --propagation private sh -c \
          'mount -t proc proc "$1/proc" && exec chroot "$1" /bin/qemu /palisade -u nobody -a 192.0.2.1 /bin/false' \
          sh "$root" 2>&1) && rc=0 || rc=$?
    if [ "$rc" -eq 125 ] && grep -q '^palisade: ' <<< "$out"; then
        ok "as PID 1 under qemu, which cannot pass on the fence: status 125 ($out)"
    else
        bad "as PID 1 under qemu, which cannot pass on the fence: expected status 125 and palisade's message, got $rc:"
        show "$out"
    fi
fi

# --- the unit tests ---
# Unit tests not built for aarch64, with the reason.
declare -A not_built=(
    [seccomp]="not built for aarch64: its helpers (tests/syscalls.c, syscalls32.c, kernel.c) make x86 system calls (iopl, ioperm, int 0x80)"
)
if ! probe seccomp; then
    not_built[seccomp]+="; nor could it run under this qemu, which loads no seccomp filter ($WHY)"
fi
# Single cmocka tests that qemu cannot run: "unit:test" -> feature to probe.
declare -A needs=(
    [strip:test_mount_left_alone]=statx-mnt-id
    # It refuses getxattrat with a seccomp filter.
    [strip:test_walk_without_getxattrat]=seccomp
    # The DNS filter opens its ipset netlink socket when it is made.
    [report:test_written_and_closed]=netfilter
    [report:test_failed_write_closes]=netfilter
)

mapfile -t units < <(meson introspect "$build" --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.endswith(":unit") or s == "unit" for s in t["suite"]):
        print(t["name"], t["cmd"][0])')
[ ${#units[@]} -gt 0 ] || { bad "unit tests: meson lists none in $build"; units=(); }

targets=()
for u in "${units[@]}"; do
    name=${u%% *}
    [ -n "${not_built[$name]:-}" ] || targets+=("$(realpath --relative-to="$build" "${u#* }")")
done
if [ ${#targets[@]} -gt 0 ] && ! out=$(meson compile -C "$build" "${targets[@]}" 2>&1); then
    bad "unit tests: building ${targets[*]} failed:"
    show "$(tail -n 30 <<< "$out")"
    targets=()
fi

for u in "${units[@]}"; do
    name=${u%% *}
    exe=${u#* }
    if [ -n "${not_built[$name]:-}" ]; then
        skip "unit $name" "${not_built[$name]}"
        continue
    fi
    # The single tests this qemu cannot run: they run, and their failure
    # is set aside, said as a skip, when the probe confirms the cause.
    excused=()
    for k in "${!needs[@]}"; do
        [ "${k%%:*}" = "$name" ] || continue
        if probe "${needs[$k]}"; then :; else excused+=("${k#*:}=$WHY"); fi
    done
    out=$(cd "$build" && "$QEMU" "$exe" 2>&1) && rc=0 || rc=$?
    mapfile -t failed_tests < <(sed -nE 's/^\[  FAILED  \] ([A-Za-z0-9_]+)$/\1/p' <<< "$out" | sort -u)
    unexcused=()
    for t in "${failed_tests[@]}"; do
        reason=
        for e in "${excused[@]}"; do
            [ "${e%%=*}" = "$t" ] && reason=${e#*=}
        done
        if [ -n "$reason" ]; then
            skip "unit $name: $t" "qemu-user cannot give it what it tests: $reason (it ran and failed)"
        else
            unexcused+=("$t")
        fi
    done
    for e in "${excused[@]}"; do
        [[ " ${failed_tests[*]} " == *" ${e%%=*} "* ]] ||
            echo "    note: unit $name: ${e%%=*} passed although qemu does not offer what it needs (${e#*=})"
    done
    # cmocka's status is the number of failed tests: every one must be set
    # aside above, or the run failed.
    ran=$(sed -nE 's/^\[==========\] ([0-9]+) test\(s\) run\.$/\1/p' <<< "$out" | tail -n 1)
    if [ ${#unexcused[@]} -eq 0 ] && [ -n "$ran" ] && [ "$rc" -eq "${#failed_tests[@]}" ]; then
        ok "unit $name: $ran tests run, $((ran - ${#failed_tests[@]})) passed"
    else
        bad "unit $name: status $rc${unexcused[*]:+, failed: ${unexcused[*]}}:"
        show "$out"
    fi
    # What a test skipped itself (cmocka's skip()), with its own words.
    while IFS= read -r t; do
        [ -n "$t" ] || continue
        why=$(grep -m 1 '^skip - ' <<< "$out" || true)
        skip "unit $name: $t" "skipped by the test itself${why:+ (${why#skip - })}"
    done < <(sed -nE 's/^\[  SKIPPED \] ([A-Za-z0-9_]+)$/\1/p' <<< "$out")
done

# The kernel integration tests run the fence for real; here they could not.
why="their helpers (tests/probe.c with tests/syscalls.c, kernel.c) are built for x86_64 only"
if ! probe netfilter; then
    why+="; and this qemu does not pass on what the fence is made of (libiptc's socket options, ipset and NFLOG netlink): $WHY"
fi
skip "integration tests" "$why"

echo "== qemu-arm64: $passed passed, $skipped skipped, $failed failed"
[ $failed -eq 0 ] || exit 1
