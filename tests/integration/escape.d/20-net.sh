# Network escapes below the allowlist: answers sent from port 53 or 853
# (the firewall's half of forged upstream answers), Docker's embedded
# resolver on its real port, loopback-addressed DNS sent through the
# container's interface, spoofed sources (conntrack priming, ICMP errors
# reflected to a blocked host) and multicast group reports. The agent
# tries; a packet socket on the world's side of the link (or on the
# sandbox's loopback) reports whether anything arrived. Each check has a
# control that the fence lets through, so that "nothing seen" means the
# fence stopped it, not that the sniffer was blind.

NET_VW=$(ip -n "$WORLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)
NET_VS=$(ip -n "$SANDBOX_NS" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)

net_marker() { printf 'pal%s%s' "$1" "$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
net_result() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }

# net_sniff NAME NETNS DEVICE MARKER...: watches DEVICE in the background
# until net_unsniff NAME; what it saw is in $WORK/sniff-NAME.
net_sniff() {
    local name=$1 ns=$2 dev=$3
    shift 3
    ip netns exec "$ns" "$PROBE" sniff "$dev" 60000 "$@" >"$WORK/sniff-$name" 2>&1 &
    eval "NET_SNIFF_$name=$!"
    on_cleanup "kill $!"
    wait_for_text "$WORK/sniff-$name" sniffing 5 || fail "sniffer $name on $dev: $(cat "$WORK/sniff-$name")"
}
net_unsniff() {
    local pid
    eval "pid=\$NET_SNIFF_$1"
    sleep 0.5 # what is in flight arrives
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
# net_arrived "what" NAME MARKER / net_stopped "what" NAME MARKER
net_arrived() { expect_match "$1" "^seen $3 " "$(cat "$WORK/sniff-$2")"; }
net_stopped() { expect_no_match "$1" "^seen $3 " "$(cat "$WORK/sniff-$2")"; }

# The controls go to UDP 9443: UDP 443 to a name's address is QUIC, which
# the name check refuses.
net_agent() { # net_agent SCRIPT ARGS...: palisade with allowed.test, the agent runs SCRIPT
    local script=$1
    shift
    chmod 0755 "$R/work/$script"
    run_palisade "$R" -u agent -a allowed.test -a allowed.test:9443 --allow-private allowed.test \
        "$@" -- /bin/sh "/work/$script"
}

# --- Forged answers: nothing the agent sends from port 53 or 853 goes
# anywhere, on the wire or on loopback, so it cannot answer PID 1's
# upstream queries from Docker's 127.0.0.11:53 or from the upstream's own
# address (IPV6_FREEBIND). A root listener on loopback stands for PID 1's
# upstream socket.
ip netns exec "$SANDBOX_NS" "$PROBE" serve 127.0.0.1 5998 >"$WORK/net-serve.log" 2>&1 &
NET_SERVE=$!
on_cleanup "kill $NET_SERVE"
wait_for_text "$WORK/net-serve.log" serving 5
M_LO53=$(net_marker lo53) M_LO853=$(net_marker lo853) M_UP6=$(net_marker up6)
M_TCP53=$(net_marker tcp53) M_W53=$(net_marker w53) M_W853=$(net_marker w853)
C_LO=$(net_marker clo) C_W=$(net_marker cw)
cat > "$R/work/net-sport.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
p lo53 send --from 127.0.0.11 53 127.0.0.1 5998 $M_LO53
p lo853 send --from 127.0.0.1 853 127.0.0.1 5998 $M_LO853
p up6 send --from fd77::1 53 fd77::2 5998 $M_UP6
p tcp53 send --tcp --from 127.0.0.11 53 127.0.0.1 5998 $M_TCP53
p w53 send --from 10.77.0.2 53 10.77.0.10 443 $M_W53
p w853 send --from fd77::2 853 fd77::10 443 $M_W853
p control-lo send 127.0.0.1 5998 $C_LO
p control-tcp send --tcp 127.0.0.1 5998 control
p control-w send 10.77.0.10 9443 $C_W
SH
net_sniff sport_lo "$SANDBOX_NS" lo "$M_LO53" "$M_LO853" "$M_UP6" "$M_TCP53" "$C_LO"
net_sniff sport_w "$WORLD" "$NET_VW" "$M_W53" "$M_W853" "$C_W"
net_agent net-sport.sh
net_unsniff sport_lo
net_unsniff sport_w
kill "$NET_SERVE" 2>/dev/null
wait "$NET_SERVE" 2>/dev/null
expect_eq "source port 53: the agent ran" 0 "$RC"
net_arrived "source port 53: control: a datagram from an ordinary port reaches loopback" sport_lo "$C_LO"
expect_match "source port 53: control: TCP from an ordinary port connects" '^open' "$(net_result control-tcp)"
net_arrived "source port 53: control: a datagram from an ordinary port reaches the world" sport_w "$C_W"
net_stopped "a datagram from 127.0.0.11:53 (Docker's resolver's address) reaches nothing on loopback" sport_lo "$M_LO53"
net_stopped "a datagram from port 853 reaches nothing on loopback" sport_lo "$M_LO853"
net_stopped "a datagram from the upstream's address and port 53 (IPV6_FREEBIND) reaches nothing" sport_lo "$M_UP6"
net_stopped "TCP from port 53 reaches nothing on loopback" sport_lo "$M_TCP53"
expect_no_match "TCP from port 53 does not connect" '^open' "$(net_result tcp53)"
net_stopped "a datagram from port 53 to an allowed host does not leave" sport_w "$M_W53"
net_stopped "a datagram from port 853 to an allowed host over IPv6 does not leave" sport_w "$M_W853"

# --- Docker's embedded resolver: it listens on 127.0.0.11 at a high port
# and the nat table sends 127.0.0.11:53 there. Here a dnsmasq as root in
# the sandbox's namespace plays it, forwarding to the world's resolver
# (whose query log is the listener), with Docker's DNAT rules.
NET_DPORT=41553
cp "$R/etc/resolv.conf" "$WORK/net-resolv.conf"
ip netns exec "$SANDBOX_NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
    --user=root --group=root --bind-interfaces --listen-address=127.0.0.11 \
    --port=$NET_DPORT --server=10.77.0.1 --pid-file="$WORK/net-docker-dns.pid" \
    2>"$WORK/net-docker-dns.err" &
NET_DDNS=$!
on_cleanup "kill $NET_DDNS"
sandbox_dnat udp 127.0.0.11 53 127.0.0.11:$NET_DPORT
sandbox_dnat tcp 127.0.0.11 53 127.0.0.11:$NET_DPORT
on_cleanup sandbox_dnat_clear
for _ in $(seq 1 100); do
    ip netns exec "$SANDBOX_NS" "$PROBE" dns allowed.test 127.0.0.11 >/dev/null 2>&1 && break
    sleep 0.05
done
echo "nameserver 127.0.0.11" > "$R/etc/resolv.conf"
M_D1=$(net_marker dockerudp) M_D2=$(net_marker dockertcp) M_D3=$(net_marker docker53)
cat > "$R/work/net-docker.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
p through-palisade dns allowed.test 127.0.0.1
p real-port-udp dns $M_D1.blocked.test 127.0.0.11#$NET_DPORT
p real-port-tcp dns $M_D2.blocked.test 127.0.0.11#$NET_DPORT tcp
p port-53 dns $M_D3.blocked.test 127.0.0.11
SH
net_agent net-docker.sh
cp "$WORK/net-resolv.conf" "$R/etc/resolv.conf"
sandbox_dnat_clear
kill "$NET_DDNS" 2>/dev/null
wait "$NET_DDNS" 2>/dev/null
expect_eq "Docker's resolver: the agent ran" 0 "$RC"
expect_match "Docker's resolver: control: PID 1 resolves allowed names through it" \
    '^NOERROR' "$(net_result through-palisade)"
expect_match "Docker's resolver on its real port (UDP) is refused" \
    '^(refused|denied|unreachable)' "$(net_result real-port-udp)"
expect_match "Docker's resolver on its real port (TCP) is refused" \
    '^(refused|denied|unreachable|closed)' "$(net_result real-port-tcp)"
expect_match "Docker's resolver on port 53 is refused" \
    '^(refused|denied|unreachable)' "$(net_result port-53)"
for q in "UDP:$M_D1" "TCP:$M_D2" "port 53:$M_D3"; do
    expect_no_match "Docker's resolver: the agent's query (${q%%:*}) never reached the world's resolver" \
        "${q#*:}" "$(cat "$DNS_LOG")"
done
# (Port 53's refusal names the port after the DNAT too: TCP tells them apart.)
expect_match "Docker's resolver: the refusal on its real port is logged" \
    "refused tcp to 127\.0\.0\.11 port $NET_DPORT from uid 1000" "$ERR"

# --- Loopback-addressed DNS through the container's interface: a socket
# bound to the veth with SO_BINDTODEVICE sends to 127.0.0.1:53 and
# [::1]:53; nothing may arrive on the wire.
M_5A=$(net_marker dev4) M_5B=$(net_marker dev6) M_5C=$(net_marker devother) C_5=$(net_marker cdev)
cat > "$R/work/net-dev.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
p dns4 send --dev $NET_VS 127.0.0.1 53 $M_5A
p dns6 send --dev $NET_VS ::1 53 $M_5B
p other send --dev $NET_VS 127.0.0.1 8080 $M_5C
p control send --dev $NET_VS 10.77.0.10 9443 $C_5
p filter dns allowed.test 127.0.0.1
SH
net_sniff dev "$WORLD" "$NET_VW" "$M_5A" "$M_5B" "$M_5C" "$C_5"
net_agent net-dev.sh
net_unsniff dev
expect_eq "SO_BINDTODEVICE: the agent ran" 0 "$RC"
net_arrived "SO_BINDTODEVICE: control: a datagram to an allowed host leaves" dev "$C_5"
expect_match "SO_BINDTODEVICE: control: palisade's DNS on 127.0.0.1 still answers" '^NOERROR' "$(net_result filter)"
net_stopped "SO_BINDTODEVICE: DNS to 127.0.0.1:53 does not leave on the veth" dev "$M_5A"
net_stopped "SO_BINDTODEVICE: DNS to [::1]:53 does not leave on the veth" dev "$M_5B"
net_stopped "SO_BINDTODEVICE: 127.0.0.1 on another port does not leave on the veth" dev "$M_5C"

# --- Spoofed sources (IP_FREEBIND, IPV6_FREEBIND). A "reply" from the
# blocked host's address and port primes conntrack, so that the agent's
# datagram to the blocked host would be ESTABLISHED; a datagram from the
# blocked host's address to a closed local port makes the kernel send it
# an ICMP error that carries the agent's bytes; and a spoofed datagram to
# an allowed host carries a source the container does not own. (IPv4's
# IP_FREEBIND binds but the kernel routes nothing from a foreign address
# without IP_TRANSPARENT; IPV6_FREEBIND sends.)
M_6A=$(net_marker primed4) M_6B=$(net_marker primed6) M_6C=$(net_marker reflect6)
M_6D=$(net_marker reflect4) M_6E=$(net_marker spoofout) C_6=$(net_marker cspoof)
cat > "$R/work/net-spoof.sh" <<SH
p() { l=\$1; shift; printf '%s: ' "\$l"; probe "\$@" | head -n 1; }
p prime4 send --from 10.77.0.20 80 10.77.0.2 40000 prime
p primed4 send --from 10.77.0.2 40000 --wait 1000 10.77.0.20 80 $M_6A
p prime6 send --from fd77::30 443 fd77::2 40001 prime
p primed6 send --from fd77::2 40001 --wait 1000 fd77::30 443 $M_6B
p reflect6 send --from fd77::30 4444 fd77::2 5999 $M_6C
p reflect4 send --from 10.77.0.20 4444 10.77.0.2 5999 $M_6D
p spoof-out send --from 10.77.0.20 5555 10.77.0.10 443 $M_6E
p control send 10.77.0.10 9443 $C_6
SH
net_sniff spoof "$WORLD" "$NET_VW" "$M_6A" "$M_6B" "$M_6C" "$M_6D" "$M_6E" "$C_6"
net_agent net-spoof.sh
net_unsniff spoof
expect_eq "spoofing: the agent ran" 0 "$RC"
net_arrived "spoofing: control: an ordinary datagram to an allowed host leaves" spoof "$C_6"
expect_no_match "conntrack priming: the blocked host does not answer" '^reply' "$(net_result primed4)"
net_stopped "conntrack priming: nothing reaches the blocked host" spoof "$M_6A"
expect_no_match "conntrack priming over IPv6: the blocked host does not answer" '^reply' "$(net_result primed6)"
net_stopped "conntrack priming over IPv6: nothing reaches the blocked host" spoof "$M_6B"
net_stopped "an ICMPv6 error reflected to the blocked host does not carry the agent's bytes out" spoof "$M_6C"
net_stopped "an ICMP error reflected to the blocked host does not carry the agent's bytes out" spoof "$M_6D"
net_stopped "a spoofed source does not leave, even to an allowed host" spoof "$M_6E"

# --- Multicast: each way of joining a group fails with EPERM, and no
# report names the group on the link. The kernel's own neighbour discovery
# goes on: with the neighbour cache flushed, an allowed IPv6 host is
# reached, and an address added while the agent runs is announced (its
# duplicate address detection sends from the unspecified address ::).
G4=239.77.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
G6_TAIL=$(printf '%04x:%04x' $RANDOM $RANDOM)
G6=ff0e::77:$G6_TAIL
G6_HEX=hex:ff0e00000000000000000077${G6_TAIL/:/}
G4_HEX=hex:$(printf '%02x' ${G4//./ })
DAD_HEX=hex:fd770000000000000000000000007799
ip -n "$SANDBOX_NS" neigh flush all
cat > "$R/work/net-mcast.sh" <<SH
probe mcast $G4 $G6
printf 'nd6: '; probe tcp fd77::10 443 | head -n 1
echo added > /work/net-phase
i=0; while [ ! -e /work/net-go ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
SH
chmod 0755 "$R/work/net-mcast.sh"
rm -f "$R/work/net-phase" "$R/work/net-go"
net_sniff mcast "$WORLD" "$NET_VW" "$G6_HEX" "$G4_HEX" "$DAD_HEX"
in_sandbox "$R" /sbin/palisade -u agent -a allowed.test --allow-private allowed.test -- /bin/sh /work/net-mcast.sh \
    >"$WORK/out" 2>"$WORK/err" </dev/null &
NET_BG=$!
if wait_for_text "$R/work/net-phase" added 10; then
    ip -n "$SANDBOX_NS" addr add fd77::7799/64 dev "$NET_VS"
    for _ in $(seq 1 60); do
        grep -q "^seen $DAD_HEX " "$WORK/sniff-mcast" && break
        sleep 0.1
    done
fi
touch "$R/work/net-go"
wait "$NET_BG"
RC=$?
OUT=$(cat "$WORK/out")
ERR=$(cat "$WORK/err")
net_unsniff mcast
ip -n "$SANDBOX_NS" addr del fd77::7799/64 dev "$NET_VS" 2>/dev/null
rm -f "$R/work/net-phase" "$R/work/net-go"
expect_eq "multicast: the agent ran" 0 "$RC"
for opt in "IP_ADD_MEMBERSHIP" "IP_ADD_MEMBERSHIP with high bits" "IP_ADD_MEMBERSHIP on an IPv6 socket" \
           "IP_ADD_SOURCE_MEMBERSHIP" "MCAST_JOIN_GROUP (IPv4)" "MCAST_JOIN_SOURCE_GROUP (IPv4)" \
           "MCAST_JOIN_GROUP (IPv6)" "MCAST_JOIN_SOURCE_GROUP (IPv6)" "IPV6_JOIN_GROUP"; do
    expect_eq "multicast: $opt fails with EPERM" "$opt: EPERM" \
        "$(printf '%s\n' "$OUT" | grep -F -- "$opt: " | head -n 1)"
done
net_stopped "multicast: no MLD report names the agent's IPv6 group" mcast "$G6_HEX"
net_stopped "multicast: no IGMP report names the agent's IPv4 group" mcast "$G4_HEX"
expect_match "neighbour discovery: an allowed IPv6 host is reached with a cold neighbour cache" \
    '^open' "$(net_result nd6)"
net_arrived "neighbour discovery: a new address's duplicate address detection leaves" mcast "$DAD_HEX"
