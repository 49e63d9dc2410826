"""The search index: a Pagefind bundle under `search/pagefind/`, read by `search/` in every variant.

Pagefind (PyPI `pagefind[extended]`, the binary with Chinese word segmentation, installed with
the engine: nothing is downloaded at build time) is run by the build on pages written for it,
one per version and locale, into a temporary folder; the bundle it makes is published as one
artifact (`Artifact.files`: its file names hash their content, so they are known only once made).

- **What it holds**: the version each policy's page shows (current, or repealed, or the first
  upcoming one) and every upcoming version; superseded ones (and drafts in a draft build) only
  with `[search] versions = "all"`. Each record carries its state, marked in the results.
- **Either script finds both**: each Chinese locale's index (Pagefind keeps one per `<html lang>`)
  holds its own text and, section by section, the other script's text (as OpenCC made it for
  that page, or as written by hand) where it differs, at a lower weight. So a query typed in
  Simplified on a Traditional page finds the Traditional page, ranked below matches in the
  reader's own script; the query itself is never converted (a conversion table in the browser
  could not know the phrase-level choices OpenCC made, such as 头发 → 頭髮). The snippet shows
  the text that matched, so for such a query it is the other script's.
- **The reader's own script and mode**: records name their page relative to the locale's
  prefix (`meta.path`: "privacy/", "privacy/2.0/"); the search page links to `../` + path, so
  the 长者版 search page leads to 长者版 pages and /zh-hant/ to /zh-hant/.
- **Byte-identical**: Pagefind writes `pagefind-entry.json` with its languages in hash order;
  it is rewritten with sorted keys (the other files are the same from run to run; see
  tests/test_search.py). Its UI bundles are left out: the site's own search.js uses its API.
- **Incremental**: it depends on every body (`BODIES`, which covers the listing too), so a
  no-change build leaves it as it is and any edit to a document makes it again.
"""
from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from ..model import UPCOMING
from . import BODIES, Artifact, Context, FileSpec

FOLDER = "search/pagefind/"
ENTRY = FOLDER + "pagefind-entry.json"
# Pagefind's own UI bundles and playground: not used (search.js talks to pagefind.js itself)
_UNUSED = re.compile(r"^(pagefind-(ui|component-ui|modular-ui|highlight)\.(js|css)|playground/.*)$")
OTHER_SCRIPT_WEIGHT = "0.5"           # matches in the reader's own script rank first


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


class Search:
    name = "search"
    parallel = False

    def specs(self, ctx: Context):
        # a bundle wherever there is a search page to read it
        return [FileSpec(ENTRY, self.name)] if any(p.kind == "search" for p in ctx.plan) else []

    def depends(self, spec) -> tuple:
        return BODIES              # every document's content (and so the listing: titles, states …)

    def render(self, spec, ctx: Context) -> Artifact | None:
        exe = executable()
        out = ctx.content.out
        if exe is None:
            out.error("search", None, None, "the Pagefind binary that builds the search index is not installed",
                      "pip install -r requirements.txt  (it brings pagefind[extended])")
            return None
        with tempfile.TemporaryDirectory(prefix="policysite-search-") as tmp:
            site, bundle = Path(tmp) / "site", Path(tmp) / "bundle"
            count = 0
            for rel, page in records(ctx):
                target = site / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(page, "utf-8")
                count += 1
            if not count:          # nothing published yet (drafts only): Pagefind refuses an empty site
                empty = {"languages": {}, "note": "no policy is published yet"}
                return Artifact(ENTRY, "application/json", json.dumps(empty, sort_keys=True).encode("utf-8"))
            proc = subprocess.run([str(exe), "--site", str(site), "--output-path", str(bundle), "--silent"],
                                  capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
            if proc.returncode != 0 or not (bundle / "pagefind-entry.json").is_file():
                out.error("search", None, None, f"Pagefind could not build the search index: "
                          f"{(proc.stderr or proc.stdout).strip()[-500:]}",
                          "check that the pagefind-bin-extended package is installed and runs on this machine")
                return None
            found = {}
            for path in sorted(bundle.rglob("*")):
                rel = path.relative_to(bundle).as_posix()
                if path.is_file() and not _UNUSED.match(rel):
                    found[rel] = path.read_bytes()
        found = canonical(found)
        data = found.pop("pagefind-entry.json")
        return Artifact(ENTRY, "application/json", data, tuple((FOLDER + rel, found[rel]) for rel in sorted(found)))


SEARCH = Search()


def indexed(policy, which: str) -> list:
    """The versions of a policy the index holds: the one its page shows and every upcoming one;
    with `which == "all"`, every version."""
    shown = policy.shown
    return [v for v in policy.versions if which == "all" or v is shown or v.state == UPCOMING]


def records(ctx: Context):
    """(file path under the site, HTML for Pagefind) of every version and locale indexed."""
    site, r = ctx.site, ctx.content
    variants = site.variants
    which = site.config["search.versions"]
    for p in site.policies:
        for v in indexed(p, which):
            kind, version = ("policy", None) if v is p.shown else ("version", v.version)
            for loc in v.locales:
                var = variants.standard(loc)
                url = ctx.page_url(kind, var, p.slug, version)
                if url is None:
                    continue
                doc = r.view(v, loc)
                others = [r.view(v, o) for o in v.locales if o.converts and loc.converts and o.tag != loc.tag]
                t = r.strings[loc.strings]
                path = url[len(loc.prefix):]
                yield url + "index.html", record_html(loc.tag, path, doc, others, v, t)


_HEADING = re.compile(r'<h([1-6])\b[^>]*\bid="([^"]+)"[^>]*>.*?</h\1>', re.S)
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


def record_html(lang: str, path: str, doc, others: list, version, t) -> str:
    """The page Pagefind indexes for one version in one locale: its title, issuer and text by
    section, each section followed by the other scripts' text of it where that differs; the
    result's metadata and filters beside it."""
    e = html.escape
    other_parts: dict[str, list[str]] = {}
    other_titles = []
    for o in others:
        if o.title != doc.title:
            other_titles.append(o.title + " " + o.issuer)
        for sid, heading, content in sections(o.html):
            other_parts.setdefault(sid, []).append(text_of(heading + " " + content))
    own = sections(doc.html)
    own_ids = {sid for sid, _, _ in own}
    for sid in list(other_parts):                       # a hand-written text cut differently
        if sid not in own_ids:
            other_parts.setdefault("", []).extend(other_parts.pop(sid))
    body = [f"<h1>{e(doc.title)}</h1>", f"<p>{e(doc.issuer)}</p>"]
    if doc.summary:
        body.append(f"<p>{e(doc.summary)}</p>")
    for title in other_titles:
        body.append(f'<p data-pagefind-weight="{OTHER_SCRIPT_WEIGHT}">{e(title)}</p>')
    for sid, heading, content in own:
        body.append(heading + content)
        mine = text_of(heading + " " + content)
        for text in other_parts.get(sid, []):
            if text and text != mine:
                body.append(f'<p data-pagefind-weight="{OTHER_SCRIPT_WEIGHT}">{e(text)}</p>')
    state = t["state_" + version.state]
    meta = {"title": doc.title, "issuer": doc.issuer, "version": version.version, "state": state,
            "state_key": version.state, "path": path}
    tags = "".join(f'<span data-pagefind-meta="{k}">{e(v)}</span>' for k, v in meta.items())
    tags += f'<span data-pagefind-filter="issuer">{e(doc.issuer)}</span>'
    tags += f'<span data-pagefind-filter="state">{e(state)}</span>'
    return (f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(doc.title)}</title></head>'
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
