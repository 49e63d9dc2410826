"""Stage 1, load: find policy sources, read them, validate their frontmatter.

Input: the config. Output: a list of `Source` records (plain data), plus
diagnostics. Nothing here knows about pages or HTML.

Fields are validated on YAML *nodes*, not on the values PyYAML would build, so
that every problem carries its line, and so that `version: 1.10` (which YAML
reads as the number 1.1) is caught instead of silently published as "1.1".
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import frontmatter
import yaml

from .config import LANGS, Config
from .errors import Collector, Diagnostic

STATUSES = ("draft", "trial", "in-force", "repealed")
MAX_BYTES = 2 * 1024 * 1024
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
VERSION_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30})$")
# First path segments the site itself uses; a policy cannot take them.
RESERVED_SLUGS = {"zh-hans", "zh-hant", "en", "elder", "static", "feeds", "404", "index", "sitemap",
                  "robots", "search", "assets", "history", "changes", "con", "nul", "aux", "prn"}
# Device names Windows will not create a folder for (a site may be built or copied there).
RESERVED_SLUGS |= {f"{dev}{n}" for dev in ("com", "lpt") for n in range(10)}
CONTACT_KEYS = ("person", "phone", "fax", "email", "address")
# (issue 18) the part before @ holds no '?', '&', '=', '%' or '#': 'a?bcc=x@y.cn' made the mailto: link
# send a blind copy elsewhere
EMAIL_RE = re.compile(r"^[A-Za-z0-9._+\-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


@dataclass
class Source:
    """One Markdown file, validated. `meta` holds typed values; `lines` their line numbers."""
    path: Path | str          # a str once read back from the build cache
    display: str
    slug: str
    stem: str                 # file stem without the language suffix
    lang: str
    is_translation: bool
    meta: dict[str, Any]
    lines: dict[str, int]
    body: str | None = field(repr=False)   # None for a source kept in the build cache: see read_body
    body_line: int
    digest: str = ""
    group: str = ""           # file or folder the policy came from (absolute), for duplicate-slug messages
    meta_digest: str = ""     # hash of `meta`: what listings depend on (computed once, kept in the cache)

    # The body is left out when a Source is kept in the build cache (it is most of the cache's
    # size, and only documents that must be rendered again need it): `read_body` reads it back.
    def __getstate__(self):
        state = dict(self.__dict__)
        state["body"] = None
        state["path"] = str(self.path)       # a str unpickles far faster than a Path
        return state


def read_body(src: Source) -> str:
    """The body of a source whose text is not in memory (one kept in the build cache), read back
    from its file, which must still be the one the source was made from."""
    if src.body is not None:
        return src.body
    try:
        data = Path(src.path).read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != src.digest:
        from .errors import BuildError
        raise BuildError([Diagnostic(src.display, None, None, "the file changed while the site was being built",
                                     "build again (the preview server does so by itself)")])
    return split(decode(data)[0])[1]


class FieldError(ValueError):
    def __init__(self, found: str, expected: str, fix: str | None = None, line: int | None = None):
        super().__init__(expected)
        self.found, self.expected, self.fix, self.line = found, expected, fix, line


# --- field checkers: YAML node -> typed value, or FieldError -------------------

def _scalar(node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        raise FieldError(kind, "a single value")
    if node.tag.endswith(":null"):
        raise FieldError("an empty value", "a value")
    return node.value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# (issue 18) What metadata may not hold besides: C1 controls, lone surrogates (a "\ud800" escape
# in YAML), noncharacters (U+FFFE, U+FFFF …, which XML forbids: the feed was ill-formed), and
# characters that hide or reorder text: bidi embeddings, overrides and isolates, zero-width
# spaces and marks, word joiners, a BOM inside the text. (U+200C/U+200D, joiners some scripts
# need, are allowed.)
_FORBIDDEN = re.compile("[\x80-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\u200b\u200e\u200f"
                        "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c\u180e]"
                        "|[\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U000efffe"
                        "\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]")


def char_name(c: str) -> str:
    """U+XXXX and the character's name, for a message (never the character itself)."""
    import unicodedata
    code = ord(c)
    if 0xD800 <= code <= 0xDFFF:
        name = "a lone surrogate"
    elif code < 0x20 or 0x7F <= code <= 0x9F:
        name = "a control character"
    else:
        name = unicodedata.name(c, "a noncharacter" if (code & 0xFFFE) == 0xFFFE or 0xFDD0 <= code <= 0xFDEF
                                else "an unnamed character")
    return f"U+{code:04X} ({name})"


def _shown(value: str) -> str:
    """A value for a message: what cannot be shown safely is written as \\uXXXX."""
    return "'" + ("".join(c if c.isprintable() and not _FORBIDDEN.match(c) else f"\\u{ord(c):04x}"
                        for c in value[:60])) + "'"


def check_text(node) -> str:
    value = _scalar(node).strip()
    if not value:
        raise FieldError("an empty value", "some text")
    bad = _CONTROL.search(value)
    if bad:
        raise FieldError(f"the control character U+{ord(bad.group()):04X} in {_shown(value)}", "plain text",
                         "remove the escape (such as \\0 or \\x01) from the quoted text")
    bad = _FORBIDDEN.search(value)
    if bad:
        raise FieldError(f"the character {char_name(bad.group())} in {_shown(value)}",
                         "plain text (no invisible, direction-changing or control characters)",
                         "delete it (it is invisible: retype the text around it, or remove the \\u escape)")
    return value


def check_version(node) -> str:
    value = _scalar(node)
    if node.style is None and not node.tag.endswith(":str"):
        shown = yaml.safe_load(value)
        raise FieldError(f"{value} without quotes (YAML reads it as the number {shown!r})",
                         "a version string in quotes", f'write  version: "{value}"')
    if not VERSION_RE.match(value):
        raise FieldError(repr(value), "a version made of letters, digits, '.', '-' or '_', such as \"2.1\" "
                         "(it becomes part of the page address)")
    if value.lower() in ("history", "changes"):
        raise FieldError(repr(value), "a version number, such as \"2.1\"",
                         f"'{value}' is the name of a page every policy has")
    return value


_CN_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _make_date(raw: str, y: str, m: str, d: str) -> dt.date:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError as e:
        raise FieldError(raw, "a real calendar date such as 2022-10-28", f"{e}; check the month and day") from None


def check_date(node) -> dt.date:
    raw = _scalar(node).strip()
    for pattern in (_ISO_DATE, _CN_DATE):
        m = pattern.match(raw)
        if m:
            return _make_date(raw, *m.groups())
    if re.match(r"^\d{4}-\d{1,2}-\d{1,2}[T ]", raw):
        raise FieldError(repr(raw), "a date without a time", f"write  {raw[:10]}  (a version takes effect for the whole day)")
    m = re.match(r"^(\d{4})\s*[./年]\s*(\d{1,2})\s*[./月]\s*(\d{1,2})\s*日?$", raw)
    if m:
        raise FieldError(repr(raw), "a date written 2022-10-28 (2022年10月28日 is accepted too)",
                         f"write  {m.group(1)}-{int(m.group(2)):02}-{int(m.group(3)):02}")
    raise FieldError(repr(raw), "a date written 2022-10-28 (2022年10月28日 is accepted too)",
                     "write the year, month and day as digits: 2022-10-28")


def check_date_or_datetime(node) -> dt.date | dt.datetime:
    raw = _scalar(node).strip()
    try:
        return check_date(node)
    except FieldError as e:
        if not re.match(r"^\d{4}-\d{1,2}-\d{1,2}[T ]", raw):
            raise FieldError(e.found, "a date (2022-10-28) or a date and time (\"2022-10-28 16:23\")",
                             e.fix if "calendar" in e.expected else None) from None
    try:
        return dt.datetime.fromisoformat(re.sub(r"\s+", " ", raw).replace(" ", "T", 1))
    except ValueError as e:
        raise FieldError(repr(raw), "a real date and time such as \"2022-10-28 16:23\"", str(e)) from None


def _choice(*options):
    def check(node):
        value = _scalar(node).strip()
        if value not in options:
            near = difflib.get_close_matches(value, options, 1)
            raise FieldError(repr(value), "one of " + ", ".join(options),
                             f"did you mean {near[0]!r}?" if near else None)
        return value
    return check


def check_slug(node) -> str:
    value = _scalar(node).strip()
    problem = slug_problem(value)
    if problem:
        raise FieldError(repr(value), *problem)
    return value


def slug_problem(value: str) -> tuple[str, str] | None:
    """(expected, fix) when `value` cannot be a page address; None when it can."""
    if "/" in value or "\\" in value or ".." in value or value.startswith("~"):
        return ("one folder name: a slug cannot contain '/', '\\' or '..' (pages stay inside the output folder)",
                "write only the last part, such as  slug: privacy")
    if not SLUG_RE.match(value):
        return ("lower-case ASCII letters, digits and '-', such as \"privacy\" (at most 64)",
                "write it in lower case, with '-' between words, such as  slug: privacy-policy")
    if value in RESERVED_SLUGS:
        return ("a slug the site does not use itself",
                "choose another name; these are reserved: " + ", ".join(sorted(RESERVED_SLUGS, key=_natural)))
    return None


def _natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def check_tags(node) -> list[str]:
    if isinstance(node, yaml.ScalarNode):
        return [check_text(node)]
    if not isinstance(node, yaml.SequenceNode):
        raise FieldError("a mapping", "a list of tags, such as [隐私, 个人信息]")
    out = []
    for item in node.value:
        try:
            out.append(check_text(item))
        except FieldError as e:
            raise FieldError(e.found, "a list of short texts", line=item.start_mark.line) from None
    return out


def check_contact(node) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        raise FieldError("a single value", "a mapping with any of: " + ", ".join(CONTACT_KEYS),
                         "write one item per line, indented:\n      contact:\n        phone: \"0571-00000000\"")
    out = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in CONTACT_KEYS:
            near = difflib.get_close_matches(key, CONTACT_KEYS, 1)
            raise FieldError(f"contact.{key}", "contact items named " + ", ".join(CONTACT_KEYS),
                             f"did you mean {near[0]!r}?" if near else None, key_node.start_mark.line)
        try:
            out[key] = check_text(value_node)
        except FieldError as e:
            raise FieldError(e.found, f"contact.{key}: {e.expected}", e.fix, value_node.start_mark.line) from None
        wide = re.search(r"[\uff01-\uff5e\u3000\u3002]", out[key]) if key == "email" else None
        if wide:                  # issue 15: a full-width ＠ (or ．) typed with a Chinese input method
            c = wide.group()
            ascii_form = {"\u3000": " ", "\u3002": "."}.get(c, chr(ord(c) - 0xFEE0))
            fixed = re.sub(r"[\uff01-\uff5e]", lambda m: chr(ord(m.group()) - 0xFEE0), out[key]).replace("\u3002", ".")
            raise FieldError(f"contact.email {out[key]!r} with the full-width {c!r} (U+{ord(c):04X})",
                             "an e-mail address in ASCII characters",
                             f"type the ASCII {ascii_form!r} instead (switch the input method to English): "
                             f"email: {fixed}", value_node.start_mark.line)
        if key == "email" and not EMAIL_RE.match(out[key]):
            raise FieldError(f"contact.email {out[key]!r}", "an e-mail address such as privacy@example.gov.cn",
                             "write one address, with no spaces, 'mailto:' or name", value_node.start_mark.line)
    return out


@dataclass(frozen=True)
class Field:
    check: Callable
    required: bool = False
    translation: bool = False   # may a translation file set it?
    help: str = ""


FIELDS: dict[str, Field] = {
    "title": Field(check_text, True, True, "Title of the policy."),
    "issuer": Field(check_text, True, True, "Body that issues it (发布机构)."),
    "effective": Field(check_date, True, False, "Date the version takes effect (生效日期), e.g. 2024-07-01."),
    "version": Field(check_version, True, False, 'Version, in quotes: "2.0".'),
    "published": Field(check_date_or_datetime, False, False, "Date (and time) it was published."),
    "status": Field(_choice(*STATUSES), False, False, "draft, trial (试行), in-force (default) or repealed."),
    "summary": Field(check_text, False, True, "One or two sentences shown on the home page and in feeds."),
    "lang": Field(_choice(*LANGS), False, True, "zh-Hans, zh-Hant or en; default from config.toml."),
    "contact": Field(check_contact, False, True, "Mapping of person, phone, fax, email, address."),
    "tags": Field(check_tags, False, True, "List of tags."),
    "slug": Field(check_slug, False, False, "Address of the policy (default: file or folder name)."),
}


# --- reading files -------------------------------------------------------------

def decode(data: bytes) -> tuple[str | None, str | None, int | None]:
    """Return (text, problem, line). Accepts a UTF-8 BOM and CRLF line endings."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    utf16 = _utf16(data)
    if utf16:
        return None, f"the file is not UTF-8 (it looks like {utf16})", 1
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, f"the file is not UTF-8 (it looks like {guess_encoding(data)})", line
    if "\x00" in text:
        return None, "the file contains NUL bytes (is it a Word or binary file?)", text[: text.index("\x00")].count("\n") + 1
    return text.replace("\r\n", "\n").replace("\r", "\n"), None, None


def _utf16(data: bytes) -> str | None:
    """'UTF-16 (little-endian)' and so on, from a byte-order mark or the pattern of zero bytes."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16 (little-endian)"), (b"\xfe\xff", "UTF-16 (big-endian)")):
        if data.startswith(bom):
            return name
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 4:
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if odd > 2 * even:
            return "UTF-16 (little-endian)"
        if even > 2 * odd:
            return "UTF-16 (big-endian)"
    return None


def guess_encoding(data: bytes) -> str:
    """Name the legacy encoding a non-UTF-8 file most likely uses, for the error message.

    GB2312/GBK text decodes as GB18030 with nearly every character in GB2312 (both bytes
    0xA1 and up); Big5 text decoded that way has many characters outside it (Big5's second
    byte is often 0x40-0x7E), and decodes as Big5."""
    utf16 = _utf16(data)
    if utf16:
        return utf16
    decoded = {}
    for enc in ("gb18030", "big5", "shift_jis"):
        try:
            decoded[enc] = data.decode(enc)
        except UnicodeDecodeError:
            pass
    if "gb18030" in decoded:
        wide = [c for c in decoded["gb18030"] if ord(c) > 0x7F]
        in_gb2312 = sum(1 for c in wide if _encodes(c, "gb2312"))
        if wide and in_gb2312 >= 0.9 * len(wide):
            return "GBK (GB2312/GB18030, Simplified Chinese)"
    if "big5" in decoded:
        return "Big5 (Traditional Chinese)"
    if "shift_jis" in decoded:
        return "Shift_JIS (Japanese)"
    if "gb18030" in decoded:
        return "GBK (GB18030, Simplified Chinese)"
    return "a legacy single-byte encoding such as Windows-1252 or Latin-1"


_ICONV = (("UTF-16 (little", "UTF-16LE"), ("UTF-16 (big", "UTF-16BE"), ("UTF-32", "UTF-32"),
          ("GBK", "GB18030"), ("Big5", "BIG5"), ("Shift_JIS", "SHIFT_JIS"))


def encoding_problem(data: bytes, display: str, convert_to: str = "fixed.txt") -> tuple[str, int | None, str] | None:
    """(issue 18) For any text file the build reads (config, templates, tables): None if it is UTF-8,
    else (message naming the encoding it looks like, line, fix with the iconv command)."""
    text, problem, line = decode(data)
    if text is not None:
        return None
    if "NUL" in problem:
        return problem, line, "save it as a plain UTF-8 text file"
    enc = next((name for key, name in _ICONV if key in problem), "WINDOWS-1252")
    return problem, line, (f"save the file as UTF-8 (in Notepad: Save As → Encoding: UTF-8; or  "
                           f"iconv -f {enc} -t UTF-8 {display} > {convert_to} )")


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def split(text: str) -> tuple[str, str, int, int]:
    """(frontmatter YAML, body, line the YAML starts on, line the body starts on).

    python-frontmatter recognises the frontmatter; its boundary pattern is used
    to find both '---' lines so that every line number we report is exact.
    Raises FieldError with a line.
    """
    if not text.strip():
        raise FieldError("an empty file", "frontmatter between '---' lines, then the policy text",
                         "run  python build.py new <slug>  to start from a template", 1)
    handler = frontmatter.YAMLHandler()
    if not handler.detect(text):
        raise FieldError("text with no frontmatter", "the file to start with a line '---'",
                         "put title, issuer, effective and version between two '---' lines at the top", 1)
    bounds = handler.FM_BOUNDARY.finditer(text)
    first, second = next(bounds), next(bounds, None)
    if second is None:
        raise FieldError("frontmatter that is never closed", "a second '---' line after the fields",
                         "add a line with only '---' after the last field", 1)
    start = first.end()
    fm = text[start:second.start()]
    fm_line = text[:start].count("\n") + 1
    body_start = text.find("\n", second.start())
    body_start = len(text) if body_start < 0 else body_start + 1
    return fm, text[body_start:], fm_line, text[:body_start].count("\n") + 1


def parse(path: Path, display: str, data: bytes, default_lang: str, stem: str, slug: str,
          file_lang: str | None, out: Collector) -> Source | None:
    text, problem, line = decode(data)
    if text is None:
        if "NUL" in problem:
            fix = "copy the text into a plain-text editor and save it as UTF-8 Markdown (.md), not as a Word file"
        else:
            enc = next((name for key, name in _ICONV if key in problem), "WINDOWS-1252")
            fix = (f"save the file as UTF-8 (in Notepad: Save As → Encoding: UTF-8; or  "
                   f"iconv -f {enc} -t UTF-8 {display} > fixed.md )")
        out.error(display, line, None, problem, fix)
        return None
    try:
        fm, body, fm_line, body_line = split(text)
    except FieldError as e:
        out.error(display, e.line, None, f"found {e.found}, expected {e.expected}", e.fix)
        return None
    wide = _full_width_colons(fm)         # issue 15: title：隐私政策 typed with a Chinese input method
    if wide:
        for n, key in wide:
            out.error(display, fm_line + n, key, f"the full-width colon '：' (U+FF1A) after '{key}' is not a field separator",
                      f"type an ASCII colon and a space:  {key}: …")
        return None
    try:
        root = yaml.compose(fm, Loader=yaml.SafeLoader)
    except RecursionError:                          # (issue 18) [[[[… or {a: {a: … thousands deep
        out.error(display, fm_line, None, "frontmatter is nested too deeply to read (lists or mappings "
                  "inside each other hundreds of times)", "write each field as  name: value  or a short list")
        return None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        fix = ("indent with spaces, never tabs" if "\t" in fm
               else "put a space after each ':' and quote values that contain ':' or start with a symbol")
        problem = getattr(e, "problem", None) or str(e)
        out.error(display, fm_line + mark.line if mark else fm_line, None, f"frontmatter is not valid YAML: {problem}", fix)
        return None
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode):
        out.error(display, fm_line + root.start_mark.line, None, "frontmatter must be 'field: value' lines",
                  "write one field per line, such as  title: 隐私政策")
        return None

    is_translation = file_lang is not None
    meta, lines, seen = {}, {}, set()
    unknown: dict[str, int] = {}                      # unknown field -> line, for "did you mean"
    warnings = []                                     # about unknown fields, unless reported as misspelt
    for key_node, value_node in root.value:
        kline = fm_line + key_node.start_mark.line
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":null") or not str(key_node.value).strip():
            out.error(display, kline, None, "a field name must be a word, such as title",
                      "write one field per line as  name: value")
            continue
        key = str(key_node.value)
        if key in seen:
            out.error(display, kline, key, f"field '{key}' is given twice", "keep one of them")
            continue
        seen.add(key)
        spec = FIELDS.get(key)
        if spec is None:
            near = difflib.get_close_matches(key.lower(), FIELDS, 1, 0.7)
            unknown[key] = kline
            warnings.append((kline, key, f"unknown field '{key}' is ignored",
                             f"did you mean '{near[0]}'?" if near else "known fields: " + ", ".join(FIELDS)))
            continue
        if is_translation and not spec.translation and key not in ("version", "effective"):
            out.warn(display, kline, key, f"'{key}' is taken from the version this file translates; ignored here")
            continue
        try:
            meta[key] = spec.check(value_node)
            lines[key] = kline
        except FieldError as e:
            line = fm_line + (e.line if e.line is not None else value_node.start_mark.line)
            out.error(display, line, key, f"found {e.found}, expected {e.expected}",
                      e.fix or f"write it like  {key}: {example(key)}")
            seen.add(key)
    for key, spec in FIELDS.items():
        needed = spec.required and (not is_translation or key == "title")
        if needed and key not in seen:
            typo = next((k for k in unknown if difflib.get_close_matches(k.lower(), [key], 1, 0.7)), None)
            if typo:
                out.error(display, unknown.pop(typo), key, f"required field '{key}' is missing; "
                          f"'{typo}' on this line looks like a misspelling of it",
                          f"did you mean '{key}'? rename '{typo}' to '{key}'")
                continue
            out.error(display, fm_line + root.end_mark.line if root.value else fm_line, key,
                      f"required field '{key}' is missing", f"add a line  {key}: {example(key)}")
    for line, key, message, fix in warnings:
        if key in unknown:
            out.warn(display, line, key, message, fix)
    lang = meta.get("lang", file_lang or default_lang)
    if file_lang and meta.get("lang", file_lang) != file_lang:
        out.error(display, lines.get("lang"), "lang", f"found {meta['lang']!r} but the file name says {file_lang!r}",
                  f"rename the file or set  lang: {file_lang}")
    slug = meta.get("slug", slug)
    return Source(path=path, display=display, slug=slug, stem=stem, lang=lang, is_translation=is_translation,
                  meta=meta, lines=lines, body=body, body_line=body_line,
                  digest=hashlib.sha256(data).hexdigest(),
                  meta_digest=hashlib.sha256(repr(sorted((k, repr(v)) for k, v in meta.items())).encode()).hexdigest())


_WIDE_COLON = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\uff1a")


def _full_width_colons(fm: str) -> list[tuple[int, str]]:
    """(line within the frontmatter, field name) of every line written  field：value."""
    return [(n, m.group(1)) for n, line in enumerate(fm.split("\n")) if (m := _WIDE_COLON.match(line))]


def example(key: str) -> str:
    return {"title": "隐私政策", "issuer": "某某市人民政府办公室", "effective": "2024-07-01",
            "version": '"1.0"', "published": "2024-06-20", "status": "in-force", "summary": "一句话概括本政策。",
            "lang": "zh-Hans", "contact": "(then, indented on the next lines)  email: privacy@example.gov.cn",
            "tags": "[隐私, 个人信息]", "slug": "privacy-policy"}.get(key, "…")


_LANG_SUFFIXES = [("." + lang.lower(), lang) for lang in LANGS]


def split_lang(stem: str) -> tuple[str, str | None]:
    """'1.0.en' -> ('1.0', 'en'); 'privacy' -> ('privacy', None)."""
    if "." not in stem:
        return stem, None
    lower = stem.lower()
    for suffix, lang in _LANG_SUFFIXES:
        if lower.endswith(suffix):
            return stem[: -len(suffix)], lang
    return stem, None


def discover(cfg: Config, out: Collector) -> list[tuple[str, str, str, str | None]]:
    """(path, slug, stem, language suffix) for every source file, in a stable order. Paths are
    strings: a large site has thousands, and pathlib's objects cost more than the walk."""
    root = cfg.path_of("content.policies_dir")
    site_root = cfg.root
    if not root.is_dir():
        out.error(cfg.path, None, "content.policies_dir", f"policies folder not found: {root}",
                  "create it, or set [content] policies_dir in config.toml")
        return []
    found = []

    def inside_site(p: Path) -> bool:
        try:
            p.resolve(strict=True).relative_to(site_root)
            return True
        except ValueError:
            return False

    def followable(p: str) -> bool:
        """False (with an error) for a symbolic link that leads outside the site, nowhere, or in a loop."""
        try:
            if inside_site(Path(p)):
                return True
            out.error(Path(p), None, None, "symbolic link points outside the site; not followed",
                      "copy the file into the policies folder instead of linking to it")
        except (OSError, RuntimeError):
            out.error(Path(p), None, None, "symbolic link leads to nothing (its target is gone, or it links to itself)",
                      "delete the link, or copy the file it meant into the policies folder")
        return False

    # os.scandir: the file type comes with the name, so only symbolic links cost a system call
    def entries(folder: str):
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)

    def not_md(e) -> bool:
        """(issue 18) True for a file that is not a policy; a warning if it looks meant to be one."""
        if e.name.endswith(".md"):
            return False
        if e.name.lower().endswith((".md", ".markdown", ".mdown")) and not e.name.startswith((".", "_")):
            out.warn(Path(e.path), None, None, "ignored: policy files end in '.md' (lower case)",
                     f"rename it to {e.name.rsplit('.', 1)[0]}.md")
        return True

    for entry in entries(str(root)):
        name = entry.name
        if name.startswith((".", "_")):
            continue
        if entry.is_symlink() and not followable(entry.path):
            continue
        if entry.is_dir():
            before = len(found)
            for f in entries(entry.path):
                if f.name.startswith((".", "_")) or not_md(f):
                    continue
                if f.is_symlink() and not followable(f.path):
                    continue
                if not f.is_file():
                    continue
                stem, lang = split_lang(f.name[:-3])
                found.append((f.path, name, stem, lang))
            if len(found) == before:
                out.warn(Path(entry.path), None, None, "this policy folder has no .md files; it is ignored",
                         "put one file per version in it, such as 1.0.md, or remove the folder")
        elif entry.is_file() and not not_md(entry):
            stem, lang = split_lang(name[:-3])
            found.append((entry.path, stem, stem, lang))
    return found


RACY_NS = 2_000_000_000     # a file changed this close to when it was read may share a clock tick with the read
# (on Windows st_ctime is the creation time, so there every file is compared by content)


def load_sources(cfg: Config, out: Collector, cache: dict | None = None) -> list[Source]:
    """Read and validate every source. With a `cache` (path → entry) from an earlier call, a file
    whose metadata (inode, size, mtime, ctime) is unchanged is not read again; ctime changes on
    every write and cannot be set back, so an edit that keeps size and mtime is still seen. A file
    changed within RACY_NS of its reading is compared by content instead (Git's "racily clean")."""
    sources = []
    seen = set()
    policies_dir = cfg.path_of("content.policies_dir")
    context = (cfg["content.default_lang"],)
    for key, slug, stem, lang in discover(cfg, out):      # str keys: the cache unpickles faster
        st = os.stat(key)
        meta = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, slug, stem, lang, context)
        seen.add(key)
        entry = cache.get(key) if cache is not None else None
        if entry is not None and entry[0] == meta and entry[1]:
            _, _, content, src, diags = entry
        else:
            now = time.time_ns()
            # keyed by content: an edit that keeps every piece of metadata is still seen. The bytes
            # hashed are the bytes parsed, so a file changing in between cannot pair one with the other.
            data = None
            path = Path(key)
            if st.st_size <= MAX_BYTES:
                try:
                    data = path.read_bytes()
                except OSError:
                    pass                     # _load_one reports it
            content = hashlib.sha256(data).hexdigest() if data is not None else None
            if content is not None and entry is not None and entry[2] == content and entry[0][4:] == meta[4:]:
                _, _, _, src, diags = entry
            else:
                local = Collector()
                src = _load_one(path, slug, stem, lang, st.st_size, cfg, local, policies_dir, data)
                diags = local.items
            trusted = os.name != "nt" and max(st.st_mtime_ns, st.st_ctime_ns) < now - RACY_NS
            if cache is not None:
                cache[key] = (meta, trusted, content, src, diags)
        out.extend(diags)
        if src:
            sources.append(src)
    if cache is not None:
        for gone in set(cache) - seen:
            del cache[gone]
    return sources


def _load_one(path, slug, stem, lang, size, cfg, out, policies_dir, data: bytes | None = None) -> Source | None:
    display = _display(path)
    problem = slug_problem(slug)
    if problem:
        out.error(display, None, "slug", f"the file or folder name '{slug}' cannot be a page address: "
                  f"expected {problem[0]}", "rename the file or folder; " + problem[1].replace("slug: ", ""))
        return None
    if size > MAX_BYTES:
        out.error(display, None, None, f"the file is {size / 1048576:.1f} MB; a policy may be at most "
                  f"{MAX_BYTES // 1048576} MB", "split it into several policies, or remove pasted images and markup")
        return None
    try:
        if data is None:
            data = path.read_bytes()
    except OSError as e:
        out.error(display, None, None, f"cannot read the file: {e.strerror}",
                  "check that it exists and that the user running the build may read it")
        return None
    src = parse(path, display, data, cfg["content.default_lang"], stem, slug, lang, out)
    if src:
        # the folder of a multi-version policy, or policies/<stem>.md for a single file and its translations
        in_folder = path.parent != policies_dir
        # (the absolute path, not the one shown: that depends on the directory the build runs in,
        # and a source kept in the cache may have been read by a build run from another one)
        src.group = os.path.abspath(path.parent if in_folder else path.with_name(stem + ".md"))
    return src


def _display(path: Path) -> str:
    from .errors import display_path
    return display_path(path)
