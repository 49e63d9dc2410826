"""Stage 3, render: Markdown, script conversion and Jinja templates → pages.

Input: the model (a `Site` and its page plan). Output: `Page`s (an output path
and the bytes to write). Each document's Markdown is rendered once; its other
script is derived from that HTML with OpenCC; each variant (script or language
× standard or 长者版) is then one template rendering. Nothing is written here.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import html
import itertools
import operator
import os
import pickle
import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import jinja2

from .config import SCRIPTS, THEME_TEMPLATES
from .errors import Collector
from .markup import POLICY_LINK, MarkdownError, RenderedDoc, render_markdown
from .model import UPCOMING, PageSpec, Policy, Site, Variant, Version, feed_path, variants
from .sanitize import RESERVED_IDS, Allowlist
from .script import Converter, load_phrases

STRINGS_DIR = "strings"
LANG_ORDER = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True)
class Page:
    path: str          # output path relative to the output folder, "/"-separated
    data: bytes


class DocView(NamedTuple):
    """One version in one language or script, ready for a template. (A named tuple: the build
    state keeps one for every version and language, and tuples unpickle faster.)"""
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

@functools.lru_cache(maxsize=65536)
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
                except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:    # (issue 18: + not UTF-8)
                    m = re.search(r"line (\d+)", str(e))
                    out.error(path, int(m.group(1)) if m else None, None, f"strings table is not valid TOML: {e}",
                              'write entries as  key = "text"')
        if not table:
            out.error(dirs[-1] / STRINGS_DIR / f"{lang}.toml", None, None, f"no UI strings for {lang}",
                      f"reinstall policysite: its default theme has templates/{STRINGS_DIR}/{lang}.toml")
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

class DocStore:
    """Rendered documents by content: in memory for this process, and in a folder on disk
    (`.cache/` under the site) for later builds. Keys are hashes of everything the
    value depends on (source bytes, engine code, conversion tables), so a stale entry
    can never be found."""

    def __init__(self, folder: Path | None = None, salt: str = ""):
        self.folder, self.salt = folder, salt
        self.memory: dict[str, object] = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def key(self, *parts) -> str:
        return _digest(self.salt + "|" + repr(parts))

    def get(self, key: str):
        if key in self.memory:
            return self.memory[key]
        if self.folder is not None:
            try:
                value = pickle.loads((self.folder / key).read_bytes())
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                return None
            self.memory[key] = value
            return value
        return None

    def put(self, key: str, value) -> None:
        self.memory[key] = value
        if self.folder is not None:
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                try:
                    tmp.write_bytes(data)
                except FileNotFoundError:                 # the folder was removed under us: make it again
                    self.folder.mkdir(parents=True, exist_ok=True)
                    tmp.write_bytes(data)
                os.replace(tmp, self.folder / key)
            except OSError:                               # a cache that cannot be written is only slower
                tmp.unlink(missing_ok=True)


class Renderer:
    def __init__(self, site: Site, out: Collector, store: DocStore | None = None, state=None):
        cfg = site.config
        self.site, self.cfg, self.out = site, cfg, out
        self.default = cfg["scripts.default"]
        # the site's overrides, then the site's templates, then the default theme (the first found wins)
        dirs = [cfg.path_of("theme.overrides_dir"), cfg.path_of("theme.templates_dir"), THEME_TEMPLATES]
        self.template_dirs = [d for d in dirs if d.is_dir()]
        for key in ("theme.templates_dir", "theme.overrides_dir"):
            if key in cfg.given and not cfg.path_of(key).is_dir():
                out.error(cfg.path, cfg.lines.get(key), key, f"templates folder not found: {cfg.path_of(key)}",
                          f"create the folder, or remove the [theme] {key.split('.')[1]} line to use the default theme")
        self.strings = {k: Strings(v) for k, v in load_strings(self.template_dirs or dirs, out).items()}
        phrases_path = cfg.path_of("scripts.phrases")
        self.converter = Converter(cfg["scripts.traditional"], load_phrases(phrases_path, out))
        self.allowlist = Allowlist.from_config(cfg)
        self.allow_fp = _digest(repr(self.allowlist))
        self.store = store or DocStore()
        # compiled templates are kept beside the documents (Jinja checks each one against its source)
        bytecode = None
        if self.store.folder is not None:
            (self.store.folder.parent / "jinja").mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(self.store.folder.parent / "jinja"))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True, bytecode_cache=bytecode)
        self.env.filters["date"] = format_date
        # what conversion depends on: the profile and both phrase tables
        self.conv_fp = self.cfg["scripts.traditional"] + "|" + _digest(repr(self.converter.phrases))
        self.links = state.links if state is not None else {}      # facts of each document, by content
        self.used_facts: set[str] = set()
        self.metas = state.meta if state is not None else {}       # view key -> metadata-only view

    # Markdown, once per source document (and once per content, across builds)
    def markdown(self, src) -> RenderedDoc:
        backlink = self.strings[src.lang].get("footnote_back", "%d")
        key = self.store.key("md", src.digest, backlink, self.allow_fp)
        doc = self.store.get(key)
        if doc is None:
            try:
                doc = render_markdown(src.body, backlink, self.allowlist)
            except MarkdownError as e:         # (issue 18) too slow or too deep: an error, not a hang
                self.out.error(src.display, src.body_line, "body", e.message, e.fix)
                doc = RenderedDoc("", [])      # (not kept: the build fails)
            else:
                self.store.put(key, doc)
        facts = f"{src.digest}|{self.allow_fp}"
        if facts not in self.links:          # noted while the document is at hand (in a worker, too)
            # the ids as one string, '"id1"id2"…"' (an id has no '"'): the build state unpickles
            # one object, not dozens
            ids = '"' + '"'.join(sorted(set(_ID.findall(doc.html)))) + '"'
            # (issue 18) + the text that did not reach the page, as (line, text)
            self.links[facts] = (doc.policy_links, ids, doc.removed,
                                 [(_line_at(src, off), piece) for off, piece in doc.lost])
        return doc

    def facts(self, src) -> tuple[list[str], str, list[str]]:
        """What the checks need of a document: its policy: links, its ids ('"id1"id2"…"'), the
        HTML the sanitizer removed. Small, and kept between builds, so checking needs no rendering."""
        key = f"{src.digest}|{self.allow_fp}"   # kept in the build state, which a new engine discards
        self.used_facts.add(key)
        if key not in self.links:
            self.markdown(src)
        return self.links[key]

    def meta(self, version: Version, lang: str) -> DocView:
        """Title, issuer, summary, contact and tags in a language, without the body
        (for listings, feeds and the index; cheap, and kept between builds)."""
        key = self.store.key("meta", tuple(sorted(s.digest for s in version.docs.values())), lang, self.conv_fp)
        found = self.metas.get(key)
        if found is None:
            found = self.metas[key] = self._view(version, lang, body=False)
        elif type(found) is tuple:                      # as the build state keeps it (see State)
            found = self.metas[key] = DocView._make(found)
        return found

    def view(self, version: Version, lang: str) -> DocView:
        key = self.store.key("view", tuple(sorted(s.digest for s in version.docs.values())), lang,
                             self.strings[lang].get("footnote_back", ""), self.conv_fp)
        found = self.store.get(key)
        if found is None:
            found = self._view(version, lang, body=True)
            self.store.put(key, found)
        return found

    def _view(self, version: Version, lang: str, body: bool) -> DocView:
        docs = version.docs
        if lang in docs:
            src, target = docs[lang], None
        else:
            src = next((docs[s] for s in SCRIPTS if s in docs), version.main)
            target = lang if lang in SCRIPTS and src.lang in SCRIPTS else None
        doc = self.markdown(src) if body else RenderedDoc("", [])
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
        return view

    def check_links(self, sources=None, known: set[str] | None = None) -> None:
        """Every policy: link must name a policy that exists, and a section (#id) that policy has.

        `sources` and `known` default to the site's; an earlier stage that failed passes every
        source it read and every slug it found, so no link to a policy with errors is reported."""
        slugs = {p.slug for p in self.site.policies}
        known = slugs | (known or set())
        if sources is None:
            sources = [src for p in self.site.policies for v in p.versions for src in v.docs.values()]
        for src in sources:
            for href in self.facts(src)[0]:
                m = POLICY_LINK.match(href)
                if m and m.group(1) in known:
                    frag = (m.group(2) or "#")[1:]
                    target = self.site.policy(m.group(1))
                    if not frag or target is None:
                        continue
                    if frag in RESERVED_IDS or (f'"{frag}"' in self.facts(target.shown.main)[1]
                                                  and '"' not in frag):
                        continue
                    doc = self.markdown(target.shown.main)
                    sections = [f"#{t['id']} {html.unescape(t['name'])}" for t in _flat_toc(doc.toc)][:12]
                    self.out.error(src.display, _line_of(src, href), "link",
                                   f"link to '{href}': policy '{m.group(1)}' has no section '#{frag}'",
                                   "link to one of its sections: " + ("; ".join(sections) or "(it has no headings)")
                                   + f", or to the whole policy with  policy:{m.group(1)}")
                    continue
                how = "write links as  [text](policy:slug)  or  [text](policy:slug#s2)"
                if not m:
                    self.out.error(src.display, _line_of(src, href), "link", f"link to '{href}' is not a policy link", how)
                    continue
                near = difflib.get_close_matches(m.group(1), sorted(known), 1)
                listed = sorted(known)
                self.out.error(src.display, _line_of(src, href), "link", f"link to '{href}': there is no policy '{m.group(1)}'",
                               (f"did you mean  policy:{near[0]}?  " if near else "") +
                               "known policies: " + ", ".join(listed[:12]) + (", …" if len(listed) > 12 else "")
                               + f" ({how})")

    def report_removed_html(self, sources=None) -> None:
        """A warning for every document whose raw HTML lost tags or attributes to the sanitizer."""
        if sources is None:
            sources = [src for p in self.site.policies for v in p.versions for src in v.docs.values()]
        for src in sources:
            facts = self.facts(src)
            removed = facts[2]
            for line, piece in facts[3][:5]:    # (issue 18) nothing of the text may be lost
                short = piece if len(piece) <= 40 else piece[:40] + "…"
                self.out.error(src.display, line, "body",
                               f"this text does not reach the page: {short!r} (the HTML before it hides it)",
                               "close the HTML tag or attribute quote that comes before it, or write the tag "
                               "as text: \\<tag> or `<tag>`")
            if removed:
                self.out.warn(src.display, None, None, "HTML removed from the page for safety: " + ", ".join(removed[:12]),
                              "remove it from the file; write Markdown instead, or see the README (Safety) to allow "
                              "a tag with [markdown] allow_tags")

    def templates_fingerprint(self) -> str:
        """Hash of every file in the template folders, the UI strings among them (what
        check_templates looks at, and part of what every page depends on)."""
        h = hashlib.sha256()
        for d in self.template_dirs:
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    data = f.read_bytes()      # paths relative to the site, however config.toml was named
                    h.update(f"{os.path.relpath(f, self.cfg.root)}|{len(data)}|".encode() + data)
        return h.hexdigest()

    def check_templates(self) -> None:
        """Every page template compiles, and every template it extends, includes or imports exists.

        Reports a Jinja syntax error or a missing template with the file and line that
        refer to it, before any page is rendered."""
        if not self.template_dirs:
            return
        todo = ["home.html", "policy.html", "history.html", "changes.html", "404.html"]
        seen: set[str] = set()
        refs: dict[str, tuple[str, int]] = {}
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                source, filename, _ = self.env.loader.get_source(self.env, name)
            except UnicodeDecodeError:          # (issue 18) a template saved in GBK was a traceback
                from .load import encoding_problem
                path = next(d / name for d in self.template_dirs if (d / name).is_file())
                from .errors import display_path
                bad = encoding_problem(path.read_bytes(), display_path(path), "fixed.html") or ("not UTF-8", None, "save as UTF-8")
                self.out.error(path, bad[1], None, f"template: {bad[0]}", bad[2])
                continue
            except jinja2.TemplateNotFound:
                where = refs.get(name)
                self.out.error(where[0] if where else self.template_dirs[-1], where[1] if where else None,
                               None, f"template '{name}' not found" + (f" (used by {Path(where[0]).name})" if where else ""),
                               f"check the name; to change a template of the default theme, copy it from "
                               f"{THEME_TEMPLATES} into {self.cfg['theme.templates_dir']}/ under the same name")
                continue
            try:
                tree = self.env.parse(source, name, filename)
            except jinja2.TemplateSyntaxError as e:
                self.out.error(Path(filename), e.lineno, None, f"template error: {e.message}",
                               "check the Jinja tags on that line: every {% if %} and {% for %} needs its "
                               "{% endif %} or {% endfor %}, and {{ }} and {% %} must be closed")
                continue
            for node in tree.find_all((jinja2.nodes.Extends, jinja2.nodes.Include, jinja2.nodes.Import,
                                       jinja2.nodes.FromImport)):
                if isinstance(node.template, jinja2.nodes.Const) and isinstance(node.template.value, str):
                    refs.setdefault(node.template.value, (filename, node.lineno))
                    todo.append(node.template.value)

    # pages
    def render(self, spec: PageSpec, plan_index: dict) -> Page:
        ctx = self.context(spec, plan_index)
        template = {"home": "home.html", "policy": "policy.html", "version": "policy.html",
                    "history": "history.html", "changes": "changes.html", "notfound": "404.html"}[spec.kind]
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

        def any_url(kind, slug=None, version=None) -> str | None:
            """This variant's page, or the default script's when this language lacks it."""
            return page_url(kind, var, slug, version) or page_url(kind, Variant(self.default, var.elder), slug, version)

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
        site_title = self.site_title(lang)
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
            "feed": url(feed_path(lang, self.default)) if base_url else None,
            "speech_lang": speech_lang(lang, cfg["scripts.traditional"]),
        }
        if spec.kind == "home":
            ctx["entries"] = [self.entry(p, lang, var, page_url) for p in site.policies
                              if lang in p.shown.langs]
        elif spec.kind == "notfound":
            pass
        else:
            policy = site.policy(spec.slug)
            version = policy.version(spec.version) if spec.version else policy.shown
            doc = self.view(version, lang)
            previous = policy.previous(version)
            upcoming = [v for v in policy.versions if v.state == UPCOMING and v is not version]
            ctx.update({
                "policy": policy, "version": version, "doc": doc, "previous": previous,
                "current_version": policy.shown, "upcoming": upcoming[0] if upcoming else None,
                "upcoming_url": any_url("version", policy.slug, upcoming[0].version) if upcoming else None,
                "current_url": any_url("policy", policy.slug),
                "permalink": page_url("version", var, policy.slug, version.version),
                "history_url": any_url("history", policy.slug),
                "changes_url": page_url("changes", var, policy.slug, version.version),
                "description": doc.summary or doc.title,
            })
            if spec.kind in ("policy", "version"):
                ctx.update({
                    "body": _POLICY_HREF.sub(lambda m: 'href="' + html.escape(url(
                        (any_url("policy", m.group(1)) or "") + (m.group(2) or ""))) + '"', doc.html),
                    "is_permalink": spec.kind == "version",
                    "has_key_clauses": 'class="key-clause"' in doc.html,
                })
            elif spec.kind == "history":
                ctx["rows"] = [self.history_row(policy, v, lang, any_url) for v in reversed(policy.versions)]
            elif spec.kind == "changes":
                old_doc = self.view(previous, lang)
                ctx.update({"old_doc": old_doc, "old_url": any_url("version", policy.slug, previous.version),
                            "new_url": ctx["permalink"],
                            "diff": self.diff(version, previous, lang)})
        return ctx

    def site_title(self, lang: str) -> str:
        cfg = self.cfg
        if lang == "en":
            return cfg["site.title_en"] or cfg["site.title"]
        return self.converter.convert_text(cfg["site.title"], lang if lang != self.default else None)

    def history_row(self, policy: Policy, v: Version, lang: str, any_url) -> dict:
        has_lang = lang in v.langs
        doc = self.meta(v, lang if has_lang else self.default)
        prev = policy.previous(v)
        return {"version": v, "doc": doc, "url": any_url("version", policy.slug, v.version),
                "lang": None if has_lang else self.default, "previous": prev,
                "lang_name": self.strings[self.default]["lang_name"],
                "changes_url": any_url("changes", policy.slug, v.version) if prev else None}

    def diff(self, version: Version, previous: Version, lang: str) -> dict:
        """The changes page's content: sections matched, differences marked up."""
        new, old = self.view(version, lang), self.view(previous, lang)
        key = self.store.key("diff", _digest(old.html), _digest(new.html), lang, repr(sorted(self.strings[lang].items())))
        found = self.store.get(key)
        if found is not None:
            return found
        from . import changes as diffing                 # imported when first needed: most builds compare nothing
        t = self.strings[lang]
        labels = diffing.Labels(t["ins_start"], t["ins_end"], t["del_start"], t["del_end"])
        cs = diffing.diff_sections(old.html, new.html, t["footnotes_title"])

        def title(sec):
            return sec.title if sec and sec.title else t["preamble"]

        sections = []
        for sc in cs.changed:
            blocks = []
            for b in sc.blocks:
                if b.op == "equal":
                    continue
                if b.op == "modify":
                    body = diffing.inline_html(b.old, b.new, labels)
                elif b.op in ("insert", "delete"):
                    body = diffing.whole_html(b.op, b.new or b.old, labels)
                else:
                    body = html.escape(b.new or b.old)
                other = b.other and {"number": b.other.number, "title": title(b.other.new or b.other.old)}
                blocks.append({"op": b.op, "html": body, "other": other})
            title_html = diffing.inline_html(sc.old.title, sc.new.title, labels) if sc.title_changed else \
                html.escape(title(sc.new or sc.old))
            sections.append({
                "number": sc.number, "op": sc.op, "title": title(sc.new or sc.old), "title_html": title_html,
                "title_changed": sc.title_changed, "blocks": blocks, "unchanged": sc.counts["equal"],
                "old_id": sc.old.id if sc.old else None, "new_id": sc.new.id if sc.new else None})
        counts = cs.counts
        result = {"sections": sections, "counts": counts, "changed": len(sections)}
        self.store.put(key, result)
        return result

    def entry(self, policy: Policy, lang: str, var: Variant, page_url) -> dict:
        v = policy.shown
        doc = self.meta(v, lang)
        upcoming = next((u for u in policy.versions if u.state == UPCOMING and u is not v), None)
        return {"policy": policy, "version": v, "doc": doc, "url": page_url("policy", var, policy.slug),
                "history_url": page_url("history", var, policy.slug) if len(policy.versions) > 1 else None,
                "upcoming": upcoming}


def page_url_of(plan_index: dict):
    def page_url(kind, variant, slug=None, version=None):
        found = plan_index.get(page_key(kind, variant, slug, version))
        return found.url if found else None
    return page_url


def speech_lang(lang: str, traditional: str) -> str:
    """The BCP 47 tag for read-aloud voices: a region, since speech engines choose voices by it."""
    if lang == "zh-Hant":
        return "zh-HK" if traditional.startswith("s2hk") else "zh-TW"
    return {"zh-Hans": "zh-CN"}.get(lang, lang)


def page_key(kind: str, variant: Variant, slug: str | None, version: str | None) -> tuple:
    """Index key of a planned page: only version pages are told apart by version."""
    return kind, variant, slug, version if kind in ("version", "changes") else None



_ID = re.compile(r' id="([^"]+)"')
_POLICY_HREF = re.compile(r'href="policy:([a-z0-9-]+)(#[A-Za-z0-9_:.-]+)?"')


def _convert_toc(toc, conv: Converter, target):
    if target is None:
        return toc
    return [dict(t, name=conv.convert_html(t["name"], target), children=_convert_toc(t["children"], conv, target))
            for t in toc]


def xml_escape(text: str) -> str:
    """(issue 18) sitemap.xml text: escaped, and no character XML forbids (see feeds.xml_chars)."""
    from .feeds import xml_chars
    return html.escape(xml_chars(text))


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


def render_one(renderer: Renderer, spec: PageSpec, plan_index: dict) -> Page | None:
    """One page, or None after reporting a template's mistake (file and line) to the collector."""
    out = renderer.out
    try:
        return renderer.render(spec, plan_index)
    except jinja2.TemplateNotFound as e:
        out.error(renderer.template_dirs[-1] if renderer.template_dirs else "templates", None, None,
                  f"template '{e.name}' not found",
                  f"check the name; the default theme's templates are in {THEME_TEMPLATES}")
    except jinja2.TemplateSyntaxError as e:
        out.error(e.filename or e.name or "templates", e.lineno, None, f"template error: {e.message}",
                  "check the Jinja tags on that line")
    except Exception as e:                         # noqa: BLE001 - a template's mistake, not ours
        where = _template_line(e)
        if where[0] is None:
            raise
        out.error(where[0], where[1], None, f"template error: {type(e).__name__}: {e}",
                  "check the variable, filter or UI string used on that line")
    return None


_OUT_PATH, _SLUG = operator.itemgetter(PageSpec._fields.index("out_path")), operator.itemgetter(PageSpec._fields.index("slug"))


def fingerprints(site: Site, plan: list[PageSpec], global_fp: str) -> dict[str, str]:
    """What every page depends on, as one hash per output path.

    A policy's pages depend on its own files, on the list of policies with their
    versions, states and languages (links between policies), and on `global_fp`
    (engine, config, templates, strings, phrase tables, build date). The home page,
    404 page, sitemap, feeds and index depend on the listing data of every version
    (titles, issuers, summaries, dates, states), not on the bodies; so editing the
    text of one policy re-renders that policy's pages only.
    """
    # (strings joined, not repr() of nested tuples: this runs over every policy on every build)
    index, listing, policy_docs = [], [], {}
    for p in site.policies:
        versions, digests = [], []
        for v in p.versions:
            docs = v.docs
            versions.append(f"{v.version}\x1f{v.state}\x1f{','.join(v.langs)}")
            for lang in sorted(docs):
                src = docs[lang]
                listing.append(f"{p.slug}\x1f{v.version}\x1f{v.state}\x1f{lang}\x1f{src.meta_digest}")
                digests.append(src.digest)
        index.append(f"{p.slug}\x1e{','.join(p.shown.langs)}\x1e" + "\x1e".join(versions))
        digests.sort()
        policy_docs[p.slug] = "".join(digests)
    index_fp = _digest("\n".join(sorted(index)))
    listing_fp = _digest(global_fp + "\n".join(listing))
    policy_fps = {slug: _digest(global_fp + index_fp + docs) for slug, docs in policy_docs.items()}
    policy_fps[None] = listing_fp
    # out_path -> its policy's fingerprint, iterated in C (PageSpec is a tuple): 16 pages a policy
    fps = dict(zip(map(_OUT_PATH, plan), map(policy_fps.__getitem__, map(_SLUG, plan))))
    for path in site_files(site, plan):
        fps[path] = listing_fp
    return fps


def site_files(site: Site, plan: list[PageSpec]) -> list[str]:
    """The site-wide files besides pages: sitemap, robots, feeds, index."""
    cfg = site.config
    files = ["robots.txt", "policies.json"]
    if cfg["site.base_url"]:
        files.append("sitemap.xml")
        homes = {p.variant.lang for p in itertools.takewhile(lambda p: p.kind == "home", plan)}   # planned first
        files += [feed_path(lang, cfg["scripts.default"]) for lang in LANG_ORDER if lang in homes]
    return files


def render_site_files(renderer: Renderer, plan: list[PageSpec], plan_index: dict) -> list[Page]:
    from . import feeds                                  # imported when first needed, as the feeds are
    site = renderer.site
    pages = [robots(site)]
    if (sm := sitemap(site, plan)) is not None:
        pages.append(sm)
    langs = [lang for lang in LANG_ORDER if ("home", Variant(lang), None, None) in plan_index]
    if site.config["site.base_url"]:
        for lang in langs:
            path = feed_path(lang, renderer.default)
            data = feeds.atom_feed(renderer, lang, page_url_of(plan_index), path)
            if data is not None:
                pages.append(Page(path, data))
    pages.append(Page("policies.json", feeds.policies_json(renderer, page_url_of(plan_index), langs)))
    return pages


def plan_index_of(plan: list[PageSpec]) -> dict:
    """Planned pages by page_key (written out here: this runs once per page of the site)."""
    return {(p.kind, p.variant, p.slug, p.version if p.kind in ("version", "changes") else None): p for p in plan}


def render_site(site: Site, plan: list[PageSpec], out: Collector, store: DocStore | None = None) -> list[Page]:
    """Every page and file of the site, in memory (for tests and small sites; builds stream)."""
    renderer = Renderer(site, out, store)
    renderer.check_templates()
    out.raise_if_errors()
    renderer.check_links()
    renderer.report_removed_html()
    plan_index = plan_index_of(plan)
    pages = []
    for spec in plan:
        page = render_one(renderer, spec, plan_index)
        if page is None:
            break
        pages.append(page)
    return pages + render_site_files(renderer, plan, plan_index)


def _line_at(src, offset: int) -> int | None:
    """(issue 18) The line of an offset in a source's body (None for -1: not found)."""
    return src.body_line + src.body[:offset].count("\n") if offset >= 0 else None


def _line_of(src, href: str) -> int | None:
    """The line of a link in its source (for a message only: the text is read back for it)."""
    idx = src.body.find(href)
    return src.body_line + src.body[:idx].count("\n") if idx >= 0 else None


def _flat_toc(toc):
    for t in toc:
        yield t
        yield from _flat_toc(t["children"])


def precheck(site: Site, sources, known: set[str], out: Collector) -> None:
    """The render stage's checks that need no page rendered (templates, UI strings, phrase tables,
    policy links), for a build that an earlier stage already stopped, so that one run lists every
    problem. Best effort: the problems already found are what matter."""
    try:
        renderer = Renderer(site, out)
        renderer.check_templates()
        renderer.check_links(sources, known)
    except Exception:                                   # noqa: BLE001 - never hide the errors found before
        pass


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
