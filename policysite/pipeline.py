"""The build, as a short sequence of stages, each with one type at its boundary:

    config.toml → Config → [Source] → Site → [PageSpec] → [Artifact] → published folder
      config.py   load.py   model.py   plan.py   outputs/      write.py

`run(request, state)` sequences them and returns the result and the new build state; nothing
else here does work of its own. Problems are collected in one `Collector`; the build stops
after a stage that found errors, so a webmaster sees every problem of that stage at once.

Incremental by default: `.cache/policysite/` under the site keeps the parsed sources (by
content hash), rendered documents (by content hash) and the fingerprint of every artifact
published. An artifact is made again only when the fingerprint of what its output declares
it depends on changed (incremental.py), and only changed files are written; `--no-cache`
ignores all of it. Pages are rendered in parallel (one process per core) when there are
many; each is a pure function of its inputs, so the output is the same byte for byte as a
serial build's.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import __version__, incremental, outputs, script, stamp
from .config import Config, load_config
from .errors import BuildError, Collector, Diagnostic
from .load import discover, load_sources
from .model import Site, build_site
from .plan import check_paths, plan_of
from .scaffold import misplaced_overrides
from .render import DocStore, Renderer, precheck
from .write import (BuildLock, OutputWriter, WriteStats, _spawn_rmtree, check_target, restore_interrupted,
                    write_problem)

ENGINE_DIR = Path(__file__).parent
CACHE_DIR = stamp.CACHE_DIR
PARALLEL_MIN_PAGES = 400      # below this, starting worker processes costs more than it saves


def engine_fingerprint() -> str:
    """The engine's own version: its code and data, the Python it runs on, and the installed
    versions of the libraries that shape the output (their files' size and time: an upgrade
    rewrites them)."""
    h = hashlib.sha256(f"{__version__}|{sys.version}|{stamp.library_versions()}".encode())
    for f in map(Path, stamp.engine_files()):
        h.update(f.relative_to(ENGINE_DIR).as_posix().encode())
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
    """What one build hands to the next (kept in `.cache/policysite/state.pickle`). A build takes
    one and returns a new one; the stages read the old one and never change it."""
    engine: str = ""
    sources: dict = field(default_factory=dict)     # load cache: path -> (stat, trusted, digest, Source, diagnostics)
    manifest: dict = field(default_factory=dict)    # output path -> fingerprint of what it was built from
    marker: list | None = None                      # identity of the output folder's marker file
    out_dir: str = ""
    links: dict = field(default_factory=dict)       # source digest -> its policy: links, ids, removed HTML
    meta: dict = field(default_factory=dict)        # metadata-only views for listings
    templates_ok: str = ""                          # fingerprint of the templates last found sound
    outputs: dict = field(default_factory=dict)     # output name -> what it remembers of what it published (refine)
    saved: bool = True                              # in the cache folder (not: Builder.save writes it)

    def __getstate__(self):
        # The listing views as plain tuples (Renderer.meta makes them DocViews again when used):
        # a named tuple unpickles through a Python call, and a large site has thousands.
        state = dict(self.__dict__)
        state["meta"] = {k: tuple(v) for k, v in self.meta.items()}
        state.pop("saved", None)
        return state


def _state_lock(folder: Path, kind: int) -> int | None:
    """A lock on the build state: shared to read it, exclusive to write it."""
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
    collector's sight for good (24 ms of collections down to 3 ms at 1,000 policies)."""
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


def save_state(folder: Path, state: State) -> None:
    """Write the state for the next build: a temporary file, then one rename, under the lock.
    (An earlier version saved it in a forked process; that gained 25–60 ms at 1,000 policies,
    not enough to keep a fork in the build.)"""
    folder.mkdir(parents=True, exist_ok=True)
    lock = _state_lock(folder, 2)                                          # LOCK_EX
    tmp = folder / f".state.{os.getpid()}.tmp"
    try:
        tmp.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, folder / "state.pickle")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)


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
    written: list[str] = field(default_factory=list)   # output paths this build wrote (issue 19: serve reloads only those pages)
    deferred: int = 0                     # artifacts left for a later build (BuildRequest.defer)

    @functools.cached_property
    def html_pages(self) -> int:
        return sum(1 for p in self.pages if p.endswith(".html"))

    def summary(self) -> str:
        n = len(self.site.policies)
        changed = "" if self.rendered == self.html_pages else f" ({self.rendered} rendered, the rest unchanged)"
        return (f"Built {n} {'policy' if n == 1 else 'policies'}, {self.html_pages} pages{changed} in "
                f"{self.seconds:.2f} s" + (f" → {self.out_dir}" if self.out_dir else ""))


@dataclass(frozen=True)
class BuildRequest:
    """What the command line (or the preview server) asks of one build."""
    config_path: Path = Path("config.toml")
    out_dir: Path | None = None           # default: [build] output
    drafts: bool = False
    use_cache: bool = True                # read and write .cache/policysite/
    jobs: int | None = None               # worker processes (default: one per core)
    incremental: bool | None = None       # publish changed files in place (None: when few changed)
    inputs: tuple | None = None           # (started, metadata of every input) as the stamp took it
    freeze: bool = False                  # the process ends with the build (the command line)
    say: object = None                    # prints a notice (a build waiting for another), or None
    durable: bool = True                  # issue 19: False (the preview server): publish without fsync
    # Outputs (by name) whose stale artifacts this build leaves as they are, for a build right
    # after it: the preview server publishes the pages first and the search index a moment later.
    defer: tuple = ()
    cancel: object = None                 # a threading.Event: set, the build stops (outputs.Cancelled)
    # issue 19: a list, and the build appends what is left once the output is published (saving
    # the state and the stamp) instead of doing it, for the resident builder to do once its
    # client has its answer. The output's marker changes with every build, so a state saved
    # late, or never (the process killed), only makes the next build check more.
    finish: list | None = None


# --- stages ------------------------------------------------------------------------

def load_config_phase(config_path: Path, diag: Collector, out_dir: Path | None = None) -> Config:
    cfg = load_config(config_path, diag)
    if not cfg.fatal:                  # a build killed mid-swap: the previous output comes back first
        restore_interrupted(Path(out_dir) if out_dir else cfg.path_of("build.output"))
        misplaced_overrides(cfg, diag)     # issue 15: overrides/contact.html meant for partials/contact.html
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


def plan_phase(site: Site, diag: Collector, checked: dict | None = None) -> outputs.Context:
    """The page plan, every output's specs, and the check that no two land on one path.
    `checked`: the paths of the last build that succeeded; the same paths need no check again
    (at 1,000 policies the check is ~30 ms of a 0.3 s edit)."""
    plan, index = plan_of(site)
    ctx = outputs.Context(site, plan, index, out=diag)
    # (a list an output gives is kept as it is: the pages' is the plan itself, which
    # incremental.fingerprints knows again from the last build)
    ctx.specs = [(output, items if isinstance(items := output.specs(ctx), list) else list(items))
                 for output in outputs.registry()]
    made = [(spec.out_path, spec if output.parallel else output.name) for output, items in ctx.specs for spec in items]
    if not checked or len(made) > len(checked) or any(path not in checked for path, _ in made):
        check_paths(site, made, diag)
    diag.raise_if_errors()
    return ctx


def input_paths(cfg: Config) -> list[Path]:
    return [cfg.path_of("content.policies_dir"), cfg.path_of("theme.templates_dir"),
            cfg.path_of("theme.overrides_dir"), cfg.path_of("theme.static_dir")]


def protected_paths(cfg: Config) -> list[Path]:
    return [cfg.root, *input_paths(cfg)]


# --- making artifacts, serially or in worker processes -------------------------------

# The render stage's inputs, set before the workers are forked, which inherit them (sending a
# site's renderer and plan to each worker by pickling would cost more than rendering a small
# site); each worker writes its artifacts into the publish step's stage folder itself, so that
# 15,885 pages at 1,000 policies are not sent back through a pipe (about 0.5 GB).
_WORK: dict = {}


def _worker_init() -> None:
    """Workers die with the build: a killed build leaves no orphans behind (Linux)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _render_groups(slugs: list[str]) -> tuple[dict[str, int], list[Diagnostic], dict, dict]:
    """Make the artifacts of some policies into the stage, and their pieces of site-wide
    artifacts into those artifacts' folders (in a worker, or in-process)."""
    ctx, by_slug, writer, pieces = _WORK["ctx"], _WORK["specs"], _WORK["writer"], _WORK["pieces"]
    in_worker = _WORK.get("parallel", False)
    renderer = ctx.content
    local = Collector()
    renderer.out = local
    known_links, known_metas = set(renderer.links), set(renderer.metas)
    written: dict[str, int] = {}
    left = _WORK.get("left", {})
    for slug in slugs:
        ctx.check_cancelled()                # (the preview server's deferred build, in-process)
        for output, spec in pieces.get(slug, ()):        # first: an artifact whose pieces are all
            folder = Path(ctx.pieces[spec.out_path])     # written may be begun at once (below)
            for rel, data in output.piece(spec, slug, ctx):
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            if spec.out_path in left:
                left[spec.out_path] -= 1
                if not left[spec.out_path] and hasattr(output, "begin"):
                    output.begin(spec, ctx)
        for output, spec in by_slug.get(slug, ()):
            artifact = output.render(spec, ctx)
            if artifact is None:
                return written, local.items, {}, {}
            writer.target(artifact.path).write_bytes(artifact.data)
            written[artifact.path] = len(artifact.data)
        if in_worker:                        # a policy's documents are not needed by the next one
            renderer.store.memory.clear()
    return (written, local.items, {k: v for k, v in renderer.links.items() if k not in known_links},
            {k: v for k, v in renderer.metas.items() if k not in known_metas})


def render_phase(ctx: outputs.Context, todo: list[tuple], writer: OutputWriter, diag: Collector, jobs: int,
                 checks=None) -> int:
    """Make the artifacts in `todo` ((output, spec) pairs) into the writer's stage. Returns how
    many HTML pages were rendered.

    The per-policy artifacts of parallel outputs (the policies' pages) come first, in worker
    processes when there are many, each policy's pieces of site-wide artifacts with them
    (outputs/__init__.py); then `checks` (the link checks need each document's facts, which
    rendering found, so a cold build renders Markdown in parallel, not once up front); then the
    site-wide artifacts, in registry order."""
    renderer = ctx.content
    by_slug: dict = {}
    site_wide = []
    pieces: dict = {}
    for output, spec in todo:
        slug = getattr(spec, "slug", None)
        if output.parallel and slug is not None:
            by_slug.setdefault(slug, []).append((output, spec))
        else:
            site_wide.append((output, spec))
            for each in (output.pieces(spec) if hasattr(output, "pieces") else ()):
                pieces.setdefault(each, []).append((output, spec))
    root = None
    if pieces:
        import tempfile
        root = Path(tempfile.mkdtemp(prefix="policysite-pieces-"))
        for n, (output, spec) in enumerate(pair for pair in site_wide if hasattr(pair[0], "pieces")):
            ctx.pieces[spec.out_path] = str(root / str(n))
    slugs = sorted(set(by_slug) | set(pieces))
    count = sum(len(v) for v in by_slug.values())
    parallel = jobs > 1 and count >= PARALLEL_MIN_PAGES
    if parallel:
        import multiprocessing
        parallel = "fork" in multiprocessing.get_all_start_methods()
    _WORK.update(ctx=ctx, specs=by_slug, writer=writer, parallel=parallel, pieces=pieces)
    if not parallel:                 # pieces made here: the slugs with pieces first, each artifact
        # begun (an output's `begin`: Pagefind started) once its last piece is written, so that
        # it runs while the pages are rendered (a one-policy edit at 1,000 policies: its recent
        # bundle's Pagefind run, 0.35 s, beside the pages' 0.2 s)
        slugs.sort(key=lambda slug: slug not in pieces)
        left = {}
        for slug in slugs:
            for output, spec in pieces.get(slug, ()):
                left[spec.out_path] = left.get(spec.out_path, 0) + 1
        _WORK["left"] = left
    try:
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
        for output, specs in _by_output(site_wide):
            if hasattr(output, "render_all"):
                artifacts = output.render_all(specs, ctx, jobs)
            else:
                artifacts = [a for a in map(lambda spec: output.render(spec, ctx), specs) if a is not None]
            try:
                for artifact in artifacts:
                    writer.put(artifact.path, artifact.data)
                    if artifact.files:                           # a bundle (issue 17: the search index)
                        folder = artifact.path.rsplit("/", 1)[0] + "/"
                        for path, data in artifact.files:
                            assert path.startswith(folder), f"{output.name}: {path} is outside {folder}"
                            writer.put(path, data)
                        ctx.bundles[artifact.path] = [path for path, _ in artifact.files]
            finally:
                if hasattr(artifacts, "close"):              # a generator left early: its runs and folders go
                    artifacts.close()
        diag.raise_if_errors()
    except BaseException as e:
        for output in {id(o): o for o, _ in site_wide if hasattr(o, "abandon")}.values():
            output.abandon(ctx)              # work begun for artifacts that will not be made
        if root is not None and isinstance(e, outputs.Cancelled):
            outputs.remove_later(root)       # let go at once (serve: a save came)
            root = None
        raise
    finally:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
    return sum(1 for output, spec in todo if spec.out_path.endswith(".html"))


def _by_output(pairs: list[tuple]) -> list[tuple]:
    """(output, spec) pairs as (output, [spec]), the outputs in their first order."""
    grouped: dict = {}
    for output, spec in pairs:
        grouped.setdefault(id(output), (output, []))[1].append(spec)
    return list(grouped.values())


# --- the build -----------------------------------------------------------------------

def run(request: BuildRequest, state: State | None = None,
        store: DocStore | None = None) -> tuple[BuildResult, State]:
    """One build: config → sources → site → plan → artifacts → published folder. Takes the
    previous build's state (None: read it from the cache folder, or start afresh without the
    cache) and returns the result and the state for the next build. `store`: rendered documents
    kept in memory by a process that builds again and again (the preview server)."""
    start = time.perf_counter()
    timings: list[tuple[str, float]] = []
    last = [start]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        timings.append((phase, now - last[0]))
        last[0] = now

    diag = Collector()
    cfg = load_config_phase(Path(request.config_path), diag, request.out_dir)
    script.preload(cfg["scripts.traditional"], cfg.path_of("scripts.phrases"))   # on another core, while the build reads and plans
    engine = engine_fingerprint()
    cache_dir = cfg.root / CACHE_DIR
    use_cache = request.use_cache
    if state is None or state.engine != engine:
        state = load_state(cache_dir, engine, freeze=request.freeze) if use_cache else State(engine=engine)
    out_dir = Path(request.out_dir) if request.out_dir else cfg.path_of("build.output")
    started, taken = request.inputs or (0, None)
    if use_cache and taken is None and not request.defer:   # the metadata of every input, before any is read
        # (see stamp.py; a build that defers work records no stamp, so it need not take one)
        started = stamp.begin()
        try:
            taken, _ = stamp.inputs_of(cfg)
        except (stamp.Unsure, OSError):
            taken = None
    lap("config and cache state")

    # sources and model (the load cache is this build's own copy: the old state stays as it was)
    sources = dict(state.sources)
    site = model_phase(cfg, diag, request.drafts, sources)
    lap("load and model")
    ctx = plan_phase(site, diag, state.manifest)
    ctx.cancel = request.cancel
    check_target(out_dir.resolve(), [p.resolve() for p in protected_paths(cfg)], input_paths(cfg))

    # what changed: fingerprints of every artifact's declared dependencies
    if store is None or store.salt != engine:
        store = DocStore(engine_cache(cache_dir, engine) / "docs" if use_cache else None, engine)
    renderer = ctx.content = Renderer(site, diag, store, links=dict(state.links), metas=dict(state.meta))
    templates = renderer.templates_fingerprint()
    templates_ok = state.templates_ok
    if templates_ok != templates:
        renderer.check_templates()
        diag.raise_if_errors()
        templates_ok = templates
    diag.raise_if_errors()                    # (the template folders' links, strings, phrase tables)
    deps = incremental.Dependencies(site, incremental.global_fingerprint(cfg, request.drafts, engine, templates))
    fps = incremental.fingerprints(deps, ctx.specs)
    lap("plan, checks and fingerprints")

    same_place = state.out_dir == str(out_dir.resolve())
    with BuildLock(out_dir.resolve(), request.say):
        try:
            writer = OutputWriter(out_dir, protected_paths(cfg), state.manifest if same_place else None,
                                  state.marker if same_place else None, request.incremental)
        except OSError as e:
            raise write_problem(e, out_dir) from None
        writer.durable = request.durable
        try:
            # an output may keep some of its stale artifacts as published and make a small one
            # beside them instead (the search index's shards and its bundle of recent edits)
            ctx.before = state.outputs if same_place and writer.previous else {}
            for output in outputs.registry():
                if hasattr(output, "refine"):
                    output.refine(ctx, fps, writer.previous, deps, output.name in request.defer)
            todo = [(output, spec) for output, items in ctx.specs for spec in items
                    if not writer.reusable(spec.out_path, fps[spec.out_path])]
            later = [spec.out_path for output, spec in todo if output.name in request.defer]
            if later:
                todo = [(output, spec) for output, spec in todo if output.name not in request.defer]
                for path in later:           # kept as published (and so stale for the next build), or not yet there
                    if path in writer.previous:
                        fps[path] = writer.previous[path]
                    else:
                        del fps[path]
            rendered = render_phase(ctx, todo, writer, diag, request.jobs or os.cpu_count() or 1,
                                    checks=lambda: (renderer.check_links(), renderer.report_removed_html()))
            fps.update(incremental.bundle_members(fps, ctx.bundles, writer.previous))   # a bundle's files
            lap(f"render {rendered} pages")
        except OSError as e:
            writer.abort()
            raise write_problem(e, out_dir) from None
        except BaseException:
            writer.abort()
            raise
        try:
            stats, marker = writer.commit(fps)
        except OSError as e:
            raise write_problem(e, out_dir) from None
    lap("write")
    new_state = State(engine=engine, sources=sources, manifest=fps, marker=marker, out_dir=str(writer.out_dir),
                      links={k: v for k, v in renderer.links.items() if k in renderer.used_facts},
                      meta=renderer.metas, templates_ok=templates_ok, outputs=dict(ctx.after))
    if len(new_state.meta) > 8 * sum(len(p.versions) for p in site.policies) + 64:
        new_state.meta = {}                             # entries of versions long gone: start afresh
    unchanged = (state.manifest == fps and state.marker == marker and not writer.written
                 and {k: v[:2] for k, v in state.sources.items()} == {k: v[:2] for k, v in sources.items()})
    # A build that left work for later (serve's pages before its search index) does not save its
    # state: the later build saves it, or the server as it stops (Builder.save). At 1,000 policies
    # that is 40 ms of pickling off the way from a save to the page (issue 19).
    to_save = use_cache and (not unchanged or not state.saved)
    new_state.saved = not to_save
    result = BuildResult(site, list(fps), stats, diag.warnings, 0.0, writer.out_dir, rendered=rendered,
                         timings=timings, written=list(writer.written), deferred=len(later))

    def finish() -> None:
        if to_save and not later:
            save_state(cache_dir, new_state)
            new_state.saved = True
        if use_cache and taken and not later:    # (a build that left work for later is not up to date)
            # under the build lock, and only while the output is the one this build published: a
            # build that ran in between (the resident builder saves this after its client has its
            # answer) must not be taken for this one
            with BuildLock(writer.out_dir.resolve(), None):
                if stamp.marker_id(writer.out_dir) == marker:
                    stamp.record(cfg, writer.out_dir, request.drafts, cache_dir, started, taken,
                                 {"policies": len(site.policies), "pages": result.html_pages,
                                  "warnings": [w.format() for w in diag.warnings]})
        lap("save cache state")

    if request.finish is None:
        finish()
    else:
        request.finish.append(finish)
    result.seconds = time.perf_counter() - start
    return result, new_state


def build(config_path: Path = Path("config.toml"), out_dir: Path | None = None, drafts: bool = False,
          use_cache: bool = True, jobs: int | None = None, incremental: bool | None = None,
          inputs: tuple | None = None, freeze: bool = False) -> BuildResult:
    """Build the site once (the command line, and tests): `run` with the state in the cache folder."""
    return run(BuildRequest(Path(config_path), Path(out_dir) if out_dir else None, drafts, use_cache, jobs,
                            incremental, inputs, freeze, say=lambda text: print(text, file=sys.stderr)))[0]


class Builder:
    """Builds a site again and again with the state in memory (the preview server): the same
    `run` as the command line, cache folder included, without reading the state back each time."""

    def __init__(self, config_path: Path, out_dir: Path | None = None, drafts: bool = False,
                 incremental_write: bool = True):
        self.request = BuildRequest(Path(config_path), Path(out_dir) if out_dir else None, drafts,
                                    incremental=True if incremental_write else None,
                                    durable=False)           # issue 19: a preview needs no fsync
        self.config_path, self.out_dir, self.drafts = self.request.config_path, out_dir, drafts
        self.state: State | None = None
        engine = engine_fingerprint()        # rendered documents stay in memory between rebuilds
        self.cache_dir = self.config_path.resolve().parent / CACHE_DIR
        self.store = DocStore(engine_cache(self.cache_dir, engine) / "docs", engine)
        self.last_rendered = 0

    def build(self, defer: tuple = (), cancel=None) -> BuildResult:
        result, self.state = run(replace(self.request, defer=defer, cancel=cancel), self.state, self.store)
        self.last_rendered = result.rendered
        return result

    def save(self) -> None:
        """Save the state of the last build if it did not (one that deferred work): the server
        stopping before the later build ran."""
        if self.state is not None and not self.state.saved:
            save_state(self.cache_dir, self.state)
            self.state.saved = True


__all__ = ["build", "run", "Builder", "BuildRequest", "BuildResult", "BuildError", "State"]
