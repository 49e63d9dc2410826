"""Markdown → HTML for one policy document (part of the render stage).

Python-Markdown with tables, footnotes, attr_list, def_list, sane_lists and
toc, plus three small extensions of ours:

- key clauses: ``++text++`` → ``<strong class="key-clause">`` (the bold-underlined
  clauses real policies use for what affects the reader's rights);
- no-convert: ``{{text}}`` → ``<span data-nc>`` (kept as written in both scripts);
- headings: levels normalised (the body's top level becomes h2, no skipped
  levels, since the page title is the only h1) and stable ASCII ids by
  position (s1, s1-2, …), so the same #anchor works on the Simplified, the
  Traditional and the English page. ``{#id}`` sets one by hand;
- policy links: ``[text](policy:slug)`` or ``[text](policy:slug#s2)`` links to
  another policy in the reader's script and variant (checked at build time).

The HTML that comes out (raw HTML in the source included) is sanitized with
the allow-list in sanitize.py before anything else sees it.
"""
from __future__ import annotations

import html
import re
from html import unescape as html_unescape
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

import markdown
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import remove_fnrefs, render_inner_html, strip_tags
from markdown.htmlparser import HTMLExtractor
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from .sanitize import DEFAULT as DEFAULT_ALLOWLIST
from .sanitize import RESERVED_IDS, Allowlist, clean_inline_text, lost_text

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
POLICY_LINK = re.compile(r"^policy:([a-z0-9-]+)(#[A-Za-z0-9_:.-]+)?$")
_POLICY_HREF = re.compile(r'\shref="(policy:[^"]*)"')


class KeyClauseProcessor(InlineProcessor):
    def handleMatch(self, m, data):
        el = etree.Element("strong")
        el.set("class", "key-clause")
        el.text = m.group(1)
        return el, m.start(0), m.end(0)


class NoConvertProcessor(InlineProcessor):
    def handleMatch(self, m, data):
        el = etree.Element("span")
        el.set("data-nc", "")
        el.text = AtomicString(m.group(1))
        return el, m.start(0), m.end(0)


# Characters with which some inline pattern (code, escapes, links, images, autolinks,
# raw HTML, entities, emphasis, our ++…++ and {{…}}, footnote and attr_list syntax)
# can start. Text without any of them, and without a hard line break, comes out of
# inline processing unchanged; most policy paragraphs are such text.
_INLINE_TRIGGERS = re.compile(r"[\\`*_\[\]!<>&+{}]|  \n")


class PlainTextProcessor(Treeprocessor):
    """Mark block text that no inline pattern can match as atomic, so Python-Markdown's
    inline pass (its slowest part: every pattern tried at every position) skips it.
    The output is the same; only the time differs (tests/test_markup_speedups.py)."""

    def run(self, root):
        for el in root.iter():
            text = el.text
            if text and not isinstance(text, AtomicString) and not _INLINE_TRIGGERS.search(text):
                el.text = AtomicString(text)


class HeadingProcessor(Treeprocessor):
    """Normalise heading levels, give every heading a stable ASCII id, and collect the
    table of contents (h2 and h3)."""

    def run(self, root):
        self.md.toc_tokens = []
        headings = [el for el in root.iter() if el.tag in HEADINGS]
        if not headings:
            return
        shift = min(int(h.tag[1]) for h in headings) - 2
        counters: list[int] = []
        for h in headings:
            if h.get("id") in RESERVED_IDS:         # the page's own ids (#main …) stay the page's
                del h.attrib["id"]
        used = {el.get("id") for el in root.iter() if el.get("id")}    # {#id} on any element counts
        prev = 1
        for h in headings:
            level = min(int(h.tag[1]) - shift, prev + 1, 6)
            h.tag = f"h{level}"
            prev = level
            depth = level - 1                      # h2 -> 1
            counters = counters[:depth] + [0] * (depth - len(counters))
            counters[depth - 1] += 1
            if not h.get("id"):
                base = "s" + "-".join(str(c) for c in counters if c)
                hid, n = base, 2
                while hid in used:
                    hid, n = f"{base}-{n}", n + 1
                h.set("id", hid)
                used.add(hid)
        toc: list[dict] = []
        for h in headings:
            level = int(h.tag[1])
            if level > 3:
                continue
            if len(h) or "\x02" in (h.text or ""):
                name = strip_tags(render_inner_html(remove_fnrefs(h), self.md))
            else:
                name = html.escape(h.text or "", quote=False)
            entry = {"id": h.get("id"), "name": name, "level": level, "children": []}
            if level == 3 and toc:
                toc[-1]["children"].append(entry)
            else:
                toc.append(entry)
        self.md.toc_tokens = toc


_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_END_TAGS = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)")


class _BlockExtractor(HTMLExtractor):
    """Python-Markdown's raw-HTML block finder, but a block whose start tag is never closed ends at
    the first blank line, not at the end of the document: an unclosed <script>, <style>, <ul> or
    <body> on a line of its own turned every line after it into raw HTML (the Markdown of the
    rest of the policy was shown as written, headings as '### …'). What stays in the block is
    raw HTML, and the sanitizer shows its unclosed dangerous tag as text (sanitize.neutralise).

    Cost: the end tags of the source are listed once (one regex pass) and looked up by bisection."""

    def __init__(self, md, source: str, retries: int = 8):
        self._retries = retries
        self._ends: dict[str, list[int]] = {}
        for m in _END_TAGS.finditer(source):
            self._ends.setdefault(m.group(1).lower(), []).append(m.start())
        self._cut = False
        super().__init__(md)

    def handle_starttag(self, tag, attrs):
        if (tag not in self.empty_tags and self.md.is_block_level(tag)
                and (self.intail or (self.at_line_start() and not self.inraw))):
            import bisect
            ends = self._ends.get(tag, [])
            start = self.line_offset + self.offset
            self._cut = bisect.bisect_right(ends, start) >= len(ends)     # never closed after here
        super().handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.inraw and self._cut:
            m = _BLANK_LINE.search(data)
            if m:
                self._cache.append(data[:m.start() + 1])
                self.cleandoc.append(self.md.htmlStash.store("".join(self._cache)))
                self.cleandoc.append("\n\n")
                self._cache, self.stack, self.inraw, self.intail, self._cut = [], [], False, False, False
                if self.cdata_elem is not None:
                    self.clear_cdata_mode()
                data = data[m.end() - 1:]
        super().handle_data(data)

    def close(self):
        # A block still open at the end whose end tag was seen by the look-up above but not by the
        # parser (it was inside an attribute value, say): cut it at its first blank line now and
        # read the rest again, as Markdown (a few times at most: each reading is linear).
        super_close = super().close
        if self._retries > 0:
            super(HTMLExtractor, self).close()       # html.parser's: flush what is buffered
            if len(self.rawdata):
                self.handle_data(self.rawdata)
                self.rawdata = ""
            raw = "".join(self._cache)
            m = _BLANK_LINE.search(raw) if self.inraw else None
            if m:
                self._cache = []
                self.cleandoc.append(self.md.htmlStash.store(raw[:m.start() + 1]))
                self.cleandoc.append("\n\n")
                rest = _BlockExtractor(self.md, raw[m.end() - 1:], self._retries - 1)
                rest.feed(raw[m.end() - 1:])
                rest.close()
                self.cleandoc.extend(rest.cleandoc)
                return
        super_close()


class HtmlBlocks(Preprocessor):
    """Replaces Python-Markdown's 'html_block' preprocessor: the same, with _BlockExtractor."""

    def run(self, lines):
        source = "\n".join(lines)
        parser = _BlockExtractor(self.md, source)
        parser.feed(source)
        parser.close()
        return "".join(parser.cleandoc).split("\n")


class PolicyExtension(Extension):
    def extendMarkdown(self, md):
        self.md = md
        md.preprocessors.register(HtmlBlocks(md), "html_block", 20)
        md.inlinePatterns.register(KeyClauseProcessor(r"\+\+(?!\+)(.+?)\+\+", md), "key_clause", 65)
        md.inlinePatterns.register(NoConvertProcessor(r"\{\{(.+?)\}\}", md), "no_convert", 66)
        # after attr_list (8) has set {#id}s, before toc (5) reads them
        md.treeprocessors.register(HeadingProcessor(md), "policy_headings", 6)
        md.treeprocessors.register(PlainTextProcessor(md), "policy_plain_text", 21)   # just before inline (20)
        md.registerExtension(self)


@dataclass
class RenderedDoc:
    html: str
    toc: list[dict]                                   # [{id, name, level, children}]
    policy_links: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)   # what the sanitizer took out: "<script>", "onclick=" …
    # text of the source that did not reach the page (sanitize.lost_text): (offset in the body, text)
    lost: list[tuple[int, str]] = field(default_factory=list)


def new_markdown(backlink_title: str = "%d") -> markdown.Markdown:
    # Extension objects, not names: a name makes Markdown scan every installed package's entry points.
    return markdown.Markdown(
        extensions=[
            # align="…", not style="text-align: …": style attributes are sanitized away (and blocked by the CSP)
            TableExtension(use_align_attribute=True),
            FootnoteExtension(BACKLINK_TITLE=backlink_title, SUPERSCRIPT_TEXT="{}"),
            AttrListExtension(), DefListExtension(), SaneListExtension(), FencedCodeExtension(),
            PolicyExtension()],
        output_format="html",
    )


_MD: dict[str, markdown.Markdown] = {}


def render_markdown(text: str, backlink_title: str = "%d", allowlist: Allowlist = DEFAULT_ALLOWLIST) -> RenderedDoc:
    """Render one document, sanitized. Pure: the same text always gives the same result."""
    md = _MD.get(backlink_title)
    if md is None:
        md = _MD[backlink_title] = new_markdown(backlink_title)
    md.reset()
    md.toc_tokens = []          # convert() returns early for a blank text, before the heading pass runs
    raw = md.convert(text)
    html, seen, spans = allowlist.clean_with_spans(raw)
    toc = [_toc_entry(t) for t in md.toc_tokens]
    # policy: links, from Markdown and raw HTML alike; the render stage checks and resolves them
    links = [html_unescape(h) for h in _POLICY_HREF.findall(html)]
    lost = [(_offset_of(text, piece), piece) for piece in lost_text(seen, spans, html)]
    return RenderedDoc(html, toc, links, _removed(seen, html) if seen != html else [], lost)


def _offset_of(text: str, piece: str) -> int:
    """Where a piece of lost text is in the source (-1 if it cannot be found: it was rewritten)."""
    probe = html_unescape(piece).split()
    return text.find(probe[0][:40]) if probe else -1


_TAG_NAME = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
_TAG = re.compile(r"<[A-Za-z][^>]*>")
_RISKY_ATTR = re.compile(r"""[\s"'/](on[a-z]+|style|srcdoc|formaction)\s*=""", re.I)


def _removed(raw: str, clean: str) -> list[str]:
    """Tags and risky attributes in the Markdown output that the sanitizer removed, for a warning."""
    tags = {t.lower() for t in _TAG_NAME.findall(raw)} - {t.lower() for t in _TAG_NAME.findall(clean)}
    attrs = ({a.lower() for tag in _TAG.findall(raw) for a in _RISKY_ATTR.findall(tag)}
             - {a.lower() for tag in _TAG.findall(clean) for a in _RISKY_ATTR.findall(tag)})
    return [f"<{t}>" for t in sorted(tags)] + [f"{a}=" for a in sorted(attrs)]


def _toc_entry(token: dict) -> dict:
    return {"id": token["id"], "name": clean_inline_text(token["name"]), "level": token["level"],
            "children": [_toc_entry(c) for c in token.get("children", [])]}
