"""`python build.py import FILE...`: policies you already publish → policies/SLUG.md, as drafts.

One reader per kind of file (html.py: saved web pages; docx.py: Word; text.py: plain text)
turns the file into blocks; policy.py does what is particular to policies (furniture,
headings from numbering, key clauses, frontmatter from the text). Every file is read and
checked before anything is written: a file that cannot be read, or has no text, is an
error naming it, and then nothing is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .html import Unreadable
from .policy import Imported, convert, frontmatter, slug_for

READERS = {".html": "html", ".htm": "html", ".shtml": "html", ".xhtml": "html", ".docx": "docx",
           ".txt": "text", ".text": "text"}
MAX_BYTES = 20 * 1024 * 1024


class ImportFailed(Exception):
    def __init__(self, file: str, message: str, fix: str | None = None):
        super().__init__(message)
        self.file, self.message, self.fix = file, message, fix

    def format(self) -> str:
        return f"{self.file}: error: {self.message}" + (f"\n    fix: {self.fix}" if self.fix else "")


@dataclass
class Planned:
    path: Path                 # where it will be written
    slug: str
    imported: Imported
    text: str                  # the whole Markdown file


def read(path: Path) -> Imported:
    """One file → Imported, or ImportFailed naming the file."""
    name = str(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        if path.suffix.lower() == ".md":
            raise ImportFailed(name, "this is already a Markdown file",
                               "copy it into the policies folder and give it the frontmatter fields "
                               "(python build.py new SLUG writes a template)")
        if path.suffix.lower() == ".doc":
            raise ImportFailed(name, "old Word .doc files cannot be read",
                               "open it in Word or WPS and save it as .docx (Word document), then import that")
        raise ImportFailed(name, f"unsupported file type '{path.suffix or '(none)'}'",
                           "import a saved web page (.html, .htm), a Word file (.docx) or plain text (.txt)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportFailed(name, f"cannot read the file: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise ImportFailed(name, f"the file is {len(data) // (1024 * 1024)} MB; a policy is far smaller",
                           "is this the right file?")
    if not data.strip():
        raise ImportFailed(name, "the file is empty")
    removed: set = set()
    extra: list[str] = []
    try:
        if kind == "html":
            from .html import read_html
            blocks, title, images, dropped, encoding = read_html(path, data, removed, extra)
            label = f"web page, {encoding}"
        elif kind == "docx":
            from .docx import read_docx
            blocks, title, images, dropped = read_docx(path, data)
            label = "Word file"
        else:
            from .text import read_text
            blocks, encoding = read_text(path, data)
            title, images, dropped, label = None, [], 0, f"text, {encoding}"
    except Unreadable as e:
        raise ImportFailed(name, str(e)) from None
    result = convert(blocks, name, label, title, images, dropped, extra, removed)
    body_chars = len(re.sub(r"[\s#*+\\|\-]", "", result.markdown))
    if body_chars < 20:
        raise ImportFailed(name, "no policy text found in the file" +
                           (" (only the page around it: navigation, links, footer)" if kind == "html" else ""),
                           "check that this is the policy's own page or file; for a web page, save it with the "
                           "browser's 'Save page as … (HTML only)'")
    return result


def detect_lang(text: str) -> str:
    """zh-Hans, zh-Hant or en, from the characters of the text."""
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    if cjk < 0.1 * max(1, latin):
        return "en"
    import opencc
    hans = opencc.OpenCC("t2s.json").convert(text)
    hant = opencc.OpenCC("s2t.json").convert(text)
    to_hans = sum(1 for a, b in zip(text, hans) if a != b)
    to_hant = sum(1 for a, b in zip(text, hant) if a != b)
    return "zh-Hant" if to_hans > to_hant else "zh-Hans"


def plan(paths: list[Path], policies_dir: Path, slug: str | None = None, lang: str | None = None,
         force: bool = False, default_lang: str = "zh-Hans") -> tuple[list[Planned], list[ImportFailed]]:
    """Read every file and decide where each goes; nothing is written."""
    from ..load import slug_problem
    planned, failed = [], []
    if slug and len(paths) > 1:
        failed.append(ImportFailed(str(paths[1]), "--slug names one policy, but several files were given",
                                   "import the files one at a time, each with its own --slug"))
        return planned, failed
    if slug:
        problem = slug_problem(slug)
        if problem:
            failed.append(ImportFailed(str(paths[0]), f"--slug {slug!r} cannot be a page address: {problem[0]}",
                                       problem[1].replace("slug: ", "--slug ")))
            return planned, failed
    taken: set[str] = set()
    for path in paths:
        try:
            imported = read(path)
        except ImportFailed as e:
            failed.append(e)
            continue
        # (without a title: the file's name, less a language suffix such as ".zh-Hans")
        the_slug = slug or slug_for(imported.title, re.sub(r"\.(zh-hans|zh-hant|en)$", "", path.stem, flags=re.I))
        if slug_problem(the_slug):
            the_slug = f"{the_slug}-policy"
        base, n = the_slug, 2
        while the_slug in taken:
            the_slug, n = f"{base}-{n}", n + 1
        taken.add(the_slug)
        target = policies_dir / f"{the_slug}.md"
        if (target.exists() or (policies_dir / the_slug).exists()) and not force:
            failed.append(ImportFailed(str(path), f"{target} already exists; not overwriting it",
                                       "choose another address with --slug, or replace it with --force"))
            continue
        file_lang = lang or detect_lang(imported.markdown)
        text = frontmatter(imported.meta, file_lang if file_lang != default_lang else None) + "\n" + imported.markdown
        planned.append(Planned(target, the_slug, imported, text))
    return planned, failed


def checklist(p: Planned, shown_path: str) -> str:
    i = p.imported
    lines = [f"{shown_path}  ← {i.source} ({i.kind})"]
    lines += [f"  found    {f}" for f in i.found]
    if i.removed:
        lines.append("  removed  " + "; ".join(i.removed))
    lines += [f"  CHECK    {m}" for m in i.missing]
    lines.append("  CHECK    status: draft — preview with  python build.py --drafts , then remove the line to publish")
    return "\n".join(lines)
