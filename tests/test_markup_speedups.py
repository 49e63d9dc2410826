"""The Markdown fast path (PlainTextProcessor) changes speed, never output."""
from __future__ import annotations

from pathlib import Path

import frontmatter
from hypothesis import given, settings
from hypothesis import strategies as st

from policysite import markup

ROOT = Path(__file__).resolve().parent.parent
PIECES = ["一、", "（二）", "第三条", "正文", "Cookie", "*", "**", "_", "`", "[", "]", "(", ")", "!", "<", ">", "&",
          "&amp;", "++", "{{", "}}", "{#x}", "\\", "#", "## ", "### ", "- ", "1. ", "|", "---", "  \n", "\n", "\n\n",
          "[^1]", "[^1]: 注", "<b>粗</b>", "http://example.gov.cn/", "<i>", "policy:x", " "]


def without_fast_path(text: str) -> str:
    md = markup.new_markdown()
    md.treeprocessors.deregister("policy_plain_text")
    md.reset()
    return markup.DEFAULT_ALLOWLIST.clean(md.convert(text))


def test_sample_policies_render_the_same_without_the_fast_path():
    for path in sorted((ROOT / "policies").rglob("*.md")):
        body = frontmatter.loads(path.read_text("utf-8-sig")).content
        assert markup.render_markdown(body).html == without_fast_path(body), path


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_any_text_renders_the_same_without_the_fast_path(text):
    assert markup.render_markdown(text).html == without_fast_path(text)
