"""Word files (.docx) → blocks, through mammoth's HTML.

mammoth (well kept, pure Python) reads the document's structure: Heading 1–6 styles
become <h1>–<h6>, Word's lists <ul>/<ol>, tables <table>, bold <strong>. Underline is
kept too (mammoth drops it by default: a style-map line keeps it, so that bold and
underlined clauses become key clauses). Images are not brought; they are counted.
"""
from __future__ import annotations

import io
import zipfile

from .html import Unreadable, walk

STYLE_MAP = "\n".join([
    "u => u",
    "p[style-name='Title'] => h1.doc-title:fresh",
    "p[style-name='标题'] => h1.doc-title:fresh",
])


def read_docx(path, data: bytes):
    import lxml.html
    import mammoth
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise Unreadable("not a Word .docx file (an old .doc? open it in Word or WPS and save it as .docx)")
    images: list[str] = []

    def skip_image(image):
        images.append(image.alt_text or image.content_type or "image")
        return {"src": ""}

    try:
        result = mammoth.convert_to_html(io.BytesIO(data), style_map=STYLE_MAP,
                                         convert_image=mammoth.images.img_element(skip_image))
    except Exception as e:                  # noqa: BLE001 - a damaged file raises many kinds
        raise Unreadable(f"the Word file cannot be read ({type(e).__name__}: {e})") from None
    root = lxml.html.fragment_fromstring(result.value or "<p></p>", create_parent="div")
    for img in list(root.iter("img")):
        img.drop_tree()
    title = None
    t = root.find(".//h1[@class='doc-title']")
    if t is not None:
        title = t.text_content()
        t.drop_tree()
    blocks, _, dropped = walk(root)
    return blocks, title, images, dropped
