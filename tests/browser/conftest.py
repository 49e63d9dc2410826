"""Browser tests: the sample site, served over real HTTP, in Debian's Chromium driven by Playwright.

- The site is the repository's own sample (policies/ and config.toml), built once per
  session into a temporary folder. It is built at collection time so that the tests can
  be parametrized by the pages that actually exist: pages that later features add are
  covered without touching these tests.
- It is served by a threaded `http.server` on 127.0.0.1 (a free port), under the path of
  `[site] base_url` (/policies/ for the sample), so that the 404 page, whose links are
  root-relative to that path, works as it does on a real host. Unknown paths get
  404.html with status 404, like the README's nginx `error_page`.
- Chromium is Debian's (`apt-get install -y chromium`), launched with `executable_path`;
  nothing is ever downloaded. Without chromium or playwright every test here is skipped
  with the reason; `.ci/run` fails the run when that happens.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LANG_PREFIXES = ("zh-hans/", "zh-hant/", "en/")


# --- the sample site -------------------------------------------------------------

@dataclass(frozen=True)
class SitePage:
    """One built page: its URL below the site root, its language prefix and variant, and its kind."""
    url: str            # "", "elder/platform-privacy/1.0/", "404.html"
    prefix: str         # "", "zh-hant/", "en/"
    elder: bool
    kind: str           # "home", "404", or the URL generalised: "<slug>/", "<slug>/<version>/ (superseded)"

    @property
    def id(self) -> str:
        return self.url or "home"

    @property
    def lang(self) -> str:
        return {"zh-hans/": "zh-Hans", "zh-hant/": "zh-Hant", "en/": "en"}.get(self.prefix, "zh-Hans")


def _classify(url: str, html: str = "") -> SitePage:
    prefix = next((p for p in LANG_PREFIXES if url.startswith(p)), "")
    rest = url[len(prefix):]
    elder = rest.startswith("elder/")
    rest = rest[len("elder/"):] if elder else rest
    parts = [p for p in rest.split("/") if p]
    if url == "404.html":
        kind = "404"
    elif not parts:
        kind = "home"
    else:
        # a policy's slug, then version numbers or fixed words such as history/ or changes/
        general = ["<slug>"] + ["<version>" if re.fullmatch(r"[0-9][0-9A-Za-z._-]*", p) else p
                                for p in parts[1:]]
        kind = "/".join(general) + "/"
        # an old or a future version is a kind of its own: it carries a notice the current one has not
        state = re.search(r'class="notice notice-(\w+)"', html)
        if state:
            kind += f" ({state.group(1)})"
    return SitePage(url, prefix, elder, kind)


@functools.cache
def sample_site() -> tuple[Path, str]:
    """Build the sample site once per process: (output folder, URL path it is served under)."""
    cfg = tomllib.loads((ROOT / "config.toml").read_text("utf-8"))
    base_path = urlsplit(cfg.get("site", {}).get("base_url", "")).path or "/"
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    serve_root = Path(tempfile.mkdtemp(prefix="policysite-browser-"))
    atexit.register(shutil.rmtree, serve_root, True)
    out = serve_root / base_path.strip("/") if base_path != "/" else serve_root / "site"
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--out", str(out), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"building the sample site failed:\n{proc.stderr}")
    return out, base_path


@functools.cache
def site_pages() -> tuple[SitePage, ...]:
    out, _ = sample_site()
    pages = []
    for path in sorted(out.rglob("*.html")):
        rel = path.relative_to(out).as_posix()
        if rel.startswith("static/"):
            continue
        url = "404.html" if rel == "404.html" else rel[: -len("index.html")]
        pages.append(_classify(url, path.read_text("utf-8")))
    return tuple(pages)


def one_per_kind(pages=None, *, elder: bool | None = None) -> list[SitePage]:
    """One page of every kind in every variant (language prefix × standard/elder)."""
    seen, chosen = set(), []
    for p in pages or site_pages():
        key = (p.kind, p.prefix, p.elder)
        if key in seen or (elder is not None and p.elder != elder):
            continue
        seen.add(key)
        chosen.append(p)
    return chosen


# --- the HTTP server -----------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    site_dir: Path = Path(".")

    def log_message(self, format, *args):          # noqa: A002 - quiet
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        not_found = self.site_dir / "404.html"
        if code != 404 or not not_found.exists():
            return super().send_error(code, message, explain)
        body = not_found.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextlib.contextmanager
def serving(site_dir: Path, root: Path, path: str = "/"):
    """A threaded server on 127.0.0.1 for the folder `root` (the site in `site_dir` under it, at
    `path`; unknown paths get its 404.html): its base URL."""
    handler = type("Handler", (_Handler,), {"site_dir": site_dir})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="site-server", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="package")
def base_url():
    """http://127.0.0.1:<port>/policies/ serving the built sample site."""
    out, base_path = sample_site()
    with serving(out, out.parent if base_path != "/" else out, base_path) as url:
        yield url


# --- the browser -------------------------------------------------------------------

def chromium_path() -> str | None:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# Package scope, not session: Playwright's sync API runs its own asyncio loop while it is started,
# so it is stopped before the tests outside tests/browser/ (test_serve uses tornado's loop) run.
@pytest.fixture(scope="package")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.skip(f"playwright is not installed ({e}); pip install -r requirements-dev.txt")
    exe = chromium_path()
    if not exe:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); the browser tests need it")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
    except Exception as e:                                   # noqa: BLE001 - report why, then skip
        pw.stop()
        pytest.skip(f"chromium at {exe} could not be started: {e}")
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()


def _watch_errors(page):
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: page.errors.append(f"console.{msg.type}: {msg.text} "
                                                      f"(at {msg.location.get('url')})")
            if msg.type == "error" else None)
    return page


VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def new_page(browser, base_url):
    """A page in a fresh context (own storage, options): new_page(**context_options) -> Page."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", VIEWPORT)
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        return _watch_errors(ctx.new_page())

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="package")
def _shared_page(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    yield _watch_errors(ctx.new_page())
    ctx.close()


@pytest.fixture
def page(_shared_page, base_url):
    """The session's page (a new one per test costs a renderer process each), reset for each test:
    default window size and media, no stored choices (text size, contrast, script), no errors."""
    page = _shared_page
    page.errors.clear()
    yield page
    if page.url.startswith(base_url):
        page.evaluate("() => { try { localStorage.clear(); } catch (e) {} }")
    page.set_viewport_size(VIEWPORT)
    page.emulate_media(media="null", reduced_motion="null", color_scheme="null")


@pytest.fixture(scope="package")
def cjk_font():
    """Line lengths counted in CJK characters, and screenshots worth looking at, need a CJK font."""
    fc = shutil.which("fc-list")
    found = fc and subprocess.run([fc, ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
    if not found:
        pytest.skip("no Chinese font installed (apt-get install -y fonts-noto-cjk)")


@pytest.fixture
def goto(base_url):
    """goto(page, "elder/platform-privacy/") loads a page of the site and checks the status."""
    def go(page, url: str, status: int = 200):
        if "#" in url:                   # a hash-only change would not load the page again (no response)
            page.goto("about:blank")
        response = page.goto(base_url + url, wait_until="load")
        assert response is not None and response.status == status, f"{url}: HTTP {response and response.status}"
        return page
    return go
