#!/usr/bin/env python3
"""Every relative link of the project's Markdown (README.md, SECURITY.md,
docs/*.md, bench/README.md) points at a file that exists, and at a heading
of it that exists when it names one (#anchor, as GitHub makes them). One TAP
result a link.

    check_links.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

PAGES = ['README.md', 'SECURITY.md', 'docs/*.md', 'bench/README.md']

LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)')
REFDEF = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$', re.M)
SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')


def blank_code(md):
    """The text with code blocks and code spans blanked out (their links
    are not links), keeping every line where it was."""
    out = []
    fence = None
    prev_blank = True
    in_indented = False
    for line in md.split('\n'):
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = None
            out.append('')
            continue
        m = re.match(r' {0,3}(```|~~~)', line)
        if m:
            fence = m.group(1)
            out.append('')
            continue
        if line.startswith(('    ', '\t')) and (prev_blank or in_indented):
            in_indented = True
            out.append('')
            continue
        if stripped:
            in_indented = False
        prev_blank = not stripped
        out.append(line)
    text = '\n'.join(out)
    return re.sub(r'(`+)(.+?)\1', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text,
                  flags=re.S)


def slug(heading):
    """GitHub's anchor for a heading: its text in lower case, without
    punctuation, blanks made hyphens."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)   # links show their text
    text = text.replace('`', '')
    text = text.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path, cache={}):
    if path not in cache:
        with open(path, encoding='utf-8') as f:
            md = blank_code(f.read())
        seen = {}
        out = set()
        for m in re.finditer(r'^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$', md, re.M):
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else '%s-%d' % (s, n))
        for m in re.finditer(r'<a\s+(?:name|id)="([^"]+)"', md):
            out.add(m.group(1))
        cache[path] = out
    return cache[path]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: check_links.py SOURCE_ROOT\n')
        return 2
    root = os.path.abspath(argv[1])
    pages = []
    for pattern in PAGES:
        found = sorted(glob.glob(os.path.join(root, pattern)))
        if not found:
            print('Bail out! no %s in %s' % (pattern, root))
            return 1
        pages += found
    n = 0
    failed = 0
    for page in pages:
        rel = os.path.relpath(page, root)
        with open(page, encoding='utf-8') as f:
            md = blank_code(f.read())
        links = [(m.start(2), m.group(2)) for m in LINK.finditer(md)]
        links += [(m.start(1), m.group(1)) for m in REFDEF.finditer(md)]
        for pos, target in sorted(links):
            if SCHEME.match(target):
                continue
            line = md.count('\n', 0, pos) + 1
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            why = None
            if not path and not frag:
                why = 'an empty link'
            elif not os.path.exists(dest):
                why = '%s does not exist' % os.path.relpath(dest, root)
            elif not dest.startswith(root + os.sep):
                why = 'it points outside the source tree'
            elif frag:
                if not dest.endswith('.md'):
                    why = 'an anchor into %s, which is no Markdown page' % os.path.relpath(dest, root)
                elif frag not in anchors(dest):
                    why = '%s has no heading whose anchor is #%s' % (os.path.relpath(dest, root), frag)
            n += 1
            if why:
                failed += 1
                print('not ok %d - %s:%d: %s' % (n, rel, line, target))
                print('# %s' % why)
            else:
                print('ok %d - %s:%d: %s' % (n, rel, line, target))
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
