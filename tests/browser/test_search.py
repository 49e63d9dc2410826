"""The search page in Chromium over HTTP on 127.0.0.1: the sample site's real Pagefind index,
queried in either script, in every mode, by keyboard, without JavaScript, under the page's CSP."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from .conftest import sample_site
from .helpers import TARGETS
from .test_axe import report, run_axe

STATUS = "[data-search-status]"
CSP_WATCH = ("document.addEventListener('securitypolicyviolation', e => "
             "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")


@pytest.fixture
def spage(page):
    """The shared page, reporting every Content-Security-Policy violation as a console error."""
    if not getattr(page, "_csp_watch", False):
        page.add_init_script(CSP_WATCH)
        page._csp_watch = True
    return page


def wait_done(page) -> str:
    """Wait until the live region says how the query went (not 'searching…'); its text."""
    page.wait_for_function(f"""() => {{ const s = document.querySelector('{STATUS}');
        return s && s.textContent.trim() && !s.textContent.trim().endsWith('…'); }}""", timeout=20000)
    return page.inner_text(STATUS)


def query(page, goto, prefix: str, q: str) -> str:
    goto(page, f"{prefix}search/?q={quote(q)}")
    return wait_done(page)


def results(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('.search-result')].map(li => ({
        href: li.querySelector('.search-result-title a').href,
        title: li.querySelector('.search-result-title a').textContent,
        meta: li.querySelector('.search-result-meta').textContent,
        marks: [...li.querySelectorAll('mark')].map(m => m.textContent),
        sections: [...li.querySelectorAll('.search-result-sections a')].map(a => a.href),
    }))""")


def no_errors(page, what: str) -> None:
    assert not page.errors, f"{what}: errors in the console (CSP violations included): {page.errors}"


def test_simplified_query_on_the_traditional_page_finds_the_traditional_text(spage, goto, base_url):
    status = query(spage, goto, "zh-hant/", "人脸识别")
    found = results(spage)
    assert found, status
    assert "結果" in status and str(len(found)) in status
    first = found[0]
    assert first["href"].startswith(base_url + "zh-hant/platform-privacy/"), first
    assert "青川通辦" in first["title"], "the title in the reader's own script"
    assert "現行有效" in first["meta"] or "尚未生效" in first["meta"]
    assert first["marks"], "the words found are marked"
    assert first["sections"] and all("#s" in s for s in first["sections"])
    assert all(s.startswith(base_url + "zh-hant/platform-privacy/") for s in first["sections"])
    no_errors(spage, "zh-hant search")
    # the section link leads to a heading of the Traditional page
    spage.click(".search-result-sections a >> nth=0")
    spage.wait_for_load_state("load")
    assert spage.url.startswith(base_url + "zh-hant/platform-privacy/")
    target = spage.url.split("#", 1)[1]
    assert spage.evaluate("id => !!document.getElementById(id)", target)
    assert spage.evaluate("document.documentElement.lang") == "zh-Hant"


def test_traditional_query_on_the_simplified_page_finds_the_simplified_text(spage, goto, base_url):
    query(spage, goto, "", "人臉識別")
    found = results(spage)
    assert found
    assert found[0]["href"].startswith(base_url + "platform-privacy/")
    assert "青川通办" in found[0]["title"]
    no_errors(spage, "search")


@pytest.mark.parametrize("prefix", ["", "zh-hant/"])
def test_sections_found_in_both_scripts_are_listed_once_in_the_readers_own(prefix, spage, goto, base_url):
    """同意 is written the same in both scripts, so it matches each section's Simplified and
    Traditional text in the one index: each section is listed once, by its heading on the
    reader's own page, and its snippet is in the reader's script."""
    query(spage, goto, prefix, "同意")
    shown = spage.evaluate("""() => [...document.querySelectorAll('.search-result')].map(li => ({
        title: li.querySelector('.search-result-title a').textContent,
        sections: [...li.querySelectorAll('.search-result-sections a')].map(a => [a.href, a.textContent]),
        excerpts: [...li.querySelectorAll('.search-result-excerpt')].map(p => p.textContent)}))""")
    assert shown and any(r["sections"] for r in shown)
    for r in shown:
        hrefs = [h for h, _ in r["sections"]]
        assert len(hrefs) == len(set(hrefs)), f"a section listed twice: {r}"
        for href, text in r["sections"]:
            assert href.startswith(base_url + prefix) and "~" not in href, href
            page, anchor = href.split("#", 1)
            heading = spage.evaluate("""([url, id]) => fetch(url).then(r => r.text()).then(t => {
                const h = new DOMParser().parseFromString(t, 'text/html').getElementById(id);
                return h ? h.textContent.trim() : null; })""", [page, anchor])
            assert heading is not None, href
            assert text.endswith(heading), f"{text!r}: not the heading {heading!r} of {page}"
    # the snippets: in the reader's script (the Simplified page's have none of 們 與 個 資, the
    # Traditional page's none of 们 与 个 资)
    foreign = "们与个资这" if prefix else "們與個資這"
    snippets = "".join(e for r in shown for e in r["excerpts"])
    assert snippets and not [c for c in foreign if c in snippets], snippets
    no_errors(spage, f"{prefix}search 同意")


def test_the_same_words_in_each_script_find_the_same_pages(spage, goto):
    pages = {}
    for prefix, q in (("", "人脸识别"), ("", "人臉識別"), ("zh-hant/", "人臉識別"), ("zh-hant/", "人脸识别")):
        query(spage, goto, prefix, q)
        pages[(prefix, q)] = sorted(r["href"].split("/policies/", 1)[1].removeprefix("zh-hant/")
                                    for r in results(spage))
    assert len(set(map(tuple, pages.values()))) == 1, pages
    assert pages[("", "人脸识别")]


def test_a_query_with_no_results_is_announced(spage, goto):
    status = query(spage, goto, "", "龘靐齉")
    assert results(spage) == []
    assert "没有找到" in status and "龘靐齉" in status
    region = spage.locator(STATUS)
    assert region.get_attribute("role") == "status" and region.get_attribute("aria-live") == "polite"
    assert spage.locator("[data-search-results]").is_hidden()
    no_errors(spage, "no results")


def test_the_count_is_announced_in_english_too(spage, goto):
    status = query(spage, goto, "en/", "account")
    n = len(results(spage))
    assert n and (f"{n} results" in status or "1 result " in status), status


def test_elder_search_page_large_type_targets_and_elder_links(spage, goto, base_url):
    query(spage, goto, "elder/", "邮箱")
    found = results(spage)
    assert found
    assert all(r["href"].startswith(base_url + "elder/") for r in found), "results lead to 长者版 pages"
    assert all(s.startswith(base_url + "elder/") for r in found for s in r["sections"])
    size = spage.evaluate("parseFloat(getComputedStyle(document.querySelector('.search-result-excerpt')).fontSize)")
    body = spage.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert size >= 20 and body >= 20, (size, body)
    targets = spage.evaluate(TARGETS)
    small = [t for t in targets if not t["inline"] and (t["width"] < 44 - 0.01 or t["height"] < 44 - 0.01)]
    assert not small, "targets under 44×44 px: " + "; ".join(f"{t['html']} {t['width']:.0f}×{t['height']:.0f}"
                                                            for t in small)
    for sel in ("#search-q", ".search-form button", ".search-link"):
        box = spage.locator(sel).bounding_box()
        assert box["height"] >= 60, (sel, box)
    no_errors(spage, "elder search")


@pytest.mark.parametrize("prefix", ["", "elder/", "zh-hant/elder/"])
def test_axe_with_results_and_filters(prefix, spage, goto):
    query(spage, goto, prefix, "信息")
    assert results(spage)
    violations = run_axe(spage, elder="elder/" in prefix)
    assert not violations, f"/{prefix}search/ with results:\n" + report(violations)
    no_errors(spage, "axe")


def test_filters_by_issuer_and_state(spage, goto):
    query(spage, goto, "", "信息")
    before = results(spage)
    issuers = {r["meta"].split(" · ")[0] for r in before}
    assert len(issuers) > 1
    options = spage.eval_on_selector_all("#search-filter-issuer option", "os => os.map(o => o.textContent)")
    assert options[0] == "全部" and "海澜市人民政府办公室" in options, options
    assert spage.locator("#search-filter-state").count() == 1          # 现行有效 and 尚未生效
    spage.select_option("#search-filter-issuer", "海澜市人民政府办公室")
    spage.wait_for_function("n => document.querySelectorAll('.search-result').length !== n", arg=len(before))
    wait_done(spage)
    after = results(spage)
    assert after and all(r["meta"].startswith("海澜市人民政府办公室") for r in after)
    spage.select_option("#search-filter-state", "尚未生效")
    spage.wait_for_function("() => [...document.querySelectorAll('.search-result-meta')].every(m => m.textContent.includes('尚未生效'))")
    no_errors(spage, "filters")
    # the Traditional page offers the same filters, in its own script only (one index holds both)
    query(spage, goto, "zh-hant/", "信息")
    options = spage.eval_on_selector_all("#search-filter-issuer option", "os => os.map(o => o.textContent)")
    assert "海瀾市人民政府辦公室" in options and "海澜市人民政府办公室" not in options, options
    assert len(options) == 1 + len(issuers), options
    spage.select_option("#search-filter-issuer", "海瀾市人民政府辦公室")
    spage.wait_for_function("() => [...document.querySelectorAll('.search-result-meta')].length > 0 && "
                            "[...document.querySelectorAll('.search-result-meta')].every(m => m.textContent.startsWith('海瀾市人民政府辦公室'))")
    no_errors(spage, "filters, Traditional")


def test_keyboard_only(spage, goto, base_url):
    goto(spage, "search/")
    for _ in range(30):                                  # Tab from the top until the search box
        spage.keyboard.press("Tab")
        if spage.evaluate("document.activeElement.id") == "search-q":
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    spage.keyboard.type("人脸识别")
    spage.keyboard.press("Enter")
    status = wait_done(spage)
    assert "找到" in status
    assert spage.url.endswith("search/?q=" + quote("人脸识别")), "the query is in the address, to share or reload"
    first = spage.locator(".search-result-title a").first.evaluate("a => a.href")
    for _ in range(20):
        spage.keyboard.press("Tab")
        if spage.evaluate("document.activeElement.closest('.search-result-title') !== null"):
            break
    else:
        pytest.fail("the results cannot be reached with Tab")
    with spage.expect_navigation():
        spage.keyboard.press("Enter")
    assert spage.url == first and first.startswith(base_url + "platform-privacy/")
    no_errors(spage, "keyboard")


def test_without_javascript_the_form_leads_to_the_policies_list(new_page, goto, base_url):
    page = new_page(java_script_enabled=False)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    goto(page, "search/")
    assert page.locator("[data-search-nojs]").is_visible()
    links = page.eval_on_selector_all(".search-all-list a", "as => as.map(a => a.href)")
    out, _ = sample_site()
    policies = json.loads((out / "policies.json").read_text("utf-8"))["policies"]
    shown = [p for p in policies if "zh-Hans" in p["pages"]]
    assert base_url + "platform-privacy/" in links and len(links) == len(shown)
    page.fill("#search-q", "人脸识别")
    with page.expect_navigation():
        page.press("#search-q", "Enter")                 # a GET to the page itself (form-action 'self')
    assert page.url.startswith(base_url + "search/?q=")
    assert page.locator(".search-all-list a").count() == len(links), "the list of every policy, explained"
    assert page.locator("[data-search-nojs]").is_visible()
    assert not violations and not page.errors, violations + page.errors


def test_every_page_links_to_its_own_search_page(spage, goto, base_url):
    for url, expected in (("zh-hant/elder/platform-privacy/", "zh-hant/elder/search/"),
                          ("en/terms-of-use/", "en/search/"), ("platform-privacy/2.0/changes/", "search/")):
        goto(spage, url)
        link = spage.locator("header .search-link")
        assert link.count() == 1
        assert link.evaluate("a => a.href") == base_url + expected


# --- a large site's index, cut into shards (outputs/search.py), read by the same page ---------

@pytest.fixture(scope="module")
def sharded_url(tmp_path_factory):
    """The sample site built with a shard per policy or so (as a site of hundreds of policies is
    cut), served as the sample is: its base URL."""

    from policysite.outputs import search
    from policysite.pipeline import build

    from .conftest import ROOT, serving
    root = tmp_path_factory.mktemp("sharded")
    out = root / "policies"
    saved = search.POLICIES_PER_SHARD
    search.POLICIES_PER_SHARD = 1
    try:
        build(ROOT / "config.toml", out, use_cache=False)
    finally:
        search.POLICIES_PER_SHARD = saved
    assert len(list((out / "search/pagefind").glob("*/pagefind-entry.json"))) > 2
    with serving(out, root, "/policies/") as url:
        yield url


@pytest.mark.parametrize("prefix, q", [("", "人脸识别"), ("zh-hant/", "人脸识别"), ("", "人臉識別"),
                                       ("elder/", "邮箱"), ("en/", "account"), ("", "信息"),
                                       ("", "个人信息保护"), ("zh-hant/", "個人資料"), ("", "邮箱 删除"),
                                       ("", "人脸识别系统"), ("zh-hant/", "未成年人"), ("", "“隐私”")])
def test_a_sharded_index_finds_what_the_single_one_finds(prefix, q, spage, goto, base_url, sharded_url):
    def found(base):
        spage.goto(f"{base}{prefix}search/?q={quote(q)}", wait_until="load")
        status = wait_done(spage)
        hrefs = sorted(r["href"].removeprefix(base) for r in results(spage))
        issuers = spage.eval_on_selector_all("#search-filter-issuer option", "os => os.map(o => o.value)")
        return status, hrefs, sorted(issuers)
    single, sharded = found(base_url), found(sharded_url)
    assert single[1], single[0]
    assert sharded == single, (sharded, single)
    no_errors(spage, f"sharded search /{prefix}search/?q={q}")


# --- more results than a page shows: the rest on asking, the focus on the first of them ------

def write_site(site, title: str, policies: dict):
    """A site of the given policies (file name -> the rest of its frontmatter, then its body;
    effective 2024-01-01, version 1.0), dated 2026-11-22: its folder."""
    (site / "policies").mkdir(parents=True)
    (site / "config.toml").write_text(f'[site]\ntitle = "{title}"\nbase_url = "https://example.gov.cn/"\n'
                                      "today = 2026-11-22\n", "utf-8")
    for name, text in policies.items():
        (site / "policies" / name).write_text(f'---\neffective: 2024-01-01\nversion: "1.0"\n{text}', "utf-8")
    return site


@pytest.fixture(scope="module")
def many_url(tmp_path_factory):
    """A site of 27 policies that all speak of 无障碍 (so a query finds more than a page of
    results), built in this process and served on 127.0.0.1."""
    from policysite.pipeline import build

    from .conftest import ROOT, serving
    root = tmp_path_factory.mktemp("many")
    site = write_site(root / "site", "测试站点", {
        f"p{i:02d}.md": f"title: 第{i}号服务的隐私政策\nissuer: 测试市人民政府\n---\n"
                        f"## 一、总则\n\n本服务提供无障碍浏览功能，第{i}项说明。\n" for i in range(27)})
    out = root / "public"
    build(site / "config.toml", out, use_cache=False)
    with serving(out, out) as url:
        yield url


@pytest.mark.parametrize("prefix", ["", "elder/"])
def test_more_results_than_a_page_come_on_asking_by_keyboard(prefix, spage, many_url):
    spage.goto(f"{many_url}{prefix}search/?q={quote('无障碍')}", wait_until="load")
    status = wait_done(spage)
    assert "27" in status, status
    assert len(results(spage)) == 20
    more = spage.locator("[data-search-more] button")
    assert more.is_visible() and more.inner_text() == "显示更多结果"
    box = more.bounding_box()
    assert box["height"] >= (60 if prefix else 44) - 0.01, box
    violations = run_axe(spage, elder=bool(prefix))
    assert not violations, report(violations)
    more.focus()
    spage.keyboard.press("Enter")
    spage.wait_for_function("() => document.querySelectorAll('.search-result').length === 27")
    assert spage.locator("[data-search-more]").is_hidden(), "nothing more to show"
    focused = spage.evaluate("document.activeElement.closest('.search-result') === document.querySelectorAll('.search-result')[20]")
    assert focused, "the focus is on the first result added"
    assert len({r["href"] for r in results(spage)}) == 27, "each result once"
    no_errors(spage, "more results")


# --- a Traditional query on a Traditional page finds every page that has it ---------------

TRADITIONAL = ["本網站尊重並保護所有使用者的隱私權，依法處理您的個人資料。",
               "我們重視您的隱私，未經同意不會向第三方提供您的資料。",
               "關於隱私與個人資料保護的說明，請詳閱本條款。",
               "使用者得隨時查詢、更正或刪除其帳號資料；隱私相關問題請與本府聯絡。",
               "本平臺蒐集之隱私資訊僅用於身分核驗，不作其他用途。"]


@pytest.fixture(scope="module")
def traditional_urls(tmp_path_factory):
    """Policies written in Traditional (Pagefind's indexer cuts this text into single
    characters: 隱私 is indexed as 隱 and 私; one title, 隱私保護, it keeps whole, so that the
    index has a word beginning with 隱私), built as one index and in shards of one policy,
    served on 127.0.0.1: (the built folder, {"single": url, "sharded": url})."""
    from policysite.outputs import search
    from policysite.pipeline import build

    from .conftest import serving
    root = tmp_path_factory.mktemp("traditional")
    site = write_site(root / "site", "測試站點", {
        f"t{i}.md": f"title: {'隱私保護' if i == 0 else f'第{i}號條款'}\nissuer: 測試市政府\nlang: zh-Hant\n---\n"
                    f"## 一、總則\n\n{text}\n" for i, text in enumerate(TRADITIONAL)})
    saved = search.POLICIES_PER_SHARD
    try:
        for name, per in (("single", 64), ("sharded", 1)):
            search.POLICIES_PER_SHARD = per
            build(site / "config.toml", root / name, use_cache=False)
    finally:
        search.POLICIES_PER_SHARD = saved
    with serving(root / "single", root / "single") as single, serving(root / "sharded", root / "sharded") as sharded:
        yield root / "single", {"single": single, "sharded": sharded}


@pytest.mark.parametrize("q", ["隱私", "個人資料", "資料", "刪除", "帳號", "聯絡", "同意", "隱私權"])
@pytest.mark.parametrize("index", ["single", "sharded"])
def test_a_traditional_query_finds_every_traditional_page_that_has_it(q, index, spage, traditional_urls):
    """Pagefind's indexer cuts Traditional text mostly into single characters, the browser a
    query into words: the query as typed missed pages (on imported real policies 隱私 found one
    of four: the one whose title the indexer kept whole, as here). Every policy whose Traditional page has the words is found, sharded or
    not; which pages have them is read from the built site."""
    import re

    out, urls = traditional_urls
    wanted = set()
    for page in sorted(out.glob("zh-hant/t*/index.html")):      # (the site's own script is Simplified)
        main = re.search(r"<main\b.*?</main>", page.read_text("utf-8"), re.S)
        if q in re.sub(r"<[^>]+>", "", main.group(0)):
            wanted.add(f"zh-hant/{page.parent.name}/")
    assert wanted, q
    base = urls[index]
    spage.goto(f"{base}zh-hant/search/?q={quote(q)}", wait_until="load")
    status = wait_done(spage)
    found = {r["href"].removeprefix(base) for r in results(spage)}
    assert wanted <= found, (q, status, sorted(wanted - found))
    no_errors(spage, f"/zh-hant/search/?q={q}")


# --- an edit to a sharded index: the recent bundle, and the answers a fresh build gives --------

@pytest.fixture(scope="module")
def edited_urls(tmp_path_factory):
    """Six policies in shards of one, built, then one of them edited (a phrase taken out, another
    put in) and built again with the cache, so that the edit is in the recent bundle; beside it
    the same edited site built fresh. Served on 127.0.0.1: {"incremental": url, "fresh": url}."""
    from policysite.outputs import search
    from policysite.pipeline import build

    from .conftest import serving
    root = tmp_path_factory.mktemp("edited")
    site = write_site(root / "site", "测试站点", {
        f"p{i}.md": f"title: 第{i}号服务的隐私政策\nissuer: 测试市人民政府\n---\n"
                    f"## 一、总则\n\n本服务提供无障碍浏览功能，我们保护您的个人信息。\n\n## 二、第{i}项\n\n第{i}项服务的说明。\n"
        for i in range(6)})
    saved = search.POLICIES_PER_SHARD
    search.POLICIES_PER_SHARD = 1
    try:
        build(site / "config.toml", root / "incremental")
        edited = site / "policies" / "p2.md"
        edited.write_text(edited.read_text("utf-8").replace("无障碍浏览", "适老化改造"), "utf-8")
        build(site / "config.toml", root / "incremental")
        build(site / "config.toml", root / "fresh", use_cache=False)
    finally:
        search.POLICIES_PER_SHARD = saved
    entry = json.loads((root / "incremental" / search.recent_folder("p2") / "pagefind-entry.json").read_text("utf-8"))
    assert entry["hides"] == ["p2"], entry
    assert not list((root / "fresh/search/pagefind").glob("recent-*"))
    with serving(root / "incremental", root / "incremental") as inc, serving(root / "fresh", root / "fresh") as fresh:
        yield {"incremental": inc, "fresh": fresh}


@pytest.mark.parametrize("prefix, q", [("", "适老化"), ("", "无障碍"), ("", "隐私"), ("zh-hant/", "適老化"),
                                       ("zh-hant/", "無障礙"), ("elder/", "个人信息"), ("", "第2项")])
def test_an_edit_in_the_recent_bundle_answers_as_a_fresh_build(prefix, q, spage, edited_urls):
    """The edited policy is found by its new words, not by the ones taken out, and once; every
    other answer is the fresh build's."""
    def found(base):
        spage.goto(f"{base}{prefix}search/?q={quote(q)}", wait_until="load")
        status = wait_done(spage)
        return status, sorted(r["href"].removeprefix(base) for r in results(spage))
    incremental, fresh = found(edited_urls["incremental"]), found(edited_urls["fresh"])
    assert incremental == fresh, (incremental, fresh)
    hrefs = incremental[1]
    assert len(hrefs) == len(set(hrefs)), hrefs
    if q in ("适老化", "適老化"):
        assert [h.rstrip("/").split("/")[-1] for h in hrefs] == ["p2"], hrefs
    if q in ("无障碍", "無障礙"):
        assert hrefs and not any(h.rstrip("/").endswith("p2") for h in hrefs), hrefs
    no_errors(spage, f"/{prefix}search/?q={q}")


# --- three Chinese locales in the one index: Hong Kong Traditional beside Taiwan's ----------

@pytest.fixture(scope="module")
def hk_url(tmp_path_factory):
    """Five policies in a site with a zh-Hant-HK locale beside zh-Hant, in shards of one (each
    holds the three Chinese locales' text, one record a version), served on 127.0.0.1."""
    from policysite.outputs import search
    from policysite.pipeline import build

    from .conftest import serving
    root = tmp_path_factory.mktemp("hk")
    site = write_site(root / "site", "测试站点", {
        f"p{i}.md": f"title: 第{i}号服务的隐私政策\nissuer: {'测试市数据局' if i % 2 else '测试市人民政府'}\n---\n"
                    f"## 一、总则\n\n{'我们随着服务发展着力保护您的头发检测信息。' if i == 3 else '我们保护您的个人信息。'}\n\n"
                    f"## 二、第{i}项\n\n第{i}项服务的说明。\n"
        for i in range(5)})
    # a section written the same in Hong Kong's and Taiwan's script (held once), and an id of
    # Chinese characters (percent-encoded in Pagefind's sub-result URLs)
    (site / "policies" / "p5.md").write_text(
        '---\neffective: 2024-01-01\nversion: "1.0"\ntitle: 设备管理规则\nissuer: 测试市人民政府\n---\n'
        "## 一、设备管理\n\n普通章节的内容，包含设备信息。\n\n## 二、数据收集 {#数据收集}\n\n普通的数据收集说明。\n", "utf-8")
    with (site / "config.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[locales]]\ntag = "zh-Hant-HK"\nprefix = "zh-hk"\nstandard = "s2hk"\nstrings = "zh-Hant"\n'
                'speech = "zh-HK"\n')
    saved = search.POLICIES_PER_SHARD
    search.POLICIES_PER_SHARD = 1
    try:
        build(site / "config.toml", root / "public", use_cache=False)
    finally:
        search.POLICIES_PER_SHARD = saved
    entries = sorted((root / "public/search/pagefind").glob("*/pagefind-entry.json"))
    assert len(entries) > 1 and all(set(json.loads(e.read_text("utf-8"))["languages"]) == {"zh"} for e in entries)
    with serving(root / "public", root / "public") as url:
        yield url


@pytest.mark.parametrize("prefix, q", [("zh-hk/", "頭髮"), ("zh-hk/", "头发"), ("zh-hant/", "頭髮"), ("", "頭髮"),
                                       ("zh-hk/", "隨着"), ("zh-hant/", "隨著")])
def test_each_chinese_locale_finds_its_own_page_in_the_shared_index(prefix, q, spage, hk_url):
    spage.goto(f"{hk_url}{prefix}search/?q={quote(q)}", wait_until="load")
    status = wait_done(spage)
    found = results(spage)
    assert [r["href"] for r in found] == [f"{hk_url}{prefix}p3/"], (q, status, found)
    # the title, the issuer and the sections as the reader's own page has them
    page = spage.evaluate("""url => fetch(url).then(r => r.text()).then(t => {
        const d = new DOMParser().parseFromString(t, 'text/html');
        return {h1: d.querySelector('main h1').textContent.trim(), lang: d.documentElement.lang,
                s1: d.getElementById('s1').textContent.trim()}; })""", found[0]["href"])
    assert page["lang"] == {"zh-hk/": "zh-Hant-HK", "zh-hant/": "zh-Hant", "": "zh-Hans"}[prefix]
    assert found[0]["title"] == page["h1"], (found[0]["title"], page)
    links = spage.eval_on_selector_all(".search-result-sections a", "as => as.map(a => [a.href, a.textContent])")
    assert [h for h, _ in links] == [f"{hk_url}{prefix}p3/#s1"], links
    assert links[0][1].endswith(page["s1"]), ("the section by its heading on the reader's page", links, page)
    no_errors(spage, f"{prefix}search {q}")


def test_the_hong_kong_page_offers_its_own_scripts_filters(spage, hk_url):
    spage.goto(f"{hk_url}zh-hk/search/?q={quote('信息')}", wait_until="load")
    wait_done(spage)
    options = spage.eval_on_selector_all("#search-filter-issuer option", "os => os.map(o => o.textContent)")
    assert len(options) == 3, options                      # any, and the two issuers, once each
    assert not [o for o in options[1:] if ":" in o], options
    spage.select_option("#search-filter-issuer", options[1])
    spage.wait_for_function("o => [...document.querySelectorAll('.search-result-issuer')].length > 0 && "
                            "[...document.querySelectorAll('.search-result-issuer')].every(m => m.textContent === o)",
                            arg=options[1])
    hrefs = [r["href"] for r in results(spage)]
    assert hrefs and all(h.startswith(f"{hk_url}zh-hk/") for h in hrefs)
    no_errors(spage, "zh-hk filters")


@pytest.mark.parametrize("prefix", ["zh-hk/", "zh-hant/", "zh-hk/elder/"])
def test_a_query_the_scripts_share_shows_the_readers_headings_and_snippets(prefix, spage, hk_url):
    """普通 is written the same in every script, so it matches each copy of a section; Hong Kong's
    copy, the same as Taiwan's, is held once: the Hong Kong page shows the Traditional one."""
    spage.goto(f"{hk_url}{prefix}search/?q={quote('普通')}", wait_until="load")
    wait_done(spage)
    shown = spage.evaluate("""() => [...document.querySelectorAll('.search-result')].map(li => ({
        href: li.querySelector('.search-result-title a').href,
        sections: [...li.querySelectorAll('.search-result-sections a')].map(a => [a.href, a.textContent]),
        excerpts: [...li.querySelectorAll('.search-result-excerpt')].map(p => p.textContent)}))""")
    assert [r["href"] for r in shown] == [f"{hk_url}{prefix}p5/"], shown
    links = shown[0]["sections"]
    assert len(links) == 2, links
    for href, text in links:
        page, anchor = href.split("#", 1)
        heading = spage.evaluate("""([url, id]) => fetch(url).then(r => r.text()).then(t => {
            const h = new DOMParser().parseFromString(t, 'text/html').getElementById(decodeURIComponent(id));
            return h ? h.textContent.trim() : null; })""", [page, anchor])
        assert heading and text.endswith(heading), (text, heading, href)
    snippets = "".join(shown[0]["excerpts"])
    assert snippets and not [c for c in "设节数据说" if c in snippets], snippets
    no_errors(spage, f"{prefix}search 普通")


# --- a Traditional text written by hand, cut into other sections than the Simplified one --------

@pytest.fixture(scope="module")
def cut_url(tmp_path_factory):
    """A policy whose Traditional text is written by hand with sections of its own (#storage) and
    without one of the Simplified text's (#rights), served on 127.0.0.1."""
    from policysite.pipeline import build

    from .conftest import serving
    root = tmp_path_factory.mktemp("cut")
    site = write_site(root / "site", "测试站点", {
        "a.md": "title: 数据规则\nissuer: 测试市人民政府\n---\n"
                "## 一、总则 {#general}\n\n我们使用人脸识别核验您的身份。\n\n"
                "## 二、您的权利 {#rights}\n\n您可以查阅和更正您的资料，也可以撤回同意。\n"})
    (site / "policies" / "a.zh-Hant.md").write_text(
        '---\neffective: 2024-01-01\nversion: "1.0"\ntitle: 數據規則\nissuer: 測試市人民政府\nlang: zh-Hant\nslug: a\n---\n'
        "## 一、總則 {#general}\n\n我們使用人臉識別核驗您的身分。\n\n"
        "## 二、資料存放 {#storage}\n\n您的資料存放於境內伺服器。\n\n"
        "## 三、問與答 {#問答}\n\n常見問題的答覆。\n", "utf-8")
    out = root / "public"
    build(site / "config.toml", out, use_cache=False)
    with serving(out, out) as url:
        yield url


@pytest.mark.parametrize("prefix, q, section", [
    ("", "伺服器", None),             # only the Traditional page has #storage
    ("zh-hant/", "伺服器", "storage"),
    ("zh-hant/", "撤回", None),         # only the Simplified page has #rights
    ("", "撤回", "rights"),
    ("", "人脸识别", "general"), ("zh-hant/", "人脸识别", "general"),
    ("", "答覆", None), ("zh-hant/", "答覆", "%E5%95%8F%E7%AD%94")])     # an id of Chinese characters
def test_a_section_only_the_other_text_has_is_not_linked(prefix, q, section, spage, cut_url):
    """A match in a section that the reader's page lacks still finds the policy, and the result
    opens the page itself, not an anchor the page does not have."""
    spage.goto(f"{cut_url}{prefix}search/?q={quote(q)}", wait_until="load")
    status = wait_done(spage)
    found = results(spage)
    assert [r["href"] for r in found] == [f"{cut_url}{prefix}a/"], (q, status, found)
    assert found[0]["sections"] == ([f"{cut_url}{prefix}a/#{section}"] if section else []), found
    for href in found[0]["sections"]:
        page, anchor = href.split("#", 1)
        assert spage.evaluate("""([url, id]) => fetch(url).then(r => r.text()).then(t =>
            !!new DOMParser().parseFromString(t, 'text/html').getElementById(decodeURIComponent(id)))""",
                              [page, anchor]), href
    no_errors(spage, f"{prefix}search {q}")
