# PID 1's DNS filter, attacked by the agent: forged upstream answers
# (class 1), its listeners taken over (class 4), data smuggled to the
# upstream inside allowed queries (class 8).
#
# Servers of this part, each a `probe dns-serve` that prints every query as
# it arrived:
#   10.77.0.54       answers at once (what the upstream sees)
#   10.77.0.55       sends junk before each answer, from its own address and
#                    port: short, other ID, other question, QR clear...
#   fd77::56         answers after 300 ms (time for a forger)
#   127.0.0.11:5353      in the sandbox, behind Docker's DNAT of 127.0.0.11:53

dns_veth=$(ip -n "$WORLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)
dns_resolv=$(cat "$R/etc/resolv.conf")

# dns_server NETNS ADDR PORT LOG ARGS...: a probe dns-serve, killed at the end.
dns_server() {
    local ns=$1 addr=$2 port=$3 log=$4
    shift 4
    ip netns exec "$ns" "$PROBE" dns-serve "$addr" "$port" "$@" >"$log" 2>&1 &
    dns_pids="${dns_pids:-} $!"
    on_cleanup "kill $!"
    wait_for_text "$log" serving 5 || echo "dns-serve $addr $port: $(cat "$log")"
}
dns_upstream() { printf 'nameserver %s\n' "$@" > "$R/etc/resolv.conf"; }
dns_result() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }
dns_www_smuggle_test=0377777707736d7567676c65047465737400

for a in 10.77.0.54/24 10.77.0.55/24; do
    ip -n "$WORLD" addr add "$a" dev "$dns_veth"
    on_cleanup "ip -n $WORLD addr del $a dev $dns_veth"
done
for a in fd77::56/64; do
    ip -n "$WORLD" addr add "$a" dev "$dns_veth" nodad
    on_cleanup "ip -n $WORLD addr del $a dev $dns_veth"
done
DNS_PLAIN=$WORK/dns-plain.log DNS_JUNK=$WORK/dns-junk.log DNS_SLOW6=$WORK/dns-slow6.log
DNS_LOCAL=$WORK/dns-local.log
dns_server "$WORLD" 10.77.0.54 53 "$DNS_PLAIN" www.smuggle.test=10.77.0.10 \
    $(for i in $(seq 1 40); do printf 'big.smuggle.test=10.77.2.%s ' "$i"; done)
dns_server "$WORLD" 10.77.0.55 53 "$DNS_JUNK" junk a.junk.test=10.77.0.10
dns_server "$WORLD" fd77::56 53 "$DNS_SLOW6" delay=300 a.spoof.test=fd77::10
dns_server "$SANDBOX_NS" 127.0.0.11 5353 "$DNS_LOCAL" delay=300 a.spoof.test=10.77.0.10

# --- class 4: the agent binds 127.0.0.1:53 and [::1]:53 next to PID 1 ---
cat > "$R/work/steal.sh" <<'SH'
for a in 127.0.0.1 ::1 0.0.0.0 ::; do
    probe steal "$a" 53 3000 > "/work/steal-$a.out" &
done
sleep 0.5
i=0
while [ $i -lt 8 ]; do
    i=$((i+1))
    printf 'udp%s: ' $i; probe dns allowed.test 127.0.0.1 | head -n 1
    printf 'tcp%s: ' $i; probe dns allowed.test 127.0.0.1 tcp | head -n 1
    printf 'udp6-%s: ' $i; probe dns allowed.test ::1 | head -n 1
done
wait
for a in 127.0.0.1 ::1 0.0.0.0 ::; do sed "s/^/steal $a /" "/work/steal-$a.out"; done
SH
dns_upstream 10.77.0.1
run_palisade "$R" -u agent -a allowed.test -- /bin/sh /work/steal.sh
expect_eq "DNS listeners: the agent ran" 0 "$RC"
for a in 127.0.0.1 ::1 0.0.0.0 ::; do
    for how in udp-reuseaddr udp-reuseport udp-both tcp-reuseaddr tcp-reuseport tcp-both; do
        expect_match "DNS listeners: the agent's bind of [$a]:53 (${how/-/, }) fails" \
            'EADDRINUSE' "$(printf '%s\n' "$OUT" | grep "^steal $a ${how/-/ }:")"
    done
    expect_eq "DNS listeners: nothing reaches the agent's sockets on [$a]:53" \
        "steal $a received 0" "$(printf '%s\n' "$OUT" | grep "^steal $a received")"
done
expect_eq "DNS listeners: all 24 queries are answered by PID 1" 24 \
    "$(printf '%s\n' "$OUT" | grep -cE '^(udp|tcp|udp6-)[0-9]+: NOERROR')"

# --- class 8: extra records and EDNS options ride along with a query ---
cat > "$R/work/smuggle.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | tr '\n' ' '; echo; }
p udp dns-smuggle WwW.SmUgGlE.TeSt 127.0.0.1
p tcp dns-smuggle WwW.SmUgGlE.TeSt 127.0.0.1 tcp
p chaos dns www.smuggle.test 127.0.0.1 udp TXT CH
p class9 dns www.smuggle.test 127.0.0.1 tcp A 9
p big dns big.smuggle.test 127.0.0.1
p big-tcp dns big.smuggle.test 127.0.0.1 tcp
SH
dns_upstream 10.77.0.54
run_palisade "$R" -u agent --dns-cache-size 0 -a '*.smuggle.test' -- /bin/sh /work/smuggle.sh
expect_eq "smuggling: the agent ran" 0 "$RC"
for t in udp tcp; do
    r=$(dns_result $t)
    expect_match "smuggling ($t): the query is answered" '^NOERROR .*A 10\.77\.0\.10 ' "$r"
    expect_match "smuggling ($t): the answer carries the agent's ID" 'id as sent' "$r"
    expect_match "smuggling ($t): the answer carries the agent's question, case and all" \
        'question as sent' "$r"
    # The name lowercased, RD, one question, palisade's OPT (1232, no options).
    expect_match "smuggling ($t): the upstream gets the query rebuilt" \
        "^query $t [0-9a-f]{4}01000001000000000001${dns_www_smuggle_test}0001000100002904d0000000000000\$" \
        "$(grep "^query $t " "$DNS_PLAIN")"
done
expect_match "smuggling: a query of class CH gets NOTIMP" '^NOTIMP' "$(dns_result chaos)"
expect_match "smuggling: a query of class 9 gets NOTIMP" '^NOTIMP' "$(dns_result class9)"
expect_eq "smuggling: only class IN reaches the upstream" "" \
    "$(grep '^query' "$DNS_PLAIN" | grep -Ev '0001$|000100002904d0000000000000$')"
# An answer (40 records, 666 bytes) longer than the agent's UDP size (512
# without EDNS) is cut short with TC; the agent asks again over TCP.
expect_match "a UDP answer too long for the agent comes back truncated" '^NOERROR TC ms' \
    "$(dns_result big)"
expect_eq "over TCP it comes whole" 40 "$(dns_result big-tcp | grep -o 'A 10\.77\.2\.' | wc -l)"
expect_no_match "smuggling: no record or option of the agent reaches the upstream" \
    '534d5547474c4544' "$(cat "$DNS_PLAIN")"
expect_no_match "smuggling: the upstream never sees the agent's spelling of the name" \
    '0357775707536d5567476c450454655374' "$(cat "$DNS_PLAIN")"

# --- class 1: answers that are not the answer, from the upstream's own
# address and port, come before the real one ---
cat > "$R/work/junk.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | tr '\n' ' '; echo; }
p udp dns a.junk.test 127.0.0.1
p tcp dns a.junk.test 127.0.0.1 tcp
p forged tcp 10.77.0.20 80
p real tcp 10.77.0.10 80
SH
dns_upstream 10.77.0.55
run_palisade "$R" -u agent --dns-cache-size 0 -a '*.junk.test' --allow-private '*.junk.test' -- /bin/sh /work/junk.sh
expect_eq "junk answers: the agent ran" 0 "$RC"
expect_match "junk answers (udp): dropped, the real answer arrives" \
    '^NOERROR ms=[0-9]+ A 10\.77\.0\.10 ttl=60 $' "$(dns_result udp)"
expect_match "junk answers (tcp): dropped, the real answer arrives" \
    '^NOERROR ms=[0-9]+ A 10\.77\.0\.10 ttl=60 $' "$(dns_result tcp)"
expect_match "junk answers: the address they name is refused" '^refused' "$(dns_result forged)"
expect_match "junk answers: the real answer's address is reached" '^open' "$(dns_result real)"
expect_no_match "junk answers: no query failed" 'failed' "$ERR"
expect_match "junk answers: PID 1 says it dropped them" \
    'dropped a reply for a\.junk\.test that does not answer .*: a broken or forged answer' "$ERR"

# Every try has a socket of its own: none is left behind, whether the
# upstream refuses (the first one here has nothing on port 53: ICMP, or a
# reset over TCP), answers after junk, or the agent goes away.
cat > "$R/work/fds.sh" <<'SH'
echo ready > /work/fds-phase
i=0; while [ ! -e /work/fds-go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
printf 'first: '; probe dns a.junk.test 127.0.0.1 | head -n 1
printf 'first-tcp: '; probe dns a.junk.test 127.0.0.1 tcp | head -n 1
i=0
while [ $i -lt 40 ]; do
    i=$((i+1))
    probe dns a.junk.test 127.0.0.1 >/dev/null &
    probe dns a.junk.test 127.0.0.1 tcp >/dev/null &
    probe dns a.junk.test 127.0.0.1 udp AAAA >/dev/null &
done
wait
echo done > /work/fds-phase
exec sleep 30
SH
rm -f "$R/work/fds-phase" "$R/work/fds-go"
printf 'nameserver 10.77.0.10\nnameserver 10.77.0.55\n' > "$R/etc/resolv.conf"
in_sandbox "$R" /sbin/palisade -u agent -a '*.junk.test' --allow-private '*.junk.test' -- /bin/sh /work/fds.sh \
    >"$WORK/fds.out" 2>"$WORK/fds.err" </dev/null &
dns_bg=$!
dns_fds() { ls "/proc/$1/fd" | wc -l; }
if wait_for_text "$R/work/fds-phase" ready 10 && dns_pid1=$(sandbox_pid1 "$dns_bg"); then
    before=$(dns_fds "$dns_pid1")
    touch "$R/work/fds-go"
    wait_for_text "$R/work/fds-phase" done 20
    sleep 0.3
    expect_eq "descriptors: PID 1 holds as many after 120 queries as before" \
        "$before" "$(dns_fds "$dns_pid1")"
    kill -TERM "$dns_pid1"
else
    fail "descriptors: the sandbox did not start: $(cat "$WORK/fds.err")"
fi
wait "$dns_bg"
OUT=$(cat "$WORK/fds.out")
expect_match "an upstream that refuses (ICMP) is left at once for the next" \
    '^NOERROR ms=[0-9]{1,3}$' "$(dns_result first)"
expect_match "an upstream that resets a TCP query is left for the next" '^NOERROR' \
    "$(dns_result first-tcp)"

# --- class 1: the agent forges the upstream's answers. It takes the
# upstream's address and port 53 (with IPV6_FREEBIND for a remote one; the
# kernel does not send IPv4 from an address that is not local without
# IP_TRANSPARENT), reads PID 1's ports from /proc/net/udp*, and sprays
# answers naming a blocked address under every ID while its queries wait
# 300 ms for the real answer ---
cat > "$R/work/spoof.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@" | head -n 1; }
p spoof dns-spoof a.spoof.test "$1" "$2" 3000
p after dns a.spoof.test 127.0.0.1 udp "$3"
p connect tcp "$1" "$4"
SH
dns_spoof() { # LABEL UPSTREAM FAKE TYPE PORT
    local label=$1 up=$2 fake=$3
    run_palisade "$R" -u agent -a '*.spoof.test' --allow-private '*.spoof.test' -- /bin/sh /work/spoof.sh "$fake" "$up" "$4" "$5"
    expect_eq "forged answers ($label): the agent ran" 0 "$RC"
    expect_match "forged answers ($label): the forger found PID 1's sockets and sprayed them" \
        '^(not-)?poisoned .* tried=[1-9][0-9]* forged=[0-9]+ ports=[1-9]' "$(dns_result spoof)"
    expect_match "forged answers ($label): no answer of the filter names $fake" \
        '^not-poisoned' "$(dns_result spoof)"
    # None reaches PID 1's sockets at all: one that did, with a wrong ID,
    # would be logged as a dropped reply. They match the reply direction of
    # PID 1's own queries, so only the source check, before replies are
    # accepted, stops them.
    expect_no_match "forged answers ($label): none reaches PID 1's sockets" \
        'dropped a reply' "$ERR"
    expect_match "forged answers ($label): the name still resolves" '^NOERROR' "$(dns_result after)"
    expect_match "forged answers ($label): $fake is refused" '^refused' "$(dns_result connect)"
}
dns_upstream fd77::56
dns_spoof "IPv6 upstream, IPV6_FREEBIND" fd77::56 fd77::30 AAAA 443

# Docker's resolver: 127.0.0.11:53, which the nat table sends to the
# resolver's real port.
sandbox_dnat udp 127.0.0.11 53 127.0.0.11:5353
sandbox_dnat tcp 127.0.0.11 53 127.0.0.11:5353
on_cleanup sandbox_dnat_clear
dns_upstream 127.0.0.11
dns_spoof "Docker's 127.0.0.11" 127.0.0.11 10.77.0.20 A 80
sandbox_dnat_clear

# As the part found them: the resolver, the servers.
printf '%s\n' "$dns_resolv" > "$R/etc/resolv.conf"
for p in $dns_pids; do kill "$p" 2>/dev/null; done
unset -f dns_server dns_upstream dns_result dns_spoof dns_fds
unset dns_www_smuggle_test
