"""Saved web pages (.html, .htm) → blocks: decode, drop the page around the policy, walk the DOM.

Decoding: a byte-order mark, else the page's own charset (<meta charset> or http-equiv), else
charset-normalizer's detection; GB2312 and GBK are read as GB18030 (their superset) and Big5
as CP950, as browsers do. Parsing: lxml's HTML parser, which takes tag soup (<font>, unclosed
<p>) as browsers do.

Main text: hidden elements (a CMS's second copy of the body), scripts, forms, <nav>, <footer>
and elements whose class or id names page furniture (nav, crumb, share, footer …) are removed
unless they hold most of the page's text; the main text is then the smallest element that
holds most of what is left. (readability-lxml and trafilatura were tried on our fixtures:
readability drops tables with few ASCII commas, which Chinese text has none of, and removes
the style attributes that say what is bold and underlined before we can read them;
trafilatura flattens a short policy into one paragraph.)
"""
from __future__ import annotations

import re

from .policy import _SPACE, Block, Run, clean_space, furniture_kinds

BLOCK_TAGS = {"p", "div", "section", "article", "blockquote", "center", "dd", "dt", "pre", "address", "main", "td", "th",
              "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tr", "form", "body", "figure", "br", "hr"}
DROP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "embed", "form", "input", "select",
             "textarea", "button", "nav", "footer", "aside", "map", "svg", "canvas", "audio", "video", "head"}
FURNITURE_NAMES = re.compile(
    r"(^|[-_\s])(nav|navbar|menu|crumbs?|breadcrumbs?|position|location|dqwz|share|bdshare|jiathis|social|toolbar|tools?|"
    r"print|close|footer|foot|copyright|bottom|sidebar|side|header|topbar|top|related|xgwz|xgxx|pager|paging|"
    r"prev|next|counter|visits?|hits|ads?|banner|search|login|elder|wza|accessib\w*|barrier|qrcode|ewm|fontsize|zh?dx)"
    r"($|[-_\s\d])", re.I)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
BOLD_STYLE = re.compile(r"font-weight\s*:\s*(bold|bolder|[6-9]00)", re.I)
UNDERLINE_STYLE = re.compile(r"text-decoration(-line)?\s*:[^;]*underline", re.I)
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_-]+)""",
                          re.I)


class Unreadable(Exception):
    pass


def codec_for(name: str) -> str:
    n = name.lower().replace("_", "-")
    if n in ("gb2312", "gbk", "gb-2312", "x-gbk", "gb18030", "cp936", "euc-cn", "hz-gb-2312"):
        return "gb18030"
    if n in ("big5", "big5-hkscs", "x-x-big5", "cp950"):
        return "cp950" if n != "big5-hkscs" else "big5hkscs"
    return n


def decode(data: bytes) -> tuple[str, str]:
    """(text, the encoding as found: 'UTF-8', 'GB2312 (the page's charset)', 'Big5 (detected)')."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "UTF-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    m = META_CHARSET.search(data[:8192])
    if m:
        declared = (m.group(1) or m.group(2)).decode("ascii")
        try:
            return data.decode(codec_for(declared)), f"{declared.upper()} (the page's charset)"
        except (LookupError, UnicodeDecodeError):
            pass                                 # a wrong charset: detect instead
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(data, cp_isolation=["gb18030", "big5", "cp950", "utf_16", "shift_jis", "cp1252"]).best()
    if best is None:
        raise Unreadable("cannot tell the file's encoding (it is not UTF-8, GBK or Big5 text)")
    enc = codec_for(best.encoding)
    return data.decode(enc, "replace"), f"{ {'gb18030': 'GBK', 'cp950': 'Big5'}.get(enc, enc)} (detected)"


def spaced_text(el) -> str:
    """The element's text with its white space kept as single spaces (so that the parts of a
    metadata line, 发布时间：…　来源：…, stay apart)."""
    return _SPACE.sub(" ", " ".join(el.itertext())).strip()


def _flat(el) -> str:
    return re.sub(r"\s+", "", el.text_content())


def _names(el) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def _text_len(el) -> int:
    return len(re.sub(r"\s+", "", el.text_content()))


def _link_len(el) -> int:
    return sum(len(re.sub(r"\s+", "", a.text_content())) for a in el.iter("a"))


def prune(root, removed: set, extra_lines: list[str]) -> None:
    """Remove hidden elements, scripts and the page's furniture; keep what holds most of the text."""
    total = max(1, _text_len(root))
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            if not isinstance(el.tag, str) and el.getparent() is not None:     # comments
                el.drop_tree()
            continue
        tag = el.tag.lower()
        hidden = (HIDDEN_STYLE.search(el.get("style", "")) or el.get("hidden") is not None
                  or el.get("aria-hidden") == "true" or el.get("type") == "hidden")
        if hidden and tag not in ("html", "body"):
            if _text_len(el) > 40:
                removed.add("a hidden copy of the body")
            el.drop_tree()
            continue
        if tag in DROP_TAGS:
            if tag in ("footer", "nav", "aside"):
                text = spaced_text(el)
                extra_lines.append(text)
                removed.update(furniture_kinds(text) or [{"footer": "footer", "nav": "navigation", "aside": "side bar"}[tag]])
            el.drop_tree()
            continue
        if tag in ("html", "body", "p", "span", "b", "strong", "u", "a", "font", "em", "i"):
            continue
        if FURNITURE_NAMES.search(_names(el)) and _text_len(el) < 0.4 * total:
            text = spaced_text(el)
            extra_lines.append(text)
            if text:
                removed.update(furniture_kinds(text) or ["navigation and header"])
            el.drop_tree()
    # long runs of links (menus without a telling class)
    for el in list(root.iter("ul", "ol", "div", "table", "dl")):
        if el.getparent() is None:
            continue
        n = _text_len(el)
        if n and _link_len(el) > 0.8 * n and len(el.findall(".//a")) >= 4:
            if all((a.get("href") or "").startswith("#") for a in el.iter("a")):
                removed.add("an index of the sections (the site makes its own contents)")
            else:
                removed.add("navigation, header and footer")
            el.drop_tree()


def main_element(root):
    """The smallest element holding 80 % of the page's remaining text (not in links)."""
    def own(el):
        return _text_len(el) - _link_len(el)
    body = root.find(".//body")
    best = body if body is not None else root
    total = own(best)
    if total <= 0:
        return best
    while True:
        children = [c for c in best if isinstance(c.tag, str)]
        heavy = [c for c in children if own(c) >= 0.8 * total]
        if not heavy or best.tag in ("table", "ul", "ol", "dl"):     # a table or list is read whole
            return best
        best = heavy[0]


def title_of(root, main) -> str | None:
    """The policy's title: an <h1> (or an element named title) in or just before the main text,
    else the page's <title> without the site name after it."""
    for scope in (main, root):
        for el in scope.iter():
            if not isinstance(el.tag, str):
                continue
            if el.tag in ("h1",) or (el.tag in ("h2", "div", "p", "td", "span") and
                                     re.search(r"(^|[-_\s])(title|bt|biaoti|tit|article-title|con-title)($|[-_\s])",
                                               _names(el), re.I)):
                text = clean_space(el.text_content())
                if 2 <= len(text) <= 60:
                    return text
            if scope is main:
                break
    t = root.find(".//title")
    if t is not None and t.text:
        text = re.split(r"\s*[_|｜—–-]\s*", clean_space(t.text))[0]
        return text or None
    return None


def read_html(path, data: bytes, removed: set, extra_lines: list[str]):
    import lxml.html
    text, encoding = decode(data)
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        root = lxml.html.document_fromstring(text)
    except Exception as e:                  # noqa: BLE001 - lxml raises several kinds
        raise Unreadable(f"not an HTML page that can be read ({e})") from None
    title_el = root.find(".//title")
    page_title = title_el.text if title_el is not None else None
    prune(root, removed, extra_lines)
    main = main_element(root)
    title = title_of(root, main) or (re.split(r"\s*[_|｜—–-]\s*", clean_space(page_title))[0] if page_title else None)
    # text in the page that is not in the main element (a metadata line above it): read for dates
    body = root.find(".//body")
    if body is not None and main is not body:
        for el in body.iter("p", "div", "span", "td", "li"):
            if main not in el.iterancestors() and el is not main and main not in el.iterdescendants():
                t = spaced_text(el)
                if t and len(t) < 160:
                    extra_lines.append(t)
                    removed.update(furniture_kinds(t))
    blocks, images, dropped = walk(main)
    return blocks, title, images, dropped, encoding


def walk(root, base_level: int = 0):
    """The DOM → blocks. Inline formatting is read from tags (b, strong, u, ins) and from style
    attributes (font-weight, text-decoration)."""
    blocks: list[Block] = []
    images: list[str] = []
    dropped = [0]
    current: list[Block | None] = [None]

    def flush():
        current[0] = None

    def block(kind="p", **kw) -> Block:
        b = Block(kind, **kw)
        blocks.append(b)
        current[0] = b
        return b

    def inline(el, bold, underline, href):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        style = el.get("style", "") if tag else ""
        bold = bold or tag in ("b", "strong") or bool(BOLD_STYLE.search(style))
        underline = underline or tag in ("u", "ins") or bool(UNDERLINE_STYLE.search(style))
        if tag == "a":
            h = (el.get("href") or "").strip()
            if re.match(r"^(https?:|mailto:)", h, re.I):
                href = h
            elif h and not h.startswith("#") and not h.lower().startswith("javascript"):
                dropped[0] += 1
            elif h.startswith("#"):
                href = h
        return bold, underline, href

    def visit(el, bold=False, underline=False, href=None, depth=0):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag == "img":
            images.append(el.get("alt") or el.get("src") or "image")
            return
        if tag == "br":
            flush()
            _tail(el, bold, underline, href)
            return
        if tag == "table":
            flush()
            rows_el = [tr for tr in el.iter("tr") if next(tr.iterancestors("table"), None) is el]
            cells_el = [[td for td in tr if isinstance(td.tag, str) and td.tag.lower() in ("td", "th")]
                        for tr in rows_el]
            layout = (max((len(r) for r in cells_el), default=0) <= 1
                      or any(td.find(".//table") is not None or td.find(".//p") is not None and len(_flat(td)) > 200
                             for r in cells_el for td in r))
            if layout:                         # a table that only lays out the page: its cells in order
                for r in cells_el:
                    for td in r:
                        sub, imgs, d = walk(td)
                        blocks.extend(sub)
                        images.extend(imgs)
                        dropped[0] += d
            else:
                from .policy import md_inline
                rows = []
                for r in cells_el:
                    cells = []
                    for td in r:
                        sub, imgs, d = walk(td)
                        images.extend(imgs)
                        dropped[0] += d
                        cells.append(" ".join(md_inline(b.runs) for b in sub if b.kind != "table").replace("|", "\\|"))
                    if any(cells):
                        rows.append(cells)
                if rows:
                    blocks.append(Block("table", rows=rows))
            flush()
            _tail(el, bold, underline, href)
            return
        if tag in ("ul", "ol"):
            flush()
            for li in el:
                if isinstance(li.tag, str) and li.tag.lower() == "li":
                    b = block("li", level=depth, ordered=tag == "ol")
                    b_bold, b_u, b_h = inline(li, bold, underline, href)
                    _text(li.text, b_bold, b_u, b_h)
                    for child in li:
                        if isinstance(child.tag, str) and child.tag.lower() in ("ul", "ol"):
                            visit(child, b_bold, b_u, b_h, depth + 1)
                            current[0] = None
                        else:
                            if current[0] is None:
                                current[0] = block("p")
                            visit(child, b_bold, b_u, b_h, depth)
                    flush()
            flush()
            _tail(el, bold, underline, href)
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            block("h", level=int(tag[1]))
            _text(el.text, bold, underline, href)
            for child in el:
                visit(child, bold, underline, href, depth)
            flush()
            _tail(el, bold, underline, href)
            return
        if tag in BLOCK_TAGS:
            flush()
            b2, u2, h2 = inline(el, bold, underline, href)
            _text(el.text, b2, u2, h2)
            for child in el:
                visit(child, b2, u2, h2, depth)
            flush()
            _tail(el, bold, underline, href)
            return
        b2, u2, h2 = inline(el, bold, underline, href) if tag else (bold, underline, href)
        if tag:
            _text(el.text, b2, u2, h2)
            for child in el:
                visit(child, b2, u2, h2, depth)
        _tail(el, bold, underline, href)

    def _text(text, bold, underline, href):
        if text and text.strip(" \t\r\n"):
            if current[0] is None:
                block("p")
            current[0].runs.append(Run(text, bold, underline, href))
        elif text and current[0] is not None:
            current[0].runs.append(Run(" ", False, False, None))

    def _tail(el, bold, underline, href):
        _text(el.tail, bold, underline, href)

    tag = root.tag.lower() if isinstance(root.tag, str) else ""
    if tag in ("table", "ul", "ol"):                 # the main text is one table or list
        visit(root)
        return [x for x in blocks if x.kind == "table" or x.text], images, dropped[0]
    b, u, h = (False, False, None)
    if tag in ("td", "th", "body", "div", "article", "main", "section"):
        b, u, h = inline(root, b, u, h)
    _text(root.text, b, u, h)
    for child in root:
        visit(child, b, u, h)
    return [x for x in blocks if x.kind == "table" or x.text], images, dropped[0]
