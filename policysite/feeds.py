"""Feeds and the machine-readable index (part of the render stage).

- `feed.xml` per language (Atom, RFC 4287): one entry per published version:
  a new policy, a new version, or a version that will come into force. Entry
  ids are the permanent page addresses, so a feed reader never shows an entry
  twice; every date comes from the sources (no build time), so the feed is the
  same byte for byte when nothing changed.
- `policies.json`: every policy, version, date, state and page URL per variant,
  for other systems (a portal's search, an archive, a regulator's crawler).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING
from html import escape as _escape


# (issue 18) Characters XML 1.0 forbids (C0 controls but tab and newlines, lone surrogates, U+FFFE,
# U+FFFF): one in a title made feed.xml ill-formed (and a lone surrogate could not even be encoded).
# Validation refuses them in metadata (load.check_text); whatever still comes here, from config.toml
# or a phrase table, is written as U+FFFD, so the XML is always well-formed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_chars(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def escape(text: str) -> str:
    """XML character data: &, < and > escaped."""
    return _escape(xml_chars(text), quote=False)


def quoteattr(text: str) -> str:
    """An XML attribute value, quoted."""
    return '"' + _escape(xml_chars(text), quote=True) + '"'

from . import __version__
from .model import DRAFT, UPCOMING, Variant, feed_path

if TYPE_CHECKING:
    from .render import Renderer

ATOM_NS = "http://www.w3.org/2005/Atom"


def _stamp(value, tz: dt.tzinfo) -> str:
    """RFC 3339 date-time; a plain date is taken as midnight in the site's time zone."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=tz)
    else:
        value = dt.datetime.combine(value, dt.time(), tz)
    return value.isoformat(timespec="seconds")


def _instant(value, tz: dt.tzinfo) -> float:
    """(issue 18) The moment a date or date-time stands for, as a number that sorts in time order."""
    return dt.datetime.fromisoformat(_stamp(value, tz)).timestamp()


def _tz(offset: str) -> dt.timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))


def atom_feed(r: "Renderer", lang: str, page_url, path: str) -> bytes | None:
    """The Atom feed of one language, or None where the language has no pages."""
    site, t, base = r.site, r.strings[lang], r.cfg["site.base_url"]
    tz = _tz(r.cfg["site.utc_offset"])
    var = Variant(lang)
    entries = []
    for p in site.policies:
        for i, v in enumerate(p.versions):
            if lang not in v.langs or v.state == DRAFT:
                continue
            doc = r.meta(v, lang)
            kind = t["feed_upcoming"] if v.state == UPCOMING else \
                t["feed_new_policy"] if i == 0 else t["feed_new_version"]
            when = v.meta.get("published") or v.effective
            link = base + page_url("version", var, p.slug, v.version)
            changes = page_url("changes", var, p.slug, v.version)
            effective = t["feed_effective"].format(date=_date(v.effective, lang))
            body = [f"<p>{escape(effective)}</p>"]
            if doc.summary:
                body.append(f"<p>{escape(doc.summary)}</p>")
            if changes:
                body.append(f'<p><a href={quoteattr(base + changes)}>'
                            f'{escape(t["changes_link"].format(old=p.previous(v).version))}</a></p>')
            entries.append((_instant(when, tz), p.slug, v.version, [
                "  <entry>",
                f"    <id>{escape(link)}</id>",
                f"    <title>{escape(t['feed_entry'].format(kind=kind, title=doc.title, version=v.version))}</title>",
                f"    <updated>{_stamp(when, tz)}</updated>",
                f"    <published>{_stamp(when, tz)}</published>",
                f"    <author><name>{escape(doc.issuer)}</name></author>",
                f'    <link rel="alternate" type="text/html" hreflang="{lang}" href={quoteattr(link)}/>',
                f'    <category term="{v.state}" label={quoteattr(t["state_" + v.state])}/>',
                f"    <summary>{escape(doc.summary or effective)}</summary>",
                f'    <content type="html">{escape("".join(body))}</content>',
                "  </entry>"]))
    home = page_url("home", var)
    if home is None:
        return None
    # (issue 18) newest first by the instant, not by the text of the stamp ("…T09:00+08:00" is
    # earlier than "…T02:00+00:00", though it sorts after it as text)
    entries.sort(key=lambda e: (e[0], e[1], e[2]), reverse=True)
    site_title = r.site_title(lang)
    updated = next((line.split(">")[1].split("<")[0] for line in entries[0][3] if "<updated>" in line)) \
        if entries else _stamp(site.today, tz)
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="{ATOM_NS}" xml:lang="{lang}">',
             f"  <id>{escape(base + path)}</id>",
             f"  <title>{escape(t['feed_title'].format(site=site_title))}</title>",
             f"  <updated>{updated}</updated>",
             f"  <author><name>{escape(site_title)}</name></author>",
             f'  <link rel="self" type="application/atom+xml" href={quoteattr(base + path)}/>',
             f'  <link rel="alternate" type="text/html" hreflang="{lang}" href={quoteattr(base + home)}/>',
             f'  <generator version="{__version__}">policysite</generator>']
    for e in entries:
        lines.extend(e[3])
    lines.append("</feed>\n")
    return "\n".join(lines).encode("utf-8")


def _date(value, lang: str) -> str:
    from .render import format_date
    return format_date(value, lang)


def policies_json(r: "Renderer", page_url, langs: list[str]) -> bytes:
    """Every policy and version with its dates, state and page URLs in every variant."""
    site, cfg = r.site, r.cfg

    def urls(kind, slug=None, version=None) -> dict:
        found = {}
        for lang in langs:
            std = page_url(kind, Variant(lang), slug, version)
            if std is not None:
                found[lang] = {"standard": std, "elder": page_url(kind, Variant(lang, True), slug, version)}
        return found

    def iso(value):
        return value.isoformat() if value else None

    policies = []
    for p in site.policies:
        shown = p.shown
        policies.append({
            "slug": p.slug,
            "title": {lang: r.meta(shown, lang).title for lang in shown.langs},
            "issuer": {lang: r.meta(shown, lang).issuer for lang in shown.langs},
            "current_version": shown.version if shown.state in ("current", "repealed") else None,
            "pages": urls("policy", p.slug),
            "history": urls("history", p.slug),
            "versions": [{
                "version": v.version,
                "effective": iso(v.effective),
                "published": iso(v.meta.get("published")),
                "status": v.status,
                "state": v.state,
                "languages": v.langs,
                "translated_by_hand": sorted(v.docs),
                "summary": _plain(v.meta.get("summary")),
                "previous": p.previous(v).version if p.previous(v) else None,
                "pages": urls("version", p.slug, v.version),
                "changes": urls("changes", p.slug, v.version),
            } for v in p.versions],
        })
    data = {
        "generator": f"policysite {__version__}",
        "site": {"title": cfg["site.title"], "base_url": cfg["site.base_url"] or None,
                 "default_script": cfg["scripts.default"], "traditional_standard": cfg["scripts.traditional"],
                 "build_date": site.today.isoformat()},
        "note": "Page addresses are relative to base_url (or to the folder this file is in).",
        "feeds": {lang: feed_path(lang, cfg["scripts.default"]) for lang in langs} if cfg["site.base_url"] else {},
        "policies": policies,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")      # (issue 18) always encodable


def _plain(text):
    """(issue 18) A metadata text without its {{…}} no-convert markers (as the pages show it)."""
    if not text:
        return text
    from .script import NC_MARK
    return NC_MARK.sub(lambda m: m.group(1), text)
