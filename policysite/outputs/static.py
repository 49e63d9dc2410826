"""Static files, under `static/`: the default theme's, each replaced by the site's file of the
same path. Symbolic links are followed only when they stay inside the site (the rule policies
follow too), so a link to a file elsewhere on the machine is never published."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..config import THEME_STATIC
from . import Artifact, Context, FileSpec, content

MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png",
               ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
               ".ico": "image/x-icon", ".pdf": "application/pdf", ".txt": "text/plain", ".json": "application/json"}


class Static:
    name = "static"
    parallel = False

    def specs(self, ctx: Context):
        cfg = ctx.site.config
        found: dict[str, tuple[str, bytes]] = {}
        for root, own in ((THEME_STATIC, False), (cfg.path_of("theme.static_dir"), True)):
            for rel, path in _files(root, cfg.root if own else None, ctx.out):
                found["static/" + rel] = path.read_bytes()
        return [FileSpec(rel, self.name, data) for rel, data in sorted(found.items())]

    def depends(self, spec: FileSpec) -> tuple:
        return content(hashlib.sha256(spec.key).hexdigest())

    def render(self, spec: FileSpec, ctx: Context) -> Artifact:
        return Artifact(spec.out_path, MEDIA_TYPES.get(os.path.splitext(spec.out_path)[1].lower(),
                                                       "application/octet-stream"), spec.key)


STATIC = Static()


def _files(root: Path, site_root: Path | None, out) -> list[tuple[str, Path]]:
    """The files under `root`, names starting with '.' left out. With `site_root` (the site's
    own folder), a symbolic link is followed only if it leads inside the site."""
    if not root.is_dir():
        return []
    found = []
    root = root.resolve()
    for path in sorted(root.rglob("*")):
        if path.name.startswith(".") or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if site_root is not None and (path.is_symlink() or path.resolve() != path.absolute()):
            try:
                path.resolve(strict=True).relative_to(site_root)
            except ValueError:
                if out is not None:
                    out.error(path, None, None, "symbolic link points outside the site; not published",
                              "copy the file into static/ instead of linking to it")
                continue
            except (OSError, RuntimeError):
                if out is not None:
                    out.error(path, None, None, "symbolic link leads to nothing (its target is gone, or it links "
                              "to itself)", "delete the link, or copy the file it meant into static/")
                continue
        if path.is_file():
            found.append((path.relative_to(root).as_posix(), path))
    return found
