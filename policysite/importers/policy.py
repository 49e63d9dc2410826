"""What is particular to policies, whatever file they came from: blocks → Markdown with frontmatter.

A reader (html.py, docx.py, text.py) turns its file into a list of `Block`s: paragraphs,
headings, list items and tables, each with its inline runs (text, bold, underline, link).
This module then
- drops the page furniture a reader could not tell by structure (breadcrumbs, 长者版 and
  无障碍 links, 打印本页/关闭窗口, share bars, counters, footers), a body carried twice and an
  in-page index of the sections;
- makes headings from the numbering policies use (第一章, 一、 （一） 第一条 1. 1.1 …), also
  where the source wrote them as bold paragraphs, and key clauses (`++…++`) from bold and
  underlined text;
- takes the frontmatter from the text: title, issuer, dates, contact block;
- and writes Markdown that the build accepts.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

# --- blocks ---------------------------------------------------------------------


@dataclass
class Run:
    text: str
    bold: bool = False
    underline: bool = False
    href: str | None = None


@dataclass
class Block:
    kind: str                        # "p", "h", "li", "table"
    runs: list[Run] = field(default_factory=list)
    level: int = 0                   # for "h": 1..6 as the source had it; for "li": nesting depth
    ordered: bool = False            # for "li"
    rows: list[list[str]] = field(default_factory=list)     # for "table": Markdown of each cell

    @property
    def text(self) -> str:
        return clean_space("".join(r.text for r in self.runs))

    @property
    def all_bold(self) -> bool:
        visible = [r for r in self.runs if r.text.strip()]
        return bool(visible) and all(r.bold for r in visible)

    @property
    def only_anchor_links(self) -> bool:
        """Text that is nothing but links to places in the same page (an in-page index)."""
        visible = [r for r in self.runs if r.text.strip(" \u3000\xa0|·.-—")]
        return bool(visible) and all(r.href and r.href.startswith("#") for r in visible)


_SPACE = re.compile(r"[ \t\r\n\xa0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"


def clean_space(s: str) -> str:
    """One space for any run of white space, none at the ends, and none where the source only
    broke a line between two Chinese characters: text-indent, &nbsp; and full-width space
    indents and the line breaks of the HTML source go; a space written on purpose stays."""
    s = re.sub(rf"(?<=[{_CJK}])[ \t\r]*\n\s*(?=[{_CJK}])", "", s)
    return _SPACE.sub(" ", s).strip()


# --- Simplified and Traditional ------------------------------------------------------------

_VARIANTS = dict(zip("办厅会员处县电话邮联络传发机构来实门设务数据馆国医学协团银问询热线号码讯编页览阅击点访体关闭扫维护权备识术标导网现当长无碍读适怀间时条节称规则责录开统计类转载链级记书总经营业产资单职齐报纸认证览该为页们这说与亲户试暂见议须细际",
                     "辦廳會員處縣電話郵聯絡傳發機構來實門設務數據館國醫學協團銀問詢熱線號碼訊編頁覽閱擊點訪體關閉掃維護權備識術標導網現當長無礙讀適懷間時條節稱規則責錄開統計類轉載鏈級記書總經營業產資單職齊報紙認證覽該為頁們這說與親戶試暫見議須細際"))


def tw(pattern: str) -> str:
    """A pattern written in Simplified that matches the Traditional form too (处 → [处處])."""
    out, in_class, escaped = [], False, False
    for c in pattern:
        if escaped:
            out.append(c)
            escaped = False
            continue
        if c == "\\":
            escaped = True
        elif c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        v = _VARIANTS.get(c)
        out.append(c if v is None else (c + v if in_class else f"[{c}{v}]"))
    return "".join(out)


def twc(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(tw(pattern), flags)


# --- furniture: what a page carries around the policy ---------------------------------

FURNITURE = [
    (twc(r"^(您?(当前|现在)?的?(所在)?位置|当前位置|所在位置)\s*[：:]"), "breadcrumb (当前位置)"),
    (twc(r"^(首页|网站首页)\s*[>＞›»/]"), "breadcrumb (当前位置)"),
    (re.compile(r"^(your )?(current )?(location|position)\s*:|^you are here\s*:", re.I), "breadcrumb (当前位置)"),
    (re.compile(r"^(print( this page)?|close( this)? window|share( to| on)?\s*:)", re.I), "打印本页 and 关闭窗口"),
    (twc(r"(长者版|关怀版|老年版|适老化|无障碍|读屏|盲人)"), "长者版 and 无障碍 links"),
    (twc(r"(打印本页|打印此页|【\s*打印\s*】|\[\s*打印\s*\]|关闭窗口|关闭本页|【\s*关闭\s*】|\[\s*关闭\s*\]|返回顶部|收藏本页|加入收藏)"),
     "打印本页 and 关闭窗口"),
    (twc(r"^(分享到|分享至|扫一扫|微信扫一扫|用手机扫|扫码)"), "share bar"),
    (twc(r"(浏览次数|浏览量|访问量|访问次数|阅读次数|阅读量|点击数|点击量|点击率|浏览：|阅读：)\s*[：:]?\s*\d*"), "hit counter"),
    (twc(r"(字号|字体)\s*[：:]?\s*[【\[]?\s*大\s*中\s*小"), "text-size links (字号 大 中 小)"),
    (twc(r"^(上一篇|下一篇|上一条|下一条|相关链接|相关文章|相关阅读|友情链接)"), "links to other pages"),
    (twc(r"(版权所有|ICP备|ICP证|公网安备|网站标识码|网站识别码|技术支持|建议使用.*浏览器|分辨率)"), "footer"),
]
DATE_META_LINE = twc(r"^[^：:，。,]{0,10}(日期|时间)\s*[：:]")
# Lines that carry the page's metadata: read for the frontmatter, then dropped from the body.
META_LINE = twc(r"^(发布日期|发布时间|发文日期|成文日期|更新日期|更新时间|修订日期|生效日期|施行日期|实施日期|"
                       r"来源|信息来源|文章来源|发布机构|发文机关|发布单位|作者|编辑|责任编辑|索引号|文号|发文字号|"
                       r"主题分类|公开方式|有效性)\s*[：:]")


def furniture_kinds(text: str) -> list[str]:
    """Every kind of furniture named in a piece of the page already known to be furniture."""
    return [name for pattern, name in FURNITURE if pattern.search(text)]


def furniture(text: str) -> str | None:
    """The kind of page furniture a short block is, or None for policy text."""
    if len(text) > 120:             # a sentence of the policy that mentions 无障碍, say
        return None
    for pattern, name in FURNITURE:
        if pattern.search(text):
            if name == "长者版 and 无障碍 links" and len(text) > 20:
                return None
            return name
    return None


# --- dates, issuer, contact -----------------------------------------------------------

_NUM_DATE = r"(\d{4})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*日?"
_CN_DIGIT = "〇零一二三四五六七八九"
_CN_DATE = rf"([〇零一二三四五六七八九]{{4}})年([一二三四五六七八九十]{{1,3}})月([一二三四五六七八九十]{{1,3}})日"
DATE_RE = re.compile(rf"{_NUM_DATE}|{_CN_DATE}")
EFFECTIVE_WORDS = twc(r"(生效日期|施行日期|实施日期|生效时间|施行|生效|实施|起执行|执行日期)")
PUBLISHED_WORDS = twc(r"(发布日期|发布时间|发文日期|成文日期|印发|发布|更新日期|更新时间|修订日期|最近更新|更新于)")


def _cn_number(s: str) -> int:
    if len(s) == 4 and all(c in _CN_DIGIT for c in s):
        return int("".join(str(_CN_DIGIT.index(c) % 10 if c != "〇" else 0) for c in s))
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + "一二三四五六七八九".index(s[1]) + 1
    if "十" in s:
        tens, _, ones = s.partition("十")
        return ("一二三四五六七八九".index(tens) + 1) * 10 + (("一二三四五六七八九".index(ones) + 1) if ones else 0)
    return "一二三四五六七八九".index(s) + 1


def dates_in(text: str) -> list[dt.date]:
    text = unicodedata.normalize("NFKC", text)          # full-width digits: ２０２３年
    out = []
    for m in DATE_RE.finditer(text):
        try:
            if m.group(1):
                out.append(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            else:
                out.append(dt.date(_cn_number(m.group(4)), _cn_number(m.group(5)), _cn_number(m.group(6))))
        except (ValueError, IndexError):
            continue
    return out


ISSUER_RE = twc(r"(发布机构|发文机关|发布单位|信息来源|文章来源|来源)\s*[：:]\s*([^\s　|，,。；;]{2,40})")
ISSUER_HOST_RE = twc(r"(主办单位|主办)\s*[：:]\s*([^\s　|，,。；;]{2,40})")
ISSUER_RUN = twc(r"(?:由|^)([^\s，,。；;“”\"()（）由]{2,30}?(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|处|政府|"
                        r"管理局|服务局|数据局|中心|局|厅|委|院|公司|集团|银行|大学|学院|医院|协会))(?:主办|负责|发布|制定|所有)")
ORG_LINE = twc(r"^[^\s，,。；;：:]{2,40}(人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|管理局|服务局|数据局|"
                      r"中心|局|厅|公司|集团|有限公司|银行|大学|学院|医院|协会)$")
CONTACT_FIELDS = [
    ("person", twc(r"^(联系人|联络人)\s*[：:]\s*(.+)$")),
    ("phone", twc(r"^(联系电话|联络电话|咨询电话|服务电话|办公电话|热线电话|电话|热线|联系方式)\s*[：:]\s*(.+)$")),
    ("fax", twc(r"^(传真号码|传真)\s*[：:]\s*(.+)$")),
    ("email", twc(r"^(电子邮件|电子邮箱|电子信箱|邮箱|e-?mail)\s*[：:]\s*(.+)$", re.I)),
    ("address", twc(r"^(通信地址|通讯地址|联系地址|办公地址|地址)\s*[：:]\s*(.+)$")),
]
EMAIL_IN = re.compile(r"[A-Za-z0-9._%+-]+\s*[@＠]\s*[A-Za-z0-9-]+(?:\s*[.．。]\s*[A-Za-z0-9-]+)+")


_CONTACT_SPLIT = twc(r"[ 　；;]+(?=(?:联系人|联络人|联系电话|联络电话|咨询电话|电话|传真|电子邮件|电子邮箱|邮箱|e-?mail|"
                     r"通信地址|通讯地址|联系地址|地址|邮编|邮政编码)\s*[：:])", re.I)


def contact_in(lines: list[str]) -> dict[str, str]:
    """The contact block (联系人, 电话, 传真, 电子邮件, 地址), from lines such as 电话：0000-1234."""
    found: dict[str, str] = {}
    for line in lines:
        # several items on one line: 电话：0000-1234　传真：0000-5678
        for piece in _CONTACT_SPLIT.split(line.strip()):
            piece = piece.strip().rstrip("。；;，,")
            piece = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]\s*", "", piece)
            for key, pattern in CONTACT_FIELDS:
                m = pattern.match(piece)
                if m and key not in found:
                    value = m.group(2).strip()
                    if key == "email":
                        e = EMAIL_IN.search(value)
                        if not e:
                            continue
                        value = re.sub(r"\s+", "", e.group()).replace("＠", "@").replace("．", ".").replace("。", ".")
                        from ..load import EMAIL_RE
                        if not EMAIL_RE.match(value):          # the build would refuse it
                            continue
                    if value:
                        found[key] = value
                    break
    return found


# --- headings from numbering ----------------------------------------------------------

_CN_NUM = "[一二三四五六七八九十百零〇]+"
NUMBERING = [   # (kind, pattern): the kinds of numbering; each kind's level is the order it first appears in
    ("第章", twc(rf"^第\s*{_CN_NUM}\s*章")),
    ("第节", twc(rf"^第\s*{_CN_NUM}\s*节")),
    ("第条", twc(rf"^第\s*{_CN_NUM}\s*条")),
    ("一、", re.compile(rf"^{_CN_NUM}\s*[、.．]")),
    ("（一）", re.compile(rf"^[（(]\s*{_CN_NUM}\s*[)）]")),
    ("1.1.1", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}(?![\d])\.?")),
    ("1.1", re.compile(r"^\d{1,2}\.\d{1,2}(?![\d.])\.?")),
    ("1.", re.compile(r"^\d{1,2}\s*[.．、](?!\d)")),
    ("（1）", re.compile(r"^[（(]\s*\d{1,2}\s*[)）]")),
    ("I.", re.compile(r"^(?=[IVX])X{0,3}(IX|IV|V?I{0,3})\.\s")),
    ("Article 1", re.compile(r"^(Article|Section|Chapter)\s+\d+", re.I)),
]
SENTENCE_END = tuple("。；;！!？?，,")


def numbering_of(text: str) -> str | None:
    for kind, pattern in NUMBERING:
        if pattern.match(text):
            return kind
    return None


def heading_like(block: Block) -> bool:
    """A short line that does not read as a sentence: numbered, or bold as a whole."""
    text = block.text
    if not text or len(text) > (100 if text.isascii() else 40) or text.endswith(SENTENCE_END) or \
            (text.isascii() and text.endswith((".", ":"))):
        return False
    return True


# --- Markdown -------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md_escape(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("++", "+\\+").replace("{{", "{\\{").replace("}}", "}\\}")
    return text


def md_line_start(text: str) -> str:
    """Escape what would make a line a list, quote, heading or rule in Markdown."""
    text = re.sub(r"^(\d+)([.)])(\s|$)", r"\1\\\2\3", text)
    text = re.sub(r"^([+*-])(\s|$)", r"\\\1\2", text)
    return re.sub(r"^([#>=~]|-{3,}$)", r"\\\1", text)


def md_inline(runs: list[Run], counts: dict | None = None) -> str:
    """Runs → Markdown: bold and underlined together is a key clause (++…++), bold alone **…**."""
    merged: list[Run] = []
    for r in runs:
        if merged and (merged[-1].bold, merged[-1].underline, merged[-1].href) == (r.bold, r.underline, r.href):
            merged[-1] = Run(merged[-1].text + r.text, r.bold, r.underline, r.href)
        else:
            merged.append(Run(r.text, r.bold, r.underline, r.href))
    out = []
    for i, r in enumerate(merged):
        text = _SPACE.sub(" ", r.text)
        if i == 0:
            text = text.lstrip()
        if i == len(merged) - 1:
            text = text.rstrip()
        core = text.strip()
        if not core:
            out.append(text and " ")
            continue
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        s = md_escape(clean_space(core))
        if r.href:
            s = f"[{s}]({r.href})"
        if r.bold and r.underline:
            s = f"++{s}++"
            if counts is not None:
                counts["key clauses"] = counts.get("key clauses", 0) + 1
        elif r.bold:
            s = f"**{s}**"
        out.append(lead[:1] + s + trail[:1])
    return clean_space("".join(out)) if out else ""


# --- the whole document --------------------------------------------------------------


@dataclass
class Imported:
    source: str                       # the file's name, for messages
    kind: str                         # "HTML (GB2312)", "Word (.docx)", "text (UTF-8)"
    title: str | None
    meta: dict                        # frontmatter values found
    markdown: str                     # body
    found: list[str]
    missing: list[str]
    removed: list[str]


def convert(blocks: list[Block], source: str, kind: str, title: str | None = None,
            images: list[str] = (), links_dropped: int = 0, extra_lines: list[str] = (),
            removed: set | None = None) -> Imported:
    """Blocks of a policy (furniture may remain) → Imported. `title`: what the reader found
    as the title (an <h1>, Word's Title style), if anything; `extra_lines`: text the reader
    took from around the body (the page's metadata line, footer), read for issuer and dates."""
    label = kind
    removed = set(removed or ())
    counts: dict[str, int] = {}
    meta_lines = list(extra_lines)

    # 1. furniture and metadata lines
    kept: list[Block] = []
    for b in blocks:
        text = b.text
        if b.kind != "table" and not text:
            continue
        if b.kind != "table":
            f = furniture(text)
            if f:
                removed.add(f)
                meta_lines.append(text)
                continue
            if (META_LINE.match(text) or DATE_META_LINE.match(text) and DATE_RE.search(text)) and len(text) < 160:
                removed.add("the page's metadata line (发布日期, 来源 …)")
                meta_lines.append(text)
                continue
            if b.only_anchor_links:
                removed.add("an index of the sections (the site makes its own contents)")
                continue
        kept.append(b)

    # 2. a body the page carries twice: a run of blocks repeating an earlier run, in the same
    # order, that holds a quarter of the text (or one long paragraph); a list a policy repeats
    # under two sections on purpose stays
    keys = [b.text if b.kind != "table" else repr(b.rows) for b in kept]
    total = sum(len(k) for k in keys) or 1
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    drop: set[int] = set()
    i = 0
    while i < len(keys):
        j = first[keys[i]]
        if j == i or len(keys[i]) < 12:
            i += 1
            continue
        m = 1
        while i + m < len(keys) and j + m < i and keys[i + m] == keys[j + m]:
            m += 1
        chars = sum(len(k) for k in keys[i:i + m])
        if chars >= 0.25 * total or (m == 1 and chars >= 200):
            drop.update(range(i, i + m))
        i += m
    if drop:
        removed.add("a second copy of the body")
        kept = [b for i, b in enumerate(kept) if i not in drop]

    # 3. the title: the reader's, else the first short line before the text
    if title:
        title = clean_space(title)
        kept = [b for b in kept if not (b.kind != "table" and b.text == title)] if title else kept
    else:
        title, kept = pick_title(kept, removed)
    # 试行 under the title: the policy is on trial (the import still writes a draft)
    trial = False
    if kept and kept[0].kind == "p" and TRIAL_LINE.fullmatch(kept[0].text):
        trial = True
        kept = kept[1:]

    # 4. an in-page index by text: a 目录 line followed by lines that are later headings
    texts = [b.text for b in kept]
    for i, t in enumerate(texts):
        if re.fullmatch(r"目\s*录[：:]?", t):
            j = i + 1
            while j < len(kept) and texts[j] and texts[j] in texts[j + 1:] and len(texts[j]) <= 40:
                j += 1
            if j > i + 1:
                removed.add("an index of the sections (the site makes its own contents)")
                kept = kept[:i] + kept[j:]
            break

    # ... or a run of three or more heading-like lines that all come again later, in order
    texts = [b.text for b in kept]
    i = 0
    while i < len(kept):
        j = i
        later = i + 1
        while j < len(kept) and kept[j].kind in ("p", "h", "li") and heading_like(kept[j]) and numbering_of(texts[j]):
            try:
                later = texts.index(texts[j], max(later, j + 1)) + 1
            except ValueError:
                break
            j += 1
        if j - i >= 3:
            removed.add("an index of the sections (the site makes its own contents)")
            kept = kept[:i] + kept[j:]
            texts = texts[:i] + texts[j:]
        i += 1

    # 5. headings: numbering kinds get levels in the order they first appear as headings
    levels: dict[str, int] = {}
    # 1. 总则 / 1.1 目的: short "1." lines are headings when "1.1" lines are too
    decimal_outline = any(b.kind == "p" and numbering_of(b.text) == "1.1" and heading_like(b) for b in kept)
    source_levels = sorted({b.level for b in kept if b.kind == "h"})
    out_lines: list[str] = []
    last_level = 0
    heading_count, tables, lists = 0, 0, 0
    prev_kind = None
    for b in kept:
        text = b.text
        if b.kind == "table":
            tables += 1
            out_lines += ["", *table_md(b.rows), ""]
            prev_kind = "table"
            continue
        if b.kind == "li":
            lists += prev_kind != "li"
            indent = "    " * max(0, b.level)
            marker = "1." if b.ordered else "-"
            if prev_kind != "li":
                out_lines.append("")
            out_lines.append(f"{indent}{marker} {md_line_start(md_inline(b.runs, counts)) if b.ordered else md_inline(b.runs, counts)}")
            prev_kind = "li"
            continue
        kind = numbering_of(text)
        level = None
        if b.kind == "h":
            level = source_levels.index(b.level) + 1
            if kind:
                levels.setdefault(kind, level)
        elif heading_like(b) and kind and (b.all_bold or len(text) <= 30 or
                                           (text.isascii() and len(text.split()) <= 10)):
            if kind in ("1.", "（1）") and not b.all_bold and not levels and not decimal_outline:
                level = None         # a plain numbered list in a policy without section headings
            else:
                level = levels.setdefault(kind, len(levels) + 1)
        elif heading_like(b) and b.all_bold:
            level = min(last_level + 1, 5) if last_level else 1
        if level is not None:
            level = min(level, 5)
            heading_count += 1
            last_level = level
            out_lines += ["", f"{'#' * (level + 1)} {md_escape(text)}", ""]
            prev_kind = "h"
            continue
        line = md_inline(b.runs, counts)
        out_lines += ["", md_line_start(line)]
        prev_kind = "p"
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines)).strip() + "\n"

    # 6. frontmatter from the text
    plain = [b.text for b in kept if b.kind != "table"] + [c for b in kept if b.kind == "table" for r in b.rows for c in r]
    meta: dict = {}
    found, missing = [], []
    if title:
        meta["title"] = title
        found.append(f"title: {title}")
    else:
        missing.append("no title found: set  title:  (a placeholder, （标题）, was written)")
    issuer, issuer_from = find_issuer(meta_lines, plain)
    if issuer:
        meta["issuer"] = issuer
        found.append(f"issuer: {issuer} (from {issuer_from})")
    else:
        missing.append("no issuer found: set  issuer:  (发布机构)")
    effective, published, how = find_dates(meta_lines, plain)
    if effective:
        meta["effective"] = effective
        found.append(f"effective: {effective.isoformat()} ({how['effective']})")
    if published:
        meta["published"] = published
        found.append(f"published: {published.isoformat()} ({how['published']})")
    if not effective:
        if published:
            meta["effective"] = published
            missing.append(f"no effective date (生效日期, 施行) found: effective is set to the published date "
                           f"{published.isoformat()}; check it")
        else:
            missing.append("no effective date found: effective is set to today; set  effective:  to the real date")
    if not published:
        missing.append("no published date (发布日期) found")
    contact = contact_in(plain + meta_lines)
    if contact:
        meta["contact"] = contact
        found.append("contact: " + ", ".join(f"{k} {v}" for k, v in contact.items()))
    else:
        missing.append("no contact block (联系人, 电话, 电子邮件, 地址) found")
    if trial:
        missing.append("the text says 试行 (on trial): write  status: trial  instead of draft when you publish")
    what = []
    if heading_count:
        kinds = " ".join(k for k in levels) if levels else ""
        what.append(f"{heading_count} heading{'s' * (heading_count != 1)}" + (f" ({kinds})" if kinds else ""))
    else:
        missing.append("no section headings found: mark them with ## in the Markdown")
    for n, name in ((lists, "list"), (tables, "table"), (counts.get("key clauses", 0), "key clause")):
        if n:
            what.append(f"{n} {name}{'s' * (n != 1)}")
    if what:
        found.append(", ".join(what))
    if images:
        missing.append(f"{len(images)} image{'s' * (len(images) != 1)} not brought (copy them into static/ "
                       "and link them if they are needed): " + ", ".join(images[:5]) + (" …" if len(images) > 5 else ""))
    if links_dropped:
        missing.append(f"{links_dropped} link{'s' * (links_dropped != 1)} to the old site kept as text only")
    return Imported(source, label, title, meta, body, found, missing, sorted(removed))


TITLE_WORDS = twc(r"(政策|声明|条款|协议|须知|办法|规定|规则|说明|指引|指南|公告|通知|隐私|细则|章程|守则|"
                  r"policy|statement|terms|notice|privacy|agreement|disclaimer)", re.I)
TRIAL_LINE = twc(r"[（(]\s*(试行|暂行|征求意见稿)\s*[)）]")


def pick_title(kept: list[Block], removed: set) -> tuple[str | None, list[Block]]:
    """The first short line before the text that names a kind of policy (隐私政策, 网站声明 …),
    else the first short line; short lines above it (the site's name) go with it."""
    head = []
    for i, b in enumerate(kept[:8]):
        if b.kind not in ("p", "h") or numbering_of(b.text) or not heading_like(b):
            break
        if DATE_RE.search(b.text) or re.search(r"[：:]", b.text):
            continue
        head.append(i)
    if not head:
        return None, kept
    pick = next((i for i in head if TITLE_WORDS.search(kept[i].text)), head[0])
    title = kept[pick].text
    above = [i for i in head if i < pick and len(kept[i].text) <= 12]
    if above:
        removed.add("the site's name above the title")
    return title, [b for i, b in enumerate(kept) if i != pick and i not in above]


def find_issuer(meta_lines: list[str], plain: list[str]) -> tuple[str | None, str]:
    for pattern in (ISSUER_RE, ISSUER_HOST_RE):
        for line in meta_lines + plain[:3]:
            m = pattern.search(line)
            if m:
                return m.group(2), m.group(1)
    for line in plain[:8]:
        m = ISSUER_RUN.search(line)
        if m:
            return m.group(1), "the text"
    for line in reversed(plain[-4:]):          # the signature at the end (落款)
        if ORG_LINE.match(line):
            return line, "the signature at the end"
    for line in meta_lines:                    # a footer: 海澜市人民政府办公室 主办
        m = re.search(r"([^\s　：:]{2,40})\s*主办", line)
        if m:
            return m.group(1), "the footer"
    return None, ""


def find_dates(meta_lines: list[str], plain: list[str]):
    effective = published = None
    how = {}
    for line in meta_lines + plain:
        ds = dates_in(line)
        if not ds:
            continue
        if effective is None and EFFECTIVE_WORDS.search(line):
            effective, how["effective"] = ds[-1] if "自" not in line else ds[0], EFFECTIVE_WORDS.search(line).group(1)
            if "起" in line or "自" in line:
                how["effective"] = "…起施行" if "施行" in line else "…起生效"
        elif published is None and PUBLISHED_WORDS.search(line):
            published, how["published"] = ds[0], PUBLISHED_WORDS.search(line).group(1)
    if published is None:                      # "福建省人民政府门户网站 2022-05-01 16:23" under the title
        for line in plain[:6]:
            ds = dates_in(line)
            if ds and len(line) <= 40 and not EFFECTIVE_WORDS.search(line):
                published, how["published"] = ds[0], "the line under the title"
                break
    if published is None:                      # the date under the signature (落款)
        for line in reversed(plain[-3:]):
            ds = dates_in(line)
            if ds and len(line) <= 16:
                published, how["published"] = ds[0], "the date at the end"
                break
    return effective, published, how


def table_md(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(c or " " for c in rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(c or " " for c in r) + " |" for r in rows[1:]]
    return lines


def slug_for(title: str | None, fallback: str) -> str:
    """The title in pinyin, lower-case, words joined by '-' (at most 64 characters)."""
    from pypinyin import lazy_pinyin
    words = []
    for w in lazy_pinyin(title or fallback):
        words += re.findall(r"[a-z0-9]+", w.lower())
    slug = ""
    for w in words:
        if len(slug) + len(w) + 1 > 64:
            break
        slug = f"{slug}-{w}" if slug else w
    return slug or "policy"


def frontmatter(meta: dict, lang: str | None) -> str:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = ["---", f"title: {q(meta.get('title') or '（标题）')}",
             f"issuer: {q(meta.get('issuer') or '（发布机构）')}",
             f"effective: {(meta.get('effective') or dt.date.today()).isoformat()}",
             'version: "1.0"']
    if meta.get("published"):
        lines.append(f"published: {meta['published'].isoformat()}")
    lines.append("status: draft")
    if lang:
        lines.append(f"lang: {lang}")
    if meta.get("contact"):
        lines.append("contact:")
        lines += [f"  {k}: {q(v)}" for k, v in meta["contact"].items()]
    lines.append("---")
    return "\n".join(lines) + "\n"
