"""Script conversion: Simplified ↔ Traditional with OpenCC, made right for legal text.

Part of the render stage. OpenCC does the conversion; on top of it:
- a phrase table (the project's defaults, then the site's phrases.toml) whose
  entries win over OpenCC's dictionaries;
- an inline no-convert marker, rendered as <span data-nc>…</span>;
- HTML awareness: text and a few attributes (alt, title, aria-label) are
  converted; tags, URLs, ids, <code>, <pre> and marked text are not.
"""
from __future__ import annotations

import atexit
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import opencc

from . import opencc_capi
from .errors import Collector
from .tables import config_for as tables_config
from .tables import project_tables, standard

DEFAULT_PHRASES = Path(__file__).with_name("phrases.toml")      # (read by tables.py)
# Back conversion profile matching each Traditional standard.
TO_HANS_PROFILE = {"s2tw": "tw2s", "s2twp": "tw2sp", "s2hk": "hk2s", "s2hkp": "hk2s", "s2t": "t2s"}
SKIP_TAGS = {"code", "pre", "script", "style", "kbd", "samp", "var"}
CONVERTED_ATTRS = ("alt", "title", "aria-label", "content")
# inline no-convert marker in plain text fields. (issue 18) The text inside holds no '{{' or '}}',
# so a try that fails stops at the next marker: linear (it was '.+?', to the end for each '{{').
NC_MARK = re.compile(r"\{\{((?:[^{}]|\{(?!\{)|\}(?!\}))+)\}\}")


_LOADED: dict = {}                          # config -> its converter (anything with .convert(str))
_LOADING: dict[str, threading.Thread] = {}  # config -> the thread loading it (see preload)
_REQUESTED: set = set()                     # (profile, site phrase table) preloaded


def _opencc(config: str):
    """The converter of a profile name ("s2tw") or of a configuration file's path."""
    if config not in _LOADED:
        settle()                   # its load, or another: one at a time (OpenCC does not say two may overlap)
        if config not in _LOADED:
            _LOADED[config] = opencc.OpenCC(config)
    return _LOADED[config]


def _preload(lib, config: str | None, profile: str, phrases_path: Path | None) -> None:
    if config is None:
        try:
            diag = Collector()
            tables = load_phrases(phrases_path, diag)
            if diag.errors:
                return                                       # the build reports them
            config = tables_config(profile, tables)
        except Exception:                                    # noqa: BLE001 - the build reports it
            return
    converter = opencc_capi.open_with_c_api(lib, config)
    if converter is not None:
        _LOADED.setdefault(config, converter)


def preload(profile: str, phrases_path: Path | None = None) -> None:
    """Start loading a profile with the project's tables and the site's phrase table (its path)
    on another thread; the first conversion waits for it. Call `settle` before forking (a thread
    does not go on in the child)."""
    if (lib := opencc_capi.c_api()) is None or (profile, phrases_path) in _REQUESTED:
        return
    _REQUESTED.add((profile, phrases_path))
    thread = threading.Thread(target=_preload, args=(lib, None, profile, phrases_path),
                              name=f"opencc-{profile}", daemon=True)
    _LOADING[profile] = thread
    thread.start()


def preload_config(config: str) -> None:
    """Start loading one configuration (a profile name or a file) on another thread."""
    if config in _LOADED or config in _LOADING or (lib := opencc_capi.c_api()) is None:
        return
    thread = threading.Thread(target=_preload, args=(lib, config, "", None), name=f"opencc-{config[-12:]}",
                              daemon=True)
    _LOADING[config] = thread
    thread.start()


def settle() -> None:
    """Wait for the profiles being loaded (before a fork, before another load, at exit)."""
    for key in list(_LOADING):
        _LOADING.pop(key).join()


# A build that stops early (a content error) may leave a load running; where the interpreter ends
# normally (tests, a program using the engine), let it finish first. (The command line ends with
# os._exit, after which no thread runs.)
atexit.register(settle)

# Characters a phrase value may not hold: it is written into HTML text and attributes as it is
# (conversion runs after sanitizing), and OpenCC's text dictionaries separate alternatives with
# a space and entries with a tab or a line break.
_BAD_PHRASE = re.compile(r'[<>&"\t\n\r ]')
_BAD_NAMES = {"<": "<", ">": ">", "&": "&", '"': 'a double quote', "\t": "a tab", "\n": "a line break",
              "\r": "a line break", " ": "a space"}


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith((f'"{key}"', f"'{key}'", f"{key} ", f"{key}=")):
            return n
    return None


def load_phrases(site_table: Path | None, out: Collector) -> dict[str, dict[str, str]]:
    """The site's phrase table: {"to-hant": {...}, "to-hans": {...}, "reviewed": {...}}. (The
    project's own tables, policysite/*.toml, are added by the Converter.)"""
    tables = {"to-hant": {}, "to-hans": {}, "reviewed": {}}
    path = site_table
    if path is None or not path.exists():
        return tables
    text = None
    try:
        text = path.read_text("utf-8-sig")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        m = re.search(r"line (\d+)", str(e))
        out.error(path, int(m.group(1)) if m else None, None, f"phrase table is not valid TOML: {e}",
                  'write entries as  "简体短语" = "繁體短語"  under [to-hant] or [to-hans]')
        return tables
    for section, entries in data.items():
        if section not in tables or not isinstance(entries, dict):
            out.warn(path, None, section, f"unknown section [{section}] ignored",
                     "use [to-hant] for Simplified → Traditional, [to-hans] for Traditional → Simplified "
                     "and [reviewed] for places a reviewer has checked")
            continue
        for src, dst in entries.items():
            line = _line_of(text, src)
            if not isinstance(dst, str) or not src or not dst:
                out.error(path, line, f"{section}.{src}", "each phrase maps to a text", f'"{src}" = "…"')
                continue
            bad = sorted({_BAD_NAMES[c] for c in _BAD_PHRASE.findall(src + dst)
                          if section != "reviewed" or c in '<>&"'})    # (a reviewed mark is never written out)
            if bad:
                out.error(path, line, f"{section}.{src}",
                          f"a phrase is plain text: {', '.join(bad)} found in {src!r} = {dst!r}",
                          "remove it: phrases are written into pages as they are, so markup would reach "
                          "every converted page; keep text with spaces or markup as written with {{…}} "
                          "in the policy instead")
                continue
            tables[section][src] = dst
    return tables


QUOTE_STYLES = ("regional", "keep")
_MAINLAND_QUOTES = "“”‘’"


@dataclass
class Converter:
    """Converts between scripts. `target` is "zh-Hant" or "zh-Hans". `phrases` is the site's
    table (load_phrases); the project's tables and the standard's come from policysite/*.toml.
    `quotes`: "regional" writes the standard's quotation marks (「」『』 for Taiwan and Hong
    Kong), "keep" leaves “” ‘’ as they are."""
    traditional: str = "s2tw"
    phrases: dict[str, dict[str, str]] = field(default_factory=lambda: {"to-hant": {}, "to-hans": {}})
    quotes: str = "regional"

    def __post_init__(self):
        self._configs: dict[str, str] = {}
        marks = standard(self.traditional)["quotes"]
        self._quotes = {}
        if self.quotes == "regional" and "".join(marks) != _MAINLAND_QUOTES:
            self._quotes = {"zh-Hant": dict(zip(_MAINLAND_QUOTES, marks)),
                            "zh-Hans": dict(zip(marks, _MAINLAND_QUOTES))}

    def fingerprint(self) -> str:
        """What the output of this converter depends on beyond the engine's own files."""
        return f"{self.traditional}|{self.quotes}|{sorted(self.phrases.get('to-hant', {}).items())}|" \
               f"{sorted(self.phrases.get('to-hans', {}).items())}"

    def profile(self, target: str) -> str:
        return self.traditional if target == "zh-Hant" else TO_HANS_PROFILE[self.traditional]

    def config(self, target: str) -> str:
        """The OpenCC configuration file this converter uses for `target` (tables.py)."""
        if target not in self._configs:
            self._configs[target] = tables_config(self.profile(target), self.phrases)
        return self._configs[target]

    def convert(self, text: str, target: str) -> str:
        """Convert plain text (no markup, no markers)."""
        if not text or text.isascii():
            return text
        if "\x00" in text:                   # OpenCC stops at a NUL: convert around it
            return "\x00".join(self.convert(part, target) for part in text.split("\x00"))
        out = _opencc(self.config(target)).convert(text)
        quotes = self._quotes.get(target)
        if quotes and any(q in out for q in quotes):
            out = _requote(out, quotes)
        return out

    def convert_text(self, text: str | None, target: str | None) -> str | None:
        """Convert a metadata value; {{…}} keeps a part as written (the braces are removed)."""
        if text is None:
            return None
        if target is None:
            return NC_MARK.sub(r"\1", text)
        out, pos = [], 0
        for m in NC_MARK.finditer(text):
            out.append(self.convert(text[pos:m.start()], target))
            out.append(m.group(1))
            pos = m.end()
        out.append(self.convert(text[pos:], target))
        return "".join(out)

    def convert_html(self, html: str, target: str) -> str:
        """Convert an HTML fragment's text, leaving markup, code and marked text alone."""
        out = []
        skip_tag, depth = None, 0
        for part in _TOKENS.split(html):
            if not part:
                continue
            if part[0] == "<":
                m = _TAG.match(part)
                if m:
                    closing, name = m.group(1) == "/", m.group(2).lower()
                    if skip_tag is None:
                        if not closing and (name in SKIP_TAGS or "data-nc" in part) and not part.endswith("/>"):
                            skip_tag, depth = name, 1
                        elif not closing:
                            part = _ATTR.sub(lambda a: a.group(1) + self.convert(a.group(2), target) + a.group(3), part)
                    elif name == skip_tag:
                        depth += -1 if closing else 1
                        if depth == 0:
                            skip_tag = None
                out.append(part)
            elif skip_tag is None:
                out.append(self.convert(part, target))
            else:
                out.append(part)
        return "".join(out)


def _requote(text: str, marks: dict[str, str]) -> str:
    """Quotation marks one for one; a ‘ or ’ beside a Latin letter or digit is an apostrophe
    or English quotation (don’t, users’, 用户’s) and stays."""
    out = list(text)
    for i, c in enumerate(out):
        if c in marks:
            if c in "‘’":
                prev_ascii = i > 0 and text[i - 1].isascii() and text[i - 1].isalnum()
                next_ascii = i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum()
                if prev_ascii or next_ascii:
                    continue
            out[i] = marks[c]
    return "".join(out)


_TOKENS = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_ATTR = re.compile(r'(\s(?:%s)=")([^"]*)(")' % "|".join(CONVERTED_ATTRS))


# Simplified characters with several Traditional forms (一简对多繁) that occur in
# administrative and legal text. tests/test_script.py checks against OpenCC that
# every form listed converts back to its Simplified character.
AMBIGUOUS = {
    k: v.split("/") for k, v in (item.split(":") for item in """
发:發/髮 干:乾/幹/干 后:后/後 里:里/裡/裏 面:面/麵 只:只/隻 台:台/臺/檯/颱 余:余/餘 于:于/於
复:復/複/覆 制:制/製 系:系/係/繫 历:歷/曆 钟:鐘/鍾 冲:沖/衝 卷:卷/捲 准:准/準 划:划/劃
汇:匯/彙 获:獲/穫 尽:盡/儘 范:范/範 松:松/鬆 征:征/徵 志:志/誌 致:致/緻 丑:丑/醜 斗:斗/鬥
谷:谷/穀 涂:涂/塗 蒙:蒙/矇/濛/懞 吁:吁/籲 朴:朴/樸 仆:仆/僕 脏:髒/臟 坛:壇/罈 表:表/錶
游:游/遊 团:團/糰 托:托/託 注:注/註 借:借/藉 郁:郁/鬱 凶:凶/兇 叶:叶/葉 采:采/採 舍:舍/捨
咸:咸/鹹 胡:胡/鬍 须:須/鬚 荡:蕩/盪 布:布/佈 了:了/瞭 筑:筑/築 困:困/睏 折:折/摺 恶:惡/噁
辟:辟/闢 御:御/禦 几:几/幾 云:云/雲 向:向/嚮 周:周/週 姜:姜/薑 卜:卜/蔔 伙:伙/夥 据:据/據
占:占/佔 板:板/闆 沈:沈/瀋 泛:泛/氾 签:簽/籤 并:並/併/并 念:念/唸 愿:願/愿 岳:岳/嶽 尸:尸/屍
杠:杠/槓 挂:掛/罣 累:累/纍 别:別/彆 参:參/蔘 当:當/噹 苏:蘇/甦 曲:曲/麴 朱:朱/硃 秋:秋/鞦
""".split())
}


def standard_strings(dirs: list[Path], profile: str, out: Collector) -> dict[str, str]:
    """The interface strings of one Traditional standard where they differ from zh-Hant.toml:
    strings/zh-Hant.<standard>.toml in the template folders (the site's over the theme's), so that
    the interface and the converted body text write a word alike."""
    from .tables import STANDARD_OF
    name = STANDARD_OF.get(profile, profile)
    table: dict[str, str] = {}
    for d in reversed(dirs):                       # overrides last, so they win
        path = d / "strings" / f"zh-Hant.{name}.toml"
        if path.exists():
            try:
                table.update(tomllib.loads(path.read_text("utf-8-sig")))
            except tomllib.TOMLDecodeError as e:
                m = re.search(r"line (\d+)", str(e))
                out.error(path, int(m.group(1)) if m else None, None, f"strings table is not valid TOML: {e}",
                          'write entries as  key = "text"')
    return table
