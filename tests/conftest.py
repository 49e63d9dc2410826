"""Shared fixtures: build real sites into temporary folders and read the HTML back."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import html5lib
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Builds in tests run in their own process; tests/test_resident.py turns the resident builder on
# for its own (issue 19: it would otherwise start for a site of 200 policies or more).
os.environ["POLICYSITE_RESIDENT"] = "0"

from policysite.pipeline import build  # noqa: E402


def parse_html(path: Path):
    """Parse a page as a browser would (html5lib), into an lxml tree without namespaces."""
    return html5lib.parse(path.read_bytes(), treebuilder="lxml", namespaceHTMLElements=False)


def text_of(el) -> str:
    return "".join(el.itertext())


THEME = ROOT / "policysite" / "theme"


class Project:
    """A site folder in tmp, laid out as the repository is (templates/ and static/ for the site's
    own overrides of the default theme, a config), with chosen policies."""

    def __init__(self, root: Path, config: str | None = None):
        self.root = root
        (root / "policies").mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "templates", root / "templates")
        shutil.copytree(ROOT / "static", root / "static")
        self.config(config if config is not None else textwrap.dedent("""
            [site]
            title = "测试站点"
            base_url = "https://example.gov.cn/p/"
            today = 2026-11-22
            """))

    def override(self, rel: str) -> Path:
        """Copy a file of the default theme into the site's own folder (as a webmaster does to
        change it): "templates/base.html", "templates/strings/zh-Hans.toml", "static/site.css"."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(THEME / rel, path)
        return path

    def config(self, text: str) -> None:
        (self.root / "config.toml").write_text(textwrap.dedent(text), "utf-8")

    def write(self, rel: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.root / "policies" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(text).lstrip("\n").encode(encoding))
        return path

    def policy(self, rel: str, body: str = "## 一、总则\n\n正文。\n", **meta) -> Path:
        fields = {"title": "测试政策", "issuer": "测试市人民政府", "effective": "2024-01-01", "version": '"1.0"'}
        fields.update({k: v for k, v in meta.items()})
        fm = "\n".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
        path = self.root / "policies" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{fm}\n---\n{body}", "utf-8")
        return path

    @property
    def out(self) -> Path:
        return self.root / "public"

    def build(self, **kw):
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return build(self.root / "config.toml", self.out, **kw)
        finally:
            os.chdir(cwd)

    def run(self, *args, check=False) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=self.root,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(proc.stderr)
        return proc

    def page(self, url: str):
        return parse_html(self.out / url / "index.html" if not url.endswith(".html") else self.out / url)


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path / "site")


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> Path:
    """The repository's own sample site, built once per test session."""
    out = tmp_path_factory.mktemp("sample") / "public"
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def tree(out: Path) -> dict[str, bytes]:
    """Every file of an output folder, by relative path: what 'byte-identical' compares."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def file_ids(out: Path) -> dict[str, tuple[int, int]]:
    """Identity of every file: a file rewritten (even with the same bytes) gets a new inode or mtime."""
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.rglob("*") if p.is_file()}


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def check_links(out: Path) -> list[str]:
    """Every relative link and #fragment in the site resolves. Returns the broken ones."""
    broken, ids_cache = [], {}

    def ids(path: Path):
        if path not in ids_cache:
            ids_cache[path] = {el.get("id") for el in parse_html(path).iter() if isinstance(el.tag, str) and el.get("id")}
        return ids_cache[path]

    for page in html_pages(out):
        if page.name == "404.html":
            continue                            # its links are root-relative by design
        tree = parse_html(page)
        for el in tree.iter():
            if not isinstance(el.tag, str):
                continue
            for attr in ("href", "src"):
                ref = el.get(attr)
                if ref is None or ref.startswith(("http://", "https://", "mailto:", "tel:", "data:")):
                    continue
                path_part, _, frag = ref.partition("#")
                if path_part.startswith("/"):
                    broken.append(f"{page.relative_to(out)}: absolute link {ref}")
                    continue
                target = (page.parent / path_part).resolve() if path_part else page
                if path_part.endswith("/") or (path_part and target.is_dir()):
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(out)}: {ref}")
                elif frag and target.suffix == ".html" and frag not in ids(target):
                    broken.append(f"{page.relative_to(out)}: {ref} (no id '{frag}')")
    return broken
