"""The resident builder (issue 19, policysite/resident.py and handoff.py), through the real
command line: a build after an edit is handed to a process that stays, and the output, the
messages and the exit status are what a build in the command's own process gives.

Each test has its own socket folder (TMPDIR) and ends its builder. The builder is started by
the first build (POLICYSITE_RESIDENT=1: for any site, however small); the tests wait for it by
asking it (`build.py resident`), not by sleeping.
"""
from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, Project, tree
from policysite import handoff

pytestmark = pytest.mark.skipif(not handoff.supported(), reason="the resident builder needs Linux")

HANDED = "handed to the resident builder"
BODY = "## 一、总则\n\n第{n}号政策的正文。\n\n## 二、联系我们\n\n请来信。\n"


def env(tmp: Path, **extra) -> dict:
    e = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    e.update({"TMPDIR": str(tmp), handoff.ENV: "1", handoff.IDLE_ENV: "120", **extra})
    return e


def run(project: Project, e: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=project.root, env=e,
                          capture_output=True, text=True, timeout=120)


def running(project: Project, e: dict, timeout: float = 30.0) -> None:
    """Until the builder answers (it warms up after the build that started it)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "runs (process" in run(project, e, "resident").stdout:
            return
        time.sleep(0.05)
    raise AssertionError("the resident builder did not start")


@pytest.fixture
def site(project, tmp_path):
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    e = env(sockets)
    for n in range(3):
        project.policy(f"p{n}.md", BODY.format(n=n), title=f"政策{n}")
    first = run(project, e)
    assert first.returncode == 0, first.stderr
    running(project, e)
    yield project, e
    run(project, e, "resident", "--stop")


def fresh_build(project: Project, tmp_path: Path) -> dict:
    """The same sources built from nothing, in a process of its own, without the builder."""
    copy = tmp_path / "fresh"
    shutil.copytree(project.root, copy, ignore=shutil.ignore_patterns("public", ".public*", ".cache"))
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--no-cache"], cwd=copy,
                          env={**os.environ, handoff.ENV: "0"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return pages(copy / "public")


def pages(out: Path) -> dict:
    """Every file but the marker, whose token hashes the build's fingerprints (tests/test_search.py)."""
    return {k: v for k, v in tree(out).items() if k != ".policysite"}


def test_an_edit_is_built_by_the_resident_builder_and_gives_the_same_site(site, tmp_path):
    project, e = site
    project.policy("p1.md", BODY.format(n=1) + "\n新增的一段：常驻构建。\n", title="政策1")
    proc = run(project, e, "--timings")
    assert proc.returncode == 0, proc.stderr
    assert HANDED in proc.stdout and "Built 3 policies" in proc.stdout, proc.stdout
    assert "常驻构建" in (project.out / "p1" / "index.html").read_text("utf-8")
    assert pages(project.out) == fresh_build(project, tmp_path)
    # a new policy, and one removed, the same way
    project.policy("p7.md", BODY.format(n=7), title="政策7")
    (project.root / "policies" / "p0.md").unlink()
    proc = run(project, e, "--timings")
    assert proc.returncode == 0 and HANDED in proc.stdout, proc.stdout + proc.stderr
    assert pages(project.out) == fresh_build(project, tmp_path / "2")


def test_what_it_prints_is_what_the_command_line_prints(site):
    project, e = site
    alone = {**e, handoff.ENV: "0"}
    # a warning (an unknown field) replayed by both
    project.policy("p2.md", BODY.format(n=2), title="政策2", colour="red")
    handed = run(project, e)
    project.policy("p2.md", BODY.format(n=2) + "\n再改一处。\n", title="政策2", colour="red")
    own = run(project, alone)
    assert handed.returncode == own.returncode == 0
    assert "colour" in handed.stderr and handed.stderr == own.stderr
    # a usage error: the same message and exit status 2
    bad_handed, bad_own = run(project, e, "--jobs", "many"), run(project, alone, "--jobs", "many")
    assert bad_handed.returncode == bad_own.returncode == 2
    assert bad_handed.stderr == bad_own.stderr and "--jobs" in bad_handed.stderr


def test_bad_input_is_reported_with_the_previous_output_kept_then_recovers(site):
    project, e = site
    before = tree(project.out)
    project.write("p1.md", """
        ---
        title: 政策1
        issuer: 测试市人民政府
        effective: 2024-13-45
        version: "1.0"
        ---
        正文。
        """)
    (project.root / "policies" / "p2.md").write_text("---\ntitle: [unclosed\n---\n正文。\n", "utf-8")
    proc = run(project, e)
    assert proc.returncode == 1
    assert "p1.md" in proc.stderr and "effective" in proc.stderr, proc.stderr
    assert "p2.md" in proc.stderr                              # every problem in one run
    assert "the previous output was left as it was" in proc.stderr
    assert tree(project.out) == before
    project.policy("p1.md", BODY.format(n=1) + "\n修好了。\n", title="政策1")
    project.policy("p2.md", BODY.format(n=2), title="政策2")
    proc = run(project, e, "--timings")
    assert proc.returncode == 0 and HANDED in proc.stdout, proc.stdout + proc.stderr
    assert "修好了" in (project.out / "p1" / "index.html").read_text("utf-8")


def test_a_build_by_another_process_in_between_is_taken_into_account(site, tmp_path):
    project, e = site
    project.policy("p1.md", BODY.format(n=1) + "\n第一次修改。\n", title="政策1")
    assert run(project, {**e, handoff.ENV: "0"}).returncode == 0          # built (and state saved) without it
    project.policy("p1.md", BODY.format(n=1), title="政策1")               # back as the builder last saw it
    proc = run(project, e, "--timings")
    assert proc.returncode == 0 and HANDED in proc.stdout, proc.stdout + proc.stderr
    assert "第一次修改" not in (project.out / "p1" / "index.html").read_text("utf-8")
    assert pages(project.out) == fresh_build(project, tmp_path)


def test_another_environment_builds_in_its_own_process(site):
    project, e = site
    project.policy("p1.md", BODY.format(n=1) + "\n另一处。\n", title="政策1")
    proc = run(project, {**e, "POLICYSITE_MARKDOWN_BUDGET": "29"}, "--timings")
    assert proc.returncode == 0, proc.stderr
    assert HANDED not in proc.stdout and "imports" in proc.stdout, proc.stdout
    assert "另一处" in (project.out / "p1" / "index.html").read_text("utf-8")


def test_only_its_user_can_reach_it_and_it_can_be_stopped(site):
    project, e = site
    sockets = Path(e["TMPDIR"]) / f"policysite-{os.getuid()}"
    assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
    (sock,) = sockets.glob("*.sock")
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    stopped = run(project, e, "resident", "--stop")
    assert "has ended" in stopped.stdout
    end = time.monotonic() + 10
    while sock.exists() and time.monotonic() < end:
        time.sleep(0.02)
    assert not sock.exists()
    assert "No resident builder" in run(project, e, "resident").stdout
    project.policy("p1.md", BODY.format(n=1) + "\n停了以后。\n", title="政策1")
    proc = run(project, e, "--timings")                         # built here, and a new builder started
    assert proc.returncode == 0 and HANDED not in proc.stdout
    assert "停了以后" in (project.out / "p1" / "index.html").read_text("utf-8")
    running(project, e)                                          # (the fixture ends it)


def test_a_builder_whose_engine_changed_refuses_and_ends(project, tmp_path, monkeypatch):
    """In this process: a request to a builder whose engine is not the one on disk (its code
    was edited after it started) is refused, and the builder ends."""
    from policysite.resident import Resident
    project.policy("p1.md", BODY.format(n=1), title="政策1")
    config = os.path.realpath(project.root / "config.toml")
    resident = Resident(Path(config))
    resident.engine = "another engine"
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        monkeypatch.chdir(project.root)
        ours.sendall(handoff.request(["build"], config))
        resident.handle(theirs)
        reply = ours.recv(1024)
    assert reply[:1] == b"r" and b"the engine changed" in reply
    assert resident.running is False


def test_plain_builds_only_are_handed_over():
    assert handoff.config_of([]) == "config.toml"
    assert handoff.config_of(["build", "--config", "site/config.toml", "-q"]) == "site/config.toml"
    assert handoff.config_of(["--config=site/c.toml", "--out", "x", "--drafts", "--timings", "-j", "2"]) == "site/c.toml"
    for argv in (["serve"], ["--no-cache"], ["-v"], ["--verbose"], ["-h"], ["new", "x"], ["check", "--conversions"],
                 ["--config"], ["init", "d"], ["import", "f.html"], ["resident"]):
        assert handoff.config_of(argv) is None, argv


def test_the_pagefind_service_makes_the_files_the_command_line_makes(sample_site, tmp_path):
    from policysite.outputs import search
    exe = search.executable()
    if exe is None:
        pytest.skip("no Pagefind binary")
    service = search.Service(exe)
    try:
        site = sample_site / "elder"
        assert search._pagefind(exe, site, tmp_path / "cli") is None
        assert service.index(site, tmp_path / "service") is None

        def files(b: Path) -> dict:
            return search.canonical({p.relative_to(b).as_posix(): p.read_bytes() for p in sorted(b.rglob("*"))
                                     if p.is_file()})
        expected = files(tmp_path / "cli")
        assert files(tmp_path / "service") == expected
        # the same process, again and again, each bundle read the moment the answer comes: the
        # service's WriteFiles answered before its writes were done (an empty pagefind-entry.json
        # in CI, 2026-12-03; 5 bundles of 150 on a loaded machine)
        for n in range(25):
            assert service.index(site, tmp_path / f"again{n}") is None
            assert files(tmp_path / f"again{n}") == expected, n
    finally:
        service.close()


def test_a_pagefind_service_cannot_write_outside_its_bundle(tmp_path):
    """The files of the service's answer are written under the bundle, and nowhere else."""
    from policysite.outputs import search
    fake = tmp_path / "fake-pagefind"
    fake.write_text(f"""#!{sys.executable}
import base64, json, sys
buf = b""
while True:
    chunk = sys.stdin.buffer.read1(65536)
    if not chunk:
        break
    buf += chunk
    while b"," in buf:
        raw, buf = buf.split(b",", 1)
        m = json.loads(base64.b64decode(raw))
        kind = m["payload"]["type"]
        reply = {{"type": kind, "index_id": 1}}
        if kind == "GetFiles":
            reply["files"] = [{{"path": "pagefind-entry.json", "content": base64.b64encode(b"{{}}").decode()}},
                              {{"path": "../escaped.txt", "content": base64.b64encode(b"x").decode()}}]
        sys.stdout.buffer.write(base64.b64encode(json.dumps({{"message_id": m["message_id"], "payload": reply}}).encode()) + b",")
        sys.stdout.buffer.flush()
""")
    fake.chmod(0o755)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html lang=\"zh-cn\"><body><main>隐私</main></body></html>", "utf-8")
    service = search.Service(fake)
    try:
        assert service.index(site, tmp_path / "bundle" / "b") is False
        assert not (tmp_path / "bundle" / "escaped.txt").exists() and not (tmp_path / "bundle" / "b").exists()
    finally:
        service.close()


# --- what the review of the first version found (each reproduced, then fixed) ----------------

def test_a_pagefind_service_that_stops_answering_holds_nothing(tmp_path, monkeypatch):
    """A service that never answers is given up after its deadline, or at once when the build
    is called off, and killed: neither the build nor the resident builder waits for ever."""
    import threading
    from policysite.outputs import search
    mute = tmp_path / "mute-pagefind"
    mute.write_text("#!/bin/sh\nexec sleep 600\n")
    mute.chmod(0o755)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html lang=\"zh-cn\"><body><main>隐私</main></body></html>", "utf-8")
    service = search.Service(mute)
    monkeypatch.setattr(search.Service, "DEADLINE", 0.3)
    start = time.monotonic()
    assert service.index(site, tmp_path / "b1") is False
    assert time.monotonic() - start < 10 and service.proc is None       # killed
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    monkeypatch.setattr(search.Service, "DEADLINE", 60.0)
    start = time.monotonic()
    assert service.index(site, tmp_path / "b2", cancel) is False
    assert time.monotonic() - start < 10 and service.proc is None


def test_pagefind_options_of_the_command_line_are_never_lost(tmp_path, monkeypatch):
    """PAGEFIND_* variables and a pagefind.yml are read by Pagefind's command line, not by its
    service: with either, the index is made by the command line; and such a client is not handed
    to a builder whose variables differ."""
    from policysite.outputs import search

    class Refusing:
        def index(self, *a, **k):
            raise AssertionError("the service was used")
    monkeypatch.setattr(search, "SERVICE", Refusing())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAGEFIND_FORCE_LANGUAGE", "en")
    assert search._configured()
    before = handoff.identity()
    monkeypatch.delenv("PAGEFIND_FORCE_LANGUAGE")
    assert handoff.identity() != before
    assert not search._configured()
    (tmp_path / "pagefind.yml").write_text("force_language: en\n")
    assert search._configured()


def test_files_are_made_with_the_commands_umask(site):
    project, e = site
    project.policy("p1.md", BODY.format(n=1) + "\n权限。\n", title="政策1")
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--timings"], cwd=project.root, env=e,
                          capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o002))
    assert proc.returncode == 0 and HANDED in proc.stdout, proc.stdout + proc.stderr
    assert stat.S_IMODE((project.out / "p1" / "index.html").stat().st_mode) == 0o664


def test_output_it_cannot_write_here_does_not_build_twice(site):
    project, e = site
    project.policy("p1.md", BODY.format(n=1) + "\n满了。\n", title="政策1")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, str(ROOT / "build.py")], cwd=project.root, env=e, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.count("warning [site.today]") == 1, proc.stderr     # built once, there
    assert "满了" in (project.out / "p1" / "index.html").read_text("utf-8")


def test_a_state_it_cannot_save_is_said_by_the_next_command_and_it_goes_on(site):
    project, e = site
    state = project.root / ".cache" / "policysite" / "state.pickle"
    state.unlink()
    state.mkdir()                                          # (a full disk, an unwritable folder)
    project.policy("p1.md", BODY.format(n=1) + "\n一次。\n", title="政策1")
    assert run(project, e).returncode == 0                 # its answer went before the save
    project.policy("p1.md", BODY.format(n=1) + "\n两次。\n", title="政策1")
    proc = run(project, e, "--timings")
    assert proc.returncode == 1 and HANDED in proc.stdout and "state.pickle" in proc.stderr, proc.stdout + proc.stderr
    assert "runs (process" in run(project, e, "resident").stdout      # it goes on
    state.rmdir()
    project.policy("p1.md", BODY.format(n=1) + "\n三次。\n", title="政策1")
    proc = run(project, e)
    assert proc.returncode == 0, proc.stderr
    assert state.is_file()


def builders_of(config: Path) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if d.name.isdigit() and "policysite.resident import main" in cmd and str(config) in cmd:
            found.append(int(d.name))
    return found


def test_two_builders_started_at_once_leave_one(project, tmp_path, monkeypatch):
    from policysite import resident
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    e = env(sockets)
    for k, v in e.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    project.policy("p1.md", BODY.format(n=1), title="政策1")
    assert run(project, {**e, handoff.ENV: "0"}).returncode == 0
    config = Path(os.path.realpath(project.root / "config.toml"))
    try:
        assert resident.start(config) and resident.start(config)
        running(project, e)
        end = time.monotonic() + 20
        while len(builders_of(config)) > 1 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(builders_of(config)) == 1
    finally:
        run(project, e, "resident", "--stop")


def test_a_stamp_is_not_recorded_for_an_output_another_build_has_replaced(project, monkeypatch):
    """The resident builder records its build's stamp after its client has its answer; a build
    that published in between (with drafts, here) must not be taken for it."""
    from policysite import pipeline
    project.policy("p1.md", BODY.format(n=1), title="政策1")
    project.policy("secret.md", BODY.format(n=9), title="草稿", status="draft")
    config = project.root / "config.toml"
    from policysite.config import load_config
    from policysite.errors import Collector
    cfg = load_config(config, Collector())
    from policysite import stamp
    monkeypatch.setenv(stamp.CLOCK_ENV, str(stamp.RACY_NS + 1_000_000_000))    # inputs older than the racy window
    began = stamp.begin()
    taken, _ = stamp.inputs_of(cfg)
    later: list = []
    pipeline.run(pipeline.BuildRequest(config, project.out, inputs=(began, taken), finish=later))
    pipeline.build(config, project.out, drafts=True)                 # published in between
    assert (project.out / "secret").is_dir()
    for step in later:
        step()
    assert stamp.check(cfg, project.out, False, cfg.root / stamp.CACHE_DIR) is None
    assert pipeline.build(config, project.out).rendered > 0           # the drafts' pages go
    assert not (project.out / "secret").exists()
