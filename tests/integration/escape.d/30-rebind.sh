# Class 3: DNS rebinding into the host's neighbourhood. Whoever controls the
# DNS of an allowed name (or of any name under an allowed *.suffix) answers
# with an address next to the container: the cloud metadata service
# (169.254.169.254), another link-local service (169.254.170.2, ECS
# credentials), the container's gateway, fe80::1, the subnet's broadcast
# address, loopback, an IPv4-mapped IPv6 address, or a private address. The
# agent then connects to it. None of these may be added to the fence for a
# name, at start or through the DNS filter, and each refusal is logged by
# name; a private address is added only for a name the user opted in.
#
# The attacker's resolver is a dnsmasq of this part's own in the world
# (10.77.0.54), named by the sandbox's resolv.conf; the world gets the
# extra hosts and listeners it needs, and loses them at the end.

RB_VW=$(ip -n "$WORLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)
RB_VS=$(ip -n "$SANDBOX_NS" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)
RB_W="ip -n $WORLD"
$RB_W addr add 10.77.0.54/24 dev "$RB_VW"
$RB_W addr add 169.254.170.2/32 dev "$RB_VW"
$RB_W addr add fe80::1/64 dev "$RB_VW" nodad
on_cleanup "$RB_W addr del 10.77.0.54/24 dev $RB_VW"
on_cleanup "$RB_W addr del 169.254.170.2/32 dev $RB_VW"
on_cleanup "$RB_W addr del fe80::1/64 dev $RB_VW"

# Listeners: 169.254.170.2 and fe80::1 on port 80 (169.254.169.254:80 and
# 10.77.0.1:80 are world.sh's), and one that records every datagram sent to
# the subnet's broadcast address on UDP 443 (a default port).
ip netns exec "$WORLD" "$PROBE" serve 169.254.170.2 80 "fe80::1%$RB_VW" 80 \
    >"$WORK/rb-serve.log" 2>&1 &
on_cleanup "kill $!"
ip netns exec "$WORLD" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.255", 443))
print("listening", flush=True)
while True:
    d, a = s.recvfrom(2048)
    print("from %s: %r" % (a[0], d), flush=True)
' >"$WORK/rb-bcast.log" 2>&1 &
on_cleanup "kill $!"

RB_HOSTS=$WORK/rb-hosts
cat > "$RB_HOSTS" <<'H'
169.254.169.254 meta.test meta.rebind.test
169.254.170.2 ecs.test ecs.rebind.test
10.77.0.1 gw.test gw.rebind.test
fe80::1 ll6.test ll6.rebind.test
10.77.0.255 bcast.test bcast.rebind.test
::ffff:169.254.169.254 mapped.test mapped.rebind.test
127.0.0.2 lo.test lo.rebind.test
10.77.0.10 priv.test
10.77.0.11 priv.rebind.test
H
ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --user=root --group=root --bind-interfaces --listen-address=10.77.0.54 \
    --addn-hosts="$RB_HOSTS" --local=/test/ --log-queries \
    --log-facility="$WORK/rb-dns.log" --pid-file="$WORK/rb-dns.pid" 2>"$WORK/rb-dns.err" &
on_cleanup "kill $!"
rb_up=no
for _ in $(seq 1 100); do
    if ip netns exec "$SANDBOX_NS" "$PROBE" dns meta.test 10.77.0.54 >/dev/null 2>&1 &&
       grep -q serving "$WORK/rb-serve.log" && grep -q listening "$WORK/rb-bcast.log"; then
        rb_up=yes
        break
    fi
    sleep 0.05
done
expect_eq "rebind: the attacker's resolver and listeners are up ($(cat "$WORK/rb-serve.log" "$WORK/rb-dns.err" 2>/dev/null | head -c 300))" yes "$rb_up"

cp "$R/etc/resolv.conf" "$WORK/rb-resolv.saved"
echo "nameserver 10.77.0.54" > "$R/etc/resolv.conf"

# What the agent tries: each address, on a port the fence would allow for
# an allowed name. RB_RESOLVE=yes asks palisade's DNS filter for every name
# first (A or AAAA), the way a program about to connect does.
cat > "$R/work/rebind.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
if [ "\${RB_RESOLVE:-}" = yes ]; then
    for n in \$RB_NAMES; do
        t=
        case \$n in ll6.*|mapped.*) t="udp AAAA" ;; esac
        printf 'dns-%s: ' "\$n"; probe dns "\$n" 127.0.0.1 \$t | tr '\n' ' '; echo
    done
fi
p meta tcp 169.254.169.254 80
p ecs tcp 169.254.170.2 80
p gw tcp 10.77.0.1 80
p ll6 tcp fe80::1%$RB_VS 80
p bcast udp 10.77.0.255 443 300
p priv tcp 10.77.0.10 443
p priv-wild tcp 10.77.0.11 443
SH
chmod 0755 "$R/work/rebind.sh"

rb_result() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }
# rb_in_set palisade4|palisade6 ADDR: ADDR is in that family's sets for
# the default ports.
rb_in_set() { fence_has_member "${1#palisade}" default "$2"; }
rb_bcast_count() { grep -c '^from ' "$WORK/rb-bcast.log"; }

# Control: with no fence every one of them answers, so each refusal below is
# palisade's doing.
fence_reset
before=$(rb_bcast_count)
OUT=$(in_sandbox "$R" /bin/sh /work/rebind.sh 2>&1)
expect_match "rebind control: 169.254.169.254 answers without the fence" '^open' "$(rb_result meta)"
expect_match "rebind control: 169.254.170.2 answers without the fence" '^open' "$(rb_result ecs)"
expect_match "rebind control: the gateway answers without the fence" '^open' "$(rb_result gw)"
expect_match "rebind control: fe80::1 answers without the fence" '^open' "$(rb_result ll6)"
check "rebind control: a datagram to the subnet's broadcast address arrives without the fence" \
    test "$(rb_bcast_count)" -gt "$before"

# rb_refused LABEL WHAT ADDR NAME REASON SET: the agent's connection to ADDR
# failed, ADDR is not in SET, and palisade said why, naming NAME.
rb_refused() {
    local label=$1 what=$2 addr=$3 name=$4 reason=$5 set=$6
    if [ "$label" != - ]; then
        expect_match "$what: the agent's connection is refused" '^(refused|denied|unreachable|timeout)' \
            "$(rb_result "$label")"
    fi
    if rb_in_set "$set" "$addr"; then fail "$what: $addr is not in $set"; else
        pass "$what: $addr is not in $set"; fi
    local re
    re="refused $(printf '%s' "$addr" | sed 's/[.]/\\./g') for $(printf '%s' "$name" | sed 's/[.]/\\./g'): .*$reason"
    expect_match "$what: palisade logs the refusal by name" "$re" "$ERR"
}

# 1. At start: the allowed names are resolved and their answers put in the
# sets before the agent runs.
RB_EXACT="meta.test ecs.test gw.test ll6.test bcast.test mapped.test lo.test priv.test"
args=()
for n in $RB_EXACT; do args+=(-a "$n"); done
before=$(rb_bcast_count)
run_palisade "$R" -u agent "${args[@]}" -- /bin/sh /work/rebind.sh
expect_eq "rebind at start: the agent ran" 0 "$RC"
rb_refused meta "rebind at start: 169.254.169.254 (cloud metadata)" 169.254.169.254 meta.test \
    'link-local' palisade4
rb_refused ecs "rebind at start: 169.254.170.2 (ECS credentials)" 169.254.170.2 ecs.test \
    'link-local' palisade4
rb_refused gw "rebind at start: the container's gateway" 10.77.0.1 gw.test 'gateway' palisade4
rb_refused ll6 "rebind at start: fe80::1" fe80::1 ll6.test 'link-local' palisade6
rb_refused - "rebind at start: the subnet's broadcast address" 10.77.0.255 bcast.test \
    'broadcast' palisade4
expect_eq "rebind at start: nothing arrived at the broadcast listener" "$before" "$(rb_bcast_count)"
rb_refused - "rebind at start: an IPv4-mapped address" ::ffff:169.254.169.254 mapped.test \
    'IPv4-mapped' palisade6
rb_refused - "rebind at start: a loopback address" 127.0.0.2 lo.test 'loopback' palisade4
rb_refused priv "rebind at start: a private address without --allow-private" 10.77.0.10 \
    priv.test 'private' palisade4
expect_match "rebind at start: the log says how to opt a name in" \
    'refused 10\.77\.0\.10 for priv\.test: .*--allow-private priv\.test' "$ERR"

# 2. A private address for a name the user opted in is reached; the opt-in
# opens nothing else.
run_palisade "$R" -u agent "${args[@]}" --allow-private priv.test -- /bin/sh /work/rebind.sh
expect_eq "--allow-private: the agent ran (stderr: $(printf '%s' "$ERR" | head -c 300))" 0 "$RC"
expect_match "--allow-private priv.test: its private address is reached" '^open' "$(rb_result priv)"
rb_refused meta "--allow-private priv.test: 169.254.169.254 still" 169.254.169.254 meta.test \
    'link-local' palisade4
rb_refused gw "--allow-private priv.test: the gateway still" 10.77.0.1 gw.test 'gateway' palisade4
# The same opt-in from an allowlist file.
printf 'priv.test\nprivate priv.test\n' > "$R/etc/palisade/rebind.allow"
chmod 0644 "$R/etc/palisade/rebind.allow"
run_palisade "$R" -u agent -f /etc/palisade/rebind.allow -- /bin/sh /work/rebind.sh
expect_match "a \"private NAME\" line in an allowlist file: the address is reached (stderr: $(printf '%s' "$ERR" | head -c 300))" \
    '^open' "$(rb_result priv)"
rm -f "$R/etc/palisade/rebind.allow"

# 3. Through the DNS filter: the agent asks palisade for each name (exact
# names again, and names under an allowed wildcard that only the filter
# sees), then connects.
RB_WILD="meta.rebind.test ecs.rebind.test gw.rebind.test ll6.rebind.test bcast.rebind.test mapped.rebind.test lo.rebind.test priv.rebind.test"
before=$(rb_bcast_count)
RB_RESOLVE=yes RB_NAMES="$RB_EXACT $RB_WILD" \
    run_palisade "$R" -u agent "${args[@]}" -a '*.rebind.test' -- /bin/sh /work/rebind.sh
expect_eq "rebind through the DNS filter: the agent ran" 0 "$RC"
expect_match "rebind through the DNS filter: the agent got the attacker's answer" \
    '^NOERROR .*A 169\.254\.169\.254' "$(rb_result dns-meta.rebind.test)"
rb_refused meta "rebind through the DNS filter: 169.254.169.254" 169.254.169.254 \
    meta.rebind.test 'link-local' palisade4
rb_refused ecs "rebind through the DNS filter: 169.254.170.2" 169.254.170.2 ecs.rebind.test \
    'link-local' palisade4
rb_refused gw "rebind through the DNS filter: the gateway" 10.77.0.1 gw.rebind.test 'gateway' \
    palisade4
rb_refused ll6 "rebind through the DNS filter: fe80::1" fe80::1 ll6.rebind.test 'link-local' \
    palisade6
rb_refused - "rebind through the DNS filter: the broadcast address" 10.77.0.255 \
    bcast.rebind.test 'broadcast' palisade4
expect_eq "rebind through the DNS filter: nothing arrived at the broadcast listener" "$before" \
    "$(rb_bcast_count)"
rb_refused - "rebind through the DNS filter: an IPv4-mapped address" ::ffff:169.254.169.254 \
    mapped.rebind.test 'IPv4-mapped' palisade6
rb_refused - "rebind through the DNS filter: loopback" 127.0.0.2 lo.rebind.test 'loopback' palisade4
rb_refused priv-wild "rebind through the DNS filter: a private address" 10.77.0.11 \
    priv.rebind.test 'private' palisade4
rb_refused priv "rebind through the DNS filter: an exact name's private address" 10.77.0.10 \
    priv.test 'private' palisade4

# 4. Audit mode lets everything through, but its report does not make the
# neighbourhood an entry: a private answer becomes the opt-in, the metadata
# address a comment.
rm -f "$R/etc/palisade/rb-audit.allow"
RB_RESOLVE=yes RB_NAMES="meta.rebind.test priv.rebind.test" \
    run_palisade "$R" -u agent -a '*.rebind.test' --audit \
    --audit-report /etc/palisade/rb-audit.allow -- /bin/sh /work/rebind.sh
RB_REPORT=$(cat "$R/etc/palisade/rb-audit.allow" 2>/dev/null)
expect_match "audit: the metadata answer is logged as what would be refused" \
    'audit: refused 169\.254\.169\.254 for meta\.rebind\.test: a link-local address' "$ERR"
expect_match "audit report: a private answer is reported as its opt-in" \
    '^private priv\.rebind\.test$' "$RB_REPORT"
expect_match "audit report: the metadata address is said in a comment" \
    '^# refused 169\.254\.169\.254 for meta\.rebind\.test: ' "$RB_REPORT"
expect_no_match "audit report: the metadata address is no entry" \
    '(^|[[:space:]])169\.254\.169\.254(:[0-9*]+)?($|[[:space:]])' \
    "$(printf '%s\n' "$RB_REPORT" | grep -v '^#')"
rm -f "$R/etc/palisade/rb-audit.allow"

# 5. A wildcard opted in explicitly: its private answers are reached, the
# neighbourhood still is not.
RB_RESOLVE=yes RB_NAMES="$RB_WILD" \
    run_palisade "$R" -u agent -a '*.rebind.test' --allow-private '*.rebind.test' \
    -- /bin/sh /work/rebind.sh
expect_eq "--allow-private '*.rebind.test': the agent ran (stderr: $(printf '%s' "$ERR" | head -c 300))" 0 "$RC"
expect_match "--allow-private '*.rebind.test': a private answer is reached" '^open' \
    "$(rb_result priv-wild)"
rb_refused meta "--allow-private '*.rebind.test': 169.254.169.254 still" 169.254.169.254 \
    meta.rebind.test 'link-local' palisade4
rb_refused gw "--allow-private '*.rebind.test': the gateway still" 10.77.0.1 gw.rebind.test \
    'gateway' palisade4
rb_refused ll6 "--allow-private '*.rebind.test': fe80::1 still" fe80::1 ll6.rebind.test \
    'link-local' palisade6

cp "$WORK/rb-resolv.saved" "$R/etc/resolv.conf"
