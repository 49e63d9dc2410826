"""Stage 3, render: Markdown, script conversion and Jinja templates → pages.

Input: the model (a `Site` and its page plan). Output: `Page`s (an output path
and the bytes to write). Each document's Markdown is rendered once; its other
script is derived from that HTML with OpenCC; each variant (script or language
× standard or 长者版) is then one template rendering. Nothing is written here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import jinja2

from .config import SCRIPTS
from .errors import Collector
from .markup import POLICY_LINK, RenderedDoc, render_markdown
from .model import PageSpec, Policy, Site, Variant, Version, variants
from .script import Converter, load_phrases

STRINGS_DIR = "strings"
LANG_ORDER = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True)
class Page:
    path: str          # output path relative to the output folder, "/"-separated
    data: bytes


@dataclass
class DocView:
    """One version in one language or script, ready for a template."""
    lang: str
    title: str
    issuer: str
    summary: str | None
    contact: dict[str, str]
    tags: list[str]
    html: str
    toc: list[dict]
    converted: bool               # generated with OpenCC (not written by hand)
    source: str                   # display path of the file it came from


# --- helpers shared by templates ------------------------------------------------

def relative(from_url: str, to_url: str) -> str:
    """Relative link between two site-relative directory URLs ("" is the root)."""
    target, frag = (to_url.split("#", 1) + [""])[:2]
    start = from_url.rstrip("/") or "."
    if target.endswith("/") or target == "":
        rel = posixpath.relpath(target.rstrip("/") or ".", start)
        rel = "./" if rel == "." else rel + "/"
    else:
        rel = posixpath.relpath(target, start)
    return rel + ("#" + frag if frag else "")


def format_date(value, lang: str) -> str:
    if value is None:
        return ""
    time = ""
    if isinstance(value, dt.datetime):
        time = value.strftime(" %H:%M")
        value = value.date()
    if lang == "en":
        return f"{value.day} {value.strftime('%B')} {value.year}{time}"
    return f"{value.year}年{value.month}月{value.day}日{time}"


def load_strings(dirs: list[Path], out: Collector) -> dict[str, dict[str, str]]:
    strings: dict[str, dict[str, str]] = {}
    for lang in LANG_ORDER:
        table: dict[str, str] = {}
        for d in reversed(dirs):                  # overrides last, so they win
            path = d / STRINGS_DIR / f"{lang}.toml"
            if path.exists():
                try:
                    table.update(tomllib.loads(path.read_text("utf-8-sig")))
                except tomllib.TOMLDecodeError as e:
                    m = re.search(r"line (\d+)", str(e))
                    out.error(path, int(m.group(1)) if m else None, None, f"strings table is not valid TOML: {e}",
                              'write entries as  key = "text"')
        if not table:
            out.error(dirs[-1] / STRINGS_DIR / f"{lang}.toml", None, None, f"no UI strings for {lang}",
                      f"restore templates/{STRINGS_DIR}/{lang}.toml from the project")
        strings[lang] = table
    every = set().union(*(t.keys() for t in strings.values()))
    for lang, table in strings.items():
        for key in sorted(every - table.keys()):
            out.error(dirs[-1] / STRINGS_DIR / f"{lang}.toml", None, key, f"UI string '{key}' is missing for {lang}",
                      f"add  {key} = \"…\"  (the other languages have it)")
    return strings


class Strings(dict):
    """A strings table for templates: t.key, with a clear error for a missing key."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise jinja2.UndefinedError(f"UI string '{key}' is not in the strings tables") from None


# --- the renderer -------------------------------------------------------------

@dataclass
class RenderCache:
    """What one build can hand to the next: content-keyed, so it can never serve stale results.

    `markdown` and `views` are keyed by the SHA-256 of the source files involved;
    `pages` maps an output path to (fingerprint of everything the page depends on, Page).
    """
    markdown: dict = field(default_factory=dict)
    views: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    global_fp: str = ""

    def keep_only(self, md_keys, view_keys) -> None:
        self.markdown = {k: v for k, v in self.markdown.items() if k in md_keys}
        self.views = {k: v for k, v in self.views.items() if k in view_keys}


class Renderer:
    def __init__(self, site: Site, out: Collector, cache: RenderCache | None = None):
        cfg = site.config
        self.site, self.cfg, self.out = site, cfg, out
        self.default = cfg["scripts.default"]
        dirs = [cfg.path_of("theme.overrides_dir"), cfg.path_of("theme.templates_dir")]
        self.template_dirs = [d for d in dirs if d.is_dir()]
        if cfg.path_of("theme.templates_dir") not in self.template_dirs:
            out.error(cfg.path, None, "theme.templates_dir", f"templates folder not found: {dirs[1]}",
                      "restore templates/ from the project, or set [theme] templates_dir")
        self.strings = {k: Strings(v) for k, v in load_strings(self.template_dirs or dirs, out).items()}
        phrases_path = cfg.path_of("scripts.phrases")
        self.converter = Converter(cfg["scripts.traditional"], load_phrases(phrases_path, out))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True)
        self.env.filters["date"] = format_date
        self.cache = cache or RenderCache()
        self.used_md: set = set()
        self.used_views: set = set()

    # Markdown, once per source document (and once per content, across builds)
    def markdown(self, src) -> RenderedDoc:
        backlink = self.strings[src.lang].get("footnote_back", "%d")
        key = (src.digest, backlink)
        self.used_md.add(key)
        if key not in self.cache.markdown:
            self.cache.markdown[key] = render_markdown(src.body, backlink)
        return self.cache.markdown[key]

    def view(self, version: Version, lang: str) -> DocView:
        key = (tuple(sorted(s.digest for s in version.docs.values())), lang)
        self.used_views.add(key)
        if key in self.cache.views:
            return self.cache.views[key]
        docs = version.docs
        if lang in docs:
            src, target = docs[lang], None
        else:
            src = next((docs[s] for s in SCRIPTS if s in docs), version.main)
            target = lang if lang in SCRIPTS and src.lang in SCRIPTS else None
        doc = self.markdown(src)
        meta = dict(version.meta)
        if src is not version.main:
            meta.update({k: v for k, v in src.meta.items()})
        conv = self.converter
        contact = {k: (v if k in ("email", "phone", "fax") else conv.convert_text(v, target))
                   for k, v in meta.get("contact", {}).items()}
        view = DocView(
            lang=lang,
            title=conv.convert_text(meta["title"], target),
            issuer=conv.convert_text(meta["issuer"], target),
            summary=conv.convert_text(meta.get("summary"), target),
            contact=contact,
            tags=[conv.convert_text(t, target) for t in meta.get("tags", [])],
            html=conv.convert_html(doc.html, target) if target else doc.html,
            toc=_convert_toc(doc.toc, conv, target),
            converted=target is not None,
            source=src.display)
        self.cache.views[key] = view
        return view

    def check_links(self) -> None:
        """Every policy: link must name a policy that exists."""
        slugs = {p.slug for p in self.site.policies}
        for p in self.site.policies:
            for v in p.versions:
                for src in v.docs.values():
                    for href in self.markdown(src).policy_links:
                        m = POLICY_LINK.match(href)
                        if m and m.group(1) in slugs:
                            continue
                        idx = src.body.find(href)
                        line = src.body_line + src.body[:idx].count("\n") if idx >= 0 else None
                        target = m.group(1) if m else href
                        self.out.error(src.display, line, "link",
                                       f"link to '{href}': there is no policy '{target}'",
                                       "known policies: " + ", ".join(sorted(slugs)) +
                                       " (write links as  [text](policy:slug)  or  [text](policy:slug#s2))")

    # pages
    def render(self, spec: PageSpec, plan_index: dict) -> Page:
        ctx = self.context(spec, plan_index)
        template = {"home": "home.html", "policy": "policy.html", "version": "policy.html",
                    "notfound": "404.html"}[spec.kind]
        text = self.env.get_template(template).render(ctx)
        return Page(spec.out_path, text.encode("utf-8"))

    def context(self, spec: PageSpec, plan_index: dict) -> dict:
        site, cfg, var = self.site, self.cfg, spec.variant
        lang = var.lang
        base_url = cfg["site.base_url"]
        notfound = spec.kind == "notfound"
        root_path = re.sub(r"^https?://[^/]+", "", base_url) or "/"

        def url(target: str) -> str:
            if notfound:
                return root_path + target
            return relative(spec.url, target)

        def page_url(kind, v: Variant, slug=None, version=None) -> str | None:
            found = plan_index.get(page_key(kind, v, slug, version))
            return found.url if found else None

        # The 404 page has no counterparts of its own: its switches offer the home pages instead.
        alt_kind = "home" if notfound else spec.kind
        alternates = []
        for other in LANG_ORDER:
            u = page_url(alt_kind, Variant(other, var.elder), spec.slug, spec.version)
            if u is not None:
                alternates.append({"lang": other, "url": u, "name": self.strings[other]["lang_name"],
                                   "short": self.strings[other]["lang_short"], "current": other == lang})
        std_url = page_url(alt_kind, Variant(lang, False), spec.slug, spec.version)
        elder_url = page_url(alt_kind, Variant(lang, True), spec.slug, spec.version)
        target = lang if lang in SCRIPTS and lang != self.default else None
        site_title = (cfg["site.title_en"] or cfg["site.title"]) if lang == "en" else \
            self.converter.convert_text(cfg["site.title"], target)
        ctx = {
            "page": spec, "kind": spec.kind, "lang": lang, "elder": var.elder, "t": self.strings[lang],
            "url": url, "site_title": site_title,
            "site_description": self.converter.convert_text(cfg["site.description"], target) if lang != "en" else "",
            "footer": self.converter.convert_text(cfg["site.footer"], target),
            "alternates": alternates, "standard_url": std_url, "elder_url": elder_url,
            "home_url": page_url("home", var) or page_url("home", Variant(self.default, var.elder)),
            "canonical": base_url + spec.url if base_url and not notfound else None,
            "hreflang": [{"lang": a["lang"], "href": base_url + a["url"]} for a in alternates]
            if base_url and not notfound else [],
            "x_default": base_url + (page_url(spec.kind, Variant(self.default, var.elder), spec.slug, spec.version) or "")
            if base_url else None,
            "today": site.today, "static": url("static/"),
            "speech_lang": speech_lang(lang, cfg["scripts.traditional"]),
        }
        if spec.kind == "home":
            ctx["entries"] = [self.entry(p, lang, var, page_url) for p in site.policies
                              if lang in p.shown.langs]
        elif spec.kind in ("policy", "version"):
            policy = site.policy(spec.slug)
            version = next(v for v in policy.versions if v.version == spec.version)
            doc = self.view(version, lang)
            body = _POLICY_HREF.sub(lambda m: 'href="' + html.escape(url(
                (page_url("policy", var, m.group(1)) or page_url("policy", Variant(self.default, var.elder), m.group(1))
                 or "") + (m.group(2) or ""))) + '"', doc.html)
            current = policy.shown
            ctx.update({
                "policy": policy, "version": version, "doc": doc, "body": body,
                "is_permalink": spec.kind == "version",
                "permalink": page_url("version", var, policy.slug, version.version),
                "current_url": page_url("policy", var, policy.slug) or page_url("policy", Variant(self.default, var.elder), policy.slug),
                "current_version": current,
                "has_key_clauses": 'class="key-clause"' in doc.html,
                "description": doc.summary or doc.title,
            })
        return ctx

    def entry(self, policy: Policy, lang: str, var: Variant, page_url) -> dict:
        v = policy.shown
        doc = self.view(v, lang)
        return {"policy": policy, "version": v, "doc": doc, "url": page_url("policy", var, policy.slug)}


def speech_lang(lang: str, traditional: str) -> str:
    """The BCP 47 tag for read-aloud voices: a region, since speech engines choose voices by it."""
    if lang == "zh-Hant":
        return "zh-HK" if traditional.startswith("s2hk") else "zh-TW"
    return {"zh-Hans": "zh-CN"}.get(lang, lang)


def page_key(kind: str, variant: Variant, slug: str | None, version: str | None) -> tuple:
    """Index key of a planned page: only version pages are told apart by version."""
    return kind, variant, slug, version if kind == "version" else None


_POLICY_HREF = re.compile(r'href="policy:([a-z0-9-]+)(#[A-Za-z0-9_:.-]+)?"')


def _convert_toc(toc, conv: Converter, target):
    if target is None:
        return toc
    return [dict(t, name=conv.convert_html(t["name"], target), children=_convert_toc(t["children"], conv, target))
            for t in toc]


def sitemap(site: Site, pages: list[PageSpec]) -> Page | None:
    base = site.config["site.base_url"]
    if not base:
        return None
    groups: dict[tuple, list[PageSpec]] = {}
    for p in pages:
        if p.kind != "notfound":
            groups.setdefault((p.kind, p.slug, p.version, p.variant.elder), []).append(p)
    default = site.config["scripts.default"]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for p in pages:
        if p.kind == "notfound":
            continue
        lines.append(f"  <url><loc>{xml_escape(base + p.url)}</loc>")
        group = groups[(p.kind, p.slug, p.version, p.variant.elder)]
        for alt in group:
            lines.append(f'    <xhtml:link rel="alternate" hreflang="{alt.variant.lang}" href="{xml_escape(base + alt.url)}"/>')
        default_page = next((a for a in group if a.variant.lang == default), None)
        if default_page:
            lines.append(f'    <xhtml:link rel="alternate" hreflang="x-default" href="{xml_escape(base + default_page.url)}"/>')
        lines.append("  </url>")
    lines.append("</urlset>\n")
    return Page("sitemap.xml", "\n".join(lines).encode("utf-8"))


def robots(site: Site) -> Page:
    base = site.config["site.base_url"]
    text = "User-agent: *\nAllow: /\n" + (f"Sitemap: {base}sitemap.xml\n" if base else "")
    return Page("robots.txt", text.encode("utf-8"))


def render_site(site: Site, plan: list[PageSpec], out: Collector, cache: RenderCache | None = None,
                global_fp: str = "") -> list[Page]:
    """Render every planned page. Collects template and link errors instead of stopping at the first.

    With a `cache` from an earlier build, a policy's pages are reused when nothing
    they depend on changed: the policy's own files, the list of policies (links
    between policies), and `global_fp` (config, templates, strings, phrase tables,
    engine version, build date). Home, 404, sitemap and robots are always rendered.
    """
    cache = cache if cache is not None else RenderCache()
    if cache.global_fp != global_fp or not global_fp:
        cache.pages, cache.global_fp = {}, global_fp
    renderer = Renderer(site, out, cache)
    out.raise_if_errors()
    renderer.check_links()
    plan_index = {page_key(p.kind, p.variant, p.slug, p.version): p for p in plan}
    index_fp = _digest(repr(sorted((p.slug, tuple(p.shown.langs), tuple((v.version, v.state, tuple(v.langs))
                                                                        for v in p.versions)) for p in site.policies)))
    policy_fps = {p.slug: _digest(index_fp + "".join(sorted(s.digest for v in p.versions for s in v.docs.values())))
                  for p in site.policies}
    pages: list[Page] = []
    fresh: dict[str, tuple[str, Page]] = {}
    for spec in plan:
        fp = policy_fps.get(spec.slug) if spec.slug else None
        reuse = cache.pages.get(spec.out_path) if fp else None
        if reuse and reuse[0] == fp:
            pages.append(reuse[1])
            fresh[spec.out_path] = reuse
            continue
        try:
            page = renderer.render(spec, plan_index)
        except jinja2.TemplateNotFound as e:
            out.error(renderer.template_dirs[-1] if renderer.template_dirs else "templates", None, None,
                      f"template '{e.name}' not found", f"restore templates/{e.name} from the project")
            break
        except jinja2.TemplateSyntaxError as e:
            out.error(e.filename or e.name or "templates", e.lineno, None, f"template error: {e.message}",
                      "check the Jinja tags on that line")
            break
        except Exception as e:                         # noqa: BLE001 - a template's mistake, not ours
            where = _template_line(e)
            if where[0] is None:
                raise
            out.error(where[0], where[1], None, f"template error: {type(e).__name__}: {e}",
                      "check the variable, filter or UI string used on that line")
            break
        pages.append(page)
        if fp:
            fresh[spec.out_path] = (fp, page)
    if not out.errors:
        cache.pages = fresh
        cache.keep_only(renderer.used_md, renderer.used_views)
    extra = [sitemap(site, plan), robots(site)]
    pages.extend(p for p in extra if p)
    return pages


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _template_line(exc: BaseException) -> tuple[str | None, int | None]:
    tb = exc.__traceback__
    found = (None, None)
    while tb:
        frame = tb.tb_frame
        if frame.f_code.co_filename.endswith(".html"):
            found = (frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found
