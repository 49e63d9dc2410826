"""Build speed and memory, measured in one run; prints figures and ratios, asserts nothing.

    python bench/bench.py                      # 1,000 policies
    python bench/bench.py --policies 200       # quicker
    python bench/bench.py --vs-hugo            # also Hugo on the same pages (needs `hugo` on PATH)
    python bench/bench.py --scale 10000        # also a cold build of 10,000 policies, and the ratio

Each build runs as its own process (`python build.py ...`), timed from start to
exit, with its peak resident memory (the largest process, as wait4 reports it).
Measured: a cold build (`--no-cache`, empty output folder); a build that fills
the cache; a rebuild with nothing changed; a rebuild after editing one policy;
`serve`'s save → visible time (a Chromium page open on a policy, a marker appended
to its file, until the marker is in the page's DOM; median of 10) on the sample site
and at N policies; the CPU time of the edit and no-change rebuilds; pages per second.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import threading
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import hugo as hugo_layout  # noqa: E402

TARGETS = {"cold": None, "nochange": 0.1, "edit": 0.3}      # issue 19
REPEAT = 5


# Python caches compiled modules unless told not to; an installed engine always has them, so
# a setting that turns that off (some containers set it) must not slow our builds down here.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


CPU: list[float] = []      # user+sys seconds of each measured build, in order (the machine is shared)


def measure(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of the largest process, stdout); CPU time appended to CPU."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or ENV)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    CPU.append(usage.ru_utime + usage.ru_stime)
    if status != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{err.decode()}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


PAGEFIND_PROBE = """#!{python}
# bench/bench.py: runs the engine's Pagefind and notes its CPU time (user+sys) in {log}
import os, subprocess, sys
proc = subprocess.Popen([{exe!r}] + sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
with open({log!r}, "a") as f:
    f.write(f"{{usage.ru_utime + usage.ru_stime}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def pagefind_probe(work: Path) -> "tuple[dict, Path] | None":
    """An environment whose builds run Pagefind through a probe that notes each run's CPU time
    (where a cold build's time goes: the pages, or the search index), and the probe's log."""
    sys.path.insert(0, str(REPO))
    from policysite.outputs.search import executable
    exe = executable()
    if exe is None:
        return None
    log, probe = work / "pagefind-cpu.log", work / "pagefind-probe"
    probe.write_text(PAGEFIND_PROBE.format(python=sys.executable, exe=str(exe), log=str(log)), encoding="utf-8")
    probe.chmod(0o755)
    log.unlink(missing_ok=True)
    return {**ENV, "PAGEFIND_BINARY_PATH": str(probe)}, log


def ours(site: Path, out: Path, *args: str, alone: bool = False, env: dict | None = None) -> tuple[float, float, str]:
    """One build. `alone`: in its own process, not handed to the resident builder (issue 19);
    `env`: the environment it runs in (the default: ENV)."""
    if alone:
        env = {**(env or ENV), "POLICYSITE_RESIDENT": "0"}
    return measure([sys.executable, str(REPO / "build.py"), "--config", str(site / "config.toml"),
                    "--out", str(out), "--quiet", *args], site, env)


def resident(site: Path, *args: str) -> str:
    """What `build.py resident` says of this site's resident builder (issue 19)."""
    return subprocess.run([sys.executable, str(REPO / "build.py"), "resident", "--config", str(site / "config.toml"),
                           *args], capture_output=True, text=True, env=ENV).stdout.strip()


def resident_up(site: Path, timeout: float = 60.0) -> bool:
    """Until the resident builder that the last build started answers (it warms up first)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "runs (process" in resident(site):
            return True
        time.sleep(0.1)
    return False


def pages_of(out: Path) -> int:
    return sum(1 for _ in out.rglob("*.html"))


def repeated(runs: list[tuple[float, float, str]]) -> tuple[float, float, str]:
    """The median time of several runs, with the largest peak memory among them."""
    times = sorted(r[0] for r in runs)
    return statistics.median(times), max(r[1] for r in runs), f"min {times[0]:.2f}, max {times[-1]:.2f}"


def sample_site(work: Path) -> Path:
    """A copy of the repository's own sample site (config.toml, policies, phrases, overrides)."""
    dest = work / "sample"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in ("config.toml", "phrases.toml"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    for name in ("policies", "templates", "static"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name)
    return dest


def save_to_visible(site: Path, tries: int = 10) -> tuple[float, float, float, str]:
    """Seconds from saving a policy to its new text being in the DOM of a Chromium page open on
    that policy, with `serve` running (issue 19: as a person sees it). Returns (median, min, max,
    the server's peak RSS)."""
    import socket
    from playwright.sync_api import sync_playwright
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = site / "serve-out"
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--config", str(site / "config.toml"),
                             "--port", str(port), "--out", str(out)], cwd=site,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    try:
        for line in proc.stdout:                       # wait for the first build
            if "Serving" in line:
                break
        else:
            raise SystemExit("serve did not start")
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()   # keep the pipe drained
        files = sorted(p for p in (site / "policies").rglob("*.md")
                       if "." not in p.stem and (out / p.stem / "index.html").exists())   # a policy's own page
        times = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page()
            for i in range(tries):
                path = files[(7 + 13 * i) % len(files)]
                page.goto(f"http://127.0.0.1:{port}/{path.stem}/")
                page.wait_for_function("() => performance.getEntriesByType('resource')"
                                       ".some(r => r.name.includes('/livereload.js'))")
                time.sleep(0.5)                        # the reload socket connected; a person reads
                marker = f"本政策第{i}次修订标记{os.urandom(4).hex()}后由运营单位负责解释。"   # new each run
                start = time.perf_counter()
                with path.open("a", encoding="utf-8") as f:
                    f.write(f"\n\n{marker}\n")
                page.wait_for_function(f"() => document.body && document.body.innerText.includes({marker!r})",
                                       timeout=60000, polling="raf")
                times.append(time.perf_counter() - start)
            browser.close()
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next((l.split(":", 1)[1].strip() for l in f if l.startswith("VmHWM")), "?")
        return statistics.median(times), min(times), max(times), hwm
    finally:
        proc.terminate()
        proc.wait(timeout=30)


PAIRS = 2      # cold builds, ours and Hugo's, one after the other: the machine drifts (Hugo took 19-36 s)


def hugo_times(site: Path, our_out: Path, work: Path) -> dict:
    """Hugo on the same pages: cold, no-change and edit; and PAIRS cold builds, ours then Hugo's
    back to back (`pairs`: [(ours, Hugo)], seconds), the fair comparison on a shared machine."""
    dest = work / "hugo-site"
    files = hugo_layout.layout(site, our_out, dest)
    cmd = ["hugo", "--quiet", "-s", str(dest), "-d", str(work / "hugo-public")]
    cold = measure(cmd + ["--ignoreCache"], dest)
    pairs = []
    scratch = work / "public-pairs"
    for _ in range(PAIRS):
        shutil.rmtree(scratch, ignore_errors=True)
        mine = ours(site, scratch, "--no-cache", alone=True)[0]
        shutil.rmtree(work / "hugo-public", ignore_errors=True)
        pairs.append((mine, measure(cmd + ["--ignoreCache"], dest)[0]))
    shutil.rmtree(scratch, ignore_errors=True)
    again = measure(cmd, dest)
    target = hugo_layout.content_file_for(dest, "policy-00000")
    with target.open("a", encoding="utf-8") as f:
        f.write("\n\n本政策由运营单位负责解释。\n")
    edit = measure(cmd, dest)
    return {"files": files, "pages": pages_of(work / "hugo-public"), "cold": cold, "nochange": again, "edit": edit,
            "pairs": pairs}


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--vs-hugo", action="store_true", help="also time Hugo on the same pages")
    ap.add_argument("--scale", type=int, help="also time a cold build of this many policies")
    ap.add_argument("--no-serve", action="store_true", help="skip the serve save-to-rebuilt measurement")
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="policysite-bench-"))
    site = work / f"site-{args.policies}"
    if not (site / "config.toml").exists():
        corpus.generate(site, args.policies)
    out = work / "public"
    print(f"Machine: {machine()}")
    size = sum(p.stat().st_size for p in (site / "policies").rglob("*.md"))
    print(f"Corpus: {args.policies} policies, {sum(1 for _ in (site / 'policies').rglob('*.md'))} files, "
          f"{size / 1e6:.1f} MB of Markdown")
    results = {}
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(site / ".cache", ignore_errors=True)
    # the cold build's Pagefind runs' CPU time noted (where its time goes; the probe's own start-up,
    # ~20 ms a run, is in the build's time). Not the next build's: it starts the resident builder,
    # which would keep the probe's environment and refuse the builds after it
    probe = pagefind_probe(work)
    results["cold"] = (*ours(site, out, "--no-cache", env=probe[0] if probe else None)[:2], "")
    cold_cpu = None
    if probe is not None:
        runs = [float(x) for x in probe[1].read_text().split()]
        cold_cpu = (CPU[-1], sum(runs), len(runs))
    # the stack's floor under a cold build: the documents alone (Markdown, OpenCC; bench/floor.py),
    # Pagefind's indexing and writing the published pages (CPU, user+sys), on every core
    docs = subprocess.run([sys.executable, str(HERE / "floor.py"), str(site / "config.toml"), "--published", str(out)],
                          env=ENV, capture_output=True, text=True, check=True)
    found = json.loads(docs.stdout.strip().splitlines()[-1])
    docs_cpu, write_cpu = found["cpu"], found["write_cpu"]
    floor = (docs_cpu + write_cpu + (cold_cpu[1] if cold_cpu else 0)) / (os.cpu_count() or 1)
    pages = pages_of(out)
    shutil.rmtree(out, ignore_errors=True)
    results["fill"] = (*ours(site, out)[:2], "")        # fills .cache (a cold build that also saves it)
    # (and, at 200 policies or more, starts the resident builder: policysite/resident.py)
    time.sleep(2.1)                                    # sources older than the stamp's racy window
    ours(site, out, alone=True)                        # records a stamp that can be trusted
    up = resident_up(site)
    CPU.clear()
    results["nochange"] = repeated([ours(site, out) for _ in range(REPEAT)])
    cpu_nochange = statistics.median(CPU)
    results["nochange-alone"] = repeated([ours(site, out, alone=True) for _ in range(REPEAT)])
    touched = []
    for _ in range(3):                                 # every file touched, no text changed (a git checkout)
        time.sleep(1)
        for path in (site / "policies").rglob("*.md"):
            os.utime(path)
        touched.append(ours(site, out))
    results["touched"] = repeated(touched)
    edits = []
    CPU.clear()
    for i in range(REPEAT):                            # a different policy each time
        time.sleep(1)                                  # a person edits between builds: the previous
        corpus.edit_one(site, 3 + 97 * i)              # build's state save (in the background) is done
        edits.append(ours(site, out))
    results["edit"] = repeated(edits)
    cpu_edit = statistics.median(CPU)
    edits = []
    for i in range(REPEAT):                            # the same, each build in its own process
        time.sleep(1)
        corpus.edit_one(site, 5 + 97 * i)
        edits.append(ours(site, out, alone=True))
    results["edit-alone"] = repeated(edits)
    said = resident(site) if up else "not started"
    rss_resident = said.split("peak memory ")[1].split(" MB")[0] if "peak memory " in said else "?"
    resident(site, "--stop")
    print(f"Pages: {pages} HTML pages ({pages / args.policies:.1f} per policy)\n")
    print(f"{'measurement':<40}{'seconds':>9}{'peak RSS':>11}{'target':>10}   spread")
    labels = {"cold": "cold build (--no-cache)", "fill": "cold build, filling .cache",
              "nochange": f"rebuild, nothing changed ({REPEAT}×)",
              "nochange-alone": "  the same, in its own process",
              "touched": "rebuild, every file touched (3×)",
              "edit": f"rebuild after editing one policy ({REPEAT}×)",
              "edit-alone": "  the same, in its own process"}
    TARGETS.update({"nochange-alone": TARGETS["nochange"], "edit-alone": TARGETS["edit"]})
    for key, label in labels.items():
        seconds, rss, spread = results[key]
        target = TARGETS.get(key)
        verdict = "" if target is None else f"{seconds / target:>6.2f} ×"
        print(f"{label:<40}{seconds:>9.2f}{rss:>8.0f} MB{verdict:>10}   {spread}")
    print(f"{'CPU (user+sys), nothing changed':<40}{cpu_nochange:>9.3f}")
    print(f"{'CPU (user+sys), one-policy edit':<40}{cpu_edit:>9.3f}")
    print(f"{'pages per second (cold)':<40}{pages / results['cold'][0]:>9.0f}")
    if cold_cpu is not None:
        total, search_cpu, runs = cold_cpu
        print(f"{'CPU (user+sys), cold build':<40}{total:>9.1f}   of it Pagefind {search_cpu:.1f} s "
              f"({runs} runs, {search_cpu / total:.0%}), the rest {total - search_cpu:.1f} s; {os.cpu_count()} cores")
        print(f"{'floor: documents, Pagefind, writing':<40}{floor:>9.1f}   the documents' Markdown and OpenCC "
              f"{docs_cpu:.1f} s of CPU alone (bench/floor.py), Pagefind's {search_cpu:.1f} s, writing the "
              f"{found['files']} other files {write_cpu:.1f} s, over {os.cpu_count()} cores")
    print(f"{'resident builder, peak RSS':<40}{rss_resident:>9} MB   (the rebuilds above are handed to it;"
          f" 'own process': {'POLICYSITE_RESIDENT=0'})")
    print("(repeated runs: the median, with the largest peak RSS; target column: measured ÷ target,\n"
          " at most 1.00 meets it; peak RSS target 300 MB)")
    if not args.no_serve:
        for name, where, goal in (("sample site", sample_site(work), 0.3), (f"{args.policies} policies", site, 0.5)):
            med, lo, hi, hwm = save_to_visible(where)
            print(f"{'serve: save → visible, ' + name + ' (10×)':<40}{med:>9.3f}{'':>11}{med / goal:>6.2f} ×"
                  f"   min {lo:.3f}, max {hi:.3f}; server peak RSS {hwm}")
    if args.vs_hugo:
        if not shutil.which("hugo"):
            print("\n--vs-hugo: hugo is not on PATH (apt-get install hugo)")
        else:
            version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.split()[1]
            h = hugo_times(site, out, work)
            print(f"\nHugo {version} on the same pages: {h['files']} content files → {h['pages']} pages")
            print(f"{'pair':<38}{'ours':>9}{'Hugo':>9}{'ours/Hugo':>11}{'RSS ours':>10}{'RSS Hugo':>10}")
            for key in ("cold", "nochange", "edit"):
                o, hh = results[key], h[key]
                print(f"{labels[key]:<38}{o[0]:>9.2f}{hh[0]:>9.2f}{o[0] / hh[0]:>11.2f}{o[1]:>7.0f} MB{hh[1]:>7.0f} MB")
            for n, (mine, theirs) in enumerate(h["pairs"], 1):
                print(f"{f'cold builds back to back, pair {n}':<38}{mine:>9.2f}{theirs:>9.2f}{mine / theirs:>11.2f}")
            ratios = [m / t for m, t in h["pairs"]]
            if ratios:
                print(f"{'cold build, ours/Hugo (median of pairs)':<38}{'':>18}{statistics.median(ratios):>11.2f}"
                      f"   target at most 0.70")
                hugo_cold = statistics.median([t for _, t in h["pairs"]])
                print(f"{'the floor above ÷ Hugo (median of pairs)':<38}{floor:>9.2f}{hugo_cold:>9.2f}"
                      f"{floor / hugo_cold:>11.2f}   (the least any cold build could take on this stack)")
    if args.scale:
        big = work / f"site-{args.scale}"
        if not (big / "config.toml").exists():
            corpus.generate(big, args.scale)
        big_out = work / "public-big"
        shutil.rmtree(big_out, ignore_errors=True)
        seconds, rss, _ = ours(big, big_out, "--no-cache")
        ratio = seconds / results["cold"][0]
        print(f"\ncold build of {args.scale} policies: {seconds:.2f} s, peak RSS {rss:.0f} MB; "
              f"{ratio:.2f} × the {args.policies}-policy time (target at most {1.1 * args.scale / args.policies:.0f} ×)")
        shutil.rmtree(big_out, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
