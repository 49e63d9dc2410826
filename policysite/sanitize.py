"""HTML sanitizing: what a policy's Markdown may put on a page.

Policies are written by many hands and pasted from many places (Word, other
web pages, e-mails). Whatever HTML ends up in them, the page must not run
scripts, load things from other sites, submit forms or restyle the site. Every
document's HTML, after Markdown, goes through nh3 (the Python binding of the
Rust `ammonia` sanitizer, built on the html5ever parser browsers' specs
describe) with the allow-list below: anything not on it is removed, keeping its
text; the content of script, style, iframe and the like is removed with it.

The allow-list covers what policy documents need and what our Markdown
extensions produce (footnotes, attribute lists, heading ids, key clauses,
no-convert spans). `[markdown] allow_tags` and `allow_attributes` in
config.toml widen it, knowingly: some tags and attributes can never be allowed
(NEVER_TAGS, NEVER_ATTRIBUTES), and risky ones are allowed with a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

# Tags kept, with their text. h1 is left out on purpose: the page title is the only h1
# (a raw <h1> keeps its text; write '## ' headings instead).
TAGS = frozenset("""
p br hr h2 h3 h4 h5 h6 blockquote pre code div span
ul ol li dl dt dd
table caption colgroup col thead tbody tfoot tr th td
a img figure figcaption
strong em b i u s sub sup small mark abbr dfn q cite time ins del kbd samp var
""".split())

# Attributes kept, per tag ("*": on every allowed tag). No style, no on* handlers.
ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset({"id", "class", "title", "lang", "dir"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "th": frozenset({"scope", "colspan", "rowspan", "align", "abbr"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value"}),
    "span": frozenset({"data-nc"}),          # {{no-convert}} text
    "ins": frozenset({"datetime"}),
    "del": frozenset({"datetime"}),
    "time": frozenset({"datetime"}),
}

# URL schemes allowed in href and src; relative URLs and #fragments are always allowed.
# `policy:` links are resolved to relative URLs by the render stage.
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "policy"})

# Removed together with everything inside them.
CLEAN_CONTENT_TAGS = frozenset("""
script style iframe frame frameset object embed applet noscript noembed noframes
template svg math xmp textarea select title head
""".split())

# Never allowed, whatever config.toml says: they run code or change the whole page.
NEVER_TAGS = frozenset("script style base meta link html head body title noscript template".split())
NEVER_ATTRIBUTE_RE = re.compile(r"^(on.*|style|srcdoc|formaction|action|xmlns.*|http-equiv)$", re.I)
# Allowed only with a warning naming the risk.
RISKY_TAGS = {
    "iframe": "embeds another page; its site sees every reader (the page's Content-Security-Policy "
              "blocks frames from other sites unless you change it)",
    "frame": "embeds another page", "object": "embeds plug-in content", "embed": "embeds plug-in content",
    "form": "can send what readers type to any address", "input": "a form field",
    "button": "a form control", "textarea": "a form field", "select": "a form field",
    "svg": "can carry scripts and links that the sanitizer does not look into",
    "math": "can carry links the sanitizer does not look into",
    "audio": "loads media, from other sites too", "video": "loads media, from other sites too",
    "source": "loads media", "h1": "a second h1 on the page breaks its outline (the title is the h1)",
}

# ids the templates use themselves: content may not take them.
RESERVED_IDS = frozenset({"main", "toc-heading", "contact-heading", "text-size-label"})
TAG_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ATTR_NAME = re.compile(r"^[a-z][a-z0-9_:.-]*$")


def _filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "id" and (value in RESERVED_IDS or (value.startswith(("fn:", "fnref:")) and tag not in ("li", "sup", "a"))):
        return None                  # (issue 18) nor the footnotes' ids, but on the footnotes themselves
    if attr == "src" and value.strip().lower().startswith("policy:"):
        return None                  # (issue 18) policy: is a link, never an image's source
    return value


@dataclass(frozen=True)
class Allowlist:
    """The sanitizer's allow-list: the defaults plus what config.toml adds."""
    extra_tags: frozenset[str] = frozenset()
    extra_attributes: tuple[tuple[str, str], ...] = ()   # (tag or "*", attribute)

    @property
    def tags(self) -> set[str]:
        return set(TAGS | self.extra_tags)

    @property
    def attributes(self) -> dict[str, set[str]]:
        out = {tag: set(attrs) for tag, attrs in ATTRIBUTES.items()}
        for tag, attr in self.extra_attributes:
            out.setdefault(tag, set()).add(attr)
        return out

    def clean(self, html: str) -> str:
        """Sanitize an HTML fragment."""
        return self.clean_with_spans(html)[0]

    def clean_with_spans(self, html: str) -> tuple[str, str, list[tuple[int, int]]]:
        """Sanitize an HTML fragment; also return it as the sanitizer saw it (unclosed dangerous
        tags shown as text, see neutralise) and the spans of the elements removed with their
        content, for the check that no other text was lost (lost_text)."""
        if not html:
            return html, html, []
        seen, spans = neutralise(html)
        return self._nh3(seen), seen, spans

    def _nh3(self, html: str) -> str:
        tags = self.tags
        return nh3.clean(
            html,
            tags=tags,
            clean_content_tags=set(CLEAN_CONTENT_TAGS - tags),
            attributes=self.attributes,
            attribute_filter=_filter,
            url_schemes=set(URL_SCHEMES),
            strip_comments=True,
            link_rel=None,
        )

    @classmethod
    def from_config(cls, cfg) -> "Allowlist":
        tags = frozenset(cfg["markdown.allow_tags"] or ())
        attrs = tuple(sorted((tag, a) for tag, names in (cfg["markdown.allow_attributes"] or {}).items()
                             for a in names))
        return cls(tags, attrs)


DEFAULT = Allowlist()


def clean(html: str) -> str:
    """Sanitize with the default allow-list."""
    return DEFAULT.clean(html)


def clean_inline_text(html: str) -> str:
    """Sanitize a short HTML snippet that should hold text only (a table-of-contents entry)."""
    return nh3.clean(html, tags=set(), clean_content_tags=set(CLEAN_CONTENT_TAGS), strip_comments=True,
                     link_rel=None) if html else html


# --- Unclosed dangerous tags -------------------------------------------------------------------
#
# A browser's parser (and html5ever inside nh3) reads everything after <script>, <style>,
# <title>, <textarea>, <xmp>, <iframe>, <noembed>, <noframes>, <noscript> as raw text up to the
# matching end tag, <plaintext> to the end of the document, and <object>, <select>, <template>,
# <svg>, <math> as an element that holds what follows. Such an element is removed with its
# content, so ONE of them left open in running text ("我们会过滤 <script> 等危险标签。") took the
# rest of the document with it. Before sanitizing, `neutralise` finds each of them that has no
# end tag in the same paragraph and turns its "<" into "&lt;": the tag is then shown as the text
# the author wrote (what such a sentence means) and nothing after it is lost. An element closed
# within its paragraph, or within one raw HTML block, is still removed with its content.
#
# Decision: "treat as text", not "remove the tag only": the sentence reads as written, it is as
# safe (it is text), and a webmaster who meant real HTML sees the tag on the page.
#
# Cost: one pass over the HTML; the end tags of each name are found once, by one regex pass, and
# looked up by bisection: O(n log n) for n characters, whatever the input.

RAW_TEXT = frozenset("script style title textarea xmp iframe noembed noframes noscript".split())
# nh3 also drops the content of the element names SVG and MathML use, wherever they are: an
# unclosed <text>, <set>, <g> or <mi> in running text took its paragraph (tests/test_hostile.py
# checks this list against nh3)
FOREIGN = frozenset("""
animate circle defs desc discard ellipse filter g line marker mask metadata mpath path pattern polygon
polyline rect set stop switch symbol text tspan use view annotation annotation-xml maction
maligngroup malignmark menclose merror mfenced mfrac mglyph mi mlabeledtr mlongdiv mmultiscripts mn mo
mover mpadded mphantom mprescripts mroot mrow ms mscarries mscarry msgroup msline mspace msqrt msrow
mstack mstyle msub msubsup msup mtable mtd mtext mtr munder munderover none semantics
""".split())
CONTAINERS = frozenset("object applet select template svg math".split()) | FOREIGN
_DANGER = RAW_TEXT | CONTAINERS | {"plaintext"}
# What sends a document the slow way: a dangerous tag, a comment, or a tag with one quote (an
# attribute value left open: '<a href="https://x.gov.cn>链接</a>'). Linear: each try at a '<'
# stops at the next '<' or '>'.
_DANGER_RE = re.compile(r"<(?:(?:" + "|".join(sorted(_DANGER)) + r")(?=[\s/>])|!--"
                        r"""|[A-Za-z][^<>"]*"[^<>"]*>|[A-Za-z][^<>']*'[^<>']*>)""", re.I)   # (one '<' first: fast)
_TAG_START = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r /><]*)")
_PARA_END = r"(?i)</p[\s>]"
_COMMENT_END = r"--!?>"


class _Positions:
    """Where each of some characters (or patterns) occur, found in one pass; next(at) by bisection."""

    def __init__(self, html: str, pattern: str):
        self.at = [m.start() for m in re.finditer(pattern, html)]

    def next(self, pos: int) -> int:
        import bisect
        i = bisect.bisect_left(self.at, pos)
        return self.at[i] if i < len(self.at) else -1

    def any_between(self, start: int, end: int) -> bool:
        found = self.next(start)
        return 0 <= found < end


def neutralise(html: str) -> tuple[str, list[tuple[int, int]]]:
    """Escape the '<' of every dangerous tag left open in its paragraph (see above), and of an
    unclosed comment or tag (each would hide the rest of the document too).

    Returns the new HTML and the spans (start, end) of the dangerous elements that are closed,
    which the sanitizer removes with their content (the text check leaves them out)."""
    if not _DANGER_RE.search(html):
        return html, []
    import bisect
    n = len(html)
    gts, dqs, sqs = _Positions(html, ">"), _Positions(html, '"'), _Positions(html, "'")
    comment_ends = _Positions(html, _COMMENT_END)
    paras = _Positions(html, _PARA_END)
    ends: dict[str, _Positions] = {}
    for name in RAW_TEXT:
        ends[name] = _Positions(html, r"(?i)</" + name + r"(?=[\s/>])")
    escape: list[int] = []                # positions of '<' to escape
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []     # open containers: (name, where)
    pos = 0
    while True:
        lt = html.find("<", pos)
        if lt < 0:
            break
        if html.startswith("<!--", lt):
            close = comment_ends.next(lt + 4)
            if close < 0:                 # an unclosed comment hides the rest: show it as text
                escape.append(lt)
                pos = lt + 4
            else:
                pos = html.find(">", close) + 1
            continue
        m = _TAG_START.match(html, lt)
        if m is None:
            pos = lt + 1
            continue
        # the end of the tag: the first '>' outside quoted attribute values
        i, closed = m.end(), False
        while True:
            gt, dq, sq = gts.next(i), dqs.next(i), sqs.next(i)
            if gt < 0:
                break
            q = min((x for x in (dq, sq) if 0 <= x < gt), default=-1)
            if q < 0:
                i, closed = gt + 1, True
                break
            quote_end = (dqs if html[q] == '"' else sqs).next(q + 1)
            if quote_end < 0:
                break
            i = quote_end + 1
        if not closed or html.find("<", lt + 1, i) >= 0:
            # a tag that never ends (an open quote, no '>'), or whose open quote swallows other
            # tags: what the author meant as a tag ends at its first '>'; show it as text
            escape.append(lt)
            pos = lt + 1
            continue
        pos = i
        end, name = m.group(1), m.group(2).lower()
        if html[m.end()] not in " \t\n\f\r/>":
            continue                      # 'script<x' is not <script>
        if end:
            if name in CONTAINERS:
                for k in range(len(stack) - 1, -1, -1):
                    if stack[k][0] == name:
                        start = stack[k][1]
                        if paras.any_between(start, lt):
                            escape.append(start)          # open across paragraphs: text
                        else:
                            spans.append((start, pos))
                        del stack[k:]
                        break
            continue
        if name == "plaintext":
            escape.append(lt)
        elif name in RAW_TEXT:
            close = ends[name].next(pos)
            if (close < 0 or paras.any_between(pos, close)
                    or (name == "script" and "<!--" in html[pos:close])):
                escape.append(lt)
            else:
                gt = gts.next(close)
                pos = n if gt < 0 else gt + 1
                spans.append((lt, pos))
        elif name in CONTAINERS and html[pos - 2] != "/":
            stack.append((name, lt))
    escape.extend(at for _, at in stack)  # containers never closed
    if not escape:
        return html, spans
    escape = sorted(set(escape))
    parts, last = [], 0
    for at in escape:
        parts.append(html[last:at])
        parts.append("&lt;")
        last = at + 1
    parts.append(html[last:])
    # every span moves by 3 characters for each '<' escaped before it
    spans = [(s + 3 * bisect.bisect_left(escape, s), e + 3 * bisect.bisect_left(escape, e))
             for s, e in spans if s not in escape]
    return "".join(parts), sorted(spans)


# --- Nothing lost --------------------------------------------------------------------------------
#
# The check behind neutralise: every piece of text in the HTML the sanitizer was given must be in
# what it gave back, except inside the elements it removes with their content. Tags are found as
# a browser's parser would if no quote were open (from '<' to the first '>'; Markdown writes '>' in
# its own attribute values as &gt;), so a quoted value the author left open is caught too. Cost: linear
# (one regex pass over each side; str.find moves forward only).

# a comment (to its end, or the end of the text), a bogus comment (<!…>, <?…>, </ …>), a tag
_RAW_TAG = re.compile(r"<!--.*?(?:--!?>|\Z)|<[!?][^>]*>?|</[^A-Za-z>][^>]*>?|<[A-Za-z/][^>]*>", re.S)
_CLEAN_TAG = re.compile(r"""<[A-Za-z/!](?:[^>"]|"[^"]*")*>""")    # nh3's output: values in "…"
_SPACE = re.compile(r"\s+")


def _text(html: str, tag: re.Pattern) -> str:
    import html as htmllib
    return _SPACE.sub("", htmllib.unescape(tag.sub("", html)))


def lost_text(seen: str, spans: list[tuple[int, int]], cleaned: str) -> list[str]:
    """The pieces of text of `seen` (outside `spans`) that are not in `cleaned`, in order."""
    import html as htmllib
    out = _text(cleaned, _CLEAN_TAG)
    pieces, last = [], 0
    for s, e in spans + [(len(seen), len(seen))]:
        pieces.append(seen[last:s])
        last = max(last, e)
    if _text("<>".join(pieces), _RAW_TAG) == out:       # the usual case: all of it, in order
        return []
    lost, at, misses = [], 0, 0
    for part in pieces:
        if misses > 20:                     # enough to name; and each miss costs a scan of `out`
            break
        for m in re.finditer(r"[^<>]+", _RAW_TAG.sub("<>", part)):
            piece = _SPACE.sub("", htmllib.unescape(m.group()))
            if not piece:
                continue
            found = out.find(piece, at)
            if found >= 0:
                at = found + len(piece)
            else:
                misses += 1
                if piece not in out:        # (a table's stray text is moved before the table)
                    lost.append(m.group().strip())
    return lost
