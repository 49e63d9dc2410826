"""OpenCC's C API (opencc.h) through ctypes, from the library the `opencc` package ships.

One converter opened this way is the same converter as the package's `OpenCC` class (same
library, same configuration file, same default options: tests/test_script.py compares the two
on every CJK character), but a call through ctypes lets go of Python's lock, which the
package's binding holds while it loads a configuration's dictionaries (~0.1 s for s2tw). So
`script.preload` can load them on another core while the build imports, reads and plans.

Set the environment variable POLICYSITE_OPENCC_CAPI=0 to turn it off: every configuration is
then opened with the package's own class (slower to start, same output).
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

import opencc

ENV = "POLICYSITE_OPENCC_CAPI"


class CConverter:
    """One configuration opened through the C API."""

    def __init__(self, lib, handle: int):
        self._lib, self._handle = lib, handle

    def convert(self, text: str) -> str:
        """(OpenCC stops at a NUL character: Converter.convert converts around them.)"""
        data = text.encode("utf-8")
        out = self._lib.opencc_convert_utf8(self._handle, data, len(data))
        if not out:
            why = self._lib.opencc_error() or b"no reason given"
            raise RuntimeError(f"OpenCC could not convert the text: {why.decode(errors='replace')}")
        try:
            return ctypes.string_at(out).decode("utf-8")
        finally:
            self._lib.opencc_convert_utf8_free(out)


_LIB: list = []


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "off", "false")


def c_api():
    """OpenCC's C API in the package's compiled module, or None where it does not export it
    (Windows builds export no C symbols from a Python extension) or POLICYSITE_OPENCC_CAPI=0."""
    if not enabled():
        return None
    if not _LIB:
        lib = None
        try:
            lib = ctypes.CDLL(opencc.opencc_clib.__file__)
            lib.opencc_open.restype = ctypes.c_void_p
            lib.opencc_open.argtypes = [ctypes.c_char_p]
            lib.opencc_convert_utf8.restype = ctypes.c_void_p
            lib.opencc_convert_utf8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            lib.opencc_convert_utf8_free.restype = None
            lib.opencc_convert_utf8_free.argtypes = [ctypes.c_void_p]
            lib.opencc_error.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            lib = None
        _LIB.append(lib)
    return _LIB[0]


def config_file(profile_or_path: str) -> Path:
    """The JSON file of a profile name ("s2tw") or of a configuration file given by its path."""
    if profile_or_path.endswith(".json"):
        return Path(profile_or_path)
    return Path(opencc.__file__).with_name("clib") / "share" / "opencc" / f"{profile_or_path}.json"


def open_with_c_api(lib, profile_or_path: str) -> CConverter | None:
    """Anything amiss gives None, and leaves the configuration to the package's own class,
    which reports it properly when the build first converts."""
    try:
        config = config_file(profile_or_path)
        if not config.is_file():
            return None
        handle = lib.opencc_open(os.fsencode(config))
        if handle and handle != ctypes.c_void_p(-1).value:
            return CConverter(lib, handle)
    except Exception:                                   # noqa: BLE001 - (on the preload thread)
        pass
    return None
