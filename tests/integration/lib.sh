# Shared helpers for the integration tests. Each test runs the real palisade
# binary as PID 1 of its own PID, mount and network namespaces, chrooted into
# a small root tree made from Debian's busybox-static. Nothing runs against
# the machine's own root filesystem or network namespace.
#
# Environment (set by meson): PALISADE, PROBE, SOURCE_ROOT, BUILD_ROOT, and
# TEST_PROTOCOL=tap.
#
# Each check is reported in TAP (https://testanything.org), which meson
# reads (protocol: 'tap'): "ok N - what", "not ok N - what",
# "ok N - what # SKIP why" for a check this machine cannot run, diagnostics
# as "# ..." lines (diag), and the plan "1..N" at the end (finish). A script
# that cannot run at all says "1..0 # SKIP why" (skip_all). Nothing else may
# reach stdout: what a script shows besides its checks goes through diag or
# to stderr. Checks are reported from the script's own shell, not from a
# subshell or a pipeline, whose count of the results would be lost.
set -u

: "${PALISADE:?set PALISADE to the palisade binary}"
: "${PROBE:?set PROBE to the palisade-probe binary}"
BUSYBOX=${BUSYBOX:-/bin/busybox}

# The fence backend the suites run palisade with: legacy (iptables and
# ipset) unless PALISADE_BACKEND says otherwise (nft, auto). FENCE_BACKEND
# is the one palisade takes (auto: nft where the kernel offers nf_tables);
# the fence_* helpers below read the fence back through it, so that a check
# says the same thing under either.
export PALISADE_BACKEND=${PALISADE_BACKEND:-legacy}
case $PALISADE_BACKEND in
    legacy) FENCE_BACKEND=legacy ;;
    nft) FENCE_BACKEND=nft ;;
    *) if unshare -n nft list tables >/dev/null 2>&1; then FENCE_BACKEND=nft
       else FENCE_BACKEND=legacy; fi ;;
esac

failures=0
checks=0
skips=0
tap_count=0
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/palisade-$TEST_NAME-XXXXXX")
chmod 0755 "$WORK"
cleanup_hooks=()

cleanup() {
    local i
    for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do
        eval "${cleanup_hooks[$i]}" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
on_cleanup() { cleanup_hooks+=("$1"); }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        skip_all "needs root (namespaces, chroot)"
    fi
    if [ ! -x "$BUSYBOX" ]; then
        echo "Bail out! $BUSYBOX missing: run scripts/install-deps.sh"
        exit 1
    fi
    need_fence_kernel
}

# Every test that needs root runs palisade, which fences: ask the kernel,
# without palisade, whether it offers what the fence is made of (for the
# legacy backend legacy iptables and ip6tables, ipset, and the matches and
# targets palisade's rules use; for nft, nf_tables with the expressions
# they use), in a scratch network namespace. When it does not, the whole
# test is skipped with the reason (skip_all): none of its checks could tell
# anything on this kernel.
# nft_kernel_ruleset: a ruleset with what palisade's nft rulesets use:
# nf_tables, with the fib, ct, log and reject expressions and sets of
# concatenated intervals (nft_set_pipapo, Linux 5.6), for nft -c.
NFT_KERNEL_NEEDS="nf_tables with fib, ct, log, reject and concatenated interval sets"
nft_kernel_ruleset() {
    cat <<'EOF'
table ip palk {
	set s {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		elements = { 10.0.0.0/8 . tcp . 80 }
	}
	chain output {
		type filter hook output priority filter; policy drop;
		meta skuid >= 0 fib saddr type != local drop
		meta l4proto udp meta skuid != 0 ct original proto-dst 53 log prefix "p" group 1953
		ip daddr . meta l4proto . th dport @s accept
		reject with tcp reset
		reject with icmp admin-prohibited
	}
}
EOF
}
# need_nft_kernel: skips the whole test unless the nft command is here
# (the checks read the nft fence with it) and the kernel offers what
# palisade's nft rulesets use (asked in a scratch network namespace).
need_nft_kernel() {
    local out
    command -v nft >/dev/null ||
        skip_all "no nft command (Debian package nftables) to read the nft fence with"
    if ! out=$(nft_kernel_ruleset | unshare -n nft -c -f - 2>&1); then
        skip_all "this kernel does not offer $NFT_KERNEL_NEEDS: $out"
    fi
}
need_fence_kernel() {
    local ns=palk$$ why= out
    if [ "$FENCE_BACKEND" = nft ]; then
        need_nft_kernel
        return 0
    fi
    if ! out=$(ip netns add "$ns" 2>&1); then
        skip_all "cannot make a network namespace: $out"
    fi
    local in=(ip netns exec "$ns")
    local v6=yes
    "$PROBE" kernel ipv6 >/dev/null 2>&1 || v6=no
    if ! out=$("${in[@]}" iptables-legacy -w -S 2>&1); then
        why="legacy iptables (ip_tables, iptable_filter): $out"
    elif [ $v6 = yes ] && ! out=$("${in[@]}" ip6tables-legacy -w -S 2>&1); then
        why="legacy ip6tables (ip6_tables, ip6table_filter): $out"
    elif ! out=$("${in[@]}" ipset create palk hash:net 2>&1); then
        why="ipset (ip_set, ip_set_hash_net): $out"
    elif ! out=$("${in[@]}" iptables-legacy -w -A OUTPUT -p tcp -m owner --socket-exists \
                 ! --uid-owner 0 -m conntrack --ctstate RELATED,ESTABLISHED \
                 --ctorigdstport 53 -m set --match-set palk dst -m multiport --dports 80,443 \
                 -j NFLOG --nflog-group 1953 2>&1) ||
         ! out=$("${in[@]}" iptables-legacy -w -A OUTPUT -j REJECT 2>&1); then
        why="a netfilter extension palisade's rules use (xt_owner, xt_conntrack, xt_set, xt_multiport, xt_NFLOG, ipt_REJECT): $out"
    fi
    ip netns del "$ns" >/dev/null 2>&1
    if [ -n "$why" ]; then
        skip_all "this kernel does not offer $why"
    fi
}

# need_nft_kernel: the nft command, and nf_tables in the kernel (asked in a
# scratch network namespace); otherwise the whole test is skipped.
need_nft_kernel() {
    local out
    command -v nft >/dev/null || skip_all "no nft command (Debian package nftables)"
    if ! out=$(unshare -n nft list tables 2>&1); then
        skip_all "the kernel offers no nf_tables: $out"
    fi
}

# need_commands CMD...: each command is here, or the test fails with what
# to do and stops.
need_commands() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null; then
            fail "$t is missing: run scripts/install-deps.sh"
            finish
        fi
    done
}

# kernel_offers FEATURE: asks the kernel, without palisade, in this
# namespace (see tests/kernel.c for the features); sets WHY when it does not.
kernel_offers() {
    local out
    if out=$("$PROBE" kernel "$1" 2>&1); then WHY=; return 0; fi
    WHY=${out#"$1: no: "}
    return 1
}

# diag TEXT...: diagnostics, each line of TEXT as a "# " line.
diag() {
    local l
    while IFS= read -r l; do
        printf '# %s\n' "$l"
    done <<< "$*"
}

# tap_line ok|"not ok" TEXT [WHY]: the next numbered result. TEXT's first
# line goes on the result line (with "# SKIP WHY" when WHY is given); its
# other lines, and WHY's, follow as diagnostics, so that nothing in them can
# be read as a result.
tap_line() {
    local text=$2 rest=
    tap_count=$((tap_count + 1))
    [[ $text == *$'\n'* ]] && rest=${text#*$'\n'}
    if [ $# -ge 3 ]; then
        printf '%s %d - %s # SKIP %s\n' "$1" "$tap_count" "${text%%$'\n'*}" "${3%%$'\n'*}"
        [[ $3 == *$'\n'* ]] && rest+=${rest:+$'\n'}${3#*$'\n'}
    else
        printf '%s %d - %s\n' "$1" "$tap_count" "${text%%$'\n'*}"
    fi
    [ -z "$rest" ] || diag "$rest"
}

pass() { checks=$((checks + 1)); tap_line ok "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); tap_line "not ok" "$*"; }
# skip "check" "reason": a check this kernel cannot run; never counted as
# passed (meson counts it as skipped, apart from the passed ones).
skip() { skips=$((skips + 1)); tap_line ok "$1" "$2"; }

# skip_all "reason": nothing this script checks can run here. Under meson
# (TEST_PROTOCOL=tap) it exits 0, as TAP wants; elsewhere (bench, the Docker
# tests) with the GNU skip status 77. Once checks have been reported, the
# rest is one skipped check instead.
skip_all() {
    if [ "$tap_count" -gt 0 ]; then
        skip "the rest of $TEST_NAME" "$1"
        finish
    fi
    echo "1..0 # SKIP $TEST_NAME: $1"
    if [ "${TEST_PROTOCOL:-}" = tap ]; then exit 0; fi
    exit 77
}

# check "description" test-command...: what the command prints goes to
# stderr, never among the results.
check() {
    local what=$1
    shift
    if "$@" >&2; then pass "$what"; else fail "$what"; fi
}

# expect_eq "description" expected actual
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

# expect_match "description" regex text
expect_match() {
    if printf '%s' "$3" | LC_ALL=C grep -aEq -- "$2"; then pass "$1"; else
        fail "$1: [$3] does not match /$2/"; fi
}

expect_no_match() {
    if printf '%s' "$3" | LC_ALL=C grep -aEq -- "$2"; then fail "$1: [$3] matches /$2/"; else
        pass "$1"; fi
}

# finish: the counts and the plan. Under meson (TEST_PROTOCOL=tap) the
# results carry the verdict, and status 0 says the script ran to its end
# (meson counts any other status as an error of the script); elsewhere
# status 1 says that a check failed.
finish() {
    echo "# $TEST_NAME: $checks checks, $failures failed, $skips skipped"
    echo "1..$tap_count"
    if [ "${TEST_PROTOCOL:-}" = tap ]; then exit 0; fi
    [ "$failures" -eq 0 ]
    exit $?
}

# make_root DIR: a root tree with busybox, palisade, the probe, and an
# unprivileged user "agent" (uid 1000).
make_root() {
    local r=$1
    mkdir -p "$r"/{bin,sbin,etc/palisade,proc,dev,tmp,root,home/agent,usr/bin,work}
    cp "$BUSYBOX" "$r/bin/busybox"
    local a
    for a in sh cat echo sleep kill ls id ps true false grep sed wc env pwd head \
             test mkdir rm touch stat chmod cut tr printf readlink find; do
        ln -sf busybox "$r/bin/$a"
    done
    # A sanitizer build is linked dynamically: give the tree the host's
    # libraries, read-only, as mounts of their own (see in_sandbox).
    if ! ldd "$PALISADE" 2>&1 | grep -q 'statically linked' ||
       ! ldd "$PROBE" 2>&1 | grep -q 'statically linked'; then
        mkdir -p "$r/usr/lib" "$r/usr/lib64"
        ln -sfn usr/lib "$r/lib"
        ln -sfn usr/lib64 "$r/lib64"
        touch "$r/.dynamic"
    fi
    cp "$PALISADE" "$r/sbin/palisade"
    cp "$PROBE" "$r/bin/probe"
    cat > "$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:Agent:/home/agent:/bin/sh
other:x:1001:1001::/home/other:/bin/sh
PW
    cat > "$r/etc/group" <<'GR'
root:x:0:
agent:x:1000:
extra:x:1500:agent
GR
    chown 1000:1000 "$r/home/agent" "$r/work"
    chmod 1777 "$r/tmp"
    chmod 0755 "$r" "$r/etc" "$r/etc/palisade"
}

# The sandbox: new PID and mount namespaces (and a new network namespace,
# unless NETNS names one to enter), the root tree bind-mounted on itself so
# that it is a mount of its own, /proc and a small /dev, then chroot.
# in_sandbox ROOT CMD... runs CMD (normally /sbin/palisade ...) as PID 1.
in_sandbox() {
    local root=$1
    shift
    local pre=()
    if [ -n "${NETNS:-}" ]; then
        pre=(ip netns exec "$NETNS")
        set -- "$@"
    fi
    local net=--net
    [ -n "${NETNS:-}" ] && net=
    "${pre[@]}" unshare --pid --fork --mount $net --kill-child -- \
        /bin/sh -c '
            set -e
            r=$1; shift
            mount --make-rprivate /
            mount --bind "$r" "$r"
            mount -t proc proc "$r/proc"
            if [ -e "$r/.dynamic" ]; then
                mount --bind -o ro /usr/lib "$r/usr/lib"
                mount --bind -o ro /usr/lib64 "$r/usr/lib64"
            fi
            mount -t tmpfs -o mode=0755,size=1m dev "$r/dev"
            for d in null:1:3 zero:1:5 urandom:1:9 tty:5:0; do
                IFS=: read -r n ma mi <<EOF2
$d
EOF2
                mknod -m 0666 "$r/dev/$n" c "$ma" "$mi"
            done
            [ -n "${SANDBOX_SETUP:-}" ] && eval "$SANDBOX_SETUP"
            exec ${SANDBOX_WRAP:-} chroot ${CHROOT_OPTS:-} "$r" "$@"
        ' sandbox "$root" "$@"
}

# Runs palisade as PID 1 in the sandbox; sets OUT, ERR and RC.
run_palisade() {
    local root=$1
    shift
    in_sandbox "$root" /sbin/palisade "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# The host pid of the palisade that runs as PID 1 of the sandbox started by
# background job $1: the descendant of $1 whose command name is palisade
# (or $2).
sandbox_pid1() {
    local top=$1 comm=${2:-palisade} i
    for i in $(seq 1 200); do
        local queue=("$top") found=
        while [ ${#queue[@]} -gt 0 ] && [ -z "$found" ]; do
            local p=${queue[0]} kid
            queue=("${queue[@]:1}")
            for kid in $(pgrep -P "$p"); do
                if [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = "$comm" ]; then
                    found=$kid
                    break
                fi
                queue+=("$kid")
            done
        done
        if [ -n "$found" ]; then echo "$found"; return 0; fi
        sleep 0.05
    done
    return 1
}

# wait_for_text FILE TEXT [SECONDS]
wait_for_text() {
    local i n=$(( ${3:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds; fails
# after SECONDS.
wait_until() {
    local i n=$(( $1 * 20 ))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# wait_for_agent PID1 COMM [SECONDS]: waits until the command that the
# palisade with host pid PID1 started runs COMM. By then the fence is up,
# PID 1 has dropped its own privileges (it does before the command may
# exec) and the command has exec'd.
agent_runs() {
    local kid
    for kid in $(pgrep -P "$1"); do
        [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = "$2" ] && return 0
    done
    return 1
}
wait_for_agent() { wait_until "${3:-10}" agent_runs "$1" "$2"; }

# nftables rulesets as text, compared as nft lists them. nft_shape: the
# tables, sets, chains and rules without the sets' members (nft orders and
# wraps those its own way), and without the `meta l4proto tcp` before a
# reset on the original port, which nft lists without (it needs it to read
# that port back in; palisade prints it), and with the x_tables NFQUEUE
# target, which stands in for nft's queue expression on a kernel without
# nft_queue, as nft lists its own ("queue to N", not "queue num N").
# nft_members: the members, one a line, sorted.
nft_shape() {
    awk '/elements = \{/ { skip = 1 } !skip && !/^$/ { print } skip && /\}$/ { skip = 0 }' |
        sed -E '/ct original proto-dst [0-9]+ reject with tcp reset$/ s/meta l4proto tcp //' |
        sed -E 's/ queue num ([0-9]+)$/ queue to \1/'
}
nft_members() {
    tr -d '\n' | grep -o 'elements = {[^}]*}' | sed 's/elements = {//; s/}//' |
        tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sort
}
# not COMMAND...: succeeds when COMMAND fails (for check).
not() { ! "$@"; }

# --- the fence as the kernel holds it, through either backend ---
# They read the sandbox's network namespace, FENCE_NS (default SANDBOX_NS,
# see world.sh).
fence_ns() { ip netns exec "${FENCE_NS:-$SANDBOX_NS}" "$@"; }
nft_family() { if [ "$1" = 6 ]; then echo ip6; else echo ip; fi; }

# fence_rules [4|6]: the installed fence as text, of one family or both:
# the legacy filter tables as iptables-legacy-save shows them (without
# counters), or the nft tables `ip palisade` and `ip6 palisade`.
fence_rules() {
    local f
    for f in ${1:-4 6}; do
        if [ "$FENCE_BACKEND" = nft ]; then
            fence_ns nft list table "$(nft_family "$f")" palisade 2>/dev/null
        else
            fence_ns "$( [ "$f" = 6 ] && echo ip6 || echo ip )tables-legacy-save" -t filter |
                grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'
        fi
    done
}
# fence_backend legacy|nft: the backend the fence_* helpers read; sets
# what fence_rules shows of a fence that refuses by default (its output
# policy), FENCE_OUTPUT_DROP, and of the last rule of the output chain (a
# refusal), FENCE_LAST_REJECT.
fence_backend() {
    FENCE_BACKEND=$1
    if [ "$1" = nft ]; then
        FENCE_OUTPUT_DROP='hook output priority filter; policy drop;'
        FENCE_LAST_REJECT='reject with icmpv?6? ?admin-prohibited'
    else
        FENCE_OUTPUT_DROP=':OUTPUT DROP'
        FENCE_LAST_REJECT='-A OUTPUT -j REJECT'
    fi
}
fence_backend "$FENCE_BACKEND"

# fence_sets: the names of the fence's sets (ipsets; the nft tables'
# sets, "FAMILY NAME"), one a line.
fence_sets() {
    if [ "$FENCE_BACKEND" = nft ]; then
        local t
        for t in ip ip6; do
            fence_ns nft list table "$t" palisade 2>/dev/null |
                sed -nE "s/^[[:space:]]*set ([^ ]+) \{\$/$t \1/p"
        done
    else
        fence_ns ipset list -n
    fi
}

# nft_without_elements: nft ruleset text (stdin) without the sets'
# members and blank lines, as nft and palisade print it alike.
nft_without_elements() {
    awk '/elements = \{/ { skip = 1 } !skip && !/^$/ { print } skip && /\}$/ { skip = 0 }'
}
# nft_as_listed: palisade's printed nft ruleset (stdin), without members,
# as nft lists it once loaded: nft lists a reset on the original port
# without the `meta l4proto tcp` that it needs to read that port back in.
nft_as_listed() {
    nft_without_elements |
        sed -E '/ct original proto-dst [0-9]+ reject with tcp reset$/ s/meta l4proto tcp //'
}
# nft_elements: the members in nft ruleset text (stdin), one a line,
# sorted, without timeouts: "ADDR", "NET" or "ADDR . PROTO . PORT".
nft_elements() {
    tr -d '\n' | grep -o 'elements = {[^}]*}' | sed 's/elements = {//; s/}//' |
        tr ',' '\n' | sed -E 's/^[[:space:]]*//; s/[[:space:]]*$//; s/ (timeout|expires) .*//' |
        grep -v '^$' | sort
}
# nft_set_text NAME: the set NAME's block of nft ruleset text (stdin).
nft_set_text() {
    awk -v s="set $1 {" 'index($0, s) { on = 1 } on { print } on && /^[[:space:]]*\}$/ { on = 0 }'
}
# nft_kind_members KIND: the members of the sets KIND_host and KIND_net in
# the nft text of one table (stdin), as fence_members shows them.
nft_kind_members() {
    local text s
    text=$(cat)
    for s in host net; do
        printf '%s\n' "$text" | nft_set_text "$1_$s" | nft_elements
    done | sed -E 's/^([^ ]+) \. ([a-z]+) \. ([0-9]+)$/\1,\2:\3/' | sort
}
# legacy_set_name FAMILY KIND: palisade4, palisade6-port, ...
legacy_set_name() {
    local k=
    [ "$2" = default ] || k=-$2
    echo "palisade$1$k"
}

# fence_members FAMILY KIND: the members of the fence's sets of FAMILY (4,
# 6) and KIND (default, port, all), sorted, one a line, without timeouts:
# "ADDR" or "NET", and for kind port "ADDR,PROTO:PORT" (ipset's form).
# nft keeps single addresses and networks apart (KIND_host, KIND_net) and
# merges overlapping networks: both sets are listed.
fence_members() {
    if [ "$FENCE_BACKEND" = nft ]; then
        fence_ns nft list table "$(nft_family "$1")" palisade 2>/dev/null | nft_kind_members "$2"
    else
        fence_ns ipset list "$(legacy_set_name "$1" "$2")" | sed -n '/^Members:/,$p' | sed 1d |
            sed -E 's/ timeout [0-9]+//' | grep -v '^$' | sort
    fi
}

# fence_has_member FAMILY KIND MEMBER: whether the fence lets MEMBER
# ("ADDR", and for kind port "ADDR,PROTO:PORT") through the sets of FAMILY
# and KIND: a member of them, or inside a network that is.
fence_has_member() {
    if [ "$FENCE_BACKEND" = nft ]; then
        local e s
        e=$(printf '%s' "$3" | sed -E 's/^([^,]+),([a-z]+):([0-9]+)$/\1 . \2 . \3/')
        for s in host net; do
            fence_ns nft get element "$(nft_family "$1")" palisade "$2_$s" "{ $e }" \
                >/dev/null 2>&1 && return 0
        done
        return 1
    fi
    fence_ns ipset test "$(legacy_set_name "$1" "$2")" "$3" >/dev/null 2>&1
}

# fence_installed: whether anything of a fence is in the namespace,
# through either backend: a legacy filter rule that drops or refuses, or a
# policy that does, an ipset, or an nft table of palisade's.
fence_installed() {
    local t
    for t in iptables-legacy-save ip6tables-legacy-save; do
        fence_ns "$t" -t filter 2>/dev/null | grep -Eq 'DROP|REJECT' && return 0
    done
    [ -n "$(fence_ns ipset list -n 2>/dev/null)" ] && return 0
    fence_ns nft list tables 2>/dev/null | grep -Eq '^table ip6? palisade$'
}

# fence_reset: the namespace as a new container finds it: no rule, policy
# or chain of the legacy filter tables, no ipset, no nft table of
# palisade's (through either backend, whichever the kernel offers).
fence_reset() {
    local t p
    for t in iptables-legacy ip6tables-legacy; do
        fence_ns "$t" -w -F 2>/dev/null
        fence_ns "$t" -w -X 2>/dev/null
        for p in INPUT FORWARD OUTPUT; do fence_ns "$t" -w -P "$p" ACCEPT 2>/dev/null; done
    done
    fence_ns ipset destroy 2>/dev/null
    for t in ip ip6; do
        fence_ns nft delete table "$t" palisade 2>/dev/null
    done
    return 0
}

# sandbox_dnat PROTO DST DPORT TO: a nat rule of the container runtime's
# (Docker's DNS redirection), in the nat table of the backend the runtime
# would use alongside palisade's (iptables-legacy's, or iptables-nft's
# `ip nat` table); sandbox_dnat_clear removes them.
sandbox_dnat() {
    if [ "$FENCE_BACKEND" = nft ]; then
        fence_ns nft -f - <<EOF
table ip nat {
	chain OUTPUT {
		type nat hook output priority -100; policy accept;
		ip daddr $2 $1 dport $3 dnat to $4
	}
}
EOF
    else
        fence_ns iptables-legacy -w -t nat -A OUTPUT -d "$2/32" -p "$1" --dport "$3" \
            -j DNAT --to-destination "$4"
    fi
}
sandbox_dnat_clear() {
    if [ "$FENCE_BACKEND" = nft ]; then
        fence_ns nft delete table ip nat 2>/dev/null
    else
        fence_ns iptables-legacy -w -t nat -F OUTPUT 2>/dev/null
    fi
    return 0
}
# sandbox_nat: the nat rules as the backend lists them.
sandbox_nat() {
    if [ "$FENCE_BACKEND" = nft ]; then
        fence_ns nft list table ip nat 2>/dev/null
    else
        fence_ns iptables-legacy-save -t nat
    fi
}
