"""The resident builder (issue 19): a build process that stays, so that `python build.py` after
an edit hands its whole command to a process that has everything loaded, instead of starting
from nothing.

A command-line build that starts from nothing spends most of a one-policy edit before and
around the pages: Python's imports, the last build's state (3.5 MB at 1,000 policies), OpenCC's
dictionaries, the compiled templates, and a Pagefind run that loads its Chinese dictionary for
each index (bench/README.md has the figures). The resident builder keeps all of them, as the
preview server does (`pipeline.Builder`), and a Pagefind service beside them (outputs/search.py,
`Service`).

    python build.py
        → handoff.py: a plain build, and this site has a resident builder: send it the command
        → here: the same `cli.main(argv)`, stamp check included, in the client's folder, with
          the state in memory; what it prints goes back as it is printed, then the exit status
        → none there: the command line builds in its own process, as ever; then, for a large
          site, starts one (`start`)

- **Same command, same output.** It runs the command line's own code on the same arguments, in
  the client's working folder; it refuses a client whose Python, engine folder or environment
  differs (handoff.identity), and ends as soon as the engine's code or data changed under it
  (the engine fingerprint): the client then builds in its own process, and starts a new one.
- **State shared with other builds.** Its state in memory stands only while `state.pickle` is
  the one it saved or read: another build (`serve`, a build without it) that saved one since
  makes it read that one. Its state is saved after the client has its answer
  (`BuildRequest.finish`) and before the next command; killed before, the output's new marker
  tells the next build to check more (pipeline.py).
- **Interrupted.** The client's Ctrl-C closes the connection; the build is called off
  (`outputs.Cancelled`), and the published folder stays as it was.
- **When.** Started by a command-line build of a site of at least `MIN_POLICIES` policies (at
  1,000 policies a one-policy edit built from nothing takes ~1 s; a small site builds in well
  under a second without it). `POLICYSITE_RESIDENT=0` never starts or uses one, `=1` starts one
  for any site. It ends after `IDLE_SECONDS` without a command (`POLICYSITE_RESIDENT_IDLE`),
  when its site's config file is gone, or with `python build.py resident --stop`.
- **Who may connect.** The socket lies in a folder only its user can open, and the builder
  checks the peer's user id too (SO_PEERCRED): a build runs with its builder's rights.
- **Where.** Linux (Unix sockets with peer credentials, and `fork` for the worker processes);
  elsewhere every build runs in its own process, as before.
- **Memory.** Between commands, what the build keeps is moved out of the garbage collector's
  sight (`gc.freeze`), as the command line does with the state it reads: a collection in the
  middle of the next build would go through ~10^6 objects (50–100 ms at 1,000 policies).
"""
from __future__ import annotations

import gc
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import handoff
from .handoff import frame

MIN_POLICIES = 200
IDLE_SECONDS = 15 * 60
UNFREEZE_EVERY = 25          # commands between full collections (frozen cycles are freed then)


class _Stream:
    """sys.stdout or sys.stderr of a command run for a client: each write goes to the client."""

    def __init__(self, send, kind: bytes):
        self.send, self.kind = send, kind
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text: str) -> int:
        if text:
            self.send(self.kind, text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class Resident:
    def __init__(self, config_path: Path):
        from . import pipeline
        self.config_path = Path(config_path)
        self.engine = pipeline.engine_fingerprint()
        self.identity = handoff.identity()
        self.state = None
        self.store = None
        self.state_id = None      # the identity of state.pickle when this state was saved or read
        self.cache_dir = self.config_path.parent / pipeline.CACHE_DIR
        self.running = True
        self.commands = 0
        self.finish_failed = False
        self.idle = IDLE_SECONDS
        self.config_id = self._config_id()

    def _config_id(self):
        try:
            st = os.stat(self.config_path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _state_file_id(self):
        try:
            st = os.stat(self.cache_dir / "state.pickle")
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def warm(self) -> None:
        """Everything a build loads, loaded now: the engine, the last build's state, OpenCC's
        dictionaries, the templates' module, Pagefind's dictionary."""
        from . import pipeline, script
        from .config import load_config
        from .errors import Collector
        from .outputs import search
        from .render import DocStore
        from . import cli  # noqa: F401 - the command line's code, for the commands to come
        cfg = load_config(self.config_path, Collector())
        if not cfg.fatal:
            script.preload(cfg["scripts.traditional"], cfg.path_of("scripts.phrases"))
        self.state_id = self._state_file_id()
        self.state = pipeline.load_state(self.cache_dir, self.engine)
        self.store = DocStore(pipeline.engine_cache(self.cache_dir, self.engine) / "docs", self.engine)
        search.keep_service()
        if not cfg.fatal:
            script.settle()
        self._tidy()

    def _tidy(self) -> None:
        """Between commands: collect, then keep what survives out of later collections' way."""
        self.commands += 1
        if self.commands % UNFREEZE_EVERY == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    # --- one command ---------------------------------------------------------------------

    def handle(self, conn: socket.socket) -> None:
        lock = threading.Lock()

        def send(kind: bytes, payload: bytes = b"") -> None:
            with lock:
                try:
                    conn.sendall(frame(kind, payload))
                except OSError:
                    pass                              # the client went: the build is called off

        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():
            return send(b"r", b"another user")
        conn.settimeout(5.0)
        try:
            data = self._read(conn)
        except (OSError, ValueError):
            return
        conn.settimeout(None)
        fields = data.decode("utf-8", "surrogateescape").split("\0")
        if len(fields) < 5 or fields[0] != handoff.PROTOCOL:
            return send(b"r", b"another version")
        cwd, config, sent = fields[1], fields[2], fields[3]
        try:
            mask = int(fields[4], 8) & 0o777
        except ValueError:
            return send(b"r", b"not a request")
        rest = fields[5:]
        split = rest.index("") if "" in rest else len(rest)
        identity, argv = rest[:split], rest[split + 1:]
        if argv[:1] == ["resident"]:                                  # resident --status / --stop
            return self._control(argv, send)
        if identity != self.identity:
            return send(b"r", b"another Python, engine folder or environment")
        if config != str(self.config_path):
            return send(b"r", b"another site")
        from . import pipeline
        if pipeline.engine_fingerprint() != self.engine:      # its code changed: this process is stale
            self.running = False
            return send(b"r", b"the engine changed")
        send(b"a")
        cancel = threading.Event()

        def watch() -> None:            # the client closing the connection (Ctrl-C) calls the build off
            try:
                while conn.recv(1024):
                    pass
            except OSError:
                pass
            cancel.set()

        threading.Thread(target=watch, daemon=True).start()
        finish: list = []
        try:
            handed = time.monotonic() - float(sent)
        except ValueError:
            handed = 0.0
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(send, b"o"), _Stream(send, b"e")
        umask = os.umask(mask)                     # the files are made as the command's own process makes them
        try:
            os.chdir(cwd)
            from . import cli
            status = cli.main(argv, runner=lambda request, laps: self.run(request, laps, cancel, finish, handed))
            if finish and self.finish_failed:      # the last save failed: this one is said to the client
                for step in finish:
                    step()
                finish.clear()
                self.finish_failed = False
        except SystemExit as e:                             # argparse: a usage error (already printed)
            status = e.code if isinstance(e.code, int) else 2
        except BaseException:                               # noqa: BLE001 - said to the client; the builder goes on
            import traceback
            traceback.print_exc()
            status = 1
        finally:
            os.umask(umask)
            sys.stdout, sys.stderr = out, err
            os.chdir("/")
        send(b"s", str(status).encode())
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        umask = os.umask(mask)
        try:
            for step in finish:                      # the state and the stamp, once the client has its answer
                step()
        except Exception:                            # noqa: BLE001 - (a full disk): the next command saves in
            self.finish_failed = True                # front of its answer, so that it is told, as in its own process
        finally:
            os.umask(umask)
        if finish:
            self.state_id = self._state_file_id()
        self._tidy()

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        """The request: one frame of kind q."""
        data = b""
        while len(data) < 5 or len(data) < 5 + int.from_bytes(data[1:5], "big"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise ValueError("the client went")
            data += chunk
            if data[:1] != b"q":
                raise ValueError("not a request")
        return data[5:5 + int.from_bytes(data[1:5], "big")]

    def run(self, request, laps: list, cancel, finish: list, handed: float):
        """The build of `cli.cmd_build`, with this process's state (`request`: pipeline.BuildRequest)."""
        from dataclasses import replace
        from . import pipeline
        if self._state_file_id() != self.state_id:     # another build saved a state since: read that one
            self.state = None
            self.state_id = self._state_file_id()
        laps.append(("handed to the resident builder", handed))
        result, state = pipeline.run(replace(request, cancel=cancel, finish=finish), self.state, self.store)
        self.state = state
        return result

    def _control(self, argv: list[str], send) -> None:
        if "--stop" in argv:
            self.running = False
            send(b"o", b"The resident builder of this site has ended.\n")
        else:
            rss = 0
            try:
                with open("/proc/self/status") as f:
                    rss = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
            except OSError:
                pass
            send(b"o", (f"The resident builder of this site runs (process {os.getpid()}, {self.commands - 1} "
                        f"commands, peak memory {rss // 1024} MB); it ends after {self.idle:.0f} s without a "
                        "command, or with  python build.py resident --stop\n").encode())
        send(b"s", b"0")

    def serve(self, listener: socket.socket, idle: float) -> None:
        self.idle = idle
        listener.settimeout(min(idle, 30.0))
        last = time.monotonic()
        while self.running:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                if time.monotonic() - last > idle or self._config_id() != self.config_id:
                    return                           # idle, or its site is gone (or its config file replaced)
                continue
            with conn:
                self.handle(conn)
            last = time.monotonic()


# --- starting and ending ------------------------------------------------------------------------

def start(config_path: Path) -> bool:
    """Start a resident builder for this site, detached: it outlives this command, holds none
    of its output streams, and warms up on its own."""
    if not handoff.supported() or handoff.socket_path(str(config_path)) is None:
        return False
    code = (f"import sys; sys.path.insert(0, {str(Path(handoff.ENGINE_DIR).parent)!r}); "
            f"from policysite.resident import main; main({os.path.realpath(config_path)!r})")
    try:
        subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        return False
    return True


def main(config: str) -> None:
    """The resident builder's process (started by `start`)."""
    os.chdir("/")
    config_path = Path(config)
    path = handoff.socket_path(config)
    if path is None:
        return
    import fcntl
    try:                                     # held while it lives: one builder per site, however many start
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return                               # another one is starting or running
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            os.unlink(path)                  # (left by a builder that was killed: no builder holds the lock)
        except FileNotFoundError:
            pass
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(8)                   # a client that comes while it warms up waits for it
    except OSError:
        return
    try:
        gc.set_threshold(100_000, 50, 50)                  # as the command line (cli.py)
        resident = Resident(config_path)
        try:
            idle = float(os.environ.get(handoff.IDLE_ENV) or IDLE_SECONDS)
        except ValueError:
            idle = IDLE_SECONDS
        resident.warm()
        resident.serve(listener, idle)
    finally:
        try:
            os.unlink(path)                                # (no other builder: it holds the lock)
        except OSError:
            pass
        listener.close()
        from .outputs import search
        if search.SERVICE is not None:
            search.SERVICE.close()
