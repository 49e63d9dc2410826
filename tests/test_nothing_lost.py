"""Issue 18: nothing lost (an unclosed dangerous tag keeps the rest of the page), clear errors
where tracebacks were, well-formed XML and JSON for any metadata, and the smaller findings."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Project, text_of
from policysite.errors import BuildError, Diagnostic
from policysite.markup import MAX_NESTING, render_markdown
from policysite.sanitize import DEFAULT, FOREIGN, RAW_TEXT

DANGEROUS = sorted(RAW_TEXT | {"plaintext", "object", "applet", "select", "template", "svg", "math"}) + sorted(FOREIGN)[:12]


@pytest.mark.parametrize("tag", DANGEROUS)
@pytest.mark.parametrize("case", ["lower", "upper"])
def test_unclosed_dangerous_tag_keeps_the_rest(tag, case):
    name = tag if case == "lower" else tag.upper()
    doc = render_markdown(f"我们会过滤 <{name}> 等危险标签。\n\n## 二、后面\n\n后面的段落。\n\n- 列表项\n")
    for text in ("我们会过滤", "等危险标签。", "二、后面", "后面的段落。", "列表项"):
        assert text in doc.html, (tag, doc.html)
    assert f"&lt;{name}&gt;" in doc.html                    # shown as the text the author wrote
    assert doc.lost == []


@pytest.mark.parametrize("tag", ["script", "style", "select", "svg"])
def test_closed_dangerous_element_is_still_removed_with_its_content(tag):
    doc = render_markdown(f"前 <{tag}>alert(1)</{tag}> 后\n\n下一段。")
    assert "alert" not in doc.html and "前" in doc.html and "后" in doc.html and "下一段" in doc.html


def test_an_unclosed_raw_block_ends_at_its_blank_line():
    doc = render_markdown("前文。\n\n<script>\n\n## 二、后文\n\n后文 **加粗**。\n")
    assert '<h2 id="s1">二、后文</h2>' in doc.html and "<strong>加粗</strong>" in doc.html


def test_nh3_drops_the_content_of_every_foreign_name_we_list():
    """FOREIGN lists the names whose content nh3 removes; if nh3 changes, this says so."""
    for name in FOREIGN:
        assert "text" not in DEFAULT._nh3(f"<p>a<{name}>text</p>"), name
    for name in ("b", "span", "foo", "section"):
        assert "text" in DEFAULT._nh3(f"<p>a<{name}>text</p>"), name


def test_text_still_lost_is_a_build_error_naming_the_line(project):
    project.policy("q.md", "## 一、总则\n\n前文。\n\n<div title=\"x>\n\n被吞掉的条款\n\n\"> 尾\n")
    with pytest.raises(BuildError) as e:
        project.build()
    errs = [d for d in e.value.errors if d.field == "body"]
    assert errs and errs[0].file.endswith("q.md") and errs[0].line == 13 and "被吞掉的条款" in errs[0].message


def test_sample_pages_keep_every_block(sample_site):
    """Every paragraph and heading of the sample's sources is on its page (the build checks it; a
    page read back says so too)."""
    from conftest import parse_html
    page = parse_html(sample_site / "index.html")
    assert text_of(page.getroot().find(".//main")).strip()


# --- clear errors where tracebacks were ------------------------------------------------------

def errors_of(project) -> list[Diagnostic]:
    with pytest.raises(BuildError) as e:
        project.build()
    return e.value.errors


@pytest.mark.parametrize("value,code", [('"a\\ud800b"', "U+D800"), ('"a\\uffffb"', "U+FFFF"), ('"a\\ufffeb"', "U+FFFE"),
                                        ('"a\\u202eb"', "U+202E"), ('"a\\u200bb"', "U+200B"), ('"a\\x85b"', "U+0085"),
                                        ('"a\\x9bb"', "U+009B"), ('"a\\u2066b"', "U+2066"), ('"a\\x1bb"', "U+001B")])
def test_forbidden_characters_in_titles_are_named(project, value, code):
    project.policy("t.md", title=value)
    if code is None:                  # U+0085 is a line break to YAML's eyes: folded, fine
        project.build()
        return
    errs = errors_of(project)
    assert [(d.file.endswith("t.md"), d.line, d.field) for d in errs] == [(True, 2, "title")]
    assert code in errs[0].message
    assert all(c.isprintable() for c in errs[0].format().replace("\n", ""))


def test_deep_yaml_and_deep_lists_are_errors_and_others_still_reported(project):
    project.policy("a.md", tags="[" * 3000 + "]" * 3000)
    project.policy("b.md", "".join("    " * i + "- 项\n" for i in range(400)))
    project.policy("c.md", effective="2024-13-45")
    errs = errors_of(project)
    where = {(d.file.rsplit("/", 1)[-1], d.field) for d in errs}
    assert {("a.md", None), ("b.md", "body"), ("c.md", "effective")} <= where
    assert any("nested too deeply" in d.message for d in errs)


@pytest.mark.parametrize("body", ["".join("    " * i + "- 项\n" for i in range(150)),
                                  "".join("    " * i + "1. 项\n" for i in range(150)),
                                  ">" * 150 + " 引用\n"])
def test_lists_and_quotes_past_the_nesting_limit_are_errors_whichever_markdown_renders_them(project, body):
    """Python-Markdown 3.11 renders 150 levels (it stops nesting only near the interpreter's
    limit, ~220, and shows the deeper markers as text); earlier versions failed at a few
    hundred. The engine's own limit makes the same input an error on every version."""
    project.policy("deep.md", body)
    errs = errors_of(project)
    assert [(d.file.rsplit("/", 1)[-1], d.field) for d in errs] == [("deep.md", "body")]
    assert f"over {MAX_NESTING} levels" in errs[0].message


def test_lists_and_quotes_at_the_nesting_limit_render(project):
    project.policy("list.md", "".join("    " * i + "- 项\n" for i in range(MAX_NESTING)))
    project.policy("quote.md", ">" * MAX_NESTING + " 引用\n")
    project.build()
    assert (project.out / "list" / "index.html").read_text("utf-8").count("<ul>") >= MAX_NESTING
    assert (project.out / "quote" / "index.html").read_text("utf-8").count("<blockquote>") >= MAX_NESTING


def test_gbk_config_is_an_error_naming_the_encoding(project):
    (project.root / "config.toml").write_bytes('[site]\ntitle = "政策文件"\n'.encode("gbk"))
    project.policy("a.md")
    errs = errors_of(project)
    assert errs[0].file.endswith("config.toml") and "GBK" in errs[0].message and "iconv" in errs[0].fix


def test_phrases_naming_a_folder(project):
    project.config('[scripts]\nphrases = "ph"\n')
    (project.root / "ph").mkdir()
    project.policy("a.md")
    errs = errors_of(project)
    assert [(d.line, d.field) for d in errs] == [(2, "scripts.phrases")]


def test_template_override_not_utf8(project):
    path = project.override("templates/base.html")
    path.write_bytes(path.read_bytes() + "<!-- 说明 -->\n".encode("gbk"))
    project.policy("a.md")
    errs = errors_of(project)
    assert errs[0].file.endswith("base.html") and "GBK" in errs[0].message and errs[0].line


def test_control_characters_in_file_names_are_escaped():
    text = Diagnostic("policies/a\x1b[2J\x1b]0;x\x07.md", 1, "title", "m\u202e", "f").format()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\\x1b" in text


# --- smaller findings -----------------------------------------------------------------------

def test_upper_case_policy_scheme_is_checked(project):
    project.policy("a.md", "## 一\n\n见 [条款](POLICY:nope)。\n")
    errs = errors_of(project)
    assert [(d.field, "POLICY:nope" in d.message) for d in errs] == [("link", True)]


def test_policy_image_source_is_dropped():
    assert 'src=' not in render_markdown("![图](policy:terms)").html


def test_duplicate_and_footnote_ids():
    html = render_markdown("## a {#x}\n\n## b {#x}\n\n## c {#fnref:1}\n\n文[^1]\n\n[^1]: 注").html
    ids = [m for m in __import__("re").findall(r'id="([^"]+)"', html)]
    assert len(ids) == len(set(ids)) and "fn:1" in ids and "fnref:1" in ids and "x" in ids


@pytest.mark.parametrize("email", ["a?bcc=x@evil.cn", "a&cc=x@b.cn", "a%3Fbcc=x@b.cn", "a#x@b.cn"])
def test_email_with_query_is_refused(project, email):
    project.policy("a.md", contact=f"\n  email: '{email}'")
    errs = errors_of(project)
    assert [(d.field, d.line) for d in errs] == [("contact", 7)]


def test_upper_case_extension_and_empty_folder_are_warned(project):
    project.policy("a.md")
    (project.root / "policies" / "q.MD").write_text("x", "utf-8")
    (project.root / "policies" / "empty").mkdir()
    result = project.build()
    said = " ".join(w.format() for w in result.warnings)
    assert "q.MD" in said and "q.md" in said and "empty" in said and "no .md files" in said


def test_no_convert_markers_left_out_of_policies_json(project):
    project.policy("a.md", summary="说明{{于}}先生的事。")
    project.build()
    data = json.loads((project.out / "policies.json").read_text("utf-8"))
    assert data["policies"][0]["versions"][0]["summary"] == "说明于先生的事。"


def test_feed_order_is_by_instant_across_offsets(project):
    project.policy("early.md", title="早", published='"2024-06-01 09:00:00+08:00"', effective="2024-01-01")
    project.policy("late.md", title="晚", published='"2024-06-01 03:00:00+00:00"', effective="2024-01-02")
    project.build()
    feed = ET.parse(project.out / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.find("a:title", ns).text for e in feed.findall("a:entry", ns)]
    assert "晚" in titles[0] and "早" in titles[1]           # 03:00Z is after 01:00Z


# --- well-formed output for any metadata ---------------------------------------------------

ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())


def yaml_quoted(text: str) -> str:
    return '"' + "".join(f"\\U{ord(c):08x}" for c in text) + '"'


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(ANY_CHAR, min_size=1, max_size=12), min_size=3, max_size=3))
def test_any_metadata_gives_well_formed_xml_and_json_or_clear_errors(tmp_path_factory, texts):
    project = Project(tmp_path_factory.mktemp("unicode") / "site")
    title, issuer, summary = texts
    project.policy("a.md", title=yaml_quoted(title), issuer=yaml_quoted(issuer), summary=yaml_quoted(summary),
                   tags=f"[{yaml_quoted(summary)}]")
    try:
        project.build()
    except BuildError as e:
        for d in e.errors:
            assert d.file.endswith("a.md") and d.line and d.field in ("title", "issuer", "summary", "tags"), d
        return
    for name in ("feed.xml", "zh-hant/feed.xml", "sitemap.xml"):
        ET.fromstring((project.out / name).read_bytes())            # well-formed, or this raises
    data = json.loads((project.out / "policies.json").read_bytes().decode("utf-8"))
    assert data["policies"][0]["slug"] == "a"
