"""Plain text (.txt, or text pasted into a file) → blocks: one paragraph a line."""
from __future__ import annotations

from .html import Unreadable, decode
from .policy import Block, Run


def read_text(path, data: bytes):
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unreadable("this is not a text file (it holds binary data)")
    text, encoding = decode(data)
    blocks = [Block("p", [Run(line)]) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
              if line.strip()]
    return blocks, encoding.replace(" (the page's charset)", "")
