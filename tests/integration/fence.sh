#!/usr/bin/env bash
# The egress fence against the real kernel: palisade runs as PID 1 of a
# sandbox whose network namespace is joined to a small world (world.sh).
# Each check is what the agent sees: a connection made or refused, and how
# fast.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root

R=$WORK/root
make_root "$R"
ln -sf busybox "$R/bin/nslookup"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS

# What the agent tries; one line each: "label: result ms=N".
cat > "$R/work/agent.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@"; }
p allowed-tcp80 tcp 10.77.0.10 80
p allowed-tcp443 tcp 10.77.0.10 443
p allowed-udp443 udp 10.77.0.10 443
p allowed-tcp8080 tcp 10.77.0.10 8080
p allowed-tcp22 tcp 10.77.0.10 22
p allowed6-tcp443 tcp fd77::10 443
p allowed6-udp443 udp fd77::10 443
p v6only-tcp443 tcp fd77::20 443
p blocked-tcp80 tcp 10.77.0.20 80
p blocked-udp443 udp 10.77.0.20 443
p blocked6-tcp443 tcp fd77::30 443
p neighbour-tcp80 tcp 10.77.0.11 80
p gateway-tcp80 tcp 10.77.0.1 80
p metadata-tcp80 tcp 169.254.169.254 80
p cidr-tcp443 tcp 10.77.1.5 443
p port-tcp8443 tcp 10.77.0.30 8443
p port-udp8443 udp 10.77.0.30 8443
p port-tcp443 tcp 10.77.0.30 443
p dns-other-udp udp 10.77.0.20 53
p dns-other-tcp tcp 10.77.0.20 53
p dns-other6-udp udp fd77::30 53
p dns-resolver-udp dns allowed.test 10.77.0.1
p dns-resolver-tcp dns allowed.test 10.77.0.1 tcp
p dns-filter-udp dns allowed.test 127.0.0.1
p dns-filter-tcp dns allowed.test 127.0.0.1 tcp
p dns-filter-v6 dns allowed.test ::1 udp AAAA
p dns-filter-other dns blocked.test 127.0.0.1
echo "resolv-conf: $(grep -m 1 '^nameserver' /etc/resolv.conf)"
p nat-tcp80 tcp 10.77.0.99 80
SH
chmod 0755 "$R/work/agent.sh"

result() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }
expect_open() { expect_match "$2" '^(open|reply|NOERROR)' "$(result "$1")"; }
expect_refused_fast() {
    local r
    r=$(result "$1")
    expect_match "$2" '^(refused|denied|unreachable)' "$r"
    local ms
    ms=$(printf '%s' "$r" | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
    check "$2: refused in ${ms:-?} ms" test "${ms:-9999}" -lt 500
}

# Docker keeps its DNS redirection in the nat table; palisade must not touch it.
sandbox_dnat tcp 10.77.0.99 80 10.77.0.10:80

# Control: without palisade every destination answers, so a refusal below
# is the fence's doing.
in_sandbox "$R" /bin/sh /work/agent.sh >"$WORK/control" 2>&1
OUT=$(cat "$WORK/control")
expect_open blocked-tcp80 "control: blocked.test answers without the fence"
expect_open dns-other-udp "control: another host's port 53 answers without the fence"
expect_open metadata-tcp80 "control: the metadata address answers without the fence"

# The world's hosts have private addresses (10.77.0.0/24, fd77::/64): a name
# brings them into the fence only when opted in.
ALLOW=(-a allowed.test -a shared.test -a v6only.test -a port.test:8443 -a 10.77.1.0/24
       -a allowed.test -a nope.test --allow-private allowed.test --allow-private shared.test
       --allow-private v6only.test --allow-private port.test)
run_palisade "$R" -u agent "${ALLOW[@]}" -- /bin/sh /work/agent.sh
expect_eq "the agent ran and exited 0" 0 "$RC"
expect_open allowed-tcp80 "an allowed name: TCP 80"
expect_open allowed-tcp443 "an allowed name: TCP 443"
# QUIC carries its server name encrypted: the name check refuses it to a
# name's address, so that clients use TCP (tests/integration/names.sh).
expect_refused_fast allowed-udp443 "an allowed name: UDP 443 (QUIC) is refused by the name check"
expect_refused_fast allowed-tcp8080 "an allowed name: TCP 8080 is not a default port"
expect_refused_fast allowed-tcp22 "an allowed name: TCP 22 is not a default port"
expect_open allowed6-tcp443 "an allowed name over IPv6: TCP 443"
expect_refused_fast allowed6-udp443 "an allowed name over IPv6: UDP 443 (QUIC) is refused"
expect_open v6only-tcp443 "an IPv6-only name: TCP 443"
expect_refused_fast blocked-tcp80 "another name's address"
expect_refused_fast blocked-udp443 "another name's address over UDP"
expect_refused_fast blocked6-tcp443 "another name's IPv6 address"
expect_refused_fast neighbour-tcp80 "a second address in an allowed host's subnet"
expect_refused_fast gateway-tcp80 "the gateway"
expect_refused_fast metadata-tcp80 "169.254.169.254 (cloud metadata)"
expect_open cidr-tcp443 "an address inside an allowed CIDR"
expect_open port-tcp8443 "a port-qualified entry: its port over TCP"
expect_open port-udp8443 "a port-qualified entry: its port over UDP"
expect_refused_fast port-tcp443 "a port-qualified entry: no other port"
expect_refused_fast dns-other-udp "UDP 53 to a host that is not the resolver"
expect_refused_fast dns-other-tcp "TCP 53 to a host that is not the resolver"
expect_refused_fast dns-other6-udp "UDP 53 over IPv6 to a host that is not the resolver"
expect_refused_fast dns-resolver-udp "DNS over UDP straight to the container's resolver"
expect_refused_fast dns-resolver-tcp "DNS over TCP straight to the container's resolver"
expect_match "DNS over UDP through palisade's filter" '^NOERROR' "$(result dns-filter-udp)"
expect_match "DNS over TCP through palisade's filter" '^NOERROR' "$(result dns-filter-tcp)"
expect_match "DNS over IPv6 through palisade's filter" '^NOERROR' "$(result dns-filter-v6)"
expect_match "a name not in the allowlist gets NXDOMAIN" '^NXDOMAIN' "$(result dns-filter-other)"
expect_eq "resolv.conf points at palisade" "nameserver 127.0.0.1" "$(result resolv-conf)"
expect_open nat-tcp80 "the pre-existing nat rule still redirects"
expect_match "the summary counts names, addresses and CIDRs per family" \
    'fenced: IPv4: 3 names, 2 addresses, 1 CIDR; IPv6: 2 names, 2 addresses, 0 CIDRs; did not resolve: nope.test' "$ERR"
expect_match "an unresolved name is reported by name" 'warning: nope\.test did not resolve' "$ERR"
check "the nat rule is still in the nat table" eval \
    'sandbox_nat | grep -Eq -- "-A OUTPUT -d 10.77.0.99/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.77.0.10:80|ip daddr 10.77.0.99 tcp dport 80 dnat to 10.77.0.10:80"'

# The rules as fence_rules shows them, and as --check prints them; for
# nft without the sets' members (compared apart, in any order).
# nft lists the x_tables NFQUEUE target, which stands in for its own queue
# expression on a kernel without nft_queue, as "queue num N".
rules_now() {
    if [ "$FENCE_BACKEND" = nft ]; then
        fence_rules "$1" | nft_without_elements | sed -E 's/ queue num ([0-9]+)$/ queue to \1/'
    else fence_rules "$1"; fi
}
check_table() { # check_table 4|6: --check's nft table of that family
    printf '%s\n' "$OUT" | sed -n "/^table $(nft_family "$1") palisade {\$/,/^}\$/p"
}
check_rules() { # check_rules 4|6: --check's rules ($OUT) of that family
    if [ "$FENCE_BACKEND" = nft ]; then
        check_table "$1" | nft_as_listed
    else
        printf '%s\n' "$OUT" | sed -n "/^# ip$([ "$1" = 6 ] && echo 6)tables\$/,/^COMMIT\$/p" | sed 1d
    fi
}
check_members() { # check_members FAMILY KIND: --check's members ($OUT), as fence_members
    if [ "$FENCE_BACKEND" = nft ]; then
        check_table "$1" | nft_kind_members "$2"
    else
        printf '%s\n' "$OUT" | sed -n "/^ipset $(legacy_set_name "$1" "$2") (/,/^[^ ]/p" |
            sed -n 's/^  //p' | sort
    fi
}
KINDS="4 default
4 port
4 all
6 default
6 port
6 all"
sets_now() {
    local f k
    while read -r f k; do echo "$f $k: $(fence_members "$f" "$k" | tr '\n' ' ')"; done <<< "$KINDS"
}
first4=$(rules_now 4)
first6=$(rules_now 6)
sets1=$(sets_now)
expect_match "the IPv4 policy is DROP" "$FENCE_OUTPUT_DROP" "$first4"
expect_match "the IPv6 policy is DROP" "$FENCE_OUTPUT_DROP" "$first6"
check "the sets hold the allowed addresses" eval \
    'fence_has_member 4 default 10.77.0.10 && fence_has_member 6 default fd77::10 &&
     fence_has_member 4 port 10.77.0.30,tcp:8443 && fence_has_member 4 default 10.77.1.200'
check "the sets hold no other address" eval \
    'not fence_has_member 4 default 10.77.0.20 && not fence_has_member 6 default fd77::30 &&
     not fence_has_member 4 port 10.77.0.30,tcp:443 && not fence_has_member 4 all 10.77.0.10'

# --check prints exactly what was installed.
run_palisade "$R" --check -u agent "${ALLOW[@]}"
expect_eq "--check exits 0" 0 "$RC"
expect_eq "--check's IPv4 rules are the installed ones" "$first4" "$(check_rules 4)"
expect_eq "--check's IPv6 rules are the installed ones" "$first6" "$(check_rules 6)"
expect_match "--check shows resolved names" 'allowed\.test +10\.77\.0\.10 fd77::10' "$OUT"
expect_match "--check shows names that did not resolve" 'nope\.test +did not resolve' "$OUT"
for fk in "4 default" "6 default" "4 port"; do
    expect_eq "--check's $fk set is the installed one" "$(check_members $fk)" "$(fence_members $fk)"
done

# A second start in the same namespace: the same ruleset, no error, and no
# moment with the fence open (a flood to a blocked address gets no reply).
ip netns exec "$SANDBOX_NS" "$PROBE" flood 10.77.0.20 443 3000 >"$WORK/flood" 2>&1 &
FLOOD=$!
# Sending: the flood's socket is the sandbox's only UDP socket.
wait_until 5 eval 'ip netns exec "$SANDBOX_NS" ss -Huan | grep -q .'
run_palisade "$R" -u agent "${ALLOW[@]}" -- true
expect_eq "a second start succeeds" 0 "$RC"
wait "$FLOOD"
expect_match "no reply from a blocked address while palisade restarted" '^sent [1-9][0-9]* replies 0$' "$(cat "$WORK/flood")"
expect_eq "a second start gives the same IPv4 ruleset" "$first4" "$(rules_now 4)"
expect_eq "a second start gives the same IPv6 ruleset" "$first6" "$(rules_now 6)"
expect_eq "a second start gives the same sets" "$sets1" "$(sets_now)"
if [ "$FENCE_BACKEND" = nft ]; then
    expect_eq "a second start leaves one table per family" "table ip palisade
table ip6 palisade" "$(fence_ns nft list tables | grep ' palisade$' | sort)"
else
    expect_no_match "no temporary set is left" 'palisade.*\.new' "$(fence_sets)"
fi

# A connection made before the fence (a docker exec session that raced
# palisade's start) is cut when the fence goes up, and palisade says it is
# ready only then. The fence is opened in both backends' tables, and
# conntrack kept tracking meanwhile (as Docker's nat rules for 127.0.0.11
# keep it in a container): the connection is ESTABLISHED when palisade
# starts, and only forgetting it (conntrack_flush) cuts it.
rm -f "$R/run/palisade/ready"
fence_reset
if command -v nft >/dev/null; then
    ip netns exec "$SANDBOX_NS" nft -f - <<'NFT'
table ip tracking {
	chain output {
		type filter hook output priority 10; policy accept;
		ct state established counter
	}
}
NFT
    on_cleanup "ip netns exec $SANDBOX_NS nft delete table ip tracking"
else
    ip netns exec "$SANDBOX_NS" iptables-legacy -t mangle -A OUTPUT -m conntrack --ctstate ESTABLISHED
    on_cleanup "ip netns exec $SANDBOX_NS iptables-legacy -t mangle -F OUTPUT"
fi
ip netns exec "$SANDBOX_NS" "$PROBE" hold 10.77.0.20 80 4000 >"$WORK/hold" 2>&1 &
HOLD=$!
wait_for_text "$WORK/hold" connected 5
expect_match "the connection opened before the fence is tracked as established" \
    'dst=10\.77\.0\.20 .*dport=80 .*ASSURED' "$(ip netns exec "$SANDBOX_NS" cat /proc/net/nf_conntrack 2>&1)"
run_palisade "$R" -u agent "${ALLOW[@]}" -- /bin/cat /run/palisade/ready
wait "$HOLD"
expect_match "a connection opened before the fence is cut by it" '^held [0-9]+ rounds, then broken' "$(tail -n 1 "$WORK/hold")"
expect_match "/run/palisade/ready holds the summary once the fence is up" '^started /bin/cat as agent.*fenced: IPv4' "$OUT"
# A /run/palisade that is a symbolic link (left by the image) is not
# written through.
rm -rf "$R/run/palisade"
mkdir -p "$R/elsewhere"
ln -s /elsewhere "$R/run/palisade"
run_palisade "$R" -u agent "${ALLOW[@]}" -- /bin/true
expect_match "a /run/palisade symlink: palisade says it did not write the marker" '/run/palisade is not a root-owned directory' "$ERR"
check "a /run/palisade symlink: nothing is written where it points" test ! -e "$R/elsewhere/ready"
rm -f "$R/run/palisade"
rm -rf "$R/elsewhere"

# Without the opt-in, the same names' private answers stay out of the
# fence, each said by name; an address written in the allowlist still
# means what it says.
run_palisade "$R" -u agent -a allowed.test -a v6only.test -a 10.77.1.0/24 -- /bin/sh -c \
    'probe tcp 10.77.0.10 443; probe tcp fd77::20 443; probe tcp 10.77.1.5 443'
expect_match "without --allow-private: a name's private address is refused" '^refused' \
    "$(printf '%s\n' "$OUT" | sed -n 1p)"
expect_match "without --allow-private: a name's unique local address is refused" '^refused' \
    "$(printf '%s\n' "$OUT" | sed -n 2p)"
expect_match "without --allow-private: a CIDR written in the allowlist is reached" '^open' \
    "$(printf '%s\n' "$OUT" | sed -n 3p)"
expect_match "without --allow-private: the refusal is logged by name" \
    'warning: refused 10\.77\.0\.10 for allowed\.test: a private address \(10\.0\.0\.0/8\); allowed for a name only with --allow-private allowed\.test' "$ERR"
expect_match "without --allow-private: the IPv6 one too" \
    'warning: refused fd77::20 for v6only\.test: a unique local address \(fc00::/7\)' "$ERR"
expect_match "without --allow-private: the summary counts the refused answers" \
    'fenced: IPv4: 0 names, 0 addresses, 1 CIDR; IPv6: 0 names, 0 addresses, 0 CIDRs; 3 answers refused' "$ERR"
run_palisade "$R" --check -u agent -a allowed.test
expect_match "--check lists a refused answer under its name" \
    '    refused 10\.77\.0\.10 for allowed\.test: a private address' "$OUT"
run_palisade "$R" -u agent --strict -a allowed.test -- /bin/touch /tmp/ran
expect_eq "--strict, a name with only refused answers: 125" 125 "$RC"
expect_match "--strict, a name with only refused answers: the message" \
    '^palisade: allowed\.test resolves only to addresses that a name may not bring into the fence \(refused .* for allowed\.test: .*\), and --strict is set' "$ERR"
check "--strict, a name with only refused answers: the command never ran" test ! -e "$R/tmp/ran"

# --default-ports and --expose.
run_palisade "$R" -u agent -a allowed.test --allow-private allowed.test --default-ports 8080 --expose 3000 -- /bin/sh -c \
    'probe tcp 10.77.0.10 8080; probe tcp 10.77.0.10 443'
expect_match "--default-ports opens the listed port" '^open' "$(printf '%s\n' "$OUT" | sed -n 1p)"
expect_match "--default-ports closes the others" '^refused' "$(printf '%s\n' "$OUT" | sed -n 2p)"
if [ "$FENCE_BACKEND" = nft ]; then
    expose_rule='^[[:space:]]*tcp dport 3000 accept$'
else
    expose_rule='^-A INPUT -p tcp -m tcp --dport 3000 -j ACCEPT$'
fi
check "--expose opens the incoming port" eval 'fence_rules 4 | grep -Eq -- "$expose_rule"'
run_palisade "$R" -u agent -a 'allowed.test:*' --allow-private allowed.test -- /bin/sh -c 'probe tcp 10.77.0.10 8080; probe tcp 10.77.0.11 80'
expect_match "host:* opens every port of the host" '^open' "$(printf '%s\n' "$OUT" | sed -n 1p)"
expect_match "host:* opens nothing else" '^refused' "$(printf '%s\n' "$OUT" | sed -n 2p)"

# --strict: a name that does not resolve is fatal.
run_palisade "$R" -u agent --strict -a allowed.test -a nope.test --allow-private allowed.test -- /bin/touch /tmp/ran
expect_eq "--strict with an unresolved name: 125" 125 "$RC"
expect_match "--strict names the name" '^palisade: nope\.test did not resolve .*--strict' "$ERR"
check "--strict: the command never ran" test ! -e "$R/tmp/ran"

# Failure modes, in a fresh namespace each: status 125, one line with the
# cause and the fix, the command never runs, nothing is changed.
fresh_ns() {
    ip netns del "$SANDBOX_NS"
    ip netns add "$SANDBOX_NS"
    ip -n "$SANDBOX_NS" link set lo up
}
failure() { # failure "what" "message regex" [wrapper...]
    local what=$1 pattern=$2
    shift 2
    fresh_ns
    rm -f "$R/tmp/ran"
    SANDBOX_WRAP="$*" run_palisade "$R" -u agent -a allowed.test -- /bin/touch /tmp/ran
    expect_eq "$what: exit 125" 125 "$RC"
    expect_match "$what: message" "$pattern" "$ERR"
    check "$what: the command never ran" test ! -e "$R/tmp/ran"
    check "$what: nothing of the fence was installed" not fence_installed
}
failure "without NET_ADMIN" '^palisade: the container lacks CAP_NET_ADMIN \(to install the fence\); run the container with --cap-add NET_ADMIN ' \
    setpriv --bounding-set=-net_admin --
if [ "$FENCE_BACKEND" = legacy ]; then
    failure "without ip_tables" '^palisade: iptables: .*the kernel has no ip_tables support.*modprobe ip_tables' \
        "$PROBE" inject no-iptables --
    failure "with IPv6 but without ip6_tables" '^palisade: this container has IPv6, so ip6tables must be set up too: .*no ip6_tables support' \
        "$PROBE" inject no-ip6tables --
    failure "without ip_set" '^palisade: ipset: .*the kernel has no ip_set support.*modprobe ip_set' \
        "$PROBE" inject no-nfnetlink --
else
    # No netfilter netlink at all: neither nf_tables nor ip_set (which the
    # legacy backend needs too) answers.
    failure "without netfilter netlink" '^palisade: nftables: .*the kernel has no netfilter netlink.*both of palisade.s backends need.*modprobe nfnetlink nf_tables' \
        "$PROBE" inject no-nfnetlink --
    expect_no_match "without netfilter netlink: no way out through --backend legacy, whose ipset needs netfilter netlink too" \
        '--backend legacy' "$ERR"
fi
fresh_ns
CHROOT_OPTS=--userspec=1000:1000 run_palisade "$R" -u agent -a allowed.test -- /bin/touch /tmp/ran
expect_eq "not started as root: exit 125" 125 "$RC"
expect_match "not started as root: message" 'must start as root.*remove --user' "$ERR"
check "not started as root: the command never ran" test ! -e "$R/tmp/ran"

# No IPv6 at all: said, and IPv4 is still fenced.
fresh_ns
SANDBOX_WRAP="$PROBE inject no-ipv6 --" run_palisade "$R" -u agent -a 10.77.0.10 -- /bin/true
expect_eq "without IPv6: the command runs" 0 "$RC"
expect_match "without IPv6: it says so" 'no IPv6: only IPv4 needs a fence' "$ERR"
expect_match "without IPv6: IPv4 is fenced" "$FENCE_OUTPUT_DROP" "$(fence_rules 4)"
finish
