#!/usr/bin/env bash
# Builds palisade and shows its main job on this machine, without Docker
# and without touching this machine's own network: palisade runs as PID 1
# of a throwaway sandbox (its own network, PID and mount namespaces and a
# busybox root tree) next to a throwaway "internet" namespace with a DNS
# server and a few hosts. Then the agent tries to reach them. Run as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
echo "built build/palisade: $(file -b build/palisade | cut -d, -f1-2), $(stat -c %s build/palisade) bytes"

export PALISADE=$PWD/build/palisade PROBE=$PWD/build/tests/palisade-probe
. tests/integration/lib.sh
. tests/integration/world.sh
R=$WORK/root
make_root "$R"
echo "nameserver 10.77.0.1" > "$R/etc/resolv.conf"
make_world
export NETNS=$SANDBOX_NS

cat > "$R/work/agent.sh" <<'SH'
try() { local l=$1 r; shift; r=$(probe "$@" | head -n 1); sleep 0.05; printf '  %-44s %s\n' "$l" "$r"; }
echo "the agent is: $(id)"
grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status | sed 's/^/  /'
echo "the agent tries:"
try "allowed.test (10.77.0.10) port 443" tcp 10.77.0.10 443
try "allowed.test over IPv6 (fd77::10) port 443" tcp fd77::10 443
try "allowed.test port 22 (not allowed)" tcp 10.77.0.10 22
try "blocked.test (10.77.0.20) port 443" tcp 10.77.0.20 443
try "cloud metadata 169.254.169.254 port 80" tcp 169.254.169.254 80
try "the gateway 10.77.0.1 port 80" tcp 10.77.0.1 80
try "UDP 53 to another host (DNS tunnel)" udp 10.77.0.20 53
try "DNS straight to the resolver" dns allowed.test 10.77.0.1
try "allowed.test through palisade's DNS" dns allowed.test 127.0.0.1
try "blocked.test through palisade's DNS" dns blocked.test 127.0.0.1
echo "the agent tries to get root back:"
printf '  %-44s %s\n' "sudo" "$(sudo true 2>&1 || true)"
printf '  %-44s %s\n' "a set-uid root binary of the image" "$(/usr/bin/passwd-like status | grep ^Uid)"
probe privesc | sed 's/^/  /'
probe syscalls | grep -E '^(mount|unshare|socket AF_VSOCK|bpf|io_uring_setup):' | sed 's/^/  /'
SH
# An image's set-uid root binary and sudo, for the agent to try.
cp "$PROBE" "$R/usr/bin/passwd-like" && chmod 4755 "$R/usr/bin/passwd-like"
mkdir -p "$R/usr/bin" && cp "$PROBE" "$R/usr/bin/sudo" && chmod 4755 "$R/usr/bin/sudo"
chmod 0755 "$R/work/agent.sh"

echo
# The throwaway internet uses private addresses (10.77.0.0/24, fd77::/64):
# a name may bring those into the fence only when opted in.
echo "\$ palisade -u agent -a allowed.test --allow-private allowed.test -- sh /work/agent.sh      (as PID 1 of the sandbox)"
in_sandbox "$R" /sbin/palisade -u agent -a allowed.test --allow-private allowed.test -- /bin/sh /work/agent.sh
echo
echo "the sandbox's firewall afterwards (iptables-save):"
ip netns exec "$SANDBOX_NS" iptables-legacy-save -t filter | grep -v '^#' | sed 's/^/  /'
