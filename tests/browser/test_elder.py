"""长者版 pages in the browser: computed text metrics, layout, targets, the toolbar, read-aloud, no JavaScript."""
from __future__ import annotations

import pytest

from .conftest import one_per_kind
from .helpers import TARGETS, assert_no_horizontal_scroll, contrast, parse_rgb, tab_stops

ELDER_PAGES = one_per_kind(elder=True)
POLICY = "elder/platform-privacy/"                 # a long policy with tables, lists and key clauses
POLICY_HANT = "zh-hant/elder/platform-privacy/"

TEXT_BLOCKS = "main p, main li, main dd, main dt, main td, main th, main .policy-version-line"

TEXT_METRICS = """(selector) => {
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.getClientRects().length || !el.textContent.trim()) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const next = el.nextElementSibling;
    out.push({
      html: el.outerHTML.slice(0, 80), tag: el.tagName, fontSize: parseFloat(s.fontSize),
      lineHeight: parseFloat(s.lineHeight), textAlign: s.textAlign, direction: s.direction,
      contentWidth: r.width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)
                    - parseFloat(s.borderLeftWidth) - parseFloat(s.borderRightWidth),
      gapToNextP: next && next.tagName === 'P' && el.tagName === 'P' ? next.getBoundingClientRect().top - r.bottom : null,
    });
  }
  return out;
}"""

# The rendered lines of a paragraph, measured character by character: for each line the number
# of CJK characters (ideographs and full-width punctuation) and the line's width in em.
LINES = """(el) => {
  const cjk = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;
  const size = parseFloat(getComputedStyle(el).fontSize);
  const lines = new Map();
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) {
      if (/\\s/.test(node.data[i])) continue;
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (!rect || !rect.width) continue;
      const key = Math.round(rect.bottom);
      const line = lines.get(key) || {cjk: 0, left: rect.left, right: rect.right};
      if (cjk.test(node.data[i])) line.cjk += 1;
      line.left = Math.min(line.left, rect.left); line.right = Math.max(line.right, rect.right);
      lines.set(key, line);
    }
  }
  return [...lines.values()].map(l => ({cjk: l.cjk, em: (l.right - l.left) / size}));
}"""


@pytest.mark.parametrize("url", [POLICY, POLICY_HANT])
def test_rendered_lines_hold_at_most_40_characters(url, page, goto, cjk_font):
    """Count the characters on each rendered line of the long paragraphs (a wide desktop window):
    the column is 38 em at 24 px, so some 38 characters a line, never more than 40."""
    goto(page, url)
    paragraphs = page.locator("main .policy-body p")
    counted = 0
    for i in range(paragraphs.count()):
        p = paragraphs.nth(i)
        if len(p.inner_text()) < 80:
            continue
        lines = p.evaluate(LINES)
        assert len(lines) >= 2
        most = max(line["cjk"] for line in lines)
        widest = max(line["em"] for line in lines)
        # (a 38 em line can hold a character or two more where punctuation pairs such as 》《 are
        # trimmed by half; never more than the 40 of the rules)
        assert most <= 40, f"/{url}: a line of {most} CJK characters in {p.inner_text()[:30]}…"
        assert widest <= 38.01, f"/{url}: a line {widest:.1f} em wide in {p.inner_text()[:30]}…"
        assert most >= 30, f"/{url}: lines of only {most} characters: is the column too narrow?"
        counted += 1
    assert counted >= 3, f"/{url}: too few long paragraphs to measure"


@pytest.mark.parametrize("sp", ELDER_PAGES, ids=lambda p: p.id)
def test_text_size_line_height_spacing_and_alignment(sp, page, goto):
    goto(page, sp.url)
    body = page.evaluate("(() => { const s = getComputedStyle(document.body); "
                         "return {size: parseFloat(s.fontSize), lh: parseFloat(s.lineHeight)}; })()")
    assert body["size"] >= 24, f"/{sp.url}: body text is {body['size']} px, 长者版 needs at least 24 px (18 pt)"
    assert body["lh"] >= 1.8 * body["size"] - 0.01, f"/{sp.url}: body line height {body['lh']} px < 1.8 × {body['size']}"
    small = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(el =>
        el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
        && [...el.childNodes].some(n => n.nodeType === 3 && n.data.trim())
        && parseFloat(getComputedStyle(el).fontSize) < 24 && !el.closest('.skip-link'))
      .map(el => el.outerHTML.slice(0, 80) + ' ' + getComputedStyle(el).fontSize)""")
    assert not small, f"/{sp.url}: text under 24 px: {small}"
    blocks = page.evaluate(TEXT_METRICS, TEXT_BLOCKS)
    assert blocks, f"/{sp.url}: no text found in main"
    for b in blocks:
        assert b["fontSize"] >= 24, f"/{sp.url}: {b['html']} is {b['fontSize']} px"
        assert b["lineHeight"] >= 1.8 * b["fontSize"] - 0.01, f"/{sp.url}: {b['html']} line height {b['lineHeight']}"
        assert b["textAlign"] in ("left", "start") and b["direction"] == "ltr", f"/{sp.url}: {b['html']} is {b['textAlign']}"
        # Lines of at most 38 CJK characters: the text column is at most 38 em wide (a CJK character is 1 em).
        assert b["contentWidth"] <= 38 * b["fontSize"] + 0.5, \
            f"/{sp.url}: {b['html']} is {b['contentWidth'] / b['fontSize']:.1f} characters wide"
        if b["gapToNextP"] is not None:
            assert b["gapToNextP"] >= 1.5 * b["lineHeight"] - 0.5, \
                f"/{sp.url}: {b['gapToNextP']} px between paragraphs after {b['html']}; needs 1.5 × {b['lineHeight']}"


@pytest.mark.parametrize("sp", ELDER_PAGES, ids=lambda p: p.id)
def test_simple_layout_one_column_no_floats_no_motion(sp, page, goto):
    goto(page, sp.url)
    found = page.evaluate("""() => {
      const bad = [];
      for (const el of document.querySelectorAll('body *')) {
        const s = getComputedStyle(el);
        const what = el.outerHTML.slice(0, 80);
        if (s.float !== 'none') bad.push('float: ' + what);
        if (s.position === 'fixed' || s.position === 'sticky') bad.push(s.position + ': ' + what);
        if (s.animationName !== 'none') bad.push('animation: ' + what);
        if (s.transitionDuration.split(',').some(d => parseFloat(d) > 0)) bad.push('transition: ' + what);
      }
      if (document.querySelector('dialog, [role=dialog], [role=alertdialog], marquee, blink')) bad.push('a pop-up');
      return bad;
    }""")
    assert not found, f"/{sp.url}: {found}"
    # one column: the blocks of main follow one another downwards, none beside another
    columns = page.evaluate("""() => {
      const blocks = [...document.querySelectorAll('main > *, main article > *, main .policy-list > li')]
        .filter(el => el.getClientRects().length).map(el => el.getBoundingClientRect());
      const side = [];
      for (let i = 1; i < blocks.length; i++) {
        for (let j = 0; j < i; j++) {
          const a = blocks[i], b = blocks[j];
          const overlapY = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          const nested = a.top >= b.top && a.bottom <= b.bottom && a.left >= b.left && a.right <= b.right;
          if (overlapY > 1 && !nested) side.push([i, j]);
        }
      }
      return side;
    }""")
    assert not columns, f"/{sp.url}: blocks side by side or overlapping: {columns}"
    if sp.kind != "home":
        toc, body = page.locator("main nav.toc"), page.locator("main .policy-body")
        if toc.count():
            assert toc.bounding_box()["y"] < body.bounding_box()["y"], "the table of contents comes first"
            assert page.evaluate("getComputedStyle(document.querySelector('nav.toc ol')).display") == "block"


@pytest.mark.parametrize("sp", ELDER_PAGES, ids=lambda p: p.id)
def test_targets_at_least_44_and_switches_60(sp, page, goto):
    goto(page, sp.url)
    targets = page.evaluate(TARGETS)
    assert targets
    small = [t for t in targets if not t["inline"] and (t["width"] < 44 - 0.01 or t["height"] < 44 - 0.01)]
    assert not small, f"/{sp.url}: targets under 44×44 px: " + "; ".join(
        f"{t['html']} {t['width']:.0f}×{t['height']:.0f}" for t in small)
    for sel in (".mode-switch", ".lang-switch a", "[data-toolbar] button:visible"):
        boxes = page.locator(sel)
        assert boxes.count(), f"/{sp.url}: no {sel}"
        for i in range(boxes.count()):
            box = boxes.nth(i).bounding_box()
            assert box["width"] >= 60 and box["height"] >= 60, f"/{sp.url}: {sel} #{i} is {box}"


def test_colour_is_not_the_only_cue(page, goto):
    goto(page, POLICY)
    links = page.evaluate("""() => [...document.querySelectorAll('main .policy-body a, main .toc a')]
        .map(a => getComputedStyle(a).textDecorationLine)""")
    assert links and all("underline" in d for d in links), "links are underlined, not only coloured"
    key = page.locator(".policy-body .key-clause").first
    assert int(key.evaluate("el => getComputedStyle(el).fontWeight")) >= 700
    assert "underline" not in key.evaluate("el => getComputedStyle(el).textDecorationLine")
    badge = page.locator(".badge").first
    assert badge.inner_text().strip(), "status badges carry words, not only a colour"
    assert parse_rgb(badge.evaluate("el => getComputedStyle(el).borderTopColor"))[3] == 1


def body_size(page) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")


def test_text_size_steps_up_to_at_least_30px_remembered_and_reflows(page, goto):
    page.set_viewport_size({"width": 320, "height": 640})
    goto(page, POLICY)
    larger, smaller = page.locator("[data-text-size='1']"), page.locator("[data-text-size='-1']")
    assert smaller.is_disabled() and body_size(page) == 24
    sizes = [body_size(page)]
    while larger.is_enabled():
        larger.click()
        sizes.append(body_size(page))
        assert len(sizes) < 20
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), f"each step is larger: {sizes}"
    assert sizes[-1] >= 30, f"the largest step is {sizes[-1]} px"
    assert_no_horizontal_scroll(page, f"/{POLICY} at 320 px and {sizes[-1]} px text")
    line = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('main p')); "
                         "return parseFloat(s.lineHeight) / parseFloat(s.fontSize); })()")
    assert line >= 1.8 - 0.001
    # remembered: after a reload, and on another 长者版 page
    page.reload()
    assert body_size(page) == sizes[-1] and larger.is_disabled()
    goto(page, "elder/")
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") == sizes[-1]
    assert_no_horizontal_scroll(page, f"/elder/ at 320 px and {sizes[-1]} px text")
    # and back down
    goto(page, POLICY)
    while smaller.is_enabled():
        smaller.click()
    assert body_size(page) == 24


def test_high_contrast_mode_is_remembered(page, goto):
    goto(page, POLICY)
    page.locator("[data-more]").click()
    button = page.locator("[data-contrast]")
    assert button.get_attribute("aria-pressed") == "false"
    before = parse_rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    after = parse_rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    assert after != before
    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('contrast')")
    assert page.locator("[data-contrast]").get_attribute("aria-pressed") == "true"
    goto(page, "zh-hant/elder/")
    assert page.evaluate("document.documentElement.classList.contains('contrast')")
    page.locator("[data-more]").click()
    page.locator("[data-contrast]").click()
    page.reload()
    assert not page.evaluate("document.documentElement.classList.contains('contrast')")


@pytest.mark.parametrize("contrast_mode", [False, True], ids=["default", "high-contrast"])
def test_focus_outline_contrast_at_least_7_to_1(contrast_mode, page, goto):
    goto(page, POLICY)
    if contrast_mode:
        page.locator("[data-more]").click()
        page.locator("[data-contrast]").click()
        page.reload()
    stops = tab_stops(page)
    assert len(stops) > 10
    for s in stops:
        where = f"{s['html']} ({'high contrast' if contrast_mode else 'default'})"
        assert s["outlineStyle"] not in ("none", "hidden") and s["outlineWidth"] >= 3, f"{where}: no outline: {s}"
        colour = parse_rgb(s["outlineColor"])
        assert colour[3] == 1, f"{where}: translucent outline {s['outlineColor']}"
        assert s["around"], f"{where}: focused element not on screen: {s['box']}"
        for bg in s["around"]:
            ratio = contrast(colour, bg)
            assert ratio >= 7, f"{where}: focus outline {s['outlineColor']} on {bg} is {ratio:.2f}:1"
        own = parse_rgb(s["background"])
        if own[3] == 1:                      # a filled focus style: its text must stay readable
            assert contrast(parse_rgb(s["color"]), own) >= 7, f"{where}: focused text {s['color']} on {s['background']}"


# --- read aloud ---------------------------------------------------------------------

FAKE_SPEECH = """
(() => {
  const calls = [];
  window.__speech = calls;
  const fake = {
    speaking: false, paused: false, pending: false,
    speak(u) { calls.push({op: 'speak', text: u.text, lang: u.lang}); window.__current = u; },
    cancel() { calls.push({op: 'cancel'}); },
    pause() { calls.push({op: 'pause'}); },
    resume() { calls.push({op: 'resume'}); },
    getVoices() { return [{lang: 'zh-CN', name: 'zh-CN'}, {lang: 'zh-TW', name: 'zh-TW'}, {lang: 'en-GB', name: 'en-GB'}]; },
    addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, 'speechSynthesis', {value: fake, configurable: true});
  // (the real utterance accepts only the browser's own SpeechSynthesisVoice objects)
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.lang = ''; this.voice = null; } };
  // the utterance being spoken ends (one utterance a paragraph: the next one is spoken then)
  window.__speechEnd = () => { const u = window.__current; window.__current = null; if (u && u.onend) u.onend({}); };
})();
"""

NO_SPEECH = {
    # a browser without the Web Speech API
    "absent": """(() => { for (const o of [window, Window.prototype]) { try { delete o.speechSynthesis; } catch (e) {} }
                          if ('speechSynthesis' in window) throw new Error('could not remove speechSynthesis'); })();""",
    # one that has the name but nothing behind it (some embedded browsers)
    "undefined": "Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});",
}


@pytest.mark.parametrize("url,lang", [(POLICY, "zh-CN"), (POLICY_HANT, "zh-TW"),
                                      ("en/elder/terms-of-use/", "en")])
def test_read_aloud_speaks_the_policy_in_the_page_script(url, lang, new_page, goto):
    page = new_page()
    page.add_init_script(FAKE_SPEECH)
    goto(page, url)
    speech = page.locator("[data-speech]")
    assert speech.is_visible()
    buttons = {a: page.locator(f"[data-speech-action={a}]") for a in ("play", "pause", "resume", "stop")}
    assert buttons["play"].is_enabled() and buttons["pause"].is_hidden() and buttons["stop"].is_hidden()
    buttons["play"].click()
    for b in buttons.values():
        box = b.bounding_box() if b.is_visible() else None
        assert box and box["width"] >= 60 and box["height"] >= 60
    title = page.locator("main h1").inner_text().strip()
    first_para = " ".join(page.locator(".policy-body p").first.text_content().split())
    for _ in range(80):                       # paragraph by paragraph, up to the body's first
        texts = [c["text"] for c in page.evaluate("window.__speech") if c["op"] == "speak"]
        if first_para in texts:
            break
        page.evaluate("window.__speechEnd()")
    calls = page.evaluate("window.__speech")
    spoken = [c for c in calls if c["op"] == "speak"]
    assert spoken, calls
    assert all(c["lang"].startswith(lang) for c in spoken), {c["lang"] for c in spoken}
    assert spoken[0]["text"] == title
    assert first_para in [c["text"] for c in spoken]
    toc_heading = page.locator("#toc-heading").inner_text().strip()
    assert toc_heading not in [c["text"] for c in spoken], "the table of contents is not read out"
    assert buttons["play"].is_disabled() and buttons["pause"].is_enabled() and buttons["stop"].is_enabled()
    buttons["pause"].click()
    assert buttons["resume"].is_enabled() and buttons["pause"].is_disabled()
    buttons["resume"].click()
    buttons["stop"].click()
    ops = [c["op"] for c in page.evaluate("window.__speech") if c["op"] != "speak"]
    assert ops[-3:] == ["pause", "resume", "cancel"], ops
    assert buttons["play"].is_enabled() and buttons["stop"].is_hidden()


@pytest.mark.parametrize("how", NO_SPEECH)
def test_read_aloud_hidden_without_speech_synthesis(how, new_page, goto):
    page = new_page()
    page.add_init_script(NO_SPEECH[how])
    goto(page, POLICY)
    assert not page.evaluate("!!window.speechSynthesis")
    assert page.locator("[data-toolbar]").is_visible(), "the rest of the toolbar still works"
    assert page.locator("[data-speech]").is_hidden()
    page.locator("[data-more]").click()
    assert not page.locator("[data-speech-action]:visible").count()
    assert not page.errors, page.errors


def test_read_aloud_shown_with_the_browser_speech_synthesis(page, goto):
    goto(page, POLICY)
    # offered only when this browser has a voice for the page's language (headless Chromium has none)
    has = page.evaluate("""!!(window.speechSynthesis && window.speechSynthesis.speak &&
        window.speechSynthesis.getVoices().some(v => /^zh[-_](CN|SG|Hans)/i.test(v.lang)))""")
    assert page.locator("[data-speech]").is_visible() == has


# --- without JavaScript ---------------------------------------------------------------

@pytest.mark.parametrize("url", [POLICY, "elder/", POLICY.replace("elder/", ""), ""])
def test_readable_without_javascript(url, new_page, goto):
    page = new_page(java_script_enabled=False)
    goto(page, url)
    assert page.locator("main h1").is_visible()
    if "platform-privacy" in url:
        assert page.locator("nav.toc").is_visible() and page.locator("nav.toc a").count() > 5
        paragraphs = page.locator(".policy-body p")
        assert paragraphs.count() > 10 and paragraphs.last.is_visible()
        assert page.locator(".contact").is_visible()
    else:
        assert page.locator(".policy-list li").count() >= 4
    assert page.locator(".mode-switch").is_visible()
    assert page.locator(".lang-switch a").first.is_visible()
    if url.startswith("elder/"):
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 24
        assert page.locator("[data-toolbar]").is_hidden(), "no dead buttons without JavaScript"
