"""Diagnostics: every problem a build finds, with file, line, field and a fix.

Stages never print and never exit: they return or raise diagnostics, and the
CLI decides how to show them. A build collects every problem before it stops,
so a webmaster fixes all of them in one pass.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int | None
    field: str | None
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" or "warning"

    def format(self) -> str:
        where = safe(self.file) if self.line is None else f"{safe(self.file)}:{self.line}"
        field = f" [{safe(self.field)}]" if self.field else ""
        text = f"{where}: {self.severity}{field}: {safe(self.message, keep_newlines=True)}"
        if self.fix:
            text += f"\n    fix: {safe(self.fix, keep_newlines=True)}"
        return text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


# (issue 18) What a terminal would act on or hide: C0 and C1 controls (escape sequences that move
# the cursor, retitle the window or clear the screen, in a file name), bidi controls that reorder
# the line, lone surrogates (which cannot even be printed). Written as \xNN or \uNNNN instead.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe(text: str, keep_newlines: bool = False) -> str:
    """A text as it may go to a terminal: control and direction characters escaped."""
    def esc(m):
        c = m.group()
        if keep_newlines and c == "\n":
            return c
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return _UNSAFE.sub(esc, str(text))


class BuildError(Exception):
    """Raised when a stage found problems that stop the build."""

    def __init__(self, diagnostics: list[Diagnostic]):
        # each problem once: a document that fails is rendered for each script it is shown in
        self.diagnostics = sorted(dict.fromkeys(diagnostics), key=_sort_key)
        super().__init__("\n".join(d.format() for d in self.diagnostics))

    def __reduce__(self):                 # raised in a worker process, it must arrive whole
        return BuildError, (self.diagnostics,)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def _sort_key(d: Diagnostic):
    return (d.file, d.line or 0, d.field or "", d.message)


class Collector:
    """Accumulates diagnostics for one stage; raise_if_errors() ends the stage."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, file, line, field, message, fix=None) -> None:
        self.items.append(Diagnostic(display_path(file), line, field, message, fix))

    def warn(self, file, line, field, message, fix=None) -> None:
        self.items.append(Diagnostic(display_path(file), line, field, message, fix, "warning"))

    def extend(self, items) -> None:
        self.items.extend(items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise BuildError(self.items)


def display_path(path) -> str:
    """A path as the webmaster would type it: relative to the working directory when possible.

    Symbolic links are not resolved first, so a link is named as the link, not as its target."""
    if isinstance(path, str) and os.path.isabs(path):
        path = Path(path)
    if isinstance(path, Path):
        cwd = os.getcwd()
        for candidate in (lambda: Path(os.path.abspath(path)), path.resolve):
            try:
                return str(candidate().relative_to(cwd))
            except (ValueError, OSError, RuntimeError):     # elsewhere, or a symlink loop
                continue
        return str(path)
    return str(path)
