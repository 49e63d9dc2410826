"""Atom feeds (RFC 4287), one per locale, beside its home page: `feed.xml`, `zh-hant/feed.xml` …

One entry per published version: a new policy, a new version, or a version that will come
into force. Entry ids are the permanent page addresses, so a feed reader never shows an
entry twice; every date comes from the sources (no build time), so the feed is the same
byte for byte when nothing changed. Made only where `base_url` is set (Atom needs absolute
addresses).
"""
from __future__ import annotations

import datetime as dt
import re
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

from .. import __version__
from ..model import DRAFT, UPCOMING
from ..render import format_date
from ..variants import Locale
from . import LISTING, Artifact, Context, FileSpec

ATOM_NS = "http://www.w3.org/2005/Atom"


class Feeds:
    name = "feeds"
    parallel = False

    def specs(self, ctx: Context):
        if not ctx.site.config["site.base_url"]:
            return []
        variants = ctx.site.variants
        return [FileSpec(feed_path(loc), self.name, loc) for loc in variants
                if ctx.page_url("home", variants.standard(loc)) is not None]

    def depends(self, spec) -> tuple:
        return LISTING

    def render(self, spec: FileSpec, ctx: Context) -> Artifact | None:
        data = atom_feed(ctx, spec.key, spec.out_path)
        return Artifact(spec.out_path, "application/atom+xml", data) if data is not None else None


FEEDS = Feeds()


def feed_path(locale: Locale) -> str:
    """Where a locale's Atom feed is: feed.xml beside its home page."""
    return locale.prefix + "feed.xml"


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


def atom_feed(ctx: Context, locale: Locale, path: str) -> bytes | None:
    """The Atom feed of one locale, or None where the locale has no pages."""
    r, site, page_url = ctx.content, ctx.site, ctx.page_url
    lang, t, base = locale.tag, r.strings[locale.strings], r.cfg["site.base_url"]
    tz = _tz(r.cfg["site.utc_offset"])
    var = site.variants.standard(locale)
    entries = []
    for p in site.policies:
        for i, v in enumerate(p.versions):
            if locale not in v.locales or v.state == DRAFT:
                continue
            doc = r.meta(v, locale)
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
    site_title = r.site_title(locale)
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
    return format_date(value, lang)
