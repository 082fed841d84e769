#!/usr/bin/env bash
# The command line: help, version, presets, --check, and every kind of bad
# input, outside a container and as PID 1. Bad input exits 125 with one line
# naming the input, and the command never runs.
. "$(dirname "$0")/lib.sh"
need_root

out=$("$PALISADE" --version); rc=$?
expect_eq "--version exits 0" 0 "$rc"
expect_match "--version names the version" '^palisade [0-9]+\.[0-9]+\.[0-9]+$' "$out"

out=$("$PALISADE" --help); rc=$?
expect_eq "--help exits 0" 0 "$rc"
expect_match "--help shows usage" 'usage: palisade \[OPTIONS\] \[--\] COMMAND' "$out"

out=$("$PALISADE" --list-presets); rc=$?
expect_eq "--list-presets exits 0" 0 "$rc"
for p in anthropic npm pypi github debian; do
    expect_match "--list-presets lists @$p" "^@$p: " "$out"
done
expect_match "@anthropic allows the API" '    api\.anthropic\.com' "$out"

# Not PID 1: refuses, changes nothing, says why.
err=$("$PALISADE" -u nobody -- true 2>&1 >/dev/null); rc=$?
expect_eq "outside PID 1: exit 125" 125 "$rc"
expect_match "outside PID 1: says why" '^palisade: refusing to run: palisade is pid [0-9]+, not PID 1' "$err"

# --check works unprivileged and outside a container.
R=$WORK/root
make_root "$R"
printf 'api.example.com\n# comment\n\n10.1.0.0/16:8443\n' > "$R/etc/palisade/allow"
chmod 0644 "$R/etc/palisade/allow"
out=$(CHROOT_OPTS=--userspec=1000:1000 in_sandbox "$R" /sbin/palisade --check -u agent \
      -a '[2001:db8::1]:22' -p npm -a '*.example.org' sh -c true 2>&1); rc=$?
expect_eq "--check as an unprivileged user exits 0" 0 "$rc"
expect_match "--check shows the user" 'user: agent \(uid 1000, gid 1000, groups 1000,1500\), home /home/agent' "$out"
expect_match "--check shows the command" 'command: sh -c true' "$out"
expect_match "--check lists a file entry with its line" '10\.1\.0\.0/16:8443 +tcp 8443 udp 8443  \[/etc/palisade/allow line 4\]' "$out"
expect_match "--check lists a CLI entry" '\[2001:db8::1\]:22 +tcp 22 udp 22  \[--allow\]' "$out"
expect_match "--check lists a preset entry" 'registry\.npmjs\.org +tcp 80,443 udp 443  \[@npm\]' "$out"
expect_match "--check marks wildcards for the DNS filter" '\*\.example\.org +\(wildcards' "$out"

# Outside any namespace, as an unprivileged user of this machine. Only an
# address is allowed, so that nothing is looked up through this machine's
# resolver.
# Each backend's plan: the rules it would install, as iptables-save or
# nft list ruleset would show them.
cp "$PALISADE" "$WORK/palisade"
declare -A would=(
    [legacy]='-A OUTPUT -p tcp -m set --match-set palisade4 dst -m multiport --dports 80,443 -j ACCEPT'
    [nft]='ip daddr @default_host tcp dport 443 accept'
)
for b in legacy nft; do
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/palisade" --check \
          --backend $b -u nobody -a 192.0.2.1 true 2>&1); rc=$?
    expect_eq "--check --backend $b outside a container, unprivileged, exits 0" 0 "$rc"
    expect_match "--check --backend $b outside a container shows the plan" \
        '192\.0\.2\.1 +tcp 80,443 udp 443' "$out"
    expect_match "--check --backend $b shows the rules it would install" "${would[$b]}" "$out"
done
check "--check changed nothing: no palisade sets on this machine" \
    eval '! ipset list -n 2>/dev/null | grep -q ^palisade'
check "--check changed nothing: no palisade nft table on this machine" \
    eval '! nft list tables 2>/dev/null | grep -Eq "^table ip6? palisade$"'

# --check says which backend a start would use and why, and prints what
# that backend would install; it asks the kernel's nf_tables only to read.
check_as_root() {
    in_sandbox "$R" /sbin/palisade --check -u agent -a 192.0.2.1 "$@" -- true 2>&1
}
out=$(check_as_root --backend legacy); rc=$?
expect_eq "--check --backend legacy exits 0" 0 "$rc"
expect_match "--check --backend legacy: the backend and why" \
    '^fence backend: legacy \(asked for with --backend legacy\)$' "$out"
expect_match "--check --backend legacy: the iptables rules" \
    '^-A OUTPUT -p tcp -m set --match-set palisade4 dst -m multiport --dports 80,443 -j ACCEPT$' "$out"
expect_no_match "--check --backend legacy: no nft ruleset" '^table ip palisade' "$out"
out=$(check_as_root --backend nft); rc=$?
expect_eq "--check --backend nft exits 0" 0 "$rc"
expect_match "--check --backend nft: the backend and why" \
    '^fence backend: nft \(asked for with --backend nft\)$' "$out"
expect_match "--check --backend nft: the nft tables" '^table ip palisade \{$' "$out"
expect_match "--check --backend nft: the set's member" \
    'set default_host \{.*elements = \{ 192\.0\.2\.1 \}' "$(printf '%s' "$out" | tr '\n\t' '  ')"
expect_match "--check --backend nft: a list of ports, one rule per port" \
    'ip daddr @default_host tcp dport 80 accept' "$out"
expect_no_match "--check --backend nft: no iptables rules" '^-A OUTPUT' "$out"
expect_no_match "--check --backend nft: no ipsets" '^ipset ' "$out"
if unshare -n nft list tables >/dev/null 2>&1; then
    out=$(check_as_root --backend auto); rc=$?
    expect_eq "--check --backend auto exits 0" 0 "$rc"
    expect_match "--check --backend auto: nft, as the kernel offers nf_tables" \
        '^fence backend: nft \(auto: the kernel offers nf_tables\)$' "$out"
    expect_match "--check --backend auto: the nft tables" '^table ip palisade \{$' "$out"
    # Unprivileged and outside any namespace: nf_tables refuses to answer,
    # and a start would fail for want of NET_ADMIN; nothing is changed.
    before=$(nft list tables 2>&1)
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/palisade" --check \
          --backend auto -u nobody -a 192.0.2.1 true 2>&1); rc=$?
    expect_eq "--check --backend auto, unprivileged: exits 0" 0 "$rc"
    expect_match "--check --backend auto, unprivileged: why" \
        '^fence backend: nft \(auto: nf_tables refused access \(Operation not permitted\)\)$' "$out"
    expect_eq "--check --backend auto changed no nft table of this machine" "$before" \
        "$(nft list tables 2>&1)"
else
    skip "--check --backend auto" "the kernel offers no nf_tables"
fi

out=$("$PALISADE" --check -u nobody-at-all true 2>&1); rc=$?
expect_eq "--check with an unknown user exits 125" 125 "$rc"

# Bad input as PID 1: one line naming the input, status 125, command not run.
printf 'ok.example\n\n\n\n\n\nexa mple.com\n' > "$R/etc/bad-space"
printf 'ok.example\nbad\0byte.example\n' > "$R/etc/bad-nul"
{ echo ok.example; head -c 102400 /dev/zero | tr '\0' a; echo; } > "$R/etc/bad-long"
printf 'ok.example\n' > "$R/etc/writable"
chmod 0644 "$R"/etc/bad-*
chmod 0666 "$R/etc/writable"
printf 'x.example\n' > "$R/home/agent/mine"
chown 1000:1000 "$R/home/agent/mine"

bad_case() {
    local what=$1 pattern=$2
    shift 2
    run_palisade "$R" "$@" /bin/touch /tmp/ran
    expect_eq "$what: exit 125" 125 "$RC"
    expect_match "$what: message" "$pattern" "$ERR"
    expect_eq "$what: one line on stderr" 1 "$(printf '%s\n' "$ERR" | wc -l)"
    check "$what: the command never ran" test ! -e "$R/tmp/ran"
}
bad_case "unknown option" '^palisade: unknown option "--bogus"; palisade --help lists the options$' -u agent --bogus
bad_case "malformed entry" '^palisade: --allow: "exa mple\.com" is not a domain, address or CIDR$' -u agent -a 'exa mple.com'
bad_case "malformed file line" '^palisade: /etc/bad-space line 7: "exa mple\.com" is not a domain, address or CIDR$' -u agent -f /etc/bad-space
bad_case "NUL byte" '^palisade: /etc/bad-nul line 2: the line holds a NUL byte' -u agent -f /etc/bad-nul
bad_case "100 KB line" '^palisade: /etc/bad-long line 2: the line is 102400 bytes long, more than 1024' -u agent -f /etc/bad-long
bad_case "unknown preset" '^palisade: --preset: unknown preset "@nope"' -u agent -p nope
bad_case "unknown user" '^palisade: user "nobody" is not in /etc/passwd' -u nobody
bad_case "root user" '^palisade: user "root" is uid 0: the agent never runs as root' -u root
bad_case "no user" '^palisade: no user for the agent: give --user USER or set PALISADE_USER'
bad_case "unreadable file" '^palisade: allowlist file /etc/missing: cannot read it: No such file or directory$' -u agent -f /etc/missing
bad_case "group-writable file" '^palisade: allowlist file /etc/writable: refused: it is writable by group or others.*chmod go-w /etc/writable$' -u agent -f /etc/writable
bad_case "agent-owned file" '^palisade: allowlist file /home/agent/mine: refused: directory /home/agent is owned by uid 1000' -u agent -f /home/agent/mine
PALISADE_ALLOW="ok.example no_such_thing!" bad_case "bad env entry" '^palisade: PALISADE_ALLOW entry 2: "no_such_thing!" is not a domain' -u agent

# palisade exec and status with no palisade as PID 1 (the shell keeps
# PID 1, as in a CI job's container): each says the entrypoint was
# bypassed, and the command never runs.
err=$(in_sandbox "$R" /bin/sh -c '/sbin/palisade exec -- touch /tmp/ran; exit $?' 2>&1 >/dev/null); rc=$?
expect_eq "exec without PID 1: exit 125" 125 "$rc"
expect_match "exec without PID 1: says why" "^palisade: exec: PID 1 of this container is \"sh\", not palisade: the container's entrypoint was bypassed .*nothing fences this container" "$err"
check "exec without PID 1: the command did not run" test ! -e "$R/tmp/ran"
err=$(in_sandbox "$R" /bin/sh -c '/sbin/palisade status; exit $?' 2>&1 >/dev/null); rc=$?
expect_eq "status without PID 1: exit 1" 1 "$rc"
expect_match "status without PID 1: says why" "^palisade: status: PID 1 of this container is \"sh\", not palisade: the container's entrypoint was bypassed .*nothing fences this container" "$err"
finish
