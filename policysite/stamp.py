"""The build stamp: is the output already what a build would make? Decided from file metadata alone.

A successful build records the metadata of every input it read (engine code, the
libraries that shape the output, config.toml, policies, templates, overrides,
static files, phrase table), the build date and the identity of the output's
marker file. The next build compares: when all of it is the same, nothing can have
changed, and the build ends before anything heavy is imported or read.

The metadata of a file is (inode, size, mtime, ctime). ctime is set by the kernel
on every write, rename, chmod or utime and cannot be set back, so an edit that
keeps the size and restores the modification time is still seen. A stamp whose
inputs were changed within `RACY_NS` of the build that wrote it is not trusted
(the change may share a clock tick with the read), as with Git's "racily clean"
index entries.

Only the standard library and the config module are imported here.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from importlib.util import find_spec
from pathlib import Path

from . import __version__

STAMP_VERSION = 1
RACY_NS = 2_000_000_000              # covers the 2 s timestamps of FAT-formatted USB disks
# On Windows st_ctime is the creation time, which an edit does not change: metadata cannot vouch there.
CTIME_IS_CHANGE_TIME = os.name != "nt"
# module -> distribution, for the libraries whose version shapes the output
LIBRARIES = {"markdown": "Markdown", "jinja2": "Jinja2", "markupsafe": "MarkupSafe", "opencc": "OpenCC",
             "nh3": "nh3", "yaml": "PyYAML", "frontmatter": "python-frontmatter",
             "pagefind_bin_extended": "pagefind-bin-extended"}     # the search index (issue 17)
ENGINE_DIR = Path(__file__).parent
CACHE_DIR = Path(".cache") / "policysite"


class Unsure(Exception):
    """An input the stamp cannot vouch for (a linked folder): build the full way."""


def _walk(root: Path, into: list) -> None:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            _walk(Path(e.path), into)
        elif e.is_symlink() and os.path.isdir(e.path):
            raise Unsure(e.path)
        else:
            into.append(e.path)


def engine_files() -> list[str]:
    """The engine's own files: its code and its data (phrase tables, rules), in the package and
    in its subpackages (outputs/, importers/); the default theme is walked with the inputs."""
    found = []
    for folder, dirs, files in os.walk(ENGINE_DIR):
        dirs[:] = sorted(d for d in dirs if d not in ("theme", "__pycache__") and not d.startswith("."))
        found += [os.path.join(folder, f) for f in files if f.endswith((".py", ".toml", ".json", ".tsv"))]
    return sorted(found)


def library_versions() -> str:
    """The installed version of each library, from its .dist-info (or .egg-info) folder's name
    beside the package (importlib.metadata would take ~50 ms on every build)."""
    found, listings = [], {}
    for module, dist in LIBRARIES.items():
        try:
            spec = find_spec(module)
        except (ImportError, ValueError):
            spec = None
        version = "?"
        if spec and spec.origin:
            origin = Path(spec.origin)
            site = origin.parent.parent if origin.name == "__init__.py" else origin.parent
            if site not in listings:
                try:
                    listings[site] = os.listdir(site)
                except OSError:
                    listings[site] = []
            want = dist.lower().replace("-", "_")              # folders are named <name>-<version>
            for name in listings[site]:
                if name.endswith((".dist-info", ".egg-info")):
                    project, _, rest = name.rsplit(".", 1)[0].partition("-")
                    if project.lower() == want:
                        version = rest
                        break
        found.append(f"{dist}=={version}")
    return ";".join(found)


def library_files() -> list[str]:
    """The files that identify the installed version of each library the output depends on."""
    files = []
    for name in LIBRARIES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec and spec.origin:
            files.append(spec.origin)
    return files


def inputs_of(cfg, extra: list[Path] = ()) -> tuple[str, int]:
    """(hash of the metadata of every input file, the newest ctime or mtime among them)."""
    files: list[str] = engine_files() + library_files()
    files += [str(Path(cfg.path).resolve()), str(cfg.path_of("scripts.phrases"))] + [str(p) for p in extra]
    _walk(ENGINE_DIR / "theme", files)              # the default theme the engine ships
    for key in ("content.policies_dir", "theme.templates_dir", "theme.overrides_dir", "theme.static_dir"):
        _walk(cfg.path_of(key), files)
    h = hashlib.sha256(f"{STAMP_VERSION}|{__version__}|{sys.version}|{cfg.today}".encode())
    newest = 0
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            h.update(f"{f}|-\n".encode())
            continue
        h.update(f"{f}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}\n".encode())
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    return h.hexdigest(), newest


def stamp_path(cache_dir: Path, out_dir: Path, drafts: bool) -> Path:
    key = hashlib.sha256(f"{Path(out_dir).resolve()}|{drafts}".encode()).hexdigest()[:16]
    return cache_dir / f"stamp-{key}.json"


def marker_id(out_dir: Path):
    """Identity of an output folder as a build left it: its marker file's device, inode and
    content, which holds a token new to every build (timestamps alone can repeat on disks
    that keep them to the second or two)."""
    try:
        with open(out_dir / ".policysite", "rb") as f:
            st = os.fstat(f.fileno())
            token = f.read(4096).decode("utf-8", "replace").rsplit("build ", 1)[-1].strip()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns, token]


def unfinished_write(out_dir: Path) -> bool:
    """A staging folder or journal beside the output (a build is running, or was killed):
    let the full build finish or clean up. Replaced trees (`.<name>.old-*`) are only garbage."""
    prefixes = (f".{out_dir.name}.new-", f".{out_dir.name}.policysite-journal")
    try:
        return any(e.name.startswith(prefixes) for e in os.scandir(out_dir.parent))
    except OSError:
        return True


# For tests (issue 15): the build's clock, moved by this many nanoseconds, so that a test can
# make inputs older than the racy window (or newer) without sleeping. Never set in real use.
CLOCK_ENV = "POLICYSITE_TEST_CLOCK_SHIFT_NS"


def clock() -> int:
    return time.time_ns() + int(os.environ.get(CLOCK_ENV, "0") or 0)


def begin() -> int:
    """Call before the build reads its first input; pass the value to `record`."""
    return clock()


def check(cfg, out_dir: Path, drafts: bool, cache_dir: Path, seen: dict | None = None) -> dict | None:
    """The previous build's record if the output is up to date with every input, else None.
    `seen["inputs"]` receives (started, inputs) for the build that follows, when they could be taken."""
    if not CTIME_IS_CHANGE_TIME:
        return None
    started = begin()
    try:
        inputs, newest = inputs_of(cfg)
    except (Unsure, OSError):
        return None
    if seen is not None:
        seen["inputs"] = (started, inputs)
    try:
        record = json.loads(stamp_path(cache_dir, out_dir, drafts).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != STAMP_VERSION:
        return None
    out_dir = Path(out_dir).resolve()
    if record.get("out_dir") != str(out_dir) or record.get("marker") != marker_id(out_dir):
        return None
    if unfinished_write(out_dir):
        return None
    if inputs != record.get("inputs") or newest >= record.get("started", 0) - RACY_NS:
        return None
    return record


def record(cfg, out_dir: Path, drafts: bool, cache_dir: Path, started: int, inputs: str, summary: dict) -> None:
    """Write the stamp of a build that succeeded; `inputs` was taken before it read anything."""
    out_dir = Path(out_dir).resolve()
    data = {"version": STAMP_VERSION, "out_dir": str(out_dir), "marker": marker_id(out_dir),
            "started": started, "inputs": inputs, **summary}
    path = stamp_path(cache_dir, out_dir, drafts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def up_to_date(config_path: Path, out: Path | None, drafts: bool, seen: dict | None = None) -> dict | None:
    """For the command line, before the build is even imported: the previous build's record
    (page count, warnings) if the output is up to date, else None (then build the full way,
    which also reports any problem in config.toml). `seen`: see `check`; also receives the
    config as `seen["config"]` when it is sound."""
    from .config import load_config
    from .errors import Collector
    diag = Collector()
    try:
        cfg = load_config(Path(config_path), diag)
    except Exception:                                    # noqa: BLE001 - the full build reports it
        return None
    if diag.errors or getattr(cfg, "fatal", False):
        return None
    if seen is not None:
        seen["config"] = cfg
    out_dir = Path(out) if out else cfg.path_of("build.output")
    found = check(cfg, out_dir, drafts, cfg.root / CACHE_DIR, seen)
    # config warnings (a pinned date gone stale since the last build) must be among those replayed
    if found is not None and not {w.format() for w in diag.warnings} <= set(found.get("warnings", [])):
        return None
    if found is not None:
        found["out_dir"] = str(out_dir.resolve())
    return found
