"""The build stamp: `build.py` with nothing changed ends at once, and anything changed is seen.

Every input the stamp covers is changed once here, through the real command line;
each must make the next build do real work and give what a clean build gives.
Inputs must be older than the stamp's racy window (2 s) for the stamp to be
trusted: instead of waiting that long, the builds' clock is moved ahead by more
than the window (stamp.CLOCK_ENV); the window itself is tested with the clock
moved back, and with a stamp record that says so.
"""
from __future__ import annotations

import json
from pathlib import Path
import os

import pytest

from conftest import Project, file_ids, tree
from policysite import stamp

BODY = "## 一、总则\n\n第{n}号政策的正文。\n"
SKIPPED = "nothing changed since the last build"


AHEAD = str(stamp.RACY_NS + 1_000_000_000)      # every input is older than the racy window


def settled(project: Project) -> None:
    """Build until the stamp is trusted: (inputs older than the racy window) two builds."""
    project.run(check=True)
    proc = project.run(check=True)
    assert SKIPPED in proc.stdout, proc.stdout


@pytest.fixture
def site(project, monkeypatch):
    monkeypatch.setenv(stamp.CLOCK_ENV, AHEAD)
    for n in range(3):
        project.policy(f"p{n}.md", BODY.format(n=n), title=f"政策{n}")
    project.policy("p9.md", BODY.format(n=9), title="带未知字段", colour="red")     # a warning to replay
    project.run(check=True)
    settled(project)
    return project


def clean(project, tmp_path):
    out = tmp_path / "clean"
    project.run("--no-cache", "--out", str(out), check=True)
    return tree(out)


def test_nothing_changed_ends_at_once_and_touches_nothing(site):
    before = file_ids(site.out)
    proc = site.run(check=True)
    assert SKIPPED in proc.stdout
    assert "unknown field 'colour'" in proc.stderr              # the warnings are shown again
    assert file_ids(site.out) == before
    quiet = site.run("--quiet", check=True)
    assert quiet.stdout == "" and quiet.stderr == ""


def test_edit_keeping_size_and_mtime_is_seen(site, tmp_path):
    path = site.root / "policies" / "p1.md"
    st = path.stat()
    path.write_text(path.read_text("utf-8").replace("第1号", "第7号"), "utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    proc = site.run(check=True)
    assert SKIPPED not in proc.stdout
    assert "第7号政策" in (site.out / "p1/index.html").read_text("utf-8")
    assert tree(site.out) == clean(site, tmp_path)


@pytest.mark.parametrize("change", ["template", "static", "config", "phrases", "new policy", "removed policy",
                                    "policy in a new folder"])
def test_every_kind_of_input_is_covered(site, tmp_path, change):
    root = site.root
    if change == "template":
        path = site.override("templates/base.html")
        path.write_text(path.read_text("utf-8").replace("</body>", "<!-- 改 --></body>"), "utf-8")
    elif change == "static":
        with site.override("static/site.css").open("a", encoding="utf-8") as f:
            f.write("\n/* 改 */\n")
    elif change == "config":
        (root / "config.toml").write_text((root / "config.toml").read_text("utf-8").replace("测试站点", "改名站点"),
                                          "utf-8")
    elif change == "phrases":
        (root / "phrases.toml").write_text('[to-hant]\n"正文" = "本文"\n', "utf-8")
    elif change == "new policy":
        site.policy("p5.md", BODY.format(n=5), title="新政策")
    elif change == "removed policy":
        (root / "policies" / "p2.md").unlink()
    elif change == "policy in a new folder":
        site.policy("multi/1.0.md", BODY.format(n=6), title="多版本")
    proc = site.run(check=True)
    assert SKIPPED not in proc.stdout, change
    assert tree(site.out) == clean(site, tmp_path)


def test_engine_files_are_inputs_too(site):
    """The engine's code and data (its default phrase table) are inputs like any other."""
    from policysite.config import load_config
    from policysite.errors import Collector
    cfg = load_config(site.root / "config.toml", Collector())
    files = stamp.engine_files() + stamp.library_files()
    assert any(f.endswith("phrases.toml") for f in files) and any(f.endswith("pipeline.py") for f in files)
    assert any("markdown" in f for f in files) and any("opencc" in f for f in files)
    versions = stamp.library_versions()                         # read from the .dist-info folders' names
    assert "?" not in versions and "Markdown==" in versions and "OpenCC==" in versions, versions
    before, _ = stamp.inputs_of(cfg)
    target = next(f for f in files if f.endswith("phrases.toml"))
    os.utime(target)                                             # as an edit of the file would
    after, _ = stamp.inputs_of(cfg)
    assert before != after


def test_output_removed_or_replaced_is_rebuilt(site, tmp_path):
    import shutil
    shutil.rmtree(site.out)
    proc = site.run(check=True)
    assert SKIPPED not in proc.stdout and (site.out / "p0/index.html").is_file()
    site.run("--no-cache", check=True)                             # another build replaced the folder
    assert SKIPPED not in site.run(check=True).stdout


def test_other_output_folder_drafts_and_no_cache_have_their_own_answer(site, tmp_path):
    other = tmp_path / "other"
    assert SKIPPED not in site.run("--out", str(other), check=True).stdout
    assert SKIPPED not in site.run("--drafts", check=True).stdout
    assert SKIPPED not in site.run("--no-cache", check=True).stdout
    assert SKIPPED not in site.run("--verbose", check=True).stdout


def test_a_stamp_from_within_the_racy_window_is_not_trusted(site):
    """A file changed in the same clock tick as the build read it could have changed after
    the read with identical metadata; such a stamp must not be trusted."""
    from policysite.config import load_config
    from policysite.errors import Collector
    cfg = load_config(site.root / "config.toml", Collector())
    cache = site.root / ".cache" / "policysite"
    assert stamp.check(cfg, site.out, False, cache) is not None
    path = stamp.stamp_path(cache, site.out, False)
    record = json.loads(path.read_text("utf-8"))
    _, newest = stamp.inputs_of(cfg)
    record["started"] = newest + stamp.RACY_NS // 2                # the build began just after an input changed
    path.write_text(json.dumps(record), "utf-8")
    assert stamp.check(cfg, site.out, False, cache) is None
    assert SKIPPED not in site.run(check=True).stdout


def test_interrupted_write_beside_the_output_disables_the_shortcut(site):
    stage = site.out.with_name(f".{site.out.name}.new-999999-abcd")
    stage.mkdir()
    try:
        assert SKIPPED not in site.run(check=True).stdout
        assert not stage.exists()                                  # the full build cleaned it up
    finally:
        if stage.exists():
            stage.rmdir()


def test_the_marker_token_changes_with_the_content(site):
    """The output's identity does not rest on timestamps, which some disks keep to 2 s (and
    identical builds still leave identical folders: see the clean-build comparisons)."""
    first = stamp.marker_id(site.out)
    site.policy("p0.md", BODY.format(n=0) + "\n追加。\n", title="政策0")
    site.run(check=True)                                           # an in-place (journaled) write
    second = stamp.marker_id(site.out)
    assert first[3] and second[3] and first[3] != second[3]


def test_a_build_error_raised_in_a_worker_arrives_whole():
    """Errors cross from worker processes by pickling; a BuildError must keep its diagnostics."""
    import pickle
    from policysite.errors import BuildError, Diagnostic
    e = BuildError([Diagnostic("policies/a.md", 3, "title", "the file changed while the site was being built",
                               "build again")])
    back = pickle.loads(pickle.dumps(e))
    assert isinstance(back, BuildError) and back.diagnostics[0].file == "policies/a.md"
    assert back.errors and back.diagnostics[0].line == 3


def test_inputs_changed_within_the_racy_window_are_not_trusted(project, monkeypatch):
    """Through the command line: with the build's clock moved back, every input was changed
    "just before" the build read it, so no build can vouch for the next; moved ahead, one can."""
    project.policy("p.md", BODY.format(n=1))
    monkeypatch.setenv(stamp.CLOCK_ENV, str(-60 * 1_000_000_000))
    for _ in range(3):
        assert SKIPPED not in project.run(check=True).stdout
    monkeypatch.setenv(stamp.CLOCK_ENV, AHEAD)
    project.run(check=True)
    assert SKIPPED in project.run(check=True).stdout


def test_the_engine_fingerprint_covers_its_subpackages():
    """An edit to policysite/outputs/*.py (or importers/) is an edit to the engine."""
    names = {Path(f).relative_to(stamp.ENGINE_DIR).as_posix() for f in stamp.engine_files()}
    assert {"pipeline.py", "outputs/pages.py", "outputs/feeds.py", "importers/html.py"} <= names
    assert not any(n.startswith("theme/") for n in names)       # (walked with the inputs)
