"""The least CPU a cold build of a site needs with the stack it is built on (issue 19).

    python bench/floor.py SITE/config.toml                    # prints JSON: seconds of CPU, documents
    python bench/floor.py SITE/config.toml --published OUT    # also: writing OUT's files anew

It renders every document every page shows, as a cold build must, and nothing else: each
source's Markdown (Python-Markdown with our extensions, sanitized by nh3) and each version's
conversion by OpenCC into each locale's script (Renderer.view, once per version and locale,
as the build does). No templates, no comparison of versions. With the CPU Pagefind takes to
index the same site (bench.py notes it), this is a floor under the cold build: no arrangement
of the rest gets below it on the same cores.

`--published OUT` (a build's output folder) also times (CPU, user+sys) what any generator of
those pages pays to publish them: every folder and file of OUT made again, with the same bytes,
in a fresh folder beside it (the bytes read first, not timed; the folder removed afterwards).
The search index's files are left out: Pagefind writes them, and its CPU is counted apart.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def documents(config: str) -> dict:
    from policysite import script
    from policysite.errors import Collector
    from policysite.pipeline import load_config_phase, model_phase, plan_phase
    from policysite.render import DocStore, Renderer

    diag = Collector()
    cfg = load_config_phase(Path(config), diag)
    site = model_phase(cfg, diag, False)
    ctx = plan_phase(site, diag)
    renderer = ctx.content = Renderer(site, diag, DocStore(None, "floor"))
    script.settle()
    views = [(v, loc) for p in site.policies for v in p.versions for loc in v.locales]
    before, start = _cpu(), time.perf_counter()
    docs = {id(v): v for v, _ in views}
    for v, loc in views:
        renderer.view(v, loc)
    return {"cpu": _cpu() - before, "wall": time.perf_counter() - start, "views": len(views), "versions": len(docs)}


def publishing(published: Path) -> dict:
    """CPU (user+sys) to make `published`'s folders and write its files again."""
    files = [(p.relative_to(published), p.read_bytes()) for p in sorted(published.rglob("*"))
             if p.is_file() and "pagefind" not in p.relative_to(published).parts]
    target = Path(tempfile.mkdtemp(prefix=".floor-", dir=published.parent))
    try:
        before, start = _cpu(), time.perf_counter()
        made = set()
        for rel, data in files:
            folder = target / rel.parent
            if folder not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made.add(folder)
            (target / rel).write_bytes(data)
        return {"write_cpu": _cpu() - before, "write_wall": time.perf_counter() - start, "files": len(files),
                "bytes": sum(len(d) for _, d in files)}
    finally:
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--published", type=Path, help="a build's output folder: also time writing its files")
    args = ap.parse_args()
    found = documents(args.config)
    if args.published:
        found.update(publishing(args.published))
    print(json.dumps(found))
