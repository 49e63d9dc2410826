"""`python build.py check --conversions`: a review report for people, not part of the site.

Lists every place where a Simplified source holds a character with several
Traditional forms (发 → 發/髮, 后 → 后/後, 于 → 于/於 …), with the form the build
chose and its context, so that someone can check legal text before it is
published. Fix a wrong choice with an entry in phrases.toml or a {{…}} marker.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from .errors import Collector
from .pipeline import load_phase
from .script import AMBIGUOUS, NC_MARK, Converter, load_phrases

CONTEXT = 8
SHOWN = 3


def _occurrences(conv: Converter, text: str, first_line: int, label: str):
    """(line, label, char, chosen, context) for each ambiguous character of text."""
    for n, line in enumerate(text.split("\n")):
        if not any(c in AMBIGUOUS for c in line):
            continue
        masked = NC_MARK.sub(lambda m: "\0" * len(m.group(0)), line)   # marked text is not converted
        converted = conv.convert(line, "zh-Hant")
        aligned = len(converted) == len(line)
        for i, c in enumerate(line):
            if c not in AMBIGUOUS or masked[i] == "\0":
                continue
            if aligned:
                chosen = converted[i]
            else:
                lo = max(0, i - CONTEXT)
                window = conv.convert(line[lo:i + CONTEXT + 1], "zh-Hant")
                chosen = window[i - lo] if len(window) == len(line[lo:i + CONTEXT + 1]) else "?"
            before = line[max(0, i - CONTEXT):i]
            after = line[i + 1:i + 1 + CONTEXT]
            yield first_line + n, label, c, chosen, f"{before}【{c}→{chosen}】{after}"


def conversion_report(config_path: Path, show_all: bool = False) -> str:
    diag = Collector()
    site = load_phase(Path(config_path), diag, drafts=True)
    cfg = site.config
    conv = Converter(cfg["scripts.traditional"], load_phrases(cfg.path_of("scripts.phrases"), diag))
    out = [f"Characters with several Traditional forms, as converted with {cfg['scripts.traditional']} "
           f"and the phrase tables.", "Review each choice; fix a wrong one in phrases.toml or with {{…}}.", ""]
    total = 0
    for policy in site.policies:
        for version in policy.versions:
            src = version.main
            if src.lang != "zh-Hans":
                continue
            if "zh-Hant" in version.docs:
                out.append(f"{src.display}: has a hand-written Traditional file; nothing is converted.\n")
                continue
            found = []
            for key in ("title", "issuer", "summary"):
                if src.meta.get(key):
                    found += _occurrences(conv, src.meta[key], src.lines.get(key, 1), key)
            for key, value in src.meta.get("contact", {}).items():
                found += _occurrences(conv, value, src.lines.get("contact", 1), f"contact.{key}")
            found += _occurrences(conv, src.body, src.body_line, "")
            if not found:
                continue
            total += len(found)
            out.append(f"{src.display}  ({len(found)} to review)")
            groups = defaultdict(list)
            for item in found:
                groups[(item[2], item[3])].append(item)
            for (char, chosen), items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                forms = "/".join(AMBIGUOUS[char])
                out.append(f"  {char} → {chosen}   ({forms}; {len(items)}×)")
                for line, label, _, _, context in (items if show_all else items[:SHOWN]):
                    where = f"line {line}" + (f" {label}" if label else "")
                    out.append(f"      {where}: {context}")
                if not show_all and len(items) > SHOWN:
                    out.append(f"      … {len(items) - SHOWN} more (--all lists every one)")
            out.append("")
    traditional_sources = [v.main.display for p in site.policies for v in p.versions if v.main.lang == "zh-Hant"]
    if traditional_sources:
        out.append("Traditional sources (" + ", ".join(traditional_sources) + ") convert to Simplified "
                   "many-to-one; there is no choice to review.")
    out.append(f"{total} place{'s' if total != 1 else ''} to review.")
    return "\n".join(out)
