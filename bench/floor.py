"""The least CPU a cold build of a site needs with the stack it is built on (issue 19).

    python bench/floor.py SITE/config.toml        # prints JSON: seconds of CPU, documents

It renders every document every page shows, as a cold build must, and nothing else: each
source's Markdown (Python-Markdown with our extensions, sanitized by nh3) and each version's
conversion by OpenCC into each locale's script (Renderer.view, once per version and locale,
as the build does). No templates, no comparison of versions, no files written. With the CPU
Pagefind takes to index the same site (bench.py notes it), this is a floor under the cold
build: no arrangement of the rest gets below it on the same cores.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(config: str) -> dict:
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
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    docs = {id(v): v for v, _ in views}
    for v, loc in views:
        renderer.view(v, loc)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu": cpu, "wall": time.perf_counter() - start, "views": len(views), "versions": len(docs)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
