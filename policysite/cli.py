"""Command-line interface behind build.py: argument parsing and reporting only."""
from __future__ import annotations

import time

PROCESS_START = time.perf_counter()     # for --timings: what Python did before this is not counted

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from .errors import BuildError, Diagnostic  # noqa: E402

COMMANDS = ("build", "new", "check", "serve", "init", "import", "resident")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="config.toml", type=Path, help="config file (default: config.toml)")
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    p.add_argument("--verbose", "-v", action="store_true", help="print every page written")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py", description="Build a static site of public policy documents.",
                                epilog="commands: build (default), new <slug>, check --conversions, serve, init DIR, "
                                       "import FILE... "
                                       "Run 'python build.py COMMAND --help' for each.")
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("build", help="build the site (the default)")
    _common(b)
    b.add_argument("--out", type=Path, help="output folder (default: [build] output, public/)")
    b.add_argument("--drafts", action="store_true", help="include versions with status: draft")
    b.add_argument("--no-cache", action="store_true",
                   help="ignore .cache/ and render every page (the output is the same either way)")
    b.add_argument("--jobs", "-j", type=int, default=None,
                   help="worker processes for rendering (default: one per core; 1 renders serially)")
    b.add_argument("--timings", action="store_true", help="print how long each phase of the build took")
    n = sub.add_parser("new", help="scaffold a policy with every required field")
    _common(n)
    n.add_argument("slug", help="address of the policy, such as privacy-policy")
    n.add_argument("--title", default="隐私政策")
    n.add_argument("--issuer", default="（发布机构名称）")
    c = sub.add_parser("check", help="review reports that are not part of the site")
    _common(c)
    c.add_argument("--conversions", action="store_true",
                   help="list characters with several Traditional forms, with the form chosen and its context")
    c.add_argument("--all", action="store_true", help="with --conversions: list every occurrence, not the first few")
    # issue 14: machine-readable report, and an exit status to gate publishing on
    c.add_argument("--format", choices=("text", "json"), default="text", help="with --conversions: text or json")
    c.add_argument("--strict", action="store_true",
                   help="with --conversions: exit 1 while a high-risk place has no phrase entry or reviewed mark")
    s = sub.add_parser("serve", help="build, serve on 127.0.0.1 and rebuild on every change")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--out", type=Path, help="output folder (default: a temporary folder)")
    # issue 15: start a site of one's own, and bring the policies one already publishes
    i = sub.add_parser("init", help="start a new site in a folder (it builds at once)")
    i.add_argument("dir", type=Path, help="folder to create (or an empty one)")
    i.add_argument("--title", default=None, help="site title (default: 政策文件)")
    i.add_argument("--issuer", default=None, help="the body that issues the policies (发布机构)")
    i.add_argument("--base-url", default="", help="public URL of the site, such as https://www.example.gov.cn/policies/")
    i.add_argument("--traditional", default="s2tw", choices=("s2tw", "s2hk", "s2t"),
                   help="Traditional standard: s2tw (Taiwan, default), s2hk (Hong Kong), s2t (OpenCC)")
    m = sub.add_parser("import", help="saved web pages, Word files and text → policies/SLUG.md (as drafts)")
    _common(m)
    m.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".html/.htm, .docx or .txt files")
    m.add_argument("--slug", help="address of the policy (default: the title in pinyin)")
    m.add_argument("--lang", choices=("zh-Hans", "zh-Hant", "en"), help="language of the file (default: detected)")
    m.add_argument("--force", action="store_true", help="overwrite a policy file that already exists")
    # issue 19: the process a command-line build hands its build to (policysite/resident.py)
    r = sub.add_parser("resident", help="the resident builder of a site: --status, --stop")
    _common(r)
    r.add_argument("--stop", action="store_true", help="end this site's resident builder")
    return p


def main(argv: list[str], runner=None) -> int:
    if argv in (["-h"], ["--help"]):
        p = parser()
        build_help = p._subparsers._group_actions[0].choices["build"].format_help()
        print(p.format_help() + "\npython build.py [build] options:\n" + build_help.split("\n", 2)[2])
        return 0
    if not argv or argv[0] not in COMMANDS:
        argv = ["build", *argv]
    args = parser().parse_args(argv)
    # The build allocates many long-lived objects and few reference cycles: collect less often
    # (as mypy does), instead of scanning the whole heap again and again while loading.
    gc.set_threshold(100_000, 50, 50)
    try:
        if args.command == "new":
            return cmd_new(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "import":
            return cmd_import(args)
        if args.command == "resident":
            return cmd_resident(args)
        if args.command == "serve":
            from .serve import serve
            return serve(args)
        return cmd_build(args, runner)
    except BuildError as e:
        report(e.diagnostics)
        n = len(e.errors)
        print(f"Build failed: {n} error{'s' if n != 1 else ''}; the previous output was left as it was.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """The `policysite` command that `pip install .` makes: the same interface as build.py."""
    from .handoff import hand_over
    handed = hand_over(sys.argv[1:])                  # issue 19: to the resident builder, if one runs
    exit_now(main(sys.argv[1:]) if handed is None else handed)


def exit_now(status: int) -> None:
    """End the process without tearing down every object one by one: a build of a large site
    holds a few hundred thousand, and freeing them took longer than a whole no-change build.
    Output is flushed first; files are closed when written; there are no atexit duties."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def report(diagnostics: list[Diagnostic], quiet: bool = False) -> None:
    for d in diagnostics:
        if quiet and not d.is_error:
            continue
        print(d.format(), file=sys.stderr)


def cmd_build(args, runner=None) -> int:
    """`runner`: the resident builder's (resident.py), which builds with the state it keeps."""
    seen: dict = {}                                     # the config and inputs' metadata, reused by the build
    since = PROCESS_START if runner is None else time.perf_counter()
    laps = [("start-up", time.perf_counter() - PROCESS_START)] if runner is None else []    # for --timings
    if not args.no_cache and not args.verbose:
        from .stamp import up_to_date
        start = time.perf_counter()
        done = up_to_date(args.config, args.out, args.drafts, seen)
        laps.append(("build stamp", time.perf_counter() - start))
        if done is not None:                            # nothing changed since the last build
            if args.timings:
                _print_timings(laps, since)
            if not args.quiet:
                for w in done.get("warnings", []):
                    print(w, file=sys.stderr)
                n = done.get("policies", 0)
                print(f"Built {n} {'policy' if n == 1 else 'policies'}, {done.get('pages', 0)} pages "
                      f"(nothing changed since the last build) in {time.perf_counter() - start:.2f} s "
                      f"→ {done['out_dir']}")
            return 0
    start = time.perf_counter()
    if runner is None and "config" in seen:   # OpenCC's dictionaries load on another core while the build starts
        from .script import preload
        preload(seen["config"]["scripts.traditional"], seen["config"].path_of("scripts.phrases"))  # issue 14
    from .pipeline import BuildRequest, run
    if runner is None:
        laps.append(("imports", time.perf_counter() - start))
    request = BuildRequest(args.config, args.out, args.drafts, not args.no_cache, args.jobs,
                           inputs=seen.get("inputs"), freeze=runner is None,
                           say=lambda text: print(text, file=sys.stderr))
    # issue 19: in the resident builder, with the state it keeps (resident.py)
    result = run(request)[0] if runner is None else runner(request, laps)
    report(result.warnings, args.quiet)
    if args.timings:
        _print_timings(laps + result.timings, since)
    if args.verbose:
        for p in sorted(result.pages):
            print(f"  {p}")
    if not args.quiet:
        print(result.summary())
    if runner is None and not args.no_cache and "inputs" in seen:
        from . import handoff
        if handoff.supported() and handoff.wanted() != "0":
            from . import resident
            if handoff.wanted() == "1" or len(result.site.policies) >= resident.MIN_POLICIES:
                resident.start(args.config)               # issue 19: the next build is handed to it
    return 0


def cmd_resident(args) -> int:
    """issue 19: the resident builder of a site (policysite/resident.py): is one running, or end it."""
    from . import handoff
    from .resident import MIN_POLICIES
    if not handoff.supported():
        print("There is no resident builder on this system (it needs Linux): every build runs in its own process.")
        return 0
    argv = ["resident", "--stop"] if args.stop else ["resident"]
    if handoff.send(argv, str(args.config)) is None:
        print(f"No resident builder runs for this site. A build of a site of {MIN_POLICIES} policies or more "
              f"starts one ({handoff.ENV}=1: for any site; {handoff.ENV}=0: never).")
    return 0


def _print_timings(laps: list[tuple[str, float]], since: float) -> None:
    for phase, seconds in laps:
        print(f"  {phase:<32}{seconds:>7.3f} s")
    where = "since start-up" if since == PROCESS_START else "in the resident builder"
    print(f"  {'in all, ' + where:<32}{time.perf_counter() - since:>7.3f} s")


TEMPLATE = """---
title: {title}
issuer: {issuer}
effective: {effective}
version: "1.0"
published: {today}
status: draft
summary: 用一两句话概括本政策的内容。
contact:
  phone: "0000-00000000"
  email: privacy@example.gov.cn
  address: （通信地址）
---

## 一、总则

（正文从这里开始。用 ## 写一级标题、### 写二级标题，编号照原样书写。）

++与读者权益密切相关的重要条款写在两个加号之间。++

## 二、联系我们

如对本政策有任何疑问，请通过上方的联系方式与我们联系。
"""


def cmd_new(args) -> int:
    from .config import load_config
    from .errors import Collector
    from .load import RESERVED_SLUGS, SLUG_RE
    diag = Collector()
    cfg = load_config(args.config, diag)
    diag.raise_if_errors()
    slug = args.slug
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        print(f"error: '{slug}' cannot be a page address; use lower-case ASCII letters, digits and '-', "
              f"such as privacy-policy", file=sys.stderr)
        return 2
    root = cfg.path_of("content.policies_dir")
    path = root / f"{slug}.md"
    if path.exists() or (root / slug).exists():
        print(f"error: a policy named '{slug}' already exists in {root}", file=sys.stderr)
        return 2
    root.mkdir(parents=True, exist_ok=True)
    today = cfg.today
    path.write_text(TEMPLATE.format(title=args.title, issuer=args.issuer, today=today.isoformat(),
                                    effective=(today + dt.timedelta(days=30)).isoformat()), "utf-8")
    print(f"Created {path}. It is a draft: build with --drafts to preview it, remove 'status: draft' to publish.")
    return 0


def cmd_check(args) -> int:
    if not args.conversions:
        print("error: say what to check, such as  python build.py check --conversions", file=sys.stderr)
        return 2
    from .review import conversion_report
    report, open_high = conversion_report(args.config, show_all=args.all, fmt=args.format)
    print(report)
    return 1 if args.strict and open_high else 0


def cmd_init(args) -> int:
    """issue 15: a new site with this repository's layout (policysite/scaffold.py)."""
    from .scaffold import ScaffoldError, create_site
    try:
        written = create_site(args.dir, title=args.title, issuer=args.issuer, base_url=args.base_url,
                              traditional=args.traditional)
    except ScaffoldError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"  {path}")
    config = args.dir / "config.toml"
    print(f"Created a site in {args.dir}. Build it:  python build.py --config {config}   "
          f"(then bring your policies:  python build.py import --config {config} FILE...)")
    return 0


def cmd_import(args) -> int:
    """issue 15: policysite/importers/ reads the files; nothing is written unless every one is sound."""
    from .config import load_config
    from .errors import Collector
    from .importers import checklist, plan
    diag = Collector()
    cfg = load_config(args.config, diag)
    if cfg.fatal:
        diag.raise_if_errors()
    policies = cfg.path_of("content.policies_dir")
    planned, failed = plan(args.files, policies, args.slug, args.lang, args.force, cfg["content.default_lang"])
    if failed:
        for f in failed:
            print(f.format(), file=sys.stderr)
        print(f"Import failed: {len(failed)} file{'s' if len(failed) != 1 else ''} could not be imported; "
              "nothing was written.", file=sys.stderr)
        return 1
    policies.mkdir(parents=True, exist_ok=True)
    for p in planned:
        p.path.write_text(p.text, "utf-8")
        if not args.quiet:
            print(checklist(p, os.path.relpath(p.path)))
    if not args.quiet:
        print(f"Imported {len(planned)} polic{'ies' if len(planned) != 1 else 'y'} as drafts. "
              "Preview:  python build.py --drafts")
    return 0
