#!/usr/bin/env bash
# The nft backend's ruleset as text (fw/nftplan.c), against the real nft:
# the ruleset palisade plans for a configuration is one that nft accepts
# (`nft -c`, in a scratch network namespace, which changes nothing), and
# once loaded nft lists its sets and rules as palisade prints them.
#
# Environment (set by meson): NFTPLAN (tests/nftplan-print.c).
. "$(dirname "$0")/lib.sh"
: "${NFTPLAN:?set NFTPLAN to the palisade-nftplan binary}"

if [ "$(id -u)" -ne 0 ]; then
    skip_all "needs root (network namespaces)"
fi
need_commands ip nft

NS=palnft$$
IN=(ip netns exec "$NS")
if ! out=$(ip netns add "$NS" 2>&1); then
    skip_all "cannot make a network namespace: $out"
fi
on_cleanup "ip netns del $NS"

# What the rulesets use, asked of the kernel first (lib.sh).
nft_kernel_ruleset > "$WORK/kernel.nft"
if ! out=$("${IN[@]}" nft -c -f "$WORK/kernel.nft" 2>&1); then
    skip_all "this kernel does not offer $NFT_KERNEL_NEEDS: $out"
fi

# accepts NAME FILE: nft -c takes FILE, and the namespace is unchanged.
accepts() {
    local out
    if out=$("${IN[@]}" nft -c -f "$2" 2>&1); then
        pass "$1: nft -c accepts the ruleset"
    else
        fail "$1: nft -c refuses the ruleset: $out"
        diag "$(cat -n "$2")"
    fi
}

# The check can fail: nft -c refuses a rule on a set that is not there.
printf 'table ip palisade {\n\tchain output {\n\t\tip daddr @nowhere accept\n\t}\n}\n' > "$WORK/bad.nft"
check "nft -c refuses a lookup of a set that does not exist" \
    bash -c '! "$@"' _ "${IN[@]}" nft -c -f "$WORK/bad.nft"

# A realistic configuration: the DNS filter, resolvers, exposed ports, and
# every kind of destination, with networks that overlap or touch, and
# IPv6 networks at the end of the address space.
dests=(
    192.0.2.10 192.0.2.11 198.51.100.0/24 198.51.101.0/24 10.0.0.0/8 10.1.0.0/16
    10.2.3.4=8443 10.20.0.0/16=8443 10.21.0.0/16=8443 10.20.0.0/16=22
    203.0.113.7=all 172.16.0.0/12=all
    2001:db8::1 2001:db8:1::/48 2001:db8::/32 2001:db8::53=53
    ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124=all
    ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120=all
    ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=all
)
if ! "$NFTPLAN" --dns-filter --resolver 192.0.2.53 --resolver 2001:db8::53 \
        --resolver 127.0.0.11 --expose 8080,5353/udp "${dests[@]}" > "$WORK/full.nft" 2>"$WORK/err"; then
    fail "the plan of the realistic configuration: $(cat "$WORK/err")"
    finish
fi
accepts "DNS filter, resolvers, exposed ports, every kind of destination" "$WORK/full.nft"

"$NFTPLAN" --dns-filter --root-dns-anywhere --audit --resolver 192.0.2.53 "${dests[@]}" \
    > "$WORK/audit.nft"
accepts "audit mode, root's DNS anywhere" "$WORK/audit.nft"

"$NFTPLAN" --no-v6 --default-ports 22,443 > "$WORK/bare.nft"
accepts "IPv4 only, no destinations" "$WORK/bare.nft"
expect_match "IPv4 only: the ip6 table is said to be left out" \
    '^# table ip6 palisade: not installed' "$(cat "$WORK/bare.nft")"

out=$("${IN[@]}" nft list ruleset 2>&1)
expect_eq "nft -c changed nothing in the namespace" "" "$out"

# Loaded for real, nft lists the same chains and rules, and the same sets
# (members aside: nft orders and wraps them its own way).
if out=$("${IN[@]}" nft -f "$WORK/full.nft" 2>&1); then
    pass "nft loads the realistic ruleset"
    "${IN[@]}" nft list ruleset > "$WORK/listed.nft"
    want=$(nft_as_listed < "$WORK/full.nft")
    got=$(nft_without_elements < "$WORK/listed.nft")
    if [ "$want" = "$got" ]; then
        pass "nft lists the tables, sets, chains and rules as palisade prints them"
    else
        fail "nft lists the ruleset otherwise than palisade prints it"
        diag "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got"))"
    fi
    # The members, one a line, in any order.
    want=$(nft_elements < "$WORK/full.nft")
    got=$(nft_elements < "$WORK/listed.nft")
    expect_eq "nft lists the same set members" "$want" "$got"
    expect_match "overlapping networks were merged" '^10\.0\.0\.0/8$' "$want"
    expect_no_match "a network inside another is not a member of its own" '^10\.1\.0\.0/16' "$want"
    expect_match "touching networks were merged into one range" \
        '^10\.20\.0\.0/15 \. tcp \. 8443$' "$want"
    expect_match "the same networks on another port stay apart" '^10\.20\.0\.0/16 \. tcp \. 22$' "$want"
    expect_match "IPv6 networks up to the last address were merged" \
        '^ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120$' "$want"
else
    fail "nft loads the realistic ruleset: $out"
fi

finish
