#!/usr/bin/env bash
# A kernel without legacy x_tables (Linux 6.17+ built without
# CONFIG_NETFILTER_XTABLES_LEGACY, RHEL 10): a seccomp filter around the
# sandbox fails iptables' and ip6tables' socket options as such a kernel
# does (probe inject no-iptables no-ip6tables). --backend auto then fences
# with nf_tables, and the agent reaches exactly what it reaches behind the
# legacy fence; --backend legacy refuses to start and says what to use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/world.sh"
export PALISADE_BACKEND=legacy
fence_backend legacy
need_root
need_nft_kernel

world_root
NO_LEGACY="$PROBE inject no-iptables no-ip6tables --"

# The simulation first: legacy iptables fails as on such a kernel, and
# nf_tables still answers.
out=$(ip netns exec "$SANDBOX_NS" $NO_LEGACY iptables-legacy -w -S 2>&1)
expect_match "simulated: iptables-legacy finds no ip_tables" \
    "can't initialize iptables table .filter.|Protocol not available" "$out"
out=$(ip netns exec "$SANDBOX_NS" $NO_LEGACY nft list tables 2>&1)
expect_eq "simulated: nft still answers" "" "$out"

# Every kind of destination of the world, one outcome a line:
# "PROTO ADDR PORT: open|refused|reply|no-reply|...".
cat > "$R/work/agent.sh" <<'SH'
for d in "tcp 10.77.0.10 80" "tcp 10.77.0.10 443" "udp 10.77.0.10 443" "tcp 10.77.0.10 8080" \
         "tcp 10.77.0.10 22" "tcp fd77::10 443" "udp fd77::10 443" "tcp fd77::20 443" \
         "tcp 10.77.0.20 80" "udp 10.77.0.20 443" "tcp fd77::30 443" "tcp 10.77.0.11 80" \
         "tcp 10.77.0.1 80" "tcp 169.254.169.254 80" "tcp 10.77.1.5 443" \
         "tcp 10.77.0.30 8443" "udp 10.77.0.30 8443" "tcp 10.77.0.30 443" \
         "udp 10.77.0.20 53" "tcp 10.77.0.20 53" "udp fd77::30 53" \
         "dns allowed.test 10.77.0.1" "dns allowed.test 127.0.0.1" \
         "dns allowed.test 127.0.0.1 tcp" "dns blocked.test 127.0.0.1"; do
    printf '%s: ' "$d"
    probe $d | head -n 1 | cut -d' ' -f1
done
SH
chmod 0755 "$R/work/agent.sh"
ALLOW=(-a allowed.test -a v6only.test -a port.test:8443 -a 10.77.1.0/24
       --allow-private allowed.test --allow-private v6only.test --allow-private port.test)

# Behind the legacy fence, on this kernel.
run_palisade "$R" --backend legacy -u agent "${ALLOW[@]}" -- /bin/sh /work/agent.sh
expect_eq "legacy: the agent ran" 0 "$RC"
legacy=$OUT
diag "$legacy"
expect_match "legacy: the agent reaches an allowed destination" '^tcp 10\.77\.0\.10 443: open$' "$legacy"
expect_match "legacy: and is refused another" '^tcp 10\.77\.0\.20 80: refused$' "$legacy"

# auto on a kernel without legacy x_tables.
fence_reset
SANDBOX_WRAP=$NO_LEGACY run_palisade "$R" --backend auto -v -u agent "${ALLOW[@]}" \
    -- /bin/sh /work/agent.sh
expect_eq "auto without legacy x_tables: the agent ran" 0 "$RC"
expect_match "auto without legacy x_tables: palisade says it chose nft" \
    'fence backend: nft \(auto: the kernel offers nf_tables\)' "$ERR"
fence_backend nft
expect_match "auto without legacy x_tables: the ip palisade table drops by default" \
    "$FENCE_OUTPUT_DROP" "$(fence_rules 4)"
expect_match "auto without legacy x_tables: the ip6 palisade table drops by default" \
    "$FENCE_OUTPUT_DROP" "$(fence_rules 6)"
fence_backend legacy
expect_eq "auto without legacy x_tables: no legacy rule and no ipset" "" \
    "$(fence_rules | grep -E 'DROP|REJECT'; fence_sets)"
if [ "$OUT" = "$legacy" ]; then
    pass "auto without legacy x_tables: the agent sees the same allowed and refused destinations"
else
    fail "auto without legacy x_tables: the agent sees other allowed and refused destinations"
    diag "$(diff <(printf '%s\n' "$legacy") <(printf '%s\n' "$OUT"))"
fi
expect_eq "the same number of destinations were tried" 25 "$(printf '%s\n' "$OUT" | grep -c ': ')"

# --backend legacy on that kernel: refused before any change, with the
# reason and the way out.
fence_reset
rm -f "$R/tmp/ran"
SANDBOX_WRAP=$NO_LEGACY run_palisade "$R" --backend legacy -u agent "${ALLOW[@]}" -- /bin/touch /tmp/ran
expect_eq "--backend legacy without legacy x_tables: exit 125" 125 "$RC"
expect_match "--backend legacy without legacy x_tables: the message says x_tables may be absent" \
    '^palisade: iptables: .*no ip_tables support.*may be built without legacy x_tables' "$ERR"
expect_match "--backend legacy without legacy x_tables: and points at --backend nft" \
    'use --backend nft' "$ERR"
check "--backend legacy without legacy x_tables: the command never ran" test ! -e "$R/tmp/ran"
check "--backend legacy without legacy x_tables: nothing of the fence was installed" \
    not fence_installed
finish
