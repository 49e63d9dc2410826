"""The command line's side of the resident builder (issue 19; the builder is resident.py).

`python build.py` calls `hand_over(argv)` before it imports anything else: if this site has a
resident builder, the whole command (its stamp check included) runs there, and what it prints
comes back here as it is printed. So this module imports only what Python has already loaded
at start-up, and the C socket module: at 1,000 policies the command line's own start-up and
imports (argparse, the config, the stamp) took ~0.15 s of a one-policy edit, and starting
Python takes ~0.02 s.

Only a plain build is handed over (the options below); anything else, and any builder that
cannot take it (none runs, another Python or engine folder, another environment, an engine
whose code changed), is built by this process as before.

The protocol, on a Unix socket in a folder of this user's alone (`socket_path`):
    client → builder   one request: NUL-separated fields (`request`), then the client waits
    builder → client   frames: one byte of kind, four of length (big-endian), the payload
                       a accepted · r refused (reason) · o stdout text · e stderr text · s status
Closing the connection (Ctrl-C) calls the build off.
"""
from __future__ import annotations

import os
import sys

PROTOCOL = "policysite-resident-1"
ENV = "POLICYSITE_RESIDENT"                 # 0: never; 1: for any site; unset: for large sites
IDLE_ENV = "POLICYSITE_RESIDENT_IDLE"
# The environment a build reads (directly or through the libraries it drives): a client whose
# values differ builds in its own process.
ENV_KEYS = ("TZ", "SOURCE_DATE_EPOCH")
ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
# build options that a resident builder runs as the command line would (with their values)
_FLAGS = {"-q", "--quiet", "--drafts", "--timings"}
_VALUED = {"--config", "--out", "--jobs", "-j"}


def wanted() -> str:
    """'0' (never), '1' (any site) or '' (large sites), from POLICYSITE_RESIDENT."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("0", "no", "off", "false"):
        return "0"
    return "1" if value in ("1", "yes", "on", "true") else ""


def supported() -> bool:
    return sys.platform.startswith("linux")


def identity() -> list[str]:
    """What a client and its builder must share: the Python, the engine's folder, and the
    environment the build reads (the engine's code the builder checks itself)."""
    env = sorted(f"{k}={v}" for k, v in os.environ.items()
                 if (k in ENV_KEYS or k.startswith(("POLICYSITE_", "PAGEFIND_"))) and k not in (ENV, IDLE_ENV))
    groups = ",".join(map(str, sorted({os.getgid(), *os.getgroups()})))   # who may read what it writes
    return [sys.executable, sys.version, ENGINE_DIR, groups, *env]


def socket_path(config: str) -> str | None:
    """The socket of the resident builder of the site whose config file is `config`, in a
    folder only this user can open; None where there is no such folder."""
    import zlib
    base = os.environ.get("XDG_RUNTIME_DIR")
    uid = os.getuid()
    folder = os.path.join(base, "policysite") if base and os.path.isdir(base) else \
        os.path.join(os.environ.get("TMPDIR") or "/tmp", f"policysite-{uid}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(folder)
    except OSError:
        return None
    import stat
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None                                  # not ours alone: no resident builder
    real = os.path.realpath(config).encode("utf-8", "surrogateescape")
    return os.path.join(folder, f"{zlib.crc32(real):08x}{zlib.adler32(real):08x}.sock")


def config_of(argv: list[str]) -> str | None:
    """The config file of a plain build command, or None: not one to hand over."""
    args = argv[1:] if argv[:1] == ["build"] else argv
    config = "config.toml"
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, value = a.partition("=")
        if a in _FLAGS:
            i += 1
            continue
        if name in _VALUED:
            if not eq:
                if i + 1 >= len(args):
                    return None
                value = args[i + 1]
                i += 1
            if name == "--config":
                config = value
            i += 1
            continue
        return None
    return config


def request(argv: list[str], config: str) -> bytes:
    import time
    mask = os.umask(0o022)
    os.umask(mask)                                   # the files it writes get this command's umask
    fields = [PROTOCOL, os.getcwd(), os.path.realpath(config), repr(time.monotonic()), oct(mask), *identity(), "",
              *argv]
    return frame(b"q", "\0".join(fields).encode("utf-8", "surrogateescape"))


def frame(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


class Refused(Exception):
    pass


def hand_over(argv: list[str]) -> int | None:
    """Run `build.py argv` in this site's resident builder and return its exit status; None
    when it was not handed over (build here)."""
    if not supported() or wanted() == "0":
        return None
    config = config_of(argv)
    if config is None:
        return None
    return send(argv, config)


def send(argv: list[str], config: str) -> int | None:
    """`argv` run by the resident builder of the site of `config`: its exit status, or None."""
    path = socket_path(config)
    if path is None:
        return None
    import _socket
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        sock.sendall(request(argv, config))
        return _answer(sock)
    except (OSError, Refused):
        return None                       # none there, or it would not (before it accepted): nothing was built
    except KeyboardInterrupt:
        return 130                        # the connection closes: the builder calls the build off
    finally:
        sock.close()


def _answer(sock) -> int:
    buffer = b""
    accepted = False
    failed = False                        # this command's own output could not be written
    out, err = sys.stdout, sys.stderr

    def put(stream, payload: bytes) -> None:
        nonlocal failed
        if failed:
            return
        try:
            stream.write(payload.decode("utf-8", "replace"))
            stream.flush()
        except (OSError, ValueError):
            failed = True                 # (a full disk, a closed pipe): the build goes on there
    while True:
        while len(buffer) >= 5 and len(buffer) >= 5 + int.from_bytes(buffer[1:5], "big"):
            kind, size = buffer[:1], int.from_bytes(buffer[1:5], "big")
            payload, buffer = buffer[5:5 + size], buffer[5 + size:]
            if kind == b"a":
                accepted = True
            elif kind == b"r":
                raise Refused(payload.decode("utf-8", "replace"))
            elif kind == b"o":
                put(out, payload)
            elif kind == b"e":
                put(err, payload)
            elif kind == b"s":
                return int(payload) or (1 if failed else 0)
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            chunk = b""
        if not chunk:
            if not accepted:
                raise Refused("the resident builder ended")     # (it was ending: idle, or its engine changed)
            # It ended in the middle of the build (killed): the output is as it was, or as it
            # published it; the next build checks either way.
            put(err, f"error: the resident builder stopped during the build; build again "
                     f"(or without it: {ENV}=0 python build.py)\n".encode())
            return 1
        buffer += chunk
