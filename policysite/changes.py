"""What changed between two versions of a policy (part of the render stage).

Input: the rendered body HTML of two versions in the same script or language.
Output: a `ChangeSet`, the sections of the two versions matched up, and inside
each matched section its paragraphs (list items, table rows, …) matched up,
with character-level differences inside changed Chinese paragraphs (word-level
for Latin text).

How sections are matched: by heading text with the numbering stripped
(一、 （二） 第三条 1.2), so that a section inserted before others does not
make every later section look changed because its number moved; sections
whose headings differ are paired when their title or their text is similar
enough. Inside a pair, paragraphs are aligned with difflib and a changed
paragraph is paired with its old form when they are at least half alike.

Pure and deterministic: the same two HTML strings always give the same result.
"""
from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

LEAF_BLOCKS = {"p", "dt", "dd", "pre", "caption", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6"}
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
CJK = r"\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百千零〇两\d]+[条章节部分款项]"
    r"|[（(][一二三四五六七八九十百\d]+[)）]"
    r"|[一二三四五六七八九十百]+[、.．]"
    r"|\d+(?:\.\d+)*[、.．]?(?=\s|[" + CJK + r"])"
    r"|[A-Za-z][.)])\s*")
_TOKEN = re.compile(r"[A-Za-z0-9_]+|\s+|.", re.S)
PAIR_THRESHOLD = 0.5


@dataclass
class Section:
    """A heading and the blocks (paragraphs, list items, rows) up to the next heading."""
    id: str | None
    level: int
    title: str
    blocks: list[str] = field(default_factory=list)
    # the table rows among the blocks: block text -> (its cells, the header cells of its table)
    rows: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return _NUMBERING.sub("", self.title).strip()

    @property
    def text(self) -> str:
        return "\n".join(self.blocks)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|<!--.*?-->|([^<]+|<)", re.S)
_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s>]+)))?')


class _BlockParser:
    """Split body HTML into sections of plain-text blocks.

    The HTML is what Python-Markdown (and the sanitizer) wrote, so a tokenizer
    of tags and text is enough, and several times faster than html.parser."""

    def __init__(self, notes_title: str):
        self.sections = [Section(None, 1, "")]
        self.notes_title = notes_title
        self.buf: list[str] | None = None     # text of the block being read
        self.buf_tag = ""
        self.cells: list[str] | None = None   # cells of the table row being read
        self.header_row = False               # the row being read has header cells only
        self.table_head: list[str] = []       # the header row of the table being read
        self.skip = 0                         # inside a footnote back-link
        self.heading_id: str | None = None

    def feed(self, text: str) -> None:
        for m in _TAG.finditer(text):
            closing, tag, attrs, data = m.groups()
            if tag:
                tag = tag.lower()
                if closing:
                    self.handle_endtag(tag)
                else:
                    self.handle_starttag(tag, _attrs(attrs))
            elif data:
                self.handle_data(html.unescape(data))

    def _flush(self):
        if self.buf is None:
            return
        text = _clean("".join(self.buf))
        tag, self.buf = self.buf_tag, None
        if tag in HEADINGS:
            self.sections.append(Section(self.heading_id, int(tag[1]), text))
        elif self.cells is not None and tag in ("td", "th"):
            self.cells.append(text)
        elif text:
            self.sections[-1].blocks.append(text)

    def handle_starttag(self, tag, attrs):
        a = attrs
        if self.skip or (tag == "a" and "footnote-backref" in (a.get("class") or "")):
            self.skip += tag == "a"
            return
        if tag == "div" and "footnote" in (a.get("class") or "").split():
            self._flush()
            self.sections.append(Section("footnotes", 2, self.notes_title))
        elif tag == "tr":
            self._flush()
            self.cells = []
            self.header_row = True
        elif tag == "table":
            self._flush()
            self.table_head = []
        elif tag in ("td", "th"):
            self._flush()
            self.buf, self.buf_tag = [], tag
            self.header_row = self.header_row and tag == "th"
        elif tag in LEAF_BLOCKS:
            self._flush()
            self.buf, self.buf_tag = [], tag
            self.heading_id = a.get("id")
        elif tag == "li":
            self._flush()
            self.buf, self.buf_tag = [], "li"
        elif tag in ("ul", "ol", "blockquote", "div", "hr"):
            self._flush()
        elif tag == "br" and self.buf is not None:
            self.buf.append("\n")
        elif tag == "img" and self.buf is not None and a.get("alt"):
            self.buf.append(f"[{a['alt']}]")

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= tag == "a"
            return
        if tag in LEAF_BLOCKS or tag in ("li", "td", "th"):
            if self.buf is not None and (self.buf_tag == tag or tag == "li"):
                self._flush()
        elif tag == "tr" and self.cells is not None:
            self._flush()
            cells, self.cells = self.cells, None
            if any(cells):
                text = " | ".join(cells)
                sec = self.sections[-1]
                sec.blocks.append(text)
                if self.header_row:
                    self.table_head = cells
                    sec.rows.setdefault(text, (cells, []))
                else:
                    sec.rows.setdefault(text, (cells, self.table_head))

    def handle_data(self, data):
        if self.skip:
            return
        if self.buf is None:
            if not data.strip():
                return
            self.buf, self.buf_tag = [], "p"      # loose text (e.g. in a tight list item after a sublist)
        self.buf.append(data)

    def close(self):
        self._flush()


def _attrs(text: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(next((g for g in m.groups()[1:] if g is not None), ""))
            for m in _ATTR.finditer(text)}


_CJK_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")     # source line breaks inside CJK text
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINE_SPACES = re.compile(r" *\n *")


def _clean(text: str) -> str:
    if "\n" in text:
        text = _CJK_BREAK.sub("", text)
        text = _SPACES.sub(" ", text)
        return _LINE_SPACES.sub("\n", text).strip()
    return _SPACES.sub(" ", text).strip()


def sections_of(body_html: str, notes_title: str = "Notes") -> list[Section]:
    parser = _BlockParser(notes_title)
    parser.feed(body_html)
    parser.close()
    secs = parser.sections
    return secs if secs[0].blocks else secs[1:]


# --- matching -------------------------------------------------------------------

@dataclass
class BlockChange:
    op: str                     # equal | insert | delete | modify | moved-out | moved-in
    old: str | None
    new: str | None
    other: "SectionChange | None" = None     # for moves: the section it went to or came from


@dataclass
class SectionChange:
    op: str                     # equal | modify | insert | delete
    old: Section | None
    new: Section | None
    blocks: list[BlockChange]
    number: int = 0             # 1-based among changed sections (anchor c-N)

    @property
    def title_changed(self) -> bool:
        return bool(self.old and self.new and self.old.title != self.new.title)

    @property
    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(("insert", "delete", "modify", "equal", "moved-out", "moved-in"), 0)
        for b in self.blocks:
            c[b.op] += 1
        return c


@dataclass
class ChangeSet:
    sections: list[SectionChange]

    @property
    def changed(self) -> list[SectionChange]:
        return [s for s in self.sections if s.op != "equal"]

    @property
    def counts(self) -> dict[str, int]:
        c = {"insert": 0, "delete": 0, "modify": 0, "equal": 0}
        for s in self.sections:
            c[s.op] += 1
        return c


def _ratio(a: str, b: str) -> float:
    if not a and not b:
        return 1.0
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if m.real_quick_ratio() < PAIR_THRESHOLD or m.quick_ratio() < PAIR_THRESHOLD:
        return m.quick_ratio() * 0.99
    return m.ratio()


def _pair(olds: list, news: list, score) -> list[tuple[int | None, int | None]]:
    """Pair items of two unmatched runs in order, best-scoring first; the rest stand alone."""
    pairs: list[tuple[int | None, int | None]] = []
    j0 = 0
    for i, o in enumerate(olds):
        best, best_j = PAIR_THRESHOLD, None
        for j in range(j0, len(news)):
            s = score(o, news[j])
            if s >= best and (best_j is None or s > best):
                best, best_j = s, j
        if best_j is None:
            pairs.append((i, None))
            continue
        pairs.extend((None, j) for j in range(j0, best_j))
        pairs.append((i, best_j))
        j0 = best_j + 1
    pairs.extend((None, j) for j in range(j0, len(news)))
    return pairs


def _align(olds: list, news: list, keys_old: list, keys_new: list, score):
    """Yield (old index | None, new index | None) for two sequences, in reading order."""
    m = difflib.SequenceMatcher(None, keys_old, keys_new, autojunk=False)
    for tag, i1, i2, j1, j2 in m.get_opcodes():
        if tag == "equal":
            yield from zip(range(i1, i2), range(j1, j2))
            continue
        for a, b in _pair(olds[i1:i2], news[j1:j2], score):
            yield (None if a is None else i1 + a), (None if b is None else j1 + b)


def diff_blocks(old: list[str], new: list[str]) -> list[BlockChange]:
    out = []
    for i, j in _align(old, new, old, new, _ratio):
        if i is None:
            out.append(BlockChange("insert", None, new[j]))
        elif j is None:
            out.append(BlockChange("delete", old[i], None))
        else:
            out.append(BlockChange("equal" if old[i] == new[j] else "modify", old[i], new[j]))
    return out


def _section_score(a: Section, b: Section) -> float:
    if a.key and a.key == b.key:
        return 1.0
    return max(_ratio(a.key, b.key) if a.key and b.key else 0.0, _ratio(a.text, b.text))


def diff_sections(old_html: str, new_html: str, notes_title: str = "Notes") -> ChangeSet:
    old, new = sections_of(old_html, notes_title), sections_of(new_html, notes_title)
    result = []
    for i, j in _align(old, new, [s.key for s in old], [s.key for s in new], _section_score):
        a = old[i] if i is not None else None
        b = new[j] if j is not None else None
        if a is None:
            result.append(SectionChange("insert", None, b, [BlockChange("insert", None, t) for t in b.blocks]))
        elif b is None:
            result.append(SectionChange("delete", a, None, [BlockChange("delete", t, None) for t in a.blocks]))
        else:
            blocks = diff_blocks(a.blocks, b.blocks)
            same = a.title == b.title and all(x.op == "equal" for x in blocks)
            result.append(SectionChange("equal" if same else "modify", a, b, blocks))
    _find_moves(result)
    n = 0
    for s in result:
        if s.op != "equal":
            n += 1
            s.number = n
    return ChangeSet(result)


def _find_moves(sections: list[SectionChange]) -> None:
    """A paragraph deleted in one section and inserted word for word in another was moved."""
    inserted: dict[str, list[tuple[SectionChange, BlockChange]]] = {}
    for s in sections:
        for b in s.blocks:
            if b.op == "insert":
                inserted.setdefault(b.new, []).append((s, b))
    for s in sections:
        for b in s.blocks:
            if b.op == "delete" and inserted.get(b.old):
                target, ins = inserted[b.old].pop(0)
                if target is s:
                    continue
                b.op, b.other = "moved-out", target
                ins.op, ins.other = "moved-in", s


# --- inline differences -----------------------------------------------------------

def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def inline_ops(old: str, new: str) -> list[tuple[str, str]]:
    """Character-level (CJK) or word-level (Latin) differences: [(op, text)], op in = - +.

    Short unchanged runs between two changes are folded into them, so a reader
    sees 「保存三年」→「保存五年」 rather than a scatter of one-character edits.
    """
    a, b = _tokens(old), _tokens(new)
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    raw: list[list] = []                        # [op, old text, new text]
    for tag, i1, i2, j1, j2 in m.get_opcodes():
        x, y = "".join(a[i1:i2]), "".join(b[j1:j2])
        raw.append(["=" if tag == "equal" else "~", x, y])
    # fold short equal runs that sit between two changes
    merged: list[list] = []
    for k, (op, x, y) in enumerate(raw):
        between = 0 < k < len(raw) - 1 and raw[k - 1][0] == "~" and raw[k + 1][0] == "~"
        if op == "=" and between and (len(x) <= 1 or (len(x) <= 2 and not x.isascii())) and x.strip():
            op = "~"
        if merged and merged[-1][0] == "~" and op == "~":
            merged[-1][1] += x
            merged[-1][2] += y
        else:
            merged.append([op, x, y])
    ops: list[tuple[str, str]] = []
    for op, x, y in merged:
        if op == "=":
            ops.append(("=", x))
            continue
        if x:
            ops.append(("-", x))
        if y:
            ops.append(("+", y))
    return ops


@dataclass(frozen=True)
class Labels:
    """Words for screen readers around each change; visible markers come from the style sheet."""
    ins_start: str = "Inserted: "
    ins_end: str = " (end of insertion)"
    del_start: str = "Deleted: "
    del_end: str = " (end of deletion)"


def _wrap(op: str, text: str, labels: Labels) -> str:
    tag, start, end = ("ins", labels.ins_start, labels.ins_end) if op == "+" else \
        ("del", labels.del_start, labels.del_end)
    return (f'<{tag} class="diff"><span class="visually-hidden">{html.escape(start)}</span>'
            f'{html.escape(text)}<span class="visually-hidden">{html.escape(end)}</span></{tag}>')


def inline_html(old: str, new: str, labels: Labels) -> str:
    return "".join(html.escape(t) if op == "=" else _wrap(op, t, labels) for op, t in inline_ops(old, new))


def whole_html(op: str, text: str, labels: Labels) -> str:
    return _wrap("+" if op == "insert" else "-", text, labels)


# --- the changes page's content ------------------------------------------------------

def _row_html(old: tuple | None, new: tuple | None, op: str, labels: Labels) -> str:
    """A changed table row as a table: its table's header row, then the row, compared cell by cell."""
    cells_old, head_old = old or ([], [])
    cells_new, head_new = new or ([], [])
    head = head_new or head_old
    if op == "modify" and len(cells_old) == len(cells_new):
        cells = [inline_html(a, b, labels) for a, b in zip(cells_old, cells_new)]
    elif op == "modify":                      # the columns changed: the old row, then the new one
        return (_table(head, [[whole_html("delete", c, labels) for c in cells_old],
                              [whole_html("insert", c, labels) for c in cells_new]]))
    elif op == "insert":
        cells = [whole_html("insert", c, labels) if c else "" for c in cells_new]
    elif op == "delete":
        cells = [whole_html("delete", c, labels) if c else "" for c in cells_old]
    else:                                     # moved: the row as it is
        cells = [html.escape(c) for c in (cells_new or cells_old)]
    return _table(head, [cells])


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ['<table class="diff-table">']
    if head:
        out.append("<thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in head) + "</tr></thead>")
    out.append("<tbody>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</tbody>")
    out.append("</table>")
    return "".join(out)


def page_data(old_html: str, new_html: str, t) -> dict:
    """What the changes page shows, from the two versions' body HTML and the UI strings `t`:
    the changed sections grouped under their chapter (the top-level section they belong to,
    shown as a heading even when it did not change itself), each block's differences as HTML
    (a table row as a table, compared cell by cell), and the counts."""
    labels = Labels(t["ins_start"], t["ins_end"], t["del_start"], t["del_end"])
    cs = diff_sections(old_html, new_html, t["footnotes_title"])

    def title(sec):
        return sec.title if sec and sec.title else t["preamble"]

    def section_data(sc: SectionChange) -> dict:
        blocks = []
        for b in sc.blocks:
            if b.op == "equal":
                continue
            row_old = sc.old.rows.get(b.old) if sc.old and b.old is not None else None
            row_new = sc.new.rows.get(b.new) if sc.new and b.new is not None else None
            if row_old or row_new:
                body, table = _row_html(row_old, row_new, b.op, labels), True
            elif b.op == "modify":
                body, table = inline_html(b.old, b.new, labels), False
            elif b.op in ("insert", "delete"):
                body, table = whole_html(b.op, b.new or b.old, labels), False
            else:
                body, table = html.escape(b.new or b.old), False
            other = b.other and {"number": b.other.number, "title": title(b.other.new or b.other.old)}
            blocks.append({"op": b.op, "html": body, "table": table, "other": other})
        title_html = inline_html(sc.old.title, sc.new.title, labels) if sc.title_changed else \
            html.escape(title(sc.new or sc.old))
        return {"number": sc.number, "op": sc.op, "title": title(sc.new or sc.old), "title_html": title_html,
                "title_changed": sc.title_changed, "blocks": blocks, "unchanged": sc.counts["equal"],
                "old_id": sc.old.id if sc.old else None, "new_id": sc.new.id if sc.new else None}

    groups: list[dict] = []
    by_chapter: dict[int, dict] = {}           # id(chapter's SectionChange) -> its group
    # the chapter being read in each version: a sub-section belongs to the chapter before it in
    # the version it is in (the new one, or the old one for a deleted sub-section)
    chapter_new: SectionChange | None = None
    chapter_old: SectionChange | None = None

    def group_of(ch: SectionChange | None) -> dict:
        g = by_chapter.get(id(ch))
        if g is None:
            if ch is not None and ch.op != "equal":
                g = {"chapter": section_data(ch), "changed": True, "sections": []}
            else:                              # a chapter that did not change itself: its title only
                head = (ch.new or ch.old) if ch else None
                g = {"chapter": {"title": title(head), "number": None}, "changed": False, "sections": []}
            by_chapter[id(ch)] = g
            groups.append(g)
        return g

    for sc in cs.sections:
        sec = sc.new or sc.old
        if sec.level <= 2:                     # a chapter (h2), the preamble or the notes
            if sc.new:
                chapter_new = sc
            if sc.old:
                chapter_old = sc
            if sc.op != "equal":
                group_of(sc)
            continue
        if sc.op != "equal":
            group_of(chapter_new if sc.new else chapter_old)["sections"].append(section_data(sc))
    changed = len(cs.changed)
    return {"groups": groups, "counts": cs.counts, "changed": changed}
