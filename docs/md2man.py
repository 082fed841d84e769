#!/usr/bin/env python3
"""Turn docs/usage.md into the man page palisade(1).

    md2man.py USAGE_MD OUTPUT VERSION

usage.md is the one source of both: it is written in the small part of
Markdown this script knows (headings, paragraphs, indented code blocks,
lists, two-column tables, `code`, **bold**, *italic*, [links](...)), and
anything else is an error that names the line, so that the man page never
silently loses a part of the reference.

  # title                 not shown (the man page has its own header)
  **palisade** - what     the NAME section (the paragraph after the title)
  ## Heading              .SH HEADING
  ### Heading             .SS Heading
  | a | b | tables        one .TP entry a row: the first cell is the tag
      code                .nf block
  - item, 1. item         .IP
  <!-- comment -->        left out
"""
import os
import re
import sys

# The directory of the source, from the top of the tree (docs), for links.
SOURCE_DIR = 'docs'


class Error(Exception):
    pass


def escape(text):
    """Escapes roff's special characters in running text."""
    return text.replace('\\', '\\e')


def code(text):
    """A code span: bold, with hyphens as minus signs so that options copy."""
    return '\\fB' + escape(text).replace('-', '\\-') + '\\fR'


LINK = re.compile(r'\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]*)\)')
CODE = re.compile(r'`([^`]+)`')
BOLD = re.compile(r'\*\*(.+?)\*\*', re.S)
ITALIC = re.compile(r'(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])', re.S)


def link(m):
    """A link shows its text; one to another file of the source tree also
    names that file, from the top of the tree."""
    text, target = m.group(1), m.group(2)
    path = target.split('#', 1)[0]
    if not path:
        return text
    if re.match(r'[a-z][a-z0-9+.-]*:', path):
        return '%s (%s)' % (text, path)
    return '%s (%s)' % (text, os.path.normpath(os.path.join(SOURCE_DIR, path)))


def inline(text):
    """Markdown inline markup to roff, for a paragraph or a table cell."""
    text = LINK.sub(link, text)
    out = []
    pos = 0
    for m in CODE.finditer(text):
        out.append(prose(text[pos:m.start()]))
        out.append(code(m.group(1).replace('\n', ' ')))
        pos = m.end()
    out.append(prose(text[pos:]))
    return ''.join(out)


def prose(text):
    if '`' in text:
        raise Error('an unmatched ` in "%s"' % text.strip())
    text = escape(text)
    text = BOLD.sub(lambda m: '\\fB' + m.group(1) + '\\fR', text)
    text = ITALIC.sub(lambda m: '\\fI' + m.group(1) + '\\fR', text)
    return text


def lines_out(text):
    """Lines of running text, none of which roff may take for a request."""
    out = []
    for line in text.split('\n'):
        line = line.strip()
        if line.startswith(('.', "'")):
            line = '\\&' + line
        out.append(line)
    return out


def cells(line, lineno):
    row = line.strip()
    if not (row.startswith('|') and row.endswith('|')):
        raise Error('line %d: a table row must start and end with |' % lineno)
    # \| is a | inside a cell.
    parts = re.split(r'(?<!\\)\|', row[1:-1])
    return [p.strip().replace('\\|', '|') for p in parts]


def convert(md, version):
    src = md.split('\n')
    out = ['.\\" Generated from docs/usage.md by docs/md2man.py: edit that file.',
           '.TH PALISADE 1 "" "palisade %s" "User Commands"' % version,
           # Names, options and addresses are not to be hyphenated.
           '.nh']
    i = 0
    n = len(src)
    seen_title = False
    seen_name = False

    def blank(k):
        return k >= n or not src[k].strip()

    while i < n:
        line = src[i]
        lineno = i + 1
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith('<!--'):
            while i < n and '-->' not in src[i]:
                i += 1
            if i == n:
                raise Error('line %d: a comment that does not end' % lineno)
            i += 1
            continue
        if line.startswith('# '):
            if seen_title:
                raise Error('line %d: a second title' % lineno)
            seen_title = True
            i += 1
            continue
        if line.startswith('## '):
            out.append('.SH ' + escape(line[3:].strip()).upper())
            i += 1
            continue
        if line.startswith('### '):
            out.append('.SS ' + inline(line[4:].strip()))
            i += 1
            continue
        if line.startswith('#'):
            raise Error('line %d: only #, ## and ### headings are known' % lineno)
        if line.startswith('    '):
            block = []
            while i < n and (src[i].startswith('    ') or
                             (not src[i].strip() and i + 1 < n and src[i + 1].startswith('    '))):
                block.append(src[i][4:])
                i += 1
            out += ['.PP', '.RS 4', '.nf']
            for b in block:
                b = escape(b)
                if b.startswith(('.', "'")):
                    b = '\\&' + b
                out.append(b)
            out += ['.fi', '.RE']
            continue
        if line.startswith('|'):
            rows = []
            while i < n and src[i].startswith('|'):
                rows.append(cells(src[i], i + 1))
                i += 1
            if len(rows) < 3 or not all(re.fullmatch(r':?-+:?', c) for c in rows[1]):
                raise Error('line %d: a table needs a header row, a --- row and rows' % lineno)
            for r, row in enumerate(rows):
                if len(row) != 2:
                    raise Error('line %d: a table of %d columns: the man page takes two'
                                % (lineno + r, len(row)))
            for row in rows[2:]:
                out.append('.TP')
                out += lines_out(inline(row[0]))
                out += lines_out(inline(row[1]) if row[1] else '')
            continue
        m = re.match(r'(- |\d+\. )', line)
        if m:
            mark = m.group(1)
            item = [line[len(mark):]]
            i += 1
            while i < n and src[i].startswith(' ' * len(mark)) and src[i].strip():
                item.append(src[i].strip())
                i += 1
            tag = '\\(bu' if mark == '- ' else mark.strip()
            out.append('.IP %s %d' % (tag, 2 if mark == '- ' else 4))
            out += lines_out(inline('\n'.join(item)))
            continue
        para = []
        while i < n and src[i].strip() and not src[i].startswith(('#', '|', '    ', '<!--')):
            para.append(src[i])
            i += 1
        text = '\n'.join(para)
        if seen_title and not seen_name:
            m = re.fullmatch(r'\*\*(\S+)\*\* - (.+)', text, re.S)
            if not m:
                raise Error('line %d: the paragraph after the title must be '
                            '"**name** - what it does"' % lineno)
            out += ['.SH NAME', '%s \\- %s' % (m.group(1), escape(' '.join(m.group(2).split())))]
            seen_name = True
            continue
        out.append('.PP')
        out += lines_out(inline(text))
    if not seen_name:
        raise Error('no "**name** - what it does" paragraph after the title')
    return '\n'.join(out) + '\n'


def main(argv):
    if len(argv) != 4:
        sys.stderr.write('usage: md2man.py USAGE_MD OUTPUT VERSION\n')
        return 2
    src, dst, version = argv[1:]
    global SOURCE_DIR
    SOURCE_DIR = os.path.basename(os.path.dirname(os.path.abspath(src)))
    try:
        with open(src, encoding='utf-8') as f:
            page = convert(f.read(), version)
    except Error as e:
        sys.stderr.write('md2man: %s: %s\n' % (src, e))
        return 1
    except OSError as e:
        sys.stderr.write('md2man: cannot read %s: %s\n' % (src, e.strerror))
        return 1
    try:
        with open(dst, 'w', encoding='utf-8') as f:
            f.write(page)
    except OSError as e:
        sys.stderr.write('md2man: cannot write %s: %s\n' % (dst, e.strerror))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
