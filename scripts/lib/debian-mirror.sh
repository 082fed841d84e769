# debian_mirror [APT_ETC]: prints the Debian mirror this machine's apt uses
# for bookworm main (e.g. http://deb.debian.org/debian), for debootstrap.
# Sourced by scripts/docker-engine.sh.
#
# apt itself reads the sources (apt-get indextargets --no-release-info:
# the index files `apt-get update` would fetch, from the configuration
# alone), so both formats count: one-line entries in sources.list and
# sources.list.d/*.list, and deb822 stanzas in sources.list.d/*.sources,
# with their options, comments and "Enabled: no". Any file may be missing.
# The first http or https URI serving "deb" for suite bookworm, component
# main, wins. When there is none, or apt cannot say, it prints
# http://deb.debian.org/debian and says why on stderr. Never fails.
#
# APT_ETC (default /etc/apt): the directory whose sources.list and
# sources.list.d/ are read (tests/scripts/debian-mirror.sh passes its own).
DEBIAN_MIRROR_DEFAULT=http://deb.debian.org/debian

debian_mirror() {
    local etc=${1:-/etc/apt} out mirror why
    if ! command -v apt-get >/dev/null 2>&1; then
        why="apt-get is not installed"
    elif ! out=$(LC_ALL=C apt-get -o Dir::Etc::sourcelist="$etc/sources.list" \
                     -o Dir::Etc::sourceparts="$etc/sources.list.d" \
                     indextargets --no-release-info \
                     --format '$(TARGET_OF) $(RELEASE) $(COMPONENT) $(REPO_URI)' 2>&1); then
        why="apt-get indextargets failed: $(printf '%s\n' "$out" | grep -m 1 '^E:' || printf '%s\n' "$out" | head -n 1)"
    else
        mirror=$(printf '%s\n' "$out" | awk '$1 == "deb" && $2 == "bookworm" && $3 == "main" &&
                                             $4 ~ /^https?:\/\// { sub(/\/+$/, "", $4); print $4; exit }')
        if [ -n "$mirror" ]; then
            printf '%s\n' "$mirror"
            return 0
        fi
        why="no \"deb\" source for bookworm main in $etc/sources.list or $etc/sources.list.d/"
    fi
    echo "debian-mirror: $why; using $DEBIAN_MIRROR_DEFAULT" >&2
    printf '%s\n' "$DEBIAN_MIRROR_DEFAULT"
}
