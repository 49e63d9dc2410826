"""Search at N policies (issue 17): the index's time in a cold build (the Pagefind runs and putting
each shard's bundle in order, after the pages: the records are written with the pages), a
no-change build, a one-policy edit (whose records go into a recent bundle of their own), and a
query in Chromium, typed on the search page until its results are listed (median of the queries
below, each run 3 times), with no recent bundle, one, and MAX_RECENT of them.

    python bench/search.py [--policies 1000] [--single]

--single also builds the same site as one index (no shards), as before issue 17's shards, and
prints the same figures beside it and the ratios.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import corpus  # noqa: E402
from policysite.outputs import search  # noqa: E402

QUERIES = ["个人信息", "人脸识别", "未成年人", "数据 删除", "信息安全", "隐私政策", "個人資料", "自动化决策"]


def timed_render():
    """Wrap the search output's render_all; returns the list its times go into."""
    spent = []
    real = search.Search.render_all

    def timed(self, specs, ctx, jobs):         # (a generator: timed until its last artifact)
        t0 = time.perf_counter()
        try:
            yield from real(self, specs, ctx, jobs)
        finally:
            spent.append(time.perf_counter() - t0)
    search.Search.render_all = timed
    return spent


def builds(config: Path, out: Path, site: Path) -> dict:
    from policysite.pipeline import build
    spent = timed_render()
    t0 = time.perf_counter()
    result = build(config, out)
    cold = time.perf_counter() - t0
    files = [p for p in result.pages if p.startswith(search.FOLDER)]
    size = sum((out / p).stat().st_size for p in files)
    shards = len(list((out / search.FOLDER).glob("*/pagefind-entry.json"))) or 1
    t0 = time.perf_counter()
    build(config, out)
    same = time.perf_counter() - t0
    made_after_same = len(spent) > 1
    corpus.edit_one(site, 7)
    t0 = time.perf_counter()
    build(config, out)
    edit = time.perf_counter() - t0
    return {"result": result, "cold": cold, "cold_index": spent[0], "same": same, "remade": made_after_same,
            "edit": edit, "edit_index": spent[-1] if len(spent) > 1 else 0.0, "files": len(files),
            "size": size, "shards": shards}


def query_times(out: Path) -> tuple[float, float, float]:
    """Seconds from opening search/?q=… to the results listed, over QUERIES × 3."""
    from playwright.sync_api import sync_playwright
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    handler = functools.partial(quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    times = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page()
            for _ in range(3):
                for q in QUERIES:
                    t0 = time.perf_counter()
                    page.goto(f"{base}search/?q={quote(q)}")
                    page.wait_for_function("""() => { const s = document.querySelector('[data-search-status]');
                        return s && s.textContent.trim() && !s.textContent.trim().endsWith('…'); }""", timeout=60000)
                    times.append(time.perf_counter() - t0)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return statistics.median(times), min(times), max(times)


def report(label: str, f: dict, q) -> None:
    print(f"{label}: {f['shards']} shard(s), {f['files']} files, {f['size'] / 1e6:.1f} MB in {search.FOLDER}")
    print(f"  cold build:       {f['cold']:6.2f} s, of which the search index {f['cold_index']:.2f} s")
    print(f"  no-change build:  {f['same']:6.2f} s (index made again: {'yes' if f['remade'] else 'no'})")
    print(f"  one-policy edit:  {f['edit']:6.2f} s, of which the search index {f['edit_index']:.2f} s")
    print(f"  query in Chromium (open search/?q=…, results listed): median {q[0]:.2f} s ({q[1]:.2f}–{q[2]:.2f})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--single", action="store_true", help="also build it as one index, and compare")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="policysite-bench-search-"))
    try:
        config = corpus.generate(work / "site", args.policies)
        sharded = builds(config, work / "public", work / "site")
        result = sharded["result"]
        records = sum(len(search.indexed(p, "current")) for p in result.site.policies)
        print(f"{args.policies} policies, {result.html_pages} pages, {records} versions indexed")
        q_sharded = query_times(work / "public")
        report("shards", sharded, q_sharded)
        from policysite.pipeline import build
        for i in range(search.MAX_RECENT - 1):          # as many recent bundles as are kept
            corpus.edit_one(work / "site", 101 + 97 * i)
            build(config, work / "public")
        bundles = len(list((work / "public" / search.FOLDER).glob("recent-*/")))
        q_recent = query_times(work / "public")
        build(config, work / "public", use_cache=False)
        q_none = query_times(work / "public")
        print(f"  query with {bundles} recent bundles: median {q_recent[0]:.2f} s ({q_recent[1]:.2f}–{q_recent[2]:.2f}); "
              f"with none (--no-cache): {q_none[0]:.2f} s ({q_none[1]:.2f}–{q_none[2]:.2f}); "
              f"ratio {q_recent[0] / q_none[0]:.2f}, with one: {q_sharded[0] / q_none[0]:.2f}")
        if args.single:
            shutil.rmtree(work / "site")
            config = corpus.generate(work / "site", args.policies)
            saved = search.POLICIES_PER_SHARD
            search.POLICIES_PER_SHARD = 10 ** 9
            try:
                single = builds(config, work / "public-single", work / "site")
            finally:
                search.POLICIES_PER_SHARD = saved
            q_single = query_times(work / "public-single")
            report("one index", single, q_single)
            print(f"shards / one index: cold index {sharded['cold_index'] / single['cold_index']:.2f}, "
                  f"edit's index {sharded['edit_index'] / single['edit_index']:.3f}, "
                  f"query {q_sharded[0] / q_single[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
