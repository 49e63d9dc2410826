"""Safety of the output: paths stay inside, only our folder is replaced, a killed build loses
nothing, the same input gives the same bytes, and pages load nothing from other sites."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, html_pages, parse_html
from policysite.errors import BuildError
from policysite.write import MARKER, OutputWriter

GOOD = '---\ntitle: 好\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n## 一、总则\n\n正文\n'


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- paths ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["../escape.html", "/etc/passwd", "a/../../b.html", "a\\..\\b.html", ""])
def test_page_paths_stay_inside_the_output(tmp_path, path):
    out = tmp_path / "public"
    writer = OutputWriter(out)
    with pytest.raises(BuildError) as exc:
        try:
            writer.put("index.html", b"ok")
            writer.put(path, b"evil")
        except BaseException:
            writer.abort()
            raise
    assert "outside the output folder" in str(exc.value)
    assert not out.exists() and not (tmp_path / "escape.html").exists()
    assert not list(tmp_path.glob(".public.new-*"))


def test_symlinked_policy_inside_the_site_is_followed(project):
    shared = project.root / "shared"
    shared.mkdir()
    (shared / "common.md").write_text(GOOD, "utf-8")
    (project.root / "policies" / "common.md").symlink_to(shared / "common.md")
    project.build()
    assert (project.out / "common" / "index.html").exists()


def test_symlink_loop_is_an_error_not_a_traceback(project):
    link = project.root / "policies" / "loop.md"
    link.symlink_to(link)
    proc = project.run()
    assert proc.returncode == 1 and "policies/loop.md: error" in proc.stderr and "Traceback" not in proc.stderr


def test_symlink_in_static_leading_outside_the_site_is_not_published(project, tmp_path):
    """static/ follows the rule policies/ follows: a link that leaves the site is an error."""
    secret = tmp_path / "secret.txt"
    secret.write_text("private key")
    (project.root / "static" / "x.txt").symlink_to(secret)
    (project.root / "static" / "dir").symlink_to(tmp_path, target_is_directory=True)
    project.write("a.md", GOOD)
    proc = project.run()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "static/x.txt: error: symbolic link points outside the site" in proc.stderr
    assert not (project.out / "static" / "x.txt").exists()
    assert not any("private key" in f.read_text("utf-8", "replace") for f in project.out.rglob("*.txt")) \
        if project.out.exists() else True


def test_symlink_in_templates_leading_outside_the_site_is_an_error(project, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text("private")
    (project.root / "templates" / "404.html").symlink_to(secret)
    project.write("a.md", GOOD)
    proc = project.run()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "templates/404.html: error: symbolic link points outside the site" in proc.stderr


def test_symlink_in_static_inside_the_site_is_published(project):
    (project.root / "logo.svg").write_text("<svg/>")
    (project.root / "static" / "logo.svg").symlink_to(project.root / "logo.svg")
    project.write("a.md", GOOD)
    project.build()
    assert (project.out / "static" / "logo.svg").read_text() == "<svg/>"


@pytest.mark.parametrize("inside", ["static", "templates", "policies"])
def test_output_folder_inside_an_input_folder_is_refused(project, inside):
    project.write("a.md", GOOD)
    proc = project.run("--out", str(project.root / inside / "public"))
    assert proc.returncode == 1 and "[build.output]" in proc.stderr and "reads as input" in proc.stderr
    assert not (project.root / inside / "public").exists()


def test_a_full_or_read_only_disk_is_a_clear_error(project, monkeypatch):
    """(As root, permissions do not stop a write: the failure is injected where the writer stages.)"""
    import errno
    from policysite import write
    project.write("a.md", GOOD)
    project.build()
    before = snapshot(project.out)
    project.write("a.md", GOOD.replace("正文", "新的正文"))

    def full(self, path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.stage / path))
    monkeypatch.setattr(write.OutputWriter, "put", full)
    monkeypatch.setattr(write.OutputWriter, "target", lambda self, path: full(self, path, b""))
    with pytest.raises(BuildError) as e:
        project.build()
    d = e.value.errors[0]
    assert d.field == "build.output" and "No space left on device" in d.message and "free some space" in d.fix
    assert snapshot(project.out) == before
    assert not list(project.root.glob(".public.new-*"))


def test_two_builds_of_one_output_wait_for_each_other(project):
    """A second build waits, saying so, while the first holds the output; then it completes."""
    from policysite.write import BuildLock
    project.write("a.md", GOOD)
    project.build()
    project.write("b.md", GOOD.replace("好", "另一个"))
    with BuildLock(project.out.resolve()):
        proc = subprocess.Popen([sys.executable, str(ROOT / "build.py")], cwd=project.root, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stderr.readline()                 # blocks until the second build says it waits
        assert "another build into" in line and "waiting" in line
        assert proc.poll() is None
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (project.out / "b" / "index.html").exists()


@pytest.mark.parametrize("where", ["root", "home", "site", "policies", "templates", "static", "file", "foreign"])
def test_output_folder_guard(project, tmp_path, where):
    """The build replaces only a folder it made (or an empty one), and never one holding the site."""
    project.write("a.md", GOOD)
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / ".bashrc").write_text("keep")
    (tmp_path / "notes.txt").write_text("keep")
    target = {"root": Path("/"), "home": home, "site": project.root, "policies": project.root / "policies",
              "templates": project.root / "templates", "static": project.root / "static",
              "file": tmp_path / "notes.txt", "foreign": home / "Documents"}[where]
    (home / "Documents" / "thesis.txt").write_text("keep")
    before = snapshot(tmp_path) if where != "root" else None
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(target)], cwd=project.root,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "[build.output]" in proc.stderr and "fix:" in proc.stderr
    if before is not None:
        assert snapshot(tmp_path) == before
    assert not list(target.parent.glob(f".{target.name}.new-*"))


def test_empty_folder_and_our_own_folder_are_replaced(project, tmp_path):
    project.write("a.md", GOOD)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert project.run("--out", str(empty)).returncode == 0
    assert (empty / MARKER).exists() and (empty / "a" / "index.html").exists()
    assert project.run("--out", str(empty)).returncode == 0      # ours now: replaced again


# --- crash safety ---------------------------------------------------------------------

KILLERS = {
    # after half the pages are written into the staging folder
    "while-writing": "real = w._safe_relpath\nn = [0]\n"
                     "def hook(p):\n    n[0] += 1\n    if n[0] == 60: kill()\n    return real(p)\n"
                     "w._safe_relpath = hook\n",
    # staging complete, just before the swap
    "before-swap": "real = w._exchange\ndef hook(a, b):\n    kill()\nw._exchange = hook\n",
    # systems without an atomic swap: killed between moving the old output away and moving the new one in
    "between-renames": "w._exchange = lambda a, b: False\nreal = os.rename\nn = [0]\n"
                       "def hook(a, b):\n    n[0] += 1\n    if n[0] == 2: kill()\n    return real(a, b)\n"
                       "os.rename = hook\n",
    # after the swap, when the old site is about to be deleted (in the background)
    "while-deleting-old": "def hook(p):\n    kill()\nw._spawn_rmtree = hook\n",
}


@pytest.mark.parametrize("moment", KILLERS)
def test_sigkill_at_any_moment_keeps_a_whole_site(project, moment):
    """SIGKILL at each step of writing: afterwards there is always one whole site, old or new,
    and the next build recovers and cleans up (the write-phase case is also in test_cli_output)."""
    for i in range(40):
        project.write(f"p{i:02}.md", GOOD.replace("好", f"政策{i}"))
    project.run(check=True)
    old = snapshot(project.out)
    (project.root / "policies" / "p00.md").write_text(GOOD.replace("好", "改动"), "utf-8")
    code = ("import sys, os, signal; sys.path.insert(0, %r)\nimport policysite.write as w\n"
            "def kill():\n    os.kill(os.getpid(), signal.SIGKILL)\n" % str(ROOT)
            + KILLERS[moment] + "from policysite.cli import main; main(['--out', 'public', '--no-cache', '--jobs', '1'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if moment == "while-deleting-old":
        assert "改动" in (project.out / "p00" / "index.html").read_text("utf-8")     # the new site, whole
        assert len(snapshot(project.out)) == len(old)
    elif moment == "between-renames":
        assert not project.out.exists()                  # the moment the next build repairs, first thing
        assert len(list(project.root.glob(".public.new-*-old"))) == 1
    else:
        assert snapshot(project.out) == old
    # the next build repairs and cleans up; a failing next build would leave the old site in place
    (project.root / "policies" / "broken.md").write_text("---\ntitle: x\n", "utf-8")
    assert project.run().returncode == 1
    if moment != "while-deleting-old":
        assert snapshot(project.out) == old
    (project.root / "policies" / "broken.md").unlink()
    project.run(check=True)
    assert "改动" in (project.out / "p00" / "index.html").read_text("utf-8")
    assert not list(project.root.glob(".public.new-*"))
    assert snapshot(project.out) == snapshot_clean(project)


def snapshot_clean(project):
    """What a clean build of the same sources gives."""
    clean = project.root / "clean"
    project.run("--no-cache", "--out", str(clean), check=True)
    return snapshot(clean)


# --- determinism ---------------------------------------------------------------------

def test_same_input_same_bytes(tmp_path):
    """The sample site, built twice with different hash seeds and into different folders."""
    trees = []
    for seed, name in (("1", "a"), ("4242", "b")):
        out = tmp_path / name / "public"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(out)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        trees.append(snapshot(out))
    assert list(trees[0]) == list(trees[1])
    for path in trees[0]:
        assert trees[0][path] == trees[1][path], path


def test_file_order_does_not_matter(project, tmp_path):
    """Policies created in a different order (different directory order) give the same site."""
    names = [f"p{i}" for i in range(8)]
    for n in names:
        project.write(f"{n}.md", GOOD.replace("好", n))
    project.build()
    first = snapshot(project.out)
    for n in names:
        (project.root / "policies" / f"{n}.md").unlink()
    for n in reversed(names):
        project.write(f"{n}.md", GOOD.replace("好", n))
    project.build()
    assert snapshot(project.out) == first


# --- CSP, no third parties --------------------------------------------------------------

RESOURCE_ATTRS = {("script", "src"), ("img", "src"), ("img", "srcset"), ("source", "src"), ("video", "src"),
                  ("audio", "src"), ("iframe", "src"), ("embed", "src"), ("object", "data"), ("video", "poster"),
                  ("input", "src")}
RESOURCE_RELS = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest", "apple-touch-icon",
                 "preconnect", "dns-prefetch", "shortcut icon"}


def off_site(url: str) -> bool:
    return bool(re.match(r"^\s*([a-z][a-z0-9+.-]*:|//|\\\\)", url, re.I)) and not url.strip().startswith("data:")


def csp_violations(doc) -> list[str]:
    """What is wrong with a page's Content-Security-Policy, scripts and resources. (A search page
    alone may compile WebAssembly, Pagefind's search: README, Safety.)"""
    found = []
    metas = [m for m in doc.getroot().iter("meta") if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    if len(metas) != 1:
        return [f"{len(metas)} CSP meta tags"]
    csp = {d.split()[0]: d.split()[1:] for d in metas[0].get("content").split(";") if d.strip()}
    search_page = doc.getroot().find(".//form[@role='search']") is not None
    allowed = [["'self'"], ["'self'", "'wasm-unsafe-eval'"]] if search_page else [["'self'"]]
    if csp.get("script-src", csp.get("default-src")) not in allowed:
        found.append(f"script-src {csp.get('script-src')}")
    if csp.get("default-src") != ["'self'"] or csp.get("object-src") != ["'none'"] or csp.get("base-uri") != ["'none'"]:
        found.append(f"CSP not strict: {csp}")
    for key in ("script-src", "default-src", "style-src"):
        if any(v in ("'unsafe-inline'", "'unsafe-eval'", "*") or v.startswith(("http", "//")) for v in csp.get(key, [])):
            found.append(f"{key} {csp[key]}")
    for el in doc.getroot().iter():
        if not isinstance(el.tag, str):
            continue
        found += [f"<{el.tag} {a}>" for a in el.attrib if a.lower().startswith("on") or a.lower() == "style"]
        if el.tag == "script" and (not el.get("src") or (el.text or "").strip()):
            found.append("inline <script>")
        if el.tag == "style":
            found.append("inline <style>")
        for tag, attr in RESOURCE_ATTRS:
            if el.tag == tag and el.get(attr) and off_site(el.get(attr)):
                found.append(f"<{tag} {attr}={el.get(attr)}>")
        if el.tag == "link" and set((el.get("rel") or "").lower().split()) & RESOURCE_RELS \
                and off_site(el.get("href", "")):
            found.append(f"<link href={el.get('href')}>")
    return found


def test_every_page_has_a_strict_csp_and_loads_nothing_from_elsewhere(sample_site):
    pages = html_pages(sample_site)
    assert len(pages) > 20
    for page in pages:
        assert csp_violations(parse_html(page)) == [], page


def test_csp_checker_catches_violations(tmp_path):
    """The check above can fail: a loose policy, handlers, inline script and style, a CDN."""
    page = tmp_path / "index.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'self'; script-src 'self' 'unsafe-inline'\">"
                    '<link rel="stylesheet" href="https://cdn.example.com/x.css"><style>p{}</style></head>'
                    '<body onload="x()"><script>alert(1)</script><img src="//t.example.com/p.gif" style="x">'
                    '</body></html>', "utf-8")
    found = csp_violations(parse_html(page))
    for expected in ("script-src", "CSP not strict", "<body onload>", "inline <script>", "inline <style>",
                     "<img style>", "<img src=//t.example.com/p.gif>", "<link href=https://cdn.example.com/x.css>"):
        assert any(f.startswith(expected) for f in found), (expected, found)


def _search_fetches_only_its_bundles(text):
    """search.js reads Pagefind's own files (to make a sharded index answer as one): it may call
    fetch, but only in its two readers, and those only with a path inside a bundle folder the page
    names (data-pagefind, data-pagefind-merge, and the list of recent bundles of data-pagefind-recent,
    whose folders are resolved on this site's origin). The text with those readers taken out, for the
    check that no other call loads anything."""
    readers = re.findall(r"function (pagefind\w+)\(url\b[^)]*\) \{\n(.*?)\n  \}\n", text, re.S)
    assert {name for name, _ in readers} == {"pagefindFile", "pagefindJson"}, readers
    for name, body in readers:
        assert re.findall(r"fetch\((\w+)", body) == ["url"], (name, body)
        text = text.replace(body, "")
    calls = re.findall(r"(?<!function )\b(pagefind(?:File|Json))\(([^,)]*)", text)
    assert calls and all(arg.startswith("folder + '") for _, arg in calls), calls
    # the folders are paths on this site: the page's data-pagefind and -merge, each cut to its pathname
    assert re.search(r"var base = new URL\(form\.dataset\.pagefind, location\.href\);", text)
    assert re.search(r"var merged = \(form\.dataset\.pagefindMerge[^;]*new URL\(u, location\.href\)\.pathname",
                     text, re.S)
    assert re.search(r"var recentList = form\.dataset\.pagefindRecent \? new URL\(form\.dataset\.pagefindRecent, "
                     r"location\.href\)\.pathname : null;", text)
    assert re.search(r"new URL\(b\.folder, location\.origin \+ folder\)\.pathname", text)
    assert re.findall(r"\[(base\.\w+)\]\.concat\(merged\)", text) and all(
        b == "base.pathname" for b in re.findall(r"\[(base\.\w+)\]\.concat\(merged\)", text))
    return text


def test_stylesheets_and_script_load_nothing_from_elsewhere(sample_site):
    for css in sorted((sample_site / "static").glob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", css.read_text("utf-8"), flags=re.S)
        assert "@import" not in text, css
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", text):
            assert not off_site(url), (css, url)
        assert "@font-face" not in text, css                     # no web fonts
    for js in sorted((sample_site / "static").glob("*.js")):
        text = js.read_text("utf-8")
        if js.name == "search.js":
            text = _search_fetches_only_its_bundles(text)
        for call in ("fetch(", "XMLHttpRequest", "importScripts", "sendBeacon", "eval(", "new Function"):
            assert call not in text, (js, call)
        assert not re.search(r"['\"](https?:)?//", text), js
