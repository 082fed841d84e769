# Class 9: docker exec sessions. A process that docker exec starts with -u
# 1000 has the agent's user but none of what palisade gave the agent. The
# agent takes it over (ptrace injection, code written through
# /proc/PID/mem or process_vm_writev, its descriptors through pidfd_getfd)
# to run socket(AF_VSOCK), unshare or io_uring outside the filter. Here a
# session is started the way docker exec starts one: nsenter into PID 1's
# namespaces and root, as uid 1000, without palisade's filter.

# x9_palisade LOG ARGS...: palisade as PID 1 in the background, running
# /work/x9-attack.sh as the agent; waits until the fence is up. Sets
# X9_BG and X9_PID1.
x9_palisade() {
    local log=$1
    shift
    rm -f "$R/tmp/x9-session" "$R/run/palisade/ready"
    in_sandbox "$R" /sbin/palisade "$@" -u agent -- /bin/sh /work/x9-attack.sh \
        >"$log" 2>&1 </dev/null &
    X9_BG=$!
    X9_PID1=$(sandbox_pid1 "$X9_BG")
    local i
    for i in $(seq 1 100); do
        [ -e "$R/run/palisade/ready" ] && return 0
        sleep 0.05
    done
    return 1
}

# x9_exec LOG USER CMD...: what `docker exec [-u USER] CTR CMD...` does: CMD
# in PID 1's namespaces and root, as USER (root when empty), in the
# background. Sets X9_SESSION (the host pid of nsenter, whose status is
# CMD's).
x9_exec() {
    local log=$1 user=$2
    shift 2
    local ids=()
    [ -n "$user" ] && ids=(-S "$user" -G "$user")
    nsenter -t "$X9_PID1" -p -m -n -r -w "${ids[@]}" "$@" >"$log" 2>&1 </dev/null &
    X9_SESSION=$!
}

# x9_attack: tells the agent's script which pid to attack (the session's
# pid inside the sandbox, from `probe idle`), then waits for the agent.
x9_attack() {
    local log=$1
    if ! wait_for_text "$log" "idle pid=" 5; then
        fail "the session did not start: $(cat "$log")"
        kill "$X9_BG" "$X9_SESSION" 2>/dev/null
        wait "$X9_BG" "$X9_SESSION" 2>/dev/null
        return 1
    fi
    sed -n 's/^idle pid=//p' "$log" > "$R/tmp/x9-session"
    wait "$X9_BG"
}

# The agent's side: each way in, then (if the code written into the
# session runs) a moment for the session to exit with its result.
cat > "$R/work/x9-attack.sh" <<'SH'
i=0
while [ ! -s /tmp/x9-session ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
p=$(cat /tmp/x9-session)
echo "== debugger"; probe debug-child
echo "== ptrace"; probe ptrace-inject "$p"
echo "== environ"; if cat "/proc/$p/environ" >/dev/null 2>&1; then echo "read: ok"; else echo "read: refused"; fi
echo "== steal"; probe steal-fd "$p" 1
echo "== mem"; probe mem-inject "$p"
i=0
while kill -0 "$p" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
echo "== session"; if kill -0 "$p" 2>/dev/null; then echo running; else echo gone; fi
echo "== end"
SH
x9_section() { sed -n "/^== $2\$/,/^== /p" "$1" | sed '1d;$d'; }
x9_line() { x9_section "$1" "$2" | grep -F -- "$3: " | head -n 1; }

# 1. A plain docker exec -u 1000 session, attacked by the default agent.
if x9_palisade "$WORK/x9-a.log"; then
    x9_exec "$WORK/x9-a.session" 1000 /bin/probe idle
    if x9_attack "$WORK/x9-a.session"; then
        A=$WORK/x9-a.log
        expect_eq "exec session: the agent cannot attach with ptrace" \
            "ptrace(ATTACH): EPERM" "$(x9_line "$A" ptrace 'ptrace(ATTACH)')"
        expect_eq "exec session: nor seize with ptrace" \
            "ptrace(SEIZE): EPERM" "$(x9_line "$A" ptrace 'ptrace(SEIZE)')"
        expect_no_match "exec session: nothing is injected into it" 'injected' "$(x9_section "$A" ptrace)"
        expect_eq "exec session: the agent cannot take its descriptors" \
            "pidfd_getfd: EPERM" "$(x9_line "$A" steal pidfd_getfd)"
        expect_eq "exec session: the agent cannot write its memory with process_vm_writev" \
            "process_vm_writev: EPERM" "$(x9_line "$A" mem process_vm_writev)"
        if grep -q 'Landlock here' "$A"; then
            echo "skip - /proc/PID/mem of an exec session: $(grep -o 'no [a-z ]*Landlock here ([^)]*)' "$A" | head -n 1)"
        else
            expect_match "exec session: the agent cannot open its /proc/PID/mem for writing" \
                '^open /proc/PID/mem for writing: (EACCES|EPERM)$' \
                "$(x9_line "$A" mem 'open /proc/PID/mem for writing')"
            expect_eq "exec session: nor read its environment" "read: refused" "$(x9_section "$A" environ)"
        fi
        expect_eq "exec session: it still runs its own code afterwards" running "$(x9_section "$A" session)"
        expect_eq "debuggers: the agent still traces its own child (PTRACE_TRACEME)" \
            "traced own child (PTRACE_TRACEME): ok" "$(x9_line "$A" debugger 'traced own child (PTRACE_TRACEME)')"
        expect_eq "debuggers: attaching, even to its own child, needs --allow-ptrace" \
            "ptrace(ATTACH) own child: EPERM" "$(x9_line "$A" debugger 'ptrace(ATTACH) own child')"
    fi
    kill "$X9_SESSION" 2>/dev/null
    wait "$X9_SESSION" 2>/dev/null
else
    fail "exec session: palisade did not come up: $(cat "$WORK/x9-a.log")"
    kill "$X9_BG" 2>/dev/null
    wait "$X9_BG" 2>/dev/null
fi

# 1b. Without Landlock (refused here as by an old Docker's seccomp
# profile): palisade says so, the filter still refuses attaching, and, as
# docs/security.md says, /proc/PID/mem of a plain session stays writable.
if SANDBOX_WRAP="$PROBE inject no-landlock --" x9_palisade "$WORK/x9-n.log"; then
    x9_exec "$WORK/x9-n.session" 1000 /bin/probe idle
    if x9_attack "$WORK/x9-n.session"; then
        N=$WORK/x9-n.log
        expect_match "no Landlock: palisade warns, and says what is left open" \
            'warning: no Landlock here \(the container.s seccomp profile refuses it.*/proc/PID/mem' \
            "$(cat "$N")"
        expect_eq "no Landlock: the filter still refuses ptrace attach" \
            "ptrace(ATTACH): EPERM" "$(x9_line "$N" ptrace 'ptrace(ATTACH)')"
        expect_eq "no Landlock: /proc/PID/mem of a plain session stays writable (documented)" \
            "open /proc/PID/mem for writing: ok" "$(x9_line "$N" mem 'open /proc/PID/mem for writing')"
    fi
    kill "$X9_SESSION" 2>/dev/null
    wait "$X9_SESSION" 2>/dev/null
else
    fail "no Landlock: palisade did not come up: $(cat "$WORK/x9-n.log")"
    kill "$X9_BG" 2>/dev/null
    wait "$X9_BG" 2>/dev/null
fi

# 2. The same session started through palisade exec, attacked by an agent
# that may attach (--allow-ptrace): the code it injects runs, under the
# agent's own filter.
if x9_palisade "$WORK/x9-b.log" --allow-ptrace; then
    x9_exec "$WORK/x9-b.session" 1000 /sbin/palisade exec -- /bin/probe idle
    if x9_attack "$WORK/x9-b.session"; then
        B=$WORK/x9-b.log
        expect_eq "palisade exec session, --allow-ptrace: the agent attaches" \
            "ptrace(ATTACH): ok" "$(x9_line "$B" ptrace 'ptrace(ATTACH)')"
        expect_eq "palisade exec session: injected socket(AF_VSOCK) is refused by the filter" \
            "injected socket(AF_VSOCK): EPERM" "$(x9_line "$B" ptrace 'injected socket(AF_VSOCK)')"
        expect_eq "palisade exec session: injected unshare(CLONE_NEWUSER) is refused" \
            "injected unshare(CLONE_NEWUSER): EPERM" "$(x9_line "$B" ptrace 'injected unshare(CLONE_NEWUSER)')"
        expect_eq "palisade exec session: injected io_uring_setup is refused by the filter" \
            "injected io_uring_setup: EPERM" "$(x9_line "$B" ptrace 'injected io_uring_setup')"
        expect_eq "palisade exec session: code written through /proc/PID/mem runs" \
            "write /proc/PID/mem: ok" "$(x9_line "$B" mem 'write /proc/PID/mem')"
        wait "$X9_SESSION"
        expect_eq "palisade exec session: ... and its socket(AF_VSOCK) fails with EPERM (status 255)" 255 "$?"
        expect_eq "--allow-ptrace: the agent attaches to its own child" \
            "ptrace(ATTACH) own child: ok" "$(x9_line "$B" debugger 'ptrace(ATTACH) own child')"
    fi
    kill "$X9_SESSION" 2>/dev/null
    wait "$X9_SESSION" 2>/dev/null
else
    fail "palisade exec: palisade did not come up: $(cat "$WORK/x9-b.log")"
    kill "$X9_BG" 2>/dev/null
    wait "$X9_BG" 2>/dev/null
fi

# 3. What palisade exec gives a session, as root (docker exec without -u)
# and as uid 1000, and that it fails closed.
rm -f "$R/tmp/x9-done"
cat > "$R/work/x9-attack.sh" <<'SH'
while [ ! -e /tmp/x9-done ]; do sleep 0.05; done
SH
x9_run() { # x9_run USER CMD...: a session in the foreground; sets X9_OUT, X9_RC
    local user=$1
    shift
    local ids=()
    [ -n "$user" ] && ids=(-S "$user" -G "$user")
    X9_OUT=$(nsenter -t "$X9_PID1" -p -m -n -r -w "${ids[@]}" "$@" 2>&1 </dev/null)
    X9_RC=$?
}
if x9_palisade "$WORK/x9-c.log"; then
    x9_run "" /sbin/palisade exec -- probe status
    expect_eq "palisade exec as root: the command runs" 0 "$X9_RC"
    expect_match "palisade exec as root: it becomes the agent" '^Uid:	1000	1000	1000	1000$' "$X9_OUT"
    expect_match "palisade exec as root: with the agent's groups" '^Groups:	1000 1500 ?$' "$X9_OUT"
    for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        expect_match "palisade exec as root: $set is empty" "^$set:	0000000000000000$" "$X9_OUT"
    done
    expect_match "palisade exec as root: no_new_privs" '^NoNewPrivs:	1$' "$X9_OUT"
    expect_match "palisade exec as root: the filter" '^Seccomp:	2$' "$X9_OUT"
    x9_run "" /sbin/palisade exec -- sh -c 'echo "$HOME $USER"; env | grep -c ^PALISADE_'
    expect_eq "palisade exec as root: the agent's HOME and USER, no PALISADE_ variables" \
        "/home/agent agent
0" "$X9_OUT"
    x9_run 1000 /sbin/palisade exec -- probe status
    expect_eq "palisade exec as uid 1000: the command runs" 0 "$X9_RC"
    expect_match "palisade exec as uid 1000: no_new_privs" '^NoNewPrivs:	1$' "$X9_OUT"
    expect_match "palisade exec as uid 1000: the filter" '^Seccomp:	2$' "$X9_OUT"
    expect_match "palisade exec as uid 1000: no effective capability" '^CapEff:	0000000000000000$' "$X9_OUT"
    expect_no_match "palisade exec as uid 1000: the bounding set stays (no CAP_SETPCAP to drop it)" \
        '^CapBnd:	0000000000000000$' "$X9_OUT"
    x9_run 1000 /sbin/palisade exec -- probe vsock
    expect_eq "palisade exec as uid 1000: socket(AF_VSOCK) is refused" \
        "socket(AF_VSOCK): EPERM" "$(printf '%s\n' "$X9_OUT" | grep '^socket(AF_VSOCK)')"
    x9_run 1000 /sbin/palisade exec -- probe syscalls
    expect_match "palisade exec as uid 1000: unshare is refused" '^unshare: EPERM$' "$X9_OUT"
    expect_match "palisade exec as uid 1000: io_uring is refused" '^io_uring_setup: EPERM$' "$X9_OUT"
    x9_run "" /sbin/palisade exec -- /bin/no-such-command
    expect_eq "palisade exec: a missing command gives 127" 127 "$X9_RC"
    x9_run 1000 /sbin/palisade exec
    expect_eq "palisade exec without a command: 125" 125 "$X9_RC"

    # Fail closed: terms that cannot be trusted or applied run nothing.
    T=$R/run/palisade/agent
    cp "$T" "$WORK/x9-terms"
    printf 'user agent\nseccomp on\nallow no_such_call\n' > "$T"
    x9_run 1000 /sbin/palisade exec -- /bin/touch /tmp/x9-ran
    expect_eq "palisade exec, a filter it cannot build: 125" 125 "$X9_RC"
    expect_match "palisade exec, a filter it cannot build: says why" 'no_such_call' "$X9_OUT"
    check "palisade exec, a filter it cannot build: the command never ran" test ! -e "$R/tmp/x9-ran"
    cp "$WORK/x9-terms" "$T"
    chown 1000 "$T"
    x9_run 1000 /sbin/palisade exec -- /bin/touch /tmp/x9-ran
    expect_eq "palisade exec, terms the agent could have written: 125" 125 "$X9_RC"
    expect_match "palisade exec, terms the agent could have written: says why" 'not a regular file that only root can write' "$X9_OUT"
    check "palisade exec, terms the agent could have written: the command never ran" test ! -e "$R/tmp/x9-ran"
    rm -f "$T"
    x9_run "" /sbin/palisade exec -- /bin/touch /tmp/x9-ran
    expect_eq "palisade exec without PID 1's terms: 125" 125 "$X9_RC"
    expect_match "palisade exec without PID 1's terms: says why" 'palisade is not this container.s PID 1, or its fence is not up yet' "$X9_OUT"
    check "palisade exec without PID 1's terms: the command never ran" test ! -e "$R/tmp/x9-ran"
    cp "$WORK/x9-terms" "$T"
    touch "$R/tmp/x9-done"
    wait "$X9_BG"
else
    fail "palisade exec: palisade did not come up: $(cat "$WORK/x9-c.log")"
    kill "$X9_BG" 2>/dev/null
    wait "$X9_BG" 2>/dev/null
fi
rm -f "$R/tmp/x9-done" "$R/tmp/x9-session" "$R/work/x9-attack.sh"
