"""Stage 4, write: put the pages on disk atomically.

The new site is written into a staging folder beside the output, then swapped
in with one rename (renameat2 RENAME_EXCHANGE on Linux), so a build that fails
or is killed part-way leaves the previous output as it was, and files that no
longer belong to the site are gone after a build.

A folder is only ever replaced if it is empty or was made by this tool (it
holds the marker file), so `--out ~/Documents` cannot wipe anything.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BuildError, Diagnostic

MARKER = ".policysite"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass
class WriteStats:
    files: int
    bytes: int


def _safe_relpath(path: str) -> PurePosixPath:
    p = PurePosixPath(path)
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts) or "\\" in path:
        raise BuildError([Diagnostic(path, None, None, "refusing to write outside the output folder",
                                     "page paths must be relative and may not contain '..'")])
    return p


def _check_target(out_dir: Path, protected: list[Path]) -> None:
    for p in protected:
        if out_dir == p or p.is_relative_to(out_dir):
            raise BuildError([Diagnostic(str(out_dir), None, "build.output",
                                         f"the output folder would contain {p}; it would be replaced by the site",
                                         "choose a separate output folder, such as public/")])
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).exists())):
        raise BuildError([Diagnostic(str(out_dir), None, "build.output",
                                     "the output folder exists and was not made by this tool; not replacing it",
                                     "choose an empty or new folder, or delete this one yourself")])


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths. False where the system cannot (then the caller renames twice)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def restore_interrupted(out_dir: Path) -> bool:
    """Put the previous output back if a build was killed between its two renames.

    Where the system cannot swap two folders at once, the old output is first renamed to
    `.<name>.new-<pid>-old`, then the new one moved in; a build killed just between leaves no
    output folder. Called at the start of every build (before anything can fail), so the
    previous site is back even if the next build stops with errors. True if it restored."""
    out_dir = Path(out_dir).resolve()
    if out_dir.exists():
        return False
    prefix = f".{out_dir.name}.new-"
    for d in sorted(out_dir.parent.glob(prefix + "*-old")):
        try:
            os.kill(int(d.name[len(prefix):].split("-")[0]), 0)
            continue                                  # that build is still running
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        if (d / MARKER).exists():
            os.rename(d, out_dir)
            return True
    return False


def _clean_stale(out_dir: Path) -> None:
    """Remove staging folders left by builds that were killed (their process is gone)."""
    restore_interrupted(out_dir)
    prefix = f".{out_dir.name}.new-"
    for d in out_dir.parent.glob(prefix + "*"):
        try:
            pid = int(d.name[len(prefix):].split("-")[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass


def write_output(out_dir: Path, pages, protected: list[Path] = ()) -> WriteStats:
    out_dir = Path(out_dir).resolve()
    _check_target(out_dir, [Path(p).resolve() for p in protected])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-{os.getpid()}-", dir=out_dir.parent))
    try:
        total = 0
        made: set[Path] = set()
        for page in pages:
            rel = _safe_relpath(page.path)
            target = staging.joinpath(*rel.parts)
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_bytes(page.data)
            total += len(page.data)
        (staging / MARKER).write_text("Built by policysite. This folder is replaced on every build.\n")
        os.chmod(staging, 0o755)
        if out_dir.exists():
            if _exchange(staging, out_dir):
                shutil.rmtree(staging)              # staging now holds the old site
            else:
                old = out_dir.with_name(f".{out_dir.name}.new-{os.getpid()}-old")
                os.rename(out_dir, old)
                os.rename(staging, out_dir)
                shutil.rmtree(old)
        else:
            os.rename(staging, out_dir)
        return WriteStats(len(pages), total)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_incremental(out_dir: Path, pages, manifest: dict[str, str], protected: list[Path] = ()
                      ) -> tuple[WriteStats, dict[str, str]]:
    """Write only what changed since `manifest` (path → SHA-256), each file atomically
    (temporary file, then rename), and delete files that no longer belong.

    For the preview server's private output folder, where rebuilding must be fast and
    a reader may be loading a page while a file is replaced.
    """
    out_dir = Path(out_dir).resolve()
    _check_target(out_dir, [Path(p).resolve() for p in protected])
    out_dir.mkdir(parents=True, exist_ok=True)
    if not manifest and any(out_dir.iterdir()):
        shutil.rmtree(out_dir)               # first build into a folder we made earlier: start clean
        out_dir.mkdir()
    (out_dir / MARKER).write_text("Built by policysite. This folder is replaced on every build.\n")
    new: dict[str, str] = {}
    written = total = 0
    for page in pages:
        rel = _safe_relpath(page.path)
        digest = hashlib.sha256(page.data).hexdigest()
        new[page.path] = digest
        if manifest.get(page.path) == digest:
            continue
        target = out_dir.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(page.data)
        os.replace(tmp, target)
        written += 1
        total += len(page.data)
    for gone in set(manifest) - set(new):
        target = out_dir.joinpath(*_safe_relpath(gone).parts)
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != out_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return WriteStats(written, total), new
