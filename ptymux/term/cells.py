"""Cells and lines: pens (cell attributes and their SGR), screen rows, history lines.

A screen is a list of :class:`Row`; a row holds two parallel lists, the cell texts (``""``
for the right half of a wide character, base char plus combining marks otherwise) and the
cell pens. A :class:`Pen` is a small immutable tuple shared by every cell that looks alike,
so a painted cell costs two list slots. Rows that scroll off the top go to a history
(:mod:`ptymux.term.history`) as compact immutable :class:`HistLine` tuples (:func:`compact`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ptymux.term.charsets import DEC_GRAPHICS

# ---------------------------------------------------------------------------------------
# Pens (cell attributes)

BOLD = 1
DIM = 2
ITALIC = 4
BLINK = 8
REVERSE = 16
HIDDEN = 32
STRIKE = 64
OVERLINE = 128
ACS = 256  # drawn through the DEC special graphics charset: text holds the ASCII letter
# DECSCA (CSI 1 " q): the cell survives a selective erase (DECSED, DECSEL). Not an SGR
# attribute: SGR 0 keeps it, pen_sgr never emits it; redraw sends DECSCA for it.
PROTECTED = 512

_FLAG_SGR = ((BOLD, "1"), (DIM, "2"), (ITALIC, "3"), (BLINK, "5"), (REVERSE, "7"),
             (HIDDEN, "8"), (STRIKE, "9"), (OVERLINE, "53"))


class Pen(NamedTuple):
    """Cell attributes. Colours and underline keep the SGR fragment the program used
    (``"31"``, ``"91"``, ``"38;5;196"``, ``"38;2;1;2;3"``, ``"38:2::1:2:3"``; ``"4"``,
    ``"21"``, ``"4:3"``), so they are emitted back exactly as chosen; ``""`` is default."""

    flags: int = 0
    ul: str = ""
    fg: str = ""
    bg: str = ""
    uc: str = ""
    # An OSC 8 hyperlink: "params;uri" as the program sent it ('' for none). SGR leaves it
    # alone (SGR 0 included, as in every terminal that supports OSC 8), erasing drops it.
    link: str = ""


DEFAULT = Pen()

_SGR_CACHE: dict[Pen, str] = {}
_BG_CACHE: dict[Pen, Pen] = {}
_CACHE_LIMIT = 20000


def pen_sgr(pen: Pen) -> str:
    """The SGR parameters that, after a reset, give ``pen`` ('' for the default pen)."""
    s = _SGR_CACHE.get(pen)
    if s is None:
        parts = [code for bit, code in _FLAG_SGR if pen.flags & bit]
        for frag in (pen.ul, pen.fg, pen.bg, pen.uc):
            if frag:
                parts.append(frag)
        s = ";".join(parts)
        if len(_SGR_CACHE) > _CACHE_LIMIT:
            _SGR_CACHE.clear()
        _SGR_CACHE[pen] = s
    return s


def pen_escape(pen: Pen) -> str:
    """The escape sequence that sets ``pen`` from any state."""
    s = pen_sgr(pen)
    return f"\x1b[0;{s}m" if s else "\x1b[0m"


_ACS_CACHE: dict[Pen, Pen] = {}


def acs_pen(pen: Pen) -> Pen:
    p = _ACS_CACHE.get(pen)
    if p is None:
        p = pen._replace(flags=pen.flags | ACS)
        if len(_ACS_CACHE) > _CACHE_LIMIT:
            _ACS_CACHE.clear()
        _ACS_CACHE[pen] = p
    return p


def cell_text(ch: str, pen: Pen) -> str:
    """What a cell shows: DEC line drawing letters become their Unicode characters."""
    return ch.translate(DEC_GRAPHICS) if pen.flags & ACS else ch


def erase_pen(pen: Pen) -> Pen:
    """The pen of cells erased while ``pen`` is current: its background only (BCE)."""
    if not pen.bg:
        return DEFAULT
    p = _BG_CACHE.get(pen)
    if p is None:
        p = Pen(bg=pen.bg)
        if len(_BG_CACHE) > _CACHE_LIMIT:
            _BG_CACHE.clear()
        _BG_CACHE[pen] = p
    return p


# SGR codes that switch an attribute flag on, and those that switch flags off.
_SGR_SETS = {1: BOLD, 2: DIM, 3: ITALIC, 5: BLINK, 6: BLINK, 7: REVERSE, 8: HIDDEN, 9: STRIKE,
             53: OVERLINE}
_SGR_CLEARS = {22: BOLD | DIM, 23: ITALIC, 25: BLINK, 27: REVERSE, 28: HIDDEN, 29: STRIKE,
               55: OVERLINE}


def _colour_semicolon(code: int, parts: list[str], i: int) -> tuple[str | None, int]:
    """Parse ``38;5;n`` / ``38;2;r;g;b`` style colours; ``parts[i]`` follows the 38."""
    if i >= len(parts):
        return None, i
    kind = parts[i]
    if kind == "5":
        if i + 1 < len(parts) and parts[i + 1].isdigit() and int(parts[i + 1]) < 256:
            return f"{code};5;{int(parts[i + 1])}", i + 2
        return None, i + 2
    if kind == "2":
        rgb = parts[i + 1 : i + 4]
        if len(rgb) == 3 and all(v.isdigit() and int(v) < 256 for v in rgb):
            return f"{code};2;{int(rgb[0])};{int(rgb[1])};{int(rgb[2])}", i + 4
        return None, i + 4
    return None, i + 1


def _colour_colon(sub: list[str]) -> str | None:
    """Parse ``38:5:n`` / ``38:2::r:g:b`` / ``38:2:r:g:b`` colours."""
    code = sub[0]
    if len(sub) >= 3 and sub[1] == "5":
        if sub[2].isdigit() and int(sub[2]) < 256:
            return f"{code}:5:{int(sub[2])}"
        return None
    if len(sub) >= 5 and sub[1] == "2":
        rgb = sub[3:6] if len(sub) >= 6 else sub[2:5]
        if len(rgb) == 3 and all(v.isdigit() and int(v) < 256 for v in rgb):
            return f"{code}:2::{int(rgb[0])}:{int(rgb[1])}:{int(rgb[2])}"
    return None


_UL_STYLES = {"0": "", "1": "4", "2": "4:2", "3": "4:3", "4": "4:4", "5": "4:5", "": "4"}


def apply_sgr(pen: Pen, params: str) -> Pen:
    """The pen after ``CSI params m`` (params without private prefix)."""
    if not params or params == "0":
        if pen.link or pen.flags & PROTECTED:
            return Pen(flags=pen.flags & PROTECTED, link=pen.link)
        return DEFAULT
    flags, ul, fg, bg, uc, link = pen
    parts = params.split(";")
    i = 0
    n = len(parts)
    while i < n:
        p = parts[i]
        i += 1
        if ":" in p:
            sub = p.split(":")
            head = sub[0]
            if head == "4":
                if sub[1] in _UL_STYLES:
                    ul = _UL_STYLES[sub[1]]
            elif head in ("38", "48", "58"):
                col = _colour_colon(sub)
                if col is not None:
                    if head == "38":
                        fg = col
                    elif head == "48":
                        bg = col
                    else:
                        uc = col
            continue
        if not p:
            code = 0
        elif p.isdigit():
            code = int(p)
        else:
            continue
        if code == 0:
            flags, ul, fg, bg, uc = flags & PROTECTED, "", "", "", ""
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code in _SGR_SETS:
            flags |= _SGR_SETS[code]
        elif code in _SGR_CLEARS:
            flags &= ~_SGR_CLEARS[code]
        elif code == 4:
            ul = "4"
        elif code == 21:
            ul = "21"
        elif code == 24:
            ul = ""
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        elif code == 59:
            uc = ""
        elif code in (38, 48, 58):
            col, i = _colour_semicolon(code, parts, i)
            if col is not None:
                if code == 38:
                    fg = col
                elif code == 48:
                    bg = col
                else:
                    uc = col
    return Pen(flags, ul, fg, bg, uc, link)


# ---------------------------------------------------------------------------------------
# Rows, history

class Row:
    """One screen row: cell texts, cell pens, whether it soft-wraps into the next, and
    whether its last cell is a filler (``filler``): the blank left when a two-cell character
    did not fit there and wrapped whole, which is not part of the text (a reflow drops it)."""

    __slots__ = ("chars", "pens", "wrapped", "filler")

    def __init__(self, chars: list[str], pens: list[Pen], wrapped: bool = False,
                 filler: bool = False) -> None:
        self.chars = chars
        self.pens = pens
        self.wrapped = wrapped
        self.filler = filler


def blank_row(cols: int, pen: Pen = DEFAULT) -> Row:
    return Row([" "] * cols, [pen] * cols)


class HistLine(NamedTuple):
    """A row that scrolled off: its text (trailing default blanks trimmed), its pen runs as
    one flat tuple ``(end, pen, end, pen, ...)`` of end offsets in ``text`` and pens (empty
    when all default), and its wrap flag. Flat, because history is most of a session's
    memory: pens are shared and small offsets are cached ints, so a run costs 16 bytes."""

    text: str
    spans: tuple[int | Pen, ...]
    wrapped: bool
    filler: bool = False  # as Row.filler: the last character of a wrapped line's text

    def runs(self) -> Iterator[tuple[int, Pen]]:
        """The (end offset, pen) pairs."""
        spans = self.spans
        return zip(spans[::2], spans[1::2], strict=True)  # type: ignore[arg-type]


def compact(row: Row) -> HistLine:
    chars = row.chars
    pens = row.pens
    p0 = pens[0]
    if pens.count(p0) == len(pens):  # one pen for the whole row: the common case
        text = "".join(chars)
        if p0 == DEFAULT:
            return HistLine(text if row.wrapped else text.rstrip(" "), (), row.wrapped,
                            row.filler)
        text = cell_text(text, p0)
        return HistLine(text, (len(text), p0), row.wrapped, row.filler)
    end = len(chars)
    text = "".join(chars)
    if not row.wrapped:  # a wrapped row keeps its trailing blanks: they join the next
        if len(text) == end:
            k = len(text.rstrip(" "))
            if pens[k:].count(DEFAULT) == end - k:
                end = k
        while end and chars[end - 1] == " " and pens[end - 1] == DEFAULT:
            end -= 1
    if not end:
        return HistLine("", (), row.wrapped)
    text = "".join(chars[:end])
    if len(text) == end and "" not in chars:  # one character per cell: cell offsets
        breaks = [x for x in range(1, end) if pens[x] != pens[x - 1]]
        breaks.append(end)
        runs = [(b, pens[b - 1]) for b in breaks]
        if any(p.flags & ACS for _, p in runs):
            start = 0
            parts = []
            for b, p in runs:
                parts.append(cell_text(text[start:b], p))
                start = b
            text = "".join(parts)
        return HistLine(text, tuple(v for run in runs for v in run), row.wrapped, row.filler)
    spans: list[int | Pen] = []
    texts: list[str] = []
    offset = 0
    cur = p0
    for x in range(end):
        p = pens[x]
        if p != cur:
            spans += (offset, cur)
            cur = p
        ch = chars[x]
        if p.flags & ACS:
            ch = ch.translate(DEC_GRAPHICS)
        texts.append(ch)
        offset += len(ch)
    spans += (offset, cur)
    return HistLine("".join(texts), tuple(spans), row.wrapped, row.filler)


