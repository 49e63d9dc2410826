"""A generated hostile corpus (issue 18): payloads × positions × fields, over 300 inputs, built
many to a site. Each input either builds with every block's text on every variant's page, or
fails with file, line and field while the previous output stays as it was."""
from __future__ import annotations

import itertools

import pytest

from conftest import Project, text_of, tree
from policysite.errors import BuildError

BODY_PAYLOADS = [
    "<script>", "<SCRIPT SRC=x>", "<style>", "<title>", "<textarea>", "<iframe src=x>", "<object>",
    "<select>", "<template>", "<noscript>", "<xmp>", "<plaintext>", "<noembed>", "<noframes>", "<svg>",
    "<math>", "<text>", "<mi>", "<!--", "<![CDATA[", "<a href=\"https://x.gov.cn>", "<b title='x>",
    "[", "![", "[a](", "[^", "{{", "++", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "<a href=javascript:alert(1)>x</a>", "</div></main>", "<div>", "`", "<",
]
POSITIONS = {
    "sentence": "前面的话 {p} 后面的话",
    "line": "{p}",
    "heading": "### 小标题 {p} 尾",
    "list": "- 列表 {p} 项",
    "quote": "> 引用 {p} 句",
    "table": "| 列 |\n|---|\n| 格 {p} 子 |",
    "footnote": "正文[^n]\n\n[^n]: 注 {p} 释",
    "definition": "术语\n:   定义 {p} 完",
    "emphasis": "**强 {p} 调** 与 ++要 {p} 点++",
}
META_PAYLOADS = ["\\u202e", "\\ufffe", "\\uffff", "\\ud800", "\\x1b", "\\x9b", "\\u200b", "\\u2066"]
META_FIELDS = ["title", "issuer", "summary"]


def body_inputs():
    for n, (payload, (where, shape)) in enumerate(itertools.product(BODY_PAYLOADS, POSITIONS.items())):
        yield f"b{n:03}", payload, where, shape.format(p=payload)


def meta_inputs():
    for n, (payload, field) in enumerate(itertools.product(META_PAYLOADS, META_FIELDS)):
        yield f"m{n:03}", payload, field


def test_corpus_size():
    assert len(list(body_inputs())) + len(list(meta_inputs())) >= 300


@pytest.fixture(scope="module")
def body_site(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("corpus") / "site")
    for slug, payload, where, block in body_inputs():
        # every block carries a marker of its own, in ASCII, so it reads the same in both scripts
        project.policy(f"{slug}.md", f"## 一、总则 KEEP{slug}H\n\nKEEP{slug}A 开头。\n\n{block}\n\n"
                                     f"### 二、其后 KEEP{slug}B\n\nKEEP{slug}C 结尾。\n\n- KEEP{slug}D\n")
    project.build()
    return project


@pytest.mark.parametrize("chunk", range(6))
def test_body_inputs_keep_every_block(body_site, chunk):
    inputs = [i for n, i in enumerate(body_inputs()) if n % 6 == chunk]
    for slug, payload, where, block in inputs:
        for url in (f"{slug}/", f"zh-hant/elder/{slug}/"):
            main = text_of(body_site.page(url).getroot().find(".//main"))
            for mark in "HABCD":
                assert f"KEEP{slug}{mark}" in main, (url, payload, where, mark)
            if "zh-hant" in url:
                continue                         # (the words below are converted there)
            visible = [w for w in block.replace(payload, " ").split()
                       if not any(c in w for c in "|-:>#*+[]")]
            for word in visible:
                assert word in main, (url, payload, where, word)


def test_metadata_inputs_fail_with_file_line_field_and_keep_output(tmp_path):
    project = Project(tmp_path / "site")
    project.policy("good.md")
    project.build()
    before = tree(project.out)
    expected = {}
    for slug, payload, field in meta_inputs():
        project.policy(f"{slug}.md", **{field: f'"前{payload}后"'})
        expected[f"{slug}.md"] = (field, 2 if field == "title" else 3 if field == "issuer" else 6)
    with pytest.raises(BuildError) as e:
        project.build()
    found = {d.file.rsplit("/", 1)[-1]: (d.field, d.line) for d in e.value.errors}
    assert found == expected                           # every one of them, in one run
    assert tree(project.out) == before
