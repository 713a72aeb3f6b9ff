"""Widths for the columns of st.dataframe that fit what they hold, over every row.

The grid (glide-data-grid, drawn on a canvas) sizes a column by itself from its first 10 rows
only, so a long name further down would be cut. Here each column gets the width of its longest
text in the grid's font (Source Sans, 400, 14 px; the widths below are Chromium's, rounded up)
plus the cell's padding; a column that could grow without end (names, e-mails, tags) stops at a
maximum, past which the rest of the text is cut."""

from __future__ import annotations

import math
import unicodedata
from typing import Iterable

_WIDTHS = {  # pixels: the characters at most this wide
    2.8: " ",
    3.7: "|iíjl'.,:;·’IÍ",
    5.0: "!f()[]{}•-tr/\\",
    6.0: "*s?z\"“”",
    7.1: "xcvyYJ–LFke0123456789#$+<=>^~_ag",
    7.8: "XVESTZ`oAhunbdpq",
    8.7: "PRCKB&DG",
    9.4: "UNHOQ",
    11.9: "wMW—%m@",
    13.3: "…",
}
CHAR_PX = {char: px for px, chars in _WIDTHS.items() for char in chars}
UNKNOWN_PX = 9.4  # another letter or sign of a Latin script, at most as wide as "O"
DOUBLE_PX = 18.0  # emoji and East Asian characters
PADDING_PX = 2 * 8 + 4  # the cell's padding on both sides, and a margin
HEADER_EXTRA_PX = 20  # the sort arrow beside a sorted column's title
MIN_PX = 60


def text_px(text: str) -> float:
    """How wide `text` is in the grid's font, estimated from above ("ç" as wide as "c")."""
    total = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            total += DOUBLE_PX
        else:
            base = unicodedata.normalize("NFKD", char)[:1] or char
            total += CHAR_PX.get(char, CHAR_PX.get(base, UNKNOWN_PX))
    return total


def column_width(title: str, texts: Iterable[str], most: int) -> int:
    """The width of a column titled `title` holding `texts`: at least MIN_PX, at most `most`."""
    widest = max((text_px(text) for text in texts), default=0.0)
    return max(MIN_PX, min(most, math.ceil(max(widest, text_px(title) + HEADER_EXTRA_PX) + PADDING_PX)))
