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

The build fingerprints each artifact by its declared dependency, renders only those whose
fingerprint changed, and publishes the rest as they are; so the dependency an output declares
is exactly what makes it stale. Adding an output is one module and one line in `REGISTRY`.
"""
from __future__ import annotations

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
    cancel: Any = None     # a threading.Event: set, a long output stops (raises Cancelled); see serve.py

    def check_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def page_url(self, kind, variant, slug=None, version=None) -> str | None:
        found = self.index.get((kind, variant, slug, version if kind in ("version", "changes") else None))
        return found.url if found else None


class Cancelled(Exception):
    """The build was called off (the preview server's deferred build, when a save comes)."""


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
