"""Compare two built sites file by file: the check that a change of the code's shape kept the
output byte-identical.

    python bench/compare_trees.py BEFORE AFTER

Prints every file that is only in one tree or differs (with the first differing line), and exits
1 if there is any. The output folder's marker (`.policysite`) is ignored: it names the build.
"""
from __future__ import annotations

import sys
from pathlib import Path

IGNORED = {".policysite"}


def files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_file() and p.name not in IGNORED}


def first_difference(a: bytes, b: bytes) -> str:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), 1):
        if x != y:
            return f"line {n}:\n    - {x[:200]!r}\n    + {y[:200]!r}"
    return f"lengths {len(a)} and {len(b)}"


def compare(before: Path, after: Path) -> list[str]:
    a, b = files(before), files(after)
    out = [f"only in {before}: {p}" for p in sorted(a.keys() - b.keys())]
    out += [f"only in {after}: {p}" for p in sorted(b.keys() - a.keys())]
    for p in sorted(a.keys() & b.keys()):
        x, y = a[p].read_bytes(), b[p].read_bytes()
        if x != y:
            out.append(f"differs: {p} at {first_difference(x, y)}")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/compare_trees.py BEFORE AFTER")
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(found) or f"identical: {len(files(Path(sys.argv[1])))} files")
    sys.exit(1 if found else 0)
