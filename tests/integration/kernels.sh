#!/usr/bin/env bash
# The suite on kernels unlike this one: the checks that depend on what the
# kernel offers run again on a kernel made, with a seccomp filter around
# the test, to lack 32-bit system calls (int 0x80 kills the process, as it
# faults on kernels without them), x32, io_uring (disabled, EPERM) and perf
# events (ENOSYS). They must pass, each missing feature named in a "skip"
# line with its reason, and every other check still run.
. "$(dirname "$0")/lib.sh"
need_root
: "${TEST_SECCOMP:?set TEST_SECCOMP to the seccomp unit test}"

WITHOUT=("$PROBE" inject no-ia32 no-x32 no-io_uring no-perf --)

# The probe itself, first: the simulation must look like such a kernel.
out=$("${WITHOUT[@]}" "$PROBE" kernel ia32 x32 io_uring perf 2>&1)
expect_match "simulated: 32-bit calls fault" '^ia32: no: this kernel cannot make them \(int 0x80 faults' "$out"
expect_match "simulated: no x32" '^x32: no: ' "$out"
expect_match "simulated: io_uring refused" '^io_uring: no: .*EPERM' "$out"
expect_match "simulated: no perf events" '^perf: no: .*ENOSYS' "$out"
diag "this kernel itself: $("$PROBE" kernel ia32 x32 io_uring perf | tr '\n' ' ')"

# The seccomp unit test: passes, says what it skipped, and still checks
# the rest of the filter.
out=$("${WITHOUT[@]}" "$TEST_SECCOMP" 2>&1); rc=$?
expect_eq "seccomp unit test passes without 32-bit calls and io_uring" 0 "$rc"
expect_match "it says why the 32-bit checks are skipped" \
    '^skip - 32-bit system calls: this kernel cannot make them \(int 0x80 faults without any filter' "$out"
expect_match "it says why io_uring_setup is skipped" '^skip - io_uring_setup: this kernel refuses it without any filter too \(EPERM' "$out"
expect_match "the other calls are still checked" '\[       OK \] agent filter: bpf' "$out"
expect_match "x32 is still checked" '\[       OK \] test_x32' "$out"
expect_match "perf_event_open is still let through by --seccomp-allow" '\[       OK \] test_allow_and_pid1' "$out"
passed=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p')
run=$(printf '%s\n' "$out" | sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p')
check "skipped checks are not among the passed ($passed passed of $run)" test "${passed:-0}" -lt "${run:-0}"

# The privilege checks against palisade as PID 1, on that kernel.
# Without TEST_PROTOCOL, its exit status says whether every check passed.
out=$(SANDBOX_WRAP="${WITHOUT[*]}" TEST_PROTOCOL= bash "$(dirname "$0")/privs.sh" 2>&1); rc=$?
expect_eq "privs passes without 32-bit calls, io_uring and perf events" 0 "$rc"
# privs.sh reports in TAP: "ok N - what", and "ok N - what # SKIP why"
# for a skipped check, which a passed one never ends with.
expect_match "it says why the 32-bit checks are skipped" \
    '^ok [0-9]+ - 32-bit system calls fail with EPERM # SKIP this kernel cannot make them' "$out"
expect_match "it says why io_uring checks are skipped" \
    '^ok [0-9]+ - AF_VSOCK through io_uring: io_uring is denied # SKIP io_uring: ' "$out"
expect_match "perf_event_open reaches the kernel with --seccomp-allow" \
    '^ok [0-9]+ - --seccomp-allow lets that call through to a kernel without perf events[^#]*$' "$out"
expect_match "the other checks still run" '^ok [0-9]+ - bpf fails with EPERM$' "$out"
expect_match "and are counted apart from the skips" '^# privs: [0-9]+ checks, 0 failed, [1-9][0-9]* skipped' "$out"
ran=$(printf '%s\n' "$out" | sed -nE 's/^# privs: ([0-9]+) checks, .*/\1/p')
skipped=$(printf '%s\n' "$out" | sed -nE 's/^# privs: .*, ([0-9]+) skipped$/\1/p')
results=$(printf '%s\n' "$out" | grep -cE '^(not )?ok [0-9]+ - ')
plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
expect_eq "the plan counts every check and every skip, each a result of its own" \
    "$results $results" "$(( ${ran:-0} + ${skipped:-0} )) $plan"
finish
