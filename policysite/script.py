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
import ctypes
import os
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import opencc

from .errors import Collector

DEFAULT_PHRASES = Path(__file__).with_name("phrases.toml")
# Back conversion profile matching each Traditional standard.
TO_HANS_PROFILE = {"s2tw": "tw2s", "s2twp": "tw2sp", "s2hk": "hk2s", "s2hkp": "hk2s", "s2t": "t2s"}
SKIP_TAGS = {"code", "pre", "script", "style", "kbd", "samp", "var"}
CONVERTED_ATTRS = ("alt", "title", "aria-label", "content")
# inline no-convert marker in plain text fields. (issue 18) The text inside holds no '{{' or '}}',
# so a try that fails stops at the next marker: linear (it was '.+?', to the end for each '{{').
NC_MARK = re.compile(r"\{\{((?:[^{}]|\{(?!\{)|\}(?!\}))+)\}\}")


_LOADED: dict = {}                          # profile -> its converter (anything with .convert(str))
_LOADING: dict[str, threading.Thread] = {}  # profile -> the thread loading it (see preload)


def _opencc(profile: str):
    if profile not in _LOADED:
        settle()                   # its load, or another: one at a time (OpenCC does not say two may overlap)
        if profile not in _LOADED:
            _LOADED[profile] = opencc.OpenCC(profile)
    return _LOADED[profile]


class _CConverter:
    """One profile opened through OpenCC's C API (opencc.h), from the library the `opencc`
    package ships. It is the same converter as the package's `OpenCC` class (same library,
    same profile file, same default options: tests/test_script.py compares the two), but a
    call through ctypes lets go of Python's lock, which the package's binding holds while it
    loads a profile's dictionaries (~0.1 s for s2tw). So `preload` can load them on another
    core while the build imports, reads its state and plans."""

    def __init__(self, lib, handle: int):
        self._lib, self._handle = lib, handle

    def convert(self, text: str) -> str:
        """(OpenCC stops at a NUL character: Converter.convert converts around them.)"""
        data = text.encode("utf-8")
        out = self._lib.opencc_convert_utf8(self._handle, data, len(data))
        if not out:
            why = self._lib.opencc_error() or b"no reason given"
            raise RuntimeError(f"OpenCC could not convert the text: {why.decode(errors='replace')}")
        try:
            return ctypes.string_at(out).decode("utf-8")
        finally:
            self._lib.opencc_convert_utf8_free(out)


_C_API: list = []


def _c_api():
    """OpenCC's C API in the package's compiled module, or None where it does not export it
    (Windows builds export no C symbols from a Python extension)."""
    if not _C_API:
        lib = None
        try:
            lib = ctypes.CDLL(opencc.opencc_clib.__file__)
            lib.opencc_open.restype = ctypes.c_void_p
            lib.opencc_open.argtypes = [ctypes.c_char_p]
            lib.opencc_convert_utf8.restype = ctypes.c_void_p
            lib.opencc_convert_utf8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            lib.opencc_convert_utf8_free.restype = None
            lib.opencc_convert_utf8_free.argtypes = [ctypes.c_void_p]
            lib.opencc_error.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            lib = None
        _C_API.append(lib)
    return _C_API[0]


def _open_with_c_api(lib, profile: str) -> _CConverter | None:
    """Anything amiss gives None, and leaves the profile to the package's own class, which
    reports it properly when the build first converts."""
    try:
        config = Path(opencc.__file__).with_name("clib") / "share" / "opencc" / f"{profile}.json"
        if not config.is_file():
            return None
        handle = lib.opencc_open(os.fsencode(config))
        if handle and handle != ctypes.c_void_p(-1).value:
            return _CConverter(lib, handle)
    except Exception:                                   # noqa: BLE001 - (on the preload thread)
        pass
    return None


def _preload(lib, profile: str) -> None:
    converter = _open_with_c_api(lib, profile)
    if converter is not None:
        _LOADED.setdefault(profile, converter)


def preload(profile: str) -> None:
    """Start loading a profile on another thread; the first conversion waits for it. Call
    `settle` before forking (a thread does not go on in the child)."""
    if profile in _LOADED or profile in _LOADING or (lib := _c_api()) is None:
        return
    thread = threading.Thread(target=_preload, args=(lib, profile), name=f"opencc-{profile}", daemon=True)
    _LOADING[profile] = thread
    thread.start()


def settle() -> None:
    """Wait for the profiles being loaded (before a fork, before another load, at exit)."""
    for profile in list(_LOADING):
        _LOADING.pop(profile).join()


# A build that stops early (a content error) may leave a load running; where the interpreter ends
# normally (tests, a program using the engine), let it finish first. (The command line ends with
# os._exit, after which no thread runs.)
atexit.register(settle)


def load_phrases(site_table: Path | None, out: Collector) -> dict[str, dict[str, str]]:
    """Merge the default table and the site's; returns {"to-hant": {...}, "to-hans": {...}}."""
    tables = {"to-hant": {}, "to-hans": {}}
    for path in (DEFAULT_PHRASES, site_table):
        if path is None or not path.exists():
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            m = re.search(r"line (\d+)", str(e))
            out.error(path, int(m.group(1)) if m else None, None, f"phrase table is not valid TOML: {e}",
                      'write entries as  "简体短语" = "繁體短語"  under [to-hant] or [to-hans]')
            continue
        for section, entries in data.items():
            if section not in tables or not isinstance(entries, dict):
                out.warn(path, None, section, f"unknown section [{section}] ignored",
                         "use [to-hant] for Simplified → Traditional and [to-hans] for Traditional → Simplified")
                continue
            for src, dst in entries.items():
                if not isinstance(dst, str) or not src:
                    out.error(path, None, f"{section}.{src}", "each phrase maps to a string",
                              f'"{src}" = "…"')
                    continue
                tables[section][src] = dst
    return tables


@dataclass
class Converter:
    """Converts between scripts. `target` is "zh-Hant" or "zh-Hans"."""
    traditional: str = "s2tw"
    phrases: dict[str, dict[str, str]] = field(default_factory=lambda: {"to-hant": {}, "to-hans": {}})

    def __post_init__(self):
        self._patterns = {}
        for target, key in (("zh-Hant", "to-hant"), ("zh-Hans", "to-hans")):
            table = self.phrases.get(key, {})
            keys = sorted(table, key=len, reverse=True)
            self._patterns[target] = (re.compile("|".join(map(re.escape, keys))) if keys else None, table)

    def profile(self, target: str) -> str:
        return self.traditional if target == "zh-Hant" else TO_HANS_PROFILE[self.traditional]

    def convert(self, text: str, target: str) -> str:
        """Convert plain text (no markup, no markers)."""
        if not text or text.isascii():
            return text
        if "\x00" in text:                   # OpenCC stops at a NUL: convert around it
            return "\x00".join(self.convert(part, target) for part in text.split("\x00"))
        cc = _opencc(self.profile(target))
        pattern, table = self._patterns[target]
        if pattern is None:
            return cc.convert(text)
        out, pos = [], 0
        for m in pattern.finditer(text):
            if m.start() > pos:
                out.append(cc.convert(text[pos:m.start()]))
            out.append(table[m.group(0)])
            pos = m.end()
        out.append(cc.convert(text[pos:]))
        return "".join(out)

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
