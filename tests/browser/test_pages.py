"""Standard pages (WCAG 2.2 AA) and what both variants share: keyboard, switches, reflow, text
spacing, reduced motion, print."""
from __future__ import annotations

import pytest

from .conftest import one_per_kind
from .helpers import TARGETS, assert_no_horizontal_scroll, contrast, parse_rgb, tab_stops

ALL_KINDS = one_per_kind()
STANDARD = one_per_kind(elder=False)
PAGES = [p for p in ALL_KINDS if p.kind != "404"]


def test_contrast_maths():
    # Known values: black on white is 21:1, #767676 on white is the AA threshold 4.54:1.
    assert round(contrast((0, 0, 0), (255, 255, 255)), 2) == 21.0
    assert round(contrast(parse_rgb("rgb(118, 118, 118)"), (255, 255, 255)), 2) == 4.54
    assert parse_rgb("rgba(0, 0, 0, 0)")[3] == 0


def open_page(page, goto, sp):
    if sp.kind == "404":
        return goto(page, "no-such-page/", status=404)
    return goto(page, sp.url)


def counterpart(sp) -> str:
    """The URL of the same page in the other variant (standard ↔ 长者版)."""
    rest = sp.url[len(sp.prefix):]
    if sp.elder:
        return sp.prefix + rest[len("elder/"):]
    return sp.prefix + "elder/" + rest


# --- keyboard ------------------------------------------------------------------------

ACTIVE = """() => { const el = document.activeElement; const r = el.getBoundingClientRect();
    return {cls: el.className, id: el.id, href: el.href || null, top: r.top, left: r.left,
            width: r.width, height: r.height}; }"""


@pytest.mark.parametrize("sp", ALL_KINDS, ids=lambda p: p.id)
def test_keyboard_skip_link_first_then_the_switches(sp, page, goto):
    """The skip link is the first Tab stop, shown when focused, and moves focus to main; the script
    switch and the 长者版 switch (or the way back) follow within the header."""
    open_page(page, goto, sp)
    page.keyboard.press("Tab")
    first = page.evaluate(ACTIVE)
    assert first["cls"] == "skip-link" and first["href"].endswith("#main"), f"/{sp.url}: first Tab stop is {first}"
    assert first["top"] >= 0 and first["left"] >= 0 and first["height"] >= 24, f"/{sp.url}: skip link not shown: {first}"
    # next come the header's links in their order (title, script switch, 长者版 switch), then the toolbar
    header = page.evaluate("[...document.querySelectorAll('.site-header a')].map(a => a.href)")
    page.evaluate("""() => { window.__stops = [];
        document.addEventListener('focusin', e => window.__stops.push(e.target.href || null)); }""")
    for _ in range(len(header) + (1 if sp.elder else 0)):
        page.keyboard.press("Tab")
    hrefs = page.evaluate("window.__stops")
    assert hrefs[:len(header)] == header, f"/{sp.url}: Tab order {hrefs}, header links {header}"
    langs = page.locator(".lang-switch a")
    assert langs.count() >= 1
    for i in range(langs.count()):
        assert langs.nth(i).evaluate("a => a.href") in hrefs, f"/{sp.url}: script switch {i} is not a Tab stop"
        box = langs.nth(i).bounding_box()
        need = 60 if sp.elder else 44
        assert box["width"] >= need and box["height"] >= need, f"/{sp.url}: script switch is {box}"
    mode = page.locator(".mode-switch")
    assert mode.evaluate("a => a.href") in hrefs, \
        f"/{sp.url}: the {'way back' if sp.elder else '长者版 switch'} is not a Tab stop"
    box = mode.bounding_box()
    assert box["width"] >= 60 and box["height"] >= 60, f"/{sp.url}: mode switch is {box}"
    if sp.elder:                                          # then the toolbar's buttons (no href)
        assert None in hrefs, f"/{sp.url}: the toolbar buttons are not Tab stops: {hrefs}"
    # back to the skip link, and follow it
    page.keyboard.press("Escape")
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == "main"
    page.keyboard.press("Tab")
    inside = page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert inside, f"/{sp.url}: after the skip link, Tab goes into the main content"


@pytest.mark.parametrize("sp", [p for p in PAGES if not p.elder and p.prefix == ""], ids=lambda p: p.id)
def test_elder_switch_goes_to_the_same_page_and_back(sp, page, goto, base_url):
    goto(page, sp.url)
    elder_url = base_url + counterpart(sp)
    assert page.locator(".mode-switch").evaluate("a => a.href") == elder_url
    assert page.locator(".site-footer a[data-mode-choice], .site-footer a[data-keep-hash]").last.evaluate(
        "a => a.href") == elder_url
    page.locator(".mode-switch").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(elder_url)
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    back = page.locator(".mode-switch")
    assert back.evaluate("a => a.href") == base_url + sp.url
    back.click()
    page.wait_for_url(base_url + sp.url)
    assert page.evaluate("document.documentElement.className") == "standard"


@pytest.mark.parametrize("start", ["platform-privacy/", "zh-hant/elder/platform-privacy/1.0/"])
def test_switches_keep_the_section(start, page, goto, base_url):
    page.emulate_media(reduced_motion="reduce")          # jump to the section, do not scroll smoothly
    goto(page, start + "#s2")
    section = page.locator("#s2")
    assert section.count() == 1
    elder = "elder/" in start
    other = start.replace("elder/", "") if elder else start.replace("platform-privacy", "elder/platform-privacy")
    page.locator(".mode-switch").click()
    page.wait_for_url(base_url + other + "#s2")
    assert page.evaluate("location.hash") == "#s2"
    # the target section is at the top of the window
    assert abs(page.locator("#s2").bounding_box()["y"]) < 60
    # and the script switch keeps it too
    script = page.locator(".lang-switch a").first
    target = script.evaluate("a => a.href")
    assert "#" not in target
    script.click()
    page.wait_for_url(target + "#s2")
    assert page.evaluate("document.documentElement.classList.contains('elder')") != elder


@pytest.mark.parametrize("sp", [p for p in ALL_KINDS if not p.elder], ids=lambda p: p.id)
def test_standard_targets_at_least_24px(sp, page, goto):
    open_page(page, goto, sp)
    targets = page.evaluate(TARGETS)
    small = [t for t in targets if not t["inline"] and (t["width"] < 24 - 0.01 or t["height"] < 24 - 0.01)]
    assert not small, f"/{sp.url}: targets under 24×24 px: " + "; ".join(
        f"{t['html']} {t['width']:.0f}×{t['height']:.0f}" for t in small)


@pytest.mark.parametrize("url", ["", "platform-privacy/", "en/terms-of-use/3.1/"])
def test_standard_focus_is_visible(url, page, goto):
    goto(page, url)
    stops = tab_stops(page)
    assert len(stops) > 5
    for s in stops:
        assert s["outlineStyle"] not in ("none", "hidden") and s["outlineWidth"] >= 2, f"{s['html']}: {s}"
        colour = parse_rgb(s["outlineColor"])
        for bg in s["around"]:
            assert contrast(colour, bg) >= 3, f"/{url}: focus outline {s['outlineColor']} on {bg}: {s['html']}"


# --- reflow, text spacing, motion, print -----------------------------------------------

@pytest.mark.parametrize("sp", ALL_KINDS, ids=lambda p: p.id)
def test_reflow_at_320px_without_horizontal_scrolling(sp, page, goto):
    page.set_viewport_size({"width": 320, "height": 640})
    open_page(page, goto, sp)
    assert_no_horizontal_scroll(page, f"/{sp.url} at 320 px")


TEXT_SPACING = """(() => {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
                         word-spacing: 0.16em !important; }
                     p { margin-bottom: 2em !important; }`);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
})()"""

CLIPPED = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.getClientRects().length || el.classList.contains('skip-link')) continue;
    const s = getComputedStyle(el);
    // text visually hidden on purpose (a 1 px clipped box: words for screen readers only) is not lost
    if (s.clipPath !== 'none' && el.getBoundingClientRect().width <= 1) continue;
    const clips = v => v === 'hidden' || v === 'clip';
    if ((clips(s.overflowX) && el.scrollWidth > el.clientWidth + 1) ||
        (clips(s.overflowY) && el.scrollHeight > el.clientHeight + 1))
      out.push('clipped: ' + el.outerHTML.slice(0, 100));
    if (s.display !== 'inline' && s.overflowY === 'visible' && s.height !== 'auto' && el.textContent.trim()
        && el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 && !['HTML', 'BODY'].includes(el.tagName))
      out.push('overflows its box: ' + el.outerHTML.slice(0, 100) + ` (${el.scrollHeight} > ${el.clientHeight})`);
  }
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("url", ["", "platform-privacy/", "elder/platform-privacy/", "en/terms-of-use/"])
def test_text_spacing_overrides_lose_nothing(url, width, page, goto):
    """WCAG 1.4.12: line height 1.5, letter spacing 0.12 em, word spacing 0.16 em, paragraph spacing 2 em."""
    page.set_viewport_size({"width": width, "height": 900})
    goto(page, url)
    before = page.evaluate("document.querySelector('main').innerText.length")
    page.evaluate(TEXT_SPACING)
    applied = page.evaluate("getComputedStyle(document.querySelector('main p')).letterSpacing")
    assert applied != "normal", "the text-spacing style was not applied (CSP?)"
    assert page.evaluate(CLIPPED) == []
    assert_no_horizontal_scroll(page, f"/{url} with text spacing at {width} px")
    assert page.evaluate("document.querySelector('main').innerText.length") == before


@pytest.mark.parametrize("url", ["platform-privacy/", "elder/platform-privacy/", ""])
def test_reduced_motion_respected(url, page, goto):
    page.emulate_media(reduced_motion="reduce")
    goto(page, url)
    moving = page.evaluate("""() => [...document.querySelectorAll('*')].filter(el => {
        const s = getComputedStyle(el);
        return s.animationName !== 'none' || s.transitionDuration.split(',').some(d => parseFloat(d) > 0)
               || s.scrollBehavior === 'smooth';
      }).map(el => el.outerHTML.slice(0, 80))""")
    assert moving == []


@pytest.mark.parametrize("url", ["platform-privacy/", "elder/platform-privacy/", "zh-hant/platform-privacy/1.0/"])
def test_print_style_without_navigation(url, page, goto):
    goto(page, url)
    page.emulate_media(media="print")
    shown = page.evaluate("""() => Object.fromEntries(['.site-header', '.switcher', '.lang-switch', '.mode-switch',
        '.breadcrumb', '.toolbar', '.site-footer', '.skip-link', 'main', '.policy-body', 'main h1', 'nav.toc']
        .map(sel => [sel, [...document.querySelectorAll(sel)].some(el => el.getClientRects().length > 0)]))""")
    hidden = [".site-header", ".switcher", ".lang-switch", ".mode-switch", ".breadcrumb", ".toolbar",
              ".site-footer", ".skip-link"]
    assert not [s for s in hidden if shown[s]], f"/{url}: navigation printed: {shown}"
    assert shown["main"] and shown[".policy-body"] and shown["main h1"], shown
    colour = page.evaluate("getComputedStyle(document.querySelector('.policy-body p')).color")
    assert parse_rgb(colour)[:3] == (0, 0, 0)
