"""`python build.py serve`: preview with live reload, built on the livereload package.

livereload provides the browser side (livereload.js), its websocket protocol and
the reload broadcast; we serve the built pages ourselves so that the page's strict
Content-Security-Policy still holds: the reload script is added as a same-origin
<script src>, never inline.

- Changes are found by polling the watched files every 0.2 s; a rebuild starts
  once they have been quiet for 0.3 s, so an editor's burst of saves (temporary
  file, rename, several files) gives one rebuild.
- The Builder re-renders only what a change affects (see pipeline.Builder).
- A content error does not stop the server: every HTML request gets an error page
  naming file, line and field until the next good save.
- Only files inside the output folder are served, plus /livereload.js and the
  /livereload websocket.
"""
from __future__ import annotations

import errno
import html
import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from tornado import ioloop, web

from .errors import BuildError, Diagnostic
from .pipeline import Builder

POLL_SECONDS = 0.2
QUIET_SECONDS = 0.3
IGNORED_SUFFIXES = (".swp", ".swx", ".tmp", "~", ".part", ".crdownload")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_names(host: str) -> set[str]:
    """The names the server answers to (issue 18): a page asked for under any other name came
    through a rebinding of some other name to this machine (DNS rebinding), not from the webmaster."""
    names = {"127.0.0.1", "localhost", host.lower()}
    if ":" in host:
        names.add(f"[{host.lower()}]")
    if host in ("::1", "::"):
        names |= {"[::1]"}
    if host in ("0.0.0.0", "::"):            # every interface: this machine's names too
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return names


class _Guard:
    """Mixed into every handler: the Host header must name this server, with its port."""

    server: "DevServer"

    def host_allowed(self) -> bool:
        host = (self.request.headers.get("Host") or "").strip().lower()
        port = self.server.port
        return host in {f"{n}:{port}" for n in self.server.names} | (self.server.names if port == 80 else set())

    def prepare(self):
        if not self.request.headers.get("Host"):
            raise web.HTTPError(400, reason="Missing Host header")
        if not self.host_allowed():
            raise web.HTTPError(421, reason="Misdirected Request")
        return super().prepare()


class GuardedLiveReload(_Guard, LiveReloadHandler):
    """livereload's websocket, for this server's own pages only: the Host must name this server
    and the Origin must be one of its addresses (any other site's page could connect otherwise)."""

    def check_origin(self, origin: str) -> bool:
        from urllib.parse import urlsplit
        try:
            parts = urlsplit(origin)
            netloc = parts.netloc.lower()
        except ValueError:
            return False
        return parts.scheme == "http" and netloc in {f"{n}:{self.server.port}" for n in self.server.names}


class GuardedLiveReloadJS(_Guard, LiveReloadJSHandler):
    pass


class DevServer:
    def __init__(self, config_path: Path, out_dir: Path, host: str, port: int, log=print):
        self.config_path = Path(config_path).resolve()
        self.out_dir = Path(out_dir).resolve()
        self.host, self.port, self.log = host, port, log
        self.names = host_names(host)
        self.builder = Builder(self.config_path, self.out_dir, drafts=True, incremental_write=True)
        self.errors: list[Diagnostic] = []
        self.watched: list[Path] = [self.config_path]
        self.snapshot: dict[str, tuple[int, int]] = {}
        self.pending: set[str] = set()
        self.last_change = 0.0

    # watching
    def watch_list(self) -> list[Path]:
        paths = [self.config_path]
        try:
            cfg = self.builder_config()
            paths += [cfg.path_of(k) for k in ("content.policies_dir", "theme.templates_dir",
                                               "theme.overrides_dir", "theme.static_dir", "scripts.phrases")]
        except Exception:                                     # noqa: BLE001 - broken config: watch the defaults
            root = self.config_path.parent
            paths += [root / d for d in ("policies", "templates", "overrides", "static", "phrases.toml")]
        return paths

    def builder_config(self):
        from .config import load_config
        from .errors import Collector
        return load_config(self.config_path, Collector())

    def take_snapshot(self) -> dict[str, tuple[int, int]]:
        snap = {}
        for root in self.watched:
            if root.is_file():
                files = [root]
            elif root.is_dir():
                files = (p for p in root.rglob("*") if p.is_file())
            else:
                continue
            for f in files:
                if f.name.startswith((".", "#")) or f.name.endswith(IGNORED_SUFFIXES):
                    continue
                try:
                    st = f.stat()
                except FileNotFoundError:
                    continue
                snap[str(f)] = (st.st_mtime_ns, st.st_size)
        return snap

    def poll(self) -> None:
        snap = self.take_snapshot()
        changed = {p for p in snap.keys() | self.snapshot.keys() if snap.get(p) != self.snapshot.get(p)}
        self.snapshot = snap
        now = time.monotonic()
        if changed:
            self.pending |= changed
            self.last_change = now
        elif self.pending and now - self.last_change >= QUIET_SECONDS:
            names = sorted(self.pending)
            self.pending = set()
            self.rebuild(names)

    # building
    def rebuild(self, changed: list[str] | None = None) -> bool:
        start = time.perf_counter()
        try:
            result = self.builder.build()
        except BuildError as e:
            self.errors = e.diagnostics
            for d in e.diagnostics:
                self.log(d.format())
            self.log(f"Build failed: {len(e.errors)} error(s); the browser shows them until the next good save.")
            ok = False
        else:
            self.errors = []
            for w in result.warnings:
                self.log(w.format())
            what = ""
            if changed:
                rel = [os.path.relpath(c, self.config_path.parent) for c in changed]
                what = f" after {', '.join(rel[:3])}{' …' if len(rel) > 3 else ''} changed"
            total = result.html_pages
            self.log(f"Rebuilt {self.builder.last_rendered} of {total} pages in "
                     f"{time.perf_counter() - start:.2f} s{what}")
            ok = True
        # The snapshot stays the one taken before this build, so a save made while it ran is
        # seen by the next poll. If config.toml moved a watched folder, the next poll sees the
        # new folder's files as changed and rebuilds once more, which the cache makes cheap.
        self.watched = self.watch_list()
        LiveReloadHandler.reload_waiters("*")
        return ok

    # serving
    def application(self) -> web.Application:
        LiveReloadHandler.watcher = _NoWatcher()
        LiveReloadHandler.live_css = False
        GuardedLiveReload.server = GuardedLiveReloadJS.server = self
        return web.Application([
            (r"/livereload", GuardedLiveReload),
            (r"/livereload.js", GuardedLiveReloadJS),
            (r"/(.*)", SiteHandler, {"path": str(self.out_dir), "default_filename": "index.html", "server": self}),
        ])

    def reload_tag(self) -> bytes:
        return f'<script src="/livereload.js?port={self.port}"></script>'.encode()

    def error_page(self) -> bytes:
        items = "".join(
            f"<li><p><code>{html.escape(d.file)}{':' + str(d.line) if d.line else ''}</code>"
            f"{' [' + html.escape(d.field) + ']' if d.field else ''} <strong>{html.escape(d.severity)}</strong>: "
            f"{html.escape(d.message)}</p>{'<p>fix: ' + html.escape(d.fix) + '</p>' if d.fix else ''}</li>"
            for d in self.errors)
        return (f"""<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>构建出错 · Build error</title>
<link rel="stylesheet" href="/static/site.css"></head><body><main class="wrap" id="main">
<h1>构建出错 · Build error</h1><p>网站没有更新：请修正下列问题并保存，页面会自动刷新。
The site was not rebuilt: fix these problems and save; this page reloads by itself.</p>
<ol class="build-errors">{items}</ol></main>""".encode() + self.reload_tag() + b"</body></html>")


class _NoWatcher:
    """LiveReloadHandler expects a watcher; ours is DevServer.poll, so this one does nothing."""
    _tasks = {"(policysite)": None}
    filepath = None

    def examine(self):
        return None, None

    def start(self, callback):
        return True


class SiteHandler(_Guard, web.StaticFileHandler):
    """The built pages, with the reload script added to HTML; an error page while the build is broken."""

    def initialize(self, path, default_filename=None, server: DevServer | None = None):
        super().initialize(path, default_filename)
        self.server = server

    def set_extra_headers(self, path):
        self.set_header("Cache-Control", "no-store")

    def compute_etag(self):
        return None

    async def get(self, path, include_body=True):
        if "\x00" in path or any(ord(c) < 0x20 for c in path):
            raise web.HTTPError(400, reason="Bad path")       # (issue 18) %00 was a 500 with a traceback
        wants_html = path == "" or path.endswith(("/", ".html")) or "." not in path.rsplit("/", 1)[-1]
        if self.server.errors and wants_html:
            self.set_status(500)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(self.server.error_page())
            return
        await super().get(path, include_body)

    # An HTML page is read whole and the reload script put in before </body>, so its length is
    # that of what is sent (it was patched chunk by chunk: a </body> across two 64 KiB chunks was
    # not found, and the page was sent short of the Content-Length given).
    def _page(self) -> bytes:
        cached = getattr(self, "_page_bytes", None)
        if cached is None or cached[0] != self.absolute_path:
            with open(self.absolute_path, "rb") as f:
                data = f.read()
            cached = self._page_bytes = (self.absolute_path, data.replace(
                b"</body>", self.server.reload_tag() + b"</body>", 1))
        return cached[1]

    def get_content(self, abspath, start=None, end=None):
        if not abspath.endswith(".html"):
            return web.StaticFileHandler.get_content(abspath, start, end)
        return [self._page()[start:end]]

    def get_content_size(self):
        if self.absolute_path.endswith(".html"):
            return len(self._page())
        return super().get_content_size()

    def write_error(self, status_code, **kwargs):
        if status_code == 404:
            page = Path(self.root) / "404.html"
            if page.exists():
                self.set_header("Content-Type", "text/html; charset=utf-8")
                web.RequestHandler.write(self, page.read_bytes().replace(
                    b"</body>", self.server.reload_tag() + b"</body>", 1))
                self.finish()
                return
        super().write_error(status_code, **kwargs)


def serve(args) -> int:
    host, port = args.host, args.port
    if not 0 <= port <= 65535:
        print(f"error: --port {port}: a port is a number from 1 to 65535 (0: any free port)", file=sys.stderr)
        return 2
    if not is_loopback(host):
        print(f"warning: serving on {host}: anyone who can reach this machine can see drafts and unpublished "
              f"versions. Use --host 127.0.0.1 unless you mean it.", file=sys.stderr)
    temporary = not args.out
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="policysite-serve-"))
    server = DevServer(args.config, out_dir, host, port, log=lambda m: print(m, flush=True))
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    logging.getLogger("livereload").setLevel(logging.WARNING)
    app = server.application()
    try:
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets
        sockets = bind_sockets(port, address=host)
        HTTPServer(app).add_sockets(sockets)
        port = server.port = sockets[0].getsockname()[1]         # the port really bound (--port 0)
    except OverflowError:
        print(f"error: --port {port}: a port is a number from 1 to 65535 (0: any free port)", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print(f"error: port {port} on {host} is already in use (another preview may be running). "
                  f"Stop it, or choose another port:  python build.py serve --port {port + 1}", file=sys.stderr)
            return 2
        if e.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME) or isinstance(e, socket.gaierror):
            print(f"error: cannot listen on {host}: {e.strerror or e}", file=sys.stderr)
            return 2
        raise
    server.watched = server.watch_list()
    server.snapshot = server.take_snapshot()
    server.rebuild()
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving {out_dir} on http://{shown}:{port}/ (drafts included). Watching for changes; Ctrl+C stops.",
          flush=True)
    loop = ioloop.IOLoop.current()
    ioloop.PeriodicCallback(server.poll, POLL_SECONDS * 1000).start()

    def stop(*_):
        loop.add_callback_from_signal(loop.stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    if temporary:
        import shutil
        shutil.rmtree(out_dir, ignore_errors=True)
    print("Stopped.", flush=True)
    return 0
