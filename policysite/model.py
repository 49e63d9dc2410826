"""Stage 2, model: policies, their versions and their states on the build date.

Input: validated `Source` records and the config. Output: a `Site` (policies
with versions, their states and the locales each is published in). Cross-file
rules (duplicate slugs or versions, two versions taking effect the same day, a
translation with nothing to translate) live here. The pages are planned from
the Site in plan.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .errors import Collector, display_path
from .load import Source
from .variants import SCRIPTS, Locale, Variants

# A version's state on the build date.
CURRENT, UPCOMING, SUPERSEDED, REPEALED, DRAFT = "current", "upcoming", "superseded", "repealed", "draft"


@dataclass
class Version:
    slug: str
    version: str
    main: Source                                   # the source-language document
    docs: dict[str, Source] = field(default_factory=dict)  # lang -> hand-written document (main included)
    state: str = CURRENT
    locales: list[Locale] = field(default_factory=list)   # where it is published (set by build_site)

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
        """The tags of the locales this version is published in."""
        return [loc.tag for loc in self.locales]


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

    def version(self, name: str) -> Version | None:
        return next((v for v in self.versions if v.version == name), None)


@dataclass
class Site:
    config: Config
    policies: list[Policy]
    today: dt.date
    drafts: bool = False
    variants: Variants | None = None

    def policy(self, slug: str) -> Policy | None:
        return next((p for p in self.policies if p.slug == slug), None)


def locales_of(variants: Variants, docs: dict) -> list[Locale]:
    """Where a version is published: every locale in the language of one of its documents,
    and, when it is written in Chinese, every Chinese locale (the other script is converted)."""
    chinese = any(lang in SCRIPTS for lang in docs)
    return [loc for loc in variants if loc.script in docs or (chinese and loc.always)]


def build_site(cfg: Config, sources: list[Source], out: Collector, drafts: bool = False) -> Site:
    today = cfg.today
    variants = cfg.variants
    by_slug: dict[str, list[Source]] = {}
    for s in sources:
        by_slug.setdefault(s.slug, []).append(s)

    policies = []
    for slug, group in sorted(by_slug.items()):
        origins = sorted({s.group for s in group})
        if len(origins) > 1:
            origins = [display_path(Path(o)) for o in origins]
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
        for v in kept:
            v.locales = locales_of(variants, v.docs)
        policies.append(Policy(slug, kept))
    return Site(cfg, policies, today, drafts, variants)


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
