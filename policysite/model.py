"""Stage 2, model: policies, their versions, and the pages the site will have.

Input: validated `Source` records and the config. Output: a `Site` (policies
with versions and their states) and a plan of `PageSpec`s, one per page and
variant. Cross-file rules (duplicate slugs or versions, two versions taking
effect the same day, a translation with nothing to translate) live here.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from dataclasses import dataclass, field

from .config import Config
from .errors import Collector
from .load import Source

# A version's state on the build date.
CURRENT, UPCOMING, SUPERSEDED, REPEALED, DRAFT = "current", "upcoming", "superseded", "repealed", "draft"
LANG_PREFIX = {"zh-Hans": "zh-hans/", "zh-Hant": "zh-hant/", "en": "en/"}


@dataclass
class Version:
    slug: str
    version: str
    main: Source                                   # the source-language document
    docs: dict[str, Source] = field(default_factory=dict)  # lang -> hand-written document (main included)
    state: str = CURRENT

    @property
    def meta(self):
        return self.main.meta

    @property
    def effective(self) -> dt.date:
        return self.meta["effective"]

    @property
    def status(self) -> str:
        return self.meta.get("status", "in-force")

    @property
    def langs(self) -> list[str]:
        """Languages this version is published in: both scripts when it has a Chinese text (written
        or translated), English when it has an English one. (Issue 16: a version written only in
        English is published only in English: no converted "Traditional" copy of English text.)"""
        chinese = any(lang != "en" for lang in self.docs)
        return (["zh-Hans", "zh-Hant"] if chinese else []) + (["en"] if "en" in self.docs else [])


@dataclass
class Policy:
    slug: str
    versions: list[Version]        # oldest first

    @property
    def shown(self) -> Version:
        """The version /<slug>/ shows: the current one, or the first upcoming if none is in force yet."""
        for v in reversed(self.versions):
            if v.state in (CURRENT, REPEALED):
                return v
        return self.versions[0]

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    def previous(self, version: Version) -> Version | None:
        """The version before this one (what its changes page compares with)."""
        i = self.versions.index(version)
        return self.versions[i - 1] if i > 0 else None

    def version(self, name: str) -> Version:
        return next(v for v in self.versions if v.version == name)


@dataclass
class Site:
    config: Config
    policies: list[Policy]
    today: dt.date
    drafts: bool = False

    def policy(self, slug: str) -> Policy | None:
        return next((p for p in self.policies if p.slug == slug), None)


class Variant(NamedTuple):        # named tuples hash in C: the site's page index hashes ~50,000 keys
    lang: str
    elder: bool = False

    def prefix(self, default_script: str) -> str:
        lang = "" if self.lang == default_script else LANG_PREFIX[self.lang]
        return lang + ("elder/" if self.elder else "")


class PageSpec(NamedTuple):       # a named tuple, not a frozen dataclass: a large site plans ~16 pages a policy
    kind: str                      # home | policy | version | history | changes | notfound
    variant: Variant
    url: str                       # site-relative directory URL: "", "privacy/", "zh-hant/privacy/1.0/"
    slug: str | None = None
    version: str | None = None
    out_path: str = ""             # the file written: url + index.html (set by `page`)


def page(kind: str, variant: Variant, url: str, slug: str | None = None, version: str | None = None) -> PageSpec:
    return PageSpec(kind, variant, url, slug, version, url + "index.html" if kind != "notfound" else "404.html")


def build_site(cfg: Config, sources: list[Source], out: Collector, drafts: bool = False) -> Site:
    today = cfg.today
    by_slug: dict[str, list[Source]] = {}
    for s in sources:
        by_slug.setdefault(s.slug, []).append(s)

    policies = []
    for slug, group in sorted(by_slug.items()):
        origins = sorted({s.group for s in group})
        if len(origins) > 1:
            for s in group:
                out.error(s.display, s.lines.get("slug"), "slug",
                          f"two policies use the slug '{slug}': {' and '.join(origins)}",
                          "rename one file or folder, or set a different  slug:  in its frontmatter")
            continue
        versions: dict[str, Version] = {}
        mains = [s for s in group if not s.is_translation]
        for s in mains:
            if "version" not in s.meta or "effective" not in s.meta:
                continue                       # already reported by load
            v = s.meta["version"]
            if v in versions:
                out.error(s.display, s.lines.get("version"), "version",
                          f"version '{v}' of '{slug}' is also given in {versions[v].main.display}",
                          "each version of a policy needs its own version number")
                continue
            versions[v] = Version(slug, v, s, {s.lang: s})
        by_stem = {ver.main.stem: ver for ver in versions.values()}
        for t in (s for s in group if s.is_translation):
            ver = by_stem.get(t.stem)
            if ver is None:
                out.error(t.display, None, None, f"translation of '{t.stem}', but there is no {t.stem}.md beside it",
                          f"name it after the version it translates, such as {sorted(by_stem)[0] if by_stem else 'privacy'}.{t.lang}.md")
                continue
            if t.lang == ver.main.lang:
                out.error(t.display, t.lines.get("lang"), "lang", f"this translation is in {t.lang}, the language of "
                          f"{ver.main.display} itself", "a translation must be in another language")
                continue
            for key in ("version", "effective"):
                if key in t.meta and t.meta[key] != ver.meta.get(key):
                    out.error(t.display, t.lines.get(key), key, f"found {t.meta[key]!s}, but {ver.main.display} says "
                              f"{ver.meta.get(key)!s}", f"remove '{key}' from the translation or make it match")
            ver.docs[t.lang] = t
        listed = sorted(versions.values(), key=lambda v: v.effective)
        for a, b in zip(listed, listed[1:]):
            if a.effective == b.effective:
                out.error(b.main.display, b.main.lines.get("effective"), "effective",
                          f"versions '{a.version}' and '{b.version}' of '{slug}' both take effect on {a.effective}",
                          "a later version needs a later effective date")
        kept = [v for v in listed if drafts or v.status != "draft"]
        if not kept:
            continue
        _assign_states(kept, today)
        policies.append(Policy(slug, kept))
    return Site(cfg, policies, today, drafts)


def _assign_states(versions: list[Version], today: dt.date) -> None:
    in_force = [v for v in versions if v.effective <= today and v.status != "draft"]
    current = in_force[-1] if in_force else None
    for v in versions:
        if v.status == "draft":
            v.state = DRAFT
        elif v.effective > today:
            v.state = UPCOMING
        elif v is current:
            v.state = REPEALED if v.status == "repealed" else CURRENT
        else:
            v.state = SUPERSEDED


def feed_path(lang: str, default_script: str) -> str:
    """Where a language's Atom feed is: feed.xml beside its home page."""
    return ("" if lang == default_script else LANG_PREFIX[lang]) + "feed.xml"


_VARIANTS: dict[tuple[str, bool], Variant] = {}


def variants(langs) -> list[Variant]:
    out = []
    for lang in langs:
        for elder in (False, True):
            v = _VARIANTS.get((lang, elder))
            if v is None:
                v = _VARIANTS[lang, elder] = Variant(lang, elder)
            out.append(v)
    return out


def plan_pages(site: Site) -> list[PageSpec]:
    """Every page of the site, in every variant it exists in. A pure function of the model.
    The home pages come first (render.site_files relies on it). (Written for speed: a large site
    plans some 16 pages a policy on every build.)"""
    default = site.config["scripts.default"]
    prefix: dict[Variant, str] = {}
    by_langs: dict[tuple, list[tuple[Variant, str]]] = {}

    def with_prefixes(langs) -> list[tuple[Variant, str]]:
        langs = tuple(langs)
        found = by_langs.get(langs)
        if found is None:
            found = by_langs[langs] = [(var, prefix.get(var) or prefix.setdefault(var, var.prefix(default)))
                                       for var in variants(langs)]
        return found

    pages: list[PageSpec] = []
    add = pages.append
    new = tuple.__new__          # PageSpec(...) without the named tuple's Python-level __new__
    # Chinese home pages always; an English one when some policy is shown in English (translated,
    # or written only in English: issue 16, so an English-only policy has a home page to be listed on)
    home_langs = ["zh-Hans", "zh-Hant"] + (["en"] if any("en" in p.shown.langs for p in site.policies) else [])
    for var, pre in with_prefixes(home_langs):
        add(page("home", var, pre))
    for p in site.policies:
        slug, shown = p.slug, p.shown
        shown_vars = with_prefixes(shown.langs)
        for var, pre in shown_vars:
            url = f"{pre}{slug}/"
            add(new(PageSpec, ("policy", var, url, slug, shown.version, url + "index.html")))
        for var, pre in shown_vars:
            url = f"{pre}{slug}/history/"
            add(new(PageSpec, ("history", var, url, slug, None, url + "index.html")))
        prev_langs = None
        for v in p.versions:
            langs = v.langs
            for var, pre in with_prefixes(langs):
                url = f"{pre}{slug}/{v.version}/"
                add(new(PageSpec, ("version", var, url, slug, v.version, url + "index.html")))
            if prev_langs is not None:
                for var, pre in with_prefixes(lang for lang in langs if lang in prev_langs):
                    url = f"{pre}{slug}/{v.version}/changes/"
                    add(new(PageSpec, ("changes", var, url, slug, v.version, url + "index.html")))
            prev_langs = langs
    add(page("notfound", Variant(default), ""))
    return pages
