#!/usr/bin/env bash
# palisade as PID 1: exit statuses, signal forwarding (to the command and,
# with -g, to its process group), zombie reaping, the terminal's foreground
# group, the user and environment the command gets.
. "$(dirname "$0")/lib.sh"
need_root

R=$WORK/root
make_root "$R"
printf '#!/bin/sh\necho never\n' > "$R/bin/not-executable"
chmod 0644 "$R/bin/not-executable"

# Exit statuses.
run_palisade "$R" -q -u agent -- sh -c 'exit 3'
expect_eq "the command's exit status is palisade's" 3 "$RC"
run_palisade "$R" -q -u agent sh -c 'kill -USR2 $$'
expect_eq "death by signal N gives 128+N" $((128 + 12)) "$RC"
run_palisade "$R" -q -u agent /bin/no-such-command
expect_eq "a missing command gives 127" 127 "$RC"
expect_match "a missing command is named" '^palisade: /bin/no-such-command: command not found' "$ERR"
run_palisade "$R" -q -u agent not-in-path-either
expect_eq "a command not in PATH gives 127" 127 "$RC"
run_palisade "$R" -q -u agent /bin/not-executable
expect_eq "a command that cannot be executed gives 126" 126 "$RC"
expect_match "126 says why" 'not-executable: cannot execute: Permission denied' "$ERR"
run_palisade "$R" -q -u agent /home
expect_eq "a directory as the command gives 126" 126 "$RC"

# Options stop at the first non-option: "-v" here belongs to the command.
run_palisade "$R" -q -u agent sh -c 'echo "$0 $1"' -v x
expect_eq "options after the command belong to it" "-v x" "$OUT"

# The user, groups and environment.
run_palisade "$R" -q -u agent -- sh -c 'id; echo "HOME=$HOME USER=$USER LOGNAME=$LOGNAME"; env | grep -c ^PALISADE_ ; pwd'
expect_match "runs as the agent user with its groups" 'uid=1000\(agent\) gid=1000\(agent\) groups=1000\(agent\),1500\(extra\)' "$OUT"
expect_match "HOME, USER and LOGNAME come from passwd" 'HOME=/home/agent USER=agent LOGNAME=agent' "$OUT"
expect_match "PALISADE_ variables are removed" '^0$' "$(echo "$OUT" | sed -n 3p)"
PALISADE_USER=agent PALISADE_ALLOW=x.example KEEP_ME=1 run_palisade "$R" -q -- sh -c 'echo "$KEEP_ME"; env | grep -c ^PALISADE_'
expect_eq "other variables pass, PALISADE_USER works" "1
0" "$OUT"
run_palisade "$R" -u agent -- probe status
expect_match "no capabilities: CapEff 0" 'CapEff:	0000000000000000' "$OUT"
expect_match "no capabilities: CapBnd 0" 'CapBnd:	0000000000000000' "$OUT"
expect_match "no_new_privs is set" 'NoNewPrivs:	1' "$OUT"
expect_match "one startup line" '^palisade: started probe as agent \(uid 1000\)' "$ERR"

# -v says each step; -q only errors and warnings.
run_palisade "$R" -v -u agent -- sh -c 'exit 4'
expect_match "-v: the fence step" 'palisade: fence installed and read back' "$ERR"
expect_match "-v: the stripping step" 'palisade: walked [0-9]+ directories' "$ERR"
expect_match "-v: the command's exit" 'palisade: the command exited: status 4' "$ERR"
run_palisade "$R" -q -u agent -- sh -c 'exit 4'
expect_eq "-q: nothing on stderr" "" "$ERR"

# A command whose name alone is longer than the startup line's buffer
# (3000 bytes of path): the name is shortened, the rest of the line is
# whole, and the command runs. (A write past the buffer aborts PID 1 under
# ASan, or corrupts its stack.)
long=/work
for i in $(seq 1 15); do long="$long/$(printf 'd%.0s' $(seq 1 199))"; done
mkdir -p "$R$long"
ln -s /bin/busybox "$R$long/true"
run_palisade "$R" -u agent -- "$long/true"
expect_eq "a 3000-byte command name: it runs, status 0" 0 "$RC"
expect_match "a 3000-byte command name: the startup line shortens it and says the rest" \
    '^palisade: started /work/d{150,}[.][.][.] as agent \(uid 1000\); fenced: IPv4.*system call filter on$' \
    "$(printf '%s\n' "$ERR" | grep '^palisade: started')"
expect_no_match "a 3000-byte command name: no memory error" 'AddressSanitizer|stack smashing|runtime error' "$ERR"

# Zombie reaping: orphans re-parented to PID 1 are reaped. They live 50 ms;
# the agent waits until no process of theirs, running or zombie, is left
# (at most 5 s), then counts the zombies.
run_palisade "$R" -q -u agent -- sh -c 'probe orphans 40
    i=0; while [ $i -lt 100 ] && grep -qx probe /proc/[0-9]*/comm 2>/dev/null; do sleep 0.05; i=$((i+1)); done
    probe zombies'
expect_match "orphans left behind are reaped by PID 1" 'zombies 0' "$OUT"

# Signal forwarding: each signal sent to PID 1 reaches the command.
start_bg() { # start_bg LOG palisade-args...
    local log=$1
    shift
    in_sandbox "$R" /sbin/palisade "$@" >"$log" 2>&1 </dev/null &
    BG=$!
    PID1=$(sandbox_pid1 "$BG")
}
start_bg "$WORK/sig.log" -q -u agent -- probe signals
if wait_for_text "$WORK/sig.log" "main ready"; then
    for s in HUP INT QUIT USR1 USR2 WINCH CONT ALRM URG; do
        kill -s "$s" "$PID1"
        check "SIG$s reaches the command" wait_for_text "$WORK/sig.log" "main got $s" 5
    done
    t0=$(date +%s%N)
    kill -TERM "$PID1"
    wait "$BG"; rc=$?
    t1=$(date +%s%N)
    expect_eq "the command's status after SIGTERM" 0 "$rc"
    check "SIGTERM reached the command" grep -q "main got TERM" "$WORK/sig.log"
    ms=$(( (t1 - t0) / 1000000 ))
    check "SIGTERM ends PID 1 at once (${ms} ms)" test "$ms" -lt 2000
else
    fail "probe signals did not start: $(cat "$WORK/sig.log")"
    kill "$BG"
fi

# A command that does not handle SIGTERM dies of it: 143.
start_bg "$WORK/sleep.log" -q -u agent -- sleep 60
wait_for_agent "$PID1" sleep
kill -TERM "$PID1"
wait "$BG"; rc=$?
expect_eq "sleep killed by SIGTERM: 143" 143 "$rc"

# -g sends signals to the whole process group; without it, to the command only.
start_bg "$WORK/grp.log" -q -g -u agent -- probe signals --fork
if wait_for_text "$WORK/grp.log" "forked ready" && wait_for_text "$WORK/grp.log" "main ready"; then
    kill -USR1 "$PID1"
    check "-g: the command gets the signal" wait_for_text "$WORK/grp.log" "main got USR1" 5
    check "-g: its process group gets it too" wait_for_text "$WORK/grp.log" "forked got USR1" 5
    kill -TERM "$PID1"
    wait "$BG"
else
    fail "probe signals --fork did not start"; kill "$BG"
fi
start_bg "$WORK/nogrp.log" -q -u agent -- probe signals --fork
if wait_for_text "$WORK/nogrp.log" "forked ready" && wait_for_text "$WORK/nogrp.log" "main ready"; then
    kill -USR1 "$PID1"
    check "without -g: the command gets the signal" wait_for_text "$WORK/nogrp.log" "main got USR1" 5
    # A check that something does not happen: the signal, had it gone to
    # the group, would have reached the other process by now (with -g,
    # above, it does at once). There is nothing to wait on but the clock.
    sleep 0.3
    check "without -g: the rest of its group does not" bash -c "! grep -q 'forked got USR1' '$WORK/nogrp.log'"
    kill -TERM "$PID1"
    wait "$BG"
else
    fail "probe signals --fork did not start"; kill "$BG"
fi

# Every signal PID 1 can catch reaches the command: 1 to 64 but SIGKILL and
# SIGSTOP (nobody can catch them), SIGCHLD (PID 1's own: it reaps) and 32
# and 33 (glibc keeps them for itself), with and without -g. SIGTERM last:
# the probe exits on it.
wait_for_match() { # wait_for_match FILE REGEX SECONDS
    local i n=$(( $3 * 20 ))
    for ((i = 0; i < n; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
all_signals() { # all_signals LOG ROLE...
    local log=$1 n r
    shift
    for n in $(seq 1 64); do
        case $n in 9|15|17|19|32|33) continue ;; esac
        kill -s "$n" "$PID1"
        for r in "$@"; do
            check "signal $n ($(kill -l "$n")) sent to PID 1 reaches the $r process" \
                wait_for_match "$log" "^$r got [A-Z0-9]+ \\($n\\)$" 2
        done
    done
}
start_bg "$WORK/all.log" -q -u agent -- probe signals
if wait_for_text "$WORK/all.log" "main ready"; then
    all_signals "$WORK/all.log" main
    kill -TERM "$PID1"
    wait "$BG"
    expect_eq "after every signal, SIGTERM still ends the command cleanly" 0 "$?"
else
    fail "probe signals did not start: $(cat "$WORK/all.log")"; kill "$BG"
fi
start_bg "$WORK/allg.log" -q -g -u agent -- probe signals --fork
if wait_for_text "$WORK/allg.log" "forked ready" && wait_for_text "$WORK/allg.log" "main ready"; then
    all_signals "$WORK/allg.log" main forked
    kill -TERM "$PID1"
    wait "$BG"
else
    fail "probe signals --fork did not start"; kill "$BG"
fi

# A parent that ignored and blocked signals before it started palisade
# (a CI runner, a shell): the command still starts clean, and PID 1 still
# reaps (an inherited SIGCHLD ignored would lose the exit status).
SANDBOX_WRAP="$PROBE sigdirty --" run_palisade "$R" -q -u agent -- probe sigstate
expect_eq "a dirty parent: the command starts with nothing blocked" "SigBlk:	0000000000000000" \
    "$(printf '%s\n' "$OUT" | grep ^SigBlk)"
expect_eq "a dirty parent: the command starts with nothing ignored" "SigIgn:	0000000000000000" \
    "$(printf '%s\n' "$OUT" | grep ^SigIgn)"
SANDBOX_WRAP="$PROBE sigdirty --" run_palisade "$R" -q -u agent -- sh -c 'exit 5'
expect_eq "a dirty parent: the exit status still passes" 5 "$RC"
SANDBOX_WRAP="$PROBE sigdirty --" start_bg "$WORK/dirty.log" -q -u agent -- probe signals
if wait_for_text "$WORK/dirty.log" "main ready"; then
    for s in INT USR1 USR2 HUP; do
        kill -s "$s" "$PID1"
        check "a dirty parent: SIG$s (ignored or blocked there) reaches the command" \
            wait_for_text "$WORK/dirty.log" "main got $s" 5
    done
    kill -TERM "$PID1"
    wait "$BG"
    expect_eq "a dirty parent: SIGTERM (blocked there) ends the command" 0 "$?"
else
    fail "probe signals under a dirty parent did not start: $(cat "$WORK/dirty.log")"; kill "$BG"
fi

# PID 1 holds no reference to the directory it was started in; the command
# still starts there.
in_sandbox "$R" /bin/sh -c 'cd /work && exec /sbin/palisade -q -u agent -- sh -c "pwd; exec sleep 30"' \
    >"$WORK/cwd.log" 2>&1 </dev/null &
BG=$!
PID1=$(sandbox_pid1 "$BG")
if wait_for_text "$WORK/cwd.log" "/work" 5; then
    expect_eq "the command starts in the directory palisade was started in" "/work" "$(head -n 1 "$WORK/cwd.log")"
    expect_eq "PID 1's working directory is / (the root)" "$R" "$(readlink "/proc/$PID1/cwd")"
else
    fail "the command did not start: $(cat "$WORK/cwd.log")"
fi
kill -TERM "$PID1"
wait "$BG"

# A stop signal while palisade is still setting up (here: resolving
# through a resolver that never answers) ends it at once, with 128+N and a
# line; the command never runs.
mkdir -p "$R/etc"
echo "nameserver 127.0.0.53" > "$R/etc/resolv.conf"
# A resolver that takes queries and never answers, in the sandbox's own
# network namespace.
SANDBOX_SETUP='ip link set lo up && { python3 -c "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.53\", 53)); t = socket.socket(); t.bind((\"127.0.0.53\", 53)); t.listen(); print(\"silent\", flush=True); time.sleep(60)" > /tmp/silent-$$ & } && until grep -q silent /tmp/silent-$$ 2>/dev/null; do sleep 0.05; done; rm -f /tmp/silent-$$' \
    start_bg "$WORK/early.log" -v -u agent -a slow.example --resolve-timeout 30 -- touch /tmp/ran
if wait_for_text "$WORK/early.log" "resolving the allowlist's names" 10; then
    sleep 0.3 # well inside the resolve, which waits for 30 s
    t0=$(date +%s%N)
    kill -TERM "$PID1"
    wait "$BG"; rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect_eq "SIGTERM during setup: 143" 143 "$rc"
    check "SIGTERM during setup ends palisade at once (${ms} ms)" test "$ms" -lt 1000
    expect_match "SIGTERM during setup: it says the command never ran" \
        '^palisade: SIGTERM before the command started: stopping; the command never ran$' "$(cat "$WORK/early.log")"
    check "SIGTERM during setup: the command never ran" test ! -e "$R/tmp/ran"
else
    fail "palisade did not start resolving: $(cat "$WORK/early.log")"; kill "$BG"
fi
rm -f "$R/etc/resolv.conf"

# The agent cannot signal PID 1.
run_palisade "$R" -q -u agent -- sh -c 'kill -TERM 1 2>&1; echo "kill=$?"'
expect_match "the agent cannot signal PID 1" 'kill=1' "$OUT"

# A terminal: the command is the foreground process group, so Ctrl-C
# reaches it (and not PID 1, which keeps running until the command exits).
"$PROBE" pty "main ready" $'\003' env NETNS= bash -c ". '$(dirname "$0")/lib.sh' >/dev/null 2>&1; in_sandbox '$R' /sbin/palisade -q -u agent -- probe signals" \
    > "$WORK/pty.log" 2>&1 &
PTY=$!
if wait_for_text "$WORK/pty.log" "main got INT" 10; then
    pass "Ctrl-C on the terminal reaches the command"
    check "the command is the terminal's foreground process group" grep -q "main ready.*foreground=yes" "$WORK/pty.log"
    # This test's palisade: the one under the pty's process, not another
    # suite's running the same command at the same time.
    pid1=$(sandbox_pid1 "$PTY")
    [ -n "$pid1" ] && kill -TERM "$pid1"
    wait "$PTY"; rc=$?
    expect_eq "under a terminal, the exit status still passes" 0 "$rc"
else
    fail "Ctrl-C on the terminal: $(cat "$WORK/pty.log")"
    kill "$PTY" 2>/dev/null
fi
finish
