#!/usr/bin/env bash
# The escape suite: what an adversarial agent (uid 1000, in a sandbox with
# Docker's defaults: port 53 unprivileged, ping open) tries in order to get
# data past the fence, each written as an attacker would. The agent tries;
# a listener in the world namespace (or the sandbox's own counters) reports
# whether anything arrived. One file in escape.d/ per class of escape; each
# is sourced here in name order and adds its own checks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
need_root

R=$WORK/root
make_root "$R"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
make_world || { fail "the test world"; finish; }
export NETNS=$SANDBOX_NS
# Docker's defaults, which give the agent low ports and ICMP sockets.
ip netns exec "$SANDBOX_NS" sysctl -qw net.ipv4.ip_unprivileged_port_start=0
ip netns exec "$SANDBOX_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# palisade's fence outlives a run in the sandbox's namespace: each part
# starts from an open one, as a new container would.
open_sandbox() {
    local t
    for t in iptables-legacy ip6tables-legacy; do
        ip netns exec "$SANDBOX_NS" "$t" -w -F
        ip netns exec "$SANDBOX_NS" "$t" -w -X
        ip netns exec "$SANDBOX_NS" "$t" -w -P INPUT ACCEPT
        ip netns exec "$SANDBOX_NS" "$t" -w -P FORWARD ACCEPT
        ip netns exec "$SANDBOX_NS" "$t" -w -P OUTPUT ACCEPT
    done
    ip netns exec "$SANDBOX_NS" ipset destroy 2>/dev/null || true
    for t in ip ip6; do # the nft backend's tables
        ip netns exec "$SANDBOX_NS" nft delete table "$t" palisade 2>/dev/null || true
    done
}

for part in "$(dirname "$0")"/escape.d/*.sh; do
    [ -e "$part" ] || continue
    open_sandbox
    # shellcheck source=/dev/null
    . "$part"
done
finish
