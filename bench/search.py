"""Search index time at N policies (issue 17): a cold build, the search output's own share of it
(writing the pages Pagefind reads, Pagefind itself, putting its bundle in order), a no-change
build, and a one-policy edit (which makes the whole index again: it depends on every body).

    python bench/search.py [--policies 1000]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import corpus  # noqa: E402
from policysite.outputs import search  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", type=int, default=1000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="policysite-bench-search-"))
    try:
        config = corpus.generate(work / "site", args.policies)
        out = work / "public"
        spent = []
        real = search.Search.render

        def timed(self, spec, ctx):
            t0 = time.perf_counter()
            try:
                return real(self, spec, ctx)
            finally:
                spent.append(time.perf_counter() - t0)

        search.Search.render = timed
        from policysite.pipeline import build
        t0 = time.perf_counter()
        result = build(config, out)
        cold = time.perf_counter() - t0
        files = [p for p in result.pages if p.startswith(search.FOLDER)]
        size = sum((out / p).stat().st_size for p in files)
        t0 = time.perf_counter()
        build(config, out)
        same = time.perf_counter() - t0
        made_after_same = len(spent)
        corpus.edit_one(work / "site", 7)
        t0 = time.perf_counter()
        build(config, out)
        edit = time.perf_counter() - t0
        records = sum(len(search.indexed(p, "current")) for p in result.site.policies)
        print(f"{args.policies} policies, {result.html_pages} pages, {records} versions indexed "
              f"({len(files)} files, {size / 1e6:.1f} MB in {search.FOLDER})")
        print(f"cold build:            {cold:6.2f} s, of which the search index {spent[0]:.2f} s")
        print(f"no-change build:       {same:6.2f} s (index made again: {'yes' if made_after_same > 1 else 'no'})")
        print(f"one-policy edit:       {edit:6.2f} s, of which the search index {spent[-1]:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
