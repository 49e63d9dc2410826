"""`python build.py import`: saved CMS pages, Word files and text → draft policies that build (issue 15).

The HTML fixtures in tests/fixtures/import/ are written for the project the ways CMS pages
are made (GB2312 with a meta charset, GBK and Big5 without one, text-indent styles, &nbsp;
indents, <font> and <span style> soup, a hidden second copy of the body, bold paragraphs as
headings, layout tables, an in-page index, furniture all around). The .docx fixtures are
made here with python-docx, the two ways legal departments write them: with Word's Heading
styles, and with bold paragraphs for headings. Every import is built with the real command
line and the page parsed back: the text must all be there.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import text_of

FIXTURES = Path(__file__).parent / "fixtures" / "import"
FURNITURE = ["当前位置", "您当前的位置", "长者版", "无障碍", "打印本页", "关闭窗口", "分享到", "浏览次数", "版权所有",
             "ICP备", "字号", "政务公开", "現在位置", "無障礙", "版權所有", "网站地图"]


def body_sentences(path: Path, encoding: str, selector: str) -> list[str]:
    """The policy's own sentences, read from the fixture with lxml (what must survive the import)."""
    import lxml.html
    root = lxml.html.document_fromstring(path.read_bytes().decode(encoding))
    el = root.xpath(selector)[0]
    text = re.sub(r"\s+", "", el.text_content())
    return [s for s in re.split(r"(?<=[。；：])", text) if len(s) >= 6]


def run_import(project, *args):
    return project.run("import", *map(str, args))


def imported(project, slug: str) -> str:
    return (project.root / "policies" / f"{slug}.md").read_text("utf-8")


def built_text(project, slug: str) -> tuple[str, object]:
    proc = project.run("--drafts", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr, proc.stderr
    page = project.page(slug)
    body = page.xpath("//div[contains(@class,'policy-body')]")[0]
    for label in body.xpath(".//span[@class='visually-hidden']"):   # 重要条款： before each key clause
        label.text = ""                                              # (its tail is the clause itself)
    return re.sub(r"\s+", "", text_of(body)), page


CMS = ["cms-gb2312.html", "cms-gbk-no-meta.html", "cms-utf8.html"]


@pytest.mark.parametrize("name", CMS)
def test_cms_page_in_any_encoding(project, name):
    proc = run_import(project, FIXTURES / name, "--slug", "privacy")
    assert proc.returncode == 0, proc.stderr
    md = imported(project, "privacy")
    fm, body = md.split("---\n", 2)[1:]
    assert 'title: "青禾市人民政府门户网站隐私政策"' in fm
    assert 'issuer: "青禾市人民政府办公室"' in fm
    assert "effective: 2023-03-01" in fm and "published: 2023-02-15" in fm
    assert "status: draft" in fm and 'version: "1.0"' in fm
    assert 'email: "xxgk@qinghe.example.gov.cn"' in fm            # the full-width ＠ made ASCII
    assert 'phone: "0000-6123456"' in fm and 'fax: "0000-6123457"' in fm and 'person: "王明"' in fm
    assert 'address: "青禾市府前路8号"' in fm
    for word in FURNITURE:
        assert word not in body, word
    # headings from bold paragraphs, levels from the numbering
    assert "\n## 一、适用范围\n" in body and "\n## 二、信息收集\n" in body
    assert "\n### （一）自动记录的信息\n" in body and "\n### （二）您主动提供的信息\n" in body
    # key clauses from <span style> and from <b><u>; a list; a table; a link
    assert "++您提交的信息应当真实、准确，因信息不实造成的后果由提交人承担。++本网站" in body
    assert "++未经您的同意，本网站不会向任何第三方提供您的个人信息，法律法规另有规定的除外。++" in body
    assert "- 姓名和联系电话；\n- 来信的具体内容。" in body
    assert "| 姓名、联系电话 | 办理和答复来信 | 三年 |" in body
    assert "[联系方式页面](https://www.qinghe.example.gov.cn/contact/)" in body
    # the hidden second copy is gone: every sentence once
    assert body.count("本政策适用于本网站的全部栏目") == 1
    # no indents left: no line starts with a space, &nbsp; or a full-width space
    assert not re.search(r"^[ \u3000\xa0]", body, re.M)
    # the checklist
    assert "a hidden copy of the body" in proc.stdout and "breadcrumb" in proc.stdout
    assert "长者版 and 无障碍 links" in proc.stdout and "打印本页 and 关闭窗口" in proc.stdout
    assert "status: draft" in proc.stdout

    encoding = {"cms-utf8.html": "utf-8"}.get(name, "gb18030")
    text, page = built_text(project, "privacy")
    for sentence in body_sentences(FIXTURES / name, encoding, "//div[@id='zoom']"):
        assert sentence.replace("＠", "＠") in text, sentence
    assert [text_of(h).strip() for h in page.xpath("//div[contains(@class,'policy-body')]//h2")][:2] == \
        ["一、适用范围", "二、信息收集"]
    assert len(page.xpath("//strong[@class='key-clause']")) >= 2
    assert page.xpath("//div[contains(@class,'policy-body')]//table//td[.='六个月']")


def test_encoding_named_in_checklist(project):
    meta = run_import(project, FIXTURES / "cms-gb2312.html", "--slug", "a")
    detected = run_import(project, FIXTURES / "cms-gbk-no-meta.html", "--slug", "b")
    assert "GB2312 (the page's charset)" in meta.stdout
    assert "GBK (detected)" in detected.stdout
    assert imported(project, "a").split("---", 2)[2] == imported(project, "b").split("---", 2)[2]


@pytest.mark.parametrize("name", ["big5.html", "big5-no-meta.html"])
def test_big5_page_is_traditional(project, name):
    proc = run_import(project, FIXTURES / name)
    assert proc.returncode == 0, proc.stderr
    slug = "yin-si-quan-zheng-ce"                                  # 隱私權政策 in pinyin
    md = imported(project, slug)
    assert "lang: zh-Hant" in md and 'title: "隱私權政策"' in md
    assert 'issuer: "青禾縣政府資訊處"' in md
    assert "effective: 2022-07-01" in md
    assert 'phone: "00-12345678"' in md                           # the body's, not the footer's
    assert "++未經您的同意，本網站不會將您的個人資料提供給第三人。++" in md
    assert "## 一、資料蒐集" in md
    for word in FURNITURE:
        assert word not in md.split("---", 2)[2], word
    text, _ = built_text(project, "zh-hant/" + slug)                    # the page in the source's own script
    for sentence in body_sentences(FIXTURES / name, "cp950", "//div[@class='content']"):
        assert sentence in text, sentence


def test_old_cms_layout_tables_br_lines_and_section_index(project):
    proc = run_import(project, FIXTURES / "old-cms-gbk.html")
    assert proc.returncode == 0, proc.stderr
    md = imported(project, "bai-sha-qu-ren-min-zheng-fu-wang-zhan-sheng-ming")
    body = md.split("---", 2)[2]
    assert 'issuer: "白沙区政务服务数据管理局"' in md and "effective: 2021-06-01" in md
    assert [line for line in body.splitlines() if line.startswith("#")] == \
        ["## 第一条 版权", "## 第二条 免责", "## 第三条 链接", "## 第四条 其他"]       # the index is gone
    assert "|" not in body                                           # layout tables are not tables
    assert "++以正式发布的纸质文件为准++" in body
    assert "index of the sections" in proc.stdout
    assert "1 image not brought" in proc.stdout and "扫码关注" in proc.stdout
    text, _ = built_text(project, "bai-sha-qu-ren-min-zheng-fu-wang-zhan-sheng-ming")
    assert "本网站链接的其他网站，其内容由该网站负责。" in text


# --- Word ------------------------------------------------------------------------------

def make_docx(path: Path, headings: str) -> None:
    """A user agreement as a legal department writes it: with Word's Heading styles
    (`headings="styles"`), or with bold paragraphs and first-line indents ("bold")."""
    import docx
    from docx.shared import Pt
    d = docx.Document()
    styled = headings == "styles"

    def heading(text, level):
        if styled:
            d.add_heading(text, level)
        else:
            p = d.add_paragraph()
            p.add_run(text).bold = True

    def para(*runs):
        p = d.add_paragraph()
        if not styled:
            p.paragraph_format.first_line_indent = Pt(24)
        for r in runs:
            if isinstance(r, str):
                p.add_run(r)
            else:
                run = p.add_run(r[0])
                run.bold, run.underline = True, True
        return p

    if styled:
        d.add_paragraph("松江数据服务中心用户服务协议", style="Title")
    else:
        t = d.add_paragraph()
        run = t.add_run("松江数据服务中心用户服务协议")
        run.bold, run.font.size = True, Pt(22)
    para("发布日期：2024年5月6日")
    para("本协议由松江数据服务中心制定，说明您使用本中心在线服务时双方的权利和义务。")
    heading("一、服务内容", 1)
    para("本中心通过网站和移动应用提供数据查询、证明开具等在线服务。")
    heading("（一）账户注册", 2)
    para("您注册账户时应当使用本人真实身份信息。", ("账户仅限本人使用，因转借账户造成的损失由您自行承担。",),
         "本中心会对账户信息保密。")
    heading("（二）服务变更", 2)
    para("本中心可以根据业务需要调整服务内容，并提前在网站公告。")
    heading("二、个人信息", 1)
    para("本中心收集的信息包括：")
    for item in ("身份信息，用于核验您的身份；", "联系信息，用于通知办理结果。"):
        d.add_paragraph(item, style="List Bullet")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("信息类别", "保存期限"), ("身份信息", "账户注销后一年"), ("操作日志", "六个月")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    heading("三、联系方式", 1)
    para("联系人：陈静")
    para("电话：0000-8765432")
    para("电子邮箱：service@songjiang.example.cn")
    para("地址：松江市文汇路12号")
    para("本协议自2024年6月1日起施行。")
    d.save(path)


DOCX_SENTENCES = ["本协议由松江数据服务中心制定，说明您使用本中心在线服务时双方的权利和义务。",
                  "本中心通过网站和移动应用提供数据查询、证明开具等在线服务。",
                  "您注册账户时应当使用本人真实身份信息。", "账户仅限本人使用，因转借账户造成的损失由您自行承担。",
                  "本中心可以根据业务需要调整服务内容，并提前在网站公告。", "身份信息，用于核验您的身份；",
                  "联系信息，用于通知办理结果。", "账户注销后一年", "本协议自2024年6月1日起施行。"]


@pytest.mark.parametrize("headings", ["styles", "bold"])
def test_word_file(project, tmp_path, headings):
    path = tmp_path / "用户服务协议.docx"
    make_docx(path, headings)
    proc = run_import(project, path)
    assert proc.returncode == 0, proc.stderr
    slug = "song-jiang-shu-ju-fu-wu-zhong-xin-yong-hu-fu-wu-xie-yi"
    md = imported(project, slug)
    fm, body = md.split("---\n", 2)[1:]
    assert 'title: "松江数据服务中心用户服务协议"' in fm
    assert 'issuer: "松江数据服务中心"' in fm
    assert "effective: 2024-06-01" in fm and "published: 2024-05-06" in fm
    assert 'email: "service@songjiang.example.cn"' in fm and 'person: "陈静"' in fm
    assert [line for line in body.splitlines() if line.startswith("#")] == \
        ["## 一、服务内容", "### （一）账户注册", "### （二）服务变更", "## 二、个人信息", "## 三、联系方式"]
    assert "++账户仅限本人使用，因转借账户造成的损失由您自行承担。++" in body
    assert "- 身份信息，用于核验您的身份；" in body
    assert "| 身份信息 | 账户注销后一年 |" in body
    assert "松江数据服务中心用户服务协议" not in body                    # the title is not repeated
    text, page = built_text(project, slug)
    for sentence in DOCX_SENTENCES:
        assert sentence in text, sentence
    assert page.xpath("//strong[@class='key-clause']")
    assert [text_of(h).strip() for h in page.xpath("//div[contains(@class,'policy-body')]//h3")] == \
        ["（一）账户注册", "（二）服务变更"]


# --- plain text ---------------------------------------------------------------------------

def test_plain_text_with_numbering(project, tmp_path):
    path = tmp_path / "statement.txt"
    path.write_text("长者版 返回>>\n网站声明\n\n       一、版权说明\n  本网站的原创内容，版权归东岭市人民政府所有。\n"
                    "二、免责说明\n本网站的信息仅供参考。\n1. 链接的网站由其主办者负责；\n2. 下载的文件以原件为准。\n"
                    "东岭市人民政府办公室\n2022年9月1日\n", "utf-8")
    proc = run_import(project, path, "--slug", "statement")
    assert proc.returncode == 0, proc.stderr
    md = imported(project, "statement")
    assert 'title: "网站声明"' in md and 'issuer: "东岭市人民政府办公室"' in md
    assert "published: 2022-09-01" in md and "effective: 2022-09-01" in md
    assert "## 一、版权说明" in md and "## 二、免责说明" in md and "长者版" not in md
    assert "1\\. 链接的网站由其主办者负责；" in md or "### 1. 链接" not in md
    assert "no effective date" in proc.stdout                     # effective taken from the date at the end
    text, _ = built_text(project, "statement")
    assert "链接的网站由其主办者负责；" in text and "下载的文件以原件为准。" in text


# --- refusals -----------------------------------------------------------------------------

def test_no_main_text_unsupported_and_broken_files_write_nothing(project, tmp_path):
    bad_docx = tmp_path / "broken.docx"
    bad_docx.write_bytes(b"PK\x03\x04 this is not really a zip")
    old_doc = tmp_path / "old.doc"
    old_doc.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    pdf = tmp_path / "policy.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    good = FIXTURES / "cms-utf8.html"
    before = sorted(p.name for p in (project.root / "policies").iterdir())
    proc = run_import(project, good, FIXTURES / "no-main-text.html", bad_docx, old_doc, pdf, empty)
    assert proc.returncode == 1
    err = proc.stderr
    assert f"{FIXTURES / 'no-main-text.html'}: error: no policy text found" in err
    assert f"{bad_docx}: error: " in err and f"{old_doc}: error: old Word .doc" in err and "save it as .docx" in err
    assert f"{pdf}: error: unsupported file type '.pdf'" in err and f"{empty}: error: the file is empty" in err
    assert "nothing was written" in err
    assert sorted(p.name for p in (project.root / "policies").iterdir()) == before      # not even the good one


def test_never_overwrites_without_force(project):
    target = project.policy("privacy.md", "## 一、原有\n\n原有的正文。\n")
    original = target.read_text("utf-8")
    proc = run_import(project, FIXTURES / "cms-utf8.html", "--slug", "privacy")
    assert proc.returncode == 1 and "already exists" in proc.stderr and "--force" in proc.stderr
    assert target.read_text("utf-8") == original
    proc = run_import(project, FIXTURES / "cms-utf8.html", "--slug", "privacy", "--force")
    assert proc.returncode == 0 and "青禾市" in target.read_text("utf-8")


def test_bad_slug_is_refused(project):
    proc = run_import(project, FIXTURES / "cms-utf8.html", "--slug", "Privacy Policy")
    assert proc.returncode == 1 and "--slug" in proc.stderr
    assert not any((project.root / "policies").iterdir())


def test_markdown_specials_in_the_text_are_kept_as_text(project, tmp_path):
    path = tmp_path / "s.html"
    path.write_text("<html><body><h1>测试声明</h1><div><p>第一段：用 *星号* 和 [方括号] 以及 ++加号++ 与 {{花括号}} 写的文字，"
                    "来源：某某局。</p><p>- 以连字符开头的一行文字，不是列表。</p><p># 以井号开头的一行文字。</p>"
                    "<p>2024. 以数字和点开头的一行文字。</p></div></body></html>", "utf-8")
    assert run_import(project, path, "--slug", "s").returncode == 0
    text, page = built_text(project, "s")
    for s in ("用*星号*和[方括号]以及++加号++与{{花括号}}写的文字", "-以连字符开头的一行文字，不是列表。",
              "#以井号开头的一行文字。", "2024.以数字和点开头的一行文字。"):
        assert s in text, (s, text)
    assert not page.xpath("//div[contains(@class,'policy-body')]//ul | //div[contains(@class,'policy-body')]//em")


def test_a_list_said_twice_on_purpose_stays_a_body_twice_goes(project, tmp_path):
    exceptions = "1. 与国家安全直接相关的；\n2. 与公共安全直接相关的；\n3. 与犯罪侦查直接相关的；\n"
    body = ("隐私说明\n一、收集\n本网站收集信息时，遇下列情形可以不征得同意：\n" + exceptions +
            "二、使用\n本网站使用信息时，遇下列情形可以不征得同意：\n" + exceptions + "三、其他\n本说明由东岭市大数据局负责解释。\n")
    path = tmp_path / "twice.txt"
    path.write_text(body + body.split("\n", 1)[1], "utf-8")           # a scraped page: the body again
    assert run_import(project, path, "--slug", "twice").returncode == 0
    md = imported(project, "twice")
    assert md.count("与公共安全直接相关的；") == 2                       # once in each section, not four times
    assert md.count("本说明由东岭市大数据局负责解释。") == 1


def test_decimal_outline_numbering_makes_heading_levels(project, tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("数据开放平台使用规则\n1. 总则\n本规则适用于数据开放平台的全部用户。\n1.1 目的\n为规范平台的使用，制定本规则。\n"
                    "1.2 范围\n本规则适用于平台提供的全部数据服务。\n2. 账户\n2.1 注册\n用户应当使用真实信息注册。\n"
                    "本规则自2025年1月1日起施行。\n", "utf-8")
    proc = run_import(project, path, "--slug", "rules")
    assert proc.returncode == 0, proc.stderr
    md = imported(project, "rules")
    assert [line for line in md.splitlines() if line.startswith("#")] == \
        ["## 1. 总则", "### 1.1 目的", "### 1.2 范围", "## 2. 账户", "### 2.1 注册"]
    assert 'title: "数据开放平台使用规则"' in md and "effective: 2025-01-01" in md
    text, page = built_text(project, "rules")
    assert "用户应当使用真实信息注册。" in text
    assert [text_of(h).strip() for h in page.xpath("//div[contains(@class,'policy-body')]//h2")] == ["1. 总则", "2. 账户"]


def test_an_index_of_the_sections_in_the_text_is_dropped(project, tmp_path):
    path = tmp_path / "index.txt"
    path.write_text("个人信息保护政策\n您可以根据以下索引阅读相关章节：\n一、收集的信息\n二、信息的使用\n三、联系我们\n"
                    "一、收集的信息\n我们只收集办理业务所必需的信息。\n二、信息的使用\n信息只用于办理您申请的业务。\n"
                    "三、联系我们\n电话：0000-1111111\n", "utf-8")
    proc = run_import(project, path, "--slug", "sections")
    assert proc.returncode == 0, proc.stderr
    md = imported(project, "sections")
    assert md.count("一、收集的信息") == 1 and md.count("三、联系我们") == 1
    assert [line for line in md.splitlines() if line.startswith("#")] == \
        ["## 一、收集的信息", "## 二、信息的使用", "## 三、联系我们"]
    assert "index of the sections" in proc.stdout and 'phone: "0000-1111111"' in md


def test_without_a_title_the_slug_comes_from_the_file_name_less_its_language(project, tmp_path):
    """A saved text with no title line: the page address is the file's name, and a language
    suffix such as .zh-Hans (how such files are often named) is not part of it."""
    source = tmp_path / "city-notice.zh-Hans.txt"
    source.write_text("发布日期：2024年3月1日\n\n一、总则\n\n本网站尊重并保护用户的个人信息。\n", "utf-8")
    proc = run_import(project, source)
    assert proc.returncode == 0, proc.stderr
    assert (project.root / "policies" / "city-notice.md").exists()
    assert "published: 2024-03-01" in imported(project, "city-notice")
