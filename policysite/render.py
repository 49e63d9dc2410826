"""Content: what the outputs are made from, per document and locale, cached by content hash.

`Renderer` turns the site model's documents into views (`DocView`: title, issuer, body HTML,
contents, in one locale): each document's Markdown is rendered once (markup.py, sanitized),
the other script derived from that HTML with OpenCC (script.py), the changes between two
versions compared once (changes.py). It also holds the Jinja environment (the site's
templates over the default theme) and the UI strings, and runs the checks that need the
documents (policy: links, removed HTML, templates). The outputs (outputs/) read it; it knows
nothing of pages, paths or the output folder.
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

from .config import THEME_TEMPLATES
from .errors import Collector
from .load import read_body
from .markup import POLICY_LINK, MarkdownError, RenderedDoc, render_markdown
from .model import Site, Version
from .plan import KINDS
from .sanitize import RESERVED_IDS, Allowlist
from .script import Converter, load_phrases, standard_strings
from .variants import EN, HANT, SCRIPTS, Locale

STRINGS_DIR = "strings"


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
        rel = _relpath(target.rstrip("/") or ".", start)
        rel = "./" if rel == "." else rel + "/"
    else:
        rel = _relpath(target, start)
    return rel + ("#" + frag if frag else "")


def _relpath(target: str, start: str) -> str:
    """posixpath.relpath for two site-relative paths, without its abspath (a getcwd and a
    normpath of each): a page links to some ten pages that no other page links to from the
    same place, so most calls miss the cache (150 policies of bench/corpus.py, 2,519 pages:
    25,282 misses). This and auto_reload off (below): the pages' templates took 1.45–1.54 s
    instead of 1.82–2.05 s, the documents already rendered. Paths that need normalising take
    posixpath.relpath."""
    t = [] if target == "." else target.split("/")
    s = [] if start == "." else start.split("/")
    if target.startswith("/") or start.startswith("/") or any(p in _ODD for p in t) or any(p in _ODD for p in s):
        return posixpath.relpath(target, start)
    n = 0
    for a, b in zip(t, s):
        if a != b:
            break
        n += 1
    return "/".join([".."] * (len(s) - n) + t[n:]) or "."


_ODD = frozenset(("", ".", ".."))


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


def load_strings(dirs: list[Path], locales: list[Locale], out: Collector) -> dict[str, dict[str, str]]:
    """The UI strings of every locale, by table name: each folder's `strings/<name>.toml` over
    the next (the site's over the default theme's), so a site's table needs only the keys it
    changes. A table the theme does not have (a locale the site adds, such as zh-HK) starts
    from the table of its script."""
    names = list(dict.fromkeys([*(loc.script for loc in locales), *(loc.strings for loc in locales)]))
    base = {loc.strings: loc.script for loc in locales}
    strings: dict[str, dict[str, str]] = {}
    origin: dict[str, Path] = {}                  # key -> the folder whose table brought it
    for name in names:
        table: dict[str, str] = dict(strings.get(base.get(name, name), {})) if base.get(name, name) != name else {}
        for d in reversed(dirs):                  # overrides last, so they win
            path = d / STRINGS_DIR / f"{name}.toml"
            if path.exists():
                try:
                    loaded = tomllib.loads(path.read_text("utf-8-sig"))
                    table.update(loaded)
                    for key in loaded:
                        origin.setdefault(key, d)
                except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:    # (+ not UTF-8)
                    m = re.search(r"line (\d+)", str(e))
                    out.error(path, int(m.group(1)) if m else None, None, f"strings table is not valid TOML: {e}",
                              'write entries as  key = "text"')
        if not table:
            out.error(dirs[-1] / STRINGS_DIR / f"{name}.toml", None, None, f"no UI strings for {name}",
                      f"add templates/{STRINGS_DIR}/{name}.toml (it may hold only the keys that differ from "
                      f"{base.get(name, name)})")
        strings[name] = table
    every = set().union(*(t.keys() for t in strings.values()))
    for name, table in strings.items():
        for key in sorted(every - table.keys()):
            # the file to add it to: the one in the folder that brought the key (the site's, not the theme's)
            out.error(origin.get(key, dirs[-1]) / STRINGS_DIR / f"{name}.toml", None, key,
                      f"UI string '{key}' is missing for {name}",
                      f"add  {key} = \"…\"  to this file (the other languages have it; a site's strings table "
                      f"needs only the keys it adds or changes)")
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
    def __init__(self, site: Site, out: Collector, store: DocStore | None = None, links: dict | None = None,
                 metas: dict | None = None):
        cfg = site.config
        self.site, self.cfg, self.out = site, cfg, out
        self.default = cfg["scripts.default"]
        # the site's overrides, then the site's templates, then the default theme (the first found wins)
        dirs = [cfg.path_of("theme.overrides_dir"), cfg.path_of("theme.templates_dir"), THEME_TEMPLATES]
        self.template_dirs = [d for d in dirs if d.is_dir()]
        for d in self.template_dirs:
            if d != THEME_TEMPLATES:
                _check_links_inside(d, cfg.root, out)
        for key in ("theme.templates_dir", "theme.overrides_dir"):
            if key in cfg.given and not cfg.path_of(key).is_dir():
                out.error(cfg.path, cfg.lines.get(key), key, f"templates folder not found: {cfg.path_of(key)}",
                          f"create the folder, or remove the [theme] {key.split('.')[1]} line to use the default theme")
        self.variants = site.variants
        dirs_found = self.template_dirs or dirs
        tables = load_strings(dirs_found, list(self.variants), out)
        # each Traditional locale's standard has its own interface forms (strings/zh-Hant.s2hk.toml:
        # 閲 where Hong Kong's body text writes 閲), so the interface and the body agree
        for loc in self.variants:
            if loc.script == HANT and (loc.strings != HANT or loc.standard == cfg["scripts.traditional"]):
                tables[loc.strings].update(standard_strings(dirs_found, loc.standard, out))
        self.strings = {k: Strings(v) for k, v in tables.items()}
        phrases = load_phrases(cfg.path_of("scripts.phrases"), out)
        quotes = cfg["scripts.quotes"]                               # the standard's quotation marks
        self.converter = Converter(cfg["scripts.traditional"], phrases, quotes=quotes)   # the site's own standard
        # one converter per standard a locale uses (Taiwan and Hong Kong side by side, say)
        self.converters = {cfg["scripts.traditional"]: self.converter}
        for loc in self.variants:
            if loc.standard and loc.standard not in self.converters:
                self.converters[loc.standard] = Converter(loc.standard, phrases, quotes=quotes)
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
            keep_trailing_newline=True, bytecode_cache=bytecode,
            # one Renderer per build: a template is read once a build, not checked against its
            # file at each of its uses (2,519 pages: 25,065 get_template calls, each a stat)
            auto_reload=False)
        self.env.filters["date"] = format_date
        # what conversion depends on: the profile and both phrase tables
        self.conv_fp = _digest("|".join(c.fingerprint() for _, c in sorted(self.converters.items())))
        self.links = links if links is not None else {}      # facts of each document, by content
        self.used_facts: set[str] = set()
        self.metas = metas if metas is not None else {}       # view key -> metadata-only view

    # Markdown, once per source document (and once per content, across builds)
    def markdown(self, src) -> RenderedDoc:
        backlink = self.strings[src.lang].get("footnote_back", "%d")      # (a source's lang is a script or en)
        key = self.store.key("md", src.digest, backlink, self.allow_fp)
        doc = self.store.get(key)
        if doc is None:
            try:
                doc = render_markdown(read_body(src), backlink, self.allowlist)
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

    def meta(self, version: Version, locale: Locale) -> DocView:
        """Title, issuer, summary, contact and tags in a locale, without the body
        (for listings, feeds and the index; cheap, and kept between builds)."""
        key = self.store.key("meta", tuple(sorted(s.digest for s in version.docs.values())), locale.tag,
                             locale.standard, self.conv_fp)
        found = self.metas.get(key)
        if found is None:
            found = self.metas[key] = self._view(version, locale, body=False)
        elif type(found) is tuple:                      # as the build state keeps it (see State)
            found = self.metas[key] = DocView._make(found)
        return found

    def view(self, version: Version, locale: Locale) -> DocView:
        key = self.store.key("view", tuple(sorted(s.digest for s in version.docs.values())), locale.tag,
                             locale.standard, self.strings[locale.strings].get("footnote_back", ""), self.conv_fp)
        found = self.store.get(key)
        if found is None:
            found = self._view(version, locale, body=True)
            self.store.put(key, found)
        return found

    def _view(self, version: Version, locale: Locale, body: bool) -> DocView:
        docs = version.docs
        if locale.script in docs:
            src, target = docs[locale.script], None
        else:
            src = next((docs[s] for s in SCRIPTS if s in docs), version.main)
            target = locale.script if locale.converts and src.lang in SCRIPTS else None
        doc = self.markdown(src) if body else RenderedDoc("", [])
        meta = dict(version.meta)
        if src is not version.main:
            meta.update({k: v for k, v in src.meta.items()})
        conv = self.converters[locale.standard] if target else self.converter
        contact = {k: (v if k in ("email", "phone", "fax") else conv.convert_text(v, target))
                   for k, v in meta.get("contact", {}).items()}
        view = DocView(
            lang=locale.tag,
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

    def convert_text(self, text: str | None, locale: Locale) -> str | None:
        """Text written in the site's default script (the site title, description, footer), in a locale."""
        target = locale.script if locale.converts and locale.script != self.default else None
        return (self.converters[locale.standard] if target else self.converter).convert_text(text, target)

    def site_title(self, locale: Locale) -> str:
        if locale.script == EN:
            return self.cfg["site.title_en"] or self.cfg["site.title"]
        return self.convert_text(self.cfg["site.title"], locale)

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
        todo = sorted({k.template for k in KINDS.values()})
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

    def diff(self, version: Version, previous: Version, locale: Locale) -> dict:
        """The changes page's content: sections matched, differences marked up (changes.page_data)."""
        new, old = self.view(version, locale), self.view(previous, locale)
        lang = locale.tag
        key = self.store.key("diff", _digest(old.html), _digest(new.html), lang,
                             repr(sorted(self.strings[locale.strings].items())))
        found = self.store.get(key)
        if found is not None:
            return found
        from . import changes as diffing                 # imported when first needed: most builds compare nothing
        # the page's content (sections grouped under their chapter, tables compared as tables)
        # is built in changes.page_data, beside the comparison itself
        result = diffing.page_data(old.html, new.html, self.strings[locale.strings])
        self.store.put(key, result)
        return result



_ID = re.compile(r' id="([^"]+)"')
_POLICY_HREF = re.compile(r'href="policy:([a-z0-9-]+)(#[A-Za-z0-9_:.-]+)?"')


def _convert_toc(toc, conv: Converter, target):
    if target is None:
        return toc
    return [dict(t, name=conv.convert_html(t["name"], target), children=_convert_toc(t["children"], conv, target))
            for t in toc]


def _check_links_inside(folder: Path, site_root: Path, out: Collector) -> None:
    """Template overrides follow the rule policies and static files follow: a symbolic link is
    followed only when it leads inside the site (a template could otherwise include any file of
    the machine into every page)."""
    for path in sorted(folder.rglob("*")):
        try:
            if path.resolve(strict=True).is_relative_to(site_root):
                continue
            out.error(path, None, None, "symbolic link points outside the site; not followed",
                      "copy the template into the site instead of linking to it")
        except (OSError, RuntimeError):
            out.error(path, None, None, "symbolic link leads to nothing (its target is gone, or it links to itself)",
                      "delete the link, or copy the file it meant into the site")


def _line_at(src, offset: int) -> int | None:
    """The line of an offset in a source's body (None for -1: not found)."""
    return src.body_line + read_body(src)[:offset].count("\n") if offset >= 0 else None


def _line_of(src, href: str) -> int | None:
    """The line of a link in its source (for a message only: the text is read back for it)."""
    body = read_body(src)
    idx = body.find(href)
    return src.body_line + body[:idx].count("\n") if idx >= 0 else None


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
