"""Widths for the columns of st.dataframe that fit what they hold, over every row.

The grid (glide-data-grid, drawn on a canvas) sizes a column by itself from its first 10 rows
only, so a long name further down would be cut. Here each column gets the width of its longest
text in the grid's font (Source Sans, 400, 14 px; the widths below are Chromium's, rounded up)
plus the cell's padding; a column that could grow without end (names, e-mails, tags) stops at a
maximum, past which the text wraps and every row is made as tall as the most lines a text takes
(fitted)."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

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


# Streamlit lets the grid wrap a cell's text only in rows taller than 4rem (64 px); the grid then
# draws a text's lines 1.4 × the font's height apart (ascent and descent of 14 px Source Sans:
# under 16 px), between 3 px of padding above and below.
WRAPPING_ROW_PX = 65
FIRST_LINE_PX, LINE_PX, ROW_PADDING_PX = 16, 22, 2 * 3
CELL_PADDING_PX = 2 * 8  # what a wrapped text leaves of its column's width


def lines(text: str, width: float) -> int:
    """How many lines `text` takes wrapped at spaces into `width` pixels, as the grid wraps it (a
    word wider than a line is broken within it)."""
    count, used = 0, width  # the pixels taken on the current line: none open before the first word
    for word in text.split(" "):
        px = text_px(word)
        if used + CHAR_PX[" "] + px <= width:
            used += CHAR_PX[" "] + px
            continue
        whole = max(0, math.ceil(px / width) - 1)  # the lines a too-long word fills on its own
        count += 1 + whole
        used = px - whole * width
    return max(count, 1)


@dataclass(frozen=True)
class Fitted:
    """Each column's width, and the rows' height (None: the grid's own, one line) that shows every
    text of the capped columns in full, wrapped."""

    widths: dict[str, int]
    row_height: int | None


def fitted(frame: pd.DataFrame, most_px: dict[str, int], shown_as: dict[str, list[str]] | None = None,
           default_most_px: int = 200) -> Fitted:
    """`frame`'s columns as wide as their longest text over every row (or as what the browser draws
    for them, `shown_as`), up to `most_px` (else `default_most_px`); a longer text of a column in
    `most_px` wraps, and the rows are as tall as the most lines any such text takes."""
    shown_as = shown_as or {}
    widths = {name: column_width(name, shown_as.get(name) or frame[name], most_px.get(name, default_most_px))
              for name in frame.columns}
    most = max((lines(text, widths[name] - CELL_PADDING_PX) for name in most_px if name in frame.columns
                for text in frame[name] if text), default=1)
    row_height = None if most <= 1 else max(WRAPPING_ROW_PX, ROW_PADDING_PX + FIRST_LINE_PX + LINE_PX * (most - 1))
    return Fitted(widths, row_height)
