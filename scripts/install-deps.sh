#!/usr/bin/env bash
# Install everything palisade's build and tests need on Debian bookworm, and
# build the two static archives Debian does not ship (libip4tc.a, libip6tc.a)
# from Debian's own iptables source package.
#
# Run as root. Safe to run again: installed packages and built archives are
# kept, so a second run only checks.
#
#   scripts/install-deps.sh            build and test dependencies
#   scripts/install-deps.sh --build    only what building needs (the Dockerfile)
#   scripts/install-deps.sh --docker   also Docker's engine, Podman, debootstrap
#                                      and npm (the end-to-end tests)
#   scripts/install-deps.sh --bench    also the benchmark tools
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"

IPTC_PREFIX=${IPTC_PREFIX:-/usr/local/lib/palisade}
want_tests=1
want_docker=0
want_bench=0
for arg in "$@"; do
    case $arg in
        --build) want_tests=0 ;;
        --docker) want_docker=1 ;;
        --bench) want_bench=1 ;;
        *) echo "install-deps: unknown option '$arg' (use --build, --docker or --bench)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (it installs Debian packages)" >&2
    exit 1
fi
if ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
    echo "install-deps: warning: written for Debian bookworm; this is $(. /etc/os-release; echo "${PRETTY_NAME:-unknown}")" >&2
fi

export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
    build-essential meson ninja-build pkg-config file binutils
    libseccomp-dev libcap-ng-dev libnl-3-dev libnl-nf-3-dev libc-ares-dev
    libip4tc-dev libip6tc-dev libnftnl-dev
    dpkg-dev
)
# nftables: the nft tool, which checks the nft ruleset palisade prints
# (tests/integration/nft.sh) and reads the fence of the end-to-end tests
# (tests/docker/e2e.sh); palisade itself never runs it.
# openssl, curl and nodejs: the name check's test (tests/integration/names.sh)
# makes its certificates with openssl and connects with curl and with
# Node's TLS client (a machine's own Node, when installed, is kept).
test_pkgs=(
    libcmocka-dev busybox-static iproute2 iptables ipset dnsmasq-base util-linux procps
    libcap2-bin clang-14 libclang-rt-14-dev python3 strace nftables openssl curl nodejs
)
# Podman's network backend is netavark, with aardvark-dns answering a
# network's names; without them (recommends only) Podman falls back to CNI.
docker_pkgs=(docker.io debootstrap podman netavark aardvark-dns)
# The Dev Containers CLI comes from npm; use the machine's npm when it has one.
command -v npm >/dev/null 2>&1 || docker_pkgs+=(nodejs npm)
# docker.io and debootstrap: bench/startup.sh's images, on the base image
# scripts/docker-engine.sh makes.
bench_pkgs=(hyperfine dnsperf gnuplot-nox tini dnsutils docker.io debootstrap)

pkgs=("${build_pkgs[@]}")
[ $want_tests -eq 1 ] && pkgs+=("${test_pkgs[@]}")
[ $want_docker -eq 1 ] && pkgs+=("${docker_pkgs[@]}")
[ $want_bench -eq 1 ] && pkgs+=("${bench_pkgs[@]}")

# The iptables source package needs a deb-src entry. Add one beside each
# active Debian "deb" entry, unless the machine already has one.
have_src() {
    grep -rqsE '^[[:space:]]*(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
add_src() {
    local out=/etc/apt/sources.list.d/palisade-deb-src
    if [ -f /etc/apt/sources.list ]; then
        grep -E '^[[:space:]]*deb[[:space:]].*(debian|ubuntu)' /etc/apt/sources.list |
            sed -E 's/^([[:space:]]*)deb([[:space:]])/\1deb-src\2/' > "$out.list" || true
        [ -s "$out.list" ] || rm -f "$out.list"
    fi
    local f
    : > "$out.sources"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        [ "$f" = "$out.sources" ] && continue
        # deb822 stanzas: copy the distribution's own (Debian or Ubuntu), as deb-src.
        awk 'BEGIN { RS=""; ORS="\n\n" }
             /(^|\n)Types:[^\n]*deb/ && /(debian|ubuntu)/ {
                 sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" >> "$out.sources"
    done
    [ -s "$out.sources" ] || rm -f "$out.sources"
    if [ ! -e "$out.list" ] && [ ! -e "$out.sources" ]; then
        echo "install-deps: found no Debian 'deb' entry in /etc/apt to derive a deb-src entry from" >&2
        exit 1
    fi
}

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_update=0
if ! have_src; then
    add_src
    need_update=1
fi
if [ ${#missing[@]} -gt 0 ] || [ $need_update -eq 1 ]; then
    apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Static libip4tc/libip6tc from the same iptables version as the headers.
ver=$(dpkg-query -W -f='${Version}' libip4tc-dev)
stamp="$IPTC_PREFIX/.built-from-iptables-$ver"
if [ ! -f "$stamp" ] || [ ! -f "$IPTC_PREFIX/libip4tc.a" ] || [ ! -f "$IPTC_PREFIX/libip6tc.a" ]; then
    echo "install-deps: building static libip4tc.a and libip6tc.a from iptables $ver"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (
        cd "$work"
        # apt-get source drops privileges to _apt when it can; let it write here.
        chmod 0755 "$work"
        apt-get source -qq --download-only "iptables=$ver" >/dev/null 2>&1 || apt-get source -qq --download-only iptables >/dev/null
        dpkg-source -x --no-check iptables_*.dsc src >/dev/null
        cd src
        ./configure --quiet --enable-static --disable-shared --disable-nftables \
            --disable-bpf-compiler --disable-nfsynproxy --disable-libipq >/dev/null
        make -s -C libiptc >/dev/null
    )
    install -d -m 0755 "$IPTC_PREFIX"
    install -m 0644 "$work/src/libiptc/.libs/libip4tc.a" "$work/src/libiptc/.libs/libip6tc.a" "$IPTC_PREFIX/"
    rm -f "$IPTC_PREFIX"/.built-from-iptables-*
    touch "$stamp"
fi
echo "install-deps: ready (static libiptc in $IPTC_PREFIX)"
