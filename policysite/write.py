"""Stage 4, write: put the pages on disk atomically.

The new site is written into a staging folder beside the output, then swapped
in with one rename (renameat2 RENAME_EXCHANGE on Linux), so a build that fails
or is killed part-way leaves the previous output as it was, and files that no
longer belong to the site are gone after a build.

`OutputWriter` does the same for incremental builds, writing only what
changed: the changed pages are staged first; then a journal naming them is
written and synced, and only then are they moved into place. A build killed
before the journal exists leaves the output as it was; one killed while moving
is completed by the next build (roll forward) before it does anything else.
When most pages changed, it stages a whole new tree (unchanged pages
hard-linked from the old one) and swaps it in as above.

A folder is only ever replaced if it is empty or was made by this tool (it
holds the marker file), so `--out ~/Documents` cannot wipe anything.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BuildError, Diagnostic
from .stamp import marker_id

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


def check_target(out_dir: Path, protected: list[Path], inputs: list[Path] = ()) -> None:
    """Refuse an output folder that would replace the site (or contain it), or that lies inside
    one of the site's input folders (`inputs`: it would be read back as input, static/ copied
    into itself)."""
    for p in protected:
        if out_dir == p or p.is_relative_to(out_dir):
            raise BuildError([Diagnostic(str(out_dir), None, "build.output",
                                         f"the output folder would contain {p}; it would be replaced by the site",
                                         "choose a separate output folder, such as public/")])
    for p in inputs:
        if out_dir.is_relative_to(p):
            raise BuildError([Diagnostic(str(out_dir), None, "build.output",
                                         f"the output folder is inside {p}, which the site reads as input",
                                         "choose an output folder outside the site's policies, templates and "
                                         "static folders, such as public/")])
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
    """Remove staging folders left by builds that were killed (their process is gone), and
    replaced trees whose background removal did not finish."""
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
    for d in out_dir.parent.glob(f".{out_dir.name}.old-*"):
        _spawn_rmtree(d)


def write_problem(e: OSError, folder: Path) -> BuildError:
    """A disk or permission failure while writing the site, as a diagnostic with the fix."""
    import errno
    fixes = {errno.ENOSPC: "free some space on that disk (or build elsewhere with --out), then build again",
             errno.EDQUOT: "free some space within your disk quota, then build again",
             errno.EACCES: "give yourself write permission on that folder, or build elsewhere with --out",
             errno.EPERM: "give yourself write permission on that folder, or build elsewhere with --out",
             errno.EROFS: "that disk is read-only: build elsewhere with --out"}
    where = Path(e.filename).parent if getattr(e, "filename", None) else folder
    return BuildError([Diagnostic(str(folder), None, "build.output",
                                  f"cannot write the site in {where}: {e.strerror or e}",
                                  fixes.get(e.errno, "check that the folder can be written, then build again") +
                                  "; the previous output was left as it was")])


class BuildLock:
    """One build of an output folder at a time: a second build (another terminal, the preview
    server and the command line) waits for the first, saying so, instead of sharing its staging
    folder and journal. An flock on a file beside the output folder: released by the system
    when the process ends, however it ends."""

    def __init__(self, out_dir: Path, say=None):
        self.out_dir, self.path = out_dir, out_dir.parent / f".{out_dir.name}.policysite-lock"
        self.say, self.fd = say, None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:                         # (Windows: no flock; builds are not serialized)
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self.say:
                self.say(f"another build into {self.out_dir} is running; waiting for it to finish")
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


JOURNAL = ".policysite-journal"
FULL_SWAP_SHARE = 0.3        # above this share of pages changed, swap in a whole new tree


def _write_marker(folder: Path, manifest: dict[str, str]) -> None:
    """The marker says the folder is ours. Its token is a hash of what every file was built from,
    so the folder's identity (see stamp.marker_id) changes with its content even where file
    times are kept to the second, and identical builds still give identical folders."""
    paths = sorted(manifest)
    token = hashlib.sha256(("\n".join(paths) + "\0" + "\n".join(manifest[p] for p in paths)).encode()).hexdigest()[:32]
    tmp = folder / f"{MARKER}.tmp"
    # issue 15: the folder is published as it is, and nginx, Apache, object storage and GitHub
    # Pages (with .nojekyll, or from an Actions artifact) serve dot-files: the marker carries
    # only an opaque token (a hash of the pages themselves) and names no tool, version, path or time
    tmp.write_text(f"{token}\n", "utf-8")
    os.replace(tmp, folder / MARKER)


def _remove_later(path: Path) -> None:
    """Delete a replaced tree without making the build wait for it: renamed out of the
    way first, then removed by a background process (the next build removes what is
    left if that is killed)."""
    name = path.name.split(".new-")[0]
    gone = path.with_name(f"{name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        os.rename(path, gone)
        path = gone
    except OSError:
        pass
    _spawn_rmtree(path)


def _spawn_rmtree(path: Path) -> None:
    import subprocess                      # (imported here: most builds remove nothing)
    try:
        subprocess.Popen([sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], True)", str(path)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def recover(out_dir: Path) -> None:
    """Finish an incremental write that a killed build had committed (its journal exists)."""
    journal = out_dir.with_name(f".{out_dir.name}{JOURNAL}")
    if not journal.exists():
        return
    try:
        data = json.loads(journal.read_text("utf-8"))
    except (OSError, ValueError):
        journal.unlink(missing_ok=True)          # torn before it was complete: nothing was moved yet
        return
    _apply(out_dir, Path(data["stage"]), data["write"], data["delete"])
    journal.unlink(missing_ok=True)
    shutil.rmtree(data["stage"], ignore_errors=True)


def _apply(out_dir: Path, stage: Path, write: list[str], delete: list[str]) -> None:
    made: set[Path] = set()
    for rel in write:
        src = stage.joinpath(*_safe_relpath(rel).parts)
        if not src.exists():
            continue                              # moved already (a resumed journal)
        target = out_dir.joinpath(*_safe_relpath(rel).parts)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        os.replace(src, target)
    for rel in delete:
        target = out_dir.joinpath(*_safe_relpath(rel).parts)
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != out_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


class OutputWriter:
    """Writes one build: `reusable()` says which pages can stay as they are, `put()` stages
    a new page, `commit()` makes the new output visible all at once (or not at all)."""

    def __init__(self, out_dir: Path, protected=(), previous: dict | None = None, marker=None,
                 incremental: bool | None = None):
        self.out_dir = Path(out_dir).resolve()
        check_target(self.out_dir, [Path(p).resolve() for p in protected])
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out_dir)
        _clean_stale(self.out_dir)
        # The previous build's manifest describes the output only if its marker is the one we wrote.
        self.previous = previous if previous and marker and marker_id(self.out_dir) == marker else {}
        self.incremental = incremental
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.new-{os.getpid()}-",
                                           dir=self.out_dir.parent))
        self.written: dict[str, int] = {}
        self._made: set[Path] = set()
        self.durable = True                  # sync before the journal (issue 19: the preview server sets False)

    def reusable(self, path: str, fingerprint: str) -> bool:
        return self.previous.get(path) == fingerprint

    def target(self, path: str) -> Path:
        target = self.stage.joinpath(*_safe_relpath(path).parts)
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        return target

    def put(self, path: str, data: bytes) -> None:
        self.target(path).write_bytes(data)
        self.written[path] = len(data)

    def note_written(self, paths: dict[str, int]) -> None:
        """Pages a worker process wrote into the stage itself."""
        self.written.update(paths)

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def commit(self, manifest: dict[str, str]) -> tuple[WriteStats, list]:
        """Make the output hold exactly the pages of `manifest` (path → fingerprint).
        Returns what was written and the identity of the new marker."""
        try:
            return self._commit(manifest)
        except BaseException:
            self.abort()
            raise

    def _commit(self, manifest):
        out_dir, stage = self.out_dir, self.stage
        stats = WriteStats(len(self.written), sum(self.written.values()))
        deleted = sorted(set(self.previous) - set(manifest)) if self.previous else []
        if self.previous and not self.written and not deleted:
            self.abort()                                  # nothing changed: the output stays as it is
            return stats, marker_id(out_dir)
        share = len(self.written) / max(1, len(manifest))
        incremental = self.incremental if self.incremental is not None else share <= FULL_SWAP_SHARE
        if self.previous and incremental and out_dir.exists():
            # The journal promises that the next build completes the move, so what it names must
            # be on disk before it is: the staged files and their folders are synced first (a
            # dozen files for a one-policy edit). A reader may see the first pages moved in
            # before the last for the few milliseconds the moves take; a build killed in
            # between is completed by the next build before it does anything else.
            # (issue 19) `durable = False` (the preview server, whose output is a temporary folder)
            # skips the syncs: they guard against a power cut, not a killed process; 30-160 ms.
            sync = _fsync_path if self.durable else (lambda _p: None)
            for rel in self.written:
                sync(self.stage.joinpath(*_safe_relpath(rel).parts))
            for folder in self._made | {self.stage}:
                sync(folder)
            journal = out_dir.with_name(f".{out_dir.name}{JOURNAL}")
            tmp = journal.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"stage": str(stage), "write": sorted(self.written), "delete": deleted}, f)
                f.flush()
                if self.durable:
                    os.fsync(f.fileno())
            os.replace(tmp, journal)                      # the commit point
            sync(journal.parent)
            _apply(out_dir, stage, sorted(self.written), deleted)
            _write_marker(out_dir, manifest)
            for folder in {out_dir.joinpath(*_safe_relpath(rel).parts).parent for rel in self.written} | {out_dir}:
                sync(folder)                              # the moves are durable before the journal goes
            journal.unlink()
            shutil.rmtree(stage, ignore_errors=True)
            return stats, marker_id(out_dir)
        kept = [p for p in manifest if p not in self.written]
        for rel in kept:                                  # a whole new tree: link the unchanged pages
            src = out_dir.joinpath(*_safe_relpath(rel).parts)
            try:
                os.link(src, self.target(rel))
            except OSError:
                shutil.copy2(src, self.target(rel))
        _write_marker(stage, manifest)
        os.chmod(stage, 0o755)
        if out_dir.exists():
            if _exchange(stage, out_dir):
                _remove_later(stage)                      # stage now holds the old site
            else:
                old = out_dir.with_name(f".{out_dir.name}.new-{os.getpid()}-old")
                os.rename(out_dir, old)
                os.rename(stage, out_dir)
                _remove_later(old)
        else:
            os.rename(stage, out_dir)
        return stats, marker_id(out_dir)
