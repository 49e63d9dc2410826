"""Fingerprints: what each artifact was made from, as one hash per output path.

Every artifact depends on `global_fp` (engine, config, templates, strings, phrase tables,
build date) and on what its output declares (outputs/__init__.py): `GLOBAL` nothing more,
`LISTING` every version's metadata, `BODIES` every document's content, `policy(slug)` one
policy's documents plus the index of policies (their versions, states and locales: the
links between policies), `group(name, slugs)` those policies' documents, versions, states and
locales (not the rest of the index: a search shard is not made again when another policy is
added), `content(digest)` its own bytes. An artifact whose fingerprint is
the one the published folder was built with is not made again.
"""
from __future__ import annotations

import hashlib

from .model import Site


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def global_fingerprint(cfg, drafts: bool, engine: str, templates: str) -> str:
    """Hash of everything every artifact depends on: engine code, config, templates and their
    strings (`templates`: Renderer.templates_fingerprint), phrase tables, build date."""
    import os
    from pathlib import Path
    h = hashlib.sha256(f"{engine}|{drafts}|{cfg.today}|{templates}".encode())
    for f in (cfg.path, cfg.path_of("scripts.phrases")):
        # relative to the site: `--config config.toml` and `--config /abs/site/config.toml` are one site
        h.update(os.path.relpath(Path(f).resolve(), cfg.root).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


class Dependencies:
    """The fingerprint of each kind of dependency, computed once per build when first asked for.
    (Strings joined, not repr() of nested tuples: this runs over every policy on every build.)"""

    def __init__(self, site: Site, global_fp: str):
        self.site, self.global_fp = site, global_fp
        self._policies: dict | None = None
        self._listing: str | None = None
        self._bodies: str | None = None
        self._lines: dict = {}                 # slug -> its versions, states and locales; its documents

    def _scan(self) -> None:
        index, listing, policy_docs = [], [], {}
        for p in self.site.policies:
            versions, digests = [], []
            for v in p.versions:
                docs = v.docs
                versions.append(f"{v.version}\x1f{v.state}\x1f{','.join(v.langs)}")
                for lang in sorted(docs):
                    src = docs[lang]
                    listing.append(f"{p.slug}\x1f{v.version}\x1f{v.state}\x1f{lang}\x1f{src.meta_digest}")
                    digests.append(src.digest)
            line = f"{p.slug}\x1e{','.join(p.shown.langs)}\x1e" + "\x1e".join(versions)
            index.append(line)
            digests.sort()
            policy_docs[p.slug] = "".join(digests)
            self._lines[p.slug] = line + "\x1d" + policy_docs[p.slug]
        index_fp = _digest("\n".join(sorted(index)))
        self._listing = _digest(self.global_fp + "\n".join(listing))
        self._policies = {slug: _digest(self.global_fp + index_fp + docs) for slug, docs in policy_docs.items()}
        self._bodies = _digest(self.global_fp + "bodies" + index_fp + "".join(sorted(policy_docs.values())))

    def part(self, slug: str) -> str:
        """One policy's own fingerprint: its versions, states, locales and documents (no global
        part: compare it only between builds with the same `global_fp`)."""
        if self._policies is None:
            self._scan()
        return _digest(self._lines[slug])

    def of(self, dep: tuple) -> str:
        kind = dep[0]
        if kind == "global":
            return self.global_fp
        if kind == "content":
            return _digest(self.global_fp + dep[1])
        if self._policies is None:
            self._scan()
        if kind == "policy":
            return self._policies[dep[1]]
        if kind == "listing":
            return self._listing
        if kind == "bodies":
            return self._bodies
        if kind == "group":
            return _digest(self.global_fp + "group\x1d" + dep[1] + "\x1d" + "\x1c".join(map(self._lines.__getitem__, dep[2:])))
        raise ValueError(f"unknown dependency {dep!r}")


# The last build's fingerprints of an output's specs, for a list of specs seen again (the page
# plan, kept while the site's shape is the same: plan.plan_of): output name -> (the list, each
# dependency's paths, each dependency's fingerprint, each path's fingerprint). Only the
# dependencies are looked at again, ~1,000 instead of ~16,000 pages at 1,000 policies
# (measured 2026-12-03: the pages' fingerprints 9-12 ms → ~2 ms).
_LAST: dict[str, tuple] = {}


def fingerprints(deps: Dependencies, specs: list[tuple[object, list]]) -> dict[str, str]:
    """out_path -> fingerprint, for each output's specs (`specs`: (output, [spec]) pairs)."""
    fps: dict[str, str] = {}
    known: dict[tuple, str] = {}              # each dependency's fingerprint, computed once

    def fp_of(dep) -> str:
        fp = known.get(dep)
        if fp is None:
            fp = known[dep] = deps.of(dep)
        return fp

    for output, items in specs:
        last = _LAST.get(output.name)
        if last is not None and last[0] is items:          # the same list: its dependencies only
            _, paths_of, dep_fps, path_fps = last
            for dep, paths in paths_of.items():
                fp = fp_of(dep)
                if dep_fps[dep] != fp:
                    dep_fps[dep] = fp
                    for path in paths:
                        path_fps[path] = fp
            fps.update(path_fps)
            continue
        paths_of: dict[tuple, list[str]] = {}
        path_fps: dict[str, str] = {}
        for spec, dep in zip(items, map(output.depends, items)):
            paths_of.setdefault(dep, []).append(spec.out_path)
            path_fps[spec.out_path] = fp_of(dep)
        fps.update(path_fps)
        _LAST[output.name] = (items, paths_of, {dep: known[dep] for dep in paths_of}, path_fps)
    return fps


def bundle_members(fps: dict[str, str], made: dict[str, list[str]], previous: dict[str, str]) -> dict[str, str]:
    """The manifest entries of bundles' further files (outputs.Artifact.files): those made by this
    build (`made`: bundle path -> member paths), and those of bundles that were not made again,
    kept as the previous build published them. A member's entry is its bundle's fingerprint and
    path, so it is kept exactly while its bundle is."""
    members = {}
    for owner, paths in made.items():
        for path in paths:
            members[path] = f"{fps[owner]}@{owner}"
    for path, value in previous.items():
        owner = value.partition("@")[2]
        if owner and owner not in made and fps.get(owner) is not None and value == f"{fps[owner]}@{owner}":
            members[path] = value
    return members
