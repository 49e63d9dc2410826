"""The persistent cache and incremental writes: correct first, fast second.

Every test compares against a clean `--no-cache` build, which is the definition
of the right output.
"""
from __future__ import annotations

import os

import pytest

from conftest import Project, file_ids, tree

BODY = "## 一、总则\n\n第{n}号政策的正文。\n\n## 二、联系我们\n\n电话：0000-1234567{n}\n"


def clean_build(project: Project, tmp_path, name="clean"):
    out = tmp_path / name
    project.run("--no-cache", "--out", str(out), check=True)
    return tree(out)


@pytest.fixture
def site(project):
    for n in range(6):
        project.policy(f"p{n}.md", BODY.format(n=n), title=f"政策{n}")
    project.policy("multi/1.0.md", BODY.format(n=8), title="多版本", version='"1.0"', effective="2023-01-01")
    project.policy("multi/2.0.md", BODY.format(n=9), title="多版本", version='"2.0"', effective="2024-01-01")
    project.run(check=True)
    return project


def test_rebuild_with_nothing_changed_writes_nothing(site):
    before = file_ids(site.out)
    proc = site.run(check=True)
    # (or, when the sources are old enough for the build stamp to be trusted, no look at all)
    assert "(0 rendered, the rest unchanged)" in proc.stdout or "nothing changed since" in proc.stdout
    assert file_ids(site.out) == before


def test_editing_one_policy_rewrites_only_its_pages(site, tmp_path):
    before = file_ids(site.out)
    site.policy("p3.md", BODY.format(n=3) + "\n新增的一段。\n", title="政策3")
    proc = site.run(check=True)
    after = file_ids(site.out)
    # the search index reads every body, so it is made again too (outputs/search.py); its own test
    # is tests/test_search.py
    changed = sorted(p for p in after if after[p] != before.get(p) and p != ".policysite"
                     and not p.startswith("search/pagefind/"))
    assert changed and all(p.startswith("p3/") or "/p3/" in p for p in changed), changed
    # every variant of p3: standard, 长者版, Traditional, Traditional 长者版 × (policy, version, history)
    assert len(changed) == 12, changed
    assert "(12 rendered" in proc.stdout
    assert tree(site.out) == clean_build(site, tmp_path)


def test_editing_a_title_also_updates_the_listings(site, tmp_path):
    site.policy("p2.md", BODY.format(n=2), title="改名的政策")
    site.run(check=True)
    out = tree(site.out)
    assert "改名的政策" in out["index.html"].decode() and "改名的政策" in out["feed.xml"].decode()
    assert "改名的政策" in out["policies.json"].decode()
    assert out == clean_build(site, tmp_path)


def test_editing_a_template_rerenders_every_page(site, tmp_path):
    before = file_ids(site.out)
    base = site.override("templates/base.html")
    base.write_text(base.read_text("utf-8").replace("</footer>", "<p>模板改动</p></footer>"), "utf-8")
    site.run(check=True)
    after = file_ids(site.out)
    pages = [p for p in after if p.endswith(".html")]
    assert all(after[p] != before[p] for p in pages)
    assert all("模板改动" in (site.out / p).read_text("utf-8") for p in pages)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_config_change_and_phrase_table_change_are_seen(site, tmp_path):
    site.policy("p1.md", "## 一、总则\n\n于先生负责。\n", title="政策1")
    site.run(check=True)
    (site.root / "phrases.toml").write_text('[to-hant]\n"于先生" = "于先生"\n', "utf-8")
    site.run(check=True)
    assert "于先生負責" in (site.out / "zh-hant/p1/index.html").read_text("utf-8")
    assert tree(site.out) == clean_build(site, tmp_path)
    site.config(site.root.joinpath("config.toml").read_text("utf-8").replace("测试站点", "新站名"))
    site.run(check=True)
    assert "新站名" in (site.out / "p0/index.html").read_text("utf-8")
    assert tree(site.out) == clean_build(site, tmp_path, "clean2")


def test_same_size_same_mtime_edit_is_not_missed(site, tmp_path):
    """The cache is keyed by content, not by modification time."""
    path = site.root / "policies" / "p4.md"
    st = path.stat()
    text = path.read_text("utf-8")
    path.write_text(text.replace("第4号", "第5号"), "utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    site.run(check=True)
    assert "第5号政策" in (site.out / "p4/index.html").read_text("utf-8")


def test_removed_policy_disappears_and_added_one_appears(site, tmp_path):
    (site.root / "policies" / "p5.md").unlink()
    site.policy("new.md", BODY.format(n=7), title="新政策")
    site.run(check=True)
    assert not (site.out / "p5").exists() and not (site.out / "zh-hant/elder/p5").exists()
    assert (site.out / "new/index.html").is_file()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_output_changed_behind_our_back_is_rebuilt_whole(site, tmp_path):
    """A build into a folder that another build replaced does not trust the old manifest."""
    other = site.run("--no-cache", check=True)                   # replaces public/ without the cache
    assert other.returncode == 0
    site.policy("p0.md", BODY.format(n=0) + "\n追加。\n", title="政策0")
    site.run(check=True)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_parallel_build_is_identical_to_serial(project, tmp_path):
    for n in range(45):                                          # enough pages to use worker processes
        project.policy(f"p{n:02}.md", BODY.format(n=n) * (1 + n % 4), title=f"政策{n}")
    project.policy("v/1.0.md", BODY.format(n=1), version='"1.0"', effective="2023-01-01")
    project.policy("v/2.0.md", BODY.format(n=2), version='"2.0"', effective="2024-01-01")
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    project.run("--no-cache", "--jobs", "1", "--out", str(serial), check=True)
    project.run("--no-cache", "--jobs", "2", "--out", str(parallel), check=True)
    assert len([p for p in tree(serial) if p.endswith(".html")]) >= 400
    assert tree(serial) == tree(parallel)


def test_documents_rendered_again_from_sources_kept_without_their_text(site, tmp_path):
    """The build state keeps sources without their text; when a document has to be rendered
    again (its cached rendering gone, or the Markdown settings changed), the text is read
    back from the unchanged file."""
    import shutil
    for folder in (site.root / ".cache" / "policysite").glob("engine-*"):
        shutil.rmtree(folder)
    with (site.root / "config.toml").open("a", encoding="utf-8") as f:
        f.write('\n[markdown]\nallow_tags = ["kbd"]\n')
    site.run(check=True)
    assert tree(site.out) == clean_build(site, tmp_path)
    assert "第3号政策的正文" in (site.out / "p3/index.html").read_text("utf-8")


def test_the_same_config_named_another_way_keeps_the_cache(site):
    """`--config config.toml` from the site folder and an absolute path name one site."""
    site.policy("p2.md", BODY.format(n=2) + "\n追加一句。\n", title="政策2")
    proc = site.run("--config", str((site.root / "config.toml").resolve()), check=True)
    assert "(12 rendered" in proc.stdout, proc.stdout


def test_an_edit_reads_no_other_source(site, monkeypatch):
    """Unchanged sources are kept in the build state without their text. An edit reads the
    edited file once (to parse it) and no other, even when other policies link to one another
    (the line of a link is looked up for an error message, not on every build)."""
    from policysite import pipeline, render
    site.policy("p0.md", BODY.format(n=0) + "\n见[第1号政策](policy:p1#s1)和[多版本](policy:multi)。\n", title="政策0")
    site.run(check=True)
    site.policy("p3.md", BODY.format(n=3) + "\n新增的一段。\n", title="政策3")
    asked, read_back = [], []
    real = render.read_body

    def spy(src):
        asked.append(src.display)
        if src.body is None:                    # not in memory: this is a read of the file
            read_back.append(src.display)
        return real(src)
    monkeypatch.setattr(render, "read_body", spy)
    result = pipeline.build(site.root / "config.toml")
    assert result.rendered == 12
    assert [r.rsplit("/", 1)[-1] for r in asked] == ["p3.md"]
    assert read_back == []                      # its text came from the parse, not a second read


def test_a_cache_filled_from_another_directory_does_not_make_a_translation_a_duplicate(project, tmp_path):
    """A policy and its translation are one policy whichever directory each build runs in: the
    cache keeps what the first build read (run from the folder above the site, its paths shown
    as site/policies/…), and an edit read by a build run in the site's folder (shown as
    policies/…) is still the same policy, not "two policies use the slug"."""
    import subprocess
    import sys

    from conftest import ROOT
    project.policy("privacy.md", BODY.format(n=1), title="隐私政策")
    project.policy("privacy.en.md", "## 1. General\n\nText.\n", title="Privacy Policy", lang="en")
    above = subprocess.run([sys.executable, str(ROOT / "build.py"), "--config", str(project.root / "config.toml")],
                           cwd=project.root.parent, capture_output=True, text=True, timeout=120)
    assert above.returncode == 0, above.stderr
    project.policy("privacy.md", BODY.format(n=2), title="隐私政策")            # the translation unchanged
    proc = project.run()                                                     # in the site's own folder
    assert proc.returncode == 0, proc.stderr
    assert "two policies" not in proc.stderr
    assert tree(project.out) == clean_build(project, tmp_path)


def test_a_plan_and_fingerprints_kept_from_the_last_build_equal_fresh_ones(project):
    """A process that builds again and again (the resident builder, the preview server) keeps
    the last page plan while the site's shape is the same, and re-fingerprints only its
    dependencies (plan.plan_of, incremental.fingerprints). After each kind of change, what it
    kept must equal what a fresh process computes."""
    from policysite import incremental, plan as plan_mod
    from policysite.errors import Collector
    from policysite.pipeline import load_phase, plan_phase

    def fresh(site):
        pages = plan_mod.plan_pages(site)
        return pages, plan_mod.plan_index_of(pages)

    def check(label):
        site = load_phase(project.root / "config.toml", Collector(), False)
        ctx = plan_phase(site, Collector())
        pages, index = fresh(site)
        assert ctx.plan == pages and ctx.index == index, label
        deps = incremental.Dependencies(site, "g")
        kept = incremental.fingerprints(deps, ctx.specs)
        saved = dict(incremental._LAST)
        incremental._LAST.clear()
        try:
            anew = incremental.fingerprints(incremental.Dependencies(site, "g"), ctx.specs)
        finally:
            incremental._LAST.update(saved)
        assert kept == anew, label
        return ctx, kept

    for n in range(3):
        project.policy(f"p{n}.md", BODY.format(n=n), title=f"政策{n}")
    project.policy("multi/1.0.md", BODY.format(n=8), title="多版本", version='"1.0"', effective="2023-01-01")
    first, fps0 = check("first build")
    again, fps1 = check("nothing changed")
    assert again.plan is first.plan and fps1 == fps0          # kept, not planned again

    project.policy("p1.md", BODY.format(n=1) + "\n新增的一段。\n", title="政策1")
    edited, fps2 = check("an edit of the words")
    assert edited.plan is first.plan
    pages = {p.out_path for p in first.plan}                  # (the search index reads every body too)
    assert {p for p in pages if fps2[p] != fps1[p]} == {p.out_path for p in first.plan if p.slug == "p1"}

    project.policy("multi/2.0.md", BODY.format(n=9), title="多版本", version='"2.0"', effective="2024-01-01")
    versioned, _ = check("a new version")
    assert versioned.plan is not first.plan
    assert any(p.url == "multi/2.0/changes/" for p in versioned.plan)
    project.policy("multi/3.0.md", BODY.format(n=10), title="多版本", version='"3.0"', effective="2026-12-01")
    upcoming, _ = check("a new version, in force after today")
    assert next(p for p in upcoming.plan if p.kind == "policy" and p.slug == "multi").version == "2.0"

    project.policy("p2.en.md", "## General\n\nText.\n", title="Policy 2", lang="en")
    translated, _ = check("a translation")
    assert any(p.url.startswith("en/p2/") for p in translated.plan)

    project.policy("multi/1.0.en.md", "## General\n\nText.\n", title="Multi", version='"1.0"',
                   effective="2023-01-01", lang="en")
    old_translated, _ = check("a translation of a version not shown")
    assert any(p.url == "en/multi/1.0/" for p in old_translated.plan)

    (project.root / "policies" / "p0.md").unlink()
    project.policy("new.md", BODY.format(n=7), title="新政策")
    moved, _ = check("a policy removed and another added")
    assert not any(p.slug == "p0" for p in moved.plan) and any(p.slug == "new" for p in moved.plan)

    project.config((project.root / "config.toml").read_text("utf-8").replace("2026-11-22", "2023-06-01"))
    earlier, _ = check("another today: another version shown")
    assert next(p for p in earlier.plan if p.kind == "policy" and p.slug == "multi").version == "1.0"
