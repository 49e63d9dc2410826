"""Helpers for the browser tests: colour contrast, and scripts evaluated in the page."""
from __future__ import annotations

import re


# --- colour ------------------------------------------------------------------------

def parse_rgb(value: str) -> tuple[float, float, float, float]:
    """A computed CSS colour, as Chromium serialises it ("rgb(0, 53, 107)", "rgba(0, 0, 0, 0)")."""
    m = re.fullmatch(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)", value.strip())
    assert m, f"unexpected computed colour {value!r}"
    alpha = m.group(4)
    a = 1.0 if alpha is None else (float(alpha[:-1]) / 100 if alpha.endswith("%") else float(alpha))
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), a


def luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 channels)."""
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# --- scripts run in the page --------------------------------------------------------

# Is an element an inline link in running text? WCAG 2.5.5/2.5.8 exempt targets "in a sentence
# or whose size is otherwise constrained by the line-height of non-target text": a link laid out
# inline whose block also holds text outside the link.
JS_INLINE = """
function isInlineInText(el) {
  if (getComputedStyle(el).display !== 'inline') return false;
  let block = el.parentElement;
  while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
  if (!block) return false;
  const all = block.textContent.replace(/\\s+/g, '');
  const own = el.textContent.replace(/\\s+/g, '');
  return all.length > own.length;
}
"""

TARGETS = """
() => {
""" + JS_INLINE + """
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')) {
    const rects = el.getClientRects();
    if (!rects.length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden') continue;
    if (el.classList.contains('skip-link')) continue;            // off-screen until focused; checked by itself
    const r = el.getBoundingClientRect();
    out.push({html: el.outerHTML.slice(0, 120), width: r.width, height: r.height, inline: isInlineInText(el),
              cls: el.className || '', parent: el.parentElement.className || el.parentElement.tagName});
  }
  return out;
}
"""

# The background colour behind a point, as painted: the topmost element there (outside `skip`)
# with a background, blended over what is below it when translucent. Returns [r, g, b].
JS_BACKGROUND_AT = """
function backgroundAt(x, y, skip) {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const layers = [];
  for (const el of document.elementsFromPoint(x, y)) {
    if (skip && (el === skip || skip.contains(el))) continue;
    const bg = parse(getComputedStyle(el).backgroundColor);
    if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  let rgb = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) rgb = [r * a + rgb[0] * (1 - a), g * a + rgb[1] * (1 - a), b * a + rgb[2] * (1 - a)];
  return rgb;
}
"""

# The focused element and its focus indicator: outline style, width and colour, and the
# background just outside the outline on each side that is within the viewport.
FOCUS_INFO = """
() => {
""" + JS_BACKGROUND_AT + """
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const reach = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth) + 2;
  const W = document.documentElement.clientWidth, H = window.innerHeight;
  const points = [[r.left - reach, r.top + r.height / 2], [r.right + reach, r.top + r.height / 2],
                  [r.left + r.width / 2, r.top - reach], [r.left + r.width / 2, r.bottom + reach]]
                 .filter(([x, y]) => x >= 0 && y >= 0 && x < W && y < H);
  return {
    html: el.outerHTML.slice(0, 120), tag: el.tagName, id: el.id, cls: el.className || '',
    href: el.href || null, text: (el.textContent || '').trim().slice(0, 40),
    outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth), outlineColor: s.outlineColor,
    color: s.color, background: s.backgroundColor,
    around: points.map(([x, y]) => backgroundAt(x, y, el)),
    box: {x: r.left, y: r.top, width: r.width, height: r.height},
    inViewport: r.bottom > 0 && r.top < H && r.right > 0 && r.left < W,
  };
}
"""

NO_HORIZONTAL_SCROLL = """
() => {
  const d = document.documentElement;
  const wide = [];
  if (d.scrollWidth > d.clientWidth) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > d.clientWidth + 1 && getComputedStyle(el).position !== 'absolute') {
        let inScroller = false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll') { inScroller = true; break; }
        }
        if (!inScroller) wide.push(el.outerHTML.slice(0, 100) + ' right=' + Math.round(r.right));
      }
    }
  }
  return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, wide: wide.slice(0, 8)};
}
"""


def assert_no_horizontal_scroll(page, what: str) -> None:
    info = page.evaluate(NO_HORIZONTAL_SCROLL)
    assert info["scrollWidth"] <= info["clientWidth"], (
        f"{what}: the page scrolls sideways ({info['scrollWidth']} > {info['clientWidth']} px); "
        f"too wide: {info['wide']}")


def tab_stops(page, limit: int = 250) -> list[dict]:
    """Press Tab from the top of the page until focus wraps around; the focus info of every stop."""
    stops = []
    seen_first = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_INFO)
        if info is None:
            break
        key = (info["html"], info["box"]["x"], info["box"]["y"])
        if seen_first is None:
            seen_first = key
        elif key == seen_first:
            break
        stops.append(info)
    return stops
