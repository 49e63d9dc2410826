"""Conversion that a legal editor would sign (issue 14): the regression corpus, the rules and
tables fed to OpenCC, regional standards and quotation marks, plain-text phrases, and the review
report. Real OpenCC throughout."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from policysite.errors import Collector
from policysite.script import Converter, load_phrases
from policysite.tables import expand_rules, project_tables, _toml

CORPUS = Path(__file__).parent / "data" / "conversion_corpus.tsv"


def corpus() -> list[tuple[str, str, str]]:
    rows = []
    for n, line in enumerate(CORPUS.read_text("utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            hans, tw, hk = line.split("\t")
            rows.append((n, hans, tw, hk))
    return rows


@pytest.fixture(scope="module")
def tw():
    return Converter("s2tw", load_phrases(None, Collector()))


@pytest.fixture(scope="module")
def hk():
    return Converter("s2hk", load_phrases(None, Collector()))


def test_corpus_in_every_direction(tw, hk):
    """Every sentence to Taiwan's and Hong Kong's forms, and each back to Simplified; every
    mismatch is printed, not just the first."""
    rows = corpus()
    assert len(rows) >= 300
    bad = []
    for n, hans, want_tw, want_hk in rows:
        for label, got, want in (("s2tw", tw.convert(hans, "zh-Hant"), want_tw),
                                 ("s2hk", hk.convert(hans, "zh-Hant"), want_hk),
                                 ("tw2s", tw.convert(want_tw, "zh-Hans"), hans),
                                 ("hk2s", hk.convert(want_hk, "zh-Hans"), hans)):
            if got != want:
                bad.append(f"line {n} {label}: got {got}\n{' ' * (len(str(n)) + len(label) + 7)}want {want}")
    print("\n".join(bad))
    assert not bad, f"{len(bad)} mismatches (printed above)"


def test_rules_generalize_beyond_the_examples(tw, hk):
    """Combinations of surname and title, verb and 了, that no table lists by hand."""
    rules = _toml("conversion_rules.toml")
    st = rules["surname_title"]
    for s, sv in st["surnames"].items():
        for t, tv in list(st["titles"].items())[::7]:
            if s + t in st["skip"]:
                continue
            got = tw.convert(f"请联系{s}{t}。", "zh-Hant")
            assert got == f"請聯繫{sv}{tw.convert(t, 'zh-Hant')}。", (s, t, got)
    for verb, verb_t in (("归纳", "歸納"), ("概括", "概括"), ("提示", "提示"), ("交代", "交代")):
        assert tw.convert(f"本节{verb}了如何处理", "zh-Hant") == f"本節{verb_t}了如何處理"
        assert tw.convert(f"本节{verb}了如下事项", "zh-Hant") == f"本節{verb_t}了如下事項"
    for verb, verb_t in (("删除", "刪除"), ("出租", "出租"), ("截留", "截留"), ("挪用", "挪用")):
        assert tw.convert(f"不准{verb}", "zh-Hant") == f"不准{verb_t}"
    assert tw.convert("计量不准", "zh-Hant").endswith("不准") is True      # a prohibition by default
    assert tw.convert("数据不准确", "zh-Hant") == "數據不準確"
    # the rule does not fire inside a word that ends in the surname character
    assert tw.convert("适用于律师", "zh-Hant") == "適用於律師"
    assert tw.convert("其余老师", "zh-Hant") == "其餘老師"
    assert tw.convert("若干科长", "zh-Hant") == "若干科長"


def test_every_generated_and_listed_entry_converts_to_its_value():
    """Through OpenCC's standard profile (no variant step), each project entry gives its value,
    so segmentation and conversion really see the tables."""
    c = Converter("s2t", load_phrases(None, Collector()))
    tables = project_tables()
    wrong = [(k, v, c.convert(k, "zh-Hant")) for k, v in tables.to_hant.items() if c.convert(k, "zh-Hant") != v]
    assert not wrong, wrong[:20]


def test_legal_vocabulary_has_300_entries_each_with_a_reason():
    data = _toml("legal_phrases.toml")
    entries = [(k, g["why"]) for g in data["terms"] for k in g["to-hant"]]
    assert len(entries) >= 300
    assert len({k for k, _ in entries}) == len(entries)                 # no key twice
    assert all(why.strip() and "\n" not in why for _, why in entries)
    assert {"行政复议", "发卡", "编制", "不准"} & {k for k, _ in entries} >= {"行政复议", "发卡", "编制"}
    entries_rules, reasons, _ = expand_rules(_toml("conversion_rules.toml"))
    assert set(reasons) == set(entries_rules) and all(reasons.values())


def test_regional_standards_and_quotes():
    plain = load_phrases(None, Collector())
    text = "请在“我的—账户”中查看‘合作伙伴’名单，计划于发布后公布。"
    assert Converter("s2tw", plain).convert(text, "zh-Hant") == "請在「我的—帳戶」中查看『合作夥伴』名單，計畫於發布後公布。"
    assert Converter("s2hk", plain).convert(text, "zh-Hant") == "請在「我的—賬户」中查看『合作夥伴』名單，計劃於發布後公佈。"
    assert Converter("s2t", plain).convert(text, "zh-Hant") == "請在“我的—賬戶”中查看‘合作夥伴’名單，計劃於發布後公佈。"
    keep = Converter("s2tw", plain, quotes="keep")
    assert keep.convert("“个人信息”", "zh-Hant") == "“個人信息”"
    # Traditional sources: corner quotes become the Mainland's, Taiwan's words go back whole
    tw = Converter("s2tw", plain)
    assert tw.convert("「帳號」與『計畫』", "zh-Hans") == "“账号”与‘计划’"
    assert tw.convert("帳篷", "zh-Hans") == "帐篷"                          # a tent stays a tent
    # an apostrophe is not a quotation mark
    assert tw.convert("用户’s data, don’t “分享”", "zh-Hant") == "用戶’s data, don’t 「分享」"


def test_interface_strings_agree_with_body_text():
    """發布 in the zh-Hant strings and in converted text, for every standard."""
    strings = (Path(__file__).parent.parent / "policysite/theme/templates/strings/zh-Hant.toml").read_text("utf-8")
    assert "發布" in strings and "發佈" not in strings
    for profile in ("s2tw", "s2hk", "s2t"):
        c = Converter(profile, load_phrases(None, Collector()))
        for text in ("发布机构", "本网站发布的信息", "发布日期", "新发布"):
            assert "發佈" not in c.convert(text, "zh-Hant"), (profile, text)


def test_site_phrases_are_exact_and_win(tmp_path):
    table = tmp_path / "phrases.toml"
    table.write_text('[to-hant]\n"账户" = "賬戶"\n"里面" = "裏面"\n', "utf-8")
    c = Converter("s2tw", load_phrases(table, Collector()))
    assert c.convert("个人账户里面", "zh-Hant") == "個人賬戶裏面"      # not Taiwan's 帳, nor s2tw's 裡


BAD_VALUES = [
    ('"海澜市" = "<meta http-equiv=refresh content=0;url=https://evil.example/>"', "<"),
    ('"海澜市" = "海瀾市\\" onmouseover=\\"x"', "double quote"),
    ('"海澜市" = "海瀾&amp;市"', "&"),
    ('"海澜 市" = "海瀾 市"', "space"),
]


@pytest.mark.parametrize("line,what", BAD_VALUES)
def test_markup_in_a_phrase_is_refused_with_file_line_and_key(tmp_path, line, what):
    table = tmp_path / "phrases.toml"
    table.write_text(f"# site table\n[to-hant]\n\"好\" = \"好\"\n{line}\n", "utf-8")
    diag = Collector()
    tables = load_phrases(table, diag)
    assert len(diag.errors) == 1
    message = diag.errors[0].format()
    assert "phrases.toml:4" in message and "to-hant." in message and what in message and "fix" in message
    assert tables["to-hant"] == {"好": "好"}


def test_a_build_with_markup_in_a_phrase_fails_and_publishes_nothing(project):
    project.policy("p.md", "## 一、说明\n\n海澜市政府网站。\n", title="隐私")
    (project.root / "phrases.toml").write_text(
        '[to-hant]\n"海澜市" = "<meta http-equiv=\\"refresh\\" content=\\"0;url=https://evil.example/\\">"\n', "utf-8")
    proc = project.run("build")
    assert proc.returncode == 1
    assert "phrases.toml:2" in proc.stderr and "plain text" in proc.stderr
    assert not project.out.exists() or not any("evil.example" in p.read_text("utf-8", "replace")
                                              for p in project.out.rglob("*.html"))


CONFIG = """
[site]
title = "测试站点"
today = 2026-11-22
[scripts]
traditional = "{profile}"
quotes = "{quotes}"
"""


@pytest.mark.parametrize("profile,quotes,want", [("s2tw", "regional", "所稱「個人信息」見下文"),
                                                  ("s2hk", "regional", "所稱「個人信息」見下文"),
                                                  ("s2tw", "keep", "所稱“個人信息”見下文"),
                                                  ("s2t", "regional", "所稱“個人信息”見下文")])
def test_quotes_option_in_config(project, profile, quotes, want):
    project.config(CONFIG.format(profile=profile, quotes=quotes))
    project.policy("p.md", "## 一、说明\n\n所称“个人信息”见下文。\n", title="隐私")
    project.build()
    assert want in "".join(project.page("zh-hant/p/").getroot().itertext())
    assert "所称“个人信息”见下文" in "".join(project.page("p/").getroot().itertext())


def test_a_wrong_quotes_option_is_an_error(project):
    project.config(CONFIG.format(profile="s2tw", quotes="corner"))
    project.policy("p.md")
    proc = project.run("build")
    assert proc.returncode == 1 and "scripts.quotes" in proc.stderr and '"regional"' in proc.stderr


# ---- the review report ----

REVIEW_BODY = "## 一、说明\n\n台风来临前请关闭门窗。{note}\n\n请勿触碰那台风扇。一只猫。\n\n请联系于经理。\n"


def _review(project, *args):
    proc = project.run("check", "--conversions", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def test_review_ranks_rare_forms_and_two_way_words_first(project):
    project.policy("p.md", REVIEW_BODY.format(note=""), title="隐私")
    out = _review(project).stdout
    high = out.split("HIGH RISK")[1].split("\n\n")[0]
    assert "一【只→隻】猫" in high                                        # a rare form
    assert "台风 is converted two ways in this document (臺風 and 颱風)" in high
    assert high.index("【只→隻】") < out.index("MEDIUM") if "MEDIUM" in out else True
    assert '[to-hant] "一只猫" = "一只貓"' in high                      # a ready line that fixes it
    assert '[reviewed] "一只猫" = "一隻貓"' in high                      # and one that accepts it
    assert "LOW:" in out and "于→於" not in high


def test_strict_gates_on_open_high_risk_places_and_reviewed_marks_survive_edits(project):
    project.policy("p.md", REVIEW_BODY.format(note=""), title="隐私")
    assert _review(project, "--strict").returncode == 1
    phrases = project.root / "phrases.toml"
    phrases.write_text('[to-hant]\n"台风来临" = "颱風來臨"\n"那台风扇" = "那臺風扇"\n'
                       '[reviewed]\n"一只猫" = "一隻貓"\n', "utf-8")
    assert _review(project, "--strict").returncode == 0
    # edits elsewhere in the file: the marks are keyed by the text, not by the line
    project.policy("p.md", "## 零、前言\n\n新增一段。\n\n" + REVIEW_BODY.format(note="另行通知。"), title="隐私")
    proc = _review(project, "--strict", "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["open_high"] == 0 and any(p["decided_by"] == "reviewed" for p in data["places"])
    # a mark lapses when the conversion it accepted is no longer what the build writes
    phrases.write_text(phrases.read_text("utf-8").replace('"一隻貓"', '"一只貓"'), "utf-8")
    proc = _review(project, "--strict", "--format", "json")
    assert proc.returncode == 1
    open_places = [p for p in json.loads(proc.stdout)["places"] if p["open"]]
    assert [p["context"] for p in open_places] == ["触碰那台风扇。一【只→隻】猫。"]
    assert open_places[0]["line"] == 15 and open_places[0]["file"] == "policies/p.md"


def test_review_of_a_traditional_source_flags_taiwan_vocabulary(project):
    project.policy("t.md", "## 一、說明\n\n本網站透過網路提供服務，應用程式不會共用您的資料，駭客攻擊時請登出。\n",
                   title="隱私", lang="zh-Hant")
    proc = _review(project, "--strict")
    assert proc.returncode == 1
    out = proc.stdout
    for word, mainland in (("網路", "网络"), ("應用程式", "应用程序"), ("共用", "共享"), ("駭客", "黑客"), ("登出", "退出登录")):
        assert f'[to-hans] "{word}" = "{mainland}"' in out, word
    assert "nothing to review" not in out
    (project.root / "phrases.toml").write_text(
        '[to-hans]\n"網路" = "网络"\n"應用程式" = "应用程序"\n"共用" = "共享"\n"駭客" = "黑客"\n'
        '"登出" = "退出登录"\n"資料" = "信息"\n', "utf-8")
    assert _review(project, "--strict").returncode == 0
    project.build()
    text = "".join(project.page("t/").getroot().itertext())
    assert "本网站透过网络提供服务，应用程序不会共享您的信息，黑客攻击时请退出登录。" in text


def test_hong_kong_interface_strings_agree_with_hong_kong_body_text(project):
    """s2hk writes 閲; so do the interface strings (strings/zh-Hant.s2hk.toml), and Taiwan keeps 閱."""
    project.config(CONFIG.format(profile="s2hk", quotes="regional"))
    project.policy("p.md", "## 一、说明\n\n请阅读本政策。\n", title="隐私")
    project.build()
    page = project.page("zh-hant/p/")
    text = "".join(page.getroot().itertext())
    assert "請閲讀本政策" in text and "閱" not in text
    elder = (project.out / "zh-hant/elder/p/index.html").read_text("utf-8")
    assert "閲讀工具" in elder and "閱" not in elder
    project.config(CONFIG.format(profile="s2tw", quotes="regional"))
    project.build()
    elder = (project.out / "zh-hant/elder/p/index.html").read_text("utf-8")
    assert "閱讀工具" in elder and "閲" not in elder
