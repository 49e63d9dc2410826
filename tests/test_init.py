"""`python build.py init`, and the first-run fixes a new user needs (issue 15), through the real command line."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, check_links, html_pages, parse_html, text_of

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def run(*args, cwd=None, python=(sys.executable,)):
    return subprocess.run([*python, str(ROOT / "build.py"), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


def test_init_makes_a_site_that_builds_at_once(tmp_path):
    site = tmp_path / "my-site"
    proc = run("init", site, "--title", "东岭市人民政府 政策文件", "--issuer", "东岭市人民政府办公室",
               "--base-url", "https://www.dongling.example.gov.cn/zhengce", "--traditional", "s2hk")
    assert proc.returncode == 0, proc.stderr
    config = (site / "config.toml").read_text("utf-8")
    assert not re.search(r"^\s*today\s*=", config, re.M)              # no pinned date
    assert 'base_url = "https://www.dongling.example.gov.cn/zhengce/"' in config
    assert 'traditional = "s2hk"' in config
    assert sorted(p.name for p in (site / "policies").iterdir()) == ["privacy.md"]
    assert (site / "templates").is_dir() and (site / "static").is_dir() and (site / "README.md").is_file()
    assert "build.py --config" in proc.stdout

    build = run("--config", site / "config.toml", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    assert build.stderr == ""                                           # not even a warning
    out = site / "public"
    assert "Built 1 policy" in build.stdout and str(out) in build.stdout
    pages = html_pages(out)
    assert len(pages) > 10 and check_links(out) == []
    home = parse_html(out / "index.html")
    assert "东岭市人民政府 政策文件" in text_of(home.xpath("//title")[0])
    policy = parse_html(out / "privacy" / "index.html")
    assert text_of(policy.xpath("//h1")[0]).strip() == "东岭市人民政府政策文件隐私政策"
    assert "东岭市人民政府办公室" in text_of(policy.xpath("//body")[0])
    assert policy.xpath("//strong[@class='key-clause']")
    hant = parse_html(out / "zh-hant" / "privacy" / "index.html")
    assert "東嶺市" in text_of(hant.xpath("//body")[0])
    assert not (out / "static" / ".gitkeep").exists()                 # dot-files are not published
    assert (out / "static" / "site.css").is_file()                      # the engine's default theme
    assert 'href="/zhengce/"' in (out / "404.html").read_text("utf-8")   # base_url's path
    assert re.fullmatch(r"[0-9a-f]{32}\n", (out / ".policysite").read_text("utf-8"))


def test_init_then_import_then_build(tmp_path):
    site = tmp_path / "s"
    assert run("init", site).returncode == 0
    imp = run("import", "--config", site / "config.toml", FIXTURES / "cms-gb2312.html", cwd=tmp_path)
    assert imp.returncode == 0, imp.stderr
    assert len(list((site / "policies").glob("*.md"))) == 2
    build = run("--config", site / "config.toml", "--drafts", cwd=tmp_path)
    assert build.returncode == 0 and "error" not in build.stderr, build.stderr
    assert "Built 2 policies" in build.stdout


def test_init_refuses_a_folder_in_use_and_a_bad_address(tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine", "utf-8")
    proc = run("init", used)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    proc = run("init", tmp_path / "new", "--base-url", "www.example.gov.cn")
    assert proc.returncode == 2 and "--base-url" in proc.stderr and not (tmp_path / "new").exists()


# --- first-run fixes -------------------------------------------------------------------

def test_a_stale_pinned_date_is_warned_about_with_its_line(project):
    project.policy("a.md")
    old = dt.date.today() - dt.timedelta(days=30)
    project.config(f'[site]\ntitle = "测试站点"\ntoday = {old.isoformat()}\n')
    proc = project.run(check=True)
    assert f"config.toml:3: warning [site.today]: the build date is pinned to {old.isoformat()}" in proc.stderr
    assert "fix: remove `today` to use the build date" in proc.stderr
    recent = dt.date.today() - dt.timedelta(days=2)
    project.config(f'[site]\ntitle = "测试站点"\ntoday = {recent.isoformat()}\n')
    assert "site.today" not in project.run(check=True).stderr


def test_full_width_colon_and_at_sign_are_named_with_their_line(project):
    project.write("a.md", """\
        ---
        title：隐私政策
        issuer: 某局
        effective: 2024-01-01
        version: "1.0"
        ---
        正文
        """)
    project.write("b.md", """\
        ---
        title: 隐私政策
        issuer: 某局
        effective: 2024-01-01
        version: "1.0"
        contact:
          email: privacy＠example.gov.cn
        ---
        正文
        """)
    proc = project.run()
    assert proc.returncode == 1
    assert "policies/a.md:2: error [title]: the full-width colon '：' (U+FF1A) after 'title'" in proc.stderr
    assert "title: …" in proc.stderr
    assert "policies/b.md:7: error [contact]: found contact.email 'privacy＠example.gov.cn' with the full-width '＠' (U+FF20)" \
        in proc.stderr
    assert "email: privacy@example.gov.cn" in proc.stderr


def test_an_override_in_the_wrong_folder_is_reported_with_the_right_path(project):
    project.policy("a.md")
    theme = ROOT / "policysite" / "theme" / "templates"
    for rel in ("overrides/contact.html", "templates/toc.html", "templates/zh-Hans.toml"):
        src = theme / ("strings/zh-Hans.toml" if rel.endswith(".toml") else "partials/" + Path(rel).name)
        path = project.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(src.read_bytes())
    project.override("templates/partials/badges.html")                  # in the right place: no warning
    proc = project.run(check=True)
    err = proc.stderr
    assert "overrides/contact.html: warning: overrides/contact.html replaces nothing" in err
    assert "move it to overrides/partials/contact.html" in err
    assert "move it to templates/partials/toc.html" in err
    assert "move it to templates/strings/zh-Hans.toml" in err
    assert "badges.html" not in err


def test_a_strings_table_needs_only_its_keys_and_a_missing_one_names_the_sites_file(project):
    project.policy("a.md")
    strings = project.root / "templates" / "strings"
    strings.mkdir(parents=True)
    (strings / "zh-Hans.toml").write_text('home = "网站首页"\n', "utf-8")
    proc = project.run(check=True)
    assert "网站首页" in (project.out / "index.html").read_text("utf-8")
    (strings / "zh-Hans.toml").write_text('home = "网站首页"\nextra_note = "附注"\n', "utf-8")
    proc = project.run()
    assert proc.returncode == 1
    assert "templates/strings/zh-Hant.toml: error [extra_note]: UI string 'extra_note' is missing for zh-Hant" \
        in proc.stderr
    assert "policysite/theme" not in proc.stderr


def test_build_without_its_libraries_prints_the_set_up_command(tmp_path):
    # -S: no site-packages, as with a Python that never had requirements.txt installed
    proc = run("--out", tmp_path / "out", python=(sys.executable, "-S"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "pip install -r requirements.txt" in proc.stderr and "python3 -m venv .venv" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_sample_config_and_readme_agree(sample_site):
    """The nginx example serves the site at base_url's path, where the 404 page's links point."""
    readme = (ROOT / "README.md").read_text("utf-8")
    config = (ROOT / "config.toml").read_text("utf-8")
    base_path = re.search(r'^base_url = "https?://[^/]+(/[^"]*)"', config, re.M).group(1)
    nginx = re.search(r"```nginx\n(.*?)```", readme, re.S).group(1)
    assert f"error_page 404 {base_path}404.html;" in nginx
    assert f"location {base_path} " in nginx
    headers = [line for line in nginx.splitlines() if line.strip().startswith("add_header")]
    assert headers and all(line.rstrip().endswith("always;") for line in headers)
    links = re.findall(r'(?:href|src)="(/[^"]*)"', (sample_site / "404.html").read_text("utf-8"))
    assert links and all(link.startswith(base_path) for link in links)
    assert re.fullmatch(r"[0-9a-f]{32}\n", (sample_site / ".policysite").read_text("utf-8"))
