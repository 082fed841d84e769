#!/bin/bash
# init-firewall.sh: the shell recipe palisade replaces, written for
# bench/fence.sh (and bench/startup.sh, in a container through sudo and
# docker-entrypoint.sh) in the common style of published devcontainer recipes:
# `dig +short` for each allowed name, `ipset add` for each address, one
# iptables / ip6tables command per rule, then the agent started as an
# unprivileged user through a second script. It is the comparison in the
# benchmark, not a fence to use: it has the holes README.md lists (sudo or
# setpriv left usable, set-uid files kept, addresses fixed at start, no
# log of what was refused).
#
#   init-firewall.sh ALLOWLIST AGENT_UID COMMAND [ARG...]
#
# ALLOWLIST holds one name a line. The resolver is the first nameserver of
# /etc/resolv.conf. Uses iptables-legacy and ip6tables-legacy, as palisade
# does (libiptc). Run it as root in a network namespace of its own only:
# it replaces that namespace's filter tables.
set -euo pipefail
# A failing command says which one it was.
trap 'echo "$0: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
IFS=$'\n\t'

ALLOWLIST=$1
AGENT_UID=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)

IPT=iptables-legacy
IP6T=ip6tables-legacy

# 1. Start from nothing: flush the rules and chains, destroy the old sets.
$IPT -P INPUT ACCEPT
$IPT -P FORWARD ACCEPT
$IPT -P OUTPUT ACCEPT
$IPT -F
$IPT -X
$IP6T -P INPUT ACCEPT
$IP6T -P FORWARD ACCEPT
$IP6T -P OUTPUT ACCEPT
$IP6T -F
$IP6T -X
ipset destroy allowed-domains 2>/dev/null || true
ipset destroy allowed-domains6 2>/dev/null || true

# 2. The sets of allowed addresses.
ipset create allowed-domains hash:net
ipset create allowed-domains6 hash:net family inet6

# 3. Resolve each allowed name and add its addresses.
while read -r domain; do
    [ -z "$domain" ] && continue
    [ "${domain:0:1}" = "#" ] && continue
    echo "Resolving $domain..."
    ips=$(dig +short "$domain" A "$domain" AAAA)
    if [ -z "$ips" ]; then
        echo "ERROR: Failed to resolve $domain" >&2
        exit 1
    fi
    while read -r ip; do
        if [[ "$ip" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
            echo "Adding $ip for $domain"
            ipset add allowed-domains "$ip"
        elif [[ "$ip" == *:* ]]; then
            echo "Adding $ip for $domain"
            ipset add allowed-domains6 "$ip"
        fi # anything else is a CNAME target: its addresses follow it
    done <<< "$ips"
done < "$ALLOWLIST"

# 4. The rules, IPv4.
RESOLVER=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
echo "Resolver: $RESOLVER"
$IPT -A INPUT -i lo -j ACCEPT
$IPT -A OUTPUT -o lo -j ACCEPT
$IPT -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
$IPT -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
if [[ "$RESOLVER" != *:* ]]; then
    $IPT -A OUTPUT -d "$RESOLVER" -p udp --dport 53 -j ACCEPT
    $IPT -A OUTPUT -d "$RESOLVER" -p tcp --dport 53 -j ACCEPT
fi
$IPT -A OUTPUT -p tcp -m set --match-set allowed-domains dst -m multiport --dports 80,443 -j ACCEPT
$IPT -A OUTPUT -p udp -m set --match-set allowed-domains dst --dport 443 -j ACCEPT
$IPT -P INPUT DROP
$IPT -P FORWARD DROP
$IPT -P OUTPUT DROP
$IPT -A OUTPUT -p tcp -j REJECT --reject-with tcp-reset
$IPT -A OUTPUT -j REJECT --reject-with icmp-admin-prohibited

# 5. The rules, IPv6 (with neighbour discovery, without which nothing works).
$IP6T -A INPUT -i lo -j ACCEPT
$IP6T -A OUTPUT -o lo -j ACCEPT
$IP6T -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
$IP6T -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
for t in 133 134 135 136; do
    $IP6T -A INPUT -p ipv6-icmp --icmpv6-type "$t" -j ACCEPT
    $IP6T -A OUTPUT -p ipv6-icmp --icmpv6-type "$t" -j ACCEPT
done
if [[ "$RESOLVER" == *:* ]]; then
    $IP6T -A OUTPUT -d "$RESOLVER" -p udp --dport 53 -j ACCEPT
    $IP6T -A OUTPUT -d "$RESOLVER" -p tcp --dport 53 -j ACCEPT
fi
$IP6T -A OUTPUT -p tcp -m set --match-set allowed-domains6 dst -m multiport --dports 80,443 -j ACCEPT
$IP6T -A OUTPUT -p udp -m set --match-set allowed-domains6 dst --dport 443 -j ACCEPT
$IP6T -P INPUT DROP
$IP6T -P FORWARD DROP
$IP6T -P OUTPUT DROP
$IP6T -A OUTPUT -p tcp -j REJECT --reject-with tcp-reset
$IP6T -A OUTPUT -j REJECT --reject-with icmp6-adm-prohibited

echo "Firewall configuration complete"

# 6. Drop to the agent's user and run the agent through the second script.
# Recipes use sudo, su, gosu or setpriv here; setpriv (util-linux) is on
# every Debian system and needs no sudoers entry.
exec setpriv --reuid="$AGENT_UID" --regid="$AGENT_UID" --clear-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs -- \
    "$HERE/start-agent.sh" "$@"
