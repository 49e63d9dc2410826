"""Lay a benchmark corpus out as a Hugo site with one content file per page we generate.

For every HTML page of our build (every policy, version, history and changes page,
in both scripts and both the standard and 长者版 variants), Hugo gets a content
file at the same path holding the Markdown of that version, so both tools render
the same number of pages from the same text. Hugo's layout is as close to ours as
a few lines allow: a base template with header, breadcrumb, contents and footer.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

LAYOUT_BASE = """<!DOCTYPE html>
<html lang="{{ .Site.LanguageCode }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} - {{ .Site.Title }}</title><link rel="stylesheet" href="/static/site.css"></head>
<body><a class="skip-link" href="#main">跳到正文</a>
<header><p><a href="/">{{ .Site.Title }}</a></p></header>
<nav aria-label="您的位置"><ol><li><a href="/">首页</a></li><li>{{ .Title }}</li></ol></nav>
<main id="main">{{ block "main" . }}{{ end }}</main>
<footer><p>{{ .Site.Title }}</p></footer></body></html>
"""
LAYOUT_SINGLE = """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<dl><dt>发布机构</dt><dd>{{ .Params.issuer }}</dd><dt>版本</dt><dd>{{ .Params.version }}</dd></dl>
<nav class="toc">{{ .TableOfContents }}</nav>{{ .Content }}</article>{{ end }}
"""
LAYOUT_LIST = """{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
"""
CONFIG = """baseURL = "https://bench.example.gov.cn/"
languageCode = "zh-CN"
title = "基准测试站点"
disableKinds = ["taxonomy", "term", "RSS"]
[markup.goldmark.renderer]
unsafe = true
[markup.tableOfContents]
startLevel = 2
endLevel = 3
"""
_FM = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _source_for(site: Path, rel: str) -> Path | None:
    """The policy file a page of ours was made from."""
    parts = [p for p in rel.split("/") if p not in ("zh-hant", "zh-hans", "en", "elder", "index.html")]
    if not parts:
        return None
    slug = parts[0]
    folder = site / "policies" / slug
    if folder.is_dir():
        versions = sorted(folder.glob("*.md"))
        named = [v for v in versions if len(parts) > 1 and v.stem == parts[1]]
        return (named or versions)[-1]
    single = site / "policies" / f"{slug}.md"
    return single if single.exists() else None


def layout(site: Path, our_output: Path, dest: Path) -> int:
    """Write the Hugo site for `site` (a corpus) into `dest`; returns the number of content files."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "layouts" / "_default").mkdir(parents=True)
    (dest / "layouts" / "_default" / "baseof.html").write_text(LAYOUT_BASE, "utf-8")
    (dest / "layouts" / "_default" / "single.html").write_text(LAYOUT_SINGLE, "utf-8")
    (dest / "layouts" / "_default" / "list.html").write_text(LAYOUT_LIST, "utf-8")
    (dest / "config.toml").write_text(CONFIG, "utf-8")
    content = dest / "content"
    bodies: dict[Path, tuple[str, str]] = {}
    count = 0
    for page in sorted(our_output.rglob("index.html")):
        rel = page.relative_to(our_output).as_posix()
        src = _source_for(site, rel)
        if src is None:
            target, text = content / Path(rel).parent / "_index.md", '---\ntitle: "政策文件"\n---\n'
        else:
            if src not in bodies:
                raw = src.read_text("utf-8")
                m = _FM.match(raw)
                fm, body = (m.group(1), raw[m.end():]) if m else ("", raw)
                body = re.sub(r"\+\+(.+?)\+\+", r"**\1**", body)
                bodies[src] = (fm, body)
            fm, body = bodies[src]
            title = next((line.split(":", 1)[1].strip() for line in fm.splitlines() if line.startswith("title:")), "")
            issuer = next((line.split(":", 1)[1].strip() for line in fm.splitlines() if line.startswith("issuer:")), "")
            version = next((line.split(":", 1)[1].strip().strip('"') for line in fm.splitlines()
                            if line.startswith("version:")), "")
            header = f'---\ntitle: "{title}"\nissuer: "{issuer}"\nversion: "{version}"\n---\n'
            # a folder that holds other pages is a branch bundle (_index.md), otherwise a leaf
            holds_pages = any(p != page for p in page.parent.rglob("index.html"))
            target = content / Path(rel).parent / ("_index.md" if holds_pages else "index.md")
            text = header + body
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        count += 1
    return count


def content_file_for(dest: Path, rel_dir: str) -> Path:
    folder = dest / "content" / rel_dir
    return folder / "_index.md" if (folder / "_index.md").exists() else folder / "index.md"
