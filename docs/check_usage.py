#!/usr/bin/env python3
"""The usage reference says what palisade does: every option, environment
variable and exit status that `palisade --help` lists, and every preset
that `palisade --list-presets` prints, is documented in docs/usage.md and in
the man page made from it, and they document nothing that palisade does not
list. One TAP result a check.

    check_usage.py PALISADE USAGE_MD MAN_PAGE
"""
import ipaddress
import re
import subprocess
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, what, why=''):
        self.n += 1
        if ok:
            print('ok %d - %s' % (self.n, what))
        else:
            self.failed += 1
            print('not ok %d - %s' % (self.n, what))
            for line in why.splitlines():
                print('# ' + line)

    def done(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0


def bail(why):
    print('Bail out! ' + why)
    sys.exit(1)


def run(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
    except OSError as e:
        bail('cannot run %s: %s' % (argv[0], e.strerror))
    if p.returncode != 0:
        bail('%s exited %d: %s' % (' '.join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


# --help: an option line starts 2 to 6 blanks in, with the option's names
# and its argument (upper case, or in brackets), then its description.
HELP_OPTION = re.compile(
    r'^ {2,6}((?:-[A-Za-z?]|--[\w-]+|status|exec)(?:, --[\w-]+)?(?: [A-Z\[][^\s]*)*)')


def help_options(text):
    return [m.group(1) for m in map(HELP_OPTION.match, text.splitlines()) if m]


def help_exit_statuses(text):
    m = re.search(r'^Exit status:(.*?)(?:\n\n|\Z)', text, re.S | re.M)
    if not m:
        bail('palisade --help has no "Exit status:" paragraph')
    return set(re.findall(r'\b128\+N\b|\b\d{3}\b', m.group(1)))


def presets(text):
    """--list-presets: "@name: what", then its entries, indented."""
    out = {}
    name = None
    for line in text.splitlines():
        m = re.match(r'^(@[\w-]+):', line)
        if m:
            name = m.group(1)
            out[name] = []
        elif line.startswith(' ') and name:
            out[name].append(line.strip())
    return out


def md_sections(md):
    """The rows of the tables of each ## section of usage.md, without their
    header and --- rows: {section: [[cell, cell]]}."""
    sections = {}
    cur = None
    in_table = False
    for line in md.splitlines():
        if line.startswith('## '):
            cur = line[3:].strip()
            sections[cur] = []
        is_row = line.startswith('|')
        if is_row and in_table and cur is not None:
            cells = [c.strip().replace('\\|', '|')
                     for c in re.split(r'(?<!\\)\|', line.strip()[1:-1])]
            if not all(re.fullmatch(r':?-+:?', c) for c in cells):
                sections[cur].append(cells)
        # The first row of a table is its header.
        in_table = is_row
    return sections


def is_address(entry):
    try:
        ipaddress.ip_network(entry, strict=False)
        return True
    except ValueError:
        return False


def spec(cell):
    """`palisade exec [--] CMD [ARG...]` -> exec [--] CMD [ARG...]"""
    return re.sub(r'^palisade ', '', cell.strip().strip('`'))


def man_options(man):
    """The tags of the .TP entries in the man page's OPTIONS section."""
    out = []
    section = None
    lines = man.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('.SH '):
            section = line[4:].strip()
        elif line == '.TP' and section == 'OPTIONS' and i + 1 < len(lines):
            tag = re.sub(r'\\f[BIRP]', '', lines[i + 1]).replace('\\-', '-')
            out.append(spec(tag))
    return out


def compare(tap, what, listed, documented, where, source):
    for item in listed:
        tap.check(item in documented, '%s %s is in %s' % (what, item, where),
                  '%s lists "%s"; %s documents: %s' % (source, item, where,
                                                       ', '.join(documented)))
    for item in documented:
        if item not in listed:
            tap.check(False, '%s %s of %s is in %s' % (what, item, where, source),
                      '%s documents "%s", which %s does not list' % (where, item, source))


def main(argv):
    if len(argv) != 4:
        sys.stderr.write('usage: check_usage.py PALISADE USAGE_MD MAN_PAGE\n')
        return 2
    palisade, usage_md, man_page = argv[1:]
    with open(usage_md, encoding='utf-8') as f:
        md = f.read()
    with open(man_page, encoding='utf-8') as f:
        man = f.read()
    help_text = run([palisade, '--help'])
    tap = Tap()

    options = help_options(help_text)
    tap.check(len(options) >= 10, 'palisade --help lists its options (%d)' % len(options),
              help_text)
    sections = md_sections(md)
    doc_options = [spec(r[0]) for r in sections.get('Options', [])]
    compare(tap, 'option', options, doc_options, 'docs/usage.md', 'palisade --help')
    compare(tap, 'option', options, man_options(man), 'the man page', 'palisade --help')

    env = sorted(set(re.findall(r'\bPALISADE_[A-Z_]+\b', help_text)))
    doc_env = [r[0].strip('`') for r in sections.get('Environment', [])]
    compare(tap, 'variable', env, doc_env, 'docs/usage.md', 'palisade --help')
    tap.check(all(re.search(r'^\.TP\n\\fB%s\\fR$' % v, man, re.M) for v in env),
              'the man page documents %s' % ', '.join(env))

    statuses = sorted(help_exit_statuses(help_text))
    doc_statuses = [r[0] for r in sections.get('Exit status', [])
                    if re.fullmatch(r'\d{3}|128\+N', r[0])]
    compare(tap, 'exit status', statuses, doc_statuses, 'docs/usage.md', 'palisade --help')

    listed = presets(run([palisade, '--list-presets']))
    tap.check(len(listed) > 0, 'palisade --list-presets prints presets')
    rows = {r[0].strip('`'): r[1] for r in sections.get('Presets', [])}
    compare(tap, 'preset', sorted(listed), sorted(rows), 'docs/usage.md',
            'palisade --list-presets')
    for name, entries in sorted(listed.items()):
        if name not in rows:
            continue
        # Names are listed one by one; a preset's address ranges may be
        # named as a whole ("GitHub's published web/git ranges").
        names = [e for e in entries if not is_address(e)]
        missing = [e for e in names if '`%s`' % e not in rows[name]]
        tap.check(not missing, 'docs/usage.md names the %d names of %s' % (len(names), name),
                  'missing: ' + ', '.join(missing))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
