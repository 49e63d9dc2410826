"""Inputs whose cost exploded (issue 18): 1 MB of repeated brackets, no-convert or key-clause
markers once took hours. Each input is rendered in a fresh process with a generous timeout, so a
regression fails instead of hanging; the tests assert on the output, never on the time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policysite.markup import render_markdown

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000

UNITS = ["[", "![", "[a](", "[^", "{{", "++", "[a][", "++a ", "{{a ", "[^1] ", "(", "<!--"]


def render_in_subprocess(text: str, timeout: float = 60) -> dict:
    code = ("import json,sys; from policysite.markup import render_markdown, TIME_BUDGET\n"
            "d = render_markdown(sys.stdin.read())\n"
            "print(json.dumps({'len': len(d.html), 'lost': d.lost, 'head': d.html[:200], 'tail': d.html[-200:]}))")
    out = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT, env={**os.environ, "POLICYSITE_MARKDOWN_BUDGET": "0"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.parametrize("unit", UNITS)
def test_one_megabyte_of_markup_renders(unit):
    text = "开头。" + unit * (MB // len(unit)) + "结尾。"
    result = render_in_subprocess(text)
    assert result["lost"] == []
    assert "开头。" in result["head"] and "结尾。" in result["tail"]


def test_unmatched_brackets_stay_text():
    html = render_markdown("a [b ![c [^d {{e ++f [g](h [i][j").html
    assert html == "<p>a [b ![c [^d {{e ++f [g](h [i][j</p>"


def test_links_footnotes_and_markers_still_work():
    doc = render_markdown("见[条款](https://example.gov.cn/a_(b)) 与 ![图](x.png \"t\") 和 [参考][r]、[r] ++重要++ "
                          "{{于}}先生[^1]\n\n[r]: https://example.gov.cn/r\n[^1]: 注释。")
    assert 'href="https://example.gov.cn/a_(b)"' in doc.html
    assert '<img alt="图" src="x.png" title="t">' in doc.html
    assert doc.html.count('href="https://example.gov.cn/r"') == 2
    assert '<strong class="key-clause">重要</strong>' in doc.html
    assert '<span data-nc="">于</span>' in doc.html
    assert 'id="fnref:1"' in doc.html


def test_inline_pass_matches_python_markdowns():
    """LinearInline gives what Python-Markdown's own inline pass gives, on mixed markup."""
    import markdown.treeprocessors
    from policysite.markup import new_markdown
    samples = ["**a** *b* `c` \\* [d](e) ![f](g) <b>h</b> &amp; ++i++ {{j}} [^1]\n\n[^1]: k",
               "***a*** __b__ _c_ `` d ` e `` [f][] [g]\n\n[f]: /f\n[g]: /g",
               "a  \nb <http://x.cn> <a@b.cn> \\[not\\] [x](y \"z\") ![](p) **[l](m)** ++**n**++",
               "!![a](b)\\![c](d) \\\\[e](f) ++a ++b++ c++ {{a {{b}} c}}"]
    for text in samples:
        ours = new_markdown().convert(text)
        md = new_markdown()
        md.treeprocessors.register(markdown.treeprocessors.InlineProcessor(md), "inline", 20)
        assert ours == md.convert(text), text


def test_time_budget_is_a_clear_error(project):
    """Past the per-document budget the build stops with an error naming the file and line."""
    project.policy("slow.md", "正文。\n\n" + "<b>" * 300_000)
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--jobs", "1"], cwd=project.root,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "POLICYSITE_MARKDOWN_BUDGET": "0.5"})
    assert result.returncode == 1
    assert "slow.md:" in result.stderr and "[body]" in result.stderr and "too long" in result.stderr
