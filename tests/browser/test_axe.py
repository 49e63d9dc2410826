"""axe-core on every page of the sample site: standard and 长者版, in every script and language.

Standard pages: every axe rule tagged WCAG 2.0/2.1/2.2 A and AA, plus axe's structural
best-practice rules for what the issue names (landmarks, one h1, heading order, skip link).
长者版 pages: the same plus `color-contrast-enhanced` (WCAG 1.4.6 AAA, 7:1), also with the
toolbar's high-contrast mode on.
"""
from __future__ import annotations

import pytest

from .conftest import one_per_kind, site_pages
from .helpers import contrast, luminance, parse_rgb

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
STRUCTURE = ["landmark-one-main", "landmark-banner-is-top-level", "landmark-contentinfo-is-top-level",
             "landmark-main-is-top-level", "landmark-no-duplicate-banner", "landmark-no-duplicate-contentinfo",
             "landmark-no-duplicate-main", "landmark-unique", "region", "page-has-heading-one",
             "heading-order", "empty-heading", "skip-link"]


def run_axe(page, rules: list[str] | None = None, *, elder: bool = False) -> list[dict]:
    """Violations of the chosen rules (default: WCAG 2.2 AA + structure, + AAA contrast on 长者版)."""
    axe = pytest.importorskip("axe_playwright_python.base", reason="pip install -r requirements-dev.txt")
    page.evaluate(axe.AXE_SCRIPT)                      # axe-core, as packaged for Python
    if rules is None:
        rules = page.evaluate("tags => axe.getRules(tags).map(r => r.ruleId)", WCAG_AA_TAGS) + STRUCTURE
        if elder:
            rules.append("color-contrast-enhanced")
    results = page.evaluate(
        "rules => axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']})", rules)
    assert results["testEngine"]["name"] == "axe-core"
    return results["violations"]


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  {v['helpUrl']}")
        for node in v["nodes"][:10]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary[:300]}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def open_site_page(page, goto, sp):
    if sp.kind == "404":
        goto(page, "no-such-page/", status=404)          # what a reader of a broken link sees
    else:
        goto(page, sp.url)


@pytest.mark.parametrize("sp", site_pages(), ids=lambda p: p.id)
def test_axe_every_page(sp, page, goto):
    open_site_page(page, goto, sp)
    violations = run_axe(page, elder=sp.elder)
    assert not violations, f"/{sp.url}: axe found {len(violations)} kinds of violation\n" + report(violations)
    check_headings_and_landmarks(page, sp)
    errors = [e for e in page.errors if "no-such-page" not in e]
    assert not errors, f"/{sp.url}: errors in the browser console (CSP, scripts, missing files): {errors}"


@pytest.mark.parametrize("sp", [p for p in one_per_kind(elder=True) if p.prefix == ""], ids=lambda p: p.id)
def test_axe_elder_high_contrast(sp, page, goto):
    goto(page, sp.url)
    page.click("[data-more]")               # high contrast is in the toolbar's second row
    page.click("[data-contrast]")
    assert page.evaluate("document.documentElement.classList.contains('contrast')")
    violations = run_axe(page, ["color-contrast", "color-contrast-enhanced", "link-in-text-block"])
    assert not violations, f"/{sp.url} in high contrast: \n" + report(violations)
    bg = parse_rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    fg = parse_rgb(page.evaluate("getComputedStyle(document.body).color"))
    assert luminance(bg) < 0.05 and contrast(fg, bg) >= 15, "high contrast: light text on black"


def check_headings_and_landmarks(page, sp):
    levels = page.evaluate("""() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
        .filter(h => h.getClientRects().length).map(h => Number(h.tagName[1]))""")
    assert levels.count(1) == 1 and levels[0] == 1, f"/{sp.url}: headings {levels}"
    skips = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    assert not skips, f"/{sp.url}: heading levels skip {skips} in {levels}"
    landmarks = page.evaluate("""() => ({
        banner: document.querySelectorAll('body > header').length,
        main: document.querySelectorAll('main').length,
        contentinfo: document.querySelectorAll('body > footer').length,
        nav: [...document.querySelectorAll('nav')].map(n => n.getAttribute('aria-label') || n.getAttribute('aria-labelledby'))})""")
    assert landmarks["banner"] == landmarks["main"] == landmarks["contentinfo"] == 1, landmarks
    assert all(landmarks["nav"]), f"every nav needs a name: {landmarks['nav']}"
