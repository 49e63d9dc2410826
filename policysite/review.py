"""`python build.py check --conversions`: a review report for people, not part of the site.

For Simplified sources it lists the places where a character with several Traditional forms
(发 → 發/髮, 后 → 后/後, 于 → 于/於 …) was converted, ranked by risk:

  high    a rare target form (髮 瞭 乾 隻 幹 鬆 …, or a surname character kept: 于 → 于), or
          the same word converted two ways in one document (尽可能 → 盡可能 and 儘可能);
  medium  a character whose forms depend on context (复 制 准 尽 干 台 …);
  low     the usual, one-to-one safe choice (发 → 發, 后 → 後 …), and every place a phrase
          table decides: counted, listed with --all.

Each high and medium place comes with ready phrases.toml lines: a [to-hant] line that fixes the
form, and a [reviewed] line that accepts it. For Traditional sources it lists the Taiwan words a
Mainland reader would misread after conversion (網路, 程式, 駭客, 共用, 登出 …), with a [to-hans]
line for each.

A reviewed mark is an entry of the site's phrases.toml [reviewed] table: the source text around
the place (as much as you like) = the conversion you accept. It applies wherever that text
occurs, so it survives edits anywhere else in the file, and it lapses by itself when the
conversion changes (the text no longer converts to what was accepted). `--strict` exits 1
while any high-risk place has neither a phrase entry nor a reviewed mark.
"""
from __future__ import annotations

import json
import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import Collector
from .load import read_body
from .pipeline import load_phase
from .script import AMBIGUOUS, NC_MARK, Converter, load_phrases
from .tables import project_tables

CONTEXT = 8
SHOWN = 3
RISKS = ("high", "medium", "low")
_TERMS = tomllib.loads(Path(__file__).with_name("review_terms.toml").read_text("utf-8"))
RARE = set(_TERMS["risk"]["rare"])
RARE_PAIRS = set(_TERMS["risk"]["rare_pairs"])
SAFE_PAIRS = set(_TERMS["risk"]["safe_pairs"])
TRADITIONAL_VOCABULARY = {k: tuple(v) for k, v in _TERMS["traditional_vocabulary"].items()}
_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002a6df]")


@dataclass
class Place:
    file: str
    line: int
    field: str                   # "" for the body, or title, summary, contact.person …
    char: str                    # the source character (or word, for Traditional vocabulary)
    chosen: str                  # its conversion
    forms: list[str]
    context: str                 # before【char→chosen】after
    risk: str = "low"
    why: str = ""
    decided_by: str = ""         # "site phrase", "reviewed", "project table: <reason>", ""
    fix: str = ""                # a ready phrases.toml line that fixes the form
    accept: str = ""             # a ready phrases.toml line that accepts it
    _key: str = field(default="", repr=False)
    _bigrams: list = field(default_factory=list, repr=False)

    @property
    def open(self) -> bool:
        """High risk, and neither a phrase entry nor a reviewed mark decides it."""
        return self.risk == "high" and not self.decided_by


def _matcher(keys) -> re.Pattern | None:
    keys = sorted({k for k in keys if k}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, keys))) if keys else None


def _spans(pattern, line: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(line)] if pattern else []


def _covering(spans, i):
    for lo, hi, key in spans:
        if lo <= i < hi:
            return lo, hi, key
    return None


def _word(line: str, i: int) -> tuple[int, int]:
    """The span the report suggests for a phrase entry: the character with its CJK neighbours,
    one before and up to two after."""
    lo = i - 1 if i > 0 and _CJK.match(line[i - 1]) else i
    hi = i + 1
    while hi < min(len(line), i + 3) and _CJK.match(line[hi]):
        hi += 1
    return lo, hi


class Reviewer:
    def __init__(self, conv: Converter, site_phrases: dict):
        self.conv = conv
        self.site = site_phrases.get("to-hant", {})
        self.reviewed = site_phrases.get("reviewed", {})
        tables = project_tables()
        self.reasons = tables.reasons
        self.site_re = _matcher(self.site)
        self.project_re = _matcher(tables.to_hant)
        self.reviewed_re = _matcher(self.reviewed)

    def _decided(self, line: str, converted: str | None, i: int) -> str:
        if (hit := _covering(_spans(self.site_re, line), i)):
            return "site phrase"
        if (hit := _covering(_spans(self.reviewed_re, line), i)):
            lo, hi, key = hit
            got = converted[lo:hi] if converted is not None else self.conv.convert(key, "zh-Hant")
            if got == self.reviewed[key]:
                return "reviewed"
        if (hit := _covering(_spans(self.project_re, line), i)):
            return "project table: " + self.reasons.get(hit[2], "")
        return ""

    def simplified(self, file: str, text: str, first_line: int, label: str) -> list[Place]:
        places = []
        for n, line in enumerate(text.split("\n")):
            if not any(c in AMBIGUOUS for c in line):
                continue
            masked = NC_MARK.sub(lambda m: "\0" * len(m.group(0)), line)   # marked text is not converted
            converted = self.conv.convert(line, "zh-Hant")
            aligned = len(converted) == len(line)
            for i, c in enumerate(line):
                if c not in AMBIGUOUS or masked[i] == "\0":
                    continue
                if aligned:
                    chosen = converted[i]
                else:
                    lo = max(0, i - CONTEXT)
                    window = self.conv.convert(line[lo:i + CONTEXT + 1], "zh-Hant")
                    chosen = window[i - lo] if len(window) == len(line[lo:i + CONTEXT + 1]) else "?"
                before, after = line[max(0, i - CONTEXT):i], line[i + 1:i + 1 + CONTEXT]
                place = Place(file, first_line + n, label, c, chosen, AMBIGUOUS[c], f"{before}【{c}→{chosen}】{after}")
                place.decided_by = self._decided(line, converted if aligned else None, i)
                lo, hi = _word(line, i)
                src = line[lo:hi]
                out = converted[lo:hi] if aligned else self.conv.convert(src, "zh-Hant")
                place._key = src
                # the word on each side of the place, as converted, to find a word converted two ways
                if aligned:
                    place._bigrams = [(line[j:j + 2], converted[j:j + 2]) for j in (i - 1, i)
                                      if j >= 0 and j + 2 <= len(line) and all(_CJK.match(x) for x in line[j:j + 2])]
                others = [f for f in AMBIGUOUS[c] if f != chosen]
                if others and len(out) == len(src):
                    k = i - lo
                    place.fix = f'[to-hant] "{src}" = "{out[:k]}{others[0]}{out[k + 1:]}"'
                place.accept = f'[reviewed] "{src}" = "{out}"'
                self._rank(place)
                places.append(place)
        return places

    @staticmethod
    def _rank(p: Place) -> None:
        pair = f"{p.char}→{p.chosen}"
        if p.chosen in RARE or pair in RARE_PAIRS:
            p.risk, p.why = "high", f"{p.chosen} is rarely right here ({'/'.join(p.forms)})"
        elif pair in SAFE_PAIRS:
            p.risk, p.why = "low", "the usual form"
        else:
            p.risk, p.why = "medium", f"the form depends on the word ({'/'.join(p.forms)})"
        if p.decided_by and p.risk != "high":
            p.risk = "low"

    def two_ways(self, places: list[Place]) -> None:
        """The same source word (two characters) converted two ways in one document: every
        place of it is high risk (尽可能 → 盡可能 and 儘可能)."""
        forms = defaultdict(set)
        for p in places:
            for src, out in p._bigrams:
                forms[(p.file, src)].add(out)
        for p in places:
            for src, _ in p._bigrams:
                seen = forms[(p.file, src)]
                if len(seen) > 1:
                    p.risk = "high"
                    p.why = f"{src} is converted two ways in this document ({' and '.join(sorted(seen))})"
                    if p.decided_by.startswith("project"):
                        p.decided_by = ""
                    break

    def traditional(self, file: str, text: str, first_line: int, label: str) -> list[Place]:
        places = []
        pattern = _matcher(TRADITIONAL_VOCABULARY)
        site_hans = _matcher(self.conv.phrases.get("to-hans", {}))
        for n, line in enumerate(text.split("\n")):
            masked = NC_MARK.sub(lambda m: "\0" * len(m.group(0)), line)
            for lo, hi, word in _spans(pattern, line):
                if "\0" in masked[lo:hi]:
                    continue
                mainland, why = TRADITIONAL_VOCABULARY[word]
                got = self.conv.convert(word, "zh-Hans")
                place = Place(file, first_line + n, label, word, got, [mainland],
                              f"{line[max(0, lo - CONTEXT):lo]}【{word}→{got}】{line[hi:hi + CONTEXT]}",
                              risk="high", why=why)
                if got == mainland:
                    place.decided_by, place.risk = "converts to the Mainland word", "low"
                elif _covering(_spans(site_hans, line), lo):
                    place.decided_by = "site phrase"
                elif word in self.reviewed and self.reviewed[word] == got:
                    place.decided_by = "reviewed"
                place.fix = f'[to-hans] "{word}" = "{mainland}"'
                place.accept = f'[reviewed] "{word}" = "{got}"'
                places.append(place)
        return places


def review(config_path: Path) -> tuple[list[Place], list[str], str, Collector]:
    diag = Collector()
    site = load_phase(Path(config_path), diag, drafts=True)
    cfg = site.config
    phrases = load_phrases(cfg.path_of("scripts.phrases"), diag)
    conv = Converter(cfg["scripts.traditional"], phrases, quotes=cfg["scripts.quotes"])
    rev = Reviewer(conv, phrases)
    places, notes = [], []
    for policy in site.policies:
        for version in policy.versions:
            src = version.main
            target = "zh-Hant" if src.lang == "zh-Hans" else "zh-Hans"
            if target in version.docs:
                notes.append(f"{src.display}: has a hand-written {target} file; nothing is converted.")
                continue
            scan = rev.simplified if src.lang == "zh-Hans" else rev.traditional
            found = []
            for key in ("title", "issuer", "summary"):
                if src.meta.get(key):
                    found += scan(src.display, src.meta[key], src.lines.get(key, 1), key)
            for key, value in src.meta.get("contact", {}).items():
                found += scan(src.display, value, src.lines.get("contact", 1), f"contact.{key}")
            found += scan(src.display, read_body(src), src.body_line, "")
            if src.lang == "zh-Hans":
                rev.two_ways(found)
            elif not found:
                notes.append(f"{src.display} (Traditional): none of the {len(TRADITIONAL_VOCABULARY)} Taiwan words "
                             "a Mainland reader would misread (policysite/review_terms.toml) occurs.")
            places += found
    return places, notes, cfg["scripts.traditional"], diag


def _where(p: Place) -> str:
    return f"{p.file}:{p.line}" + (f" {p.field}" if p.field else "")


def conversion_report(config_path: Path, show_all: bool = False, fmt: str = "text") -> tuple[str, int]:
    """The report and the number of open high-risk places."""
    places, notes, profile, diag = review(config_path)
    notes = [d.format() for d in diag.errors] + notes          # (a phrase table with errors, say)
    open_high = sum(p.open for p in places)
    order = {r: n for n, r in enumerate(RISKS)}
    places.sort(key=lambda p: (order[p.risk], bool(p.decided_by), p.file, p.line))
    if fmt == "json":
        data = {"profile": profile, "open_high": open_high,
                "counts": {r: sum(p.risk == r for p in places) for r in RISKS},
                "places": [{k: v for k, v in asdict(p).items() if not k.startswith("_")} | {"open": p.open}
                           for p in places if show_all or p.risk != "low"],
                "notes": notes}
        return json.dumps(data, ensure_ascii=False, indent=1), open_high
    out = [f"Conversion review ({profile}), riskiest first. Fix a wrong form with the [to-hant] line in",
           "phrases.toml (or {{…}} in the policy); accept a right one with the [reviewed] line.", ""]
    counts = Counter(p.risk for p in places)
    for risk in ("high", "medium"):
        group = [p for p in places if p.risk == risk]
        if not group:
            continue
        title = {"high": "HIGH RISK: rare forms and words converted two ways",
                 "medium": "MEDIUM: the form depends on the word"}[risk]
        out.append(f"{title} ({len(group)})")
        if risk == "medium" and not show_all:
            shown = defaultdict(list)
            for p in group:
                shown[(p.char, p.chosen)].append(p)
            for (char, chosen), items in sorted(shown.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                out.append(f"  {char} → {chosen}   ({'/'.join(items[0].forms)}; {len(items)}×)")
                for p in items[:SHOWN]:
                    out.append(f"      {_where(p)}: {p.context}")
                    out.append(f"          {p.accept}")
                if len(items) > SHOWN:
                    out.append(f"      … {len(items) - SHOWN} more (--all lists every one)")
            out.append("")
            continue
        for p in group:
            state = f"   [{p.decided_by}]" if p.decided_by else "   [open]" if p.risk == "high" else ""
            out.append(f"  {_where(p)}: {p.context}{state}")
            out.append(f"      why: {p.why}")
            if p.fix:
                out.append(f"      fix:    {p.fix}")
            out.append(f"      accept: {p.accept}")
        out.append("")
    low = [p for p in places if p.risk == "low"]
    if low:
        if show_all:
            out.append(f"LOW: the usual forms and places a phrase table decides ({len(low)})")
            for p in low:
                out.append(f"  {_where(p)}: {p.context}" + (f"   [{p.decided_by}]" if p.decided_by else ""))
        else:
            pairs = Counter(f"{p.char}→{p.chosen}" for p in low)
            decided = sum(bool(p.decided_by) for p in low)
            out.append(f"LOW: {len(low)} places with the usual form or decided by a phrase table ({decided}); "
                       "--all lists them:")
            out.append("  " + "  ".join(f"{k} {v}×" for k, v in pairs.most_common(20))
                       + ("  …" if len(pairs) > 20 else ""))
        out.append("")
    out += notes
    out.append(f"{len(places)} places: {counts['high']} high ({open_high} open), {counts['medium']} medium, "
               f"{counts['low']} low.")
    return "\n".join(out), open_high
