"""The build, as a short sequence of named phases: config → load → model → render → write.

Each phase is a function from the previous phase's output to its own; problems
are collected in one `Collector`, and the build stops after a phase that found
errors, so a webmaster sees every problem of that phase at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, load_config
from .errors import BuildError, Collector, Diagnostic
from .load import load_sources
from .model import Site, build_site, plan_pages
from .render import Page, render_site
from .write import WriteStats, write_output


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


def load_phase(config_path: Path, diag: Collector, drafts: bool) -> Site:
    cfg = load_config(config_path, diag)
    diag.raise_if_errors()
    sources = load_sources(cfg, diag)
    site = build_site(cfg, sources, diag, drafts)
    diag.raise_if_errors()
    return site


def render_phase(site: Site, diag: Collector) -> list[Page]:
    pages = render_site(site, plan_pages(site), diag) + static_pages(site.config)
    diag.raise_if_errors()
    return pages


def build(config_path: Path = Path("config.toml"), out_dir: Path | None = None, drafts: bool = False,
          write: bool = True) -> BuildResult:
    start = time.perf_counter()
    diag = Collector()
    site = load_phase(Path(config_path), diag, drafts)
    pages = render_phase(site, diag)
    cfg = site.config
    out_dir = Path(out_dir) if out_dir else cfg.path_of("build.output")
    stats = None
    if write:
        protected = [cfg.root, cfg.path_of("content.policies_dir"), cfg.path_of("theme.templates_dir"),
                     cfg.path_of("theme.static_dir")]
        stats = write_output(out_dir, pages, protected)
    return BuildResult(site, pages, stats, diag.warnings, time.perf_counter() - start, out_dir if write else None)


__all__ = ["build", "BuildResult", "BuildError"]
