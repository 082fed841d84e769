#!/usr/bin/env bash
# The packet queue (fw/nfqueue.c, fw/segment.c) against the real kernel. In
# a network namespace of its own, rules send the established packets of TCP
# connections to port 443 to NFQUEUE queue 7 (no bypass), after a rule that
# accepts packets marked 0x100; palisade-nfq-answer answers them by the rule
# it is given, and prints the segment of each. A client sends data over
# loopback to a server that echoes it; the test looks at what the server
# gets, what the client gets back, and what the answerer saw:
#   accept       the data arrives, and the answerer's line is what was sent
#   drop         the data and its retransmissions never arrive
#   repeat-mark  the data arrives through the mark rule, queued once
#   no answerer  the data never arrives (fail closed, no bypass)
#   queue full   the packets past the queue's length are dropped (no
#                fail-open)
# First with legacy iptables, then with nftables when the kernel offers its
# queue statement. All traffic stays on the namespace's loopback.
#
# Environment (set by meson): NFQ_ANSWER, PROBE, PALISADE.
. "$(dirname "$0")/lib.sh"
need_root
: "${NFQ_ANSWER:?set NFQ_ANSWER to the palisade-nfq-answer binary}"

need_commands ip iptables-legacy iptables-legacy-save python3 setpriv timeout

QUEUE=7
NSBASE=palnfq$$
FAMILIES=(4)
if "$PROBE" kernel ipv6 >/dev/null 2>&1; then
    FAMILIES+=(6)
    need_commands ip6tables-legacy ip6tables-legacy-save
else
    diag "no IPv6 in this kernel: IPv4 only"
fi

# Copies that uid 1000 can run whatever the build tree's permissions.
cp "$PROBE" "$WORK/probe"
cp "$NFQ_ANSWER" "$WORK/nfq-answer"
chmod 0755 "$WORK/probe" "$WORK/nfq-answer"
P=$WORK/probe
A=$WORK/nfq-answer

# The server: on 127.0.0.1:443 (and [::1]:443), one line per read,
# "got port=CLIENT_PORT DATA", echoed back.
cat > "$WORK/server.py" <<'EOF'
import select, socket, sys
listeners = []
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    if fam == socket.AF_INET6 and "6" not in sys.argv[1:]:
        continue
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 443))
    s.listen(16)
    listeners.append(s)
print("serving", flush=True)
conns = {}
while True:
    ready, _, _ = select.select(listeners + list(conns), [], [])
    for s in ready:
        if s in listeners:
            c, peer = s.accept()
            conns[c] = peer[1]
            continue
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            del conns[s]
            s.close()
            continue
        print("got port=%d %s" % (conns[s], data.decode("ascii", "replace")), flush=True)
        try:
            s.sendall(data)
        except OSError:
            pass
EOF

addr_of() { if [ "$1" = 6 ]; then echo ::1; else echo 127.0.0.1; fi; }
addr_re() { if [ "$1" = 6 ]; then echo '::1'; else echo '127\.0\.0\.1'; fi; }

# --- the namespace and its rules, per backend ---

# setup_legacy / setup_nft: the rules; status 2 with WHY when the kernel
# lacks something they need.
setup_legacy() {
    local ipt out
    for ipt in iptables-legacy ip6tables-legacy; do
        [ "$ipt" = ip6tables-legacy ] && [ ${#FAMILIES[@]} = 1 ] && continue
        "${IN[@]}" "$ipt" -w -A OUTPUT -m mark --mark 0x100/0x100 -j ACCEPT || return 1
        if ! out=$("${IN[@]}" "$ipt" -w -A OUTPUT -p tcp --dport 443 -m conntrack \
                   --ctstate ESTABLISHED -j NFQUEUE --queue-num "$QUEUE" 2>&1); then
            WHY="NFQUEUE (xt_NFQUEUE) for $ipt: $out"
            return 2
        fi
    done
}
setup_nft() {
    local out
    if ! command -v nft >/dev/null; then
        WHY="no nft command (Debian package nftables)"
        return 2
    fi
    if ! out=$("${IN[@]}" nft -f - 2>&1 <<EOF
table inet palnfq {
	chain output {
		type filter hook output priority filter; policy accept;
		meta mark & 0x100 == 0x100 counter accept
		tcp dport 443 ct state established counter queue num $QUEUE
	}
}
EOF
    ); then
        WHY="nf_tables with the queue statement (nft_queue): $out"
        return 2
    fi
}

# The packets that the mark rule accepted, and that the queue rule sent to
# the queue (all families), as the backend counts them.
rule_counts() {
    if [ "$B" = nft ]; then
        "${IN[@]}" nft list chain inet palnfq output
    else
        "${IN[@]}" iptables-legacy-save -c -t filter
        [ ${#FAMILIES[@]} = 1 ] || "${IN[@]}" ip6tables-legacy-save -c -t filter
    fi
}
mark_count() {
    rule_counts | sed -nE \
        -e 's/^\[([0-9]+):[0-9]+\] -A OUTPUT -m mark --mark 0x100\/0x100 -j ACCEPT$/\1/p' \
        -e 's/.*meta mark .* counter packets ([0-9]+) bytes [0-9]+ accept.*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }'
}
queue_count() {
    rule_counts | sed -nE \
        -e 's/^\[([0-9]+):[0-9]+\] -A OUTPUT .*-j NFQUEUE --queue-num [0-9]+$/\1/p' \
        -e 's/.* counter packets ([0-9]+) bytes [0-9]+ queue .*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }'
}
# The kernel's line for the queue: num portid waiting copy_mode copy_range
# dropped user_dropped id_sequence 1.
queue_line() { "${IN[@]}" awk -v q="$QUEUE" '$1 == q' /proc/net/netfilter/nfnetlink_queue; }
queue_dropped() { queue_line | awk '{ print $6 + 0 }'; }

# --- the programs ---

ANSWERERS=0
# start_answerer ARGS...: the answerer in the namespace; APID, AOUT, AERR.
# Fails when it does not say ready.
start_answerer() {
    ANSWERERS=$((ANSWERERS + 1))
    AOUT=$WORK/answer.$B.$ANSWERERS
    AERR=$AOUT.err
    "${IN[@]}" "$A" "$@" >"$AOUT" 2>"$AERR" &
    APID=$!
    on_cleanup "kill $APID"
    wait_for_text "$AOUT" ready 10
}
# stop_answerer: SIGTERM; ARC its status.
stop_answerer() {
    kill -TERM "$APID" 2>/dev/null
    wait "$APID"
    ARC=$?
}
# client FAMILY TEXT WAIT_MS: connects to the server, sends TEXT, waits for
# the echo; prints reply|no-reply|...
client() { "${IN[@]}" "$P" send --tcp --wait "$3" "$(addr_of "$1")" 443 "$2" 2>&1; }
# client_bg FAMILY TEXT: the same in the background, for 30 s; CPID, COUT.
client_bg() {
    COUT=$WORK/client.$B.$1.$2
    "${IN[@]}" "$P" send --tcp --wait 30000 "$(addr_of "$1")" 443 "$2" >"$COUT" 2>&1 &
    CPID=$!
    on_cleanup "kill $CPID"
}
# The server got TEXT: prints the client port it came from.
server_got() { sed -nE "s/^got port=([0-9]+) $1\$/\\1/p" "$SOUT"; }
count_at_least() { [ "$(grep -cF -- "$3" "$2")" -ge "$1" ]; }
at_least() { [ "$("$2")" -ge "$1" ]; }

# after_blocking WHAT FAMILY TEXT: the data was kept from the server so
# far; an accepting answerer now lets a retransmission through, which shows
# that the data was there to arrive.
after_blocking() {
    expect_no_match "$B IPv$2, $1: the data never reaches the server" " $3\$" "$(cat "$SOUT")"
    expect_no_match "$B IPv$2, $1: the client gets no echo" reply "$(cat "$COUT")"
    if ! start_answerer "$QUEUE" accept; then
        fail "$B IPv$2, $1: an accepting answerer bound the queue: $(cat "$AERR")"
        return
    fi
    wait "$CPID"
    expect_match "$B IPv$2, $1, then accepted: a retransmission brings the echo" '^reply' \
        "$(cat "$COUT")"
    expect_match "$B IPv$2, $1, then accepted: the server got the data" '^[0-9]+$' \
        "$(server_got "$3")"
    stop_answerer
}

# --- the checks, per backend ---

run_backend() {
    B=$1
    NS=$NSBASE$B
    IN=(ip netns exec "$NS")
    if ! ip netns add "$NS"; then
        fail "$B: making network namespace $NS"
        return
    fi
    on_cleanup "ip netns del $NS"
    ip -n "$NS" link set lo up || { fail "$B: loopback up in $NS"; return; }
    WHY=
    setup_"$B"
    case $? in
        0) ;;
        2) if [ "$B" = legacy ]; then skip_all "this kernel does not offer $WHY"; fi
           skip "$B: the packet queue under $B rules" "this kernel does not offer $WHY"
           return ;;
        *) fail "$B: installing the rules in $NS"; return ;;
    esac

    SOUT=$WORK/server.$B
    "${IN[@]}" python3 "$WORK/server.py" "${FAMILIES[@]}" >"$SOUT" 2>&1 &
    local spid=$!
    on_cleanup "kill $spid"
    if ! wait_for_text "$SOUT" serving 10; then
        fail "$B: the server listens on port 443: $(cat "$SOUT")"
        return
    fi

    local f t r port

    # accept
    if ! start_answerer "$QUEUE" accept; then
        if [ "$B" = legacy ] && grep -q "no nfnetlink_queue" "$AERR"; then
            skip_all "$(cat "$AERR")"
        fi
        fail "$B: the answerer bound queue $QUEUE: $(cat "$AERR")"
        return
    fi
    pass "$B: the answerer bound queue $QUEUE"
    expect_match "$B: the kernel holds the queue as configured (copy mode packet, 4096 bytes)" \
        "^ *$QUEUE +[0-9]+ +[0-9]+ +2 +4096 " "$(queue_line)"
    if [ "$B" = legacy ]; then
        # The queue has one owner: a second one is refused, with a reason.
        r=$("${IN[@]}" timeout 10 "$A" "$QUEUE" accept 2>&1)
        expect_eq "a second answerer on the same queue fails" 1 "$?"
        expect_match "a second answerer says why" "queue $QUEUE: another program holds" "$r"
        # Without CAP_NET_ADMIN the kernel refuses, and the message says
        # what to do.
        r=$("${IN[@]}" setpriv --reuid 1000 --regid 1000 --clear-groups \
            timeout 10 "$A" $((QUEUE + 1)) accept 2>&1)
        expect_eq "an answerer without CAP_NET_ADMIN fails" 1 "$?"
        expect_match "an answerer without CAP_NET_ADMIN says what to do" "NET_ADMIN" "$r"
        expect_no_match "an answerer without CAP_NET_ADMIN is never ready" ready "$r"
    fi
    for f in "${FAMILIES[@]}"; do
        t=acc$f-$$
        r=$(client "$f" "$t" 5000)
        expect_match "$B IPv$f, answerer accepts: the client gets its echo" '^reply' "$r"
        port=$(server_got "$t")
        expect_match "$B IPv$f, answerer accepts: the server got the data" '^[0-9]+$' "$port"
        wait_for_text "$AOUT" "head=$t " 5
        expect_match "$B IPv$f: the answerer's line is the segment sent (addresses, ports, length, bytes)" \
            "^packet id=[0-9]+ family=$f src=$(addr_re "$f") dst=$(addr_re "$f") sport=${port:-none} dport=443 seq=[0-9]+ flags=0x18 mark=0x0 len=${#t} full=[0-9]+ head=$t verdict=accept\$" \
            "$(cat "$AOUT")"
        expect_match "$B IPv$f: the handshake's last ACK came through the queue, without data" \
            "^packet id=[0-9]+ family=$f .* sport=${port:-none} dport=443 .* flags=0x10 mark=0x0 len=0 " \
            "$(cat "$AOUT")"
    done
    stop_answerer
    diag "$(sed "s/^/$B answerer: /" "$AOUT")"
    expect_eq "$B: the answerer exits 0" 0 "$ARC"
    expect_match "$B: the answerer counts its packets" '^done packets=[1-9][0-9]*$' \
        "$(tail -n 1 "$AOUT")"

    # A verdict the kernel refuses (the second one for a packet) is
    # reported, and the queue goes on.
    if [ "$B" = legacy ]; then
        t=twice4-$$
        if start_answerer "$QUEUE" accept-twice; then
            r=$(client 4 "$t" 5000)
            expect_match "a second verdict for each packet: the first one counts" '^reply' "$r"
            local id
            # The first packet queued (the handshake's last ACK) is the
            # first one refused.
            id=$(sed -nE '1,/^packet /s/^packet id=([0-9]+) .*/\1/p' "$AOUT")
            if wait_for_text "$AERR" "packet ${id:-none}:" 5; then
                pass "a second verdict: the kernel's refusal is reported"
            else
                fail "a second verdict: the kernel's refusal is reported"
            fi
            expect_match "a second verdict: the report names the packet and the error" \
                "^warning: nfqueue $QUEUE: the kernel refused the verdict for packet ${id:-none}: No such file or directory \(no such packet waits: answered twice\?\)" \
                "$(cat "$AERR")"
            stop_answerer
            expect_eq "a second verdict: the answerer goes on, and exits 0" 0 "$ARC"
            mv "$AERR" "$WORK/twice.err"
        else
            fail "an answerer that answers twice bound the queue: $(cat "$AERR")"
        fi
    fi

    # drop
    for f in "${FAMILIES[@]}"; do
        t=drop$f-$$
        if ! start_answerer "$QUEUE" drop; then
            fail "$B IPv$f: a dropping answerer bound the queue: $(cat "$AERR")"
            continue
        fi
        client_bg "$f" "$t"
        if wait_until 15 count_at_least 2 "$AOUT" "head=$t verdict=drop"; then
            pass "$B IPv$f, answerer drops: the data segment and a retransmission were queued"
        else
            fail "$B IPv$f, answerer drops: the data segment and a retransmission were queued: $(cat "$AOUT")"
        fi
        stop_answerer
        after_blocking "answerer drops" "$f" "$t"
    done

    # repeat-mark
    for f in "${FAMILIES[@]}"; do
        t=rep$f-$$
        local m0 m1
        m0=$(mark_count)
        if ! start_answerer "$QUEUE" repeat-mark 0x100; then
            fail "$B IPv$f: a repeating answerer bound the queue: $(cat "$AERR")"
            continue
        fi
        r=$(client "$f" "$t" 5000)
        expect_match "$B IPv$f, repeat with mark 0x100: the client gets its echo" '^reply' "$r"
        expect_match "$B IPv$f, repeat with mark 0x100: the server got the data" '^[0-9]+$' \
            "$(server_got "$t")"
        m1=$(mark_count)
        if [ "$m1" -gt "$m0" ]; then
            pass "$B IPv$f, repeat with mark 0x100: the packets passed the mark rule ($m0 -> $m1)"
        else
            fail "$B IPv$f, repeat with mark 0x100: the packets passed the mark rule ($m0 -> $m1)"
        fi
        expect_eq "$B IPv$f, repeat with mark 0x100: the data segment was queued once" 1 \
            "$(grep -cF "head=$t " "$AOUT")"
        expect_match "$B IPv$f, repeat with mark 0x100: queued unmarked, answered with the mark" \
            " mark=0x0 len=${#t} full=[0-9]+ head=$t verdict=repeat-mark:0x100\$" "$(cat "$AOUT")"
        stop_answerer
    done

    # no answerer: the kernel drops what the rule queues
    for f in "${FAMILIES[@]}"; do
        t=none$f-$$
        local q0
        q0=$(queue_count)
        client_bg "$f" "$t"
        # The handshake's last ACK, the data, and retransmissions.
        if wait_until 15 at_least $((q0 + 4)) queue_count; then
            pass "$B IPv$f, no answerer: the rule sent the data and its retransmissions to the queue"
        else
            fail "$B IPv$f, no answerer: the rule sent the data and its retransmissions to the queue ($q0 -> $(queue_count))"
        fi
        after_blocking "no answerer" "$f" "$t"
    done

    # The queue full: one packet held, the next ones are dropped, not let
    # through (fail-open off).
    t=full4-$$
    if start_answerer --maxlen 1 "$QUEUE" hold; then
        client_bg 4 "$t"
        if wait_until 15 at_least 2 queue_dropped; then
            pass "$B, queue full: the kernel dropped the packets past its length"
        else
            fail "$B, queue full: the kernel dropped the packets past its length: $(queue_line)"
        fi
        expect_eq "$B, queue full: the answerer was handed the one packet the queue held" 1 \
            "$(grep -c '^packet ' "$AOUT")"
        stop_answerer
        after_blocking "queue full" 4 "$t"
    else
        fail "$B: a holding answerer bound the queue: $(cat "$AERR")"
    fi

    local e
    e=$(cat "$WORK"/answer."$B".*.err)
    expect_eq "$B: the answerers reported nothing amiss" "" "$e"
}

run_backend legacy
run_backend nft

finish
