"""Stage 4, outputs: what the published folder is made of, one module per kind of output.

Each output says three things (the `Output` protocol):

- `specs(plan)`: the artifacts it makes from the page plan (each has an `out_path`);
- `depends(spec)`: what that artifact is made from, besides what every artifact depends on
  (the engine, config, templates, UI strings, phrase tables and the build date):
  `GLOBAL` nothing more, `LISTING` every version's metadata (titles, issuers, summaries, dates,
  states, locales), `BODIES` every document's content, `policy(slug)` one policy's documents
  (and the list of policies, for the links between them), `group(name, slugs)` those policies'
  documents, versions, states and locales only (a shard of the search index), `content(digest)`
  bytes of its own;
- `render(spec, ctx)`: the `Artifact` (path, media type, bytes; and, for a bundle whose file
  names are only known once it is made, such as the search index, the further `files` made with
  it, inside its folder: published, fingerprinted and removed together with it). An output whose
  artifacts are best made together (the search index's shards: several Pagefind runs at once)
  may have `render_all(specs, ctx, jobs)`, which returns (or yields) them all.

A site-wide artifact made from a piece of each of its policies (the search index: each
policy's pages for Pagefind) may say so with `pieces(spec)`, the slugs of those policies, and
`piece(spec, slug, ctx)`, that policy's piece as (relative path, bytes) pairs. The build then
makes the pieces in the per-policy stage, by the worker that rendered the policy's pages and
holds its documents, into the folder `ctx.pieces[spec.out_path]`, which `render_all` reads.
(Measured at 1,000 policies, 2 cores: the cold build took 119 s when the main process made the
records afterwards, rendering every indexed document again, and 86 s so; output identical.)

The build fingerprints each artifact by its declared dependency, renders only those whose
fingerprint changed, and publishes the rest as they are; so the dependency an output declares
is exactly what makes it stale. An output may also `refine(ctx, fps, previous, deps, deferred)`
the decision once the fingerprints are known: keep some stale artifacts as published (their
fingerprint set to the previous one) and add specs of its own, remembering in `ctx.after`
what it published for the next build's `ctx.before` (the search index, search.py: an edit
goes into a small bundle of recent edits instead of remaking its policy's shard). Adding an output is one module and one line in `REGISTRY`.
"""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Protocol

GLOBAL = ("global",)
LISTING = ("listing",)
BODIES = ("bodies",)


def policy(slug: str) -> tuple:
    return ("policy", slug)


def content(digest: str) -> tuple:
    return ("content", digest)


def group(name: str, slugs) -> tuple:
    return ("group", name, *slugs)


@dataclass(frozen=True)
class Artifact:
    path: str              # relative to the output folder, "/"-separated
    media_type: str
    data: bytes
    # A bundle: more (path, bytes) made with this one, each inside this one's folder. They take
    # its fingerprint, are kept while it is, and replaced or removed with it (search.py).
    files: tuple = ()


class FileSpec(NamedTuple):
    """An artifact that is not an HTML page: one file of a site-wide output."""
    out_path: str
    output: str            # the output's name
    key: Any = None        # what the output needs to make it (a locale, a source file …)


@dataclass
class Context:
    """What outputs read while making artifacts: the site model, the page plan and its index,
    and the content layer (document views, templates, strings)."""
    site: Any              # model.Site
    plan: list             # [plan.PageSpec]
    index: dict            # page_key -> PageSpec
    content: Any = None    # render.Renderer; None while only specs are asked for
    out: Any = None        # errors.Collector, for problems found while making specs
    specs: list = field(default_factory=list)   # [(output, [spec])], once every output was asked
    bundles: dict = field(default_factory=dict)  # out_path -> [member paths] of bundles made this build
    memo: dict = field(default_factory=dict)     # what an output worked out once for this build
    pieces: dict = field(default_factory=dict)   # out_path -> folder of its policies' pieces (see above)
    before: dict = field(default_factory=dict)   # output name -> what it remembered of what is published
    after: dict = field(default_factory=dict)    # output name -> what it remembers of what this build publishes
    cancel: Any = None     # a threading.Event: set, a long output stops (raises Cancelled); see serve.py

    def check_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def page_url(self, kind, variant, slug=None, version=None) -> str | None:
        found = self.index.get((kind, variant, slug, version if kind in ("version", "changes") else None))
        return found.url if found else None


class Cancelled(Exception):
    """The build was called off (the preview server's deferred build, when a save comes)."""


_CLEANUPS: list[threading.Thread] = []


def remove_later(folder, after=()) -> None:
    """Remove a temporary folder in a thread of its own, once the futures `after` (runs still
    writing into it or reading it) are done: a called-off build lets go at once (removing the
    search index's 115 MB of records took 0.1–0.4 s of a save's wait in serve)."""
    def remove():
        for future in after:
            try:
                future.result()
            except BaseException:                 # noqa: BLE001 - only the folder matters here
                pass
        shutil.rmtree(folder, ignore_errors=True)
    thread = threading.Thread(target=remove, name="build-cleanup", daemon=False)
    _CLEANUPS[:] = [t for t in _CLEANUPS if t.is_alive()]
    _CLEANUPS.append(thread)
    thread.start()


def wait_for_cleanup() -> None:
    """Wait until the folders of called-off builds are removed (the preview server, before it
    ends the process with os._exit, after which no thread runs)."""
    while _CLEANUPS:
        _CLEANUPS.pop().join()


class Output(Protocol):
    name: str
    parallel: bool         # rendered per policy in worker processes (HTML pages)

    def specs(self, ctx: Context) -> Iterable: ...
    def depends(self, spec) -> tuple: ...
    def render(self, spec, ctx: Context) -> Artifact | None: ...


def registry() -> list[Output]:
    """The outputs of a build, in the order they are made (pages first: the link checks run
    on what rendering them found, before any site-wide file is made)."""
    return list(REGISTRY)


from . import feeds, pages, search, site_files, static  # noqa: E402  (they use the names above)

REGISTRY: list[Output] = [pages.PAGES, feeds.FEEDS, site_files.SITEMAP, site_files.ROBOTS, site_files.INDEX,
                          static.STATIC, search.SEARCH]
