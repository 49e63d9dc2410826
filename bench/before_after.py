"""Two versions of the engine on the same site, measured in one run, turn by turn: the check that a
change of the code's shape made nothing slower, and that the output is the same.

    git worktree add /tmp/before <commit>
    python bench/before_after.py /tmp/before --policies 1000

For each engine, on its own copy of a generated corpus (bench/corpus.py): a cold build, a
rebuild with nothing changed, and one-policy edits (medians of --repeat), alternating between
the two so that a slow spell of the machine falls on both. Then the two outputs are compared
file by file (bench/compare_trees.py). Prints figures and ratios (after / before); asserts nothing.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare_trees  # noqa: E402
import corpus  # noqa: E402
from bench import ENV  # noqa: E402


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the build and its workers, peak RSS in MB). CPU time is
    the steadier figure on a shared machine: other work there slows the wall clock, not it."""
    import os
    import subprocess
    import time
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def site_for(engine: Path, site: Path) -> None:
    """An engine from before the default theme moved into the package needs the theme named."""
    if (engine / "templates" / "base.html").exists():
        cfg = site / "config.toml"
        cfg.write_text(cfg.read_text("utf-8") + f'\n[theme]\ntemplates_dir = "{(engine / "templates").as_posix()}"\n'
                       f'static_dir = "{(engine / "static").as_posix()}"\n', "utf-8")


def build(engine: Path, site: Path, out: Path, *args: str) -> tuple[float, float, float]:
    return measure([sys.executable, str(engine / "build.py"), "--config", str(site / "config.toml"),
                    "--out", str(out), "--quiet", *args], site)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path, help="a checkout of the engine to compare with")
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cold", type=int, default=3)
    args = ap.parse_args()
    engines = {"before": args.before.resolve(), "after": HERE.parent}
    work = Path(tempfile.mkdtemp(prefix="before-after-"))
    try:
        base = work / "corpus"
        corpus.generate(base, args.policies)
        sites, outs = {}, {}
        for name, engine in engines.items():
            sites[name] = work / name
            shutil.copytree(base, sites[name])
            site_for(engine, sites[name])
            outs[name] = work / f"{name}-out"
        figures: dict[str, dict[str, list[float]]] = {n: {} for n in engines}

        def note(name, key, wall, cpu, rss=None):
            figures[name].setdefault(key, []).append(wall)
            figures[name].setdefault(key + " (CPU)", []).append(cpu)
            if rss is not None:
                figures[name].setdefault("peak MB", []).append(rss)
        for i in range(args.cold):                                # cold builds, turn by turn
            for name, engine in engines.items():
                shutil.rmtree(outs[name], ignore_errors=True)
                note(name, "cold", *build(engine, sites[name], outs[name], "--no-cache"))
        for name, engine in engines.items():                      # fill the cache
            shutil.rmtree(outs[name], ignore_errors=True)
            build(engine, sites[name], outs[name])
        for i in range(args.repeat):
            for name, engine in engines.items():
                note(name, "no change", *build(engine, sites[name], outs[name])[:2])
                corpus.edit_one(sites[name], i)
                note(name, "one edit", *build(engine, sites[name], outs[name]))
        print(f"{args.policies} policies; medians of {args.cold} cold builds and {args.repeat} rebuilds")
        print(f"  {'':<18}{'before':>10}{'after':>10}{'after/before':>14}")
        for key in ("cold", "cold (CPU)", "no change", "no change (CPU)", "one edit", "one edit (CPU)", "peak MB"):
            b, a = statistics.median(figures["before"][key]), statistics.median(figures["after"][key])
            unit = "" if key == "peak MB" else " s"
            print(f"  {key:<18}{b:>8.2f}{unit:<2}{a:>8.2f}{unit:<2}{a / b:>12.2f}")
        diffs = compare_trees.compare(outs["before"], outs["after"])
        print("outputs: " + ("identical" if not diffs else f"{len(diffs)} differences, first: {diffs[0]}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
