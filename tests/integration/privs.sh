#!/usr/bin/env bash
# Privileges, against the real kernel: palisade runs as PID 1 of the fence
# sandbox with its own root tree, and the probe, as the agent, tries what
# an agent gone wrong would try.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root

R=$WORK/root
make_root "$R"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS

# What an image might hold: set-uid, set-gid and file-capability files,
# sudo, doas and pkexec.
mkdir -p "$R/usr/bin" "$R/etc/sudoers.d" "$R/mnt/host"
cp "$PROBE" "$R/usr/bin/suid-probe" && chmod 4755 "$R/usr/bin/suid-probe"
cp "$PROBE" "$R/usr/bin/sgid-probe" && chmod 2755 "$R/usr/bin/sgid-probe"
cp "$PROBE" "$R/usr/bin/caps-probe" && setcap cap_net_raw,cap_setuid+ep "$R/usr/bin/caps-probe"
for t in sudo sudoedit doas pkexec; do
    cp "$PROBE" "$R/usr/bin/$t" && chmod 4755 "$R/usr/bin/$t"
done
echo "agent ALL=(ALL) NOPASSWD: ALL" > "$R/etc/sudoers"
echo "agent ALL=(ALL) NOPASSWD: ALL" > "$R/etc/sudoers.d/agent"
echo "permit nopass agent" > "$R/etc/doas.conf"

# A directory and a single file from "the host", bind-mounted into the
# tree as Docker does with volumes and /etc/hosts: never changed.
HOST=$WORK/host
mkdir -p "$HOST"
cp "$PROBE" "$HOST/suid-probe" && chmod 4755 "$HOST/suid-probe"
cp "$PROBE" "$HOST/caps-probe" && setcap cap_net_raw+ep "$HOST/caps-probe"
cp "$PROBE" "$WORK/host-file" && chmod 4755 "$WORK/host-file"
touch "$R/etc/host-file"
export SANDBOX_SETUP="mount --bind '$HOST' \"\$r/mnt/host\" && mount --bind '$WORK/host-file' \"\$r/etc/host-file\""

cat > "$R/work/agent.sh" <<'SH'
echo "== kernel"; probe kernel ia32 io_uring perf vsock
echo "== status"; probe status
echo "== privesc"; probe privesc
echo "== syscalls"; probe syscalls
echo "== syscalls32"; probe syscalls32
echo "== vsock"; probe vsock
echo "== pid1"; probe pid1
echo "== fence"; probe fence-change
echo "== suid on the root fs"; /usr/bin/suid-probe status | grep ^Uid
echo "== suid on the host mount"; /mnt/host/suid-probe status | grep ^Uid
echo "== caps on the host mount"; /mnt/host/caps-probe status 2>&1 | grep -E '^CapEff|not permitted'
echo "== sudo"; ls /usr/bin/sudo /usr/bin/doas /usr/bin/pkexec /etc/sudoers /etc/doas.conf 2>&1 | grep -c 'No such file'
echo "== end"
SH
chmod 0755 "$R/work/agent.sh"

section() { printf '%s\n' "$OUT" | sed -n "/^== $1\$/,/^== /p" | sed '1d;$d'; }
line() { printf '%s\n' "$OUT" | sed -n "/^== $1\$/,/^== /p" | grep -F -- "$2: " | head -n 1; }

# Control: the same agent without palisade's privilege steps (no filter)
# shows that each refusal below is palisade's doing.
run_palisade "$R" -u agent --no-seccomp -- /bin/sh /work/agent.sh
expect_match "control: --no-seccomp warns" 'warning: --no-seccomp' "$ERR"
# What this kernel offers, as the agent sees it without the filter: a
# feature it lacks makes the checks that need it skips, with the reason.
KERNEL=$(section kernel)
offers() { printf '%s\n' "$KERNEL" | grep -q "^$1: yes$"; }
why() { printf '%s\n' "$KERNEL" | sed -n "s/^$1: no: //p"; }
expect_match "control: the kernel was asked" '^ia32: ' "$KERNEL"
if offers io_uring; then
    expect_match "control: without the filter, io_uring makes an AF_VSOCK socket" \
        '^io_uring socket\(AF_VSOCK\): (ok|EAFNOSUPPORT)' "$(section vsock)"
else
    skip "control: without the filter, io_uring makes an AF_VSOCK socket" "io_uring: $(why io_uring)"
fi
if offers ia32; then
    expect_match "control: without the filter, 32-bit getpid works" '^getpid: ok' "$(section syscalls32)"
else
    skip "control: without the filter, 32-bit getpid works" "32-bit system calls: $(why ia32)"
fi

# Reset the tree's set-uid files the control run stripped.
chmod 4755 "$R/usr/bin/suid-probe"; chmod 2755 "$R/usr/bin/sgid-probe"
setcap cap_net_raw,cap_setuid+ep "$R/usr/bin/caps-probe"
for t in sudo sudoedit doas pkexec; do
    cp "$PROBE" "$R/usr/bin/$t" && chmod 4755 "$R/usr/bin/$t"
done
echo x > "$R/etc/sudoers"; mkdir -p "$R/etc/sudoers.d"; echo x > "$R/etc/sudoers.d/agent"; echo x > "$R/etc/doas.conf"

run_palisade "$R" -u agent -- /bin/sh /work/agent.sh
expect_eq "the agent ran" 0 "$RC"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    expect_match "$set is empty" "^$set:	0000000000000000$" "$(section status | grep "^$set:")"
done
expect_match "NoNewPrivs is set" '^NoNewPrivs:	1$' "$(section status | grep ^NoNewPrivs)"
expect_match "a seccomp filter is loaded" '^Seccomp:	2$' "$(section status | grep '^Seccomp:')"
for c in "setuid(0)" "setgid(0)" "setgroups" "seteuid(0)"; do
    expect_eq "$c fails with EPERM" "$c: EPERM" "$(line privesc "$c")"
done

# Every denied call, natively and from 32-bit code.
native=$(section syscalls)
count=0
while IFS= read -r l; do
    [ -z "$l" ] && continue
    name=${l%%: *}
    result=${l#*: }
    case $name in
        clone3) expect_eq "clone3 fails with ENOSYS (so libc falls back to clone)" ENOSYS "$result" ;;
        *"(allowed)") expect_eq "$name still works" ok "$result" ;;
        io_uring_setup) if offers io_uring; then
                expect_eq "$name fails with EPERM" EPERM "$result"; count=$((count + 1))
            else
                # Without io_uring the kernel itself says EPERM: the
                # filter's answer cannot be told apart.
                skip "$name fails with EPERM" "io_uring: $(why io_uring)"
            fi ;;
        *) expect_eq "$name fails with EPERM" EPERM "$result"; count=$((count + 1)) ;;
    esac
done <<< "$native"
check "at least 50 denied calls were tried ($count)" test "$count" -ge 50
if offers ia32; then
    n32=0
    while IFS= read -r l; do
        [ -z "$l" ] && continue
        expect_eq "32-bit ${l%%: *} fails with EPERM" EPERM "${l#*: }"
        n32=$((n32 + 1))
    done <<< "$(section syscalls32)"
    check "at least 20 denied 32-bit calls were tried ($n32)" test "$n32" -ge 20
else
    skip "32-bit system calls fail with EPERM" "$(why ia32)"
fi

expect_eq "AF_VSOCK directly: EPERM" "socket(AF_VSOCK): EPERM" "$(line vsock 'socket(AF_VSOCK)')"
if offers io_uring; then
    expect_eq "AF_VSOCK through io_uring: io_uring is denied" "io_uring_setup: EPERM" "$(line vsock io_uring_setup)"
else
    skip "AF_VSOCK through io_uring: io_uring is denied" "io_uring: $(why io_uring)"
fi

expect_eq "the agent cannot signal PID 1" "kill(1, SIGTERM): EPERM" "$(line pid1 'kill(1, SIGTERM)')"
expect_eq "the agent cannot ptrace PID 1" "ptrace(ATTACH, 1): EPERM" "$(line pid1 'ptrace(ATTACH, 1)')"
expect_eq "the agent cannot read PID 1's environment" "open /proc/1/environ: EACCES" "$(line pid1 'open /proc/1/environ')"
expect_eq "the agent cannot read PID 1's memory" "open /proc/1/mem: EACCES" "$(line pid1 'open /proc/1/mem')"
expect_match "the agent cannot flush iptables" '^iptables: refused: .*permission denied' "$(line fence iptables)"
expect_match "the agent cannot change an ipset" '^ipset: refused: .*permission denied' "$(line fence ipset)"
expect_match "the agent cannot add to an nft set" '^nft: refused.*permission denied' "$(line fence nft)"
expect_match "the fence is still whole afterwards" '-A OUTPUT -j REJECT' "$(sandbox_save -t filter)"
expect_no_match "the ipset is unchanged afterwards" '192\.0\.2\.99' "$(ip netns exec "$SANDBOX_NS" ipset list palisade4)"

# Stripping: the root filesystem's files, not the host's.
expect_eq "a set-uid file on the root fs gives no privilege" "Uid:	1000	1000	1000	1000" "$(section 'suid on the root fs')"
expect_eq "a set-uid file on a host mount gives no privilege" "Uid:	1000	1000	1000	1000" "$(section 'suid on the host mount')"
# The kernel either runs it without the capabilities or, because its
# effective bit asks for them, refuses to run it at all.
expect_match "a file-capability file on a host mount gives none" \
    '^(CapEff:	0000000000000000|.*Operation not permitted)$' "$(section 'caps on the host mount')"
expect_eq "sudo, doas, pkexec and their configuration are gone" 5 "$(section sudo)"
expect_eq "the root fs set-uid bit is gone" 755 "$(stat -c %a "$R/usr/bin/suid-probe")"
expect_eq "the root fs set-gid bit is gone" 755 "$(stat -c %a "$R/usr/bin/sgid-probe")"
expect_eq "the root fs file capabilities are gone" "" "$(getcap "$R/usr/bin/caps-probe")"
expect_eq "no set-uid or set-gid file is left on the root fs" "" \
    "$(find "$R" -xdev -type f -perm /6000 ! -path "$R/etc/host-file")"
expect_eq "the host directory's set-uid file is unchanged" 4755 "$(stat -c %a "$HOST/suid-probe")"
expect_match "the host directory's file capabilities are unchanged" 'cap_net_raw=ep' "$(getcap "$HOST/caps-probe")"
expect_eq "the host's single bind-mounted file is unchanged" 4755 "$(stat -c %a "$WORK/host-file")"
expect_match "the summary counts what was stripped" \
    'stripped [1-9][0-9]* set-uid, 1 set-gid and 1 file-capability bits of [0-9]+ files; removed 7 sudo, doas and pkexec files; system call filter on' "$ERR"

# PID 1 itself: CAP_KILL and CAP_NET_ADMIN only, no_new_privs, its own filter.
start_bg() {
    in_sandbox "$R" /sbin/palisade "$@" >"$WORK/bg.log" 2>&1 </dev/null &
    BG=$!
    PID1=$(sandbox_pid1 "$BG")
}
start_bg -q -u agent -- sleep 30
wait_for_agent "$PID1" sleep
st=$(cat "/proc/$PID1/status")
expect_match "PID 1 keeps only CAP_KILL and CAP_NET_ADMIN" 'CapEff:	0000000000001020' "$st"
expect_match "PID 1's bounding set is CAP_KILL and CAP_NET_ADMIN only" 'CapBnd:	0000000000001020' "$st"
expect_match "PID 1 has no_new_privs" 'NoNewPrivs:	1' "$st"
expect_match "PID 1 has its own filter" 'Seccomp:	2' "$st"
kill -TERM "$PID1"
wait "$BG"
expect_eq "PID 1 still forwards SIGTERM to the agent (CAP_KILL)" 143 "$?"

# A read-only root: nothing stripped, said so, and no_new_privs still holds.
chmod 4755 "$R/usr/bin/suid-probe"
SANDBOX_SETUP="mount -o remount,bind,ro \"\$r\"" run_palisade "$R" -u agent -- /usr/bin/suid-probe status
expect_eq "read-only root: the agent runs" 0 "$RC"
expect_match "read-only root: it says nothing could be stripped" 'read-only: nothing stripped' "$ERR"
expect_match "read-only root: a set-uid file still gives no privilege" 'Uid:	1000	1000	1000	1000' "$OUT"

# --seccomp-allow relaxes one call; a name palisade does not deny is bad input.
run_palisade "$R" -u agent --seccomp-allow perf_event_open -- probe syscalls
if offers perf; then
    expect_match "--seccomp-allow lets that call through" '^perf_event_open: E(FAULT|INVAL|ACCES|NOENT)' "$(printf '%s\n' "$OUT" | grep ^perf_event_open)"
else
    # The kernel's own answer (ENOSYS without perf events) shows the
    # call got past the filter.
    expect_match "--seccomp-allow lets that call through to a kernel without perf events ($(why perf))" \
        '^perf_event_open: E(NOSYS|FAULT|INVAL|ACCES|NOENT)' "$(printf '%s\n' "$OUT" | grep ^perf_event_open)"
fi
expect_match "--seccomp-allow keeps the others" '^bpf: EPERM' "$(printf '%s\n' "$OUT" | grep ^bpf)"
run_palisade "$R" -u agent --seccomp-allow read -- /bin/touch /tmp/ran
expect_eq "--seccomp-allow with an unknown name: 125" 125 "$RC"
expect_match "--seccomp-allow with an unknown name: message" 'seccomp-allow "read": palisade does not deny' "$ERR"
check "--seccomp-allow with an unknown name: the command never ran" test ! -e "$R/tmp/ran"
# statx on a descriptor refused (as under an old seccomp profile): the
# mount check for sudo and its kind cannot be made, so palisade fails
# closed and removes nothing, not even in a host directory mounted over
# /usr/local/bin.
mkdir -p "$WORK/hostbin" "$R/usr/local/bin"
cp "$PROBE" "$WORK/hostbin/sudo"
SANDBOX_SETUP="mount --bind '$WORK/hostbin' \"\$r/usr/local/bin\"" \
SANDBOX_WRAP="$PROBE inject no-fd-statx --" run_palisade "$R" -u agent -- /bin/touch /tmp/ran
check "statx refused: sudo in the host's directory is still there" test -e "$WORK/hostbin/sudo"
expect_eq "statx refused: palisade fails closed (125)" 125 "$RC"
expect_match "statx refused: the message names the step" 'inspecting /: Operation not permitted' "$ERR"
check "statx refused: the command never ran" test ! -e "$R/tmp/ran"
finish
