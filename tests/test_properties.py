"""Property tests (hypothesis): any input ends in pages or in clear errors, never a traceback.

Frontmatter, Markdown and script conversion are driven through the library API (fast);
a few examples go through the whole pipeline into a real output folder.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
import re
import shutil
import tempfile
from pathlib import Path

import html5lib
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, Project
from policysite.errors import BuildError, Collector
from policysite.load import FIELDS, parse
from policysite.markup import render_markdown
from policysite.sanitize import DEFAULT, TAGS
from policysite.script import Converter

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])

CJK = "隐私政策个人信息收集使用保护发布机构生效日期于范后里面干台余复制系历钟乾隆發髮臺"
MARKUP = "*_[]()#<>&{}+|`~!:-=\"'\\/\n\t "
text_chars = st.sampled_from(list(CJK + MARKUP + "abcxyzABC0123.,;?"))
SNIPPETS = ["<script>", "</script>", "</div>", "<div>", "<img src=x onerror=y>", "++", "{{", "}}", "[", "]",
            "](policy:a)", "](policy:p#s1)", "](javascript:x)", "{: onclick=x #main .c }", "\n## ", "\n### ",
            "\n# ", "\n|a|b|\n|:-|-:|\n", "[^1]", "\n\n[^1]: ", "`", "\n```\n", "<!--", "-->", "&#106;",
            "&lt;", "{#s1}", "\n- ", "\n1. ", "\n: ", "<table>", "<td colspan=2>", "**", "\n\n", "<b>",
            "<a href='policy:p'>", "<iframe>", "<style>", "\n> ", "    code\n", "<span data-nc>", "&amp;"]
md_text = st.lists(st.one_of(st.text(text_chars, max_size=20), st.sampled_from(SNIPPETS)), max_size=25).map("".join)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.text(st.sampled_from(list(CJK + "-:. 0123456789年月日")), max_size=20),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.datetimes(dt.datetime(1900, 1, 1)),
    st.sampled_from(["2024-01-01", "2022-13-45", "2024年7月1日", "1.0", "in-force", "draft", "zh-Hant", "en"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
keys = st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=12),
                 st.sampled_from(["efective", "Title", "contact.email", ""]))
frontmatter_maps = st.dictionaries(keys, values, max_size=12)


def check_diagnostics(diags):
    for d in diags:
        assert d.file and d.message and d.severity in ("error", "warning")
        assert d.line is None or d.line >= 1
        if d.is_error:
            assert d.fix, d.format()                    # every error says how to fix it


def parse_text(text: str | bytes):
    out = Collector()
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    src = parse(Path("policies/p.md"), "policies/p.md", data, "zh-Hans", "p", "p", None, out)
    check_diagnostics(out.items)
    return src, out


# --- frontmatter -------------------------------------------------------------------

@FAST
@given(frontmatter_maps, md_text)
def test_any_frontmatter_mapping_gives_a_source_or_errors(meta, body):
    fm = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    src, out = parse_text(f"---\n{fm}---\n{body}")
    if not out.errors:
        assert src is not None
        for key in ("title", "issuer", "effective", "version"):
            assert key in src.meta
        assert isinstance(src.meta["effective"], dt.date) and isinstance(src.meta["version"], str)


@FAST
@given(st.text(max_size=200), md_text)
@example("title: [\n", "")
@example("? [a, b]\n: c\n", "")
@example("&a [*a]\n", "")
@example("!!python/object:os.system x\n", "")
@example("a: !!binary AAAA\n", "")
@example("title: *undefined\n", "")
def test_any_frontmatter_text_gives_a_source_or_errors(fm, body):
    parse_text(f"---\n{fm}\n---\n{body}")


@FAST
@given(st.binary(max_size=300))
@example(b"\xff\xfe-\x00-\x00-\x00")
@example(b"---\ntitle: \xe4\xb8\n---\n")
def test_any_bytes_give_a_source_or_errors(data):
    parse_text(data)


# --- Markdown -------------------------------------------------------------------------

def tag_counts(html: str) -> Counter:
    return Counter(el.tag for el in list(fragment(html).iter())[1:] if isinstance(el.tag, str))


def fragment(html: str):
    """Parse an HTML fragment as a browser would; the root element is the fragment itself."""
    return html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)


@FAST
@given(md_text)
@example("++key++ {{不转换}} [x](policy:a#s1) <b onclick=x>y</b>")
@example("## <script>x</script>\n\n# a {#main}\n\n[^1]\n\n[^1]: n")
@example("|a|\n|-|\n|<iframe>|")
@example("#[](policy:a){#s1}")
@example("0<table>\n: ")
def test_any_markdown_renders_sanitized(text):
    doc = render_markdown(text)
    for el in list(fragment(doc.html).iter())[1:]:
        if not isinstance(el.tag, str):
            continue
        assert el.tag in TAGS, (el.tag, doc.html)
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on") and name != "style", doc.html
            if name in ("href", "src"):
                assert not re.sub(r"[\x00-\x20]", "", value).lower().startswith(("javascript:", "vbscript:", "data:"))
    # stable: what a browser builds from the output has exactly the elements sanitizing it again keeps
    assert tag_counts(doc.html) == tag_counts(DEFAULT.clean(doc.html)), doc.html
    for entry in doc.toc:
        assert "<" not in entry["name"]                          # TOC names are text (shown with |safe)
    ids = re.findall(r'\sid="([^"]*)"', doc.html)
    twice = {i for i in ids if ids.count(i) > 1}
    assert all("#" + i in text for i in twice), doc.html       # only ids the author wrote twice repeat
    assert not {"main", "toc-heading", "contact-heading"} & set(ids)


@FAST
@given(md_text)
def test_rendering_is_pure(text):
    assert render_markdown(text) == render_markdown(text)


# --- conversion -------------------------------------------------------------------------

CONVERTER = Converter()
ascii_text = st.text(st.characters(max_codepoint=0x2FF, blacklist_categories=("Cs",)), max_size=200)


@FAST
@given(ascii_text, st.sampled_from(["zh-Hant", "zh-Hans"]))
def test_text_without_cjk_is_unchanged(text, target):
    assert CONVERTER.convert(text, target) == text
    assert CONVERTER.convert_text(text.replace("{{", "").replace("}}", ""), target) == \
        text.replace("{{", "").replace("}}", "")


def skeleton(html: str) -> list:
    """Tags, attribute names, and the values that must never be converted (URLs, ids, classes)."""
    out = []
    for el in list(fragment(html).iter())[1:]:
        if isinstance(el.tag, str):
            out.append((el.tag, sorted(el.attrib), [el.get(a) for a in ("href", "src", "id", "class", "data-nc")]))
    return out


def code_texts(html: str) -> list[str]:
    return ["".join(el.itertext()) for el in fragment(html).iter() if el.tag in ("code", "pre")] + \
           ["".join(el.itertext()) for el in fragment(html).iter() if el.tag == "span" and el.get("data-nc") is not None]


@FAST
@given(md_text, st.sampled_from(["zh-Hant", "zh-Hans"]))
@example("`发展` {{于}}先生 [链接](https://example.gov.cn/发) ![图](a.png \"标题\")", "zh-Hant")
def test_convert_html_keeps_markup_urls_ids_code(text, target):
    html = render_markdown(text).html
    converted = CONVERTER.convert_html(html, target)
    assert skeleton(converted) == skeleton(html)
    assert code_texts(converted) == code_texts(html)
    # OpenCC maps characters (and phrases) in text only: ASCII stays where it was
    assert re.sub(r"[^\x00-\x7f]", "", converted) == re.sub(r"[^\x00-\x7f]", "", html)


@FAST
@given(st.text(st.sampled_from(list(CJK + "，。、；：“”（）《》 \x00abc123")), max_size=80),
       st.sampled_from(["zh-Hant", "zh-Hans"]))
@example("中\x00文", "zh-Hant")
def test_conversion_keeps_everything_but_the_characters(text, target):
    """Script conversion changes Chinese characters only: punctuation, ASCII and NULs stay, in
    order (OpenCC itself stops at a NUL; the converter works around it). Quotation marks become
    the standard's, one for one (issue 14: “” → 「」 for Taiwan)."""
    out = CONVERTER.convert(text, target)
    keep = re.compile(r"[\u4e00-\u9fff]")
    quotes = str.maketrans("「」『』", "“”‘’")
    assert keep.sub("", out).translate(quotes) == keep.sub("", text).translate(quotes)


@FAST
@given(st.text(st.sampled_from(list(CJK + "abc ")), max_size=30), st.text(st.sampled_from(list(CJK)), min_size=1,
                                                                        max_size=10))
def test_no_convert_marks_keep_text_as_written(before, kept):
    out = CONVERTER.convert_text(before + "{{" + kept + "}}", "zh-Hant")
    assert out.endswith(kept) and "{{" not in out


# --- the whole pipeline -------------------------------------------------------------------

nearly_valid = st.fixed_dictionaries(
    {"title": st.one_of(st.just("好"), values), "issuer": st.just("机构"),
     "effective": st.sampled_from(["2024-01-01", "2030-01-01", "2024年7月1日", "2022-13-45"]),
     "version": st.sampled_from(["1.0", "2", "v1-b"])},
    optional={"status": st.sampled_from(["draft", "trial", "in-force", "repealed", "x"]),
              "summary": st.text(text_chars, max_size=30), "lang": st.sampled_from(["zh-Hans", "zh-Hant", "en"]),
              "contact": st.one_of(values, st.fixed_dictionaries({"email": st.text(max_size=12)})),
              "tags": values, "slug": st.sampled_from(["p", "q", "zh-hant", "../x", "A"])})


@SLOW
@given(nearly_valid, md_text)
@example({"title": "好", "issuer": "机构", "effective": "2024-01-01", "version": "1.0"}, "## 一\n\n正文 <script>x</script>")
@example({"title": "好\x00坏", "issuer": "机构", "effective": "2024-01-01", "version": "1.0"}, "正文")
def test_whole_build_gives_pages_or_errors(meta, body):
    tmp = Path(tempfile.mkdtemp())
    try:
        project = Project(tmp / "site")
        fm = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        (project.root / "policies" / "p.md").write_text(f"---\n{fm}---\n{body}", "utf-8")
        try:
            result = project.build()
        except BuildError as e:
            assert e.errors
            check_diagnostics(e.diagnostics)
            assert not project.out.exists()
            return
        check_diagnostics(result.warnings)
        assert (project.out / "index.html").exists()
        for policy in result.site.policies:
            # in every locale it is published in (both scripts, or only English for a policy
            # written in English), standard and 长者版
            assert policy.shown.locales
            for loc in policy.shown.locales:
                assert (project.out / loc.prefix / policy.slug / "index.html").exists()
                assert (project.out / loc.prefix / "elder" / policy.slug / "index.html").exists()
    finally:
        shutil.rmtree(tmp)
