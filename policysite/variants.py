"""The variants every page exists in, declared once: locales × reading modes.

A **locale** is a language or script the site is published in: its BCP 47 tag (`<html lang>`,
`hreflang`), the script of the documents it takes, its URL prefix, its UI strings table, its
read-aloud voice, and, for a Chinese script, the OpenCC standard that makes its text from the
other script. A **mode** is a way of reading the same page: standard, or 长者版 (large text).

The plan, the templates, the feeds, the sitemap and the index iterate over these; nothing
else in the engine names a language or the 长者版. A site adds a locale with a `[[locales]]`
table in config.toml (and a strings file for it), such as Hong Kong Traditional beside
Taiwan Traditional:

    [[locales]]
    tag = "zh-Hant-HK"       # lang and hreflang
    prefix = "zh-hk"         # /zh-hk/…
    standard = "s2hk"        # OpenCC standard: Hong Kong characters
    strings = "zh-HK"        # templates/strings/zh-HK.toml (keys it lacks come from zh-Hant)
    speech = "zh-HK"         # read-aloud voice
"""
from __future__ import annotations

from typing import NamedTuple

HANS, HANT, EN = "zh-Hans", "zh-Hant", "en"
SCRIPTS = (HANS, HANT)                    # the two Chinese scripts: every version is published in both


class Locale(NamedTuple):
    tag: str                 # BCP 47: "zh-Hans", "zh-Hant", "en", "zh-Hant-HK"
    script: str              # the language or script of the documents it shows: zh-Hans, zh-Hant or en
    prefix: str              # URL folder ("" for the site root, else "zh-hant/" …)
    strings: str             # UI strings table: templates/strings/<strings>.toml
    speech: str              # read-aloud voice: "zh-CN", "zh-TW", "zh-HK", "en"
    standard: str | None     # OpenCC standard that makes this locale's text from the other script
    always: bool             # published for every version (Chinese scripts), or only where a
                             # document in its language exists (a translation)

    @property
    def converts(self) -> bool:
        return self.script in SCRIPTS


class Mode(NamedTuple):
    name: str                # "standard" | "elder"
    prefix: str              # URL folder after the locale's: "" or "elder/"
    stylesheet: str | None   # extra stylesheet under static/
    large: bool              # the 长者版: large text, toolbar, read-aloud


STANDARD = Mode("standard", "", None, False)
ELDER = Mode("elder", "elder/", "elder.css", True)
MODES = (STANDARD, ELDER)


class Variant(NamedTuple):   # named tuples hash in C: the site's page index hashes ~50,000 keys
    locale: Locale
    mode: Mode = STANDARD

    @property
    def lang(self) -> str:
        return self.locale.tag

    @property
    def elder(self) -> bool:
        return self.mode.large

    @property
    def prefix(self) -> str:
        return self.locale.prefix + self.mode.prefix

    def with_mode(self, mode: Mode) -> "Variant":
        return Variant(self.locale, mode)

    def with_locale(self, locale: Locale) -> "Variant":
        return Variant(locale, self.mode)


def speech_of(script: str, standard: str) -> str:
    """The read-aloud voice of a script: speech engines choose voices by region."""
    if script == HANT:
        return "zh-HK" if standard.startswith("s2hk") else "zh-TW"
    return {HANS: "zh-CN"}.get(script, script)


def default_locales(default_script: str, traditional: str) -> list[Locale]:
    """The site's locales when config.toml adds none: both scripts (the default one at the
    root) and English for translated versions."""
    def prefix(tag: str) -> str:
        return "" if tag == default_script else tag.lower() + "/"
    return [Locale(HANS, HANS, prefix(HANS), HANS, speech_of(HANS, traditional), traditional, True),
            Locale(HANT, HANT, prefix(HANT), HANT, speech_of(HANT, traditional), traditional, True),
            Locale(EN, EN, prefix(EN), EN, EN, None, False)]


class Variants:
    """The site's locales and modes, looked up by tag (built once per build from the config)."""

    def __init__(self, locales: list[Locale], modes=MODES):
        self.locales = tuple(locales)
        self.modes = tuple(modes)
        self.by_tag = {loc.tag: loc for loc in self.locales}
        self.default = self.locales[0] if not any(loc.prefix == "" for loc in self.locales) else \
            next(loc for loc in self.locales if loc.prefix == "")
        self._all = {loc.tag: [Variant(loc, m) for m in self.modes] for loc in self.locales}

    def __iter__(self):
        return iter(self.locales)

    def of(self, locales) -> list[Variant]:
        """Every variant of these locales, locale by locale, modes in order."""
        return [v for loc in locales for v in self._all[loc.tag]]

    def standard(self, locale: Locale) -> Variant:
        return self._all[locale.tag][0]

    def in_script(self, script: str) -> list[Locale]:
        return [loc for loc in self.locales if loc.script == script]

    def prefixes(self) -> set[str]:
        """Every first URL segment a variant uses (a policy may not take one)."""
        return {p.rstrip("/") for loc in self.locales for p in (loc.prefix,) if p} | \
               {m.prefix.rstrip("/") for m in self.modes if m.prefix}
