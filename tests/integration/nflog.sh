#!/usr/bin/env bash
# The NFLOG reader against the real kernel. A network namespace of its own
# holds a veth pair and iptables/ip6tables rules that log to NFLOG
# group 7 and reject; palisade-nflog-listen (fw/pktlog.c) prints what the
# kernel reports while a non-root user sends TCP and UDP to the rejected
# addresses. All traffic stays inside that namespace: it has no route out.
#
# Environment (set by meson): NFLOG_LISTEN, PROBE, PALISADE.
. "$(dirname "$0")/lib.sh"
need_root
: "${NFLOG_LISTEN:?set NFLOG_LISTEN to the palisade-nflog-listen binary}"

need_commands ip iptables-legacy ip6tables-legacy setpriv

GROUP=7
NS=palnflog$$
IN=(ip netns exec "$NS")
AGENT=(setpriv --reuid 1000 --regid 1000 --clear-groups)

# Copies that uid 1000 can run whatever the build tree's permissions.
cp "$PROBE" "$WORK/probe"
cp "$NFLOG_LISTEN" "$WORK/nflog-listen"
chmod 0755 "$WORK/probe" "$WORK/nflog-listen"
P=$WORK/probe
L=$WORK/nflog-listen

setup() {
    ip netns add "$NS" || return 1
    on_cleanup "ip netns del $NS"
    ip -n "$NS" link set lo up &&
    # A veth pair with both ends in the namespace (not every kernel has the
    # dummy driver): what goes out of v0 arrives at v1, and stops there.
    ip -n "$NS" link add v0 type veth peer name v1 &&
    ip -n "$NS" link set v1 up &&
    ip -n "$NS" link set v0 up &&
    ip -n "$NS" addr add 10.99.0.1/24 dev v0 &&
    ip -n "$NS" addr add fd99::1/64 dev v0 nodad || return 1
    local ipt
    for ipt in iptables-legacy ip6tables-legacy; do
        local blocked=10.99.0.9 quiet=10.99.0.10 other=10.99.0.11 a
        if [ "$ipt" = ip6tables-legacy ]; then
            blocked=fd99::9 quiet=fd99::10 other=fd99::11
        fi
        # The blocked address: logged with a prefix.
        "${IN[@]}" "$ipt" -A OUTPUT -d "$blocked" -j NFLOG \
            --nflog-group "$GROUP" --nflog-prefix palisade-block || return 1
        # Another one: logged without a prefix.
        "${IN[@]}" "$ipt" -A OUTPUT -d "$quiet" -j NFLOG --nflog-group "$GROUP" || return 1
        # A third one: logged to another group, not ours.
        "${IN[@]}" "$ipt" -A OUTPUT -d "$other" -j NFLOG \
            --nflog-group $((GROUP + 1)) || return 1
        # All three rejected at once.
        for a in "$blocked" "$quiet" "$other"; do
            "${IN[@]}" "$ipt" -A OUTPUT -d "$a" -p tcp -j REJECT --reject-with tcp-reset &&
            "${IN[@]}" "$ipt" -A OUTPUT -d "$a" -j REJECT || return 1
        done
    done
}
setup || { fail "setting up network namespace $NS"; finish; }

# The listener, as root (with CAP_NET_ADMIN) in the namespace.
"${IN[@]}" "$L" "$GROUP" 6000 >"$WORK/events" 2>"$WORK/listen.err" &
LPID=$!
on_cleanup "kill $LPID"
if wait_for_text "$WORK/events" ready 10; then
    pass "the listener bound group $GROUP"
else
    fail "the listener bound group $GROUP: $(cat "$WORK/listen.err")"
    finish
fi

# The group has one listener: a second one is refused, with a reason.
"${IN[@]}" "$L" "$GROUP" 100 >"$WORK/second.out" 2>"$WORK/second.err"
expect_eq "a second listener on the same group fails" 1 "$?"
expect_match "a second listener says why" "group $GROUP: another program" "$(cat "$WORK/second.err")"
# Without CAP_NET_ADMIN, the kernel refuses, and the message says what to do.
"${IN[@]}" "${AGENT[@]}" "$L" $((GROUP + 2)) 100 >"$WORK/user.out" 2>"$WORK/user.err"
expect_eq "a listener without CAP_NET_ADMIN fails" 1 "$?"
expect_match "a listener without CAP_NET_ADMIN says what to do" "NET_ADMIN" \
    "$(cat "$WORK/user.err")"
expect_no_match "a listener without CAP_NET_ADMIN prints no ready" ready \
    "$(cat "$WORK/user.out")"

# The traffic, as uid 1000.
probe() { "${IN[@]}" "${AGENT[@]}" "$P" "$@" 2>&1; }
R=$(probe tcp 10.99.0.9 443 1000)
expect_match "TCP to 10.99.0.9 is rejected" '^refused' "$R"
R=$(probe udp 10.99.0.9 5353 1000)
expect_match "UDP to 10.99.0.9 is rejected" '^(refused|denied)' "$R"
R=$(probe tcp fd99::9 443 1000)
expect_match "TCP to fd99::9 is rejected" '^refused' "$R"
R=$(probe udp fd99::9 5353 1000)
expect_match "UDP to fd99::9 is rejected" '^(refused|denied)' "$R"
probe udp 10.99.0.11 9 1000 >/dev/null
probe udp fd99::11 9 1000 >/dev/null
# As root, to the address logged without a prefix.
"${IN[@]}" "$P" tcp 10.99.0.10 80 1000 >/dev/null 2>&1
"${IN[@]}" "$P" udp fd99::10 53 1000 >/dev/null 2>&1

wait_for_text "$WORK/events" "dst=fd99::10 " 10
wait "$LPID"
expect_eq "the listener exits 0 after its time" 0 "$?"
EV=$(grep '^event ' "$WORK/events")
diag "$EV"
[ -s "$WORK/listen.err" ] && diag "$(sed 's/^/listener: /' "$WORK/listen.err")"

N='[1-9][0-9]*'
expect_match "IPv4 TCP: the event" \
    "^event proto=tcp src=10\.99\.0\.1 dst=10\.99\.0\.9 sport=$N dport=443 uid=1000 prefix=palisade-block$" "$EV"
expect_match "IPv4 UDP: the event" \
    "^event proto=udp src=10\.99\.0\.1 dst=10\.99\.0\.9 sport=$N dport=5353 uid=1000 prefix=palisade-block$" "$EV"
expect_match "IPv6 TCP: the event" \
    "^event proto=tcp src=fd99::1 dst=fd99::9 sport=$N dport=443 uid=1000 prefix=palisade-block$" "$EV"
expect_match "IPv6 UDP: the event" \
    "^event proto=udp src=fd99::1 dst=fd99::9 sport=$N dport=5353 uid=1000 prefix=palisade-block$" "$EV"
expect_match "a rule without a prefix: an empty prefix, and root's uid" \
    "^event proto=tcp src=10\.99\.0\.1 dst=10\.99\.0\.10 sport=$N dport=80 uid=0 prefix=$" "$EV"
expect_match "IPv6, a rule without a prefix" \
    "^event proto=udp src=fd99::1 dst=fd99::10 sport=$N dport=53 uid=0 prefix=$" "$EV"
expect_no_match "another group's events are not ours (IPv4)" "dst=10\.99\.0\.11 " "$EV"
expect_no_match "another group's events are not ours (IPv6)" "dst=fd99::11 " "$EV"
expect_eq "one event per packet sent" 6 "$(printf '%s\n' "$EV" | grep -c .)"
expect_no_match "no events lost" "lost" "$(cat "$WORK/listen.err")"

# An overflow: the listener is stopped while the kernel logs more than its
# socket buffer holds. Once it runs again it reports the loss and goes on.
"${IN[@]}" "$L" "$GROUP" 8000 >"$WORK/events2" 2>"$WORK/listen2.err" &
LPID=$!
on_cleanup "kill -CONT $LPID; kill $LPID"
if wait_for_text "$WORK/events2" ready 10; then
    kill -STOP "$LPID"
    floods=()
    for i in $(seq 16); do
        "${IN[@]}" "$P" flood 10.99.0.9 7 2000 >/dev/null 2>&1 &
        floods+=($!)
    done
    wait "${floods[@]}"
    kill -CONT "$LPID"
    # Until the listener has drained its buffer, new events are lost too.
    for i in $(seq 20); do
        "${IN[@]}" "$P" udp 10.99.0.9 4242 100 >/dev/null 2>&1
        wait_for_text "$WORK/events2" "dport=4242 " 1 && break
    done
    wait "$LPID"
    expect_eq "after an overflow: the listener exits 0" 0 "$?"
    expect_match "after an overflow: the loss is reported" "overflowed [0-9]+ times" \
        "$(cat "$WORK/listen2.err")"
    expect_match "after an overflow: events still come" \
        "^event proto=udp src=10\.99\.0\.1 dst=10\.99\.0\.9 sport=$N dport=4242 uid=0 prefix=palisade-block$" \
        "$(cat "$WORK/events2")"
    diag "after the overflow: $(grep -c '^event' "$WORK/events2") events read"
else
    fail "the second listener bound group $GROUP: $(cat "$WORK/listen2.err")"
fi

finish
