"""Bad input: every problem named with file, line and field, all in one run, exit 1, output kept."""
from __future__ import annotations

import pytest

from policysite.errors import BuildError


def errors_of(project, **kw):
    with pytest.raises(BuildError) as exc:
        project.build(**kw)
    return exc.value.diagnostics


def find(diags, file, field=None, severity="error"):
    hits = [d for d in diags if d.file.endswith(file) and d.severity == severity and (field is None or d.field == field)]
    assert hits, f"no {severity} for {file} [{field}] in:\n" + "\n".join(d.format() for d in diags)
    return hits[0]


GOOD = '---\ntitle: 好\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n正文\n'


@pytest.mark.parametrize("line,field,text,expect", [
    ("title: [a, b]", "title", "list", "single value"),
    ("effective: 2022-13-45", "effective", "2022-13-45", "real calendar date"),
    ("effective: 2023-02-30", "effective", "2023-02-30", "real calendar date"),
    ("effective: 下个月", "effective", "下个月", "2022-10-28"),
    ("status: active", "status", "active", "draft, trial, in-force, repealed"),
    ("version: 1.10", "version", "1.1", 'version: "1.10"'),
    ("version: 2", "version", "2", 'version: "2"'),
    ("lang: zh-CN", "lang", "zh-CN", "zh-Hans, zh-Hant, en"),
    ("published: 2022-05-01 25:61", "published", "2022-05-01 25:61", "date and time"),
    ("contact: 12345", "contact", "single value", "mapping"),
    ("slug: My Policy", "slug", "My Policy", "lower-case"),
    ("tags: {a: 1}", "tags", "mapping", "list"),
])
def test_field_errors_name_file_line_field(project, line, field, text, expect):
    key = line.split(":")[0]
    fm = [l for l in ["title: 好", "issuer: 某机构", "effective: 2024-01-01", 'version: "1.0"'] if not l.startswith(key + ":")]
    fm.insert(1, line)
    project.write("bad.md", "---\n" + "\n".join(fm) + "\n---\n正文\n")
    d = find(errors_of(project), "policies/bad.md", field)
    assert d.line == 3, d.format()                  # the line the field is on
    message = d.format()
    assert text in message and expect in message, message


def test_missing_fields_each_reported(project):
    project.write("bad.md", "---\ntitle: 好\n---\n正文\n")
    diags = errors_of(project)
    for field in ("issuer", "effective", "version"):
        d = find(diags, "bad.md", field)
        assert "missing" in d.message and d.fix and field in d.fix


def test_unknown_and_misspelt_keys_warned(project):
    project.write("p.md", GOOD.replace("effective", "efective").replace("---\n正文", "colour: red\nsumary: x\n---\n正文"))
    diags = errors_of(project)
    err = find(diags, "p.md", "effective")          # a misspelt required field: one error, on its line
    assert err.line == 4 and "did you mean 'effective'" in err.fix
    assert not [d for d in diags if d.field == "efective"]
    assert "did you mean 'summary'" in find(diags, "p.md", "sumary", "warning").fix    # optional: a warning
    find(diags, "p.md", "colour", "warning")


def test_unknown_key_alone_is_only_a_warning(project):
    project.write("p.md", GOOD.replace("---\n正文", "colour: red\n---\n正文"))
    result = project.build()
    assert any(w.field == "colour" for w in result.warnings)


def test_bom_and_crlf_accepted(project):
    project.write("p.md", "")
    (project.root / "policies" / "p.md").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    project.build()
    assert (project.out / "p" / "index.html").exists()


def test_chinese_date_accepted(project):
    project.write("p.md", GOOD.replace("2024-01-01", "2024年1月1日"))
    project.build()
    assert "2024年1月1日" in (project.out / "p" / "index.html").read_text("utf-8")


def test_duplicate_slug(project):
    project.write("privacy.md", GOOD)
    project.write("privacy/1.0.md", GOOD)
    diags = errors_of(project)
    d = find(diags, "privacy.md", "slug")
    assert "policies/privacy" in d.message and "two policies" in d.message
    project.write("other.md", GOOD.replace("title", "slug: privacy\ntitle"))


def test_duplicate_slug_from_frontmatter(project):
    project.write("a.md", GOOD)
    project.write("b.md", GOOD.replace("title", "slug: a\ntitle"))
    d = find(errors_of(project), "b.md", "slug")
    assert d.line == 2


def test_duplicate_version_and_same_effective_date(project):
    project.write("t/one.md", GOOD)
    project.write("t/two.md", GOOD.replace("2024-01-01", "2025-01-01"))
    project.write("t/three.md", GOOD.replace('"1.0"', '"3.0"'))
    diags = errors_of(project)
    d = find(diags, "t/two.md", "version")
    assert d.line == 5 and "also given in" in d.message
    d = find(diags, "t/three.md", "effective")
    assert "both take effect on 2024-01-01" in d.message


def test_structure_errors(project):
    project.write("empty.md", "")
    project.write("unclosed.md", "---\ntitle: 好\n\n正文\n")
    project.write("nofm.md", "# 标题\n\n正文\n")
    project.write("tabs.md", "---\ntitle: 好\ncontact:\n\tphone: 1\n---\n")
    project.write("colon.md", "---\ntitle: 好: 坏: [\n---\n")
    diags = errors_of(project)
    assert "empty file" in find(diags, "empty.md").message
    assert "never closed" in find(diags, "unclosed.md").message
    assert "no frontmatter" in find(diags, "nofm.md").message
    tabs = find(diags, "tabs.md")
    assert tabs.line == 4 and "tabs" in tabs.fix
    assert find(diags, "colon.md").line == 2


def test_gbk_file_named(project):
    project.write("gbk.md", GOOD + "中文内容\n", encoding="gb18030")
    d = find(errors_of(project), "gbk.md")
    assert "GBK" in d.message and "UTF-8" in d.fix


def test_translation_without_version(project):
    project.write("a.md", GOOD)
    project.write("b.en.md", "---\ntitle: B\n---\nText\n")
    d = find(errors_of(project), "b.en.md")
    assert "no b.md" in d.message


def test_link_to_missing_policy(project):
    project.write("a.md", GOOD + "\n第二行\n\n见[不存在](policy:nope)。\n")
    d = find(errors_of(project), "a.md", "link")
    assert d.line == 11 and "nope" in d.message


def test_all_problems_in_one_run_exit_1_output_kept(project):
    project.write("a.md", GOOD)
    project.run("--out", "public", check=True)
    index = (project.out / "index.html").read_bytes()
    project.write("b.md", GOOD.replace("2024-01-01", "2024-13-01"))
    project.write("c.md", GOOD.replace('"1.0"', "1.10"))
    project.write("d.md", GOOD.replace("title: 好\n", ""))
    proc = project.run()
    assert proc.returncode == 1
    for expected in ("policies/b.md:4", "policies/c.md:5", "policies/d.md", "[title]", "[version]", "[effective]"):
        assert expected in proc.stderr, proc.stderr
    assert "3 errors" in proc.stderr
    assert (project.out / "index.html").read_bytes() == index
    assert not (project.out / "b").exists()


def test_broken_config(project):
    project.write("a.md", GOOD)
    project.config('[site]\ntitle = "x\n')
    proc = project.run()
    assert proc.returncode == 1 and "config.toml:2" in proc.stderr and "TOML" in proc.stderr


def test_config_values_checked(project):
    project.write("a.md", GOOD)
    project.config('[site]\nbase_url = "example.gov.cn"\ntitel = "x"\n[scripts]\ntraditional = "s2x"\n')
    diags = errors_of(project)
    assert find(diags, "config.toml", "site.base_url").line == 2
    assert find(diags, "config.toml", "scripts.traditional").line == 5
    assert "site.title" in find(diags, "config.toml", "site.titel", "warning").fix


def test_missing_template(project):
    project.write("a.md", GOOD)
    (project.root / "templates" / "policy.html").write_text('{% include "partials/gone.html" %}', "utf-8")
    d = find(errors_of(project), "templates/policy.html")
    assert "partials/gone.html" in d.message


def test_template_error_names_line(project):
    project.write("a.md", GOOD)
    path = project.override("templates/home.html")
    path.write_text(path.read_text("utf-8").replace("{{ t.no_policies }}", "{{ t.no_such_string }}")
                    .replace("{% if entries %}", "{% if entries and t.no_such_string %}"), "utf-8")
    d = find(errors_of(project), "home.html")
    assert d.line and "no_such_string" in d.message
