# A small world for the fence tests: a "world" network namespace joined to
# the sandbox's by a veth pair, with addresses of both families, a real
# resolver (dnsmasq) that answers for the test names, and TCP and UDP echo
# listeners. Only these namespaces and loopback ever see traffic.
#
#   world 10.77.0.1 fd77::1 (gateway and resolver)
#     10.77.0.10 fd77::10  allowed.test (also shared.test: 10.77.0.10, and
#                          other.test, which no suite allows but names.sh
#                          asks this host for)
#     10.77.0.11           a neighbour of allowed.test, never allowed
#     10.77.0.20 fd77::30  blocked.test
#     10.77.0.30           port.test
#     fd77::20             v6only.test (AAAA only)
#     10.77.1.5            inside the allowed CIDR 10.77.1.0/24
#     169.254.169.254      the cloud metadata address
#   sandbox 10.77.0.2 fd77::2
#
# Each host echoes TCP and UDP on its ports (probe serve). With WORLD_WEB=1,
# allowed.test's ports 80 and 443 (both families) and 10.77.0.10:8443 are a
# web server instead (world_web).

make_world() {
    # The world's hosts have both families: on a kernel without IPv6 none
    # of the checks made in it could run.
    if ! kernel_offers ipv6; then
        skip_all "the test world has IPv6 hosts, and this kernel has no IPv6 ($WHY)"
    fi
    local id=$$
    WORLD=palw$id
    SANDBOX_NS=pals$id
    local vw=pw$id vs=ps$id
    ip netns add "$WORLD"
    on_cleanup "ip netns del $WORLD"
    ip netns add "$SANDBOX_NS"
    on_cleanup "ip netns del $SANDBOX_NS"
    ip link add "$vw" netns "$WORLD" type veth peer name "$vs" netns "$SANDBOX_NS"
    local W="ip -n $WORLD" S="ip -n $SANDBOX_NS"
    $W link set lo up
    $W link set "$vw" up
    $S link set lo up
    $S link set "$vs" up
    local a
    for a in 10.77.0.1/24 10.77.0.10/24 10.77.0.11/24 10.77.0.20/24 10.77.0.30/24 \
             10.77.1.5/24 169.254.169.254/32; do
        $W addr add "$a" dev "$vw"
    done
    for a in fd77::1/64 fd77::10/64 fd77::20/64 fd77::30/64; do
        $W addr add "$a" dev "$vw" nodad
    done
    $S addr add 10.77.0.2/24 dev "$vs"
    $S addr add fd77::2/64 dev "$vs" nodad
    $S route add default via 10.77.0.1
    $S -6 route add default via fd77::1

    DNS_LOG=$WORK/dnsmasq.log
    ip netns exec "$WORLD" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
        --user=root --group=root --bind-interfaces --listen-address=10.77.0.1 \
        --listen-address=fd77::1 --local=/test/ --log-queries --log-facility="$DNS_LOG" \
        --pid-file="$WORK/dnsmasq.pid" \
        --host-record=allowed.test,10.77.0.10,fd77::10 \
        --host-record=shared.test,10.77.0.10 \
        --host-record=v6only.test,fd77::20 \
        --host-record=blocked.test,10.77.0.20,fd77::30 \
        --host-record=port.test,10.77.0.30 \
        --host-record=other.test,10.77.0.10,fd77::10 \
        2>"$WORK/dnsmasq.err" &
    on_cleanup "kill $!"

    local echoes=(10.77.0.1 80 10.77.0.10 8080 10.77.0.10 22
        10.77.0.11 80 10.77.0.11 443 10.77.0.20 80 10.77.0.20 443 10.77.0.20 53
        10.77.0.30 80 10.77.0.30 443 10.77.0.30 8443 10.77.1.5 443
        169.254.169.254 80 fd77::20 443 fd77::30 443 fd77::30 53)
    if [ "${WORLD_WEB:-0}" = 1 ]; then
        world_web || return 1
    else
        echoes+=(10.77.0.10 80 10.77.0.10 443 fd77::10 80 fd77::10 443)
    fi
    ip netns exec "$WORLD" "$PROBE" serve "${echoes[@]}" >"$WORK/serve.log" 2>&1 &
    on_cleanup "kill $!"

    local i
    for i in $(seq 1 100); do
        if grep -q serving "$WORK/serve.log" 2>/dev/null &&
           { [ "${WORLD_WEB:-0}" != 1 ] || grep -q '^serving$' "$WEB_LOG" 2>/dev/null; } &&
           ip netns exec "$SANDBOX_NS" "$PROBE" dns allowed.test 10.77.0.1 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    diag "world did not come up: $(cat "$WORK/serve.log" "${WEB_LOG:-/dev/null}" "$WORK/dnsmasq.err")"
    return 1
}

# world_web: a test certificate authority, WEB_CA (made here, with the
# openssl command), and a web server on allowed.test's address that serves
# every name its certificate covers (allowed.test, other.test) as a CDN's
# address does: HTTPS on 10.77.0.10 and fd77::10 port 443 and on
# 10.77.0.10:8443, plain HTTP on port 80 of both, and a UDP echo on 443 of
# both (where a QUIC server would be). It logs what reaches it in WEB_LOG
# (tests/integration/names-server.py says how).
world_web() {
    local d=$WORK/ca out
    mkdir -p "$d"
    WEB_CA=$d/ca.pem
    WEB_LOG=$WORK/web.log
    if ! out=$( {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/ca.key" -out "$WEB_CA" -days 2 -subj /CN=palisade-test-ca \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/web.key" -out "$d/web.csr" -subj /CN=allowed.test &&
        printf '%s\n' 'subjectAltName=DNS:allowed.test,DNS:other.test' \
            'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
            'extendedKeyUsage=serverAuth' > "$d/web.ext" &&
        openssl x509 -req -in "$d/web.csr" -CA "$WEB_CA" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/web.ext" -out "$d/web.pem"
    } 2>&1 ); then
        diag "the test certificates: $out"
        return 1
    fi
    ip netns exec "$WORLD" python3 "$(dirname "${BASH_SOURCE[0]}")/names-server.py" \
        "$d/web.pem" "$d/web.key" tls:10.77.0.10:443 tls:[fd77::10]:443 \
        tls:10.77.0.10:8443 http:10.77.0.10:80 http:[fd77::10]:80 \
        udp:10.77.0.10:443 udp:[fd77::10]:443 >"$WEB_LOG" 2>&1 &
    on_cleanup "kill $!"
}


# world_root: the sandbox's root tree $R, whose resolver is the world's,
# and the world; NETNS names the sandbox's network namespace.
world_root() {
    R=$WORK/root
    make_root "$R"
    echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
    make_world || { fail "the test world"; finish; }
    export NETNS=$SANDBOX_NS
}
