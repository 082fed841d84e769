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

world_root
# Docker's defaults, which give the agent low ports and ICMP sockets.
ip netns exec "$SANDBOX_NS" sysctl -qw net.ipv4.ip_unprivileged_port_start=0
ip netns exec "$SANDBOX_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# palisade's fence outlives a run in the sandbox's namespace: each part
# starts from an open one, as a new container would.
for part in "$(dirname "$0")"/escape.d/*.sh; do
    [ -e "$part" ] || continue
    fence_reset
    # shellcheck source=/dev/null
    . "$part"
done
finish
