"""config.toml: a declarative schema, validated in one pass.

Each option is declared once below with its type, default and help text; the
README's config reference is written from the same table. Unknown keys are
warned about (a misspelt key should never be silently ignored).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import Collector
from .sanitize import ATTR_NAME, NEVER_ATTRIBUTE_RE, NEVER_TAGS, RISKY_TAGS, TAG_NAME

# The default theme the engine ships: a site's own templates/ and static/ override it file by file.
THEME_DIR = Path(__file__).parent / "theme"
THEME_TEMPLATES, THEME_STATIC = THEME_DIR / "templates", THEME_DIR / "static"

LANGS = ("zh-Hans", "zh-Hant", "en")
SCRIPTS = ("zh-Hans", "zh-Hant")
TRADITIONAL_PROFILES = ("s2tw", "s2hk", "s2t")
# Accepted, with a warning: they rewrite vocabulary, not only characters.
PHRASE_PROFILES = {
    "s2twp": "s2twp rewrites mainland vocabulary into Taiwan usage (法律程序 → 法律程式, 文件 → 檔案, "
    "信息 → 資訊, 网络 → 網路), which changes the wording of legal text",
    "s2hkp": "s2hkp rewrites mainland vocabulary into Hong Kong usage, which changes the wording of legal text",
}


class Invalid(ValueError):
    def __init__(self, expected: str, fix: str | None = None):
        super().__init__(expected)
        self.expected = expected
        self.fix = fix


def _str(v):
    if not isinstance(v, str):
        raise Invalid("a string in quotes")
    return v


def _url(v):
    v = _str(v)
    if v and not re.match(r"^https?://[^/\s]+(/\S*)?$", v):
        raise Invalid("an absolute http(s) URL such as \"https://www.example.gov.cn/policies/\"")
    return v if not v or v.endswith("/") else v + "/"


def _choice(*options):
    def check(v):
        if v not in options:
            raise Invalid("one of " + ", ".join(f'"{o}"' for o in options))
        return v
    return check


def _date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise Invalid("a date such as 2026-01-31 (no quotes)")


def _profile(v):
    if v in TRADITIONAL_PROFILES or v in PHRASE_PROFILES:
        return v
    raise Invalid('one of "s2tw" (Taiwan standard, default), "s2hk" (Hong Kong), "s2t" (OpenCC standard)',
                  'write  traditional = "s2tw"  (the phrase-rewriting profiles "s2twp" and "s2hkp" are '
                  'accepted too, with a warning)')


def _offset(v):
    v = _str(v)
    m = re.match(r"^[+-](\d{2}):(\d{2})$", v)
    if not m or int(m.group(1)) > 14 or int(m.group(2)) > 59:
        raise Invalid('an offset from UTC such as "+08:00"')
    return v


def _bool(v):
    if not isinstance(v, bool):
        raise Invalid("true or false")
    return v


def _tag_name(t) -> str:
    if not isinstance(t, str) or not TAG_NAME.match(t.strip().lower()):
        raise Invalid(f"HTML tag names such as \"section\" ({t!r} is not one)")
    t = t.strip().lower()
    if t in NEVER_TAGS:
        raise Invalid(f"tags other than {', '.join(sorted(NEVER_TAGS))}",
                      f"remove {t!r}: it would run code or change the whole page, whoever wrote the policy")
    return t


def _allow_tags(v):
    if not isinstance(v, list):
        raise Invalid('a list of HTML tag names, such as ["section", "iframe"]')
    return tuple(sorted({_tag_name(t) for t in v}))


def _allow_attributes(v):
    if not isinstance(v, dict):
        raise Invalid('a table of tag = [attribute names], such as { iframe = ["src", "title"], "*" = ["aria-label"] }')
    out = {}
    for tag, names in v.items():
        tag = tag if tag == "*" else _tag_name(tag)
        if not isinstance(names, list):
            raise Invalid(f'a list of attribute names for {tag!r}, such as ["title"]')
        for name in names:
            if not isinstance(name, str) or not ATTR_NAME.match(name.strip().lower()):
                raise Invalid(f"attribute names such as \"title\" ({name!r} is not one)")
            if NEVER_ATTRIBUTE_RE.match(name.strip()):
                raise Invalid("attributes other than on… event handlers, style, srcdoc, action and formaction",
                              f"remove {name!r}: it would run code or restyle the page, whoever wrote the policy")
        out[tag] = tuple(sorted({n.strip().lower() for n in names}))
    return out


_LOCALE_KEYS = {"tag": "its BCP 47 tag, such as \"zh-Hant-HK\"", "prefix": "its URL folder, such as \"zh-hk\"",
                "standard": "the OpenCC standard, such as \"s2hk\"", "strings": "its strings table, such as \"zh-HK\"",
                "speech": "its read-aloud voice, such as \"zh-HK\""}


def _locales(v):
    """Extra locales: Traditional (or Simplified) Chinese in another regional standard beside
    the site's own, each under its own URL folder."""
    example = ('[[locales]]  with  tag = "zh-Hant-HK", prefix = "zh-hk", standard = "s2hk", '
               'strings = "zh-HK", speech = "zh-HK"')
    if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
        raise Invalid("[[locales]] tables", "write each extra locale as " + example)
    out = []
    for t in v:
        unknown = sorted(set(t) - set(_LOCALE_KEYS))
        if unknown:
            raise Invalid(f"only the keys {', '.join(_LOCALE_KEYS)} (found {unknown[0]!r})", "write " + example)
        missing = [k for k in ("tag", "prefix", "standard") if k not in t]
        if missing:
            raise Invalid(f"{missing[0]}: {_LOCALE_KEYS[missing[0]]}", "write " + example)
        if not all(isinstance(x, str) for x in t.values()):
            raise Invalid("text values in quotes", "write " + example)
        if not re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})+$", t["tag"]):
            raise Invalid(f"a BCP 47 tag such as \"zh-Hant-HK\" (not {t['tag']!r})")
        if not re.match(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", t["prefix"]):
            raise Invalid(f"a URL folder of lower-case letters, digits and '-' such as \"zh-hk\" (not {t['prefix']!r})")
        if t["standard"] not in TRADITIONAL_PROFILES:
            raise Invalid(f"a standard among {', '.join(TRADITIONAL_PROFILES)} (not {t['standard']!r})")
        out.append(dict(t))
    return tuple(tuple(sorted(t.items())) for t in out)


@dataclass(frozen=True)
class Option:
    key: str              # "section.name"
    check: Callable[[Any], Any]
    default: Any
    help: str


OPTIONS = [
    Option("site.title", _str, "政策文件", "Site title, written in the default script (converted for the other)."),
    Option("site.title_en", _str, "", "Site title on English pages (empty: the Chinese title)."),
    Option("site.description", _str, "", "One-sentence description for the home page and feeds."),
    Option("site.base_url", _url, "", "Public URL of the site root, such as `\"https://www.example.gov.cn/policies/\"`; used only for "
           "canonical links, `sitemap.xml`, feeds and the 404 page's links. Pages link to each other with relative "
           "links, so the site works under any sub-path."),
    Option("site.footer", _str, "", "Footer line (owner, ICP record number …), in the default script."),
    Option("site.utc_offset", _offset, "+08:00", "Time zone of the dates in policies, as an offset from UTC (used in feeds)."),
    Option("site.today", _date, None, "Pin the build date (a TOML date, `2026-11-22`) for reproducible builds; a pin more than a week behind the "
           "clock is warned about (the sample site pins it so that its version 2.1 stays upcoming; `init` writes no pin)."),
    Option("locales", _locales, (), "Extra locales beside the two scripts and English, as `[[locales]]` tables: "
           "`tag`, `prefix`, `standard` (s2tw, s2hk, s2t), `strings`, `speech` (README, Simplified and Traditional)."),
    Option("content.policies_dir", _str, "policies", "Folder of policy sources."),
    Option("content.default_lang", _choice(*LANGS), "zh-Hans", "Language of a policy file without `lang`."),
    Option("scripts.default", _choice(*SCRIPTS), "zh-Hans", "Script served at the site root; the other gets a /zh-hant/ or /zh-hans/ prefix."),
    Option("scripts.traditional", _profile, "s2tw", "OpenCC profile for Simplified → Traditional: s2tw, s2hk or s2t."),
    Option("scripts.phrases", _str, "phrases.toml", "Site phrase table that wins over OpenCC (optional file)."),
    # issue 14: quotation marks per standard (policysite/standards.toml)
    Option("scripts.quotes", _choice("regional", "keep"), "regional", "Quotation marks in converted text: "
           "\"regional\" writes each standard's (「」『』 for s2tw and s2hk), \"keep\" keeps “” ‘’."),
    Option("theme.templates_dir", _str, "templates", "Folder of the site's own templates and `strings/`: each file "
           "replaces the default theme's file of the same name (optional)."),
    Option("theme.overrides_dir", _str, "overrides", "A second folder of template overrides, searched before "
           "templates_dir (optional)."),
    Option("theme.static_dir", _str, "static", "Folder of the site's own static files: copied to /static/ over the "
           "default theme's, file by file (optional)."),
    Option("build.output", _str, "public", "Output folder."),
    Option("search.versions", _choice("current", "all"), "current", "What the search index holds: `\"current\"`, "
           "the version each policy's page shows and every upcoming one; `\"all\"`, superseded versions too "
           "(README, Search)."),
    Option("markdown.allow_tags", _allow_tags, (), "HTML tags to allow in policies beyond the safe allow-list "
           "(README, Safety); risky ones are warned about on every build."),
    Option("markdown.allow_attributes", _allow_attributes, {}, "Attributes to allow beyond the allow-list: "
           "{ tag = [names] }, \"*\" for every tag. Event handlers and style are never allowed."),
]
_BY_KEY = {o.key: o for o in OPTIONS}


@dataclass
class Config:
    path: Path
    root: Path
    values: dict[str, Any] = field(default_factory=dict)
    # True when config.toml itself is broken, or an option that says where files are is wrong:
    # then nothing can be loaded. Other wrong values fall back to their default so that the
    # build can go on and report the problems in the policies in the same run.
    fatal: bool = False
    given: set = field(default_factory=set)       # the options config.toml sets (the rest are defaults)
    lines: dict = field(default_factory=dict)     # "section.key" -> its line in config.toml

    def __getitem__(self, key: str):
        return self.values[key]

    def path_of(self, key: str) -> Path:
        return (self.root / self.values[key]).resolve()

    @property
    def today(self) -> dt.date:
        return self.values["site.today"] or dt.date.today()

    @property
    def other_script(self) -> str:
        return "zh-Hant" if self["scripts.default"] == "zh-Hans" else "zh-Hans"

    @functools.cached_property
    def variants(self):
        """The site's locales and reading modes (see variants.py)."""
        from .variants import HANT, Locale, Variants, default_locales
        locales = default_locales(self["scripts.default"], self["scripts.traditional"])
        for extra in map(dict, self["locales"]):
            script = HANT if extra["standard"].startswith("s2") else "zh-Hans"
            locales.insert(-1, Locale(extra["tag"], script, extra["prefix"] + "/", extra.get("strings", extra["tag"]),
                                      extra.get("speech", extra["tag"]), extra["standard"], True))
        return Variants(locales)


def load_config(path: Path, collector: Collector) -> Config:
    """Read and validate config.toml. A missing file means every default."""
    path = Path(path)
    cfg = Config(path=path, root=path.parent.resolve())
    raw: dict = {}
    text = ""
    if path.exists():
        data = path.read_bytes()
        from .load import encoding_problem       # (issue 18) GBK was read with replacement characters
        bad = encoding_problem(data, str(path.name), "config-utf8.toml")
        if bad is not None:
            collector.error(path, bad[1], None, bad[0], bad[2])
            cfg.fatal = True
            data = b""
        text = data.decode("utf-8-sig")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            collector.error(path, int(m.group(1)) if m else None, None,
                            f"config.toml is not valid TOML: {e}",
                            "strings need quotes, keys and values are separated by '=', and each [section] appears once")
            raw = {}
            cfg.fatal = True
    elif path.name != "config.toml":
        collector.error(path, None, None, "config file not found", "check the --config path")
        cfg.fatal = True
    lines = cfg.lines = _key_lines(text)
    for section, table in raw.items():
        if section == "locales":
            table = {"": table}                     # a top-level array of tables: one option
        if not isinstance(table, dict):
            collector.warn(path, lines.get(section), section, f"unknown top-level key '{section}' ignored",
                           "options live in sections such as [site] or [scripts]; see the README")
            continue
        for name, value in table.items():
            key = f"{section}.{name}" if name else section
            opt = _BY_KEY.get(key)
            if opt is None:
                close = [o.key for o in OPTIONS if o.key.split(".")[-1] == name] or \
                        [o.key for o in OPTIONS if o.key.startswith(section + ".")]
                collector.warn(path, lines.get(key), key, f"unknown option '{key}' ignored",
                               f"did you mean {', '.join(close[:3])}?" if close else "see the README's config reference")
                continue
            cfg.given.add(key)
            try:
                cfg.values[key] = opt.check(value)
            except Invalid as e:
                default = "today's date" if opt.default is None else repr(opt.default)
                collector.error(path, lines.get(key), key, f"found {value!r}, expected {e.expected}",
                                e.fix or f"write {e.expected}, or remove the line to use the default ({default})")
                cfg.fatal = cfg.fatal or section in ("content", "theme", "build")
            if key == "markdown.allow_tags" and key in cfg.values:
                for tag in cfg.values[key]:
                    if tag in RISKY_TAGS:
                        collector.warn(path, lines.get(key), key, f"policies may now contain <{tag}>: it {RISKY_TAGS[tag]}",
                                       f"remove {tag!r} from allow_tags unless every policy author is trusted with it")
            if key == "scripts.traditional" and value in PHRASE_PROFILES:
                collector.warn(path, lines.get(key), key, PHRASE_PROFILES[value],
                               'use "s2tw" to convert characters only and keep the wording as written')
    for opt in OPTIONS:
        cfg.values.setdefault(opt.key, opt.default)
    _warn_stale_today(cfg, collector)
    phrases = cfg.path_of("scripts.phrases")          # (issue 18) a folder here was a traceback
    if phrases.exists() and not phrases.is_file():
        collector.error(path, lines.get("scripts.phrases"), "scripts.phrases",
                        f"found {cfg['scripts.phrases']!r}, which is a folder, expected the phrase table's file",
                        'write the file\'s name, such as  phrases = "phrases.toml"  (or remove the line)')
        cfg.fatal = True
    return cfg


STALE_TODAY_DAYS = 7


def _warn_stale_today(cfg: Config, collector: Collector) -> None:
    """issue 15: a pinned build date more than a week behind the clock decides which versions
    are current as of that day: a policy written effective yesterday shows as upcoming."""
    pinned = cfg.values.get("site.today")
    if pinned is None or "site.today" not in cfg.given:
        return
    real = dt.date.today()
    if (real - pinned).days > STALE_TODAY_DAYS:
        collector.warn(cfg.path, cfg.lines.get("site.today"), "site.today",
                       f"the build date is pinned to {pinned.isoformat()}, more than a week before today's date: "
                       f"versions that took effect after {pinned.isoformat()} show as not yet in force (尚未生效)",
                       "remove `today` to use the build date (pin it only for a reproducible build)")


def _key_lines(text: str) -> dict[str, int]:
    """Map 'section.key' to its line in config.toml, for error messages."""
    out, section = {}, ""
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^\[\[?([A-Za-z0-9_.-]+)\]", s)
        if m:
            section = m.group(1)
            out.setdefault(section, n)
            continue
        m = re.match(r'^([A-Za-z0-9_-]+)\s*=', s)
        if m:
            out.setdefault(f"{section}.{m.group(1)}" if section else m.group(1), n)
    return out


def _toml_default(opt: Option) -> str:
    value = opt.default
    if value is None:
        return "the build date"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[]`" if opt.key != "locales" else "none"
    if isinstance(value, dict):
        return "`{}`"
    return f"`{value!r}`"


def reference() -> str:
    """The README's config reference, made from `OPTIONS` (tests/test_docs.py checks that the
    README holds exactly this table): `python -m policysite.config`."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for opt in OPTIONS:
        section, _, name = opt.key.partition(".")
        where = f"`[{section}] {name}`" if name else f"`[[{section}]]`"
        meaning = opt.help.replace("|", "\\|")
        rows.append(f"| {where} | {_toml_default(opt)} | {meaning} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
