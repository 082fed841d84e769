#!/bin/bash
# Run inside the image of bench/startup.sh while it is built: adds files
# under DIR, laid out as npm lays out a global install (one package whose
# node_modules holds its dependencies, each with package.json, README.md,
# LICENSE, index.js, lib/, some with dist/, types/, a bin/ script or a
# nested node_modules), until the image holds TARGET files (everything but
# directories, counted with find on the root file system). Root-owned,
# 0644 and 0755 for directories and bin/ scripts, as `npm install -g` run
# as root leaves them; sizes from 200 bytes to 60 KiB, about 2.3 KiB on
# average. The same TARGET gives the same tree (a fixed seed).
#
#   startup-tree.sh TARGET DIR
set -eu
# Runs in the image, without the tree's scripts/lib/errtrap.sh: its own trap.
trap 'echo "startup-tree.sh: line $LINENO: \"$BASH_COMMAND\" failed (status $?)" >&2' ERR
target=$1
dir=$2
have=$(find / -xdev ! -type d ! -path "$0" | wc -l)
need=$((target - have))
if [ "$need" -le 0 ]; then
    echo "startup-tree: the image holds $have files, at least $target: adding none"
    exit 0
fi
echo "startup-tree: the image holds $have files; adding $need under $dir"
manifest=$(mktemp)
# The manifest: "d PATH" for each directory, then "f PATH SIZE MODE" for
# each file, exactly $need of them.
awk -v need="$need" -v top="$dir/@bench/agent" 'BEGIN {
    srand(1)
    nf = 0
    print "d " top "/node_modules"
    file(top "/package.json", "644")
    file(top "/cli.js", "755")
    for (p = 1; nf < need; p++) {
        name = (p % 7 == 0) ? sprintf("@scope%d/pkg%04d", p % 13, p) : sprintf("pkg%04d", p)
        pkg(top "/node_modules/" name, 1)
    }
}
function file(path, mode,   size) {
    if (nf >= need) return
    size = int(200 * exp(rand() * rand() * 5.7)); if (size > 61440) size = 61440
    printf "f %s %d %s\n", path, size, mode
    nf++
}
function pkg(d, depth,   k, i) {
    print "d " d "/lib"
    file(d "/package.json", "644"); file(d "/README.md", "644")
    file(d "/LICENSE", "644"); file(d "/index.js", "644")
    k = 2 + int(rand() * rand() * 40)
    for (i = 1; i <= k; i++) file(sprintf("%s/lib/m%02d.js", d, i), "644")
    if (rand() < 0.35) {
        print "d " d "/dist/esm"; print "d " d "/dist/cjs"
        for (i = 1; i <= k; i++) {
            file(sprintf("%s/dist/esm/m%02d.mjs", d, i), "644")
            file(sprintf("%s/dist/cjs/m%02d.cjs", d, i), "644")
        }
    }
    if (rand() < 0.3) {
        print "d " d "/types"
        for (i = 1; i <= k / 2 + 1; i++) file(sprintf("%s/types/m%02d.d.ts", d, i), "644")
    }
    if (rand() < 0.05) { print "d " d "/bin"; file(d "/bin/cli.js", "755") }
    if (depth == 1 && rand() < 0.1) pkg(d "/node_modules/nested" int(rand() * 100), 2)
}' > "$manifest"
sed -n 's/^d //p' "$manifest" | xargs mkdir -p
# The files' text: JavaScript-looking lines, to each file's size.
awk '$1 == "f" {
    line = sprintf("module.exports.f%d = function (a, b) { return a + b; };\n", NR)
    n = int($3 / length(line)) + 1
    s = ""
    for (i = 0; i < n; i++) s = s line
    printf "%s", substr(s, 1, $3) > $2
    close($2)
}' "$manifest"
awk '$1 == "f" && $4 == "755" { print $2 }' "$manifest" | xargs -r chmod 0755
rm -f "$manifest"
echo "startup-tree: the image now holds $(find / -xdev ! -type d ! -path "$0" | wc -l) files"
