"""Screenshots for people to look at: standard and 长者版 pages at phone and desktop widths.

Saved to test-artifacts/screenshots/ (git-ignored), named <width>-<variant>-<page>.png.
"""
from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS

SIZES = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
PAGES = {"home": "", "policy": "platform-privacy/"}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("variant", ["standard", "elder"])
@pytest.mark.parametrize("name", PAGES)
def test_screenshot(name, variant, size, page, goto, cjk_font):
    page.set_viewport_size(SIZES[size])
    goto(page, ("elder/" if variant == "elder" else "") + PAGES[name])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{size}-{variant}-{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width == SIZES[size]["width"], "the page is no wider than the window"
    assert height >= SIZES[size]["height"]
