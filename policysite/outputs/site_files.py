"""The site-wide files for machines: `sitemap.xml` (with hreflang alternates), `robots.txt`,
and `policies.json`, every policy, version, date, state and page address per variant, for
other systems (a portal's search, an archive, a regulator's crawler)."""
from __future__ import annotations

import html
import json
import re

from .. import __version__
from ..plan import PageSpec
from ..variants import ELDER
from . import GLOBAL, LISTING, Artifact, Context, FileSpec


class Sitemap:
    name = "sitemap"
    parallel = False

    def specs(self, ctx: Context):
        return [FileSpec("sitemap.xml", self.name)] if ctx.site.config["site.base_url"] else []

    def depends(self, spec) -> tuple:
        return LISTING

    def render(self, spec, ctx: Context) -> Artifact:
        return Artifact(spec.out_path, "application/xml", sitemap(ctx))


def xml_escape(text: str) -> str:
    """sitemap.xml text: escaped, and no character XML forbids (see feeds.xml_chars)."""
    from .feeds import xml_chars
    return html.escape(xml_chars(text))


def sitemap(ctx: Context) -> bytes:
    site, pages = ctx.site, ctx.plan
    base = site.config["site.base_url"]
    groups: dict[tuple, list[PageSpec]] = {}
    for p in pages:
        if p.kind != "notfound":
            groups.setdefault((p.kind, p.slug, p.version, p.variant.mode), []).append(p)
    default = site.variants.default
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for p in pages:
        if p.kind == "notfound":
            continue
        lines.append(f"  <url><loc>{xml_escape(base + p.url)}</loc>")
        group = groups[(p.kind, p.slug, p.version, p.variant.mode)]
        for alt in group:
            lines.append(f'    <xhtml:link rel="alternate" hreflang="{alt.variant.lang}" href="{xml_escape(base + alt.url)}"/>')
        default_page = next((a for a in group if a.variant.locale == default), None)
        if default_page:
            lines.append(f'    <xhtml:link rel="alternate" hreflang="x-default" href="{xml_escape(base + default_page.url)}"/>')
        lines.append("  </url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


class Robots:
    name = "robots"
    parallel = False

    def specs(self, ctx: Context):
        return [FileSpec("robots.txt", self.name)]

    def depends(self, spec) -> tuple:
        return GLOBAL

    def render(self, spec, ctx: Context) -> Artifact:
        base = ctx.site.config["site.base_url"]
        text = "User-agent: *\nAllow: /\n" + (f"Sitemap: {base}sitemap.xml\n" if base else "")
        return Artifact(spec.out_path, "text/plain", text.encode("utf-8"))


class Index:
    name = "index"
    parallel = False

    def specs(self, ctx: Context):
        return [FileSpec("policies.json", self.name)]

    def depends(self, spec) -> tuple:
        return LISTING

    def render(self, spec, ctx: Context) -> Artifact:
        return Artifact(spec.out_path, "application/json", policies_json(ctx))


def policies_json(ctx: Context) -> bytes:
    """Every policy and version with its dates, state and page URLs in every variant."""
    r, site, page_url = ctx.content, ctx.site, ctx.page_url
    cfg, variants = site.config, site.variants
    locales = [loc for loc in variants if page_url("home", variants.standard(loc)) is not None]

    def urls(kind, slug=None, version=None) -> dict:
        found = {}
        for loc in locales:
            var = variants.standard(loc)
            std = page_url(kind, var, slug, version)
            if std is not None:
                found[loc.tag] = {"standard": std, "elder": page_url(kind, var.with_mode(ELDER), slug, version)}
        return found

    def iso(value):
        return value.isoformat() if value else None

    policies = []
    for p in site.policies:
        shown = p.shown
        policies.append({
            "slug": p.slug,
            "title": {loc.tag: r.meta(shown, loc).title for loc in shown.locales},
            "issuer": {loc.tag: r.meta(shown, loc).issuer for loc in shown.locales},
            "current_version": shown.version if shown.state in ("current", "repealed") else None,
            "pages": urls("policy", p.slug),
            "history": urls("history", p.slug),
            "versions": [{
                "version": v.version,
                "effective": iso(v.effective),
                "published": iso(v.meta.get("published")),
                "status": v.status,
                "state": v.state,
                "languages": v.langs,
                "translated_by_hand": sorted(v.docs),
                "summary": _plain(v.meta.get("summary")),
                "previous": p.previous(v).version if p.previous(v) else None,
                "pages": urls("version", p.slug, v.version),
                "changes": urls("changes", p.slug, v.version),
            } for v in p.versions],
        })
    data = {
        "generator": f"policysite {__version__}",
        "site": {"title": cfg["site.title"], "base_url": cfg["site.base_url"] or None,
                 "default_script": cfg["scripts.default"], "traditional_standard": cfg["scripts.traditional"],
                 "build_date": site.today.isoformat()},
        "note": "Page addresses are relative to base_url (or to the folder this file is in).",
        "feeds": {loc.tag: loc.prefix + "feed.xml" for loc in locales} if cfg["site.base_url"] else {},
        "policies": policies,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")      # always encodable


def _plain(text):
    """A metadata text without its {{…}} no-convert markers (as the pages show it)."""
    if not text:
        return text
    from ..script import NC_MARK
    return NC_MARK.sub(lambda m: m.group(1), text)


SITEMAP, ROBOTS, INDEX = Sitemap(), Robots(), Index()
