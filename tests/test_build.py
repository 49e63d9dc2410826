"""The foundation: policies in, an accessible static site out (issue 2)."""
from __future__ import annotations

import re

from lxml import etree

from conftest import check_links, html_pages, parse_html, text_of

BODY = """\
## 一、总则

本政策适用于本网站。++您使用本网站即表示同意本政策。++

### （一）适用范围

第一条 本条款适用于所有用户。

1.1 子条款保持原有编号。

## 二、信息收集 {#collect}

| 业务 | 信息 |
|---|---|
| 申请 | 姓名 |

见脚注[^1]。

[^1]: 脚注。
"""


def test_sample_site_every_page_and_link(sample_site):
    pages = html_pages(sample_site)
    assert (sample_site / "index.html").exists()
    assert (sample_site / "404.html").exists()
    assert (sample_site / "sitemap.xml").exists()
    assert (sample_site / "robots.txt").exists()
    assert len(pages) > 20
    assert check_links(sample_site) == []


def test_every_page_switches_to_its_elder_counterpart_and_back(sample_site):
    """Standard ↔ 长者版, both ways, in the header and the footer, on every page; the site root's
    home (whose URL is the empty string) included."""
    import posixpath
    for page in html_pages(sample_site):
        rel = page.relative_to(sample_site).as_posix()
        if rel == "404.html" or rel.startswith("static/"):
            continue
        url = rel[: -len("index.html")]
        prefix = next((p for p in ("zh-hant/", "zh-hans/", "en/") if url.startswith(p)), "")
        rest = url[len(prefix):]
        elder = rest.startswith("elder/")
        other = prefix + (rest[len("elder/"):] if elder else "elder/" + rest)
        doc = parse_html(page)
        links = [a.get("href") for a in doc.iter("a") if a.get("data-keep-hash") is not None
                 and a.get("data-lang-choice") is None]
        assert len(links) == 2, f"{url}: {links}"                   # header switch and footer link
        for href in links:
            target = posixpath.normpath(posixpath.join("/" + url, href)).lstrip("/")
            assert target + "/" == other or (target == "" and other == ""), f"{url}: {href} → {target}"
        switch = doc.find(".//a[@class='mode-switch']")
        assert switch is not None and switch.get("data-mode-choice") == ("standard" if elder else "elder")


def test_sample_home_lists_every_policy_with_metadata(sample_site):
    home = parse_html(sample_site / "index.html")
    cards = home.findall(".//li[@class='policy-card']")
    slugs = sorted(p.name for p in sample_site.iterdir() if p.is_dir() and (p / "index.html").exists()
                   and p.name not in ("elder", "zh-hant", "en", "static", "search"))
    assert len(cards) == len(slugs) >= 4
    for card in cards:
        text = text_of(card)
        assert "发布机构" in text and "版本" in text and "生效日期" in text
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", text)


def test_policy_page_structure(project):
    project.policy("privacy.md", BODY, status="trial", published='"2023-12-20 16:23"',
                   contact="\n  phone: \"0571-00000000\"\n  fax: \"0571-00000001\"\n  email: a@example.gov.cn\n  person: 王女士")
    project.build()
    doc = project.page("privacy/")
    assert doc.getroot().get("lang") == "zh-Hans"
    assert len(doc.findall(".//h1")) == 1
    assert text_of(doc.find(".//h1")) == "测试政策"
    crumbs = [text_of(li).strip() for li in doc.findall(".//nav[@class='breadcrumb wrap']//li")]
    assert crumbs == ["首页", "测试政策"]
    meta = text_of(doc.find(".//dl[@class='policy-meta']"))
    for expected in ("测试市人民政府", "1.0", "2024年1月1日", "2023年12月20日 16:23", "试行"):
        assert expected in meta
    toc = [(a.get("href"), text_of(a)) for a in doc.findall(".//nav[@class='toc']//a")]
    assert toc == [("#s1", "一、总则"), ("#s1-1", "（一）适用范围"), ("#collect", "二、信息收集")]
    body = doc.find(".//div[@class='policy-body']")
    assert body.find(".//h2[@id='s1']") is not None
    assert body.find(".//table") is not None
    assert body.find(".//sup[@id='fnref:1']") is not None
    key = body.find(".//strong[@class='key-clause']")
    # (issue 16) a key clause starts with a visually hidden label that screen readers say
    assert text_of(key) == "重要条款：您使用本网站即表示同意本政策。"
    assert text_of(key.find("span[@class='visually-hidden']")) == "重要条款："
    text = text_of(body)
    assert "第一条 本条款" in text and "1.1 子条款" in text      # numbering stays as written
    contact = text_of(doc.find(".//section[@class='contact']"))
    for expected in ("王女士", "0571-00000000", "0571-00000001", "a@example.gov.cn"):
        assert expected in contact
    assert doc.find(".//footer") is not None and doc.find(".//main[@id='main']") is not None
    assert check_links(project.out) == []


def test_heading_ids_are_ascii_and_same_in_both_scripts(project):
    project.policy("privacy.md", BODY)
    project.build()
    hans = [h.get("id") for h in project.page("privacy/").iter("h2", "h3")]
    hant = [h.get("id") for h in project.page("zh-hant/privacy/").iter("h2", "h3")]
    assert hans == hant
    assert all(i and i.isascii() for i in hans)


def test_headings_normalised_one_h1_no_skipped_levels(project):
    project.policy("p.md", "# 一、甲\n\n#### 跳到四级\n\n# 二、乙\n")
    project.build()
    levels = [int(h.tag[1]) for h in project.page("p/").iter("h1", "h2", "h3", "h4", "h5", "h6")
              if h.getparent().get("class") == "policy-body"]
    assert levels == [2, 3, 2]


def test_versions_current_and_drafts(project):
    project.policy("terms/1.0.md", effective="2020-01-01", version='"1.0"', title="旧条款")
    project.policy("terms/2.0.md", effective="2024-01-01", version='"2.0"', title="现行条款")
    project.policy("terms/3.0.md", effective="2030-01-01", version='"3.0"', title="将来条款")
    project.policy("terms/4.0.md", effective="2031-01-01", version='"4.0"', title="草稿条款", status="draft")
    project.build()
    assert text_of(project.page("terms/").find(".//h1")) == "现行条款"
    for v in ("1.0", "2.0", "3.0"):
        assert (project.out / "terms" / v / "index.html").exists()
    assert not (project.out / "terms" / "4.0").exists()
    assert "尚未生效" in text_of(project.page("terms/3.0/").find(".//main"))
    assert "已被新版本取代" in text_of(project.page("terms/1.0/").find(".//main"))
    project.build(drafts=True)
    assert (project.out / "terms" / "4.0" / "index.html").exists()


def test_today_pinned_in_config_decides_current(project):
    project.policy("t/1.0.md", effective="2020-01-01", version='"1.0"', title="一")
    project.policy("t/2.0.md", effective="2024-01-01", version='"2.0"', title="二")
    project.config('[site]\ntitle = "x"\ntoday = 2023-06-01\n')
    project.build()
    assert text_of(project.page("t/").find(".//h1")) == "一"


def test_relative_links_are_what_posixpath_relpath_gives():
    """render.relative computes links without posixpath.relpath's abspath (a measured cost):
    for every pair of site paths, odd ones included, it must give what relpath gives."""
    import itertools
    import posixpath

    from policysite.render import relative
    parts = ["", "privacy", "2.0", "zh-hant", "elder", "static", "a.css", ".", ".."]
    paths = {"/".join(p) for n in (1, 2, 3) for p in itertools.product(parts, repeat=n)}
    paths = sorted(p for p in paths if not p.startswith("/"))
    for start, target in itertools.product(paths[::3], paths):
        want_start = start.rstrip("/") or "."
        if target.endswith("/") or target == "":
            want = posixpath.relpath(target.rstrip("/") or ".", want_start)
            want = "./" if want == "." else want + "/"
        else:
            want = posixpath.relpath(target, want_start)
        assert relative(start, target + "#s") == want + "#s", (start, target)


def test_links_are_relative_and_work_under_a_subpath(project):
    project.policy("a.md", "## 一\n\n见[乙](policy:b#s1)。\n")
    project.policy("b.md", title="乙")
    project.build()
    for page in html_pages(project.out):
        if page.name == "404.html":
            continue
        for el in parse_html(page).iter():
            if isinstance(el.tag, str):
                for attr in ("href", "src"):
                    ref = el.get(attr) or ""
                    assert not ref.startswith("/"), (page, ref)
    link = project.page("a/").find(".//div[@class='policy-body']//a")
    assert link.get("href") == "../b/#s1"
    link = project.page("zh-hant/elder/a/1.0/").find(".//div[@class='policy-body']//a")
    assert link.get("href") == "../../b/#s1"
    assert check_links(project.out) == []


def test_sitemap_robots_canonical(project):
    project.policy("a.md")
    project.build()
    tree = etree.parse(str(project.out / "sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    locs = [e.text for e in tree.findall(".//s:loc", ns)]
    assert "https://example.gov.cn/p/a/" in locs and "https://example.gov.cn/p/zh-hant/a/" in locs
    url = next(u for u in tree.findall("s:url", ns) if u.find("s:loc", ns).text == "https://example.gov.cn/p/a/")
    alts = {l.get("hreflang"): l.get("href") for l in url.findall("x:link", ns)}
    assert alts == {"zh-Hans": "https://example.gov.cn/p/a/", "zh-Hant": "https://example.gov.cn/p/zh-hant/a/",
                    "x-default": "https://example.gov.cn/p/a/"}
    assert "Sitemap: https://example.gov.cn/p/sitemap.xml" in (project.out / "robots.txt").read_text()
    canon = project.page("a/").find(".//link[@rel='canonical']")
    assert canon.get("href") == "https://example.gov.cn/p/a/"


def test_404_page_uses_site_root_links(project):
    project.policy("a.md")
    project.build()
    doc = project.page("404.html")
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert "/p/" in hrefs
    assert doc.find(".//link[@rel='stylesheet']").get("href") == "/p/static/site.css"
    # no counterparts of its own: the script switch and 长者版 switch offer the home pages
    assert "/p/zh-hant/" in hrefs and "/p/elder/" in hrefs
    assert doc.find(".//a[@class='mode-switch']").get("href") == "/p/elder/"
    assert doc.find(".//link[@hreflang]") is None
    assert doc.find(".//link[@type='application/atom+xml']").get("href") == "/p/feed.xml"


def test_template_override(project):
    project.policy("a.md")
    (project.root / "overrides").mkdir()
    (project.root / "overrides" / "404.html").write_text('{% extends "base.html" %}{% block main %}<h1>自定义</h1>{% endblock %}')
    project.build()
    assert text_of(project.page("404.html").find(".//h1")) == "自定义"


def test_ui_strings_come_from_tables(project):
    project.policy("a.md")
    strings = project.root / "templates" / "strings" / "zh-Hans.toml"
    strings.parent.mkdir()
    strings.write_text('contents = "本文目录"\n', "utf-8")          # only the key it changes
    project.build()
    assert text_of(project.page("a/").find(".//nav[@class='toc']/h2")) == "本文目录"


def test_read_aloud_language_follows_the_script_and_standard(project):
    project.policy("a.md")
    project.build()
    assert project.page("a/").getroot().get("data-speech-lang") == "zh-CN"
    assert project.page("zh-hant/elder/a/").getroot().get("data-speech-lang") == "zh-TW"
    project.config("""
        [site]
        title = "测试站点"
        today = 2026-11-22
        [scripts]
        traditional = "s2hk"
        """)
    project.build()
    assert project.page("zh-hant/elder/a/").getroot().get("data-speech-lang") == "zh-HK"
