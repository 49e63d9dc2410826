"""The preview server's live reload in Chromium (issue 19): an edit to policy A reloads the open
page of A, which keeps the section being read; an open page of B is not reloaded."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT

HEAD = '---\ntitle: {title}\nissuer: 某机构\neffective: 2024-01-01\nversion: "1.0"\n---\n'
NUMS = "一二三四五六七八九十"


def body(extra: str = "") -> str:
    parts = []
    for i, n in enumerate(NUMS):
        parts.append(f"## {n}、第{i + 1}部分\n\n" + (extra if i == 0 else "") +
                     "\n\n".join(f"第{i + 1}部分第{j + 1}段：本机构依法处理个人信息，并说明处理的目的和方式。" * 3
                                 for j in range(6)) + "\n")
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_edit_reloads_its_own_page_keeping_the_section(project, browser):
    a = project.write("a.md", HEAD.format(title="甲政策") + body())
    project.write("b.md", HEAD.format(title="乙政策") + body())
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port)],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        end = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "a/", timeout=2)
                break
            except OSError:
                assert time.monotonic() < end, "serve did not start"
                time.sleep(0.1)
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        pa, pb = context.new_page(), context.new_page()
        errors = []
        pa.on("pageerror", lambda e: errors.append(str(e)))
        pa.goto(base + "a/")
        pb.goto(base + "b/")
        for p in (pa, pb):                       # the reload script is connected
            p.wait_for_function("() => performance.getEntriesByType('resource')"
                                ".some(r => r.name.includes('/livereload.js'))")
        # read section 6 of A: its heading at 120 px from the top of the window
        section = pa.evaluate("""() => {
            const hs = [...document.querySelectorAll('main h2[id]')];
            const h = hs[5]; window.scrollTo({top: h.getBoundingClientRect().top + scrollY - 120, behavior: 'instant'});
            return h.id; }""")
        assert section
        offset = pa.evaluate(f"() => document.getElementById({section!r}).getBoundingClientRect().top")
        y_before = pa.evaluate("() => scrollY")
        pb.evaluate("() => { window.__notReloaded = true; }")
        pa.evaluate("() => { window.__notReloaded = true; }")
        time.sleep(0.3)                          # let the sockets' hello settle (no timing asserted)

        marker = "新加的一段标记" + str(port)
        a.write_text(HEAD.format(title="甲政策") + body(("新增内容。" * 40 + "\n\n") * 6 + marker + "\n\n"),
                     "utf-8")
        pa.wait_for_function(f"() => document.body.innerText.includes({marker!r})", timeout=20000)
        assert pa.evaluate("() => window.__notReloaded") is None          # A's page was reloaded
        # the same section in view at the same place, although text was added above it
        pa.wait_for_function(f"() => Math.abs(document.getElementById({section!r}).getBoundingClientRect().top"
                             f" - {offset}) < 2", timeout=5000)
        assert pa.evaluate("() => scrollY") > y_before + 100               # followed the section down
        assert pb.evaluate("() => window.__notReloaded") is True           # B's page was not reloaded
        assert marker not in pb.evaluate("() => document.body.innerText")
        assert not errors, errors
        context.close()
    finally:
        proc.kill()
        proc.communicate(timeout=10)
