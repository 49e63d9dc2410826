"""`python build.py init DIR`: a new site with this repository's layout, and overrides in the wrong place.

The skeleton is data (SKELETON below): config.toml without a pinned date, one example
policy, empty templates/ and static/ folders for overrides (a README in each, which the
build does not publish: templates/ holds only what replaces a theme file, and static/'s
files starting with '.' are skipped; README.md files there are ignored by name below), and a
short README. It builds at once on the engine's default theme (policysite/theme).

`misplaced_overrides` reports a file in a site's override folders that matches no file of
the default theme where it is, but does match one somewhere else (overrides/contact.html
meant for overrides/partials/contact.html), with the path it should have.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .config import THEME_TEMPLATES


class ScaffoldError(Exception):
    pass


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)        # a JSON string is a TOML basic string


CONFIG = """\
# Site configuration. Every option is in the README of policysite ("config.toml reference").

[site]
title = {title}
title_en = ""
description = ""
# The public address of the site, ending in '/': canonical links, sitemap.xml and feeds need it.
# If the site lives under a path (https://www.example.gov.cn/policies/), serve it there too:
# the 404 page's links start from this path.
base_url = {base_url}
footer = {footer}
# The build date decides which version of a policy is current. It is the real date unless
# you pin it here (today = 2026-01-31) for a reproducible build; a pinned date is warned
# about once it is more than a week old.

[content]
policies_dir = "policies"
default_lang = "zh-Hans"

[scripts]
default = "zh-Hans"        # served at the site root; Traditional under /zh-hant/
traditional = {traditional}       # s2tw (Taiwan), s2hk (Hong Kong) or s2t (OpenCC standard)
phrases = "phrases.toml"   # the site's own phrase table (optional); wins over OpenCC

[build]
output = "public"
"""

EXAMPLE = """\
---
title: {site_title}隐私政策
issuer: {issuer}
effective: {effective}
version: "1.0"
published: {effective}
summary: 说明本网站如何收集、使用和保护您的个人信息。（这是 init 写的示例，改写它或删除它。）
contact:
  email: privacy@example.gov.cn
---

本政策说明{issuer}（以下简称“我们”）在您使用本网站时如何处理您的个人信息。

## 一、我们收集的信息

您无需注册即可浏览本网站。服务器会自动记录访问时间和所浏览的页面，只用于统计和保障网络安全。

## 二、您的权利

++您有权查阅、更正和删除您提交的个人信息。++

## 三、联系我们

如对本政策有疑问，请发送电子邮件至 privacy@example.gov.cn。
"""

SITE_README = """\
# {title}

A site of policy documents built with policysite.

- `config.toml`: the site's settings (title, address, Traditional standard).
- `policies/`: one Markdown file per policy (`python build.py new SLUG` starts one;
  `python build.py import FILE...` brings a saved web page, a Word file or text).
- `templates/`, `static/`: your own changes to the engine's default theme, file by file (see the
  README in each). Empty, the site uses the default theme as it is.
- `public/`: what the build writes; copy it to the web server.

Build: `python build.py --config config.toml` (from policysite's folder, give the path to this file).
"""

TEMPLATES_README = """\
# This site's own templates

Empty, the site uses the engine's default theme (policysite/theme/templates/). A file here
replaces the default theme's file of the same path, one at a time: copy
`policysite/theme/templates/partials/contact.html` to `templates/partials/contact.html` (the same
folders below templates/) and edit the copy.

Interface text (首页, 联系我们 …) is in `strings/zh-Hans.toml`, `strings/zh-Hant.toml` and
`strings/en.toml`; a `templates/strings/zh-Hans.toml` here needs only the keys it changes:

    home = "网站首页"
"""

STATIC_GITKEEP = ""       # static/.gitkeep: files starting with '.' are not published


def skeleton(title: str, issuer: str, base_url: str, traditional: str, today: dt.date) -> dict[str, str]:
    return {
        "config.toml": CONFIG.format(title=_q(title), base_url=_q(base_url), footer=_q(f"{issuer} 主办"),
                                     traditional=_q(traditional)),
        "policies/privacy.md": EXAMPLE.format(site_title="本网站" if title == "政策文件" else title.replace(" ", ""),
                                              issuer=issuer, effective=today.isoformat()),
        "templates/README.md": TEMPLATES_README,
        "static/.gitkeep": STATIC_GITKEEP,
        "README.md": SITE_README.format(title=title),
        ".gitignore": "public/\n.cache/\n",
    }


def create_site(folder: Path, title: str | None = None, issuer: str | None = None, base_url: str = "",
                traditional: str = "s2tw", today: dt.date | None = None) -> list[Path]:
    """Write the skeleton into `folder` (new or empty). Returns the files written."""
    from .config import Invalid, _url
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} already exists and is not empty; choose a new folder")
    try:
        base_url = _url(base_url)
    except Invalid as e:
        raise ScaffoldError(f"--base-url {base_url!r}: expected {e.expected}") from None
    files = skeleton(title or "政策文件", issuer or "（发布机构名称）", base_url, traditional, today or dt.date.today())
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        written.append(path)
    return written


def theme_files() -> list[str]:
    return sorted(p.relative_to(THEME_TEMPLATES).as_posix() for p in THEME_TEMPLATES.rglob("*") if p.is_file())


def misplaced_overrides(cfg, collector) -> None:
    """Warn about a file in the site's override folders that replaces nothing where it is but
    has the name of a default theme file elsewhere: overrides/contact.html → partials/contact.html."""
    known = theme_files()
    by_name: dict[str, list[str]] = {}
    for rel in known:
        by_name.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
    for key in ("theme.templates_dir", "theme.overrides_dir"):
        root = cfg.path_of(key)
        if not root.is_dir():
            continue
        folder = cfg.values[key].rstrip("/")
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.name.lower() == "readme.md":
                continue
            rel = p.relative_to(root).as_posix()
            if rel in known:
                continue
            right = [r for r in by_name.get(p.name, []) if r != rel]
            if right:
                collector.warn(p, None, None,
                               f"{folder}/{rel} replaces nothing: the default theme has no such file there",
                               f"move it to {folder}/{right[0]} to replace the theme's {right[0]}")
            elif p.suffix == ".toml" and p.parent.name != "strings" and p.stem in ("zh-Hans", "zh-Hant", "en"):
                collector.warn(p, None, None, f"{folder}/{rel} is not read: UI strings tables live in strings/",
                               f"move it to {folder}/strings/{p.name}")
