"""Stage 3, plan: every page of the site, in every variant it exists in, and where it is written.

Input: the site model. Output: a list of `PageSpec`s. The page kinds are declared once
(`KINDS`), each with its template and its place in the site's addresses; `url_of` is the one
rule for output paths, and `check_paths` refuses a plan in which two pages would land on one
path (or a page on a folder another page needs), naming the file, line and field at fault.
"""
from __future__ import annotations

from typing import NamedTuple

from .errors import Collector
from .model import Site
from .variants import Variant, Variants


class PageKind(NamedTuple):
    name: str
    template: str
    per_version: bool        # one page per version (else one per policy, or one per site)
    per_policy: bool


HOME = PageKind("home", "home.html", False, False)
POLICY = PageKind("policy", "policy.html", False, True)          # the version in force, at /<slug>/
VERSION = PageKind("version", "policy.html", True, True)         # every version, forever
HISTORY = PageKind("history", "history.html", False, True)
CHANGES = PageKind("changes", "changes.html", True, True)        # what changed from the version before
NOTFOUND = PageKind("notfound", "404.html", False, False)
SEARCH = PageKind("search", "search.html", False, False)          # search/ in every variant (issue 17)
KINDS = {k.name: k for k in (HOME, POLICY, VERSION, HISTORY, CHANGES, NOTFOUND, SEARCH)}


class PageSpec(NamedTuple):       # a named tuple: a large site plans ~16 pages a policy on every build
    kind: str                      # a PageKind's name
    variant: Variant
    url: str                       # site-relative directory URL: "", "privacy/", "zh-hant/privacy/1.0/"
    slug: str | None = None
    version: str | None = None
    out_path: str = ""             # the file written: url + index.html


def url_of(kind: str, variant: Variant, slug: str | None = None, version: str | None = None) -> str:
    """The one rule for page addresses: the variant's prefix, then the policy, version and page."""
    pre = variant.prefix
    if kind == "home" or kind == "notfound":
        return pre
    if kind == "search":
        return f"{pre}search/"
    if kind == "policy":
        return f"{pre}{slug}/"
    if kind == "history":
        return f"{pre}{slug}/history/"
    if kind == "version":
        return f"{pre}{slug}/{version}/"
    return f"{pre}{slug}/{version}/changes/"


def page(kind: str, variant: Variant, slug: str | None = None, version: str | None = None) -> PageSpec:
    url = url_of(kind, variant, slug, version)
    return PageSpec(kind, variant, url, slug, version, url + "index.html" if kind != "notfound" else "404.html")


def page_key(kind: str, variant: Variant, slug: str | None, version: str | None) -> tuple:
    """Index key of a planned page: only per-version pages are told apart by version."""
    return kind, variant, slug, version if kind in ("version", "changes") else None


def plan_pages(site: Site) -> list[PageSpec]:
    """Every page of the site, in every variant it exists in. A pure function of the model.
    The home pages come first, then the search pages. (Written for speed: a large site plans some 16 pages a policy
    on every build; `tuple.__new__` skips the named tuple's Python-level constructor.)"""
    variants: Variants = site.variants
    by_locales: dict[tuple, list[Variant]] = {}

    def of(locales) -> list[Variant]:
        key = tuple(loc.tag for loc in locales)
        found = by_locales.get(key)
        if found is None:
            found = by_locales[key] = variants.of(locales)
        return found

    pages: list[PageSpec] = []
    add = pages.append
    new = tuple.__new__
    home_locales = [loc for loc in variants if loc.always or any(loc in p.shown.locales for p in site.policies)]
    for var in of(home_locales):
        add(page("home", var))
    for var in of(home_locales):                       # a search page wherever there is a home page
        add(page("search", var))
    for p in site.policies:
        slug, shown = p.slug, p.shown
        shown_vars = of(shown.locales)
        for var in shown_vars:
            url = f"{var.prefix}{slug}/"
            add(new(PageSpec, ("policy", var, url, slug, shown.version, url + "index.html")))
        for var in shown_vars:
            url = f"{var.prefix}{slug}/history/"
            add(new(PageSpec, ("history", var, url, slug, None, url + "index.html")))
        prev = None
        for v in p.versions:
            locales = v.locales
            for var in of(locales):
                url = f"{var.prefix}{slug}/{v.version}/"
                add(new(PageSpec, ("version", var, url, slug, v.version, url + "index.html")))
            if prev is not None:
                for var in of([loc for loc in locales if loc in prev]):
                    url = f"{var.prefix}{slug}/{v.version}/changes/"
                    add(new(PageSpec, ("changes", var, url, slug, v.version, url + "index.html")))
            prev = locales
    add(page("notfound", variants.standard(variants.default)))
    return pages


def plan_index_of(plan: list[PageSpec]) -> dict:
    """Planned pages by page_key (written out here: this runs once per page of the site)."""
    return {(p.kind, p.variant, p.slug, p.version if p.kind in ("version", "changes") else None): p for p in plan}


def shape_of(site: Site) -> tuple:
    """Everything `plan_pages` reads: the variants, and each policy's slug, shown version and
    versions with their locales (not their text, dates or titles: an edit of a policy's words
    plans the same pages)."""
    variants = site.variants
    return (variants.locales, variants.modes, variants.default,
            tuple((p.slug, p.shown.version, tuple(p.shown.locales),
                   tuple((v.version, tuple(v.locales)) for v in p.versions)) for p in site.policies))


# The last plan this process made, by its shape: a process that builds again and again (the
# resident builder, the preview server) plans a site whose shape an edit did not change in
# ~2 ms instead of ~30 (1,000 policies, 15,891 pages; measured 2026-12-03: plan_pages 19-24 ms,
# plan_index_of 9-14 ms, shape_of 2-3 ms). The plan and its index are only read after this.
_LAST: list = []


def plan_of(site: Site) -> tuple[list[PageSpec], dict]:
    """The page plan of the site and its index by page_key: the last one made, if the site
    has its shape."""
    shape = shape_of(site)
    if _LAST and _LAST[0] == shape:
        return _LAST[1], _LAST[2]
    pages = plan_pages(site)
    index = plan_index_of(pages)
    _LAST[:] = [shape, pages, index]
    return pages, index


def check_paths(site: Site, made: list[tuple[str, object]], out: Collector) -> None:
    """Every output path belongs to one artifact, and none is a folder another one needs
    (`version: "index.html"` would put a folder where the policy's page is; `version: history`
    would land on the history page). `made` lists each output path with what makes it (a
    PageSpec, or an output's name). Reports the source file, line and field of each clash."""
    owner: dict[str, object] = {}
    clashes: list[tuple[str, object, object]] = []
    for path, maker in made:
        if path in owner:
            clashes.append((path, owner[path], maker))
        else:
            owner[path] = maker
    for path in owner:
        i = path.find("/")
        while i != -1:
            folder = path[:i]
            if folder in owner:
                clashes.append((folder, owner[folder], owner[path]))
                break
            i = path.find("/", i + 1)
    seen = set()
    for path, a, b in sorted(clashes, key=lambda c: c[0]):
        if path not in seen:
            seen.add(path)
            _report(site, a, b, path, out)


def _report(site: Site, a, b, path: str, out: Collector) -> None:
    """Name the source of a clash: a version or slug whose pages land where another page is."""
    for spec in (b, a):
        if not isinstance(spec, PageSpec) or spec.slug is None:
            continue
        policy = site.policy(spec.slug)
        if KINDS[spec.kind].per_version and policy is not None:
            v = policy.version(spec.version)
            if v is not None:
                out.error(v.main.display, v.main.lines.get("version"), "version",
                          f"version '{v.version}' would put its pages at {path}/, where the site has a page of "
                          f"its own ({path})", "choose a version such as  version: \"2.0\"  (letters, digits, "
                          "'.', '-', '_'), not a file name or a page name such as index.html, history or changes")
                return
        if policy is not None:
            src = policy.versions[0].main
            out.error(src.display, src.lines.get("slug"), "slug",
                      f"the pages of policy '{spec.slug}' would land on {path}, which another page of the site uses",
                      "choose another slug (the file or folder name, or  slug:  in the frontmatter)")
            return
    out.error(str(path), None, None, f"two outputs of the site would be written to {path}",
              "rename one of them")
