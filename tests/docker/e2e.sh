#!/usr/bin/env bash
# End-to-end tests under a real container engine, Docker or rootful
# Podman: the images build from this tree with its own Dockerfiles, and
# each check is what a user of `docker run` (or `podman run`), `stop`,
# `exec` or the Dev Containers CLI sees. All traffic stays on an --internal
# network of the engine's, and on the test's own resolver. Every container
# palisade fences is given PALISADE_BACKEND, and the checks that read the
# fence in the kernel read the backend's own tables.
#
#   [ENGINE=docker|podman] [PALISADE_BACKEND=legacy|nft] tests/docker/e2e.sh [BUILD_DIR]
#                                   (as root; default BUILD_DIR: build,
#                                   default backend: legacy)
#
# The images are the same for both backends: a second run finds every
# build step in the engine's cache.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
export PALISADE=$BUILD/palisade PROBE=$BUILD/tests/palisade-probe
. "$ROOT/tests/integration/lib.sh"
ENGINE=${ENGINE:-docker}
# lib.sh defaults PALISADE_BACKEND to legacy.
BACKEND=$PALISADE_BACKEND
TEST_NAME=$ENGINE-e2e-$BACKEND
need_root
case $ENGINE in
docker | podman) ;;
*) echo "Bail out! ENGINE=$ENGINE: docker or podman"; exit 1 ;;
esac
case $BACKEND in
legacy | nft) ;;
*) echo "Bail out! PALISADE_BACKEND=$BACKEND: legacy or nft"; exit 1 ;;
esac
[ "$BACKEND" = legacy ] || need_nft_kernel
diag "$ENGINE, fence backend $BACKEND"
"$ROOT/scripts/docker-engine.sh" "$ENGINE" >&2 || { echo "Bail out! no $ENGINE engine"; exit 1; }

P=palisade-e2e
BASE=palisade-test/bookworm
LABEL="$P.run=$$"
NET=$P-net-$$
on_cleanup "$ENGINE network rm $NET"
on_cleanup "$ENGINE ps -aq --filter label=$LABEL | xargs -r $ENGINE rm -f"
# A container palisade fences, with the backend under test.
fenced() { $ENGINE run --label "$LABEL" -e "PALISADE_BACKEND=$BACKEND" "$@"; }

# Where the engines differ, all in one place.
case $ENGINE in
docker)
    SUBNET=172.31.254
    # Docker's embedded DNS, in every container's resolv.conf, answers the
    # network's names and aliases itself and asks --dns for the rest.
    ENGINE_DNS=127.0.0.11
    ENGINE_DNS_NAME="Docker's embedded DNS"
    ENGINE_DNS_TCP=yes
    RESOLVES="Docker's embedded DNS resolves the allowed name through palisade"
    NAMES_AT_UPSTREAM=no
    # What the engine adds to a container it creates.
    ENGINE_FILES='^/\.dockerenv$'
    DC_RUN_ARGS=  # more of the devcontainer's runArgs
    network_ready() { :; }
    ;;
podman)
    # A subnet of its own: both engines' tests may run at once.
    SUBNET=172.31.253
    # Podman's aardvark-dns answers the network's names at its gateway, but
    # it asks the host's resolvers for other names, and a container given
    # --dns (Podman 4.3) has only that server in its resolv.conf: the
    # test's resolver answers every test name, and aardvark-dns stays
    # there for the direct-query checks.
    ENGINE_DNS=$SUBNET.1
    ENGINE_DNS_NAME="Podman's aardvark-dns"
    # aardvark-dns 1.4 serves UDP alone: a TCP query to it is refused by
    # the kernel, fence or no fence, and would show nothing.
    ENGINE_DNS_TCP=no
    RESOLVES="the allowed name resolves through palisade"
    NAMES_AT_UPSTREAM=yes
    ENGINE_FILES='^/run/\.containerenv$'
    # The Dev Containers CLI adds --userns=keep-id under Podman when the
    # remote user is not root, which rootful Podman refuses; the last
    # --userns wins.
    DC_RUN_ARGS=" \"--dns=$SUBNET.53\", \"--userns=host\","
    # Rootful Podman asks the runtime for 1048576 open files and sets its
    # own process limit to 32768, and raising a limit needs
    # CAP_SYS_RESOURCE, which a runner in a container may lack: then the
    # containers get the limits the runner has.
    eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
    if ! (( (0x$eff >> 24) & 1 )); then
        nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
        if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
        printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
            "$nofile" "$nofile" "$nproc" "$nproc" > "$WORK/containers.conf"
        export CONTAINERS_CONF=$WORK/containers.conf
        diag "no CAP_SYS_RESOURCE: containers get nofile=$nofile nproc=$nproc"
    fi
    # netavark adds no forwarding rule for an --internal network, and where
    # Docker runs too it has set FORWARD's policy to DROP and loaded
    # br_netfilter: traffic between the network's containers is let through
    # for the test.
    network_ready() {
        local br
        br=$(podman network inspect -f '{{.NetworkInterface}}' "$NET")
        if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
            iptables -w -I FORWARD -i "$br" -o "$br" -j ACCEPT
            on_cleanup "iptables -w -D FORWARD -i $br -o $br -j ACCEPT"
        fi
    }
    ;;
esac
DNS=$SUBNET.53

build() { # build "what" build-args...
    local what=$1
    shift
    if $ENGINE build -q "$@" >"$WORK/build.log" 2>&1; then
        pass "$what builds"
    else
        fail "$what builds: $(tail -n 20 "$WORK/build.log")"
        finish
    fi
}

# The images, from this tree, with the repo's Dockerfiles.
build "the palisade image (Dockerfile)" --build-arg BASE=$BASE -t $P/palisade "$ROOT"
expect_match "the palisade image holds a working /palisade" '^palisade [0-9.]+$' \
    "$($ENGINE run --rm $P/palisade --version)"
expect_eq "the palisade image holds only /palisade" "/palisade" \
    "$($ENGINE export "$($ENGINE create --label "$LABEL" $P/palisade)" | tar -t | grep -v '/$' | sed 's|^|/|' | grep -Ev "$ENGINE_FILES|^/dev/|^/etc/|^/proc/|^/sys/")"
build "images/ci-smoke" --build-arg BASE=$BASE --build-arg PALISADE_IMAGE=$P/palisade \
    -t $P/ci-smoke "$ROOT/images/ci-smoke"
mkdir -p "$WORK/agent"
cp "$PROBE" "$WORK/agent/palisade-probe"
cp "$ROOT/tests/docker/agent.Dockerfile" "$WORK/agent/Dockerfile"
build "the test agent image" --build-arg SMOKE=$P/ci-smoke -t $P/agent "$WORK/agent"
STANDIN='printf "#!/bin/sh\necho \"claude stand-in: \$*\"\nid -un\n" > /usr/local/bin/claude && chmod 0755 /usr/local/bin/claude'
build "images/claude-code (stand-in install step)" --build-arg BASE=$BASE \
    --build-arg PALISADE_IMAGE=$P/palisade --build-arg "INSTALL=$STANDIN" \
    -t $P/claude-code "$ROOT/images/claude-code"
build "the devcontainer stand-in base" --build-arg BASE=$BASE -t $P/devcontainer-base \
    -f "$ROOT/tests/docker/devcontainer-base.Dockerfile" "$ROOT/tests/docker"
build "the test resolver (dnsmasq)" --build-arg BASE=$BASE -t $P/dnsmasq \
    -f "$ROOT/tests/docker/dnsmasq.Dockerfile" "$ROOT/tests/docker"

# An internal network with servers that the engine's DNS names, and a
# resolver of our own (dnsmasq, with a query log) for the names the engine
# does not know.
$ENGINE network create --internal --subnet $SUBNET.0/24 "$NET" >/dev/null
network_ready
server() { # server NAME [ALIAS...]: prints its address
    local name=$1 a args=()
    for a in "$@"; do args+=(--network-alias "$a"); done
    $ENGINE run -d --label "$LABEL" --name "$P-$name-$$" --network "$NET" "${args[@]}" \
        --entrypoint /bin/probe $P/agent serve 0.0.0.0 80 0.0.0.0 443 0.0.0.0 8080 0.0.0.0 53 >/dev/null
    $ENGINE inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$P-$name-$$"
}
A=$(server allowed.test)
B=$(server blocked.test)
W=$(server a.wild.test wild.test notwild.test)
mkdir -p "$WORK/hosts"
hosts() { # hosts ADDRESS: the test resolver's names, rotating.test at ADDRESS
    printf '%s rotating.test\n' "$1"
    if [ $NAMES_AT_UPSTREAM = yes ]; then
        printf '%s allowed.test\n%s blocked.test\n' "$A" "$B"
        printf '%s a.wild.test wild.test notwild.test\n' "$W"
    fi
}
hosts "$A" > "$WORK/hosts/hosts"
$ENGINE run -d --label "$LABEL" --name "$P-dnsmasq-$$" --network "$NET" --ip "$DNS" \
    -v "$WORK/hosts":/hosts:ro $P/dnsmasq >/dev/null
upstream_log() { $ENGINE logs "$P-dnsmasq-$$" 2>&1; }
for _ in $(seq 1 50); do upstream_log | grep -q started && break; sleep 0.1; done
# The test network's addresses are private (172.31.254.0/24): its names are
# opted in to them.
agent() { fenced --rm --cap-add NET_ADMIN --network "$NET" --dns "$DNS" \
              -e PALISADE_ALLOW="allowed.test *.wild.test rotating.test" \
              -e PALISADE_ALLOW_PRIVATE="allowed.test *.wild.test rotating.test" "$@"; }

# The agent reaches the allowed name and is refused the other, by name and
# by address, at once; names go through palisade's filter to the engine's
# resolver (Docker's embedded DNS) or the test's, which still answers.
TUNNEL=$(head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n')
OUT=$(agent $P/agent sh -c '
    addr() { nslookup "$1" 2>/dev/null | awk "/^Name:/ {n=1} n && /^Address/ {print \$2; exit}"; }
    echo "dns-allowed: $(addr allowed.test)"
    echo "dns-blocked: $(probe dns blocked.test 127.0.0.1 | head -n 1)"
    echo "name-allowed: $(nc -w 3 allowed.test 80 </dev/null 2>&1 | head -n 1)"
    echo "name-blocked: $(nc -w 3 blocked.test 80 </dev/null 2>&1 | head -n 1)"
    echo "addr-allowed: $(probe tcp '"$A"' 443)"
    echo "addr-blocked: $(probe tcp '"$B"' 443)"
    echo "allowed-8080: $(probe tcp '"$A"' 8080)"
    echo "udp53-blocked: $(probe udp '"$B"' 53)"
    echo "wild-sub: $(addr a.wild.test)"
    echo "wild-apex: $(probe dns wild.test 127.0.0.1 | head -n 1)"
    echo "wild-sibling: $(probe dns notwild.test 127.0.0.1 | head -n 1)"
    echo "wild-tcp: $(probe tcp '"$W"' 443)"
    echo "embedded-direct: $(probe dns allowed.test '"$ENGINE_DNS"' | head -n 1)"
    echo "embedded-direct-tcp: $(probe dns allowed.test '"$ENGINE_DNS"' tcp | head -n 1)"
    echo "upstream-direct: $(probe dns rotating.test '"$DNS"' | head -n 1)"
    echo "rotating: $(addr rotating.test)"
    echo "tunnel: $(probe dns '"$TUNNEL"'.blocked.test 127.0.0.1 udp TXT | head -n 1)"
    echo "tunnel-tcp: $(probe dns '"$TUNNEL"'x.exfil.example 127.0.0.1 tcp | head -n 1)"
    echo "resolv: $(grep -m 1 ^nameserver /etc/resolv.conf)"
' 2>"$WORK/err"); RC=$?
ERR=$(cat "$WORK/err")
field() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }
expect_eq "the agent ran" 0 "$RC"
expect_eq "the agent's resolver is palisade" "nameserver 127.0.0.1" "$(field resolv)"
expect_eq "$RESOLVES" "$A" "$(field dns-allowed)"
expect_match "the other name gets NXDOMAIN" '^NXDOMAIN' "$(field dns-blocked)"
expect_eq "the allowed name is reached" "hello" "$(field name-allowed)"
expect_match "the other name is refused" "bad address 'blocked.test'" "$(field name-blocked)"
expect_eq "*.wild.test: a subdomain resolves" "$W" "$(field wild-sub)"
expect_match "*.wild.test: and is reached" '^open' "$(field wild-tcp)"
expect_match "*.wild.test: not wild.test itself" '^NXDOMAIN' "$(field wild-apex)"
expect_match "*.wild.test: not notwild.test" '^NXDOMAIN' "$(field wild-sibling)"
expect_match "a direct query to $ENGINE_DNS_NAME ($ENGINE_DNS) is refused (UDP)" '^(refused|denied)' "$(field embedded-direct)"
if [ $ENGINE_DNS_TCP = yes ]; then
    expect_match "a direct query to $ENGINE_DNS_NAME ($ENGINE_DNS) is refused (TCP)" '^(refused|denied)' "$(field embedded-direct-tcp)"
else
    skip "a direct query to $ENGINE_DNS_NAME ($ENGINE_DNS) is refused (TCP)" "$ENGINE_DNS_NAME serves no TCP"
fi
expect_match "a direct query to the upstream resolver is refused" '^(refused|denied)' "$(field upstream-direct)"
expect_eq "a name the engine does not know goes to the upstream through palisade" "$A" "$(field rotating)"
expect_match "tunnelling: NXDOMAIN" '^NXDOMAIN' "$(field tunnel)"
expect_match "tunnelling over TCP: NXDOMAIN" '^NXDOMAIN' "$(field tunnel-tcp)"
expect_no_match "tunnelling: no query of it reached the upstream resolver" "$TUNNEL" "$(upstream_log)"
expect_match "the upstream resolver saw the allowed name" 'query\[A\] rotating\.test' "$(upstream_log)"
expect_match "the allowed address is reached" '^open' "$(field addr-allowed)"
expect_match "the other address is refused" '^refused ms=[0-9]+' "$(field addr-blocked)"
ms=$(field addr-blocked | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
check "the refusal is fast (${ms:-?} ms)" test "${ms:-9999}" -lt 500
expect_match "the allowed host on a port not allowed is refused" '^refused' "$(field allowed-8080)"
expect_match "UDP 53 to a host that is not the resolver is refused" '^(denied|refused)' "$(field udp53-blocked)"
expect_match "the summary names what is allowed" 'fenced: IPv4: 2 names, 1 address' "$ERR"
expect_match "a refused connection is logged with its name" \
    "refused tcp to $A port 8080 \\(allowed\\.test\\) from uid 1000: not in the allowlist" "$ERR"

# Without the opt-in, an allowed name's private address stays out of the
# fence, and palisade says why.
OUT=$(fenced --rm --cap-add NET_ADMIN --network "$NET" --dns "$DNS" \
      -e PALISADE_ALLOW=allowed.test $P/agent sh -c "probe tcp $A 443" 2>"$WORK/err")
expect_match "without PALISADE_ALLOW_PRIVATE: the name's private address is refused" '^refused' "$OUT"
expect_match "without PALISADE_ALLOW_PRIVATE: the refusal is logged by name" \
    "refused $A for allowed\\.test: a private address \\(172\\.16\\.0\\.0/12\\); allowed for a name only with --allow-private allowed\\.test" \
    "$(cat "$WORK/err")"

# A name whose address changes (TTL 1 s) stays reachable on the new one.
C=$P-rotate-$$
fenced -d --name "$C" --cap-add NET_ADMIN --network "$NET" --dns "$DNS" \
    -e PALISADE_ALLOW=rotating.test -e PALISADE_ALLOW_PRIVATE=rotating.test $P/agent sh -c '
    addr() { probe dns rotating.test 127.0.0.1 | sed -n "s/^A \([0-9.]*\) .*/\1/p" | head -n 1; }
    a=$(addr); echo "first: $a $(probe tcp $a 80)"
    while [ ! -e /tmp/go ]; do sleep 0.1; done
    b=$(addr); echo "second: $b $(probe tcp $b 80)"
    exec sleep 600' >/dev/null
for _ in $(seq 1 100); do $ENGINE logs "$C" 2>/dev/null | grep -q '^first' && break; sleep 0.1; done
hosts "$B" > "$WORK/hosts/hosts"
$ENGINE kill -s HUP "$P-dnsmasq-$$" >/dev/null
sleep 1.5
$ENGINE exec "$C" touch /tmp/go
for _ in $(seq 1 100); do $ENGINE logs "$C" 2>/dev/null | grep -q '^second' && break; sleep 0.1; done
LOG=$($ENGINE logs "$C" 2>/dev/null)
expect_match "rotating: the first address is reached" "^first: $A open" "$LOG"
expect_match "rotating: the new address is reached" "^second: $B open" "$LOG"
ST=$($ENGINE exec "$C" palisade status 2>&1)
expect_match "$ENGINE exec palisade status: the new address, with its time left" "$B +[0-9]+ s left" "$ST"
expect_match "$ENGINE exec palisade status: the start-time address, permanent" "$A +permanent" "$ST"
expect_match "$ENGINE exec palisade status: the counts" 'DNS queries: [0-9]+ allowed, 0 refused' "$ST"

# Audit mode: nothing refused, and its report, given back as the allowlist,
# lets the same run through with the fence on.
mkdir -p "$WORK/audit"
AUDIT_RUN='echo "name: $(nc -w 3 blocked.test 80 </dev/null 2>&1 | head -n 1)"; echo "port: $(probe tcp '"$A"' 8080)"'
OUT=$(fenced --rm --cap-add NET_ADMIN --network "$NET" --dns "$DNS" \
      -v "$WORK/audit":/audit --entrypoint /sbin/palisade $P/agent \
      --audit --audit-report /audit/allow -a allowed.test --allow-private allowed.test \
      -- sh -c "$AUDIT_RUN" 2>"$WORK/err")
expect_eq "audit: a name the allowlist refuses is reached" hello "$(field name)"
expect_match "audit: a port the allowlist refuses is reached" '^open' "$(field port)"
expect_match "audit: it says what would be refused" 'audit: DNS query for blocked\.test \(A\) would be refused' "$(cat "$WORK/err")"
# Entries for PALISADE_ALLOW, "private NAME" lines for PALISADE_ALLOW_PRIVATE.
REPORT=$(grep -v -e '^#' -e '^private ' "$WORK/audit/allow" 2>/dev/null | tr '\n' ' ')
REPORT_PRIVATE=$(sed -n 's/^private //p' "$WORK/audit/allow" 2>/dev/null | tr '\n' ' ')
expect_match "audit: the report names the name and the port" "blocked\.test .*$A:8080|$A:8080 .*blocked\.test" "$REPORT"
expect_match "audit: the report opts the name's private address in" '(^| )blocked\.test( |$)' "$REPORT_PRIVATE"
OUT=$(fenced --rm --cap-add NET_ADMIN --network "$NET" --dns "$DNS" \
      -e PALISADE_ALLOW="$REPORT" -e PALISADE_ALLOW_PRIVATE="$REPORT_PRIVATE" $P/agent \
      sh -c "$AUDIT_RUN" 2>"$WORK/err")
expect_eq "the report as the allowlist: the name is reached" hello "$(field name)"
expect_match "the report as the allowlist: the port is reached" '^open' "$(field port)"
expect_no_match "the report as the allowlist: nothing refused" 'refused' "$(cat "$WORK/err")"
OUT=$(agent $P/agent sh -c "$AUDIT_RUN" 2>/dev/null)
expect_match "control: without it, the name is refused" "bad address" "$(field name)"

# The backend asked for is the one palisade takes (-v says which, and why);
# by default it takes nf_tables, which the engine's kernel offers.
BACKEND_RUN=(--rm --cap-add NET_ADMIN --network "$NET" --entrypoint /sbin/palisade $P/agent -v)
expect_match "PALISADE_BACKEND=$BACKEND: the fence goes in through $BACKEND" \
    "fence backend: $BACKEND \\(asked for" "$(fenced "${BACKEND_RUN[@]}" -- true 2>&1)"
if [ "$BACKEND" = nft ]; then
    expect_match "by default (auto): nf_tables, which the engine's kernel offers" \
        'fence backend: nft \(auto: the kernel offers nf_tables\)' \
        "$(fenced "${BACKEND_RUN[@]}" --backend auto -- true 2>&1)"
fi

# Exit statuses pass through docker run (podman run).
agent $P/agent sh -c 'exit 7' 2>/dev/null
expect_eq "$ENGINE run returns the agent's exit status" 7 "$?"
agent $P/agent no-such-command 2>/dev/null
expect_eq "$ENGINE run returns 127 for a missing command" 127 "$?"

# docker stop (podman stop): over at once, and the agent saw SIGTERM.
C=$P-stop-$$
fenced -d --name "$C" --cap-add NET_ADMIN --network "$NET" $P/agent \
    probe signals >/dev/null
for _ in $(seq 1 100); do $ENGINE logs "$C" 2>&1 | grep -q "main ready" && break; sleep 0.1; done
t0=$(date +%s%N)
$ENGINE stop -t 10 "$C" >/dev/null
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "$ENGINE stop ends the container within 2 s (${ms} ms)" test "$ms" -lt 2000
expect_match "the agent saw SIGTERM" 'main got TERM' "$($ENGINE logs "$C" 2>&1)"
expect_eq "the container's status is the agent's" 0 "$($ENGINE inspect -f '{{.State.ExitCode}}' "$C")"

# docker run -it (podman run -it): Ctrl-C reaches the agent, which owns the terminal.
"$PROBE" pty "main ready" $'\003' $ENGINE run -it --rm --label "$LABEL" -e "PALISADE_BACKEND=$BACKEND" --cap-add NET_ADMIN \
    --network "$NET" $P/agent probe signals >"$WORK/pty.log" 2>&1
expect_match "$ENGINE run -it: Ctrl-C reaches the agent" 'main got INT' "$(cat "$WORK/pty.log")"
expect_match "$ENGINE run -it: the agent is the terminal's foreground" 'foreground=yes' "$(cat "$WORK/pty.log")"

# Started wrong: status 125, the message says what to change, no agent.
OUT=$(fenced --rm --network "$NET" $P/agent echo AGENT-RAN 2>"$WORK/err"); RC=$?
expect_eq "without --cap-add NET_ADMIN: 125" 125 "$RC"
expect_match "without --cap-add NET_ADMIN: the message says to add it" 'run the container with --cap-add NET_ADMIN' "$(cat "$WORK/err")"
expect_no_match "without --cap-add NET_ADMIN: the agent never ran" AGENT-RAN "$OUT"
OUT=$(agent --user 1000 $P/agent echo AGENT-RAN 2>"$WORK/err"); RC=$?
expect_eq "with --user 1000: 125" 125 "$RC"
expect_match "with --user 1000: the message says to remove it" 'remove --user from docker run' "$(cat "$WORK/err")"
expect_no_match "with --user 1000: the agent never ran" AGENT-RAN "$OUT"

# --cap-drop ALL (Kubernetes, a careful user): with NET_ADMIN alone every
# missing capability is named, with the flags; with the README's list the
# fence goes up. NET_RAW is not on it (Podman drops it by default), and
# NET_BIND_SERVICE only where port 53 is privileged (Podman), which the
# message says.
CAPS=(--cap-drop ALL)
for c in NET_ADMIN SETUID SETGID SETPCAP KILL NET_BIND_SERVICE; do CAPS+=(--cap-add "$c"); done
OUT=$(fenced --rm --cap-drop ALL --cap-add NET_ADMIN --network "$NET" \
      $P/agent echo AGENT-RAN 2>"$WORK/err"); RC=$?
expect_eq "--cap-drop ALL --cap-add NET_ADMIN: 125" 125 "$RC"
expect_match "--cap-drop ALL --cap-add NET_ADMIN: each missing capability named, with the flags" \
    '^palisade: the container lacks (CAP_NET_BIND_SERVICE \([^)]*\), )?CAP_SETGID \([^)]*\), CAP_SETUID \([^)]*\), CAP_SETPCAP \([^)]*\), CAP_KILL \([^)]*\); run the container with (--cap-add NET_BIND_SERVICE )?--cap-add SETGID --cap-add SETUID --cap-add SETPCAP --cap-add KILL \(docker run, podman run; Kubernetes: securityContext\.capabilities\.add: \[' \
    "$(cat "$WORK/err")"
expect_no_match "--cap-drop ALL --cap-add NET_ADMIN: the agent never ran" AGENT-RAN "$OUT"
OUT=$(fenced --rm "${CAPS[@]}" --network "$NET" --dns "$DNS" \
      -e PALISADE_ALLOW=allowed.test -e PALISADE_ALLOW_PRIVATE=allowed.test $P/agent \
      sh -c "probe tcp $A 443; probe tcp $B 443; echo ran" 2>"$WORK/err"); RC=$?
expect_eq "--cap-drop ALL and the README's list: the agent runs" 0 "$RC"
expect_match "--cap-drop ALL and the README's list: the allowed address is reached" '^open' "$(printf '%s\n' "$OUT" | sed -n 1p)"
expect_match "--cap-drop ALL and the README's list: the other address is refused" '^refused' "$(printf '%s\n' "$OUT" | sed -n 2p)"

# A read-only root filesystem (Kubernetes' readOnlyRootFilesystem): the
# engine mounts resolv.conf read-only too, so the agent resolves no names,
# and palisade says so; a writable copy of the engine's own resolv.conf
# mounted over it (in Kubernetes, an emptyDir file that an init container
# filled) gives DNS back.
NAME_RUN='echo "name: $(nc -w 3 allowed.test 80 </dev/null 2>&1 | head -n 1)"'
OUT=$(agent --read-only $P/agent sh -c "$NAME_RUN" 2>"$WORK/err")
expect_match "--read-only: palisade says that the agent resolves no names" \
    'resolv\.conf is read-only: .*resolves no names' "$(cat "$WORK/err")"
expect_match "--read-only: the agent resolves no names" "bad address 'allowed.test'" "$(field name)"
$ENGINE run --rm --network "$NET" --dns "$DNS" --entrypoint cat $P/agent /etc/resolv.conf \
    > "$WORK/resolv.conf"
OUT=$(agent --read-only -v "$WORK/resolv.conf":/etc/resolv.conf $P/agent sh -c "$NAME_RUN" 2>"$WORK/err")
expect_eq "--read-only, a writable copy of resolv.conf: the allowed name is reached" hello "$(field name)"
expect_match "--read-only, a writable copy of resolv.conf: it names palisade's filter" \
    '^nameserver 127\.0\.0\.1' "$(cat "$WORK/resolv.conf")"

# docker restart fences the container again; docker exec sessions as the
# agent's user are fenced and cannot get privileges back.
C=$P-restart-$$
fenced -d --name "$C" --cap-add NET_ADMIN --network "$NET" \
    -e PALISADE_ALLOW=allowed.test -e PALISADE_ALLOW_PRIVATE=allowed.test $P/agent \
    sh -c "probe tcp $A 443; probe tcp $B 443; echo round-done; exec sleep 600" >/dev/null
rounds() { $ENGINE logs "$C" 2>/dev/null | grep -c round-done; }
for _ in $(seq 1 100); do [ "$(rounds)" -ge 1 ] && break; sleep 0.1; done
$ENGINE restart -t 2 "$C" >/dev/null
for _ in $(seq 1 100); do [ "$(rounds)" -ge 2 ] && break; sleep 0.1; done
expect_eq "$ENGINE restart runs the agent again" 2 "$(rounds)"
second=$($ENGINE logs "$C" 2>/dev/null | sed -n '/round-done/,$p' | sed 1d)
expect_match "after $ENGINE restart the allowed address is reached" '^open' "$(printf '%s\n' "$second" | sed -n 1p)"
expect_match "after $ENGINE restart the other address is refused" '^refused' "$(printf '%s\n' "$second" | sed -n 2p)"
# The fence as the kernel holds it, in the backend asked for, and nothing
# in the other one.
pid=$($ENGINE inspect -f '{{.State.Pid}}' "$C")
in_container() { nsenter -t "$pid" -n "$@" 2>&1; }
legacy=$(in_container iptables-legacy-save -t filter)
nft_tables=$(in_container nft list tables)
ipsets=$(in_container ipset list -n)
case $BACKEND in
legacy)
    rules=$legacy
    policy_drop=':OUTPUT DROP'
    last_rule='^-A OUTPUT -j REJECT'
    expect_no_match "the legacy backend: no nft table of palisade's" 'palisade' "$nft_tables"
    expect_match "the legacy backend: palisade's ipsets" '^palisade4$' "$ipsets"
    ;;
nft)
    rules=$(in_container nft list table ip palisade)
    policy_drop='hook output priority filter; policy drop;'
    last_rule='^[[:space:]]*reject with icmp admin-prohibited$'
    expect_match "the nft backend: palisade's table" '^table ip palisade$' "$nft_tables"
    expect_no_match "the nft backend: no legacy iptables rule" '^-A |DROP' "$legacy"
    expect_no_match "the nft backend: no ipset of palisade's" 'palisade' "$ipsets"
    ;;
esac
expect_match "after $ENGINE restart the policy is DROP" "$policy_drop" "$rules"
expect_eq "after $ENGINE restart each rule is there once" 1 "$(printf '%s\n' "$rules" | grep -c -- "$last_rule")"
OUT=$($ENGINE exec -u 1000 "$C" sh -c "probe tcp $A 443; probe tcp $B 443; probe privesc; probe fence-change; probe status")
expect_match "$ENGINE exec as the agent: the allowed address is reached" '^open' "$(printf '%s\n' "$OUT" | sed -n 1p)"
expect_match "$ENGINE exec as the agent: the other address is refused" '^refused' "$(printf '%s\n' "$OUT" | sed -n 2p)"
expect_match "$ENGINE exec as the agent: setuid(0) fails" 'setuid\(0\): EPERM' "$OUT"
case $BACKEND in
legacy)
    expect_match "$ENGINE exec as the agent: iptables cannot be changed" '^iptables: refused' "$OUT"
    expect_match "$ENGINE exec as the agent: the ipsets cannot be changed" '^ipset: refused' "$OUT"
    ;;
nft)
    expect_match "$ENGINE exec as the agent: the nft sets cannot be changed" '^nft: refused.*permission denied' "$OUT"
    ;;
esac
expect_match "$ENGINE exec as the agent: no effective capabilities" 'CapEff:	0000000000000000' "$OUT"
expect_match "$ENGINE exec as the agent: no permitted capabilities" 'CapPrm:	0000000000000000' "$OUT"
expect_match "$ENGINE exec as the agent: no ambient capabilities" 'CapAmb:	0000000000000000' "$OUT"

# The claude-code image: the documented docker run line, with a stand-in
# for Claude Code (no network, so no name is looked up outside).
mkdir -p "$WORK/project"
OUT=$(fenced --rm --cap-add NET_ADMIN --network none \
      -v "$WORK/project":/workspace -v "$P-claude-$$":/home/node/.claude \
      -e ANTHROPIC_API_KEY=test-key $P/claude-code 2>"$WORK/err"); RC=$?
on_cleanup "$ENGINE volume rm $P-claude-$$"
expect_eq "claude-code: runs" 0 "$RC"
expect_match "claude-code: runs claude --dangerously-skip-permissions" 'claude stand-in: --dangerously-skip-permissions' "$OUT"
expect_match "claude-code: as node" '^node$' "$OUT"
expect_match "claude-code: allows the anthropic preset" 'did not resolve: api\.anthropic\.com' "$(cat "$WORK/err")"
expect_match "claude-code: and its published address ranges" 'IPv4: 0 names, 0 addresses, 1 CIDR' "$(cat "$WORK/err")"
# A real image has more to strip: apt's partial downloads are _apt's alone.
OUT=$(fenced --rm "${CAPS[@]}" --network none $P/claude-code 2>"$WORK/err"); RC=$?
expect_eq "claude-code, --cap-drop ALL without DAC_READ_SEARCH: 125" 125 "$RC"
expect_match "claude-code, --cap-drop ALL without DAC_READ_SEARCH: the directory and the flag named" \
    '/var/cache/apt/archives/partial: permission denied: palisade lacks CAP_DAC_READ_SEARCH; run the container with --cap-add DAC_READ_SEARCH ' \
    "$(cat "$WORK/err")"
OUT=$(fenced --rm "${CAPS[@]}" --cap-add DAC_READ_SEARCH --cap-add FOWNER \
      --cap-add SETFCAP --network none $P/claude-code 2>"$WORK/err"); RC=$?
expect_eq "claude-code, --cap-drop ALL and the README's whole list: runs" 0 "$RC"
expect_match "claude-code, --cap-drop ALL and the README's whole list: stripped" 'stripped [1-9][0-9]* set-uid' "$(cat "$WORK/err")"
OUT=$(fenced --rm --network none --entrypoint /sbin/palisade \
      -e PALISADE_ALLOW=@npm $P/claude-code --check 2>&1)
expect_match "claude-code: PALISADE_ALLOW adds to the image's list" 'registry\.npmjs\.org .*\[@npm\]' "$OUT"
expect_match "claude-code: the image's list comes from /etc/palisade/allow" 'api\.anthropic\.com .*\[@anthropic\]' "$OUT"

# The devcontainer, brought up by the real Dev Containers CLI.
CLI=$ROOT/tests/docker/.cli/node_modules/.bin/devcontainer
if [ ! -x "$CLI" ]; then
    npm install --silent --no-audit --no-fund --prefix "$ROOT/tests/docker/.cli" \
        @devcontainers/cli@0.89.0 >/dev/null 2>&1
fi
check "the Dev Containers CLI is installed from npm" test -x "$CLI"
DC=$WORK/devcontainer
mkdir -p "$DC" "$WORK/ws"
cp "$ROOT/images/devcontainer/Dockerfile" "$DC/"
# The same configuration, pointed at the local images and the test network.
sed -e "s|\"BASE\": \"[^\"]*\"|\"BASE\": \"$P/devcontainer-base\", \"INSTALL\": \"true\", \"PACKAGES\": \"procps\"|" \
    -e "s|\"PALISADE_IMAGE\": \"[^\"]*\"|\"PALISADE_IMAGE\": \"$P/palisade\"|" \
    -e "s|\"--cap-add=NET_ADMIN\",|\"--cap-add=NET_ADMIN\", \"--network=$NET\", \"--label=$LABEL\",$DC_RUN_ARGS|" \
    -e "s|\"PALISADE_USER\": \"node\"|\"PALISADE_USER\": \"node\", \"PALISADE_ALLOW\": \"allowed.test\", \"PALISADE_ALLOW_PRIVATE\": \"allowed.test\", \"PALISADE_BACKEND\": \"$BACKEND\"|" \
    "$ROOT/images/devcontainer/devcontainer.json" > "$DC/devcontainer.json"
dc() { # dc COMMAND [ARG...]: the CLI's options go before the command's arguments
    local cmd=$1
    shift
    "$CLI" "$cmd" --docker-path "$ENGINE" --workspace-folder "$WORK/ws" \
        --config "$DC/devcontainer.json" --id-label "$P.devcontainer=$$" "$@"
}
UP=$(dc up --log-level trace 2>"$WORK/dc.log")
expect_match "devcontainer up succeeds" '"outcome":"success"' "$UP"
CID=$(printf '%s' "$UP" | sed -n 's/.*"containerId":"\([0-9a-f]*\)".*/\1/p')
if [ -n "$CID" ]; then
    # The container, its ~/.claude volume and the images the CLI built for it.
    vol=$($ENGINE inspect -f '{{range .Mounts}}{{if eq .Destination "/home/node/.claude"}}{{.Name}}{{end}}{{end}}' "$CID")
    img=$($ENGINE inspect -f '{{.Config.Image}}' "$CID")
    on_cleanup "$ENGINE rm -f $CID; $ENGINE volume rm $vol; $ENGINE rmi $img ${img%-uid}"
fi
expect_eq "palisade is PID 1 of the devcontainer" palisade "$($ENGINE exec "$CID" cat /proc/1/comm 2>/dev/null)"
OUT=$(dc exec bash -c '
    echo "user: $(id -un)"
    (echo > /dev/tcp/allowed.test/80) 2>/dev/null && echo "allowed: open" || echo "allowed: refused"
    (echo > /dev/tcp/blocked.test/80) 2>/dev/null && echo "blocked: open" || echo "blocked: refused"
    sudo -n true 2>&1; echo "sudo: $?"
    echo "nnp: $(grep NoNewPrivs /proc/self/status | cut -f2)"
    echo "ready: $(cat /run/palisade/ready | cut -c1-7)"
' 2>>"$WORK/dc.log")
field() { printf '%s\n' "$OUT" | sed -n "s/^$1: //p"; }
expect_eq "devcontainer exec runs as the remote user" node "$(field user)"
expect_eq "devcontainer exec: the allowed name is reached" open "$(field allowed)"
expect_eq "devcontainer exec: the other name is refused" refused "$(field blocked)"
expect_eq "devcontainer exec: sudo is gone (127: not found)" 127 "$(field sudo)"
expect_eq "devcontainer exec: no_new_privs" 1 "$(field nnp)"
expect_eq "devcontainer exec: palisade said it was ready first" started "$(field ready)"
if [ "$failures" -gt 0 ]; then
    echo "--- devcontainer CLI log"
    tr -d '\0' <"$WORK/dc.log" | tail -n 60
    [ -n "$CID" ] && { echo "--- devcontainer logs"; $ENGINE logs "$CID" 2>&1 | tail -n 20; }
fi
finish
