"""The build, as a short sequence of named phases: config → load → model → render → write.

Each phase is a function from the previous phase's output to its own; problems
are collected in one `Collector`, and the build stops after a phase that found
errors, so a webmaster sees every problem of that phase at once.

Incremental by default: `.cache/policysite/` under the site keeps the parsed
sources (by content hash), rendered documents (by content
hash) and the fingerprint of every page written. A page is rendered again only
when its fingerprint changed, and only changed files are written; `--no-cache`
ignores all of it. Pages are rendered in parallel (one process per core) when
there are many; each page is a pure function of its inputs, so the output is
the same byte for byte as a serial build's.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import os
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, script, stamp
from .config import THEME_STATIC, Config, load_config
from .errors import BuildError, Collector, Diagnostic
from .load import discover, load_sources
from .model import PageSpec, Site, build_site, plan_pages
from .render import (DocStore, Page, Renderer, fingerprints, plan_index_of, precheck, render_one, render_site,
                     render_site_files, site_files)
from .write import OutputWriter, WriteStats, _spawn_rmtree, check_target, restore_interrupted

ENGINE_DIR = Path(__file__).parent
CACHE_DIR = stamp.CACHE_DIR
PARALLEL_MIN_PAGES = 400      # below this, starting worker processes costs more than it saves


def engine_fingerprint() -> str:
    """The engine's own version: its code and data, the Python it runs on, and the installed
    versions of the libraries that shape the output (their files' size and time: an upgrade
    rewrites them)."""
    h = hashlib.sha256(f"{__version__}|{sys.version}|{stamp.library_versions()}".encode())
    for f in map(Path, stamp.engine_files()):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    for f in stamp.library_files():          # a patched file in place (a distribution's security update)
        st = os.stat(f)
        h.update(f"{f}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}".encode())
    return h.hexdigest()


OLD_CACHE_SECONDS = 3600


def engine_cache(cache_dir: Path, engine: str) -> Path:
    """The folder of rendered documents and compiled templates for this engine version. Those of
    other versions are of no use to this one (their keys include the engine), so once nothing has
    written to them for an hour (a preview server of another version may still be running) they
    are removed, in the background."""
    folder = cache_dir / f"engine-{engine[:16]}"
    if cache_dir.is_dir():
        now = time.time()
        for old in cache_dir.iterdir():
            if not old.is_dir() or old == folder:
                continue
            try:
                idle = now - old.stat().st_mtime > OLD_CACHE_SECONDS
            except OSError:
                continue
            if idle and (old.name.startswith("engine-") or old.name in ("docs", "jinja")):
                trash = cache_dir / f".trash-{os.getpid()}-{os.urandom(4).hex()}"
                try:
                    os.rename(old, trash)
                except OSError:
                    continue
                _spawn_rmtree(trash)
            elif old.name.startswith(".trash-"):
                _spawn_rmtree(old)                      # a removal that was cut short
    return folder


@dataclass
class State:
    """What one build hands to the next (kept in `.cache/policysite/state.pickle`)."""
    engine: str = ""
    sources: dict = field(default_factory=dict)     # load cache: path -> (stat, Source, diagnostics)
    manifest: dict = field(default_factory=dict)    # output path -> fingerprint of what it was built from
    marker: list | None = None                      # identity of the output folder's marker file
    out_dir: str = ""
    links: dict = field(default_factory=dict)       # source digest -> its policy: links
    meta: dict = field(default_factory=dict)        # metadata-only views for listings
    templates_ok: str = ""                          # fingerprint of the templates last found sound

    def __getstate__(self):
        # The listing views as plain tuples (Renderer.meta makes them DocViews again when used):
        # a named tuple unpickles through a Python call, and a large site has thousands.
        state = dict(self.__dict__)
        state["meta"] = {k: tuple(v) for k, v in self.meta.items()}
        return state


def _state_lock(folder: Path, kind: int) -> int | None:
    """A lock on the build state: shared to read it, exclusive to write it (a build reading
    waits for a save still running in the background)."""
    try:
        import fcntl
        fd = os.open(folder / "state.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, kind)
    except OSError:
        os.close(fd)
        return None
    return fd


def load_state(folder: Path, engine: str, freeze: bool = False) -> State:
    """The state the last build left, if it was made by this engine. `freeze` (for a process that
    ends with its build, such as the command line's) moves what was read out of the garbage
    collector's sight for good."""
    lock = _state_lock(folder, 1) if folder.is_dir() else None          # LOCK_SH
    collecting = gc.isenabled()
    gc.disable()            # a large site's state is ~10^6 objects, no cycles: nothing for a collection to find
    try:
        state = pickle.loads((folder / "state.pickle").read_bytes())
        if isinstance(state, State) and state.engine == engine:
            return state
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    finally:
        if lock is not None:
            os.close(lock)
        if collecting:
            if freeze:      # it lives as long as the process: later collections need not go through it
                gc.freeze()
            gc.enable()
    return State(engine=engine)


def save_state(folder: Path, state: State, background: bool = False) -> None:
    """Write the state for the next build (temporary file, then rename). With `background`,
    a forked process writes it while this one ends: the command returns ~0.1 s sooner on a
    large site; the next build waits for the lock if it comes first; a save that never
    finishes only costs the next build its shortcuts (the old state no longer matches the
    output's marker, so nothing stale can be used)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = _state_lock(folder, 2)                                          # LOCK_EX
    if background and lock is not None and hasattr(os, "fork"):
        script.settle()                                  # no thread may be mid-load across a fork
        if os.fork() == 0:                               # the child holds the lock until it has written
            try:
                os.setsid()                              # a Ctrl+C at the prompt does not cut it short
                # nor does it hold the command's output open: `build.py | tee log` (or a CI step
                # reading the output) ends when the build does, not when the save does
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                _write_state(folder, state)
            finally:
                os._exit(0)
        os.close(lock)
        return
    try:
        _write_state(folder, state)
    finally:
        if lock is not None:
            os.close(lock)


def _write_state(folder: Path, state: State) -> None:
    tmp = folder / f".state.{os.getpid()}.tmp"
    try:
        tmp.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, folder / "state.pickle")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class BuildResult:
    site: Site
    pages: list[str]                      # every output path of the site (in no particular order)
    stats: WriteStats | None
    warnings: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None
    rendered: int = 0                     # HTML pages rendered by this build (the rest were unchanged)
    timings: list[tuple[str, float]] = field(default_factory=list)     # (phase, seconds), for --timings

    @functools.cached_property
    def html_pages(self) -> int:
        return sum(1 for p in self.pages if p.endswith(".html"))

    def summary(self) -> str:
        n = len(self.site.policies)
        changed = "" if self.rendered == self.html_pages else f" ({self.rendered} rendered, the rest unchanged)"
        return (f"Built {n} {'policy' if n == 1 else 'policies'}, {self.html_pages} pages{changed} in "
                f"{self.seconds:.2f} s" + (f" → {self.out_dir}" if self.out_dir else ""))


def static_pages(cfg: Config) -> list[Page]:
    """The default theme's static files, each replaced by the site's file of the same name."""
    found: dict[str, Path] = {}
    for root in (THEME_STATIC, cfg.path_of("theme.static_dir")):
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    found["static/" + p.relative_to(root).as_posix()] = p
    return [Page(path, found[path].read_bytes()) for path in sorted(found)]


def load_config_phase(config_path: Path, diag: Collector, out_dir: Path | None = None) -> Config:
    cfg = load_config(config_path, diag)
    if not cfg.fatal:                  # a build killed mid-swap: the previous output comes back first
        restore_interrupted(Path(out_dir) if out_dir else cfg.path_of("build.output"))
    if cfg.fatal:
        diag.raise_if_errors()
    return cfg


def model_phase(cfg: Config, diag: Collector, drafts: bool, source_cache: dict | None = None) -> Site:
    sources = load_sources(cfg, diag, source_cache)
    site = build_site(cfg, sources, diag, drafts)
    if diag.errors:                    # report the render stage's problems in the same run
        precheck(site, sources, {s.slug for s in sources} | {d[1] for d in discover(cfg, Collector())}, diag)
    diag.raise_if_errors()
    return site


def load_phase(config_path: Path, diag: Collector, drafts: bool, source_cache: dict | None = None,
               out_dir: Path | None = None) -> Site:
    """Config, sources and model (for `check` and other tools that need no pages)."""
    return model_phase(load_config_phase(config_path, diag, out_dir), diag, drafts, source_cache)


def global_fingerprint(cfg: Config, drafts: bool, engine: str, templates: str) -> str:
    """Hash of everything every page depends on: engine code, config, templates and their
    strings (`templates`: Renderer.templates_fingerprint), phrase tables, build date. Any
    change to one of them re-renders every page."""
    h = hashlib.sha256(f"{engine}|{drafts}|{cfg.today}|{templates}".encode())
    for f in (cfg.path, cfg.path_of("scripts.phrases")):
        # relative to the site: `--config config.toml` and `--config /abs/site/config.toml` are one site
        h.update(os.path.relpath(Path(f).resolve(), cfg.root).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def protected_paths(cfg: Config) -> list[Path]:
    return [cfg.root, cfg.path_of("content.policies_dir"), cfg.path_of("theme.templates_dir"),
            cfg.path_of("theme.static_dir")]


# --- rendering, serial or in worker processes -----------------------------------------

_WORK: dict = {}                          # set before forking; read by workers


def _worker_init() -> None:
    """Workers die with the build: a killed build leaves no orphans behind (Linux)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _render_groups(slugs: list[str]) -> tuple[dict[str, int], list[Diagnostic], dict, dict]:
    """Render the pages of some policies into the stage (in a worker, or in-process)."""
    renderer, specs_by_slug, plan_index, writer = (_WORK[k] for k in ("renderer", "specs", "index", "writer"))
    in_worker = _WORK.get("parallel", False)
    local = Collector()
    renderer.out = local
    known_links, known_metas = set(renderer.links), set(renderer.metas)
    written: dict[str, int] = {}
    for slug in slugs:
        for spec in specs_by_slug[slug]:
            page = render_one(renderer, spec, plan_index)
            if page is None:
                return written, local.items, {}, {}
            writer.target(page.path).write_bytes(page.data)
            written[page.path] = len(page.data)
        if in_worker:                        # a policy's documents are not needed by the next one
            renderer.store.memory.clear()
    return (written, local.items, {k: v for k, v in renderer.links.items() if k not in known_links},
            {k: v for k, v in renderer.metas.items() if k not in known_metas})


def render_phase(renderer: Renderer, todo: list[PageSpec], plan_index: dict, writer: OutputWriter,
                 diag: Collector, jobs: int, checks=None) -> int:
    """Render the pages in `todo` into the writer's stage. Returns how many were rendered.

    `checks` runs once the policies' pages are rendered, before the site-wide ones: the link
    checks need each document's facts, which the workers found while rendering it (so the
    Markdown of a cold build is rendered in parallel, not once up front in this process)."""
    specs_by_slug: dict = {}
    for spec in todo:
        specs_by_slug.setdefault(spec.slug, []).append(spec)
    site_wide = specs_by_slug.pop(None, [])
    slugs = sorted(specs_by_slug)
    parallel = jobs > 1 and len(todo) >= PARALLEL_MIN_PAGES
    if parallel:
        import multiprocessing
        parallel = "fork" in multiprocessing.get_all_start_methods()
    _WORK.update(renderer=renderer, specs=specs_by_slug, index=plan_index, writer=writer, parallel=parallel)
    try:
        if parallel:
            script.settle()                              # the workers are forked: the load must be done
            chunks = [c for c in (slugs[i::jobs * 4] for i in range(jobs * 4)) if c]
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_worker_init) as pool:
                results = list(pool.map(_render_groups, chunks))
        else:
            results = [_render_groups(slugs)]
    finally:
        _WORK.clear()
        renderer.out = diag
    for written, items, links, metas in results:
        writer.note_written(written)
        diag.extend(items)
        renderer.links.update(links)
        renderer.metas.update(metas)
    if checks is not None:
        checks()
    diag.raise_if_errors()
    for spec in site_wide:
        page = render_one(renderer, spec, plan_index)
        if page is not None:
            writer.put(page.path, page.data)
    diag.raise_if_errors()
    return len(todo)


def build(config_path: Path = Path("config.toml"), out_dir: Path | None = None, drafts: bool = False,
          write: bool = True, use_cache: bool = True, jobs: int | None = None, state: State | None = None,
          incremental: bool | None = None, store: DocStore | None = None,
          inputs: tuple[int, str] | None = None, background_save: bool = False) -> BuildResult:
    """Build the site. `state` (kept in memory by `serve`) replaces the cache folder. `inputs`:
    the metadata of the inputs as `stamp.check` took it before this build began, if it did."""
    start = time.perf_counter()
    timings: list[tuple[str, float]] = []
    last = [start]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        timings.append((phase, now - last[0]))
        last[0] = now

    diag = Collector()
    cfg = load_config_phase(Path(config_path), diag, out_dir)
    script.preload(cfg["scripts.traditional"], cfg.path_of("scripts.phrases"))   # on another core, while the build reads and plans
    engine = engine_fingerprint()
    cache_dir = cfg.root / CACHE_DIR
    if state is None:
        # (background_save: the command line, whose process ends with the build)
        state = load_state(cache_dir, engine, freeze=background_save) if use_cache else State(engine=engine)
    persist = use_cache and write
    out_dir = Path(out_dir) if out_dir else cfg.path_of("build.output")
    started, taken = inputs or (0, None)
    if persist and taken is None:        # the metadata of every input, before any is read (see stamp.py)
        started = stamp.begin()
        try:
            taken, _ = stamp.inputs_of(cfg)
        except (stamp.Unsure, OSError):
            taken = None
    lap("config and cache state")

    # load and model
    stamps_before = {k: v[:2] for k, v in state.sources.items()}
    site = model_phase(cfg, diag, drafts, state.sources)
    lap("load and model")
    plan = plan_pages(site)

    if write:                            # refuse a wrong output folder before anything is written
        check_target(out_dir.resolve(), [p.resolve() for p in protected_paths(cfg)])

    # render: only what changed, into a stage beside the output
    if store is None:
        store = DocStore(engine_cache(cache_dir, engine) / "docs" if persist else None, engine)
    renderer = Renderer(site, diag, store, state)
    templates = renderer.templates_fingerprint()
    if state.templates_ok != templates:
        renderer.check_templates()
        diag.raise_if_errors()
        state.templates_ok = templates
    statics = static_pages(cfg)
    fps = fingerprints(site, plan, global_fingerprint(cfg, drafts, engine, templates))
    fps.update({p.path: hashlib.sha256(p.data).hexdigest() for p in statics})
    lap("plan, checks and fingerprints")
    if not write:                        # (render_site checks links itself)
        pages = render_site(site, plan, diag, store) + statics
        diag.raise_if_errors()
        return BuildResult(site, [p.path for p in pages], None, diag.warnings, time.perf_counter() - start,
                           None, sum(1 for p in pages if p.path.endswith(".html")))
    same_place = state.out_dir == str(Path(out_dir).resolve())
    writer = OutputWriter(out_dir, protected_paths(cfg), state.manifest if same_place else None,
                          state.marker if same_place else None, incremental)
    try:
        todo = [spec for spec in plan if not writer.reusable(spec.out_path, fps[spec.out_path])]
        plan_index = plan_index_of(plan)
        rendered = render_phase(renderer, todo, plan_index, writer, diag, jobs or os.cpu_count() or 1,
                                checks=lambda: (renderer.check_links(), renderer.report_removed_html()))
        lap(f"render {rendered} pages")
        if any(not writer.reusable(path, fps[path]) for path in site_files(site, plan)):
            for page in render_site_files(renderer, plan, plan_index):
                writer.put(page.path, page.data)
        for page in statics:
            if not writer.reusable(page.path, fps[page.path]):
                writer.put(page.path, page.data)
    except BaseException:
        writer.abort()
        raise
    lap("site-wide files")
    stats, marker = writer.commit(fps)
    lap("write")
    unchanged = (state.manifest == fps and state.marker == marker and not writer.written
                 and stamps_before == {k: v[:2] for k, v in state.sources.items()})
    state.manifest, state.marker, state.out_dir = fps, marker, str(writer.out_dir)
    state.links = {k: v for k, v in state.links.items() if k in renderer.used_facts}
    if len(state.meta) > 8 * sum(len(p.versions) for p in site.policies) + 64:
        state.meta.clear()                              # entries of versions long gone: start afresh
    if persist and not unchanged:
        save_state(cache_dir, state, background_save)
    result = BuildResult(site, list(fps), stats, diag.warnings, 0.0, writer.out_dir, rendered=len(todo),
                         timings=timings)
    if persist and taken:
        stamp.record(cfg, writer.out_dir, drafts, cache_dir, started, taken,
                     {"policies": len(site.policies), "pages": result.html_pages,
                      "warnings": [w.format() for w in diag.warnings]})
    lap("save cache state")
    result.seconds = time.perf_counter() - start
    return result


class Builder:
    """Builds a site again and again, keeping the cache in memory (used by `serve`)."""

    def __init__(self, config_path: Path, out_dir: Path | None = None, drafts: bool = False,
                 incremental_write: bool = True):
        self.config_path, self.out_dir, self.drafts = Path(config_path), out_dir, drafts
        self.incremental = True if incremental_write else None
        self.state = State(engine=engine_fingerprint())
        # rendered documents are shared with `build.py` through the cache folder (content-keyed, so safe)
        self.store = DocStore(engine_cache(self.config_path.resolve().parent / CACHE_DIR, self.state.engine) / "docs",
                              self.state.engine)
        self.last_rendered = 0

    def build(self) -> BuildResult:
        result = build(self.config_path, self.out_dir, self.drafts, use_cache=False, state=self.state,
                       incremental=self.incremental, store=self.store)
        self.last_rendered = result.rendered
        return result


__all__ = ["build", "Builder", "BuildResult", "BuildError"]
