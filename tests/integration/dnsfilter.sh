#!/usr/bin/env bash
# The DNS filter against the real kernel: palisade as PID 1 of a sandbox
# answers the agent's DNS on 127.0.0.1, forwards allowed names to a resolver
# in the world namespace (a second dnsmasq whose answers the test changes
# and whose query log it reads), and adds their answers to the fence.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root

R=$WORK/root
make_root "$R"
make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS

# A resolver whose answers change: rotating.test starts at 10.77.0.10 and
# moves to 10.77.0.11 (never allowed otherwise), with a TTL of 1 s.
ip -n "$WORLD" addr add 10.77.0.53/24 dev "$(ip -n "$WORLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)"
HOSTS=$WORK/hosts
cat > "$HOSTS" <<'H'
10.77.0.10 rotating.test
10.77.0.30 a.wild.test
10.77.0.30 deep.a.wild.test
10.77.0.30 wild.test
10.77.0.30 notwild.test
10.77.0.20 blocked.test
H
UP_LOG=$WORK/upstream.log
ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --user=root --group=root --bind-interfaces --listen-address=10.77.0.53 \
    --addn-hosts="$HOSTS" --local-ttl=1 --local=/test/ --log-queries \
    --log-facility="$UP_LOG" --pid-file="$WORK/up.pid" 2>"$WORK/up.err" &
UP_PID=$!
on_cleanup "kill $UP_PID"
for _ in $(seq 1 100); do
    ip netns exec "$SANDBOX_NS" "$PROBE" dns rotating.test 10.77.0.53 >/dev/null 2>&1 && break
    sleep 0.05
done
echo "nameserver 10.77.0.53" > "$R/etc/resolv.conf"
# The world's hosts have private addresses: the test names are opted in.
PRIV=(--allow-private rotating.test --allow-private '*.wild.test')

result() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }

# 1. An address that changes between two lookups stays reachable.
cat > "$R/work/rotate.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | head -n 1; }
addr() { probe dns rotating.test 127.0.0.1 | sed -n 's/^A \([0-9.]*\) .*/\1/p' | head -n 1; }
a1=$(addr); echo "first: $a1"
p first-tcp tcp "$a1" 80
p neighbour-before tcp 10.77.0.11 80
echo phase1 > /work/phase
i=0; while [ ! -e /work/go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
a2=$(addr); echo "second: $a2"
p second-tcp tcp "$a2" 80
p first-again tcp "$a1" 80
SH
chmod 0755 "$R/work/rotate.sh"
rm -f "$R/work/phase" "$R/work/go"
in_sandbox "$R" /sbin/palisade -u agent -a rotating.test --allow-private rotating.test -- /bin/sh /work/rotate.sh \
    >"$WORK/out" 2>"$WORK/err" </dev/null &
BG=$!
if wait_for_text "$R/work/phase" phase1 10; then
    sed -i 's/^10.77.0.10 rotating.test/10.77.0.11 rotating.test/' "$HOSTS"
    kill -HUP "$UP_PID"
    # The point of the check: the first answer's TTL (1 s) runs out, and
    # only the clock can tell when it has.
    sleep 1.5
    touch "$R/work/go"
fi
wait "$BG"
RC=$?
OUT=$(cat "$WORK/out")
ERR=$(cat "$WORK/err")
expect_eq "rotating: the agent ran" 0 "$RC"
expect_eq "rotating: the first answer" 10.77.0.10 "$(result first)"
expect_match "rotating: the first address is reached" '^open' "$(result first-tcp)"
expect_match "rotating: the next address is refused before DNS names it" '^refused' "$(result neighbour-before)"
expect_eq "rotating: the second answer is the new address" 10.77.0.11 "$(result second)"
expect_match "rotating: the new address is reached at once" '^open' "$(result second-tcp)"
expect_match "rotating: the old address still is (start-time entries stay)" '^open' "$(result first-again)"
expect_match "the summary says the DNS filter is on" 'DNS filter on 127\.0\.0\.1' "$ERR"

# 2. Wildcards, other names, direct DNS, tunnelling, the refusal log.
sed -i 's/^10.77.0.11 rotating.test/10.77.0.10 rotating.test/' "$HOSTS"
kill -HUP "$UP_PID"
TUNNEL=$(head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat > "$R/work/agent.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
p wild-sub dns a.wild.test 127.0.0.1
p wild-deep dns deep.a.wild.test 127.0.0.1
p wild-apex dns wild.test 127.0.0.1
p wild-sibling dns notwild.test 127.0.0.1
p other dns blocked.test 127.0.0.1
p other-txt dns blocked.test 127.0.0.1 udp TXT
p wild-sub-tcp tcp 10.77.0.30 443
p direct-upstream dns rotating.test 10.77.0.53
p direct-upstream-tcp dns rotating.test 10.77.0.53 tcp
p direct-other dns rotating.test 10.77.0.20
p direct-other6 dns rotating.test fd77::30
p tunnel1 dns ${TUNNEL}.blocked.test 127.0.0.1
p tunnel2 dns ${TUNNEL}x.blocked.test 127.0.0.1 tcp
p tunnel3 dns ${TUNNEL}.data.example 127.0.0.1 udp TXT
p named dns rotating.test 127.0.0.1
p named-8080 tcp 10.77.0.10 8080
SH
run_palisade "$R" -u agent -a '*.wild.test' -a rotating.test "${PRIV[@]}" -- /bin/sh /work/agent.sh
expect_eq "the agent ran" 0 "$RC"
expect_match "*.wild.test allows a subdomain" '^NOERROR' "$(result wild-sub)"
expect_match "*.wild.test allows a deeper subdomain" '^NOERROR' "$(result wild-deep)"
expect_match "*.wild.test does not allow wild.test itself" '^NXDOMAIN' "$(result wild-apex)"
expect_match "*.wild.test does not allow notwild.test" '^NXDOMAIN' "$(result wild-sibling)"
expect_match "a subdomain's answer is reachable" '^open' "$(result wild-sub-tcp)"
expect_match "another name gets NXDOMAIN" '^NXDOMAIN' "$(result other)"
expect_match "another name gets NXDOMAIN for any type" '^NXDOMAIN' "$(result other-txt)"
expect_match "a direct query to the upstream is refused (UDP)" '^(refused|denied)' "$(result direct-upstream)"
expect_match "a direct query to the upstream is refused (TCP)" '^(refused|denied)' "$(result direct-upstream-tcp)"
expect_match "a direct query to another host's port 53 is refused" '^(refused|denied)' "$(result direct-other)"
expect_match "a direct query to another host's port 53 over IPv6 is refused" '^(refused|denied)' "$(result direct-other6)"
expect_match "tunnelling: a long random label under a blocked name gets NXDOMAIN" '^NXDOMAIN' "$(result tunnel1)"
expect_match "tunnelling over TCP gets NXDOMAIN" '^NXDOMAIN' "$(result tunnel2)"
expect_no_match "tunnelling: no query of it reached the upstream resolver" "$TUNNEL" "$(cat "$UP_LOG")"
check "the upstream resolver did see the allowed names" grep -q 'query\[A\] a.wild.test' "$UP_LOG"
expect_match "a refused query is logged by name" 'refused DNS query for blocked\.test \(A\): not in the allowlist' "$ERR"
expect_match "a refused connection is logged with its address and name" \
    'refused tcp to 10\.77\.0\.10 port 8080 \(rotating\.test\) from uid 1000: not in the allowlist' "$ERR"
expect_match "a direct DNS query is logged as such" \
    'refused udp to 10\.77\.0\.53 port 53 from uid 1000: DNS goes only through palisade' "$ERR"

# A retry loop against a refused address is one log line, not a hundred;
# DNS over TLS (853) is refused even to an address allowed on every port.
run_palisade "$R" -u agent -a 10.77.0.20:* -- /bin/sh -c '
    i=0; while [ $i -lt 100 ]; do probe tcp 10.77.0.30 80 >/dev/null; i=$((i+1)); done
    echo "all-ports: $(probe tcp 10.77.0.20 80)"
    echo "dot: $(probe tcp 10.77.0.20 853)"'
expect_eq "a retry loop of 100 refused connections is logged once" 1 \
    "$(printf '%s\n' "$ERR" | grep -c 'refused tcp to 10\.77\.0\.30 port 80')"
expect_match "an address allowed on every port is reached" '^open' "$(result all-ports)"
expect_match "DNS over TLS (853) to it is refused" '^refused' "$(result dot)"
expect_match "DNS over TLS is logged as DNS" 'refused tcp to 10\.77\.0\.20 port 853 from uid 1000: DNS goes only through palisade' "$ERR"

# An upstream that does not answer: SERVFAIL, and a line that says so.
cp "$R/etc/resolv.conf" "$WORK/resolv.conf.saved"
echo "nameserver 10.77.0.99" > "$R/etc/resolv.conf"
run_palisade "$R" -u agent -a rotating.test --allow-private rotating.test --resolve-timeout 0.5 -- /bin/sh -c \
    'echo "dead: $(probe dns rotating.test 127.0.0.1 | head -n 1)"'
cp "$WORK/resolv.conf.saved" "$R/etc/resolv.conf"
expect_match "an upstream that does not answer gives SERVFAIL" '^SERVFAIL ms=[0-9]+' "$(result dead)"
expect_match "and palisade says why" 'DNS query for rotating\.test failed: the upstream resolvers did not answer' "$ERR"

# Without the opt-in, a wildcard's private answer passes back to the agent
# but stays out of the fence, and palisade says so by name.
run_palisade "$R" -u agent -a '*.wild.test' -- /bin/sh -c \
    'echo "dns: $(probe dns a.wild.test 127.0.0.1 | head -n 1)"; echo "tcp: $(probe tcp 10.77.0.30 443)"'
expect_match "without --allow-private: the name still resolves" '^NOERROR' "$(result dns)"
expect_match "without --allow-private: its private address is refused" '^refused' "$(result tcp)"
expect_match "without --allow-private: the answer's refusal is logged by name" \
    'refused 10\.77\.0\.30 for a\.wild\.test: a private address \(10\.0\.0\.0/8\); allowed for a name only with --allow-private a\.wild\.test' "$ERR"
expect_match "without --allow-private: the connection's refusal names it too" \
    'refused tcp to 10\.77\.0\.30 port 443 \(a\.wild\.test\) from uid 1000' "$ERR"
# An opt-in for one name under the wildcard is for that name alone.
run_palisade "$R" -u agent -a '*.wild.test' --allow-private a.wild.test -- /bin/sh -c \
    'probe dns deep.a.wild.test 127.0.0.1 >/dev/null; echo "deep: $(probe tcp 10.77.0.30 443)"
     probe dns a.wild.test 127.0.0.1 >/dev/null; echo "a: $(probe tcp 10.77.0.30 443)"'
expect_match "--allow-private a.wild.test: deep.a.wild.test's private answer is still refused" '^refused' "$(result deep)"
expect_match "--allow-private a.wild.test: a.wild.test's is reached" '^open' "$(result a)"

# 3. JSON lines.
run_palisade "$R" -u agent -a rotating.test --allow-private rotating.test --log-format json -- /bin/sh -c \
    'probe dns rotating.test 127.0.0.1 >/dev/null; probe dns blocked.test 127.0.0.1 >/dev/null; probe tcp 10.77.0.10 8080 >/dev/null'
expect_match "--log-format json: a refused query" '^\{"event":"dns-refused","name":"blocked\.test","type":"A"\}$' "$ERR"
expect_match "--log-format json: a refused connection" \
    '^\{"event":"refused","proto":"tcp","dst":"10\.77\.0\.10","port":8080,"name":"rotating\.test","uid":1000\}$' "$ERR"
run_palisade "$R" -u agent -a '*.wild.test' --log-format json -- /bin/sh -c \
    'probe dns a.wild.test 127.0.0.1 >/dev/null'
expect_match "--log-format json: a refused answer" \
    '^\{"event":"answer-refused","name":"a\.wild\.test","addr":"10\.77\.0\.30","why":"a private address \(10\.0\.0\.0/8\)","verdict":"private"\}$' "$ERR"

# 4. palisade status, next to a running PID 1, matches the kernel's sets.
in_sandbox "$R" /sbin/palisade -q -u agent -a rotating.test -a '*.wild.test' -a 10.77.1.0/24 "${PRIV[@]}" \
    -- /bin/sh -c 'probe dns a.wild.test 127.0.0.1 >/dev/null; probe dns blocked.test 127.0.0.1 >/dev/null; echo looked-up; exec sleep 30' \
    >"$WORK/bg.log" 2>&1 </dev/null &
BG=$!
wait_for_text "$WORK/bg.log" looked-up 10
PID1=$(sandbox_pid1 "$BG")
# As docker exec runs it: in the container's namespaces and root.
status_now() {
    ST=$(nsenter -t "$PID1" -n -m -p chroot "$R" /sbin/palisade status 2>"$WORK/status.err")
    ST_RC=$?
    [ "$ST_RC" -eq 0 ] && [[ $ST == *"DNS queries: 1 allowed, 1 refused"* ]]
}
# PID 1 writes what status reads at most once a second: until it has
# counted both queries.
wait_until 10 status_now
expect_eq "palisade status exits 0 (stderr: $(head -c 600 "$WORK/status.err"))" 0 "$ST_RC"
expect_match "status: the allowed names" 'allowed names: rotating\.test \*\.wild\.test' "$ST"
expect_match "status: the query counts" 'DNS queries: 1 allowed, 1 refused, 0 failed' "$ST"
expect_match "status: a start-time address is permanent" '10\.77\.0\.10 +permanent' "$ST"
expect_match "status: a CIDR is permanent" '10\.77\.1\.0/24 +permanent' "$ST"
expect_match "status: an address from DNS has its time left" '10\.77\.0\.30 +[0-9]+ s left' "$ST"
kernel=$(fence_members 4 default)
# The IPv4 members of the sets for the default ports, as status lists them.
shown=$(printf '%s\n' "$ST" | awk '/^[^ ].*\(default ports\): [0-9]+$/ { on = 1; next }
                                  /^[^ ]/ { on = 0 } on && /^  / { print $1 }' | grep -v : | sort)
expect_eq "status lists exactly the kernel's IPv4 members for the default ports" "$kernel" "$shown"
# Where status read the sets: the backend PID 1 installed, as its status
# file says.
case $PALISADE_BACKEND in
legacy)
    expect_match "status: the fence backend" '^fence backend: legacy$' "$ST" ;;
nft)
    expect_match "status: the fence backend" '^fence backend: nft$' "$ST"
    # The member lines under the header of nft set $1.
    status_set() {
        printf '%s\n' "$ST" | awk -v h="ip palisade $1 (" \
            'index($0, h) == 1 { on = 1; next } /^[^ ]/ { on = 0 } on { print }'
    }
    for set in default_host default_net; do
        kernel=$(ip netns exec "$SANDBOX_NS" nft list set ip palisade "$set" | nft_members |
                 sed -E 's/ (timeout|expires) .*//')
        shown=$(status_set "$set" | awk '{ print $1 }' | sort)
        expect_eq "status lists exactly the kernel's $set members" "$kernel" "$shown"
    done
    expect_match "status: the DNS filter's member of default_host, with its time left" \
        '^  10\.77\.0\.30 +[0-9]+ s left$' "$(status_set default_host)"
    expect_match "status: a CIDR of default_net, permanent" \
        '^  10\.77\.1\.0/24 +permanent$' "$(status_set default_net)"
    ;;
*)
    skip "status: the fence backend" "PALISADE_BACKEND=$PALISADE_BACKEND: which one auto takes depends on the kernel" ;;
esac
# TCP: three queries on one connection at once, then the client closes its
# side: each is answered, in order, and then the connection is closed.
TCPQ=$(nsenter -t "$PID1" -n python3 "$(dirname "$0")/dns-tcp-client.py" 127.0.0.1 \
       a.wild.test blocked.test rotating.test 2>&1)
expect_eq "TCP: pipelined queries answered in order, then closed" "1:0 2:3 3:0 closed" "$TCPQ"
kill -TERM "$PID1" 2>/dev/null # palisade forwards it to sleep, and exits
wait "$BG" 2>/dev/null

# The cache: an allowed answer is served again without asking upstream,
# with its TTL lowered, for the same question only (not another type), and
# not once its TTL has run out. A second upstream whose answers live 2 s
# and whose query log counts what reached it.
ip -n "$WORLD" addr add 10.77.0.54/24 dev "$(ip -n "$WORLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)"
CACHE_LOG=$WORK/cache-upstream.log
printf '10.77.0.30 c.cache.test\n' > "$WORK/cache-hosts"
ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --user=root --group=root --bind-interfaces --listen-address=10.77.0.54 \
    --addn-hosts="$WORK/cache-hosts" --local-ttl=2 --local=/test/ --log-queries \
    --log-facility="$CACHE_LOG" --pid-file="$WORK/cache-up.pid" 2>"$WORK/cache-up.err" &
on_cleanup "kill $!"
for _ in $(seq 1 100); do
    ip netns exec "$SANDBOX_NS" "$PROBE" dns c.cache.test 10.77.0.54 >/dev/null 2>&1 && break
    sleep 0.05
done
cp "$R/etc/resolv.conf" "$WORK/resolv.conf.saved"
echo "nameserver 10.77.0.54" > "$R/etc/resolv.conf"
cat > "$R/work/cache.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | tr '\n' ' '; echo; }
p first dns c.cache.test 127.0.0.1
# Time in the cache, so that the TTL is lowered (by whole seconds, rounded
# up: an answer served in the millisecond it was stored keeps its TTL).
sleep 0.1
p again dns C.Cache.TEST 127.0.0.1
p again-tcp dns c.cache.test 127.0.0.1 tcp
p aaaa dns c.cache.test 127.0.0.1 udp AAAA
p reach tcp 10.77.0.30 80
sleep 2.2
p expired dns c.cache.test 127.0.0.1
sleep 1
cat /run/palisade/status
SH
# Queries of type $1 that reached the upstream since the last mark.
queries() { echo $(( $(grep -ac "query\[$1\] c\.cache\.test" "$CACHE_LOG") - ${MARK[$1]:-0} )); }
mark() { MARK=([A]=0 [AAAA]=0); MARK=([A]=$(queries A) [AAAA]=$(queries AAAA)); }
declare -A MARK
mark
run_palisade "$R" -u agent -a c.cache.test --allow-private c.cache.test -- /bin/sh /work/cache.sh
expect_eq "cache: the agent ran" 0 "$RC"
expect_match "cache: the first answer comes from upstream" '^NOERROR .*A 10\.77\.0\.30 ttl=2 $' "$(result first)"
expect_match "cache: the same question again, spelled otherwise, is answered with its TTL lowered" \
    '^NOERROR .*A 10\.77\.0\.30 ttl=1 $' "$(result again)"
expect_match "cache: over TCP too" '^NOERROR .*A 10\.77\.0\.30 ttl=1 $' "$(result again-tcp)"
expect_match "cache: another type of the name is asked upstream" '^NOERROR' "$(result aaaa)"
expect_match "cache: the cached answer's address is reachable" '^open' "$(result reach)"
expect_match "cache: once the TTL ran out, the answer comes from upstream again" \
    '^NOERROR .*A 10\.77\.0\.30 ttl=2 $' "$(result expired)"
# Four A queries of the agent; palisade's own at start may add one.
check "cache: the upstream saw the A query only twice, or three times (first, expired, and at start)" \
    test "$(queries A)" -ge 2 -a "$(queries A)" -le 3
check "cache: the upstream saw the AAAA query" test "$(queries AAAA)" -ge 1
expect_match "cache: the status file counts the hits" '^cache-hits 2$' "$OUT"
mark
run_palisade "$R" -u agent -a c.cache.test --allow-private c.cache.test --dns-cache-size 0 -- \
    /bin/sh -c 'for i in 1 2 3; do probe dns c.cache.test 127.0.0.1 >/dev/null; done'
check "cache: --dns-cache-size 0 asks upstream every time" test "$(queries A)" -ge 3
cp "$WORK/resolv.conf.saved" "$R/etc/resolv.conf"

# The status file: a stale one from an earlier run of the container is
# never shown, since PID 1 writes its own before the agent starts.
mkdir -p "$R/run/palisade"
printf 'names stale.test\nqueries-allowed 99\n' > "$R/run/palisade/status"
run_palisade "$R" -q -u agent -a rotating.test -- cat /run/palisade/status
expect_match "status: PID 1's own, from the start" '^names rotating\.test$' "$OUT"
expect_no_match "status: a stale one from an earlier run is never shown" 'stale\.test' "$OUT"
# A /run/palisade that the agent owns (as an image may ship it): the agent
# plants a FIFO where PID 1 writes the status, and a forged status. PID 1
# writes nothing there (else it would block on the FIFO, and with it the
# DNS filter), and palisade status believes nothing there.
rm -rf "$R/run/palisade"
mkdir -p "$R/run/palisade"
chown 1000:1000 "$R/run/palisade"
cat > "$R/work/forge.sh" <<'SH'
busybox mkfifo -m 0666 /run/palisade/status.new
echo 'names forged.test' > /run/palisade/status
probe dns rotating.test 127.0.0.1 >/dev/null
sleep 1.5
echo "after: $(probe dns rotating.test 127.0.0.1 | head -n 1)"
echo forged
exec sleep 30
SH
in_sandbox "$R" /sbin/palisade -u agent -a rotating.test -- /bin/sh /work/forge.sh \
    >"$WORK/forge.log" 2>&1 </dev/null &
BG=$!
PID1=$(sandbox_pid1 "$BG")
if wait_for_text "$WORK/forge.log" forged 10; then
    expect_match "agent-owned /run/palisade: the DNS filter still answers" '^after: NOERROR' \
        "$(grep '^after:' "$WORK/forge.log")"
    expect_match "agent-owned /run/palisade: PID 1 says it does not use it" \
        '/run/palisade is not a root-owned directory that only root can write \(uid 1000' \
        "$(cat "$WORK/forge.log")"
    ST=$(nsenter -t "$PID1" -n -m -p chroot "$R" /sbin/palisade status 2>&1)
    expect_eq "agent-owned /run/palisade: palisade status fails" 1 "$?"
    expect_no_match "agent-owned /run/palisade: palisade status shows nothing forged" 'forged' "$ST"
    expect_match "agent-owned /run/palisade: palisade status says why" \
        '^palisade: status: /run/palisade is not a root-owned directory' "$ST"
else
    fail "agent-owned /run/palisade: the agent did not get through: $(cat "$WORK/forge.log")"
fi
kill -TERM "$PID1" 2>/dev/null
for _ in $(seq 1 40); do kill -0 "$PID1" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$PID1" 2>/dev/null; then
    fail "agent-owned /run/palisade: PID 1 no longer handles SIGTERM (blocked on the FIFO)"
    cat "$R/run/palisade/status.new" >/dev/null 2>&1 &
    kill -KILL "$PID1" 2>/dev/null
fi
wait "$BG" 2>/dev/null
rm -rf "$R/run/palisade"

# 5. Audit mode: nothing refused, and the report lets the same run through
# with the fence on.
cat > "$R/work/audit.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | head -n 1; }
b=$(probe dns blocked.test 127.0.0.1 | sed -n 's/^A \([0-9.]*\) .*/\1/p' | head -n 1)
echo "blocked-answer: $b"
p blocked-tcp80 tcp "$b" 80
p port-tcp8443 tcp 10.77.0.30 8443
p addr-tcp443 tcp 10.77.1.5 443
p allowed-tcp443 tcp 10.77.0.10 443
SH
chmod 0755 "$R/work/audit.sh"
rm -f "$R/etc/palisade/audit.allow"
run_palisade "$R" -u agent -a rotating.test --allow-private rotating.test --audit --audit-report /etc/palisade/audit.allow \
    -- /bin/sh /work/audit.sh
expect_eq "audit: the agent ran" 0 "$RC"
expect_eq "audit: a name the allowlist refuses resolves" 10.77.0.20 "$(result blocked-answer)"
expect_match "audit: its address is reached" '^open' "$(result blocked-tcp80)"
expect_match "audit: a port not allowed is reached" '^open' "$(result port-tcp8443)"
expect_match "audit: an address not allowed is reached" '^open' "$(result addr-tcp443)"
expect_match "audit: the summary says so" 'AUDIT MODE: nothing is refused' "$ERR"
expect_match "audit: what would be refused is logged" 'audit: tcp to 10\.77\.0\.20 port 80 \(blocked\.test\) from uid 1000 would be refused' "$ERR"
REPORT=$(cat "$R/etc/palisade/audit.allow" 2>/dev/null)
expect_match "audit report: the name" '^blocked\.test$' "$REPORT"
expect_match "audit report: the port" '^10\.77\.0\.30:8443$' "$REPORT"
expect_match "audit report: the address" '^10\.77\.1\.5$' "$REPORT"
expect_match "audit report: the entries already allowed" '^rotating\.test$' "$REPORT"
expect_match "audit report: the names already opted in to private addresses" '^private rotating\.test$' "$REPORT"
expect_match "audit report: the name's private answer, opted in" '^private blocked\.test$' "$REPORT"
run_palisade "$R" -u agent -f /etc/palisade/audit.allow -- /bin/sh /work/audit.sh
expect_eq "the report as the allowlist: the agent ran" 0 "$RC"
expect_match "the report as the allowlist: the name is reached" '^open' "$(result blocked-tcp80)"
expect_match "the report as the allowlist: the port is reached" '^open' "$(result port-tcp8443)"
expect_match "the report as the allowlist: the address is reached" '^open' "$(result addr-tcp443)"
expect_no_match "the report as the allowlist: nothing was refused" 'refused' "$ERR"
run_palisade "$R" -u agent -a rotating.test --allow-private rotating.test -- /bin/sh /work/audit.sh
expect_eq "control: without the report the name does not resolve" "" "$(result blocked-answer)"
expect_match "control: without the report the address is refused" '^refused' "$(result addr-tcp443)"

# The report's file when writing or closing it fails (a full disk, an
# NFS server gone): the failure is named, with its cause. The failures are
# injected on the report's descriptor, found in a first run.
in_sandbox "$R" /sbin/palisade -q -u agent --audit --audit-report /tmp/report -- sleep 2 \
    >/dev/null 2>&1 </dev/null &
BG=$!
PID1=$(sandbox_pid1 "$BG")
rfd=
for i in $(seq 1 40); do
    rfd=$(for f in /proc/"$PID1"/fd/*; do
        [ "$(readlink "$f")" = "$R/tmp/report" ] && basename "$f"; done)
    [ -n "$rfd" ] && break
    sleep 0.05
done
wait "$BG"
if [ -n "$rfd" ]; then
    # An injected close failure leaves the descriptor open (a real close
    # frees it whatever it returns): a file that PID 1 opens and closes
    # before the report (a /proc/sys value) then keeps the number, and the
    # report gets the next one. Both numbers fail to close.
    SANDBOX_WRAP="$PROBE inject close-eio:$rfd close-eio:$((rfd + 1)) --" run_palisade "$R" -u agent --audit \
        --audit-report /tmp/report -- /bin/true
    expect_eq "audit report, close fails: the agent's status" 0 "$RC"
    expect_match "audit report, close fails: palisade names the failure and its cause" \
        '^palisade: --audit-report /tmp/report: closing the audit report: Input/output error$' "$ERR"
    SANDBOX_WRAP="$PROBE inject write-enospc:$rfd --" run_palisade "$R" -u agent --audit \
        --audit-report /tmp/report -- /bin/true
    expect_match "audit report, a write fails: palisade names the failure and its cause" \
        '^palisade: --audit-report /tmp/report: writing the audit report: No space left on device$' "$ERR"
else
    fail "the audit report's descriptor was not found in PID 1"
fi

finish
