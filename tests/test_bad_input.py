"""Bad input through the real command line: exit status 1, file, line, field and a fix, and the
previous output untouched.

Every case starts from a copy of one site that was built successfully (so `public/` holds a
previous good build), breaks it in one way, and runs `python build.py` in a subprocess. The
subprocesses of all cases run side by side (they are independent), then each case is checked
on its own: exit status 1, a diagnostic naming the file (as the webmaster would type it), the
line, the field where there is one, a message and a `fix:` hint, and `public/` byte-for-byte as
it was, with no staging folder left behind.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import ROOT, Project

GOOD = '---\ntitle: 好\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n## 一、总则\n\n正文。\n'
OTHER = ('---\ntitle: 另一政策\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n'
         "## 一、总则\n\n正文。\n\n## 二、联系我们\n\n电话。\n")


def fm(*lines: str, body: str = "## 一、总则\n\n正文。\n", drop: tuple[str, ...] = ()) -> str:
    """A policy file: title (line 2), issuer (3), effective (4), version (5), then `lines` (6 …).

    A line whose field is one of the four replaces it in place; `drop` removes fields."""
    fields = {"title": "title: 好", "issuer": "issuer: 某机构", "effective": "effective: 2024-01-01",
              "version": 'version: "1.0"'}
    extra = []
    for line in lines:
        key = line.split(":")[0]
        if key in fields:
            fields[key] = line
        else:
            extra.append(line)
    kept = [v for k, v in fields.items() if k not in drop]
    return "---\n" + "\n".join(kept + extra) + "\n---\n" + body


@dataclass
class Case:
    id: str
    setup: Callable[[Path], None]      # breaks the site in `root`
    file: str                          # display path the error names (suffix match)
    line: int | None                   # None: the problem is about the whole file
    field: str | None
    message: str                       # in the message
    fix: str                           # in the fix hint

    def __repr__(self):
        return self.id


def write(rel: str, text: str | bytes, encoding: str = "utf-8"):
    def setup(root: Path):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return setup


def policy(text: str | bytes, encoding: str = "utf-8", name: str = "bad.md"):
    return write(f"policies/{name}", text, encoding)


def steps(*fns):
    def setup(root: Path):
        for fn in fns:
            fn(root)
    return setup


def config(text: str):
    return write("config.toml", '[site]\ntitle = "测试站点"\ntoday = 2026-11-22\n' + text)


def remove(rel: str):
    return lambda root: (root / rel).unlink()


def symlink(rel: str, target_outside: str, is_dir: bool = False):
    def setup(root: Path):
        target = root.parent / "outside" / target_outside
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_dir:
            target.mkdir(exist_ok=True)
            (target / "1.0.md").write_text(GOOD, "utf-8")
        else:
            target.write_text(GOOD, "utf-8")
        (root / rel).symlink_to(target, target_is_directory=is_dir)
    return setup


GB_TEXT = GOOD.replace("正文。", "本网站收集的个人信息仅用于提供政务服务。")
BIG5_TEXT = (GOOD.replace("好", "隱私權政策").replace("某机构", "某機構").replace("总则", "總則")
             .replace("正文。", "本網站蒐集之個人資料僅用於提供服務。"))
BIG_BODY = "## 一、总则\n\n" + ("这是一段很长的政策正文，用来测试文件大小的上限。\n\n" * 250_000)

CASES = [
    # fields: missing, misspelt, wrong types, empty
    Case("missing-title", policy(fm(drop=("title",))), "policies/bad.md", 5, "title",
         "required field 'title' is missing", "add a line  title:"),
    Case("missing-version", policy(fm(drop=("version",))), "policies/bad.md", 5, "version",
         "required field 'version' is missing", 'version: "1.0"'),
    Case("misspelt-effective", policy(fm("efective: 2024-01-01", drop=("effective",))), "policies/bad.md", 5,
         "effective", "misspelling", "did you mean 'effective'? rename 'efective'"),
    Case("title-is-a-list", policy(fm("title: [隐私, 政策]")), "policies/bad.md", 2, "title",
         "found a list, expected a single value", "title: 隐私政策"),
    Case("issuer-is-a-mapping", policy(fm("issuer: {name: 某机构}")), "policies/bad.md", 3, "issuer",
         "found a mapping", "issuer:"),
    Case("title-empty", policy(fm('title: ""')), "policies/bad.md", 2, "title", "an empty value", "title:"),
    Case("duplicate-field", policy(fm().replace("\n---\n", "\ntitle: 又一个标题\n---\n", 1)), "policies/bad.md", 6, "title", "given twice",
         "keep one"),
    # dates
    Case("impossible-date", policy(fm("effective: 2022-13-45")), "policies/bad.md", 4, "effective",
         "real calendar date", "month must be in 1..12"),
    Case("february-30", policy(fm("effective: 2023-02-30")), "policies/bad.md", 4, "effective",
         "real calendar date", "day is out of range"),
    Case("date-with-slashes", policy(fm("effective: 2022/10/28")), "policies/bad.md", 4, "effective",
         "2022年10月28日 is accepted", "write  2022-10-28"),
    Case("effective-with-time", policy(fm("effective: 2022-10-28 09:00")), "policies/bad.md", 4, "effective",
         "a date without a time", "write  2022-10-28"),
    Case("date-in-words", policy(fm("effective: 下个月")), "policies/bad.md", 4, "effective", "'下个月'",
         "as digits: 2022-10-28"),
    Case("published-bad-time", policy(fm('published: "2022-10-28 25:61"')), "policies/bad.md", 6, "published",
         "real date and time", "hour must be in 0..23"),
    # versions
    Case("unquoted-version", policy(fm("version: 1.10")), "policies/bad.md", 5, "version",
         "YAML reads it as the number 1.1", 'write  version: "1.10"'),
    Case("version-empty", policy(fm('version: ""')), "policies/bad.md", 5, "version",
         "letters, digits", 'version: "1.0"'),
    Case("version-with-space", policy(fm('version: "1.0 beta"')), "policies/bad.md", 5, "version",
         "letters, digits", 'version: "1.0"'),
    # choices and structured fields
    Case("status-typo", policy(fm("status: in_force")), "policies/bad.md", 6, "status",
         "one of draft, trial, in-force, repealed", "did you mean 'in-force'?"),
    Case("lang-unknown", policy(fm("lang: zh-CN")), "policies/bad.md", 6, "lang", "zh-Hans, zh-Hant, en",
         "lang: zh-Hans"),
    Case("contact-not-a-mapping", policy(fm("contact: 0571-12345678")), "policies/bad.md", 6, "contact",
         "expected a mapping", "phone:"),
    Case("contact-misspelt-key", policy(fm("contact:", "  phon: 0571-12345678")), "policies/bad.md", 7,
         "contact", "contact.phon", "did you mean 'phone'?"),
    Case("contact-bad-email", policy(fm("contact:", "  phone: 0571-1", "  email: privacy at example.gov.cn")),
         "policies/bad.md", 8, "contact", "an e-mail address", "no spaces"),
    Case("tags-mapping", policy(fm("tags: {a: 1}")), "policies/bad.md", 6, "tags", "a mapping",
         "tags: [隐私, 个人信息]"),
    # slugs and paths
    Case("slug-dotdot", policy(fm("slug: ../escape")), "policies/bad.md", 6, "slug", "cannot contain '/'",
         "slug: privacy"),
    Case("slug-absolute", policy(fm("slug: /etc/passwd")), "policies/bad.md", 6, "slug", "cannot contain '/'",
         "slug: privacy"),
    Case("slug-uppercase-spaces", policy(fm("slug: My Policy")), "policies/bad.md", 6, "slug",
         "lower-case ASCII", "privacy-policy"),
    Case("slug-reserved-zh-hant", policy(fm("slug: zh-hant")), "policies/bad.md", 6, "slug",
         "the site does not use itself", "reserved: "),
    Case("slug-reserved-elder", policy(fm("slug: elder")), "policies/bad.md", 6, "slug",
         "the site does not use itself", "elder"),
    Case("slug-reserved-static", policy(fm("slug: static")), "policies/bad.md", 6, "slug",
         "the site does not use itself", "static"),
    Case("slug-windows-device", policy(fm("slug: com1")), "policies/bad.md", 6, "slug",
         "the site does not use itself", "con"),
    Case("file-named-en", policy(GOOD, name="en.md"), "policies/en.md", None, "slug",
         "'en' cannot be a page address", "rename the file"),
    Case("file-named-con", policy(GOOD, name="con.md"), "policies/con.md", None, "slug",
         "'con' cannot be a page address", "rename the file"),
    Case("symlink-outside", symlink("policies/linked.md", "secret.md"), "policies/linked.md", None, None,
         "points outside the site", "copy the file"),
    Case("symlinked-folder-outside", symlink("policies/linked", "elsewhere", is_dir=True), "policies/linked",
         None, None, "points outside the site", "copy the file"),
    Case("dangling-symlink", lambda root: (root / "policies" / "gone.md").symlink_to(root / "nowhere.md"),
         "policies/gone.md", None, None, "leads to nothing", "delete the link"),
    # cross-file rules
    Case("duplicate-slug", write("policies/good/2.0.md", fm('version: "2.0"')), "policies/good.md", None,
         "slug", "two policies use the slug 'good'", "rename one"),
    Case("duplicate-version", steps(write("policies/multi/a.md", fm()),
                                    write("policies/multi/b.md", fm("effective: 2025-01-01"))),
         "policies/multi/b.md", 5, "version", "also given in", "its own version number"),
    Case("same-effective-date", steps(write("policies/multi/a.md", fm()),
                                      write("policies/multi/b.md", fm('version: "2.0"'))),
         "policies/multi/b.md", 4, "effective", "both take effect on 2024-01-01", "later effective date"),
    Case("translation-of-nothing", write("policies/ghost.en.md", "---\ntitle: Ghost\n---\nText\n"),
         "policies/ghost.en.md", None, None, "no ghost.md beside it", "name it after the version"),
    # file structure and YAML
    Case("unclosed-frontmatter", policy("---\ntitle: 好\nissuer: 某机构\n\n正文\n"), "policies/bad.md", 1, None,
         "never closed", "add a line with only '---'"),
    Case("no-frontmatter", policy("# 标题\n\n正文\n"), "policies/bad.md", 1, None, "no frontmatter",
         "between two '---' lines"),
    Case("tabs-in-yaml", policy(fm("contact:", "\tphone: 1")), "policies/bad.md", 7, None, "not valid YAML",
         "never tabs"),
    Case("yaml-syntax", policy(fm("summary: 说明: [未闭合")), "policies/bad.md", 6, None, "not valid YAML",
         "quote values"),
    Case("frontmatter-not-mapping", policy("---\n- 标题\n- 机构\n---\n正文\n"), "policies/bad.md", 2, None,
         "'field: value' lines", "one field per line"),
    Case("empty-file", policy(""), "policies/bad.md", 1, None, "an empty file", "python build.py new"),
    Case("whitespace-only-file", policy("\n \n\t\n"), "policies/bad.md", 1, None, "an empty file",
         "python build.py new"),
    # encodings and binary
    Case("gbk-file", policy(GB_TEXT, "gbk"), "policies/bad.md", 2, None, "not UTF-8 (it looks like GBK",
         "iconv -f GB18030 -t UTF-8"),
    Case("big5-file", policy(BIG5_TEXT, "big5"), "policies/bad.md", 2, None, "it looks like Big5",
         "iconv -f BIG5 -t UTF-8"),
    Case("utf16-file", policy(GB_TEXT, "utf-16"), "policies/bad.md", 1, None, "it looks like UTF-16",
         "iconv -f UTF-16LE -t UTF-8"),
    Case("utf16-no-bom", policy(GOOD.replace("好", "Privacy").replace("某机构", "Office").replace("正文。", "Text."),
                                "utf-16-be"), "policies/bad.md", 1, None, "UTF-16 (big-endian)", "UTF-16BE"),
    Case("nul-bytes", policy(GOOD.encode() + b"\x00\x00binary"), "policies/bad.md", 10, None, "NUL bytes",
         "not as a Word file"),
    Case("ten-mb-file", policy(fm(body=BIG_BODY)), "policies/bad.md", None, None, "a policy may be at most 2 MB",
         "split it"),
    # config.toml
    Case("config-not-toml", config('footer = "未闭合\n'), "config.toml", 4, None, "not valid TOML",
         "strings need quotes"),
    Case("config-unknown-opencc-profile", config('[scripts]\ntraditional = "s2x"\n'), "config.toml", 5,
         "scripts.traditional", "found 's2x'", "s2twp"),
    Case("config-wrong-type", config('[content]\ndefault_lang = 5\n'), "config.toml", 5, "content.default_lang",
         "found 5", "remove the line to use the default ('zh-Hans')"),
    Case("config-today-not-a-date", write("config.toml", '[site]\ntoday = "tomorrow"\n'), "config.toml", 2,
         "site.today", "a date such as 2026-01-31", "the default (today's date)"),
    Case("config-script-tag-allowed", config('[markdown]\nallow_tags = ["script"]\n'), "config.toml", 5,
         "markdown.allow_tags", "tags other than", "run code"),
    # templates
    Case("override-includes-missing", write("templates/home.html", '{% extends "base.html" %}{% block main %}'
                                            '{% include "partials/nosuch.html" %}{% endblock %}\n'),
         "templates/home.html", 1, None, "template 'partials/nosuch.html' not found (used by home.html)",
         "check the name"),
    Case("override-extends-missing", write("templates/404.html", '{% extends "bas.html" %}\n'),
         "templates/404.html", 1, None, "template 'bas.html' not found (used by 404.html)",
         "policysite/theme/templates"),
    Case("override-syntax-error", write("overrides/home.html", '{% extends "base.html" %}\n{% block main %}\n'
                                        "{% if entries %}\n<p>x</p>\n{% endblock %}\n"),
         "overrides/home.html", 5, None, "template error", "{% endif %}"),
    Case("missing-templates-dir", config('[theme]\ntemplates_dir = "mytheme"\n'), "config.toml", 5,
         "theme.templates_dir", "templates folder not found", "create the folder"),
    # links
    Case("link-to-missing-policy", policy(fm(body="## 一\n\n见[另一政策](policy:othre)。\n")), "policies/bad.md",
         9, "link", "there is no policy 'othre'", "did you mean  policy:other?"),
    Case("link-to-missing-section", policy(fm(body="## 一\n\n正文\n\n见[第三节](policy:other#s3)。\n")),
         "policies/bad.md", 11, "link", "policy 'other' has no section '#s3'", "#s2 二、联系我们"),
    Case("link-not-a-policy-link", policy(fm(body="见[这里](policy:Other_Policy)。\n")), "policies/bad.md", 7,
         "link", "is not a policy link", "[text](policy:slug)"),
]


def tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


DIAG = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+))?: (?P<sev>error|warning)(?: \[(?P<field>[^\]]+)\])?: (?P<msg>.*)$")


def parse_diagnostics(stderr: str) -> list[dict]:
    """The CLI's report, back into records: first line, then indented `fix:` lines."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("    ") and out:
            out[-1]["fix"] += line.strip().removeprefix("fix: ") + " "
            continue
        m = DIAG.match(line)
        if m:
            d = m.groupdict()
            d["line"] = int(d["line"]) if d["line"] else None
            d["fix"] = ""
            out.append(d)
    return out


def good_site(project: Project) -> Project:
    project.write("good.md", GOOD)
    project.write("other.md", OTHER)
    return project


@pytest.fixture(scope="module")
def template_site(tmp_path_factory) -> Path:
    project = good_site(Project(tmp_path_factory.mktemp("good") / "site"))
    project.run(check=True)
    assert (project.out / "good" / "index.html").exists()
    return project.root


@pytest.fixture(scope="module")
def runs(template_site, tmp_path_factory) -> dict[str, tuple]:
    """Run every case's build at once; tests below check them one by one."""
    base = tmp_path_factory.mktemp("cases")
    pending = []
    for case in CASES:
        root = base / case.id / "site"
        shutil.copytree(template_site, root, symlinks=True)
        before = tree_hash(root / "public")
        case.setup(root)
        pending.append((case.id, root, before))
    results, running = {}, []
    width = 2 * (os.cpu_count() or 2)                 # a few at a time: each is one short process
    while pending or running:
        while pending and len(running) < width:
            case_id, root, before = pending.pop(0)
            proc = subprocess.Popen([sys.executable, str(ROOT / "build.py")], cwd=root, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            running.append((case_id, proc, root, before))
        case_id, proc, root, before = running.pop(0)
        _, stderr = proc.communicate(timeout=300)
        results[case_id] = (proc.returncode, stderr, root, before)
    return results


def test_at_least_30_cases():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(runs, case):
    code, stderr, root, before = runs[case.id]
    assert code == 1, f"exit {code}\n{stderr}"
    assert "Build failed:" in stderr and "the previous output was left as it was" in stderr
    assert "Traceback" not in stderr, stderr
    diags = [d for d in parse_diagnostics(stderr) if d["sev"] == "error"]
    hits = [d for d in diags if d["file"].endswith(case.file) and d["field"] == case.field
            and case.message in d["msg"]]
    assert hits, f"no error for {case.file} [{case.field}] '{case.message}' in:\n{stderr}"
    d = hits[0]
    assert d["line"] == case.line, f"line {d['line']}, expected {case.line}:\n{stderr}"
    assert d["fix"].strip() and case.fix in d["fix"], f"fix {d['fix']!r}, expected {case.fix!r}"
    assert not os.path.isabs(d["file"]), d["file"]              # named relative to the site
    assert tree_hash(root / "public") == before                 # the previous output, byte for byte
    assert not list(root.glob(".public.new-*"))                  # and nothing half-written beside it


def test_every_problem_in_one_run(project):
    """Config, fields, encodings, cross-file rules, templates and links: one run lists them all."""
    good_site(project)
    project.run(check=True)
    before = tree_hash(project.out)
    project.config('[site]\ntoday = 2026-11-22\n[scripts]\ntraditional = "s2x"\n')
    project.write("a.md", fm("effective: 2022-13-45"))
    project.write("b.md", fm("version: 1.10", "status: activ"))
    project.write("c.md", fm(drop=("title",)))
    project.write("d.md", GB_TEXT, encoding="gbk")
    project.write("e.md", "---\ntitle: 好\n")
    project.write("f.md", fm(body="见[x](policy:nowhere)。\n"))
    project.write("g.md", fm(body="见[x](policy:a)，[y](policy:c)，[z](policy:d)。\n"))  # policies with errors: no extra noise
    (project.root / "overrides").mkdir()
    (project.root / "overrides" / "404.html").write_text("{% if %}\n", "utf-8")
    proc = project.run()
    assert proc.returncode == 1
    expected = [("config.toml", 4, "scripts.traditional"), ("policies/a.md", 4, "effective"),
                ("policies/b.md", 5, "version"), ("policies/b.md", 6, "status"), ("policies/c.md", 5, "title"),
                ("policies/d.md", 2, None), ("policies/e.md", 1, None), ("policies/f.md", 7, "link"),
                ("overrides/404.html", 1, None)]
    errors = [(d["file"], d["line"], d["field"]) for d in parse_diagnostics(proc.stderr) if d["sev"] == "error"]
    assert sorted(errors) == sorted(expected), proc.stderr
    assert f"{len(expected)} errors" in proc.stderr
    assert tree_hash(project.out) == before


def test_unknown_config_key_is_a_warning_only(project):
    project.write("a.md", GOOD)
    project.config('[site]\ntitel = "x"\ntoday = 2026-11-22\n[markdown]\nunsafe_html = true\n')
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    diags = parse_diagnostics(proc.stderr)
    titel = next(d for d in diags if d["field"] == "site.titel")
    assert titel["sev"] == "warning" and titel["line"] == 2 and "site.title" in titel["fix"]
    unsafe = next(d for d in diags if d["field"] == "markdown.unsafe_html")
    assert unsafe["sev"] == "warning" and "markdown.allow_tags" in unsafe["fix"]


@pytest.mark.parametrize("text", [
    fm('published: 2022-10-28 16:23'),                     # a date-time, unquoted
    fm("effective: 2024 年 1 月 1 日"),                      # a Chinese date with spaces
    fm("contact:", "  email: privacy@example.gov.cn", "  phone: 0571-12345678"),
    fm("tags: 隐私"),                                       # one tag, not a list
])
def test_accepted_variants(project, text):
    project.write("ok.md", text)
    project.build()
    assert (project.out / "ok" / "index.html").exists()
