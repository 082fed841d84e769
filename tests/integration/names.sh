#!/usr/bin/env bash
# The name check against the real kernel: palisade runs as PID 1 of a
# sandbox joined to the test world (world.sh), whose web host serves two
# names on one address, as a CDN's address does: allowed.test, which the
# allowlist allows, and other.test, which it does not. Real clients (curl,
# openssl s_client, Node, and names-client.py for what they do not send)
# run in the sandbox's network namespace as the agent's uid while palisade
# runs: the fence is the namespace's, so they are fenced as the agent is.
# Each check is what the agent or the user sees: a page, a reset and how
# fast, an exit status, a log line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root
need_commands openssl curl python3 setpriv nsenter

# The agent's uid runs Python too: Debian's (scripts/install-deps.sh), not
# one under root's home, and the client from $WORK, which it can read
# wherever the source tree is.
AGENT_PY=/usr/bin/python3
[ -x "$AGENT_PY" ] || AGENT_PY=$(command -v python3)
cp "$(dirname "$0")/names-client.py" "$WORK/names-client.py"

R=$WORK/root
make_root "$R"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
WORLD_WEB=1 make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS
# What the agent's resolver is, for a client that looks names up: palisade's
# DNS filter.
echo "nameserver 127.0.0.1" > "$WORK/resolv.conf"

# as_agent CMD...: CMD in the sandbox's network namespace as the agent's
# uid and gid, with the agent's resolv.conf (palisade's DNS filter).
as_agent() {
    ip netns exec "$SANDBOX_NS" unshare --mount -- /bin/sh -c \
        'mount --bind "$0" /etc/resolv.conf && exec setpriv --reuid 1000 --regid 1000 --clear-groups -- "$@"' \
        "$WORK/resolv.conf" env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
        -u ALL_PROXY -u all_proxy HOME=/tmp "$@"
}

# ms_since T: milliseconds since $EPOCHREALTIME was T.
ms_since() {
    local now=$EPOCHREALTIME
    echo $(( (10#${now//[.,]/} - 10#${1//[.,]/}) / 1000 ))
}

# fetch CURL_ARGS...: curl as the agent, trusting the world's test CA; sets
# RC, OUT (the page, then "code=HTTP_CODE"), ERR and MS (how long it took).
fetch() {
    local t0=$EPOCHREALTIME
    as_agent curl -q -sS --cacert "$WEB_CA" --max-time "${FETCH_MAX:-5}" \
        -w 'code=%{http_code}\n' "$@" >"$WORK/curl.out" 2>"$WORK/curl.err"
    RC=$?
    MS=$(ms_since "$t0")
    OUT=$(cat "$WORK/curl.out")
    ERR=$(cat "$WORK/curl.err")
}

# hello ADDR PORT ARGS...: names-client.py as the agent (a ClientHello
# shaped as ARGS say, or raw bytes); sets HELLO ("serverhello ms=N ...",
# "reset ms=N ...").
hello() {
    HELLO=$(as_agent "$AGENT_PY" "$WORK/names-client.py" "$@" 2>&1)
}

# expect_page WHAT NAME HOST: the last fetch got the web host's page,
# which says the server name (or "-") and Host it came with, fast.
expect_page() {
    if [ "$RC" -eq 0 ] && [[ $OUT == *"sni=$2 host=$3"* ]] && [[ $OUT == *code=200* ]]; then
        pass "$1: the page (${MS} ms)"
    else
        fail "$1: expected the page for sni=$2 host=$3; curl exit $RC: $OUT $ERR"
    fi
    check "$1: in less than 1 s (${MS} ms)" test "$MS" -lt 1000
}

# expect_reset WHAT: the last fetch was reset, in less than a second.
expect_reset() {
    if { [ "$RC" -eq 35 ] || [ "$RC" -eq 56 ]; } && [[ $ERR == *"reset by peer"* ]]; then
        pass "$1: reset (curl exit $RC)"
    else
        fail "$1: expected a reset (curl exit 35 or 56); curl exit $RC: $OUT $ERR"
    fi
    check "$1: in less than 1 s (${MS} ms)" test "$MS" -lt 1000
}

# start ARGS...: palisade as PID 1 of the sandbox with ARGS, its command a
# long sleep that the checks run beside; its log in $LOG. PID1 is its host
# pid. stop: SIGTERM, which palisade passes on to the sleep; palisade then
# exits with the sleep's status, 143 (a sanitizer build's report at exit
# would change it).
LOG=$WORK/palisade.log
start() {
    RUN="palisade $*"
    in_sandbox "$R" /sbin/palisade -u agent "$@" -- /bin/sleep 600 >"$LOG" 2>&1 </dev/null &
    BG=$!
    if ! PID1=$(sandbox_pid1 "$BG") || ! wait_for_agent "$PID1" sleep; then
        fail "$RUN did not start: $(cat "$LOG")"
        finish
    fi
}
stop() {
    kill -TERM "$PID1" 2>/dev/null
    wait "$BG" 2>/dev/null
    local rc=$?
    if [ "$rc" -eq 143 ]; then
        pass "$RUN: exits with its command's status after SIGTERM (143)"
    else
        fail "$RUN: exits with its command's status after SIGTERM: expected 143, got $rc
$(cat "$LOG")"
    fi
}

# log_lines REGEX: palisade's log lines that match.
log_lines() { grep -E -- "$1" "$LOG"; }
# web_mark: from now on, for web_seen. web_seen REGEX: whether the web
# host logged a line that matches since web_mark (names-server.py says
# what it logs: "first PORT BYTES" for any byte that reached it).
web_mark() { WEB_MARK=$(wc -l < "$WEB_LOG"); }
web_seen() { tail -n +"$((WEB_MARK + 1))" "$WEB_LOG" | grep -Eq -- "$1"; }

ALLOW=(-a allowed.test --allow-private allowed.test)
R443=(--resolve allowed.test:443:10.77.0.10 --resolve other.test:443:10.77.0.10)
R443_6=(--resolve 'allowed.test:443:[fd77::10]' --resolve 'other.test:443:[fd77::10]')

# Control: without palisade, the web host serves both names on one
# address, so a refusal below is the name check's doing.
fetch "${R443[@]}" https://other.test/
expect_page "control: without palisade, other.test at allowed.test's address" other.test other.test
fetch -H 'Host: other.test' http://10.77.0.10/
expect_page "control: without palisade, plain HTTP for other.test" - other.test

# ---- TLS: the server name ----
start "${ALLOW[@]}"
fetch https://allowed.test/
expect_page "an allowed name, looked up through palisade's DNS filter" allowed.test allowed.test
fetch "${R443[@]}" https://allowed.test/
expect_page "an allowed name over IPv4" allowed.test allowed.test
fetch "${R443_6[@]}" https://allowed.test/
expect_page "an allowed name over IPv6" allowed.test allowed.test

web_mark
fetch "${R443[@]}" https://other.test/
expect_reset "another name at the allowed address over IPv4"
check "another name over IPv4: no byte of it reached the server" not web_seen '^first '
wait_for_text "$LOG" "naming other.test" 5
expect_eq "another name over IPv4: one line in palisade's log, with the name, address and why" \
    "palisade: refused tcp to 10.77.0.10 port 443 naming other.test: the name is not allowed" \
    "$(log_lines 'naming other\.test' | grep -F 10.77.0.10)"
web_mark
fetch "${R443_6[@]}" https://other.test/
expect_reset "another name at the allowed address over IPv6"
check "another name over IPv6: no byte of it reached the server" not web_seen '^first '
wait_for_text "$LOG" "fd77::10 port 443 naming other.test" 5
expect_eq "another name over IPv6: one line in palisade's log" \
    "palisade: refused tcp to fd77::10 port 443 naming other.test: the name is not allowed" \
    "$(log_lines 'naming other\.test' | grep -F fd77::10)"

# palisade status, as docker exec runs it: the counts (PID 1 writes them
# at most once a second).
status_now() {
    ST=$(nsenter -t "$PID1" -n -m -p chroot "$R" /sbin/palisade status 2>&1)
    [[ $ST == *"server names checked: 5, refused: 2"* ]]
}
wait_until 10 status_now
expect_match "palisade status counts the connections checked and refused" \
    '^server names checked: 5, refused: 2$' "$(printf '%s\n' "$ST" | grep '^server names')"

# No server name: openssl s_client -noservername.
s_client() {
    as_agent openssl s_client -connect "$1" -CAfile "$WEB_CA" "${@:2}" </dev/null >"$WORK/sc.out" 2>&1
    RC=$?
    OUT=$(cat "$WORK/sc.out")
}
s_client 10.77.0.10:443 -servername allowed.test
expect_match "openssl s_client naming allowed.test: the handshake completes and verifies" \
    'Verify return code: 0 \(ok\)' "$OUT"
web_mark
s_client 10.77.0.10:443 -noservername
if [ "$RC" -ne 0 ] && [[ $OUT == *errno=104* || $OUT == *"reset by peer"* ]]; then
    pass "openssl s_client without a server name: reset"
else
    fail "openssl s_client without a server name: expected a reset; exit $RC: $OUT"
fi
wait_for_text "$LOG" "the ClientHello has no server name" 5
expect_match "no server name: the log says so" \
    '^palisade: refused tcp to 10\.77\.0\.10 port 443: the ClientHello has no server name$' \
    "$(cat "$LOG")"
check "no server name: no byte of it reached the server" not web_seen '^first '

# Not TLS at all on 443.
web_mark
hello fd77::10 443 raw 'SSH-2.0-x\r\n'
expect_match "not TLS on 443 (an SSH greeting): reset" '^reset ' "$HELLO"
wait_for_text "$LOG" "fd77::10 port 443: not a TLS ClientHello" 5
expect_match "not TLS on 443: the log says why" \
    '^palisade: refused tcp to fd77::10 port 443: not a TLS ClientHello' "$(cat "$LOG")"
check "not TLS on 443: no byte of it reached the server" not web_seen '^first '

# QUIC: UDP 443 to a name's address is refused, so that clients use TCP.
web_mark
QUIC=$(as_agent "$PROBE" udp 10.77.0.10 443)
expect_match "QUIC (UDP 443) to a name's address: refused at once" '^(refused|denied|unreachable) ' "$QUIC"
check "QUIC over IPv4: in less than 1 s ($QUIC)" test "$(sed -n 's/.*ms=\([0-9]*\).*/\1/p' <<< "$QUIC")" -lt 1000
QUIC=$(as_agent "$PROBE" udp fd77::10 443)
expect_match "QUIC over IPv6: refused at once" '^(refused|denied|unreachable) ' "$QUIC"
check "QUIC: nothing reached the server" not web_seen '^udp 443'
stop

# ---- plain HTTP: the Host header ----
start "${ALLOW[@]}"
fetch -H 'Host: allowed.test' http://10.77.0.10/
expect_page "HTTP, Host allowed.test over IPv4" - allowed.test
fetch -H 'Host: allowed.test' 'http://[fd77::10]/'
expect_page "HTTP, Host allowed.test over IPv6" - allowed.test
web_mark
fetch -H 'Host: other.test' http://10.77.0.10/
expect_reset "HTTP, Host other.test over IPv4"
check "HTTP, Host other.test: no byte of it reached the server" not web_seen '^first '
wait_for_text "$LOG" "port 80 naming other.test" 5
expect_eq "HTTP, Host other.test: one line in palisade's log" \
    "palisade: refused tcp to 10.77.0.10 port 80 naming other.test: the name is not allowed" \
    "$(log_lines 'naming other\.test')"
fetch -H 'Host: other.test' 'http://[fd77::10]/'
expect_reset "HTTP, Host other.test over IPv6"

# A ClientHello in three TCP segments, 20 ms apart (TCP_NODELAY): read
# whole. (Longer pauses run into the sender's retransmission timers: see
# "The name check" in docs/security.md.)
hello 10.77.0.10 443 hello allowed.test --parts 3 --gap 0.02
expect_match "a ClientHello for allowed.test in 3 segments: the server answers" \
    '^serverhello .*parts=3$' "$HELLO"
web_mark
hello 10.77.0.10 443 hello other.test --parts 3 --gap 0.02
expect_match "a ClientHello for other.test in 3 segments: reset" '^reset .*parts=3$' "$HELLO"
check "a ClientHello for other.test in 3 segments: no byte of it reached the server" \
    not web_seen '^first '
hello fd77::10 443 hello allowed.test --parts 2 --gap 0.02
expect_match "a ClientHello for allowed.test in 2 segments over IPv6: the server answers" \
    '^serverhello .*parts=2$' "$HELLO"

# The same ports again: an allowed connection closed with a reset, then a
# new one from the same source port naming another host, at once. The
# kernel has no decision for the new connection: it is read, and reset.
hello 10.77.0.10 443 hello allowed.test --sport 41555 --reset
expect_match "the same source port: first, allowed.test: the server answers" \
    '^serverhello ' "$HELLO"
web_mark
hello 10.77.0.10 443 hello other.test --sport 41555
expect_match "the same source port again, naming other.test: reset" '^reset ' "$HELLO"
check "the same source port again, naming other.test: no byte of it reached the server" \
    not web_seen '^first '
hello 10.77.0.10 443 hello allowed.test --sport 41556 --reset
hello 10.77.0.10 443 hello allowed.test --sport 41556
expect_match "the same source port again, naming allowed.test again: the server answers" \
    '^serverhello ' "$HELLO"

# An encrypted ClientHello (ECH) is judged by its outer name.
web_mark
hello 10.77.0.10 443 hello other.test --ech
expect_match "ECH, outer name other.test: reset" '^reset ' "$HELLO"
check "ECH, outer name other.test: no byte of it reached the server" not web_seen '^first '
before=$(wc -l < "$LOG")
web_mark
hello 10.77.0.10 443 hello allowed.test --ech
expect_match "ECH, outer name allowed.test: the server answers" '^(serverhello|alert) ' "$HELLO"
check "ECH, outer name allowed.test: the ClientHello reached the server" \
    web_seen '^hello 443 sni=allowed\.test'
expect_no_match "ECH, outer name allowed.test: palisade refused nothing naming it" \
    'naming allowed\.test' "$(tail -n +"$((before + 1))" "$LOG")"

# Node's TLS client.
if command -v node >/dev/null; then
    node_tls() {
        as_agent node -e '
            const tls = require("tls"), fs = require("fs");
            const s = tls.connect({ host: "10.77.0.10", port: 443, servername: process.argv[1],
                                    ca: fs.readFileSync(process.argv[2]) },
                                  () => { console.log("secure " + s.authorized); s.end(); });
            s.on("error", (e) => console.log("error " + e.code));
            s.setTimeout(5000, () => { console.log("timeout"); s.destroy(); });' "$1" "$WEB_CA" 2>&1
    }
    expect_eq "node tls.connect, servername allowed.test: a verified connection" \
        "secure true" "$(node_tls allowed.test)"
    expect_eq "node tls.connect, servername other.test: ECONNRESET" \
        "error ECONNRESET" "$(node_tls other.test)"
else
    skip "node tls.connect, servername allowed.test" "no node on this machine"
    skip "node tls.connect, servername other.test" "no node on this machine"
fi
stop

# ---- addresses in the allowlist are not checked ----
start -a 10.77.0.10
QUIC=$(as_agent "$PROBE" udp 10.77.0.10 443)
expect_match "an address entry: QUIC (UDP 443) to it goes through" '^reply ' "$QUIC"
fetch "${R443[@]}" https://other.test/
expect_page "an address entry: a TLS connection naming other.test goes through" other.test other.test
stop

# ---- a NAME:PORT/tls entry's port is checked; a NAME:PORT entry's is not ----
R8443=(--resolve allowed.test:8443:10.77.0.10 --resolve other.test:8443:10.77.0.10)
start -a allowed.test:8443/tls --allow-private allowed.test
fetch "${R8443[@]}" https://allowed.test:8443/
expect_page "allowed.test:8443/tls: allowed.test on 8443" allowed.test allowed.test
fetch "${R8443[@]}" https://other.test:8443/
expect_reset "allowed.test:8443/tls: other.test on 8443"
wait_for_text "$LOG" "port 8443 naming other.test" 5
expect_match "allowed.test:8443/tls: the refusal is logged" \
    '^palisade: refused tcp to 10\.77\.0\.10 port 8443 naming other\.test: the name is not allowed$' \
    "$(cat "$LOG")"
stop
start -a allowed.test:8443 --allow-private allowed.test
fetch "${R8443[@]}" https://other.test:8443/
expect_page "allowed.test:8443 (no /tls): its port is not checked" other.test other.test
stop

# ---- --no-name-check ----
start "${ALLOW[@]}" --no-name-check
fetch "${R443[@]}" https://other.test/
expect_page "--no-name-check: other.test at the allowed address goes through" other.test other.test
stop
expect_no_match "--no-name-check: nothing is refused" 'refused' "$(cat "$LOG")"
run_palisade "$R" --check -u agent "${ALLOW[@]}" --no-name-check
expect_match "--check with --no-name-check: says the check is off" '^name check: off' "$OUT"
run_palisade "$R" --check -u agent "${ALLOW[@]}" -a allowed.test:8443/tls
expect_match "--check: names the ports checked" '^name check: .* to tcp 80,443,8443 of a name' "$OUT"

# ---- audit mode ----
start "${ALLOW[@]}" --audit
fetch "${R443[@]}" https://other.test/
expect_page "--audit: other.test at the allowed address goes through" other.test other.test
wait_for_text "$LOG" "naming other.test" 5
expect_match "--audit: the log says it would be refused" \
    '^palisade: audit: tcp to 10\.77\.0\.10 port 443 naming other\.test would be refused: the name is not allowed$' \
    "$(cat "$LOG")"
stop

# ---- --log-format json ----
start "${ALLOW[@]}" --log-format json
fetch "${R443[@]}" https://other.test/
expect_reset "--log-format json: other.test"
wait_for_text "$LOG" '"name-refused"' 5
expect_eq "--log-format json: the refusal as a JSON line" \
    '{"event":"name-refused","proto":"tcp","dst":"10.77.0.10","port":443,"server_name":"other.test","why":"the name is not allowed"}' \
    "$(log_lines '"name-refused"')"
stop

# ---- fail closed: while PID 1 cannot answer, nothing of a checked
# connection leaves ----
start "${ALLOW[@]}"
fetch "${R443[@]}" https://allowed.test/
expect_page "before PID 1 is stopped: allowed.test" allowed.test allowed.test
kill -STOP "$PID1"
web_mark
FETCH_MAX=2 fetch "${R443[@]}" https://allowed.test/
stopped=$(tail -n +"$((WEB_MARK + 1))" "$WEB_LOG")
kill -CONT "$PID1"
expect_eq "PID 1 stopped: a new connection's ClientHello waits (curl times out: exit 28)" 28 "$RC"
expect_eq "PID 1 stopped: no byte of it reached the server" "" "$(grep '^first ' <<< "$stopped")"
fetch "${R443[@]}" https://allowed.test/
expect_page "PID 1 running again: allowed.test" allowed.test allowed.test
stop

finish
