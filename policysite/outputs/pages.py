"""HTML pages: one per planned page (plan.py), rendered with the page kind's template.

The context every template gets is built here, one builder per page kind (`CONTEXTS`); the
variant's locale and mode decide the strings, the script, the switches and the alternates.
"""
from __future__ import annotations

import datetime as dt
import html
import re

import jinja2

from ..model import UPCOMING, Policy, Version
from ..plan import KINDS, PageSpec
from ..render import _template_line, relative
from ..variants import EN
from . import Artifact, Context, LISTING, policy as policy_dep, search

_POLICY_HREF = re.compile(r'href="policy:([a-z0-9-]+)(#[A-Za-z0-9_:.-]+)?"')


class Pages:
    name = "pages"
    parallel = True          # a policy's pages are rendered together, in a worker process

    def specs(self, ctx: Context):
        return ctx.plan

    def depends(self, spec: PageSpec) -> tuple:
        # A policy's pages: its own files, and the list of policies (links between them). The
        # home and 404 pages: the listing, not the bodies, so editing the text of one policy
        # re-renders that policy's pages only.
        return policy_dep(spec.slug) if spec.slug is not None else LISTING

    def render(self, spec: PageSpec, ctx: Context) -> Artifact | None:
        """One page, or None after reporting a template's mistake (file and line)."""
        r = ctx.content
        out = r.out
        try:
            values = context(spec, ctx)
            text = r.env.get_template(KINDS[spec.kind].template).render(values)
            return Artifact(spec.out_path, "text/html", text.encode("utf-8"))
        except jinja2.TemplateNotFound as e:
            from ..config import THEME_TEMPLATES
            out.error(r.template_dirs[0] if r.template_dirs else "templates", None, None,
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


PAGES = Pages()


def context(spec: PageSpec, ctx: Context) -> dict:
    """The template context of one page: what every page has, then its kind's own."""
    r, site = ctx.content, ctx.site
    cfg, var, variants = r.cfg, spec.variant, site.variants
    locale, mode = var.locale, var.mode
    lang = locale.tag
    base_url = cfg["site.base_url"]
    notfound = spec.kind == "notfound"
    root_path = re.sub(r"^https?://[^/]+", "", base_url) or "/"
    page_url = ctx.page_url
    fallback = variants.standard(variants.default).with_mode(mode)     # the default locale, same mode

    def url(target: str) -> str:
        if notfound:
            return root_path + target
        return relative(spec.url, target)

    def any_url(kind, slug=None, version=None) -> str | None:
        """This variant's page, or the default locale's when this one lacks it (or the first
        locale's that has it: a policy written only in English)."""
        found = page_url(kind, var, slug, version) or page_url(kind, fallback, slug, version)
        if found is None:
            found = next((u for loc in variants if (u := page_url(kind, var.with_locale(loc), slug, version))), None)
        return found

    # The 404 page has no counterparts of its own: its switches offer the home pages instead.
    alt_kind = "home" if notfound else spec.kind
    alternates = []
    for other in variants:
        u = page_url(alt_kind, var.with_locale(other), spec.slug, spec.version)
        if u is not None:
            t = r.strings[other.strings]
            alternates.append({"lang": other.tag, "url": u, "name": t["lang_name"], "short": t["lang_short"],
                               "current": other == locale})
    modes = {m.name: page_url(alt_kind, var.with_mode(m), spec.slug, spec.version) for m in variants.modes}
    values = {
        "page": spec, "kind": spec.kind, "lang": lang, "elder": mode.large, "mode": mode.name,
        "t": r.strings[locale.strings], "url": url, "site_title": r.site_title(locale),
        "site_description": r.convert_text(cfg["site.description"], locale) if locale.script != EN else "",
        "footer": r.convert_text(cfg["site.footer"], locale),
        "alternates": alternates, "standard_url": modes.get("standard"), "elder_url": modes.get("elder"),
        "home_url": page_url("home", var) or page_url("home", fallback),
        "canonical": base_url + spec.url if base_url and not notfound else None,
        "hreflang": [{"lang": a["lang"], "href": base_url + a["url"]} for a in alternates]
        if base_url and not notfound else [],
        # no x-default where the default locale has no such page (a policy written only in English)
        "x_default": base_url + x_page
        if base_url and (x_page := page_url(spec.kind, fallback, spec.slug,
                                            spec.version)) is not None else None,
        "site_url": base_url,                  # printed pages carry their permanent address
        "today": site.today, "static": url("static/"),
        "feed": url(locale.prefix + "feed.xml") if base_url else None,
        "speech_lang": locale.speech,
        # the search page of this variant, for the header's link (issue 17)
        "search_url": page_url("search", var) or page_url("search", fallback),
    }
    CONTEXTS[spec.kind](values, spec, ctx, any_url)
    return values


def _home(values: dict, spec: PageSpec, ctx: Context, any_url) -> None:
    """The policies by issuer, then title (in the default locale's text on every Chinese home
    page, so they list in the same order); a Chinese home page also lists a policy written only in
    English (the entry says so and links to it), the English one only what is in English."""
    locale, default = spec.variant.locale, ctx.site.variants.default
    listed = [p for p in ctx.site.policies if locale in p.shown.locales
              or (locale.script != EN and not any(loc.converts for loc in p.shown.locales))]
    entries = [_entry(p, spec, ctx) for p in listed]

    def order(e):
        by = e["doc"] if locale.script == EN or e["lang"] else ctx.content.meta(e["version"], default)
        return by.issuer, by.title, e["policy"].slug
    values["entries"] = sorted(entries, key=order)
    values["recent"] = max(entries, key=lambda e: (e["changed"], e["policy"].slug), default=None)


def _entry(policy: Policy, spec: PageSpec, ctx: Context) -> dict:
    v, var = policy.shown, spec.variant
    # a policy not published in this page's locale (written only in English) is listed in its
    # own, linked to its page there ("lang" says which)
    own = var.locale if var.locale in v.locales else v.locales[0]
    if own != var.locale:
        var = var.with_locale(own)
    upcoming = next((u for u in policy.versions if u.state == UPCOMING and u is not v), None)
    newest = policy.latest              # when the policy last changed: its newest version's date
    changed = newest.meta.get("published") or newest.effective
    changed = changed.date() if isinstance(changed, dt.datetime) else changed
    return {"policy": policy, "version": v, "doc": ctx.content.meta(v, own),
            "url": ctx.page_url("policy", var, policy.slug),
            "history_url": ctx.page_url("history", var, policy.slug) if len(policy.versions) > 1 else None,
            "upcoming": upcoming, "lang": None if own == spec.variant.locale else own.tag, "changed": changed,
            "changed_version": newest}


def _notfound(values, spec, ctx, any_url) -> None:
    pass


def _policy_page(values: dict, spec: PageSpec, ctx: Context, any_url) -> dict:
    """What every page of one policy has: the version shown, its document, the links around it."""
    r, var = ctx.content, spec.variant
    policy = ctx.site.policy(spec.slug)
    version = policy.version(spec.version) if spec.version else policy.shown
    doc = r.view(version, var.locale)
    previous = policy.previous(version)
    upcoming = [v for v in policy.versions if v.state == UPCOMING and v is not version]
    values.update({
        "policy": policy, "version": version, "doc": doc, "previous": previous,
        "current_version": policy.shown, "upcoming": upcoming[0] if upcoming else None,
        "upcoming_url": any_url("version", policy.slug, upcoming[0].version) if upcoming else None,
        "current_url": any_url("policy", policy.slug),
        "permalink": ctx.page_url("version", var, policy.slug, version.version),
        "history_url": any_url("history", policy.slug),
        "changes_url": ctx.page_url("changes", var, policy.slug, version.version),
        "description": doc.summary or doc.title,
    })
    return values


def _policy(values: dict, spec: PageSpec, ctx: Context, any_url) -> None:
    _policy_page(values, spec, ctx, any_url)
    url, doc = values["url"], values["doc"]
    body = _POLICY_HREF.sub(lambda m: 'href="' + html.escape(url(
        (any_url("policy", m.group(1)) or "") + (m.group(2) or ""))) + '"', doc.html)
    # every key clause starts with a visually hidden label (GOV.UK's warning-text pattern), so
    # screen readers and read-aloud say it is one; only here: the changes page compares without it
    body = body.replace('<strong class="key-clause">', '<strong class="key-clause"><span class="visually-hidden">'
                        + html.escape(values["t"]["key_clause_sr"]) + '</span>')
    values.update({
        "body": body,
        "is_permalink": spec.kind == "version",
        "has_key_clauses": 'class="key-clause"' in doc.html,
    })


def _history(values: dict, spec: PageSpec, ctx: Context, any_url) -> None:
    _policy_page(values, spec, ctx, any_url)
    policy = values["policy"]
    values["rows"] = [_history_row(policy, v, spec, ctx, any_url) for v in reversed(policy.versions)]


def _history_row(policy: Policy, v: Version, spec: PageSpec, ctx: Context, any_url) -> dict:
    r, locale = ctx.content, spec.variant.locale
    default = ctx.site.variants.default
    has_locale = locale in v.locales
    prev = policy.previous(v)
    return {"version": v, "doc": r.meta(v, locale if has_locale else default),
            "url": any_url("version", policy.slug, v.version),
            "lang": None if has_locale else default.tag, "previous": prev,
            "lang_name": r.strings[default.strings]["lang_name"],
            "changes_url": any_url("changes", policy.slug, v.version) if prev else None}


def _changes(values: dict, spec: PageSpec, ctx: Context, any_url) -> None:
    _policy_page(values, spec, ctx, any_url)
    r, locale = ctx.content, spec.variant.locale
    previous, version = values["previous"], values["version"]
    values.update({"old_doc": r.view(previous, locale),
                   "old_url": any_url("version", spec.slug, previous.version),
                   "new_url": values["permalink"],
                   "diff": r.diff(version, previous, locale)})


def _search(values: dict, spec: PageSpec, ctx: Context, any_url) -> None:
    """The search page: the policies list (what it shows without JavaScript, and before a query)
    and where the index is (outputs/search.py)."""
    _home(values, spec, ctx, any_url)
    lang = search.index_lang(spec.variant.locale)
    primary, *others = search.shards_for(ctx, lang)
    values["pagefind_url"] = values["url"](primary)
    values["pagefind_merge"] = [values["url"](folder) for folder in others]
    # issue 19: the bundles of recent edits are listed in a file of their own (search.RECENT_LIST)
    sharded = len(search.shards(ctx)) > 1
    values["pagefind_recent"] = values["url"](search.RECENT_LIST) if sharded else None
    values["pagefind_tag"] = lang


CONTEXTS = {"home": _home, "notfound": _notfound, "search": _search, "policy": _policy, "version": _policy,
            "history": _history, "changes": _changes}
