"""Conversion speed: 1,000 generated policies' bodies (bench/corpus.py), as HTML paragraphs,
converted Simplified → Traditional with the engine's Converter, and their Traditional forms back.

    python bench/conversion.py                 # this checkout's engine
    python bench/conversion.py --engine DIR    # another checkout's (DIR holds policysite/)

Prints the load time (first conversion) and the best of --runs timed runs of the whole set.
Compare two engines on the same machine, one after the other.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def bodies(n: int, seed: int = 1) -> list[str]:
    sys.path.insert(0, str(HERE))
    import corpus
    r = random.Random(seed)
    out = []
    for _ in range(n):
        text = corpus.body(r, r.randint(5_000, 40_000))
        out.append("".join(f"<p>{p}</p>\n" for p in text.split("\n\n") if p.strip()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", type=Path, default=HERE.parent)
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    docs = bodies(args.policies)
    sys.path.insert(0, str(args.engine.resolve()))
    from policysite.errors import Collector
    from policysite.script import Converter, load_phrases
    start = time.perf_counter()
    conv = Converter("s2tw", load_phrases(None, Collector()))
    conv.convert("发布", "zh-Hant")
    conv.convert("發布", "zh-Hans")
    load = time.perf_counter() - start
    hant = [conv.convert_html(d, "zh-Hant") for d in docs]
    best_s2t = best_t2s = cpu_s2t = cpu_t2s = float("inf")
    for _ in range(args.runs):
        t, c = time.perf_counter(), time.process_time()
        for d in docs:
            conv.convert_html(d, "zh-Hant")
        best_s2t, cpu_s2t = min(best_s2t, time.perf_counter() - t), min(cpu_s2t, time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        for d in hant:
            conv.convert_html(d, "zh-Hans")
        best_t2s, cpu_t2s = min(best_t2s, time.perf_counter() - t), min(cpu_t2s, time.process_time() - c)
    size = sum(len(d.encode()) for d in docs) / 1e6
    print(f"engine {args.engine.resolve()}: {args.policies} policies, {size:.1f} MB of HTML")
    print(f"  load (both directions): {load:.3f} s")
    print(f"  Simplified → Traditional: {best_s2t:.3f} s   Traditional → Simplified: {best_t2s:.3f} s   "
          f"(best of {args.runs})")
    print(f"  CPU time: {cpu_s2t:.3f} s and {cpu_t2s:.3f} s (less disturbed by other processes)")


if __name__ == "__main__":
    main()
