"""Reading as our readers do (issue 16), measured in Chromium: the 长者版's sizes and first screen,
Chinese punctuation drawn full-width, header words kept whole, read-aloud with a stand-in speech
engine (with and without a voice), key-clause labels, print, paragraph spacing, metadata labels,
text widths, the home page, the changes page, and a policy written only in English.

Most tests use the sample site (conftest); the English-only policy and the many-issuer home page
are in a small extra site built here into a temporary folder and served the same way."""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

from .conftest import ROOT, SCREENSHOTS, _Handler
from .helpers import contrast, parse_rgb
from .test_elder import LINES

ELDER_POLICIES = ["elder/platform-privacy/", "zh-hant/elder/platform-privacy/", "en/elder/terms-of-use/"]
PHONE = {"width": 375, "height": 667}


# --- an extra site: an English-only policy, many issuers, a quotation in a title ------------------

EXTRA_POLICIES = {
    "app-terms.md": """\
        ---
        title: Hailan Open Data App Terms
        lang: en
        issuer: Hailan Data Bureau
        effective: 2025-01-01
        version: "1.0"
        summary: The terms for using the Hailan open data app.
        ---

        These terms apply to the app. ++By using the app you accept these terms.++

        ## 1. Use

        Use the data as the licence allows.
        """,
    "quote-notice.md": """\
        ---
        title: 关于“一网通办”服务的说明
        issuer: 海澜市大数据局
        effective: 2025-02-01
        version: "1.0"
        ---

        本说明所称“一网通办”，是指通过统一平台办理政务服务事项。“一网通办”平台由海澜市大数据局负责建设。

        ## 一、总则

        ### （一）适用范围

        本说明适用于“一网通办”平台的全部服务。
        """,
    "b-rules.md": """\
        ---
        title: 乙类办事规则
        issuer: 海澜市人民政府办公室
        effective: 2024-05-01
        version: "1.0"
        ---

        本规则说明办事流程。
        """,
    "a-rules.md": """\
        ---
        title: 甲类办事规则
        issuer: 海澜市人民政府办公室
        effective: 2024-06-01
        version: "1.0"
        published: 2026-10-01
        ---

        本规则说明办事流程。
        """,
    "tax-notice.md": """\
        ---
        title: 税务信息公开说明
        issuer: 海澜市税务局
        effective: 2023-01-01
        version: "1.0"
        ---

        本说明介绍税务信息公开。
        """,
}


@functools.cache
def extra_site() -> Path:
    root = Path(tempfile.mkdtemp(prefix="policysite-reading-"))
    site = root / "src"
    (site / "policies").mkdir(parents=True)
    (site / "config.toml").write_text(textwrap.dedent("""\
        [site]
        title = "海澜市 政策文件"
        title_en = "Hailan: Policies"
        base_url = "https://www.example.gov.cn/p/"
        today = 2026-11-22
        """), "utf-8")
    for name, text in EXTRA_POLICIES.items():
        (site / "policies" / name).write_text(textwrap.dedent(text), "utf-8")
    out = root / "serve" / "p"
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--config", str(site / "config.toml"),
                           "--out", str(out), "--quiet"], cwd=site, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"building the extra site failed:\n{proc.stderr}")
    return out


@pytest.fixture(scope="module")
def extra_url():
    out = extra_site()
    handler = type("Handler", (_Handler,), {"site_dir": out})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(out.parent)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/p/"
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(out.parents[1], ignore_errors=True)


# --- 长者版: sizes, first screen ----------------------------------------------------------

SIZES = """() => {
  const px = sel => { const el = document.querySelector(sel); return el ? parseFloat(getComputedStyle(el).fontSize) : null; };
  return {body: px('body'), p: px('main .policy-body p'), h1: px('main h1'), h2: px('main .policy-body h2'),
          h3: px('main .policy-body h3')};
}"""


@pytest.mark.parametrize("url", ELDER_POLICIES)
def test_elder_body_24px_and_headings_in_proportion(url, page, goto):
    goto(page, url)
    s = page.evaluate(SIZES)
    assert s["body"] >= 24 and s["p"] >= 24, f"/{url}: body {s['body']} px, paragraphs {s['p']} px: 18 pt is 24 px"
    assert s["h3"] >= 1.25 * s["body"] - 0.01, f"/{url}: h3 {s['h3']} px is not 1.25 × {s['body']} px"
    assert s["h1"] > s["h2"] > s["h3"], s


FIRST_SCREEN = """() => {
  const box = sel => { const el = document.querySelector(sel); if (!el) return null;
    const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, line: parseFloat(getComputedStyle(el).lineHeight)}; };
  const rows = new Set([...document.querySelectorAll('[data-toolbar] .toolbar-row:not([hidden]) button')]
      .filter(b => b.getClientRects().length).map(b => Math.round(b.getBoundingClientRect().top)));
  return {h1: box('main h1'), text: box('.policy-header .summary') || box('.policy-body p'),
          toolbar: box('[data-toolbar]'), header: box('.site-header'), toolbarRows: rows.size,
          height: window.innerHeight};
}"""


@pytest.mark.parametrize("url", ELDER_POLICIES)
def test_elder_phone_first_screen_shows_title_and_text(url, page, goto, cjk_font):
    """At 375 × 667 the title and the first lines of the policy's text are on the first screen; the
    toolbar is one row."""
    page.set_viewport_size(PHONE)
    goto(page, url)
    m = page.evaluate(FIRST_SCREEN)
    assert m["toolbarRows"] == 1, f"/{url}: the toolbar takes {m['toolbarRows']} rows"
    assert m["h1"]["bottom"] <= m["height"], f"/{url}: the title ends at {m['h1']['bottom']:.0f} px"
    if url.startswith("en/"):
        return      # (an English title of 58 letters takes five lines at 36 px: the title alone fits)
    # at least two lines of the text itself
    assert m["text"]["top"] + 2 * m["text"]["line"] <= m["height"], \
        f"/{url}: the text starts at {m['text']['top']:.0f} px (header {m['header']}, toolbar {m['toolbar']})"


WORDS_ON_ONE_LINE = """(el) => {
  // every space-separated word of the element's text: the line tops its characters are drawn on
  const range = document.createRange();
  const node = [...el.childNodes].find(n => n.nodeType === 3) || el.firstChild.firstChild;
  const text = node.data, out = [];
  let i = 0;
  for (const word of text.split(' ')) {
    const tops = new Set();
    for (let k = 0; k < word.length; k++) {
      range.setStart(node, i + k); range.setEnd(node, i + k + 1);
      const r = range.getClientRects()[0];
      if (r) tops.add(Math.round(r.top));
    }
    out.push({word, lines: tops.size});
    i += word.length + 1;
  }
  return out;
}"""


@pytest.mark.parametrize("width", [320, 375])
@pytest.mark.parametrize("url", ["", "elder/", "elder/platform-privacy/", "en/elder/terms-of-use/"])
def test_header_words_are_never_broken_inside(url, width, page, goto, cjk_font):
    page.set_viewport_size({"width": width, "height": 700})
    goto(page, url)
    words = page.locator(".site-title a").evaluate(WORDS_ON_ONE_LINE)
    assert len(words) >= 2
    broken = [w["word"] for w in words if w["lines"] != 1]
    assert not broken, f"/{url} at {width} px: the site title breaks inside {broken}"


# --- Chinese typography --------------------------------------------------------------------

QUOTE_WIDTHS = """(root) => {
  // the width of every “ and ” (or 「」『』, which Traditional pages write) in the text below root,
  // against the CJK character beside it. A quote
  // mark next to other punctuation (”“, ”）) is measured with it: Chromium trims such pairs by half
  // a character (CSS text-spacing-trim, as Chinese typesetting does), so the pair is 1.5 characters
  // wide; a quote from a Latin font would leave it at 1.
  const out = [];
  const punct = /[“”‘’（）《》「」『』、，。；：！？]/;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const width = (node, i) => { range.setStart(node, i); range.setEnd(node, i + 1); const r = range.getClientRects()[0]; return r ? r.width : 0; };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const d = node.data;
    for (let i = 0; i < d.length; i++) {
      const opens = '“「『', closes = '”」』';
      if (!opens.includes(d[i]) && !closes.includes(d[i])) continue;
      const open = opens.includes(d[i]);
      const j = open ? i + 1 : i - 1;
      if (j < 0 || j >= d.length || !/[\\u4e00-\\u9fff]/.test(d[j])) continue;
      const k = open ? i - 1 : i + 1;                      // the outer side
      const family = getComputedStyle(node.parentElement).fontFamily.split(',')[0];
      const q = width(node, i), c = width(node, j);
      if (!q || !c) continue;
      if (k >= 0 && k < d.length && punct.test(d[k])) out.push({pair: d[Math.min(i, k)] + d[Math.max(i, k)], quote: q + width(node, k), cjk: 1.5 * c, family});
      else out.push({quote: q, cjk: c, family});
    }
  }
  return out;
}"""


@pytest.mark.parametrize("url", ["city-privacy/", "zh-hant/city-privacy/", "elder/city-privacy/",
                                 "zh-hant/elder/city-privacy/"])
def test_chinese_quotation_marks_are_full_width(url, page, goto, cjk_font):
    goto(page, url)
    widths = page.locator("main").evaluate(QUOTE_WIDTHS)
    assert len([w for w in widths if "pair" not in w]) >= 4, f"/{url}: too few quotation marks to measure"
    assert [w for w in widths if "pair" in w], f"/{url}: no punctuation pair to measure"
    for w in widths:
        assert abs(w["quote"] - w["cjk"]) <= 0.1 * w["cjk"], \
            f"/{url}: a “ is {w['quote']:.1f} px beside a {w['cjk']:.1f} px character (font {w['family']})"


@pytest.mark.parametrize("url", ["quote-notice/", "zh-hant/quote-notice/", "elder/quote-notice/", ""])
def test_quotation_marks_full_width_in_titles(url, new_page, extra_url, cjk_font):
    page = new_page()
    page.goto(extra_url + url)
    target = page.locator("main h1" if url else ".policy-card h3 a", has_text="一网通办" if "hant" not in url else "一網通辦")
    widths = target.first.evaluate(QUOTE_WIDTHS)
    assert len(widths) == 2, widths
    for w in widths:
        assert abs(w["quote"] - w["cjk"]) <= 0.1 * w["cjk"], f"/{url}: {w}"


def test_latin_text_keeps_a_latin_face_and_chinese_text_a_cjk_one(page, goto):
    first = "() => getComputedStyle(document.querySelector('main .policy-body p')).fontFamily.split(',')[0].trim()"
    goto(page, "en/terms-of-use/")
    assert "CJK" not in page.evaluate(first) and page.evaluate(first) in ("system-ui", "-apple-system")
    for url in ("terms-of-use/", "zh-hant/elder/terms-of-use/"):
        goto(page, url)
        assert "CJK" in page.evaluate(first) or page.evaluate(first).strip('"').startswith("PingFang")


# --- read aloud, with a stand-in speech engine -------------------------------------------

# A stand-in for window.speechSynthesis: records what is spoken, has the voices given (now, or
# only after a "voiceschanged" event, as Chromium does), and lets the test end or fail the
# utterance being spoken (window.__speechEnd(), window.__speechFail()).
STAND_IN = """
(() => {
  const config = %s;
  const calls = [];
  let voices = config.late ? [] : config.voices;
  let current = null;
  const listeners = [];
  const synth = {
    speaking: false, paused: false, pending: false,
    speak(u) { calls.push({op: 'speak', text: u.text, lang: u.lang, rate: u.rate, voice: u.voice && u.voice.name}); current = u; },
    cancel() { calls.push({op: 'cancel'}); const u = current; current = null; if (u && u.onerror) u.onerror({error: 'interrupted'}); },
    pause() { calls.push({op: 'pause'}); },
    resume() { calls.push({op: 'resume'}); },
    getVoices() { return voices; },
    addEventListener(type, fn) { if (type === 'voiceschanged') listeners.push(fn); },
    removeEventListener() {},
  };
  window.__speech = calls;
  window.__speechEnd = () => { const u = current; current = null; if (u && u.onend) u.onend({}); };
  window.__speechFail = () => { const u = current; current = null; if (u && u.onerror) u.onerror({error: 'synthesis-failed'}); };
  window.__voicesArrive = () => { voices = config.voices; listeners.forEach(fn => fn(new Event('voiceschanged'))); };
  Object.defineProperty(window, 'speechSynthesis', {value: synth, configurable: true});
  // (the real utterance accepts only the browser's own SpeechSynthesisVoice objects)
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; this.lang = ''; this.rate = 1; this.voice = null; } };
})();
"""
ZH_VOICES = [{"lang": "zh-CN", "name": "普通话"}, {"lang": "zh-TW", "name": "國語"}, {"lang": "en-US", "name": "English"}]


def speech_page(new_page, goto, url, voices, late=False):
    import json
    page = new_page()
    page.add_init_script(STAND_IN % json.dumps({"voices": voices, "late": late}))
    goto(page, url)
    return page


def spoken(page):
    return [c for c in page.evaluate("window.__speech") if c["op"] == "speak"]


@pytest.mark.parametrize("voices", [[], [{"lang": "en-US", "name": "English"}], [{"lang": "zh-HK", "name": "粵語"}]],
                         ids=["no-voice", "english-only", "other-script"])
def test_read_aloud_not_offered_without_a_voice_for_the_page(voices, new_page, goto):
    page = speech_page(new_page, goto, "elder/platform-privacy/", voices, late=True)
    page.evaluate("window.__voicesArrive()")
    assert page.locator("[data-toolbar]").is_visible()
    assert page.locator("[data-speech-action=play]").is_hidden()
    page.locator("[data-more]").click()
    assert page.locator("[data-contrast]").is_visible()
    assert page.locator("[data-speech-rate]").is_hidden() and page.locator("[data-speech-action=pick]").is_hidden()
    assert not page.errors, page.errors


def test_read_aloud_offered_when_the_voices_arrive_later(new_page, goto):
    page = speech_page(new_page, goto, "zh-hant/elder/platform-privacy/", ZH_VOICES, late=True)
    assert page.locator("[data-speech-action=play]").is_hidden(), "no voice yet: not offered"
    page.evaluate("window.__voicesArrive()")
    play = page.locator("[data-speech-action=play]")
    assert play.is_visible()
    play.click()
    first = spoken(page)[0]
    assert first["lang"] == "zh-TW" and first["voice"] == "國語"


def test_read_aloud_reads_paragraph_by_paragraph_and_resets_at_the_end(new_page, goto):
    page = speech_page(new_page, goto, "elder/site-statement/", ZH_VOICES)
    play, status = page.locator("[data-speech-action=play]"), page.locator("[data-speech-status]")
    pause, resume, stop = (page.locator(f"[data-speech-action={a}]") for a in ("pause", "resume", "stop"))
    assert pause.is_hidden() and stop.is_hidden(), "the controls show only while reading"
    play.click()
    assert play.is_disabled() and pause.is_enabled() and stop.is_enabled() and resume.is_disabled()
    for b in (pause, resume, stop):
        box = b.bounding_box()
        assert box["width"] >= 60 and box["height"] >= 60
    total = int(re.search(r"共 (\d+) 段", status.inner_text()).group(1))
    assert status.inner_text().startswith("正在朗读第 1 段")
    assert page.locator(".speech-current").inner_text().strip() == page.locator("main h1").inner_text().strip()
    page.evaluate("window.__speechEnd()")
    assert "第 2 段" in status.inner_text()
    assert page.locator(".speech-current").count() == 1
    pause.click()
    assert status.inner_text() == "已暂停。" and resume.is_enabled()
    resume.click()
    for _ in range(total - 1):
        page.evaluate("window.__speechEnd()")
    assert len(spoken(page)) == total
    assert play.is_enabled() and pause.is_hidden(), "the state resets when reading ends"
    assert status.inner_text() == "朗读已结束。" and page.locator(".speech-current").count() == 0


def test_read_aloud_resets_on_error_and_on_stop(new_page, goto):
    page = speech_page(new_page, goto, "elder/platform-privacy/", ZH_VOICES)
    play, stop = page.locator("[data-speech-action=play]"), page.locator("[data-speech-action=stop]")
    play.click()
    page.evaluate("window.__speechFail()")
    assert play.is_enabled() and stop.is_hidden()
    assert page.locator("[data-speech-status]").inner_text() == "朗读出错，已停止。"
    play.click()
    assert play.is_disabled()
    stop.click()
    assert play.is_enabled() and page.locator(".speech-current").count() == 0
    assert page.evaluate("document.activeElement.dataset.speechAction") == "play"


def test_read_aloud_speed_is_chosen_and_remembered(new_page, goto):
    page = speech_page(new_page, goto, "elder/platform-privacy/", ZH_VOICES)
    page.locator("[data-more]").click()
    rate = page.locator("[data-speech-rate]")
    box = rate.bounding_box()
    assert box["height"] >= 60
    rate.select_option("1.25")
    page.locator("[data-speech-action=play]").click()
    assert spoken(page)[0]["rate"] == 1.25
    rate.select_option("0.75")                      # while reading: the paragraph again, slower
    assert spoken(page)[-1]["rate"] == 0.75 and spoken(page)[-1]["text"] == spoken(page)[0]["text"]
    page.reload()
    page.locator("[data-more]").click()
    assert page.locator("[data-speech-rate]").input_value() == "0.75"


def test_read_aloud_from_a_chosen_paragraph_by_tap_and_by_keyboard(new_page, goto):
    page = speech_page(new_page, goto, "elder/platform-privacy/", ZH_VOICES)
    page.locator("[data-more]").click()
    pick = page.locator("[data-speech-action=pick]")
    pick.click()
    assert pick.get_attribute("aria-pressed") == "true"
    assert "回车" in page.locator("[data-speech-status]").inner_text()
    target = page.locator(".policy-body p").nth(3)
    target.click()
    assert spoken(page)[0]["text"] == " ".join(target.text_content().split())
    assert "speech-current" in target.get_attribute("class")
    assert pick.get_attribute("aria-pressed") == "false"
    # while reading, a tap on another paragraph reads from there
    other = page.locator(".policy-body p").nth(6)
    other.click()
    assert spoken(page)[-1]["text"] == " ".join(other.text_content().split())
    # a tap on the paragraph being read pauses and resumes; Esc stops
    other.click()
    assert page.locator("[data-speech-status]").inner_text() == "已暂停。"
    other.click()
    assert page.locator("[data-speech-status]").inner_text().startswith("正在朗读")
    page.keyboard.press("Escape")
    assert page.locator("[data-speech-action=play]").is_enabled()
    assert page.locator(".speech-current").count() == 0
    # by keyboard: Enter on the pick button, Tab to a paragraph, Enter
    pick.focus()
    page.keyboard.press("Enter")
    assert pick.get_attribute("aria-pressed") == "true"
    first = page.locator(".policy-body p").first
    first.focus()
    assert page.evaluate("document.activeElement.tagName") == "P"
    focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus != "none", "the paragraph to choose shows focus"
    page.keyboard.press("Enter")
    assert spoken(page)[-1]["text"] == " ".join(first.text_content().split())
    # Escape leaves the choosing mode
    page.locator("[data-speech-action=stop]").click()
    pick.click()
    page.keyboard.press("Escape")
    assert pick.get_attribute("aria-pressed") == "false"
    assert page.locator(".policy-body p[tabindex]").count() == 0
    assert not page.errors, page.errors


def test_key_clauses_are_labelled_for_screen_readers_and_read_aloud(new_page, goto):
    page = speech_page(new_page, goto, "elder/platform-privacy/", ZH_VOICES)
    clauses = page.locator(".policy-body .key-clause")
    assert clauses.count() >= 3
    for i in range(clauses.count()):
        label = clauses.nth(i).locator(".visually-hidden")
        assert label.count() == 1 and label.inner_text() == "重要条款："
        box = label.bounding_box()
        assert box is None or (box["width"] <= 1 and box["height"] <= 1), "the label is visually hidden"
    page.locator("[data-speech-action=play]").click()
    for _ in range(60):
        page.evaluate("window.__speechEnd()")
    assert any(c["text"].count("重要条款：") for c in spoken(page)), "read-aloud says which clauses are key"
    # and in the other script and in English
    for url, label in (("zh-hant/platform-privacy/", "重要條款："), ("en/terms-of-use/", "Key clause: ")):
        goto(page, url)
        assert page.locator(".policy-body .key-clause .visually-hidden").first.text_content() == label


# --- print ------------------------------------------------------------------------------

def pdf_pages(page) -> list[str]:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed (apt-get install -y poppler-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "page.pdf"
        page.pdf(path=str(pdf), format="A4")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [p for p in text.split("\f") if p.strip()]


@pytest.mark.parametrize("url,version", [("platform-privacy/", "2.0"), ("elder/platform-privacy/1.0/", "1.0"),
                                         ("zh-hant/platform-privacy/", "2.0"), ("en/terms-of-use/", "3.1")])
def test_every_printed_page_carries_title_version_and_address(url, version, page, goto, cjk_font):
    goto(page, url)
    title = page.locator("main h1").inner_text().strip()
    address = f"https://www.example.gov.cn/policies/{url.split('platform-privacy')[0].replace('elder/', '')}"
    slug = "terms-of-use" if "terms" in url else "platform-privacy"
    address = "https://www.example.gov.cn/policies/" + ("en/" if url.startswith("en/") else "zh-hant/" if "zh-hant" in url else "") \
        + ("elder/" if "elder/" in url else "") + f"{slug}/{version}/"
    pages = pdf_pages(page)
    assert len(pages) >= 3
    for n, text in enumerate(pages, 1):
        flat = re.sub(r"\s+", "", text)
        assert re.sub(r"\s+", "", title) in flat, f"/{url}: printed page {n} has no title"
        assert version in text, f"/{url}: printed page {n} has no version"
        assert address in text, f"/{url}: printed page {n} has no permanent address {address}"


def test_print_has_no_forced_break_after_the_contents_and_a_legend_that_matches(page, goto):
    goto(page, "platform-privacy/")
    page.emulate_media(media="print")
    toc = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('nav.toc')); return [s.breakAfter, s.breakBefore]; })()")
    assert "page" not in toc and "always" not in toc, toc
    look = """(el) => { const s = getComputedStyle(el); return [s.fontWeight, s.textDecorationLine, s.backgroundColor, s.boxShadow]; }"""
    sample = page.locator(".key-clause-note .key-clause").evaluate(look)
    clause = page.locator(".policy-body .key-clause").first.evaluate(look)
    assert sample == clause, f"the legend shows {sample}, the printed clauses {clause}"
    note = page.locator(".key-clause-note").inner_text()
    assert "底色" not in note and "加粗" in note, "the legend speaks only of what print shows too"
    assert page.locator(".print-address").is_visible()
    page.emulate_media(media="screen")
    assert page.locator(".print-address").is_hidden()


# --- standard pages: paragraph spacing, metadata labels, text width ------------------------

def test_standard_paragraph_spacing_at_least_0_8_line_height(page, goto):
    goto(page, "platform-privacy/")
    gaps = page.evaluate("""() => [...document.querySelectorAll('.policy-body p + p, .policy-body p + ul, .policy-body p + ol, .policy-body ul + p, .policy-body ol + p')].map(p => {
        const prev = p.previousElementSibling; const s = getComputedStyle(p);
        return {gap: p.getBoundingClientRect().top - prev.getBoundingClientRect().bottom, line: parseFloat(s.lineHeight)}; })""")
    assert len(gaps) >= 8
    for g in gaps:
        assert g["gap"] >= 0.8 * g["line"] - 0.5, g


@pytest.mark.parametrize("url", ["", "platform-privacy/", "platform-privacy/history/", "en/terms-of-use/"])
def test_metadata_labels_at_least_14px_and_4_5_to_1(url, page, goto):
    goto(page, url)
    labels = page.evaluate("""() => [...document.querySelectorAll('.policy-meta dt, .contact dt')].map(dt => {
        let bg = 'rgba(0, 0, 0, 0)';
        for (let el = dt; el && parseFloat((bg.match(/[\\d.]+/g) || [0, 0, 0, 0])[3] ?? 1) === 0; el = el.parentElement)
          bg = getComputedStyle(el).backgroundColor;
        const s = getComputedStyle(dt);
        return {text: dt.textContent, size: parseFloat(s.fontSize), color: s.color, bg}; })""")
    assert labels
    for lab in labels:
        bg = parse_rgb(lab["bg"]) if parse_rgb(lab["bg"])[3] else (255, 255, 255, 1)
        assert lab["size"] >= 14, lab
        assert contrast(parse_rgb(lab["color"]), bg) >= 4.5, lab


def most_per_line(page, selector: str) -> int:
    paragraphs = page.locator(selector)
    most = 0
    for i in range(min(paragraphs.count(), 40)):
        p = paragraphs.nth(i)
        if len(p.inner_text()) >= 80:
            most = max([most] + [line["cjk"] for line in p.evaluate(LINES)])
    return most


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_changes_and_history_have_the_policy_text_width(elder, page, goto, cjk_font):
    pre = "elder/" if elder else ""
    goto(page, pre + "platform-privacy/")
    policy = most_per_line(page, "main .policy-body p")
    width = page.evaluate("document.querySelector('main .policy-body').getBoundingClientRect().width")
    assert policy >= 30
    goto(page, pre + "platform-privacy/2.0/changes/")
    changes = most_per_line(page, "main .changes p")
    assert 0 < changes <= policy, f"changes page: {changes} characters a line, policy {policy}"
    assert page.evaluate("document.querySelector('main .changes').getBoundingClientRect().width") <= width + 1
    goto(page, pre + "platform-privacy/history/")
    assert page.evaluate("document.querySelector('main .history').getBoundingClientRect().width") <= width + 1
    history = most_per_line(page, "main .history p")
    assert history <= policy, f"history: {history} characters a line, policy {policy}"


# --- home page ----------------------------------------------------------------------------

def test_home_has_its_own_h1_and_lists_by_issuer_then_title(page, goto):
    goto(page, "")
    h1 = page.locator("main h1").inner_text().strip()
    assert h1 and h1 != page.locator(".site-title").inner_text().strip()
    assert page.locator("h1").count() == 1
    cards = page.evaluate("""() => [...document.querySelectorAll('.policy-card')].map(c =>
        [c.querySelector('dd').textContent.trim(), c.querySelector('h2, h3').textContent.trim()])""")
    assert len(cards) >= 4 and cards == sorted(cards), cards
    recent = page.locator(".recent-change")
    assert recent.is_visible() and "青川通办隐私政策" in recent.inner_text()


def test_home_groups_many_issuers_and_lists_english_only_policy(new_page, extra_url):
    page = new_page()
    page.goto(extra_url)
    groups = page.locator(".issuer-group")
    assert groups.count() >= 3
    names = [groups.nth(i).locator("h2").inner_text().strip() for i in range(groups.count())]
    assert names == sorted(names), names       # (code-point order: radical and stroke for Chinese)
    # inside a group: by title, under an h3
    office = page.locator(".issuer-group", has_text="海澜市人民政府办公室")
    assert [t.strip() for t in office.locator("h3").all_inner_texts()] == ["乙类办事规则", "甲类办事规则"]
    # the most recently changed policy is named at the top
    assert "甲类办事规则" in page.locator(".recent-change").inner_text()
    # the English-only policy is listed, in English, said to be so, linked to its English page
    card = page.locator(".policy-card", has_text="Hailan Open Data App Terms")
    assert card.get_attribute("lang") == "en"
    assert "仅有英文版" in card.inner_text()
    assert card.locator("h3 a").get_attribute("href") == "en/app-terms/"
    headings = page.evaluate("[...document.querySelectorAll('h1, h2, h3')].map(h => +h.tagName[1])")
    assert all(b - a <= 1 for a, b in zip(headings, headings[1:])), headings


# --- a policy written only in English ------------------------------------------------------

@pytest.mark.parametrize("url", ["en/app-terms/", "en/elder/app-terms/", "en/app-terms/1.0/"])
def test_english_only_policy_is_english_throughout(url, new_page, extra_url):
    page = new_page()
    response = page.goto(extra_url + url)
    assert response.status == 200
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator(".skip-link").text_content().strip() == "Skip to main content"
    assert page.locator(".breadcrumb a").first.inner_text().strip() == "Home"
    # no Chinese interface text outside the policy's own words
    chrome = page.evaluate("""() => [...document.querySelectorAll('header, nav, footer, .policy-meta dt, .version-links, .toolbar')]
        .map(el => el.innerText).join(' ')""")
    assert not re.search(r"[\u4e00-\u9fff]", chrome), chrome
    alternates = page.evaluate("[...document.querySelectorAll('link[rel=alternate][hreflang]')].map(l => [l.hreflang, l.href])")
    assert [a[0] for a in alternates] == ["en"], alternates
    assert not page.locator(".lang-switch a").count(), "no script switch: there is no Chinese page"
    for other in ("app-terms/", "zh-hant/app-terms/", "zh-hant/" + url[3:], url[3:]):
        assert page.request.get(extra_url + other).status == 404, f"/{other} should not exist"


def test_sitemap_lists_english_only_policy_in_english_only():
    sitemap = (extra_site() / "sitemap.xml").read_text("utf-8")
    block = next(b for b in sitemap.split("<url>") if "/p/en/app-terms/</loc>" in b)
    assert re.findall(r'hreflang="([^"]+)"', block) == ["en"]
    assert "zh-hant/app-terms" not in sitemap


# --- the changes page -------------------------------------------------------------------------

def test_changes_page_groups_sub_sections_under_their_chapter_with_one_numbering(page, goto):
    goto(page, "platform-privacy/2.0/changes/")
    summary = page.locator(".changes-summary .change-list")
    assert page.locator(".changes-summary ol").count() == 0
    styles = summary.evaluate("ul => [...ul.querySelectorAll('ul, li')].map(el => getComputedStyle(el).listStyleType)")
    assert set(styles) == {"none"}, "the sections' own numbering only"
    chapter = summary.locator(":scope > li", has_text="一、我们收集的信息")
    assert "（一）账户注册与实名认证" in chapter.locator("ul").inner_text()
    # in the detail: the chapter's heading (h3), then its changed sub-sections (h4)
    heads = page.evaluate("""() => [...document.querySelectorAll('.changes-detail h3, .changes-detail h4')]
        .map(h => [h.tagName, h.textContent.trim()])""")
    i = next(k for k, (tag, text) in enumerate(heads) if text.startswith("（一）账户注册"))
    parent = next(text for tag, text in reversed(heads[:i]) if tag == "H3")
    assert heads[i][0] == "H4" and parent.startswith("一、我们收集的信息"), heads[:i + 1]
    # tables compared as tables: the header row, then the changed row cell by cell
    table = page.locator(".changes-detail table.diff-table").first
    head = table.locator("th").all_inner_texts()
    assert head[:2] == ["业务功能", "收集的信息"]
    row = table.locator("tbody tr").first
    assert row.locator("td").count() == len(head)
    assert row.locator("td del").count() and row.locator("td ins").count()


# --- screenshots to look at -----------------------------------------------------------------

SHOTS = {"phone-elder-policy-first-screen": ("elder/platform-privacy/", PHONE, False),
         "desktop-home": ("", {"width": 1280, "height": 900}, True),
         "desktop-changes": ("platform-privacy/2.0/changes/", {"width": 1280, "height": 900}, False),
         "phone-elder-changes": ("elder/platform-privacy/2.0/changes/", PHONE, False)}


@pytest.mark.parametrize("name", SHOTS)
def test_reading_screenshots(name, new_page, goto, cjk_font):
    url, size, full = SHOTS[name]
    page = new_page(viewport=size)
    goto(page, url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"reading-{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=full)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
