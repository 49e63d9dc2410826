"""The changes page's content (changes.page_data): sub-sections under their chapter, tables as tables."""
from __future__ import annotations

import html5lib

from policysite.changes import page_data
from policysite.markup import render_markdown
from policysite.render import load_strings
from policysite.config import THEME_TEMPLATES
from policysite.errors import Collector
from policysite.variants import default_locales

T = load_strings([THEME_TEMPLATES], list(default_locales("zh-Hans", "s2tw")), Collector())["zh-Hans"]

OLD = """## 一、总则

总则不变。

### （一）适用范围

适用于本网站。

### （二）旧条款

将被删除的条款。

## 二、信息

| 事项 | 信息 |
|---|---|
| 登记 | 姓名 |
| 预约 | 电话 |
"""
NEW = OLD.replace("适用于本网站。", "适用于本网站和移动客户端。").replace(
    "### （二）旧条款\n\n将被删除的条款。\n\n", "").replace("| 预约 | 电话 |", "| 预约 | 电话、邮箱 |")


def test_a_changed_sub_section_is_shown_under_its_unchanged_chapter():
    data = page_data(render_markdown(OLD).html, render_markdown(NEW).html, T)
    first = data["groups"][0]
    assert first["changed"] is False and first["chapter"]["title"] == "一、总则"
    assert [(s["title"], s["op"]) for s in first["sections"]] == [("（一）适用范围", "modify"), ("（二）旧条款", "delete")]
    assert data["changed"] == 3


def test_a_changed_table_row_is_compared_as_a_table_row_with_its_header():
    data = page_data(render_markdown(OLD).html, render_markdown(NEW).html, T)
    chapter = data["groups"][1]
    assert chapter["changed"] and chapter["chapter"]["title"] == "二、信息"
    block = next(b for b in chapter["chapter"]["blocks"] if b["op"] == "modify")
    assert block["table"]
    doc = html5lib.parse(block["html"], treebuilder="lxml", namespaceHTMLElements=False)
    assert ["".join(th.itertext()) for th in doc.iterfind(".//thead//th")] == ["事项", "信息"]
    cells = doc.findall(".//tbody/tr/td")
    assert ["".join(td.itertext()) for td in cells][0] == "预约"
    assert cells[1].find("ins") is not None and "邮箱" in "".join(cells[1].find("ins").itertext())
