#!/usr/bin/env bash
# Builds a static aarch64 (arm64) palisade on an amd64 Debian bookworm
# machine, from Debian packages only, and tests it under qemu-user-static:
#
# - the cross compiler (gcc-aarch64-linux-gnu) and qemu-user-static;
# - the :arm64 development packages of the libraries palisade links
#   (dpkg --add-architecture arm64), at the versions of their amd64
#   counterparts where those are installed (Multi-Arch: same packages must
#   have one version for every architecture), or, where the archive no
#   longer serves that version for arm64, with the installed counterpart
#   upgraded to the archive's;
# - libip4tc.a and libip6tc.a for aarch64, cross-built from Debian's
#   iptables source package (the version of the installed libip4tc-dev, as
#   scripts/install-deps.sh does for the build machine) into
#   $IPTC_ARM64_PREFIX (default /usr/local/lib/palisade-arm64);
# - meson with cross/aarch64-linux-gnu.ini into BUILD_DIR (default
#   build-arm64), with -Dwerror=true like scripts/test.sh;
# - then tests/cross/qemu-arm64.sh: the binary's --version and --check, and
#   the unit tests, under qemu-aarch64-static.
#
# Run as root. Safe to run again: installed packages and built archives are
# kept, and the build directory is reconfigured.
#
#   scripts/cross-arm64.sh [--deps] [--no-test] [BUILD_DIR]
#
#   --deps      only install the packages and build the libiptc archives
#   --no-test   build, but do not run the tests under qemu
#
# PALISADE_NATIVE, when set, names this machine's palisade built from the
# same source: the test then compares the two --check plans.
set -Eeuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/errtrap.sh"
cd "$(dirname "$0")/.."

IPTC_ARM64_PREFIX=${IPTC_ARM64_PREFIX:-/usr/local/lib/palisade-arm64}
TRIPLET=aarch64-linux-gnu
build_dir=build-arm64
deps_only=no
run_tests=yes
for arg in "$@"; do
    case $arg in
    --deps) deps_only=yes ;;
    --no-test) run_tests=no ;;
    -*) echo "usage: scripts/cross-arm64.sh [--deps] [--no-test] [BUILD_DIR]" >&2; exit 2 ;;
    *) build_dir=$arg ;;
    esac
done

say() { echo "cross-arm64: $*"; }
die() { echo "cross-arm64: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs Debian packages)"
native=$(dpkg --print-architecture)
[ "$native" != arm64 ] || die "this machine is arm64 already: build natively (scripts/install-deps.sh, meson setup build)"
[ "$native" = amd64 ] ||
    echo "cross-arm64: warning: written for an amd64 machine; this one is $native" >&2

export DEBIAN_FRONTEND=noninteractive
# Other apt runs may hold the lock for a while: wait for them.
apt_opts=(-o DPkg::Lock::Timeout=900)

# Build tools, the deb-src entry apt-get source needs, and the amd64
# libip4tc-dev whose version (and headers) the aarch64 archives follow.
scripts/install-deps.sh --build

host_pkgs=("gcc-$TRIPLET" qemu-user-static)
# libc6-dev:arm64 rather than the cross compiler's libc6-dev-arm64-cross
# (only recommended by it): palisade links glibc statically, and this one
# is the build machine's glibc version, with Debian's security updates.
arm64_pkgs=(libc6-dev libseccomp-dev libcap-ng-dev libnl-3-dev libnl-nf-3-dev libc-ares-dev
            libnftnl-dev libcmocka-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need_update=no
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg (apt fetches its package lists from the same sources)"
    dpkg --add-architecture arm64
    need_update=yes
fi

want=()
for p in "${host_pkgs[@]}"; do installed "$p" || want+=("$p"); done
for p in "${arm64_pkgs[@]}"; do installed "$p:arm64" || want+=("$p:arm64"); done

# simulate PKG...: what apt would do, one line each, "ACTION NAME OLD NEW":
# Inst (OLD "-" for a new package) or Remv.
simulate() {
    local out
    out=$(LC_ALL=C apt-get "${apt_opts[@]}" -s install --no-install-recommends "$@" 2>&1) || {
        printf '%s\n' "$out" >&2
        return 1
    }
    printf '%s\n' "$out" | awk '
        $1 == "Inst" && $3 ~ /^\[/ { o = $3; gsub(/[][]/, "", o); n = $4; sub(/^\(/, "", n); print "Inst", $2, o, n; next }
        $1 == "Inst" { n = $3; sub(/^\(/, "", n); print "Inst", $2, "-", n; next }
        $1 == "Remv" { print "Remv", $2, "-", "-" }'
}

if [ ${#want[@]} -gt 0 ]; then
    if [ $need_update = yes ] || [ -z "$(apt-cache madison libc6:arm64 2>/dev/null)" ]; then
        apt-get "${apt_opts[@]}" update -qq
    fi
    # An arm64 package whose amd64 twin is installed at another version
    # cannot be installed beside it (nor would apt leave the twin alone):
    # ask for the twin's version, when the archive still serves it for
    # arm64. Repeat until the plan asks for no new pin.
    pins=()
    for _ in 1 2 3 4 5; do
        plan=$(simulate "${want[@]}" "${pins[@]}") ||
            die "apt cannot install ${want[*]} ${pins[*]} (above: why)"
        new=0
        while read -r action name _old ver; do
            [ "$action" = Inst ] && [[ $name == *:arm64 ]] || continue
            base=${name%:arm64}
            installed "$base:$native" || continue
            have=$(dpkg-query -W -f='${Version}' "$base:$native")
            [ "$have" != "$ver" ] || continue
            [[ " ${pins[*]} " != *" $name=$have "* ]] || continue
            if [ -z "$(apt-cache madison "$name" | awk -v v="$have" '$3 == v')" ]; then
                # The archive has moved on (a point release, a rebuild):
                # the installed twin is upgraded to the archive's version,
                # the one apt-get upgrade would install, so that both
                # architectures have it. A version the archive does not
                # serve for this machine is left to whoever runs it.
                if [ -n "$(apt-cache madison "$base:$native" | awk -v v="$ver" '$3 == v')" ]; then
                    say "upgrading $base ($native) from $have to $ver, the archive's, which" \
                        "$name must match (Multi-Arch: one version for both)"
                    apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
                        "$base:$native=$ver" >/dev/null
                    new=1
                    continue
                fi
                die "$name is $ver in the archive but $base ($native) is installed at $have," \
                    "and Multi-Arch needs one version: the archive has no $have for arm64;" \
                    "upgrade $base first (apt-get install --only-upgrade $base) and run again"
            fi
            pins+=("$name=$have")
            new=1
        done <<< "$plan"
        [ $new -eq 1 ] || break
    done
    # Never change or remove what the build machine has installed.
    changes=$(awk '$1 == "Remv" || ($1 == "Inst" && $3 != "-") { print "  " $1, $2, $3, "->", $4 }' <<< "$plan")
    if [ -n "$changes" ]; then
        printf '%s\n' "$changes" >&2
        die "installing ${want[*]} would change the packages above, which this machine has installed;" \
            "upgrade them first (apt-get upgrade) and run again"
    fi
    say "installing ${want[*]}${pins[*]:+ (pinned: ${pins[*]})}"
    apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${want[@]}" "${pins[@]}" >/dev/null
fi

# The glibc that goes into the binary.
libc_a=$($TRIPLET-gcc -print-file-name=libc.a)
case $(readlink -f "$libc_a") in
"/usr/lib/$TRIPLET/libc.a") ;;
*) echo "cross-arm64: warning: $TRIPLET-gcc links $libc_a, not libc6-dev:arm64's" \
        "(is libc6-dev-arm64-cross installed? its glibc may lack Debian's security updates)" >&2 ;;
esac

# Static libip4tc.a and libip6tc.a for aarch64, from the iptables source of
# the installed libip4tc-dev (whose headers palisade compiles against).
ver=$(dpkg-query -W -f='${Version}' libip4tc-dev)
stamp="$IPTC_ARM64_PREFIX/.built-from-iptables-$ver-$TRIPLET"
is_aarch64() { LC_ALL=C $TRIPLET-objdump -a "$1" 2>/dev/null | grep -q 'file format elf64-littleaarch64'; }
if [ ! -f "$stamp" ] || ! is_aarch64 "$IPTC_ARM64_PREFIX/libip4tc.a" ||
   ! is_aarch64 "$IPTC_ARM64_PREFIX/libip6tc.a"; then
    say "building static libip4tc.a and libip6tc.a for $TRIPLET from iptables $ver"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (
        cd "$work"
        # apt-get source drops privileges to _apt when it can; let it write here.
        chmod 0755 "$work"
        apt-get source -qq --download-only "iptables=$ver" >/dev/null 2>&1 ||
            apt-get source -qq --download-only iptables >/dev/null
        dpkg-source -x --no-check iptables_*.dsc src >/dev/null
        cd src
        # pkg-config sees only aarch64 libraries.
        PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR=/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig \
            ./configure --quiet --host=$TRIPLET --enable-static --disable-shared \
            --disable-nftables --disable-bpf-compiler --disable-nfsynproxy --disable-libipq >/dev/null
        make -s -j"$(nproc)" -C libiptc >/dev/null
    )
    for a in libip4tc.a libip6tc.a; do
        is_aarch64 "$work/src/libiptc/.libs/$a" || die "the cross build made a $a that is not aarch64"
    done
    install -d -m 0755 "$IPTC_ARM64_PREFIX"
    install -m 0644 "$work/src/libiptc/.libs/libip4tc.a" "$work/src/libiptc/.libs/libip6tc.a" \
        "$IPTC_ARM64_PREFIX/"
    rm -f "$IPTC_ARM64_PREFIX"/.built-from-iptables-*
    touch "$stamp"
fi
say "dependencies ready (static aarch64 libiptc in $IPTC_ARM64_PREFIX)"
[ $deps_only = no ] || exit 0

opts=(--cross-file "cross/$TRIPLET.ini" -Diptc_dir="$IPTC_ARM64_PREFIX" -Dwerror=true)
if [ -f "$build_dir/build.ninja" ]; then
    meson setup --reconfigure "$build_dir" "${opts[@]}" >/dev/null
else
    meson setup "$build_dir" "${opts[@]}" >/dev/null
fi
# palisade alone: the test helpers of tests/meson.build are partly written
# for x86_64; tests/cross/qemu-arm64.sh builds the unit tests it runs.
meson compile -C "$build_dir" palisade

# What was built: a static aarch64 executable.
desc=$(LC_ALL=C file -b "$build_dir/palisade")
case $desc in
*"ARM aarch64"*) ;;
*) die "$build_dir/palisade is not an aarch64 executable: $desc" ;;
esac
case $desc in
*static-pie*|*"statically linked"*) ;;
*) die "$build_dir/palisade is not statically linked: $desc" ;;
esac
say "built $build_dir/palisade: $desc"

if [ $run_tests = yes ]; then
    tests/cross/qemu-arm64.sh "$build_dir"
fi
