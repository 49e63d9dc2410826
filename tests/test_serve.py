"""`python build.py serve`: a real server on 127.0.0.1 in a subprocess (issue 5)."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from tornado import ioloop, websocket

from conftest import ROOT
from policysite.serve import is_loopback

GOOD = '---\ntitle: 预览政策\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n## 一、总则\n\n第一版正文。\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def wait_for(fn, timeout=15.0):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"condition not met in {timeout} s (last: {last!r})")


@pytest.fixture
def server(project):
    project.write("a.md", GOOD)
    project.write("b.md", GOOD.replace("预览政策", "另一政策"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port)],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"

    def up():
        try:
            return get(base)[0] == 200
        except OSError:
            return False
    try:
        wait_for(up)
        yield project, base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_edit_break_fix_stop(server):
    project, base, proc = server
    status, page = get(base + "a/")
    assert status == 200 and "第一版正文" in page
    assert '<script src="/livereload.js?port=' in page            # same-origin script: the CSP holds
    assert get(base + "livereload.js")[0] == 200

    path = project.root / "policies" / "a.md"
    path.write_text(GOOD.replace("第一版正文", "第二版正文"), "utf-8")
    wait_for(lambda: "第二版正文" in get(base + "a/")[1])
    assert "第二版正文" in get(base + "zh-hant/elder/a/")[1]

    path.write_text(GOOD.replace("effective: 2024-01-01", "effective: 2024-13-01"), "utf-8")
    status, page = wait_for(lambda: (lambda r: r if r[0] == 500 else None)(get(base + "a/")))
    assert "policies/a.md:4" in page and "[effective]" in page and "2024-13-01" in page
    assert "livereload.js" in page
    assert get(base + "static/site.css")[0] == 200                # assets still served

    path.write_text(GOOD.replace("第一版正文", "修好了"), "utf-8")
    wait_for(lambda: "修好了" in get(base + "a/")[1])
    assert get(base + "b/")[0] == 200

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err and "Stopped." in out
    # only the changed policy's pages (and the listings) were rendered again
    rebuilt = [l for l in out.splitlines() if l.startswith("Rebuilt") and "a.md changed" in l]
    assert rebuilt, out
    first = next(l for l in out.splitlines() if l.startswith("Rebuilt"))
    total = int(first.split(" of ")[1].split()[0])
    counts = [int(l.split()[1]) for l in rebuilt]
    assert all(c < total for c in counts), out


def test_burst_of_saves_gives_one_rebuild(server):
    project, base, proc = server
    pol = project.root / "policies"
    for i in range(5):                                             # editor-style: temp file then rename
        tmp = pol / f".a.md.{i}.swp"
        tmp.write_text(GOOD.replace("第一版正文", f"第{i}次保存"), "utf-8")
        tmp.replace(pol / "a.md")
        (pol / "b.md").write_text(GOOD.replace("第一版正文", f"乙{i}"), "utf-8")
    wait_for(lambda: "第4次保存" in get(base + "a/")[1])
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    rebuilds = [l for l in out.splitlines() if l.startswith("Rebuilt")]
    assert len(rebuilds) == 2, out                                 # the first build, then one for the burst


def test_save_made_while_rebuilding_is_not_lost(project, tmp_path):
    """A save that lands while a rebuild runs gets a rebuild of its own: the real watcher
    (inotify) keeps taking events in its thread while the build runs (in-process, so the save
    can be made at exactly that moment)."""
    from policysite.serve import DevServer
    a = project.write("a.md", GOOD)
    project.write("b.md", GOOD.replace("预览政策", "另一政策"))
    out = tmp_path / "out"
    logs = []
    dev = DevServer(project.root / "config.toml", out, "127.0.0.1", free_port(), log=logs.append)
    dev.application()                          # sets up the reload handler the rebuild notifies
    dev.watched = dev.watch_list()
    dev.start_watcher()
    try:
        assert dev.rebuild()
        build = dev.builder.build
        calls = []

        def build_then_save(defer=()):
            result = build(defer)
            if not defer:                              # the search index, made after each rebuild
                return result
            if not calls:                              # the second save lands as the first rebuild ends
                a.write_text(GOOD.replace("第一版正文", "保存于重建期间"), "utf-8")
            calls.append(1)
            return result
        dev.builder.build = build_then_save
        a.write_text(GOOD.replace("第一版正文", "第一次保存"), "utf-8")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (len(calls) >= 2 and dev.coalescer.wait() is None
                                                   and dev.events.empty()):
            try:
                dev.events.put(dev.events.get(timeout=0.05))    # block until an event, then step
            except Exception:
                pass
            dev.step()
        page = (out / "a" / "index.html").read_text("utf-8")
        assert "保存于重建期间" in page, logs
        assert len(calls) == 2, logs
    finally:
        dev.watcher.stop()
        dev.settle()


def test_events_coalesce_until_quiet(project, tmp_path):
    """A burst of events gives one rebuild, once no event has come for the quiet time (an
    injected clock: no sleeps), with every path of the burst."""
    from policysite.serve import Coalescer, DevServer
    now = [100.0]
    c = Coalescer(quiet=0.02, clock=lambda: now[0])
    assert c.wait() is None
    c.add({"/s/a.md"})
    assert c.wait() == pytest.approx(0.02)
    now[0] += 0.015
    c.add({"/s/b.md"})                         # the burst goes on: the wait starts again
    assert c.wait() == pytest.approx(0.02)
    now[0] += 0.019
    assert c.wait() > 0
    now[0] += 0.002
    assert c.wait() == 0
    assert c.take() == ["/s/a.md", "/s/b.md"] and c.wait() is None

    a = project.write("a.md", GOOD)
    dev = DevServer(project.root / "config.toml", tmp_path / "out", "127.0.0.1", free_port(), log=lambda m: None)
    dev.application()
    dev.watched = dev.watch_list()
    dev.coalescer = Coalescer(quiet=0.02, clock=lambda: now[0])
    built = []
    dev.rebuild = lambda changed=None: built.append(changed) or True
    dev.events.put({str(a)})
    assert dev.step() == pytest.approx(0.02) and built == []
    now[0] += 0.01
    dev.events.put({str(a), str(project.root / "config.toml")})
    assert dev.step() == pytest.approx(0.02) and built == []
    now[0] += 0.03
    assert dev.step() is None
    assert built == [sorted({str(a), str(project.root / "config.toml")})]


def test_watcher_sees_inputs_only(project, tmp_path):
    """The real watcher: a save to a policy is an event; an editor's temporary file, the cache
    and the output folder are not."""
    from policysite.serve import DevServer
    a = project.write("a.md", GOOD)
    out = project.root / "public-preview"
    dev = DevServer(project.root / "config.toml", out, "127.0.0.1", free_port(), log=lambda m: None)
    dev.watched = dev.watch_list()
    assert dev.keep(str(a)) and dev.keep(str(project.root / "config.toml"))
    assert not dev.keep(str(project.root / "policies" / ".a.md.swp"))
    assert not dev.keep(str(out / "a" / "index.html"))
    assert not dev.keep(str(project.root / ".cache" / "policysite" / "state.pickle"))
    dev.start_watcher()
    try:
        (project.root / "policies" / ".a.md.swp").write_text("x", "utf-8")
        out.mkdir()
        (out / "x.html").write_text("x", "utf-8")
        a.write_text(GOOD.replace("第一版正文", "改"), "utf-8")
        seen = set()
        deadline = time.monotonic() + 10
        while str(a) not in seen and time.monotonic() < deadline:
            try:
                seen |= dev.events.get(timeout=0.5)
            except Exception:
                pass
        assert seen == {str(a)}, seen
    finally:
        dev.watcher.stop()


def test_browser_is_told_to_reload(server):
    project, base, proc = server
    ws_url = base.replace("http://", "ws://") + "livereload"

    async def session():
        conn = await websocket.websocket_connect(ws_url)
        await conn.write_message(json.dumps({"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
        hello = json.loads(await conn.read_message())
        await conn.write_message(json.dumps({"command": "info", "url": base + "a/"}))
        time.sleep(0.3)
        (project.root / "policies" / "a.md").write_text(GOOD.replace("第一版正文", "推送"), "utf-8")
        message = json.loads(await conn.read_message())
        conn.close()
        return hello, message

    hello, message = ioloop.IOLoop.current().run_sync(session, timeout=20)
    assert hello["command"] == "hello"
    assert message["command"] == "reload"


def test_drafts_shown_with_badge(server):
    project, base, proc = server
    project.write("c.md", GOOD.replace("预览政策", "草稿政策").replace("version", "status: draft\nversion"))
    status, page = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(get(base + "c/")))
    assert "草稿政策" in page and 'class="badge badge-state-draft">草稿<' in page


def test_only_output_files_are_served(server):
    project, base, proc = server
    for path in ("config.toml", "policies/a.md", "..%2fconfig.toml", "%2e%2e/config.toml", "static/../../config.toml"):
        assert get(base + path)[0] in (403, 404), path


def test_port_in_use_is_a_clear_message(project):
    project.write("a.md", GOOD)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = project.run("serve", "--port", str(port))
    assert proc.returncode == 2
    assert "already in use" in proc.stderr and "Traceback" not in proc.stderr


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.com")


# --- issue 18: Host names, the websocket's Origin, lengths, bad URLs, ports -----------------------

def raw_get(base: str, path: str, host: str | None, extra: str = "") -> tuple[int, dict, bytes]:
    """A GET over a raw socket, with exactly the Host header given (None: no Host header)."""
    port = int(base.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = f"GET {path} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "") + extra
        s.sendall((head + "Connection: close\r\n\r\n").encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_only_its_own_host_names_are_answered(server):
    project, base, proc = server
    port = base.rstrip("/").rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert raw_get(base, "/a/", host)[0] == 200, host
    for host in ("evil.example.com", f"evil.example.com:{port}", f"127.0.0.1.nip.io:{port}", "127.0.0.1:1",
                 f"localhost.:{port}", ""):
        status, _, body = raw_get(base, "/a/", host)
        assert status in (400, 421), host
        assert "预览政策" not in body.decode("utf-8", "replace"), host
    assert raw_get(base, "/a/", None)[0] == 400
    assert raw_get(base, "/livereload.js", "evil.example.com")[0] == 421


def test_websocket_checks_origin(server):
    project, base, proc = server
    ws_url = base.replace("http://", "ws://") + "livereload"

    async def connect(origin):
        req = httpclient.HTTPRequest(ws_url, headers={"Origin": origin} if origin else {})
        try:
            conn = await websocket.websocket_connect(req)
        except httpclient.HTTPClientError as e:
            return e.code
        conn.close()
        return 101

    from tornado import httpclient
    loop = ioloop.IOLoop.current()
    assert loop.run_sync(lambda: connect(base.rstrip("/")), timeout=20) == 101
    assert loop.run_sync(lambda: connect("http://evil.example.com"), timeout=20) == 403
    assert loop.run_sync(lambda: connect("null"), timeout=20) == 403


def test_length_is_right_when_body_end_straddles_a_chunk(project):
    """A page whose </body> falls across tornado's 64 KiB chunks is sent whole, with the reload
    script, and Content-Length says how long it is."""
    base_html = project.override("templates/base.html")
    project.write("a.md", GOOD)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port)],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: _up(base))
        out = _served_folder(proc)
        before = (out / "a" / "index.html").read_bytes().find(b"</body>")
        fill = 65536 - 3 - before                      # </body> to start 3 bytes before 64 KiB
        original = base_html.read_text("utf-8")
        base_html.write_text(original.replace("</body>", "<!--" + "x" * (fill - 7) + "-->" + "</body>"), "utf-8")
        wait_for(lambda: (out / "a" / "index.html").read_bytes().find(b"</body>") != before)
        at = (out / "a" / "index.html").read_bytes().find(b"</body>")
        assert at < 65536 < at + len("</body>"), at
        status, headers, body = raw_get(base, "/a/", f"127.0.0.1:{port}")
        assert status == 200
        assert int(headers["content-length"]) == len(body)
        assert body.endswith(b"</html>\n") and b'/livereload.js?port=' in body
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def _up(base):
    try:
        return get(base)[0] == 200
    except OSError:
        return False


def _served_folder(proc):
    from pathlib import Path
    line = proc.stdout.readline()
    while "Serving " not in line:
        line = proc.stdout.readline()
    return Path(line.split("Serving ", 1)[1].split(" on http", 1)[0])


def test_bad_urls_are_no_traceback(server):
    project, base, proc = server
    host = base.split("//")[1].rstrip("/")
    for path in ("/a%00/", "/%00", "/a/%00index.html", "/%ff%fe/", "/a/%0a/", "/..%00/"):
        status, _, body = raw_get(base, path, host)
        assert status in (400, 404), (path, status)
        assert b"Traceback" not in body


def test_port_out_of_range_is_a_usage_error(project):
    project.write("a.md", GOOD)
    for port in ("99999", "-1", "65536"):
        proc = project.run("serve", "--port", port)
        assert proc.returncode == 2, (port, proc.stderr)
        assert "Traceback" not in proc.stderr and "port" in proc.stderr


def test_port_zero_prints_the_port_bound(project):
    project.write("a.md", GOOD)
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", "0"],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        while "Serving " not in line:
            assert line, proc.stderr.read()
            line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        assert port > 0
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and f"/livereload.js?port={port}" in page
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def index_text(out) -> str:
    """Every record's text in the search index (Pagefind's fragments: gzipped JSON)."""
    import gzip
    found = []
    for path in sorted((out / "search/pagefind").rglob("*.pf_fragment")):
        found.append(json.loads(gzip.decompress(path.read_bytes())[len(b"pagefind_dcd"):])["content"])
    return "".join(found).replace("\u200b", "")


def test_the_search_index_is_made_after_the_page_is_published(project, tmp_path):
    """A save is published (and the open page told) without waiting for the search index,
    which a build in a thread of its own makes right after; the index is then what the
    command line makes."""
    from policysite.pipeline import build
    from policysite.serve import DevServer
    a = project.write("a.md", GOOD)
    out = tmp_path / "out"
    dev = DevServer(project.root / "config.toml", out, "127.0.0.1", free_port(), log=lambda m: None)
    dev.application()
    assert dev.rebuild()
    dev.settle()
    assert "第一版正文" in index_text(out)
    seen = []
    deferred = dev.make_deferred

    def when_deferred_starts(cancel=None):
        page = (out / "a" / "index.html").read_text("utf-8")
        seen.append(("无障碍阅读服务" in page, "无障碍阅读服务" in index_text(out)))
        deferred(cancel)
    dev.make_deferred = when_deferred_starts
    a.write_text(GOOD.replace("第一版正文", "无障碍阅读服务"), "utf-8")
    assert dev.rebuild()
    dev.settle()
    assert seen == [(True, False)], "the page first, the index after it"
    assert "无障碍阅读服务" in index_text(out) and "第一版正文" not in index_text(out)
    fresh = tmp_path / "fresh"
    build(project.root / "config.toml", fresh, drafts=True, use_cache=False)
    from conftest import tree
    assert {k: v for k, v in tree(fresh).items() if k.startswith("search/")} == \
           {k: v for k, v in tree(out).items() if k.startswith("search/")}


def test_a_save_calls_off_the_search_index_still_being_made(project, tmp_path, monkeypatch):
    """A save that comes while the deferred build makes the search index does not wait for it:
    Pagefind is stopped, the save's pages are published, and the index is made after them. The
    called-off run's folder of records is removed (after the save, in a thread of its own), and
    none is left when the server stops."""
    import tempfile
    import threading
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    from policysite.outputs import search
    from policysite.serve import DevServer
    a = project.write("a.md", GOOD)
    out = tmp_path / "out"
    logs = []
    dev = DevServer(project.root / "config.toml", out, "127.0.0.1", free_port(), log=logs.append)
    dev.application()
    started, release = threading.Event(), threading.Event()
    called_off = []
    real = search._pagefind

    def slow_pagefind(exe, site, bundle, cancel=None):     # Pagefind, held until told (or called off)
        started.set()
        while cancel is not None and not release.is_set():
            if cancel.wait(0.01):
                called_off.append(site)
                return "called off"
        return real(exe, site, bundle, cancel)
    search._pagefind = slow_pagefind
    try:
        assert dev.rebuild()
        assert started.wait(10), "the deferred build reached Pagefind"
        a.write_text(GOOD.replace("第一版正文", "第二次保存"), "utf-8")
        assert dev.rebuild()                                  # does not wait for the index
        assert called_off, "the index being made was called off"
        assert "第二次保存" in (out / "a" / "index.html").read_text("utf-8")
        assert any("put off" in line for line in logs), logs
        release.set()
        dev.settle()
    finally:
        search._pagefind = real
        release.set()
        dev.stop_deferred()
    assert "第二次保存" in index_text(out)
    assert not [p.name for p in scratch.iterdir() if p.name.startswith("policysite-search-")]


def test_the_state_is_saved_by_the_later_build_or_as_the_server_stops(project, tmp_path):
    """A rebuild that leaves the search index for later does not pickle its state (40 ms at
    1,000 policies, on the way from a save to the page): the later build saves it, and a
    server stopping before that saves it as it stops. A save while the later build waits for
    the page to reload calls it off before it starts."""
    from policysite.pipeline import CACHE_DIR, engine_fingerprint, load_state
    from policysite.serve import DevServer
    project.write("a.md", GOOD)
    out = tmp_path / "out"
    logs = []
    dev = DevServer(project.root / "config.toml", out, "127.0.0.1", free_port(), log=logs.append)
    dev.defer_after = 60                                   # the page "reloads" until told
    dev.application()
    state_file = project.root / CACHE_DIR / "state.pickle"
    assert dev.rebuild()
    assert dev.builder.state.saved is False and not state_file.exists()
    assert not (out / "search/pagefind/pagefind-entry.json").exists()
    dev.stop_deferred()                                    # stops at once: no index made
    assert not any("Search index" in line for line in logs), logs
    assert state_file.exists() and dev.builder.state.saved
    saved = load_state(project.root / CACHE_DIR, engine_fingerprint())
    assert saved.manifest == dev.builder.state.manifest
    assert not any(p.startswith("search/pagefind/") for p in saved.manifest), "no index made: none recorded"

    dev.defer_after = 0
    stamp = state_file.stat().st_mtime_ns
    assert dev.rebuild()                                   # the index is still to make: deferred again
    dev.settle()
    assert any("Search index made again" in line for line in logs), logs
    saved = load_state(project.root / CACHE_DIR, engine_fingerprint())
    assert state_file.stat().st_mtime_ns != stamp and dev.builder.state.saved
    assert saved.manifest == dev.builder.state.manifest
    assert any(p.startswith("search/pagefind/") for p in saved.manifest)
    assert (out / "search/pagefind/pagefind-entry.json").exists()
