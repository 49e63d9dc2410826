"""The search index: a Pagefind bundle under `search/pagefind/`, read by `search/` in every variant.

Pagefind (PyPI `pagefind[extended]`, the binary with Chinese word segmentation, installed with
the engine: nothing is downloaded at build time) is run by the build on pages written for it,
one per version (the Chinese locales together, any other locale apart), into a temporary
folder; the bundle it makes is published as one artifact (`Artifact.files`: its file names hash
their content, so they are known only once made).

- **What it holds**: the version each policy's page shows (current, or repealed, or the first
  upcoming one) and every upcoming version; superseded ones (and drafts in a draft build) only
  with `[search] versions = "all"`. Each record carries its state, marked in the results.
- **Either script finds both, in one index**: the Chinese locales' records go into one index
  (Pagefind keeps one per `<html lang>`; theirs is "zh", which pagefind.js reads for "zh-hans"
  and "zh-hant" pages alike, `index_lang`), one record per version holding every Chinese
  locale's text: the first locale's, and section by section each other's where it differs (as
  OpenCC made it for that page, or as written by hand). So a query typed in Simplified on a
  Traditional page finds the Traditional page; the query itself is never converted (a
  conversion table in the browser could not know the phrase-level choices OpenCC made, such
  as 头发 → 頭髮). The snippet shows the text that matched: for a section that matched in both
  scripts, the reader's (search.js); for such a query otherwise, the other script's. Until
  2026-12-04 each locale had an index of its own holding the other script's text too: the same
  answers, but Pagefind read every text twice. At 1,000 policies that cost it 44 s of the
  cold build's 80 s of CPU (bench/README.md).
- **The reader's own script and mode**: records name their page relative to the locale's
  prefix (`meta.path`: "privacy/", "privacy/2.0/"); the search page links to `../` + path, so
  the 长者版 search page leads to 长者版 pages and /zh-hant/ to /zh-hant/.
- **Byte-identical**: Pagefind writes `pagefind-entry.json` with its languages in hash order;
  it is rewritten with sorted keys (the other files are the same from run to run; see
  tests/test_search.py). Its UI bundles are left out: the site's own search.js uses its API.
- **Incremental, in shards**: the index is cut into shards by policy (below), each depending on
  its own policies' documents (`group`), so a no-change build leaves every shard as it is and an
  edit to a document makes only its policy's shard again.
- **Recent edits beside the shards**: an edit to a few policies of a cut index does not make
  their shards again (a shard of 64 policies takes Pagefind 2.6 s); each edited policy's records
  go into a small bundle of its own, `search/pagefind/recent-XXXXXXXX/`, whose entry file names
  the policy it `hides` in the shards, and search.js leaves those out of the shards' answers
  (each shard's records carry a `policy` filter). Beyond MAX_RECENT such bundles, the shards
  with most of them are made again. So an incremental build publishes the same answers as a
  fresh build in another shape; `--no-cache` makes the shards alone (see `Search.refine`).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from ..model import UPCOMING
from . import LISTING, Artifact, Cancelled, Context, FileSpec, group, remove_later

FOLDER = "search/pagefind/"
ENTRY = FOLDER + "pagefind-entry.json"
# Pagefind's own UI bundles and playground: not used (search.js talks to pagefind.js itself)
_UNUSED = re.compile(r"^(pagefind-(ui|component-ui|modular-ui|highlight)\.(js|css)|playground/.*)$")


def executable() -> Path | None:
    """The Pagefind binary the engine was installed with: the extended one (Chinese word
    segmentation) first. PAGEFIND_BINARY_PATH points at another one."""
    env = os.environ.get("PAGEFIND_BINARY_PATH")
    if env:
        return Path(env)
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            found = __import__(module).get_executable()
        except (ImportError, FileNotFoundError):
            continue
        return Path(found)
    return None


# Shards. The index is cut into shards by a hash of each policy's slug, each shard made by its
# own Pagefind run and published as its own bundle (search/pagefind/NN/), so an edit makes only
# the shard of the policy it touched again; the search page reads the first shard that holds its
# language and merges the others holding it (Pagefind's mergeIndex), and search.js makes their
# answer the one a single index would give. A site of up to POLICIES_PER_SHARD policies has one
# bundle, in search/pagefind/ itself.
#
# Measured at 1,000 policies of bench/corpus.py (2,259 records, 115 MB of pages for Pagefind;
# a 2-core machine; bench/search.py): one Pagefind run costs 0.21 s before it reads a page, then
# some 13 ms a record. As one index, a one-policy edit made it again in 36 s and a query took
# 1.1 s in Chromium (open search/?q=…, results listed; median). With 64 shards of 16 policies,
# the edit's index took 0.6 s but a query 3.2 s (each shard is fetched, set up and searched);
# with 16 shards of 63, about 2 s and 1.5 s. Readers outnumber edits: at most 16 shards.
POLICIES_PER_SHARD = 64
MAX_SHARDS = 16
# The bundles of recent edits (Search.refine), one per edited policy, so that an edit makes
# only its own policy's bundle. Measured at 1,000 policies (2 cores, a slow day; bench/search.py):
# Pagefind makes the bundle of one policy in 0.35–0.45 s (its Chinese dictionary alone takes
# 0.26 s), of five policies together 0.68 s, a shard of 64 in 2.6 s (5.3 s that day). A query
# in Chromium took 3.17 s with no such bundle, 3.20 s with one, 3.28 s with four (each is one
# more index to set up). Beyond MAX_RECENT of them, the shards holding most are made again
# (that edit pays for one shard: 6.3 s that day).
RECENT = FOLDER + "recent-"
MAX_RECENT = 8
# Which recent bundles there are, and the locales each holds: read by search.js before it sets the
# index up, so that the search pages do not name them (issue 19: each of the 6 search pages at
# 1,000 policies lists every policy and took ~30 ms to render again whenever a policy was edited
# for the first time since its shard was made; 0.18 s of such an edit's 0.45–0.7 s).
RECENT_LIST = FOLDER + "recent.json"


def recent_folder(slug: str) -> str:
    return f"{RECENT}{hashlib.sha256(slug.encode('utf-8')).hexdigest()[:8]}/"


class RecentList(NamedTuple):
    bundles: tuple         # (folder, (locale tags)) of each recent bundle


class Shard(NamedTuple):
    folder: str            # "search/pagefind/" (one shard) or "search/pagefind/07/"
    slugs: tuple           # the policies it holds, in site order
    tags: frozenset        # the locale tags of its records

    @property
    def name(self) -> str | None:
        """"07": the value of its records' `shard` filter (None: the only shard, no filter)."""
        return self.folder[len(FOLDER):].strip("/") or None


def shard_count(policies: int) -> int:
    """The number of shards for this many indexed policies: a power of two (so it changes only
    when the site doubles, and each change makes the whole index again just once)."""
    want = -(-policies // POLICIES_PER_SHARD)
    count = 1
    while count < want and count < MAX_SHARDS:
        count *= 2
    return count


def shard_of(slug: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(slug.encode("utf-8")).digest()[:4], "big") % count


def shards(ctx: Context) -> list[Shard]:
    """The shards of this build's index, the empty ones left out (worked out once per build)."""
    found = ctx.memo.get("search.shards")
    if found is not None:
        return found
    held: dict[str, set] = {}
    for p, v, loc, url in entries(ctx, ctx.site.policies):
        held.setdefault(p.slug, set()).add(index_lang(loc))
    count = shard_count(len(held))
    groups: dict[int, list[str]] = {}
    for p in ctx.site.policies:
        if p.slug in held:
            groups.setdefault(shard_of(p.slug, count), []).append(p.slug)
    found = [Shard(FOLDER if count == 1 else f"{FOLDER}{i:02d}/", tuple(slugs),
                   frozenset().union(*(held[s] for s in slugs)))
             for i, slugs in sorted(groups.items())]
    ctx.memo["search.shards"] = found
    ctx.memo["search.tags"] = held                 # slug -> the languages of its records (index_lang)
    return found


def shards_for(ctx: Context, tag: str) -> list[str]:
    """The folders of the shards a search page reads, the first one its primary: those that
    hold its language (`tag`, its locale's index_lang; if none does, the first shard: Pagefind
    then falls back to the language it holds most of). (The bundles of recent edits it reads
    are in RECENT_LIST.)"""
    every = shards(ctx)
    mine = [s.folder for s in every if tag in s.tags]
    return mine or [s.folder for s in every[:1]] or [FOLDER]


class Search:
    name = "search"
    parallel = False

    def specs(self, ctx: Context):
        # a bundle wherever there is a search page to read it
        if not any(p.kind == "search" for p in ctx.plan):
            return []
        return [FileSpec(s.folder + "pagefind-entry.json", self.name, s) for s in shards(ctx)] or \
            [FileSpec(ENTRY, self.name)]

    def depends(self, spec) -> tuple:
        if spec.key is None:       # nothing published yet: an empty bundle
            return LISTING
        # its own policies' documents (and their versions, states and locales), and its place
        return group(spec.key.folder, spec.key.slugs)

    def refine(self, ctx: Context, fps: dict, previous: dict, deps, deferred: bool) -> None:
        """Once the fingerprints are known: a shard stale only because some of its policies were
        edited since it was published stays as it is, and each of those policies goes into a
        bundle of its own (`recent_folder`), which hides its records in the shards. A shard is
        made again when the published one is not known (a fresh build, another output folder,
        the state lost), when everything changed (engine, config, templates: `deps.global_fp`),
        when one of its policies was removed or changed its locales, when a policy added to it
        brings a language it does not hold, or to keep the recent bundles within MAX_RECENT.
        What the recent bundles cannot mend: Pagefind matches a query word that no word of an
        index begins with by the longest word that begins it (人脸识别 → 人脸), and the hidden
        records' words still count for that in their shard; so a word that only an edited
        policy's old text had keeps its shard from falling back, until the shard is made again.
        What the shards and the recent bundles were made from is remembered in
        `ctx.after["search"]` for the next build. (`deferred`: the preview server publishes
        the pages first; they name the bundles as published, and the later build decides.)"""
        items = next((items for output, items in ctx.specs if output is self), [])
        remembered = ctx.before.get(self.name) or {}
        if len(items) < 2 or any(spec.key is None for spec in items):
            ctx.after[self.name] = {}
            return
        if deferred:
            ctx.after[self.name] = remembered
            indexed_now = {slug for shard in shards(ctx) for slug in shard.slugs}
            kept = [Shard(r["folder"], (slug,), frozenset(r["tags"]))
                    for slug, r in remembered.get("recent", {}).items()
                    if slug in indexed_now and previous.get(r["folder"] + "pagefind-entry.json") == r["fp"]]
            self._add_recent(ctx, items, fps, kept, deps)
            return
        shards(ctx)
        tags = ctx.memo["search.tags"]
        same_global = remembered.get("global") == deps.global_fp
        bases = remembered.get("base", {})
        made, keep = {}, []                 # folder -> what it is made from; (spec, edited slugs)
        for spec in items:
            path, folder = spec.out_path, spec.key.folder
            now = {slug: [deps.part(slug), sorted(tags[slug])] for slug in spec.key.slugs}
            was = bases.get(folder)
            published = was is not None and same_global and previous.get(path) == was["fp"]
            if fps[path] == previous.get(path) and published:
                made[folder] = was
                continue
            held = {tag for part in (was or {}).get("parts", {}).values() for tag in part[1]}
            if published and set(was["parts"]) <= set(now) and \
                    all(was["parts"][s][1] == now[s][1] for s in was["parts"]) and \
                    all(set(now[s][1]) <= held for s in now if s not in was["parts"]):
                # (a policy added to it in a language it does not hold: the search pages of that
                # language would read it, and Pagefind answer from another language's index)
                keep.append((spec, [s for s in spec.key.slugs if was["parts"].get(s) != now[s]], was, now))
            else:
                made[folder] = {"fp": fps[path], "parts": now}
        keep.sort(key=lambda k: -len(k[1]))             # make again the shards holding most edits
        while keep and sum(len(k[1]) for k in keep) > MAX_RECENT:
            spec, _, _, now = keep.pop(0)
            made[spec.key.folder] = {"fp": fps[spec.out_path], "parts": now}
        edited = set()
        for spec, slugs, was, _ in keep:
            fps[spec.out_path] = previous[spec.out_path]        # published as it is
            made[spec.key.folder] = was
            edited.update(slugs)
        recent = [Shard(recent_folder(p.slug), (p.slug,), frozenset(tags[p.slug]))
                  for p in ctx.site.policies if p.slug in edited]
        fp_of = self._add_recent(ctx, items, fps, recent, deps)
        ctx.after[self.name] = {"global": deps.global_fp, "base": made,
                                "recent": {r.slugs[0]: {"folder": r.folder, "tags": sorted(r.tags), "fp": fp_of[r.folder]}
                                           for r in recent}}

    def _add_recent(self, ctx: Context, items: list, fps: dict, recent: list, deps) -> dict:
        """The recent bundles' specs, and the list of them the search pages read (RECENT_LIST).
        Their fingerprints, by folder."""
        fp_of = {}
        for shard in recent:
            spec = FileSpec(shard.folder + "pagefind-entry.json", self.name, shard)
            items.append(spec)
            fps[spec.out_path] = fp_of[shard.folder] = deps.of(group(shard.folder, shard.slugs))
        listed = RecentList(tuple((r.folder, tuple(sorted(r.tags))) for r in recent))
        items.append(FileSpec(RECENT_LIST, self.name, listed))
        fps[RECENT_LIST] = hashlib.sha256(f"{deps.global_fp}|recent:{listed!r}".encode()).hexdigest()
        return fp_of

    def pieces(self, spec) -> tuple:
        """The policies whose records make this shard (none: the empty bundle, the list)."""
        return () if spec.key is None or isinstance(spec.key, RecentList) else spec.key.slugs

    def piece(self, spec, slug: str, ctx: Context):
        """One policy's records in this shard: (file path under the site, HTML for Pagefind)."""
        hideable = spec.key.name is not None and not spec.key.folder.startswith(RECENT)
        for rel, page in records(ctx, (slug,), spec.key.name, hideable):
            yield rel, page.encode("utf-8")

    def begin(self, spec, ctx: Context) -> None:
        """Start the Pagefind run of a shard whose records are all written, while the build goes
        on (render_all takes its result)."""
        exe = executable()
        if exe is None or spec.key is None:
            return
        runs = ctx.memo.setdefault("search.runs", {})
        if "tmp" not in runs:
            runs["tmp"] = tempfile.mkdtemp(prefix="policysite-search-")
            runs["pool"] = ThreadPoolExecutor(2)
            runs["stop"] = _Stop(ctx.cancel)
        bundle = Path(runs["tmp"]) / f"bundle{len(runs)}"
        runs[spec.out_path] = (bundle, runs["pool"].submit(_pagefind, exe, Path(ctx.pieces[spec.out_path]),
                                                            bundle, runs["stop"]))

    def abandon(self, ctx: Context) -> None:
        """Runs begun for a build that ends before its index is made (an error in a page, a save
        in serve): stopped (within 20 ms), their folder removed; at once in serve (called off),
        before the command line ends otherwise."""
        cancelled = ctx.cancel is not None and ctx.cancel.is_set()
        _let_go(ctx.memo.pop("search.runs", {}), wait=not cancelled)

    def render(self, spec, ctx: Context) -> Artifact | None:
        return next(iter(self.render_all([spec], ctx, 1)), None)

    def render_all(self, specs: list, ctx: Context, jobs: int):
        """The shards' artifacts, each as soon as it is made (up to `jobs` Pagefind runs at once),
        from the records the build made as their pieces (`ctx.pieces`)."""
        exe = executable()
        out = ctx.content.out
        if exe is None:
            out.error("search", None, None, "the Pagefind binary that builds the search index is not installed",
                      "pip install -r requirements.txt  (it brings pagefind[extended])")
            return
        begun = ctx.memo.pop("search.runs", {})
        tmp = tempfile.mkdtemp(prefix="policysite-search-")
        pool = ThreadPoolExecutor(max(1, jobs))
        stop = _Stop(ctx.cancel)
        runs = []
        try:
            for n, spec in enumerate(specs):
                if spec.key is None:   # nothing published yet (drafts only): Pagefind refuses an empty site
                    empty = {"languages": {}, "note": "no policy is published yet"}
                    yield Artifact(ENTRY, "application/json", json.dumps(empty, sort_keys=True).encode("utf-8"))
                    continue
                if isinstance(spec.key, RecentList):      # folders relative to the list's own
                    listed = [{"folder": folder[len(FOLDER):], "tags": list(tags)} for folder, tags in spec.key.bundles]
                    yield Artifact(RECENT_LIST, "application/json",
                                   json.dumps({"bundles": listed}, sort_keys=True).encode("utf-8"))
                    continue
                ctx.check_cancelled()
                if spec.out_path in begun:
                    runs.append((spec, *begun[spec.out_path]))
                    continue
                site, bundle = Path(ctx.pieces[spec.out_path]), Path(tmp) / f"bundle{n}"
                runs.append((spec, bundle, pool.submit(_pagefind, exe, site, bundle, stop)))
            for spec, bundle, future in runs:
                problem = future.result()
                ctx.check_cancelled()
                if problem is not None:
                    out.error("search", None, None, f"Pagefind could not build the search index: {problem}",
                              "check that the pagefind-bin-extended package is installed and runs on this machine")
                    continue
                found = {}
                for path in sorted(bundle.rglob("*")):
                    rel = path.relative_to(bundle).as_posix()
                    if path.is_file() and not _UNUSED.match(rel):
                        found[rel] = path.read_bytes()
                found = canonical(found)
                folder = spec.key.folder
                data = found.pop("pagefind-entry.json")
                if folder.startswith(RECENT):      # the policy whose records in the shards it replaces
                    entry = json.loads(data)
                    entry["hides"] = list(spec.key.slugs)
                    data = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
                yield Artifact(folder + "pagefind-entry.json", "application/json", data,
                               tuple((folder + rel, found[rel]) for rel in sorted(found)))
        except Cancelled:
            # A save came (serve): let go at once. Pagefind's runs stop within 20 ms; their
            # folder is removed once they have, in a thread of its own.
            pool.shutdown(wait=False, cancel_futures=True)
            remove_later(tmp, [f for _, _, f in runs])
            _let_go(begun, wait=False)
            raise
        except BaseException:                      # (an error, or the build leaving early: stopped)
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(tmp, ignore_errors=True)
            _let_go(begun, wait=True)
            raise
        pool.shutdown(wait=True)
        shutil.rmtree(tmp, ignore_errors=True)
        _let_go(begun, wait=True)


class _Stop:
    """Set: the runs begun for this build stop; so do they when the build is called off."""

    def __init__(self, cancel=None):
        self.cancel, self.stopped = cancel, threading.Event()

    def set(self) -> None:
        self.stopped.set()

    def is_set(self) -> bool:
        return self.stopped.is_set() or (self.cancel is not None and self.cancel.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        """As Event.wait: True once set (either way), False after `timeout` seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.01 if end is None else min(0.01, end - time.monotonic())
            if left <= 0:
                return False
            self.stopped.wait(left)
        return True


def _let_go(begun: dict, wait: bool) -> None:
    """The runs begun (Search.begin) stopped, if still running, and their folder removed:
    now (`wait`), or by a thread of its own once they have stopped."""
    if "pool" not in begun:
        return
    futures = [v[1] for k, v in begun.items() if k not in ("pool", "tmp", "stop")]
    begun["stop"].set()
    begun["pool"].shutdown(wait=wait, cancel_futures=True)
    if wait:
        shutil.rmtree(begun["tmp"], ignore_errors=True)
    else:
        remove_later(begun["tmp"], futures)


class Service:
    """A Pagefind process kept running (`pagefind --service`), for a process that builds again
    and again: the resident builder (issue 19). Each run of the command line spends ~0.26 s of
    its ~0.35 s loading Pagefind's Chinese dictionary; a kept process loads it once (measured
    2026-12-02: one policy's bundle 0.35 s → 0.014 s once warm, the files identical). It is of
    no use to a process that builds once: its warm-up competes with the build for the cores
    (bench/README.md), so only the resident builder starts one.

    The protocol is the one the `pagefind` package's Python API speaks (pagefind/service/):
    each message a JSON object, base64-encoded, ended by a comma, on stdin and stdout. One index
    at a time: a run that finds it busy (two shards of a cold build) uses the command line."""

    # the longest one index may take (a shard of 64 policies: 2-3 s; the whole index of a site
    # small enough to have one: less)
    DEADLINE = 120.0

    def __init__(self, exe: Path):
        self.exe = exe
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.sent = 0
        self.buffer = b""

    def _start(self) -> None:
        self.proc = subprocess.Popen([str(self.exe), "--service"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        self.buffer = b""

    def _ask(self, payload: dict, deadline: float, cancel=None) -> dict:
        """One message and its answer. OSError once `deadline` (time.monotonic) passes or the build
        is called off: the caller kills the service (a service that stops answering must not
        hold the build, and the resident builder with it, for ever)."""
        import select
        self.sent += 1
        message = json.dumps({"message_id": self.sent, "payload": payload}).encode("utf-8")
        self.proc.stdin.write(base64.b64encode(message) + b",")
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        while True:
            end = self.buffer.find(b",")
            if end < 0:
                if cancel is not None and cancel.is_set():
                    raise OSError("called off")
                if time.monotonic() > deadline:
                    raise OSError("Pagefind's service did not answer in time")
                if not select.select([fd], [], [], 0.05)[0]:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise OSError("Pagefind's service ended")
                self.buffer += chunk
                continue
            raw, self.buffer = self.buffer[:end], self.buffer[end + 1:]
            try:
                answer = json.loads(base64.b64decode(raw))
            except ValueError:                      # not a message (Pagefind said something else)
                continue
            if not isinstance(answer, dict) or answer.get("message_id") not in (self.sent, None):
                continue
            reply = answer.get("payload") or {}
            if reply.get("type") == "Error":
                raise ValueError(reply.get("message") or "Pagefind's service refused a message")
            return reply

    def index(self, site: Path, bundle: Path, cancel=None) -> str | None | bool:
        """Index `site` into `bundle` as `pagefind --site … --output-path …` does. None, or what
        went wrong; False when the service is busy or failed, or took longer than DEADLINE (then
        use the command line). `cancel` set: the service is stopped within 50 ms (False)."""
        if not self.lock.acquire(blocking=False):
            return False
        deadline = time.monotonic() + self.DEADLINE
        try:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            index = self._ask({"type": "NewIndex", "config": {}}, deadline, cancel)["index_id"]
            try:
                self._ask({"type": "AddDir", "index_id": index, "path": str(site)}, deadline, cancel)
                # GetFiles, not WriteFiles: the service answers WriteFiles before its writes are
                # done (tokio's File::write_all hands the bytes to a background thread, and the
                # file is never flushed), so a file read at once may be empty or cut short;
                # measured 2026-12-03, 5 bundles of 150 under load. The files in the answer are
                # whole, and the same bytes the command line writes.
                answer = self._ask({"type": "GetFiles", "index_id": index}, deadline, cancel)
            finally:
                if self.proc is not None and self.proc.poll() is None:
                    self._ask({"type": "DeleteIndex", "index_id": index}, deadline, cancel)
            root = bundle.resolve()
            for item in answer["files"]:
                path = (root / item["path"]).resolve()
                if not path.is_relative_to(root) or path == root:
                    raise ValueError(f"Pagefind's service named a file outside its bundle: {item['path']!r}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(item["content"]))
            return None if (bundle / "pagefind-entry.json").is_file() else False
        except (OSError, ValueError, KeyError, TypeError):
            self.close()
            shutil.rmtree(bundle, ignore_errors=True)
            return False
        finally:
            self.lock.release()

    def warm(self) -> None:
        """Load the dictionary now (index one Chinese page), not in the first build that needs it."""
        with tempfile.TemporaryDirectory(prefix="policysite-warm-") as tmp:
            site = Path(tmp) / "site"
            site.mkdir()
            (site / "index.html").write_text('<!doctype html><html lang="zh-cn"><body><main>隐私政策</main></body></html>',
                                             "utf-8")
            self.index(site, Path(tmp) / "bundle")

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait()
            except OSError:
                pass
            self.proc = None


SERVICE: Service | None = None       # set by a process that keeps one (keep_service)


def keep_service() -> Service | None:
    """Keep a Pagefind service for this process's builds (the resident builder), warmed."""
    global SERVICE
    exe = executable()
    if SERVICE is None and exe is not None:
        SERVICE = Service(exe)
        SERVICE.warm()
    return SERVICE


def _configured() -> bool:
    """Pagefind's command line reads options from PAGEFIND_* variables and from a pagefind.yml
    (.yaml, .toml, .json) in its working folder, which the service does not: where there are
    any, every index is made by the command line."""
    if any(k.startswith("PAGEFIND_") and k != "PAGEFIND_BINARY_PATH" for k in os.environ):
        return True
    return any(os.path.exists(f"pagefind.{ext}") for ext in ("yml", "yaml", "toml", "json"))


def _pagefind(exe: Path, site: Path, bundle: Path, cancel=None) -> str | None:
    """One Pagefind run (in a thread: the work is the subprocess's). None, or what went wrong.
    `cancel` (a threading.Event) set: the run is stopped within 20 ms."""
    if cancel is not None and cancel.is_set():
        return "called off"
    if not site.is_dir():
        return "no page to index"
    if SERVICE is not None and not _configured():
        done = SERVICE.index(site, bundle, cancel)
        if done is not False:
            return done
        if cancel is not None and cancel.is_set():
            return "called off"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([str(exe), "--site", str(site), "--output-path", str(bundle), "--silent"],
                                stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})
        while True:
            try:
                proc.wait(timeout=None if cancel is None else 0.02)
                break
            except subprocess.TimeoutExpired:
                if cancel.is_set():
                    proc.kill()
                    proc.wait()
                    return "called off"
        log.seek(0)
        said = log.read().decode("utf-8", "replace")
    if proc.returncode != 0 or not (bundle / "pagefind-entry.json").is_file():
        return said.strip()[-500:] or f"exit status {proc.returncode}"
    return None


SEARCH = Search()


def indexed(policy, which: str) -> list:
    """The versions of a policy the index holds: the one its page shows and every upcoming one;
    with `which == "all"`, every version."""
    shown = policy.shown
    return [v for v in policy.versions if which == "all" or v is shown or v.state == UPCOMING]


def entries(ctx: Context, policies):
    """(policy, version, locale, page URL) of every version and locale the index holds."""
    variants = ctx.site.variants
    which = ctx.site.config["search.versions"]
    for p in policies:
        for v in indexed(p, which):
            kind, version = ("policy", None) if v is p.shown else ("version", v.version)
            for loc in v.locales:
                url = ctx.page_url(kind, variants.standard(loc), p.slug, version)
                if url is not None:
                    yield p, v, loc, url


SHARED = "zh"          # the Pagefind language of the Chinese locales' one index (every site has both scripts)


def index_lang(loc) -> str:
    """The Pagefind language of a locale's records, and so the index its search page reads:
    pagefind.js reads the index of the page's `<html lang>` and, failing that, of its first
    subtag ("zh-hant" → "zh")."""
    return SHARED if loc.converts else loc.tag


def records(ctx: Context, slugs=None, shard: str | None = None, hideable: bool = False):
    """(file path under the site, HTML for Pagefind) of every version indexed, one record for the
    Chinese locales together (SHARED) and one for each other locale (of the policies named by
    `slugs`, or of all; in the shard named `shard`, if the index is cut; `hideable`: with the
    policy's slug as a filter, for the recent bundle to hide them)."""
    r = ctx.content
    wanted = None if slugs is None else set(slugs)
    policies = [p for p in ctx.site.policies if wanted is None or p.slug in wanted]
    made: list = []             # [(lang, policy, version, [(locale, url)])], in order (locales in the site's)
    joint: dict = {}
    for p, v, loc, url in entries(ctx, policies):
        lang = index_lang(loc)
        if lang == SHARED:
            if (p.slug, v.version) not in joint:
                joint[(p.slug, v.version)] = (lang, p, v, [])
                made.append(joint[(p.slug, v.version)])
            joint[(p.slug, v.version)][3].append((loc, url))
        else:
            made.append((lang, p, v, [(loc, url)]))
    for lang, p, v, locs in made:
        items = [(loc.tag.lower() if lang == SHARED else None, url[len(loc.prefix):], r.view(v, loc),
                  r.strings[loc.strings]) for loc, url in locs]
        yield locs[0][1] + "index.html", record_html(lang, items, v, shard, p.slug if hideable else None,
                                                     [loc.script for loc, _ in locs])


_HEADING = re.compile(r'<h([1-6])\b[^>]*\bid="([^"]+)"[^>]*>.*?</h\1>', re.S)
_HEADING_ID = re.compile(r'\bid="([^"]+)"')
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def sections(body: str) -> list[tuple[str, str, str]]:
    """A document's HTML cut at its headings that have ids: (id or "" for the text before the
    first, the heading, the content up to the next heading)."""
    found = list(_HEADING.finditer(body))
    out = [("", "", body[: found[0].start()] if found else body)]
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(body)
        out.append((m.group(2), m.group(0), body[m.end():end]))
    return out


def text_of(fragment: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", fragment))).strip()


def record_html(lang: str, items: list, version, shard: str | None = None, slug: str | None = None,
                scripts: list | None = None) -> str:
    """The page Pagefind indexes for one version: `items` are its locales, each (key, path under
    the locale's prefix, document, strings), the first one's text and metadata the record's own.
    One locale (key None): its title, issuer and text by section. The Chinese locales together
    (each keyed by its lower-case tag): the top of the page (title, issuer, summary, the text
    before the first heading) in each locale where it differs, under a heading "~" + key; then
    the first's text, and after it, section by section, each other's text where that differs,
    its headings' ids ending in "~" + key (search.js shows the top and each section once, in
    the reader's script where that matched, else in a locale of the reader's script: `scripts`,
    each item's, in the metadata as "scripts"; a section a locale's page lacks, where a text
    written by hand is cut differently, as "absent": "storage~zh-hans", the id percent-encoded); the
    metadata that differs by
    locale twice, as "title" and "title_zh-hant"; each filter's value once for each locale,
    after its key ("zh-hant:測試市數據局"): search.js offers a reader their own script's (one
    filter file for each, as before, not one per script; a `locale` filter applied to every
    query instead made a query in Chromium 0.35 s slower at 1,000 policies, 2026-12-04).
    Beside the text: the result's
    metadata and filters (and its shard's name, which search.js reads to make the shards answer
    as one index: see there)."""
    e = html.escape
    keyed = items[0][0] is not None
    body, tops = [], set()
    cut = [(key, sections(doc.html)) for key, path, doc, t in items]
    for (key, path, doc, t), (_, parts) in zip(items, cut):
        # the top of the page in each script where it differs: title, issuer, summary and the
        # text before the first heading, under a heading of its own ("~zh-hant"), so that the
        # snippet of a match there can be the reader's script's
        top = (doc.title, doc.issuer, doc.summary, text_of(parts[0][2]))
        if top in tops:
            continue
        tops.add(top)
        body.append((f'<h1 id="~{key}">' if keyed else "<h1>") + f"{e(doc.title)}</h1><p>{e(doc.issuer)}</p>")
        if doc.summary:
            body.append(f"<p>{e(doc.summary)}</p>")
        body.append(parts[0][2])
    first_ids = [sid for sid, _, _ in cut[0][1][1:]]
    by_id = [(key, {sid: (heading, content) for sid, heading, content in parts[1:]}) for key, parts in cut]
    known = set(first_ids)
    extra = [sid for _, parts in by_id[1:] for sid in parts if sid not in known]
    # a section one locale's page lacks (a text written by hand, cut differently): named, so that
    # search.js links no reader of that page to an anchor it does not have
    # (each id as the page's DOM has it, percent-encoded: a space or '~' in it cuts no token)
    absent = [f"{quote(html.unescape(sid), safe='')}~{key}" for sid in first_ids + list(dict.fromkeys(extra))
              for key, parts in by_id if keyed and sid not in parts]
    for sid in first_ids + list(dict.fromkeys(extra)):   # (a hand-written text cut differently: its own at the end)
        texts = set()
        for key, parts in by_id:
            if sid not in parts:
                continue
            heading, content = parts[sid]
            text = text_of(heading + " " + content)
            if not text or text in texts:
                continue
            texts.add(text)
            if keyed:
                heading = _HEADING_ID.sub(lambda m: f'id="{m.group(1)}~{key}"', heading, count=1)
            body.append(heading + content)
    key0, path0, doc0, t0 = items[0]
    state = t0["state_" + version.state]
    meta = {"title": doc0.title, "issuer": doc0.issuer, "version": version.version, "state": state,
            "state_key": version.state, "path": path0}
    filters = []
    if keyed:
        meta["locales"] = " ".join(key for key, _, _, _ in items)
        meta["scripts"] = " ".join(scripts or [])
        if absent:
            meta["absent"] = " ".join(absent)
        for key, path, doc, t in items:
            mine = {"title": doc.title, "issuer": doc.issuer, "state": t["state_" + version.state], "path": path}
            meta.update({f"{k}_{key}": val for k, val in mine.items() if key != key0 and val != meta[k]})
            filters += [("issuer", f"{key}:{doc.issuer}"), ("state", f"{key}:{mine['state']}")]
    else:
        filters += [("issuer", doc0.issuer), ("state", state)]
    if shard is not None:
        filters.append(("shard", shard))
    if slug is not None:
        filters.append(("policy", slug))
    tags = "".join(f'<span data-pagefind-meta="{k}">{e(v)}</span>' for k, v in meta.items())
    tags += "".join(f'<span data-pagefind-filter="{k}">{e(v)}</span>' for k, v in filters)
    return (f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(doc0.title)}</title></head>'
            f'<body><main data-pagefind-body>{"".join(body)}</main><div>{tags}</div></body></html>\n')


# --- making Pagefind's bundle the same from run to run ------------------------------------
#
# Pagefind 1.5 lists each filter's values, each language's filters and the languages of
# pagefind-entry.json in hash-map order, which changes from run to run (everything else it
# writes is the same). The filter files and each language's metadata file are gzipped CBOR
# named by a hash of their content, so they are read, put in order, written again and named
# anew by a hash of the ordered content; the metadata names the new filter files, the entry
# file the new metadata files. (pagefind.js fetches files by the names it is given.)

_MAGIC = b"pagefind_dcd"


def _cbor_decode(b: bytes, i: int = 0):
    head = b[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        val = info
    elif info <= 27:
        n = 1 << (info - 24)
        val = int.from_bytes(b[i:i + n], "big")
        i += n
    else:
        raise ValueError(f"unexpected CBOR item {head:#x}")
    if major == 0:
        return val, i
    if major == 1:
        return -1 - val, i
    if major == 2:
        return bytes(b[i:i + val]), i + val
    if major == 3:
        return b[i:i + val].decode("utf-8"), i + val
    if major in (4, 5):
        items = []
        for _ in range(val * (2 if major == 5 else 1)):
            x, i = _cbor_decode(b, i)
            items.append(x)
        return (items if major == 4 else _Map(zip(items[::2], items[1::2]))), i
    if major == 7 and info < 24:
        return _Simple(val), i
    raise ValueError(f"unexpected CBOR item {head:#x}")


class _Map(list):
    """A CBOR map, as its (key, value) pairs in their order."""


class _Simple(int):
    """A CBOR simple value (false, true, null)."""


def _cbor_head(major: int, val: int) -> bytes:
    if val < 24:
        return bytes([major << 5 | val])
    for info, n in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if val < 1 << (8 * n):
            return bytes([major << 5 | info]) + val.to_bytes(n, "big")
    raise ValueError("CBOR integer too large")


def _cbor_encode(x) -> bytes:
    if isinstance(x, _Simple):
        return bytes([0xE0 | int(x)])
    if isinstance(x, bool):
        return bytes([0xF5 if x else 0xF4])
    if isinstance(x, int):
        return _cbor_head(0, x) if x >= 0 else _cbor_head(1, -1 - x)
    if isinstance(x, bytes):
        return _cbor_head(2, len(x)) + x
    if isinstance(x, str):
        data = x.encode("utf-8")
        return _cbor_head(3, len(data)) + data
    if isinstance(x, _Map):
        return _cbor_head(5, len(x)) + b"".join(_cbor_encode(k) + _cbor_encode(v) for k, v in x)
    if isinstance(x, list):
        return _cbor_head(4, len(x)) + b"".join(_cbor_encode(v) for v in x)
    raise TypeError(f"cannot encode {type(x).__name__} as CBOR")


def _read(data: bytes):
    raw = gzip.decompress(data)
    if not raw.startswith(_MAGIC):
        raise ValueError("not a Pagefind file")
    value, end = _cbor_decode(raw, len(_MAGIC))
    if end != len(raw):
        raise ValueError("trailing bytes in a Pagefind file")
    return value


def _write(value) -> bytes:
    return gzip.compress(_MAGIC + _cbor_encode(value), compresslevel=9, mtime=0)


def _hash(data: bytes, length: int) -> str:
    return hashlib.sha256(data).hexdigest()[:length]


def canonical(files: dict[str, bytes]) -> dict[str, bytes]:
    """The bundle with its filters, their values and its languages in order (see above)."""
    files = dict(files)
    entry = json.loads(files["pagefind-entry.json"].decode("utf-8"))
    for lang, info in sorted(entry.get("languages", {}).items()):
        old = info["hash"]
        meta = _read(files.pop(f"pagefind.{old}.pf_meta"))
        filters = []
        for name, fhash in meta[3]:
            body = _read(files.pop(f"filter/{fhash}.pf_filter"))
            body[1] = sorted(body[1], key=lambda item: item[0])         # [name, [[value, [pages]] …]]
            data = _write(body)
            new = f"{lang}_{_hash(data, len(fhash) - len(lang) - 1)}"
            files[f"filter/{new}.pf_filter"] = data
            filters.append([name, new])
        meta[3] = sorted(filters)
        data = _write(meta)
        info["hash"] = f"{lang}_{_hash(data, len(old) - len(lang) - 1)}"
        files[f"pagefind.{info['hash']}.pf_meta"] = data
    files["pagefind-entry.json"] = json.dumps(entry, ensure_ascii=False, sort_keys=True,
                                              separators=(",", ":")).encode("utf-8")
    return files
