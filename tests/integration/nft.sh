#!/usr/bin/env bash
# The nftables backend against the real kernel: palisade --backend nft runs
# as PID 1 of a sandbox joined to the test world (world.sh). The kernel's
# tables are read with the nft command, and the agent's connections say
# whether they do what they show.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root
need_nft_kernel

R=$WORK/root
make_root "$R"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS
in_ns() { ip netns exec "$SANDBOX_NS" "$@"; }

cat > "$R/work/agent.sh" <<'SH'
p() { l=$1; shift; printf '%s: ' "$l"; probe "$@"; }
p allowed-tcp443 tcp 10.77.0.10 443
p allowed-tcp8080 tcp 10.77.0.10 8080
p blocked-tcp443 tcp 10.77.0.20 443
p cidr-tcp443 tcp 10.77.1.5 443
p port-tcp8443 tcp 10.77.0.30 8443
p port-udp8443 udp 10.77.0.30 8443
p port-tcp443 tcp 10.77.0.30 443
p allowed6-tcp443 tcp fd77::10 443
p blocked6-tcp443 tcp fd77::30 443
p dns-other-udp udp 10.77.0.20 53
p dns-filter dns blocked.test 127.0.0.1
p after-dns-tcp443 tcp 10.77.0.20 443
echo listed
exec sleep 30
SH
chmod 0755 "$R/work/agent.sh"
result() { sed -n "s/^$1: //p" "$WORK/agent.log"; }
expect_open() { expect_match "$2" '^(open|reply|NOERROR)' "$(result "$1")"; }
expect_refused() { expect_match "$2" '^(refused|denied|unreachable)' "$(result "$1")"; }

ALLOW=(-a allowed.test -a 10.77.1.0/25 -a 10.77.1.128/25 -a port.test:8443 -a '*.test:443'
       --allow-private allowed.test --allow-private port.test --allow-private '*.test')
in_sandbox "$R" /sbin/palisade --backend nft -v -u agent "${ALLOW[@]}" -- /bin/sh /work/agent.sh \
    >"$WORK/agent.log" 2>"$WORK/palisade.err" </dev/null &
BG=$!
if ! wait_for_text "$WORK/agent.log" listed 20; then
    diag "$(cat "$WORK/palisade.err")"
fi
expect_match "the log names the backend and why" 'fence backend: nft \(asked for with --backend nft\)' \
    "$(cat "$WORK/palisade.err")"
T4=$(in_ns nft list table ip palisade 2>&1)
T6=$(in_ns nft list table ip6 palisade 2>&1)
diag "$(printf '%s\n' "$T4" | head -60)"
for c in input forward output; do
    expect_match "ip palisade: chain $c, policy drop" \
        "type filter hook $c priority filter; policy drop;" "$T4"
    expect_match "ip6 palisade: chain $c, policy drop" \
        "type filter hook $c priority filter; policy drop;" "$T6"
done
expect_match "the CIDRs are merged into one interval" 'elements = \{ 10\.77\.1\.0/24 \}' "$T4"
expect_match "a port entry's members: address . protocol . port" \
    '10\.77\.0\.30 \. tcp \. 8443' "$T4"
expect_match "default ports: a lookup of the host set" 'ip daddr @default_host tcp dport 443 accept' "$T4"
expect_match "default ports: a lookup of the network set" 'ip daddr @default_net tcp dport 443 accept' "$T4"
expect_match "the refusal is logged to palisade's NFLOG group" \
    'log prefix "palisade-refused" group 1953' "$T4"
expect_match "then refused with a TCP reset" 'reject with tcp reset' "$T4"
expect_match "and an ICMPv6 error over IPv6" 'reject with icmpv6 admin-prohibited' "$T6"
expect_match "the spoofing rule" 'meta skuid >= 0 fib saddr type != local drop' "$T4"
expect_match "neighbour discovery over IPv6" 'icmpv6 type nd-neighbor-solicit accept' "$T6"

expect_open allowed-tcp443 "an allowed name: TCP 443"
expect_refused allowed-tcp8080 "an allowed name: not on another port"
expect_refused blocked-tcp443 "another name's address"
expect_open cidr-tcp443 "an address in the merged CIDRs"
expect_open port-tcp8443 "a port entry: its port over TCP"
expect_open port-udp8443 "a port entry: its port over UDP"
expect_refused port-tcp443 "a port entry: no other port"
expect_open allowed6-tcp443 "an allowed name over IPv6"
expect_refused blocked6-tcp443 "another name's IPv6 address"
expect_refused dns-other-udp "DNS to another host"
expect_match "the DNS filter answers a name of an allowed wildcard" '^NOERROR' "$(result dns-filter)"
expect_open after-dns-tcp443 "the address the DNS filter let through"
expect_match "the DNS filter's member has a timeout" \
    '10\.77\.0\.20 \. tcp \. 443 timeout [0-9]+[smh]' "$(in_ns nft list set ip palisade port_host)"

# A second start replaces the tables whole: one table per family, the
# same ruleset.
PID1=$(sandbox_pid1 "$BG")
kill -TERM "$PID1" 2>/dev/null
wait "$BG" 2>/dev/null
# The chains (the sets differ by the DNS filter's member, which is gone).
chains() { for c in input forward output; do in_ns nft list chain ip palisade $c; done; }
first=$(chains)
run_palisade "$R" --backend nft -u agent "${ALLOW[@]}" -- true
expect_eq "a second start succeeds ($ERR)" 0 "$RC"
expect_eq "one table per family" "table ip palisade
table ip6 palisade" "$(in_ns nft list tables | sort)"
expect_eq "a second start gives the same chains" "$first" "$(chains)"
expect_no_match "a second start's sets hold no earlier member" '10\.77\.0\.20' \
    "$(in_ns nft list set ip palisade port_host)"

# auto takes nf_tables here.
PALISADE_BACKEND=auto run_palisade "$R" -v -u agent "${ALLOW[@]}" -- true
expect_match "auto: nft when the kernel offers nf_tables" \
    'fence backend: nft \(auto: the kernel offers nf_tables\)' "$ERR"

# Without NET_ADMIN palisade says what is missing and how to add it.
SANDBOX_WRAP="setpriv --bounding-set=-net_admin --" \
    run_palisade "$R" --backend nft -u agent -- true
expect_eq "without NET_ADMIN palisade exits 125" 125 "$RC"
expect_match "without NET_ADMIN: the capability and the fix" \
    'CAP_NET_ADMIN.*--cap-add NET_ADMIN' "$ERR"
finish
