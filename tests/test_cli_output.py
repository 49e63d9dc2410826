"""CLI behaviour and atomic output."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from conftest import ROOT, text_of

GOOD = '---\ntitle: 好\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n## 一、总则\n\n正文\n'


def test_exit_codes_and_summary(project):
    project.write("a.md", GOOD)
    ok = project.run()
    assert ok.returncode == 0
    assert ok.stdout.strip().splitlines()[-1].startswith("Built 1 policy, ")
    assert " pages in " in ok.stdout and ok.stdout.strip().endswith("public")
    assert project.run("--no-such-flag").returncode == 2
    assert project.run("--quiet").stdout == ""
    assert "index.html" in project.run("--verbose").stdout
    assert "--drafts" in project.run("--help").stdout


def test_timings_break_down_the_build_that_ran(project, monkeypatch):
    from policysite import stamp
    project.write("a.md", GOOD)
    first = project.run("--timings", check=True).stdout
    for phase in ("start-up", "build stamp", "imports", "config and cache state", "load and model",
                  "render ", "write", "in all, since start-up"):
        assert f"  {phase}" in first, phase
    # the builds' clock ahead of the racy window (no sleep): the next build can vouch for the one after
    monkeypatch.setenv(stamp.CLOCK_ENV, str(stamp.RACY_NS + 1_000_000_000))
    project.run(check=True)
    again = project.run("--timings", check=True).stdout
    assert "  build stamp" in again and "(nothing changed since the last build)" in again
    assert "  imports" not in again and "  render" not in again
    project.write("a.md", GOOD.replace("正文", "新的正文"))
    edited = project.run("--timings", check=True).stdout
    assert "render 12 pages" in edited, edited          # its page, history and version, in 4 variants


def test_config_and_out_options(project, tmp_path):
    project.write("a.md", GOOD)
    (project.root / "other.toml").write_text('[site]\ntitle = "另一个站点"\n[build]\noutput = "site-out"\n', "utf-8")
    assert project.run("--config", "other.toml").returncode == 0
    assert "另一个站点" in (project.root / "site-out" / "index.html").read_text("utf-8")
    out = tmp_path / "elsewhere"
    assert project.run("--out", str(out)).returncode == 0
    assert (out / "a" / "index.html").exists()


def test_new_scaffolds_a_valid_draft(project):
    proc = project.run("new", "data-policy")
    assert proc.returncode == 0, proc.stderr
    text = (project.root / "policies" / "data-policy.md").read_text("utf-8")
    for field in ("title:", "issuer:", "effective:", "version:"):
        assert field in text
    project.run(check=True)
    assert not (project.out / "data-policy").exists()          # a draft
    project.run("--drafts", check=True)
    assert (project.out / "data-policy" / "index.html").exists()
    assert project.run("new", "data-policy").returncode == 2     # exists
    assert project.run("new", "Bad Slug").returncode == 2


def test_stale_files_removed_and_output_replaced(project):
    project.write("a.md", GOOD)
    project.write("b.md", GOOD.replace("好", "乙"))
    project.run(check=True)
    assert (project.out / "b" / "index.html").exists()
    (project.root / "policies" / "b.md").unlink()
    project.run(check=True)
    assert not (project.out / "b").exists()
    assert not list(project.root.glob(".public.new-*"))


def test_refuses_to_replace_a_foreign_folder(project, tmp_path):
    project.write("a.md", GOOD)
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    proc = project.run("--out", str(foreign))
    assert proc.returncode == 1 and "not made by this tool" in proc.stderr
    assert (foreign / "thesis.txt").read_text() == "precious"
    proc = project.run("--out", str(project.root))
    assert proc.returncode == 1 and (project.root / "policies" / "a.md").exists()


def _tree(out):
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _run_killed(project, hook: str, *args):
    """Run a build that SIGKILLs itself at the point `hook` patches in."""
    code = ("import sys, os, signal; sys.path.insert(0, %r)\n"
            "import policysite.write as w\n"
            "def die(): os.kill(os.getpid(), signal.SIGKILL)\n" + hook +
            "\nfrom policysite.cli import main; main(['--out', 'public', *%r])\n") % (str(ROOT), list(args))
    proc = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc


def _many(project, n=300):
    for i in range(n):
        project.write(f"p{i:03}.md", GOOD.replace("好", f"政策{i}"))
    project.run(check=True)


def test_killed_full_build_leaves_previous_output(project):
    """SIGKILL part-way through writing a whole new tree: the old site is still there, whole."""
    _many(project)
    before = _tree(project.out)
    (project.root / "policies" / "p000.md").write_text(GOOD.replace("好", "改动"), "utf-8")
    _run_killed(project, "real = w._safe_relpath\nn = [0]\n"
                         "def slow(p):\n    n[0] += 1\n    if n[0] == 400: die()\n    return real(p)\n"
                         "w._safe_relpath = slow", "--no-cache", "--jobs", "1")
    assert _tree(project.out) == before
    assert list(project.root.glob(".public.new-*"))             # the half-written staging folder
    project.run(check=True)                                     # the next build cleans it up
    assert not list(project.root.glob(".public.new-*"))
    assert "改动" in (project.out / "p000" / "index.html").read_text("utf-8")


def test_killed_incremental_build_before_commit_leaves_previous_output(project):
    _many(project, 40)
    before = _tree(project.out)
    for i in range(3):
        (project.root / "policies" / f"p00{i}.md").write_text(GOOD.replace("好", f"改动{i}"), "utf-8")
    _run_killed(project, "w.os.fsync = lambda fd: die()")   # while writing the journal
    assert _tree(project.out) == before
    project.run(check=True)
    assert "改动2" in (project.out / "p002" / "index.html").read_text("utf-8")


def test_killed_incremental_build_after_commit_is_completed_by_the_next(project, tmp_path):
    """Killed while moving changed pages into place: the journal lets the next build finish the job,
    and the result is exactly what a clean build gives."""
    _many(project, 40)
    for i in range(3):
        (project.root / "policies" / f"p00{i}.md").write_text(GOOD.replace("好", f"改动{i}"), "utf-8")
    _run_killed(project, "real = w.os.replace\nn = [0]\n"
                         "def slow(a, b):\n    n[0] += '/public/' in str(b)\n    if n[0] == 4: die()\n    return real(a, b)\n"
                         "w.os.replace = slow")
    assert list(project.root.glob(".public.policysite-journal"))
    project.run(check=True)
    assert not list(project.root.glob(".public.policysite-journal"))
    clean = project.run("--no-cache", "--out", str(tmp_path / "clean"), check=True)
    assert _tree(project.out) == _tree(tmp_path / "clean")
    assert "改动2" in (project.out / "p002" / "index.html").read_text("utf-8")