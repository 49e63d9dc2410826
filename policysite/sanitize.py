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
    if attr == "id" and value in RESERVED_IDS:
        return None
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
        if not html:
            return html
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
