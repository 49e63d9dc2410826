"""`python build.py serve`: preview with live reload, built on the livereload package.

livereload provides the browser side (livereload.js), its websocket protocol and
the reload broadcast; we serve the built pages ourselves so that the page's strict
Content-Security-Policy still holds: the reload script is added as a same-origin
<script src>, never inline.

- Changes come as the system's file events (watchfiles: inotify on Linux, FSEvents,
  ReadDirectoryChangesW), in a thread of their own; a rebuild starts as soon as
  events have stopped arriving for QUIET_SECONDS (20 ms), so an editor's burst of
  saves (temporary file, rename, several files) gives one rebuild, with no fixed
  wait. Events that arrive while a rebuild runs are queued and give the next one.
- The Builder keeps state, rendered documents and OpenCC loaded and re-renders only
  what a change affects, writing only the pages that changed (see pipeline.Builder).
- The browser is told which pages were written; our reload.js (served as
  /livereload.js) reloads a page only when its own file is among them, and keeps
  the scroll position and the section being read (issue 19).
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
import json
import os
import queue
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from tornado import ioloop, web

from .errors import BuildError, Diagnostic
from .outputs import Cancelled
from .pipeline import Builder

QUIET_SECONDS = 0.02           # events quiet this long: the burst of saves is over
MAX_LISTED_PATHS = 2000        # more pages written than this: every open page reloads
DEFERRED = ("search",)         # outputs made after the pages are shown (DevServer.make_deferred)
# The deferred build waits this long after the pages are published, so that its Python work (it
# plans the site again, then writes the records for Pagefind, holding the interpreter's lock)
# does not slow the server while the open page reloads. At 1,000 policies a rebuild took 0.40 s
# median with the deferred build running meanwhile, 0.27 s without (tmp measurements of
# 2026-12-02, bench/README.md); a save during the wait calls the deferred build off at once.
DEFER_AFTER = 0.3
RELOAD_JS = Path(__file__).with_name("reload.js")
CACHE_PART = ".cache"
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
    """/livereload.js: our own client (reload.js), which reloads a page only when its file was
    written, and keeps the reader's place."""

    def get(self):
        self.set_header("Content-Type", "application/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(RELOAD_JS.read_bytes())


class Coalescer:
    """Gathers the changed paths of a burst of file events: due once no event has come for
    `quiet` seconds. The clock is injectable (tests)."""

    def __init__(self, quiet: float = QUIET_SECONDS, clock=time.monotonic):
        self.quiet, self.clock = quiet, clock
        self.pending: set[str] = set()
        self.last = 0.0

    def add(self, paths) -> None:
        paths = set(paths)
        if paths:
            self.pending |= paths
            self.last = self.clock()

    def wait(self) -> float | None:
        """Seconds until the burst is over (0: now), or None when nothing is pending."""
        if not self.pending:
            return None
        return max(0.0, self.last + self.quiet - self.clock())

    def take(self) -> list[str]:
        names, self.pending = sorted(self.pending), set()
        return names


def url_path(out_path: str) -> str:
    """The URL path a browser shows for an output file: a/index.html → /a/."""
    if out_path == "index.html":
        return "/"
    if out_path.endswith("/index.html"):
        return "/" + out_path[: -len("index.html")]
    return "/" + out_path


class Watcher(threading.Thread):
    """The system's file events for some folders and files, put on `events` as sets of paths
    (one set per batch watchfiles hands over), and `wake` called after each batch."""

    def __init__(self, roots: list[Path], keep, events: "queue.Queue[set[str]]", wake=None):
        super().__init__(daemon=True, name="policysite-watcher")
        self.roots, self.keep, self.events, self.wake = roots, keep, events, wake
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        from watchfiles import watch
        # step: watchfiles' own grouping of events (ms); debounce: the most it holds a batch back
        for changes in watch(*self.roots, watch_filter=lambda _c, p: self.keep(p), debounce=200, step=2,
                             stop_event=self.stop_event, yield_on_timeout=True, rust_timeout=100,
                             raise_interrupt=False):
            self.ready.set()                 # the first timeout: the watches are in place
            paths = {p for _c, p in changes}
            if paths:
                self.events.put(paths)
                if self.wake:
                    self.wake()

    def stop(self) -> None:
        self.stop_event.set()


class DevServer:
    def __init__(self, config_path: Path, out_dir: Path, host: str, port: int, log=print):
        self.config_path = Path(config_path).resolve()
        self.out_dir = Path(out_dir).resolve()
        self.host, self.port, self.log = host, port, log
        self.names = host_names(host)
        self.builder = Builder(self.config_path, self.out_dir, drafts=True, incremental_write=True)
        self.errors: list[Diagnostic] = []
        self.watched: list[Path] = [self.config_path]
        self.events: "queue.Queue[set[str]]" = queue.Queue()
        self.coalescer = Coalescer()
        self.watcher: Watcher | None = None
        self.failed = False                  # the last build failed: every open page shows the error page
        # The search index is made after the pages are published and the open page told, in a
        # thread of its own (its work is Pagefind's, in another process), while the page reloads:
        # a save is visible without waiting for it. Builds take turns by the lock.
        self.lock = threading.Lock()
        self.later: threading.Thread | None = None
        self.cancel = threading.Event()                # set: the deferred build stops (a save came)
        self.defer_after = DEFER_AFTER                 # (tests: 0)
        self.notify = lambda fn, *args: fn(*args)       # serve(): run on the server's loop

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

    def keep(self, path: str) -> bool:
        """Whether a file event concerns an input (not an editor's temporary file, not the
        output or the cache)."""
        name = os.path.basename(path)
        if name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES):
            return False
        p = Path(path)
        if p == self.out_dir or self.out_dir in p.parents or CACHE_PART in p.parts:
            return False
        return any(p == root or root in p.parents for root in self.watched)

    def watch_roots(self) -> list[Path]:
        """The folders whose events the watcher takes: the site's folder (config.toml, the phrase
        table and the usual folders live there; one recursive watch also sees a folder created
        later), and any watched folder outside it."""
        root = self.config_path.parent
        extra = []
        for w in self.watched:
            folder = w if w.is_dir() else w.parent
            if folder.exists() and root not in folder.parents and folder != root:
                extra.append(folder)
        return [root, *sorted(set(extra))]

    def start_watcher(self, wake=None) -> Watcher:
        roots = self.watch_roots()
        if self.watcher is not None:
            if self.watcher.roots == roots:
                return self.watcher
            self.watcher.stop()
        self.watcher = Watcher(roots, self.keep, self.events, wake or (lambda: None))
        self.watcher.start()
        self.watcher.ready.wait(5)
        return self.watcher

    def drain(self) -> None:
        while True:
            try:
                self.coalescer.add(self.events.get_nowait())
            except queue.Empty:
                return

    def step(self) -> float | None:
        """Take the events queued so far; rebuild if the burst is over. Returns the seconds
        until the pending burst is over, or None when nothing is pending."""
        self.drain()
        wait = self.coalescer.wait()
        if wait == 0:
            self.rebuild(self.coalescer.take())
            self.drain()                     # saves made during the rebuild: the next one
            wait = self.coalescer.wait()
        return wait

    # building
    def rebuild(self, changed: list[str] | None = None) -> bool:
        start = time.perf_counter()
        self.cancel.set()                # a deferred build still making the index stops: this save first
        try:
            with self.lock:
                result = self.builder.build(defer=DEFERRED)
        except BuildError as e:
            self.errors = e.diagnostics
            for d in e.diagnostics:
                self.log(d.format())
            self.log(f"Build failed: {len(e.errors)} error(s); the browser shows them until the next good save.")
            ok = False
            paths = None                             # every page shows the error page
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
            written = [url_path(p) for p in result.written if p.endswith(".html")]
            paths = None if self.failed or len(written) > MAX_LISTED_PATHS else written
        self.failed = not ok
        # Events keep coming in the watcher's thread while a build runs, so a save made meanwhile
        # is queued for the next one. If config.toml moved a watched folder, the watcher follows.
        self.watched = self.watch_list()
        if self.watcher is not None:
            self.start_watcher(self.watcher.wake)
        self.broadcast(paths)
        if ok and result.deferred:       # (a called-off one lets go of the lock at once, and ends)
            self.cancel = threading.Event()
            self.later = threading.Thread(target=self.make_deferred, args=(self.cancel,), name="deferred-build",
                                          daemon=True)
            self.later.start()
        return ok

    def make_deferred(self, cancel: threading.Event | None = None) -> None:
        """What the last rebuild left for later (the search index): a build with nothing deferred.
        A save meanwhile calls it off (its rebuild comes first, and defers the index again)."""
        if cancel is not None and cancel.wait(self.defer_after):
            return                                   # a save came while the page reloaded
        start = time.perf_counter()
        try:
            with self.lock:
                if cancel is not None and cancel.is_set():
                    return
                result = self.builder.build(cancel=cancel)
        except Cancelled:
            self.log("Search index put off: a newer save first.")
            return
        except BuildError as e:                      # a bad save meanwhile: its own rebuild reports it
            self.log(f"The search index was not made again: {len(e.errors)} error(s); see the next rebuild.")
            return
        except Exception as e:                       # noqa: BLE001 - the server goes on
            self.log(f"The search index was not made again: {e}")
            return
        self.log(f"Search index made again in {time.perf_counter() - start:.2f} s")
        written = [url_path(p) for p in result.written if p.endswith(".html")]
        if written:                                  # a save between the two builds
            self.notify(self.broadcast, written if len(written) <= MAX_LISTED_PATHS else None)

    def settle(self) -> None:
        """Wait for the deferred build, if one is running (tests, and the server as it stops)."""
        if self.later is not None:
            self.later.join()
            self.later = None

    def stop_deferred(self) -> None:
        """Call off the deferred build and wait for it to let go (the server stopping); save the
        last build's state if the deferred build would have (see pipeline.run)."""
        self.cancel.set()
        self.settle()
        from .outputs import wait_for_cleanup
        wait_for_cleanup()
        with self.lock:
            try:
                self.builder.save()
            except OSError as e:
                self.log(f"The build state was not saved ({e}); the next build renders more pages.")

    @staticmethod
    def broadcast(paths: list[str] | None) -> None:
        """Tell the open pages what was written (livereload's reload message, with "paths");
        None: every page reloads."""
        if paths == []:
            return
        message = json.dumps({"command": "reload", "path": paths[0] if paths else "*", "paths": paths,
                              "liveCSS": False, "liveImg": False})
        for waiter in list(LiveReloadHandler.waiters):
            try:
                waiter.write_message(message)
            except Exception:                          # noqa: BLE001 - a closed page
                LiveReloadHandler.waiters.discard(waiter)

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
    """LiveReloadHandler expects a watcher; ours is DevServer's, so this one does nothing."""
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
    loop = ioloop.IOLoop.current()
    timer = [None]

    def wake():                                  # on the loop: take the events, rebuild when quiet
        if timer[0] is not None:
            loop.remove_timeout(timer[0])
            timer[0] = None
        wait = server.step()
        if wait is not None:
            timer[0] = loop.call_later(wait, wake)
    server.start_watcher(lambda: loop.add_callback(wake))
    server.notify = loop.add_callback
    server.rebuild()
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving {out_dir} on http://{shown}:{port}/ (drafts included). Watching for changes; Ctrl+C stops.",
          flush=True)
    loop.add_callback(wake)                      # saves made during the first build

    def stop(*_):
        loop.add_callback_from_signal(loop.stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    if server.watcher is not None:
        server.watcher.stop()
    server.stop_deferred()
    if temporary:
        import shutil
        shutil.rmtree(out_dir, ignore_errors=True)
    print("Stopped.", flush=True)
    return 0
