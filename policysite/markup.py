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
import os
import re
import signal
import threading
from contextlib import contextmanager
from html import unescape as html_unescape
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

import markdown
import markdown.inlinepatterns
import markdown.treeprocessors
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
# (issue 18) any case of the scheme: POLICY:x once escaped the link check
_POLICY_HREF = re.compile(r'\shref="\s*(policy:[^"]*)"', re.I)


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
        # (issue 18) a {#id} given twice, or one the footnotes use (fn:1, fnref:1): the later one
        # gets a number, as an automatic id would (one id, one place: #anchors stay unambiguous)
        used: set[str] = set()
        for el in root.iter():
            given = el.get("id")
            if not given:
                continue
            if el.tag in ("sup", "li") and given.startswith(("fn:", "fnref:")) and given not in used:
                used.add(given)                    # the footnotes' own
                continue
            if given in used or given.startswith(("fn:", "fnref:")):
                n = 2
                while f"{given}-{n}" in used:
                    n += 1
                el.set("id", f"{given.replace(':', '-')}-{n}" if ":" in given else f"{given}-{n}")
            used.add(el.get("id"))
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
        self._marks = {c: [m.start() for m in re.finditer(re.escape(c), source)] for c in '<>"\''}
        super().__init__(md)

    def _next(self, c: str, pos: int) -> int:
        import bisect
        at = self._marks[c]
        i = bisect.bisect_left(at, pos)
        return at[i] if i < len(at) else len(self.rawdata) + 1

    def check_for_whole_start_tag(self, i):
        # html.parser reads '<a <a <a …' as one tag with attributes '<a', to the next '>': from
        # every '<' to the end of the text, n² for n of them. A '<' before the next '>', with no
        # quote open, means this '<' starts no tag (as Python-Markdown's inline pattern has it):
        # O(log n) for each '<'. (The positions are of the source; rawdata is the source.)
        if self.rawdata is self._source_text:
            lt, gt = self._next("<", i + 1), self._next(">", i + 1)
            if lt < gt and (self._next('"', i) > lt and self._next("'", i) > lt):
                return -1
        return super().check_for_whole_start_tag(i)

    def feed(self, data):
        self._source_text = data
        super().feed(data)

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


# --- Linear inline patterns -----------------------------------------------------------------
#
# Python-Markdown's link, image and reference patterns find the end of '[text]' and '(href)'
# by walking the text from every '[' to its match, and its footnote and reference-id regexes
# run to the next ']': an unclosed '[' costs the rest of the paragraph, so a paragraph of n
# brackets took n² steps (32 KB of '[': 68 s). _Brackets finds every bracket's match in one pass
# (a stack) per text the patterns see, and the patterns look them up: an unmatched '[' or '(' is
# rejected at once. Bounds (n: the paragraph's length, k: links found in it):
# - '[text]': O(n) per text seen, O(1) per '['; text longer than MAX_LINK_TEXT is not a link;
# - '(href "title")': O(1) if there is no ')' after it, else Python-Markdown's own walk over at
#   most MAX_LINK_DEST characters;
# - each link found makes Python-Markdown rebuild the paragraph (O(n)) and the tables: O(k·n),
#   as in Python-Markdown itself; 1 MB of bracket soup is a few seconds (tests/test_markup_cost.py).
MAX_LINK_TEXT = 8192
MAX_LINK_DEST = 2048


class _Brackets:
    """The matching ']' of every '[' in one text (one pass with a stack), and where its ')' are."""

    def __init__(self):
        self.data: str | None = None

    def of(self, data: str) -> "_Brackets":
        if data is not self.data:
            self.data = data
            close: dict[int, int] = {}
            stack: list[int] = []
            for m in re.finditer(r"[\[\]]", data):
                if m.group() == "[":
                    stack.append(m.start())
                elif stack:
                    close[stack.pop()] = m.start()
            self.close = close
            self.parens = [m.start() for m in re.finditer(r"\)", data)]
        return self

    def next_paren(self, pos: int) -> int:
        import bisect
        i = bisect.bisect_left(self.parens, pos)
        return self.parens[i] if i < len(self.parens) else -1


def _bound_links(md) -> None:
    brackets = _Brackets()
    for name in ("reference", "link", "image_link", "image_reference", "short_reference", "short_image_ref"):
        if name not in md.inlinePatterns:
            continue
        proc = md.inlinePatterns[name]

        def get_text(data, index, _proc=proc):
            close = brackets.of(data).close.get(index - 1)
            if close is None or close - index > MAX_LINK_TEXT:
                return "", index, False
            return data[index:close], close + 1, True          # what Python-Markdown's walk gives

        def get_link(data, index, _orig=proc.getLink):
            if brackets.of(data).next_paren(index) < 0:         # no ')' anywhere after: no link
                return "", None, index, False
            return _orig(data[:index + MAX_LINK_DEST], index)

        proc.getText = get_text
        proc.getLink = get_link
        if hasattr(proc, "RE_LINK") and name.endswith(("reference", "ref")):
            proc.RE_LINK = re.compile(r"\s?\[([^\]\[]*)\]", re.DOTALL | re.UNICODE)   # to the next bracket
    if "footnote" in md.inlinePatterns:         # '[^id]': the id runs to the next bracket, not past it
        md.inlinePatterns["footnote"].compiled_re = re.compile(r"\[\^([^\]\[]*)\]", re.DOTALL | re.UNICODE)


class LinearInline(markdown.treeprocessors.InlineProcessor):
    """Python-Markdown's inline pass, with each pattern applied in one pass over the text.

    Python-Markdown rebuilds the whole text after every match it replaces (text before +
    placeholder + text after) and searches again: a paragraph with k links, key clauses,
    escapes or code spans cost O(k·n) (1 MB of '++a++' or '\\\\' ran for hours). Here the
    pieces are collected and joined once per pattern: O(n + k) per pattern, the handlers' own
    work aside (bounded above). The handlers see the text as it was before this pattern's
    replacements, which differs from Python-Markdown's only in what lies before the match
    (a placeholder there, the replaced text here); no pattern of ours or Python-Markdown's
    looks back further than one character, and a placeholder's last character (ETX) and a
    replaced text's last character are neither '!' nor '\\' for any of them."""

    def _InlineProcessor__applyPattern(self, pattern, data, patternIndex, startIndex=0):
        if not isinstance(pattern, markdown.inlinepatterns.InlineProcessor):
            return super()._InlineProcessor__applyPattern(pattern, data, patternIndex, startIndex)
        for exclude in pattern.ANCESTOR_EXCLUDES:
            if exclude.lower() in self.ancestors:
                return data, False, 0
        regex = pattern.getCompiledRegExp()
        handle = self._InlineProcessor__handleInline
        out: list[str] = []
        last = pos = startIndex
        n = len(data)
        while pos <= n:
            match = regex.search(data, pos)
            if match is None:
                break
            node, start, end = pattern.handleMatch(match, data)
            if start is None or end is None or start < last:
                pos = max(match.end(0), match.start(0) + 1)
                continue
            if node is None:                      # matched, nothing to put in: go on after it
                pos = max(end, pos + 1)
                continue
            if not isinstance(node, str) and not isinstance(node.text, AtomicString):
                for child in [node] + list(node):
                    if child.text:
                        self.ancestors.append(child.tag.lower())
                        child.text = handle(child.text, patternIndex + 1)
                        self.ancestors.pop()
                    if child.tail:
                        child.tail = handle(child.tail, patternIndex)
            out.append(data[last:start])
            out.append(self._InlineProcessor__stashNode(node, pattern.type()))
            last = pos = max(end, start + 1) if end <= start else end
        if not out:
            return data, False, 0
        out.append(data[last:])
        return "".join(out), False, 0


class PolicyExtension(Extension):
    def extendMarkdown(self, md):
        self.md = md
        md.preprocessors.register(HtmlBlocks(md), "html_block", 20)
        # ++…++ and {{…}}: the text inside holds no '++' (no '{{' or '}}'), so a try that fails
        # stops at the next one: every character is looked at O(1) times over all tries, O(n).
        md.inlinePatterns.register(KeyClauseProcessor(r"\+\+(?!\+)((?:[^+]|\+(?!\+))+)\+\+", md),
                                   "key_clause", 65)
        md.inlinePatterns.register(NoConvertProcessor(r"\{\{((?:[^{}]|\{(?!\{)|\}(?!\}))+)\}\}", md),
                                   "no_convert", 66)
        _bound_links(md)
        md.treeprocessors.register(LinearInline(md), "inline", 20)
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

# Time budget of one document's Markdown, in seconds (POLICYSITE_MARKDOWN_BUDGET to change it).
# The patterns above are linear, but Python-Markdown's own work per inline element is large: a
# 1 MB paragraph of 200,000 tags takes tens of seconds. Past the budget the document is an
# error naming the file, not a hang. A SIGALRM timer, so only where signals can be had: the main
# thread of the build and of each worker process (a server that renders in another thread
# renders without a budget).
TIME_BUDGET = float(os.environ.get("POLICYSITE_MARKDOWN_BUDGET", "30"))


# Lists and quotes inside each other, at most. Python-Markdown parses each level by recursing:
# before 3.11 a few hundred levels raised RecursionError, from 3.11 it stops nesting near the
# interpreter's limit (~220 levels in a build) and shows the deeper markers as text. Either way
# the page is not what was written, so past this depth the document is an error, whichever
# version renders it. (A policy's lists go four or five levels deep.)
MAX_NESTING = 100
_NESTING = re.compile(r"<(/?)(?:ul|ol|blockquote)\b", re.I)


def _too_deep(html: str) -> bool:
    if html.count("<ul") + html.count("<ol") + html.count("<blockquote") <= MAX_NESTING:
        return False                            # (most documents: not worth a scan)
    depth = 0
    for m in _NESTING.finditer(html):
        if m.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > MAX_NESTING:
                return True
    return False


class MarkdownError(Exception):
    """A document that cannot be rendered: a message and a fix for its Diagnostic."""

    def __init__(self, message: str, fix: str):
        self.message, self.fix = message, fix
        super().__init__(message)


def _nested_too_deeply() -> MarkdownError:
    return MarkdownError(f"lists, quotes or HTML are nested too deeply to render (over {MAX_NESTING} levels)",
                         "indent less: a list inside a list inside a list… a few levels deep at most")


class MarkdownTooSlow(MarkdownError):
    """The Markdown of one document took longer than TIME_BUDGET."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"the Markdown of this file takes too long to render (over {seconds:g} s)",
                         "look for a very long paragraph of brackets, tags or other markup (often pasted "
                         "by mistake) and split or remove it; POLICYSITE_MARKDOWN_BUDGET=seconds "
                         "raises the limit")


@contextmanager
def _budget(seconds: float):
    if (seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):     # someone else's timer is running
        yield
        return

    def expired(signum, frame):
        raise MarkdownTooSlow(seconds)

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def render_markdown(text: str, backlink_title: str = "%d", allowlist: Allowlist = DEFAULT_ALLOWLIST) -> RenderedDoc:
    """Render one document, sanitized. Pure: the same text always gives the same result."""
    md = _MD.get(backlink_title)
    if md is None:
        md = _MD[backlink_title] = new_markdown(backlink_title)
    md.reset()
    md.toc_tokens = []          # convert() returns early for a blank text, before the heading pass runs
    try:
        with _budget(TIME_BUDGET):
            raw = md.convert(text)
            html, seen, spans = allowlist.clean_with_spans(raw)
            if _too_deep(html):             # (the sanitized page: well-formed, comments gone)
                raise _nested_too_deeply()
    except MarkdownTooSlow:
        _MD.pop(backlink_title, None)          # stopped half-way: its state is of no use
        raise
    except RecursionError:
        _MD.pop(backlink_title, None)
        raise _nested_too_deeply() from None
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
