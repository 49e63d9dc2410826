"""The conversion tables, fed to OpenCC itself.

OpenCC's configurations (JSON) name a segmentation dictionary and a chain of conversion steps,
each a dictionary or a group of them; a text dictionary (one `key<TAB>value` a line) can sit in
any group beside OpenCC's own .ocd2 files (OpenCC: data/config/s2tw.json, src/TextDict.cpp,
src/DictGroup.cpp). So instead of cutting the text around our phrases and converting the pieces
apart, the build writes a configuration of its own for each profile: OpenCC's, with our
dictionaries in front, so its maximum-match segmentation sees our phrases among its own.

Layers, for Simplified → Traditional (first wins):
  site     the site's phrases.toml [to-hant]: exact final forms, protected from later steps;
  project  policysite/phrases.toml, legal_phrases.toml and the rules of conversion_rules.toml,
           in OpenCC's standard Traditional: the standard's later steps apply to them;
  standard standards.toml [<profile>.to-hant]: OpenCC standard → the regional form, in the
           last step (帳戶, 計畫 for Taiwan);
and segmentation-only words (适用于, 说明 …) that keep a rule from firing inside a word.
For Traditional → Simplified: the site's and the project's [to-hans] (exact), then the
standard's [<profile>.to-hans] (regional form → OpenCC standard) before OpenCC's steps.

The configuration and its dictionaries are written once, content-addressed, into a cache folder
(POLICYSITE_OPENCC_DIR, or policysite-opencc-<uid> in the temporary folder): the same tables
give the same file names, so a build finds them already written.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import opencc

DATA = Path(__file__).parent
OPENCC_DATA = Path(opencc.__file__).with_name("clib") / "share" / "opencc"
# the standard (standards.toml table) of each profile, in both directions
STANDARD_OF = {"s2tw": "s2tw", "s2twp": "s2tw", "tw2s": "s2tw", "tw2sp": "s2tw",
               "s2hk": "s2hk", "s2hkp": "s2hk", "hk2s": "s2hk", "s2t": "s2t", "t2s": "s2t"}


@dataclass(frozen=True)
class ProjectTables:
    to_hant: dict[str, str]                  # Simplified → OpenCC standard Traditional
    to_hans: dict[str, str]                  # Traditional → Simplified (exact)
    segment_only: tuple[str, ...]            # words that only guide segmentation
    reasons: dict[str, str]                  # key of to_hant → its one-line reason
    standards: dict[str, dict] = field(default_factory=dict)


def _toml(name: str) -> dict:
    return tomllib.loads((DATA / name).read_text("utf-8"))


def expand_rules(rules: dict) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Entries, reasons and segmentation-only words from conversion_rules.toml."""
    entries, reasons, segment = {}, {}, []

    def add(key, value, why):
        entries[key], reasons[key] = value, why

    st = rules["surname_title"]
    skip = set(st.get("skip", ()))
    for s, sv in st["surnames"].items():
        for t, tv in st["titles"].items():
            if s + t not in skip:
                add(s + t, sv + tv, st["why"])
        for label, lv in st.get("contact_labels", {}).items():
            add(label + s, lv + sv, "a contact line names a person: " + st["why"])
    segment += st.get("not_surname", [])
    le = rules["le"]
    for w, wv in le["after"].items():
        add("了" + w, "了" + wv, le["why"])
    segment += le.get("not_le", [])
    pr = rules["prohibition"]
    for k, v in pr["keep"].items():
        add(k, v, pr["why"])
    for k, v in pr.get("except", {}).items():
        add(k, v, "不准 is 不準 (not accurate) here, before " + k[2:])
    for name in ("jin", "gan", "bei", "zhi"):                   # a word, and the characters before it that OpenCC joins
        rule = rules.get(name)
        for w, wv in (rule or {}).get("words", {}).items():
            add(w, wv, rule["why"])
            for b, bv in rule.get("before", {}).items():
                add(b + w, bv + wv, rule["why"])
    age = rules.get("age")
    if age:
        for w, wv in age["after"].items():
            add(w, wv, age["why"])
            for n, nv in age["numerals"].items():
                add(n + w, nv + wv, age["why"])
    return entries, reasons, segment


@lru_cache(maxsize=1)
def project_tables() -> ProjectTables:
    entries, reasons, segment = expand_rules(_toml("conversion_rules.toml"))
    for group in _toml("legal_phrases.toml").get("terms", []):
        for k, v in group.get("to-hant", {}).items():
            entries[k], reasons[k] = v, group["why"]
    defaults = _toml("phrases.toml")
    for k, v in defaults.get("to-hant", {}).items():
        entries[k], reasons[k] = v, reasons.get(k, "the project's default phrase table (policysite/phrases.toml)")
    standards = {}
    for name, table in _toml("standards.toml").items():
        standards[name] = {"name": table.get("name", name), "quotes": tuple(table.get("quotes", "“”‘’")),
                           "to-hant": dict(table.get("to-hant", {})), "to-hans": dict(table.get("to-hans", {}))}
    return ProjectTables(entries, dict(defaults.get("to-hans", {})), tuple(sorted(set(segment) - set(entries))),
                         reasons, standards)


def standard(profile: str) -> dict:
    return project_tables().standards[STANDARD_OF.get(profile, "s2t")]


def cache_dir() -> Path:
    where = os.environ.get("POLICYSITE_OPENCC_DIR")
    if where:
        folder = Path(where)
    else:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        folder = Path(tempfile.gettempdir()) / f"policysite-opencc-{uid}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():     # not ours: do not trust it
        raise RuntimeError(f"{folder} belongs to another user; set POLICYSITE_OPENCC_DIR to a folder of your own")
    return folder


def _write(folder: Path, text: str, suffix: str) -> Path:
    path = folder / (hashlib.sha256(text.encode("utf-8")).hexdigest()[:24] + suffix)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    return path


def _dict(folder: Path, table: dict[str, str]) -> dict | None:
    if not table:
        return None
    text = "".join(f"{k}\t{table[k]}\n" for k in sorted(table))
    return {"type": "text", "file": str(_write(folder, text, ".txt"))}


def _absolute(d: dict) -> dict:
    d = dict(d)
    if d.get("type") == "group":
        d["dicts"] = [_absolute(x) for x in d["dicts"]]
    elif "file" in d:
        d["file"] = str(OPENCC_DATA / d["file"])
    return d


def _front(extra: list, d: dict, policy: str) -> dict:
    extra = [x for x in extra if x]
    return {"type": "group", "match_policy": policy, "dicts": extra + [d]} if extra else d


@lru_cache(maxsize=16)
def _config(profile: str, site_hant: tuple, site_hans: tuple) -> str:
    folder = cache_dir()
    base = json.loads((OPENCC_DATA / f"{profile}.json").read_text("utf-8"))
    cfg = dict(base)
    cfg["normalization"] = [{**n, "dict": _absolute(n["dict"])} for n in base.get("normalization", [])]
    chain = [_absolute(step["dict"]) for step in base["conversion_chain"]]
    # s2t and t2s have no segmentation (the text is one segment, matched longest first in the
    # chain): segment with their first step's dictionaries, as s2tw segments with its own
    segmentation = base.get("segmentation", {"type": "mmseg", "dict": base["conversion_chain"][0]["dict"]})
    seg = _absolute(segmentation["dict"])
    tables, std = project_tables(), standard(profile)
    if profile.startswith("s2"):
        exact = dict(site_hant)
        # the site's entries win over the project's: a project entry or word that holds a site key
        # (个人信息 around the site's 信息) is left out, or segmentation would take it whole
        project = {k: v for k, v in tables.to_hant.items() if not any(s in k for s in exact)}
        words = {w: w for w in tables.segment_only if not any(s in w for s in exact)}
        first = [_dict(folder, exact), _dict(folder, project)]
        segment = first + [_dict(folder, words)]
        regional = std["to-hant"]
    else:
        site = dict(site_hans)
        exact = {**{k: v for k, v in tables.to_hans.items() if not any(s in k for s in site)}, **site}
        first = [_dict(folder, exact), _dict(folder, std["to-hans"])]
        segment = list(first)
        regional = {}
    identity = _dict(folder, {v: v for v in exact.values()})
    cfg["segmentation"] = {**segmentation, "dict": _front(segment, seg, "union")}
    steps = [_front(first, chain[0], "short_circuit")]
    for i, d in enumerate(chain[1:], 1):
        last = i == len(chain) - 1
        steps.append(_front([identity, _dict(folder, regional) if last else None], d, "short_circuit"))
    if regional and len(chain) == 1:
        steps.append({"type": "group", "match_policy": "short_circuit",
                      "dicts": [x for x in (identity, _dict(folder, regional)) if x]})
    cfg["conversion_chain"] = [{"dict": d} for d in steps]
    cfg["name"] = f"{base.get('name', profile)}, with policysite's tables"
    return str(_write(folder, json.dumps(cfg, ensure_ascii=False, indent=1, sort_keys=True), ".json"))


def config_for(profile: str, phrases: dict) -> str:
    """The path of the OpenCC configuration for `profile` with the project's tables and the
    site's `phrases` ({"to-hant": {...}, "to-hans": {...}})."""
    return _config(profile, tuple(sorted(phrases.get("to-hant", {}).items())),
                   tuple(sorted(phrases.get("to-hans", {}).items())))
