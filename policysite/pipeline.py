"""The build, as a short sequence of named phases: config → load → model → render → write.

Each phase is a function from the previous phase's output to its own; problems
are collected in one `Collector`, and the build stops after a phase that found
errors, so a webmaster sees every problem of that phase at once.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .config import Config, load_config
from .errors import BuildError, Collector, Diagnostic
from .load import discover, load_sources
from .model import Site, build_site, plan_pages
from .render import Page, RenderCache, precheck, render_site
from .script import DEFAULT_PHRASES
from .write import WriteStats, restore_interrupted, write_incremental, write_output

ENGINE_DIR = Path(__file__).parent


@dataclass
class BuildResult:
    site: Site
    pages: list[Page]
    stats: WriteStats | None
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None

    def summary(self) -> str:
        n = len(self.site.policies)
        html = sum(1 for p in self.pages if p.path.endswith(".html"))
        return (f"Built {n} {'policy' if n == 1 else 'policies'}, {html} pages in {self.seconds:.2f} s"
                + (f" → {self.out_dir}" if self.out_dir else ""))


def static_pages(cfg: Config) -> list[Page]:
    root = cfg.path_of("theme.static_dir")
    if not root.is_dir():
        return []
    return [Page("static/" + p.relative_to(root).as_posix(), p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]


def load_phase(config_path: Path, diag: Collector, drafts: bool, source_cache: dict | None = None,
               out_dir: Path | None = None) -> Site:
    cfg = load_config(config_path, diag)
    if not cfg.fatal:                  # a build killed mid-swap: the previous output comes back first
        restore_interrupted(Path(out_dir) if out_dir else cfg.path_of("build.output"))
    if cfg.fatal:
        diag.raise_if_errors()
    sources = load_sources(cfg, diag, source_cache)
    site = build_site(cfg, sources, diag, drafts)
    if diag.errors:                    # report the render stage's problems in the same run
        precheck(site, sources, {s.slug for s in sources} | {d[1] for d in discover(cfg, Collector())}, diag)
    diag.raise_if_errors()
    return site


def global_fingerprint(cfg: Config, drafts: bool) -> str:
    """Hash of everything every page depends on: engine code, config, templates, strings,
    phrase tables, build date. Any change to one of them re-renders every page."""
    h = hashlib.sha256(f"{__version__}|{drafts}|{cfg.today}".encode())
    files = sorted(ENGINE_DIR.glob("*.py")) + [DEFAULT_PHRASES, cfg.path, cfg.path_of("scripts.phrases")]
    for d in (cfg.path_of("theme.templates_dir"), cfg.path_of("theme.overrides_dir")):
        if d.is_dir():
            files += sorted(p for p in d.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def protected_paths(cfg: Config) -> list[Path]:
    return [cfg.root, cfg.path_of("content.policies_dir"), cfg.path_of("theme.templates_dir"),
            cfg.path_of("theme.static_dir")]


class Builder:
    """Builds a site again and again, reusing what did not change (used by `serve`).

    Sources are re-read only when their file changed; Markdown and conversions are
    reused by content hash; a policy's pages are re-rendered only when its files,
    the list of policies, or the global fingerprint changed.
    """

    def __init__(self, config_path: Path, out_dir: Path | None = None, drafts: bool = False,
                 incremental_write: bool = False):
        self.config_path, self.out_dir, self.drafts = Path(config_path), out_dir, drafts
        self.incremental_write = incremental_write
        self.source_cache: dict = {}
        self.render_cache = RenderCache()
        self.manifest: dict[str, str] = {}
        self.last_rendered = 0

    def build(self) -> BuildResult:
        start = time.perf_counter()
        diag = Collector()
        site = load_phase(self.config_path, diag, self.drafts, self.source_cache, self.out_dir)
        cfg = site.config
        before = dict(self.render_cache.pages)
        pages = render_site(site, plan_pages(site), diag, self.render_cache,
                            global_fingerprint(cfg, self.drafts)) + static_pages(cfg)
        diag.raise_if_errors()
        self.last_rendered = sum(1 for p in pages if p.path.endswith(".html")
                                 and before.get(p.path, (None, None))[1] is not p)
        out_dir = Path(self.out_dir) if self.out_dir else cfg.path_of("build.output")
        if self.incremental_write:
            stats, self.manifest = write_incremental(out_dir, pages, self.manifest, protected_paths(cfg))
        else:
            stats = write_output(out_dir, pages, protected_paths(cfg))
        return BuildResult(site, pages, stats, diag.warnings, time.perf_counter() - start, out_dir)


def render_phase(site: Site, diag: Collector) -> list[Page]:
    pages = render_site(site, plan_pages(site), diag) + static_pages(site.config)
    diag.raise_if_errors()
    return pages


def build(config_path: Path = Path("config.toml"), out_dir: Path | None = None, drafts: bool = False,
          write: bool = True) -> BuildResult:
    start = time.perf_counter()
    diag = Collector()
    site = load_phase(Path(config_path), diag, drafts, out_dir=out_dir)
    pages = render_phase(site, diag)
    cfg = site.config
    out_dir = Path(out_dir) if out_dir else cfg.path_of("build.output")
    stats = write_output(out_dir, pages, protected_paths(cfg)) if write else None
    return BuildResult(site, pages, stats, diag.warnings, time.perf_counter() - start, out_dir if write else None)


__all__ = ["build", "Builder", "BuildResult", "BuildError"]
