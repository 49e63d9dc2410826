"""Versions, history, changes, feeds and policies.json, on a policy with three versions:
a past one (superseded), the current one, and an upcoming one."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from lxml import etree

from conftest import check_links, html_pages, text_of
from policysite.changes import diff_sections, inline_ops, sections_of
from policysite.markup import render_markdown

ATOM = "{http://www.w3.org/2005/Atom}"

V1 = """\
## 一、总则

本办法适用于本平台处理个人信息的活动。

## 二、信息的保存

咨询记录自办结之日起保存三年。

日志信息保存六个月。

## 三、联系我们

请发送电子邮件至 privacy@example.gov.cn 联系我们。
"""

V2 = """\
## 一、总则

本办法适用于本平台处理个人信息的活动。

## 二、人脸识别

人脸识别只用于实名认证，比对完成后立即删除原始图像。

## 三、信息的保存

咨询记录自办结之日起保存五年。

日志信息保存六个月。

## 四、联系我们

请发送电子邮件至 privacy@example.gov.cn 联系我们。
"""

V3 = """\
## 一、总则

本办法适用于本平台处理个人信息的活动。

## 二、人脸识别

人脸识别只用于实名认证，比对完成后立即删除原始图像。

## 三、信息的保存

咨询记录自办结之日起保存五年。

## 四、联系我们

请发送电子邮件至 pip@example.gov.cn 联系我们，我们将在十个工作日内答复。
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import Project
    project = Project(tmp_path_factory.mktemp("versions") / "site")
    project.policy("privacy/1.0.md", V1, title="个人信息保护办法", version='"1.0"', effective="2022-10-28",
                   published="2022-10-20")
    project.policy("privacy/2.0.md", V2, title="个人信息保护办法", version='"2.0"', effective="2024-07-01",
                   published="2024-06-15", summary="新增人脸识别的规定，延长咨询记录的保存期限。")
    project.policy("privacy/2.1.md", V3, title="个人信息保护办法", version='"2.1"', effective="2027-01-01",
                   published="2026-11-16 09:30:00")
    project.policy("terms.md", title="服务条款", effective="2023-03-01")
    project.build()
    return project


def test_every_page_and_link_resolves(site):
    assert check_links(site.out) == []
    for variant in ("", "zh-hant/", "elder/", "zh-hant/elder/"):
        for page in ("privacy/history/", "privacy/1.0/", "privacy/2.0/", "privacy/2.1/",
                     "privacy/2.0/changes/", "privacy/2.1/changes/"):
            assert (site.out / variant / page / "index.html").is_file(), variant + page
    # the first version has nothing to compare with; a single-version policy has no changes page
    assert not (site.out / "privacy/1.0/changes").exists()
    assert not (site.out / "terms/1.0/changes").exists()


def test_current_page_names_version_date_and_links_history(site):
    doc = site.page("privacy/")
    header = text_of(doc.find(".//header[@class='policy-header']"))
    assert "第 2.0 版，自 2024年7月1日 起施行" in header
    assert "新的第 2.1 版将于 2027年1月1日 起施行" in header
    links = {text_of(a): a.get("href") for a in doc.iterfind(".//ul[@class='version-links']//a")}
    assert links["版本历史（共 3 版）"] == "history/"
    assert links["与第 1.0 版相比的变化"] == "2.0/changes/"
    assert links["本版本的固定链接"] == "2.0/"


def test_superseded_and_upcoming_banners(site):
    old = site.page("privacy/1.0/")
    banner = old.find(".//p[@class='notice notice-superseded']")
    assert banner is not None and banner.find("a").get("href") == "../"
    assert "2.0" in text_of(banner)
    upcoming = site.page("zh-hant/privacy/2.1/")
    note = text_of(upcoming.find(".//p[@class='notice notice-upcoming']"))
    assert "2027年1月1日" in note and "尚未生效" in note
    assert upcoming.getroot().get("lang") == "zh-Hant"


@pytest.mark.parametrize("prefix,lang,words", [("", "zh-Hans", ("版本历史", "尚未生效", "已被新版本取代")),
                                                ("zh-hant/", "zh-Hant", ("版本歷史", "尚未生效", "已被新版本取代")),
                                                ("elder/", "zh-Hans", ("版本历史", "现行有效")),
                                                ("zh-hant/elder/", "zh-Hant", ("版本歷史", "現行有效"))])
def test_history_page_lists_every_version_with_dates_and_state(site, prefix, lang, words):
    doc = site.page(prefix + "privacy/history/")
    assert doc.getroot().get("lang") == lang
    assert len(doc.findall(".//h1")) == 1
    entries = doc.findall(".//ol[@class='version-history']/li")
    assert [text_of(e.find("h2")).strip() for e in entries] == ["第 2.1 版", "第 2.0 版", "第 1.0 版"]
    states = [e.get("class").split()[-1] for e in entries]
    assert states == ["version-upcoming", "version-current", "version-superseded"]
    times = [[t.get("datetime") for t in e.iter("time")] for e in entries]
    assert times == [["2027-01-01", "2026-11-16T09:30:00"], ["2024-07-01", "2024-06-15"], ["2022-10-28", "2022-10-20"]]
    assert entries[0].find("h2/a").get("href") == "../2.1/"
    changes = [a.get("href") for e in entries for a in e.iterfind("p/a")]
    assert changes == ["../2.1/changes/", "../2.0/changes/"]
    body = text_of(doc.find(".//main"))
    for w in words:
        assert w in body
    if "elder" in prefix:
        sheets = [link.get("href") for link in doc.iterfind(".//link[@rel='stylesheet']")]
        assert any(h.endswith("static/elder.css") for h in sheets)


def sections(doc):
    return doc.xpath(".//section[starts-with(@class, 'change-section')]")


def test_changes_page_summary_and_section_matching(site):
    doc = site.page("privacy/2.0/changes/")
    assert text_of(doc.find(".//h1")) == "第 1.0 版到第 2.0 版的变化"
    summary = doc.find(".//section[@class='changes-summary']")
    items = [text_of(li).split() for li in summary.iterfind("ul/li")]
    # the inserted section is "added"; 信息的保存 changed; 联系我们 only moved from 三 to 四 (its title changed)
    assert items == [["二、人脸识别", "新增"], ["三、信息的保存", "修改"], ["四、联系我们", "修改"]]
    assert "共 3 个部分有变化：修改 2 个，新增 1 个，删除 0 个；另有 1 个部分没有变化。" in text_of(summary)
    for a in summary.iterfind(".//a"):
        assert doc.find(f".//*[@id='{a.get('href')[1:]}']") is not None


def test_changes_are_character_level_with_ins_del_markers_and_sr_text(site):
    doc = site.page("privacy/2.0/changes/")
    section = next(s for s in sections(doc) if "信息的保存" in text_of(s.find("h3")))
    modified = section.find(".//div[@class='change-block change-block-modify']/p[@class='diff-text']")
    assert text_of(modified.find("del")) == "【删除开始】三【删除结束】"
    assert text_of(modified.find("ins")) == "【新增开始】五【新增结束】"
    hidden = modified.findall(".//span[@class='visually-hidden']")
    assert [text_of(h) for h in hidden] == ["【删除开始】", "【删除结束】", "【新增开始】", "【新增结束】"]
    assert "本部分另有 1 段没有变化。" in text_of(section)
    added = next(s for s in sections(doc) if "人脸识别" in text_of(s.find("h3")))
    block = added.find(".//div[@class='change-block change-block-insert']")
    assert text_of(block.find("p[@class='block-label']")) == "新增段落"
    assert "比对完成后立即删除原始图像" in text_of(block.find(".//ins"))
    # links to the section in each version resolve (checked site-wide too)
    hrefs = [a.get("href") for a in section.iterfind(".//p[@class='change-links']/a")]
    assert hrefs == ["../#s3", "../../1.0/#s2"]


def test_changes_between_current_and_upcoming_version(site):
    doc = site.page("privacy/2.1/changes/")
    items = [text_of(li).split() for li in doc.find(".//section[@class='changes-summary']").iterfind("ul/li")]
    assert items == [["三、信息的保存", "修改"], ["四、联系我们", "修改"]]
    section = next(s for s in sections(doc) if "信息的保存" in text_of(s.find("h3")))
    block = section.find(".//div[@class='change-block change-block-delete']")
    assert "日志信息保存六个月。" in text_of(block.find(".//del"))
    contact = next(s for s in sections(doc) if "联系我们" in text_of(s.find("h3")))
    diff = contact.find(".//p[@class='diff-text']")
    assert [text_of(d) for d in diff.iterfind("del")] == ["【删除开始】privacy【删除结束】"]
    assert "pip" in text_of(diff.find("ins"))


def test_changes_in_traditional_script_and_elder(site):
    doc = site.page("zh-hant/privacy/2.0/changes/")
    assert doc.getroot().get("lang") == "zh-Hant"
    assert text_of(doc.find(".//h2[@id='summary-heading']")) == "變化概要"
    body = text_of(doc.find(".//main"))
    assert "人臉識別只用於實名認證" in body and "【新增開始】" in body
    assert "人脸" not in body
    elder = site.page("zh-hant/elder/privacy/2.0/changes/")
    assert elder.getroot().get("class") == "elder"
    assert text_of(elder.find(".//h1")) == text_of(doc.find(".//h1"))
    assert elder.findall(".//ins") and elder.findall(".//del")


def test_feeds_are_valid_atom_per_language(site):
    feeds = {"zh-Hans": site.out / "feed.xml", "zh-Hant": site.out / "zh-hant/feed.xml"}
    assert not (site.out / "en/feed.xml").exists()
    titles = {}
    for lang, path in feeds.items():
        root = etree.parse(str(path)).getroot()
        assert root.tag == ATOM + "feed" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
        for tag in ("id", "title", "updated", "author"):
            assert root.find(ATOM + tag) is not None, tag
        self_link = root.find(f"{ATOM}link[@rel='self']")
        assert self_link.get("href") == "https://example.gov.cn/p/" + path.relative_to(site.out).as_posix()
        entries = root.findall(ATOM + "entry")
        assert len(entries) == 4                      # three versions of privacy + terms
        ids = [e.findtext(ATOM + "id") for e in entries]
        assert len(set(ids)) == len(ids) and all(i.startswith("https://example.gov.cn/p/") for i in ids)
        stamps = [e.findtext(ATOM + "updated") for e in entries]
        for s in stamps + [root.findtext(ATOM + "updated")]:
            assert dt.datetime.fromisoformat(s).tzinfo is not None, s
        assert stamps == sorted(stamps, reverse=True)
        assert root.findtext(ATOM + "updated") == stamps[0]
        for e in entries:
            for tag in ("id", "title", "updated", "author"):
                assert e.find(ATOM + tag) is not None
            link = e.find(f"{ATOM}link[@rel='alternate']").get("href")
            rel = link.removeprefix("https://example.gov.cn/p/")
            assert (site.out / rel / "index.html").is_file()
        titles[lang] = [e.findtext(ATOM + "title") for e in entries]
    assert titles["zh-Hans"][0] == "即将施行：个人信息保护办法（第 2.1 版）"
    assert titles["zh-Hans"][0 + 1:] == ["新版本：个人信息保护办法（第 2.0 版）", "新发布：服务条款（第 1.0 版）",
                                         "新发布：个人信息保护办法（第 1.0 版）"]
    assert titles["zh-Hant"][0] == "即將施行：個人信息保護辦法（第 2.1 版）"
    home = site.page("")
    feed_link = home.find(".//link[@type='application/atom+xml']")
    assert feed_link.get("href") == "feed.xml"


def test_feed_is_the_same_when_nothing_changed(site, tmp_path):
    first = (site.out / "feed.xml").read_bytes()
    site.build()
    assert (site.out / "feed.xml").read_bytes() == first


def test_policies_json_lists_every_version_and_page(site):
    data = json.loads((site.out / "policies.json").read_text("utf-8"))
    assert data["site"]["base_url"] == "https://example.gov.cn/p/"
    privacy = next(p for p in data["policies"] if p["slug"] == "privacy")
    assert privacy["current_version"] == "2.0"
    assert privacy["title"] == {"zh-Hans": "个人信息保护办法", "zh-Hant": "個人信息保護辦法"}
    assert [(v["version"], v["state"], v["effective"], v["previous"]) for v in privacy["versions"]] == [
        ("1.0", "superseded", "2022-10-28", None), ("2.0", "current", "2024-07-01", "1.0"),
        ("2.1", "upcoming", "2027-01-01", "2.0")]
    assert privacy["versions"][2]["published"] == "2026-11-16T09:30:00"
    urls = []
    for p in data["policies"]:
        for group in [p["pages"], p["history"]] + [v["pages"] for v in p["versions"]] + \
                [v["changes"] for v in p["versions"]]:
            for variants in group.values():
                urls += [variants["standard"], variants["elder"]]
    assert "zh-hant/elder/privacy/2.1/changes/" in urls
    for url in urls:
        assert (site.out / url / "index.html").is_file(), url
    for lang, path in data["feeds"].items():
        assert (site.out / path).is_file()


def test_all_new_pages_have_one_h1_and_no_skipped_levels(site):
    for page in html_pages(site.out):
        if not re.search(r"/(history|changes)/index\.html$", page.as_posix()):
            continue
        doc = site.page(page.relative_to(site.out).as_posix())
        levels = [int(el.tag[1]) for el in doc.iter() if isinstance(el.tag, str) and re.fullmatch(r"h[1-6]", el.tag)]
        assert levels.count(1) == 1 and levels[0] == 1, page
        for a, b in zip(levels, levels[1:]):
            assert b <= a + 1, (page, levels)


# --- the diff engine on its own ------------------------------------------------------

def test_inline_ops_are_character_level_for_chinese_and_word_level_for_latin():
    assert inline_ops("保存三年", "保存五年") == [("=", "保存"), ("-", "三"), ("+", "五"), ("=", "年")]
    assert inline_ops("kept for three years", "kept for five years") == [
        ("=", "kept for "), ("-", "three"), ("+", "five"), ("=", " years")]
    # a one-character island between two changes is folded into them
    ops = inline_ops("甲乙丙丁", "戊乙己丁")
    assert ops == [("-", "甲乙丙"), ("+", "戊乙己"), ("=", "丁")]


def test_sections_match_by_heading_without_numbering_and_detect_moves():
    old = render_markdown("## 一、甲\n\n一段。\n\n## 二、乙\n\n甲方的规则。\n\n二段。\n").html
    new = render_markdown("## 一、甲\n\n一段。\n\n甲方的规则。\n\n## 二、丙\n\n新的。\n\n## 三、乙\n\n二段。\n").html
    cs = diff_sections(old, new)
    ops = [(s.op, s.new.title if s.new else s.old.title) for s in cs.sections]
    assert ops == [("modify", "一、甲"), ("insert", "二、丙"), ("modify", "三、乙")]
    moved = [(b.op, b.other.new.title) for s in cs.sections for b in s.blocks if b.op.startswith("moved")]
    assert moved == [("moved-in", "三、乙"), ("moved-out", "一、甲")]
    assert [s.key for s in sections_of(new)] == ["甲", "丙", "乙"]


def test_section_parser_reads_tables_lists_and_footnotes():
    html = render_markdown("## 一、表\n\n| 事项 | 信息 |\n|---|---|\n| 登记 | 姓名 |\n\n- 第一项\n- 第二项\n\n"
                           "脚注在此[^1]。\n\n[^1]: 注释内容。\n").html
    secs = sections_of(html, "注释")
    assert secs[0].blocks == ["事项 | 信息", "登记 | 姓名", "第一项", "第二项", "脚注在此1。"]
    assert secs[1].title == "注释" and secs[1].blocks == ["注释内容。"]
