"""A VT/xterm emulator core built for faithful redraw.

pyte's parser is a per-character generator and its ``Char`` cannot hold what a faithful
redraw needs (dim, hidden, overline, the exact colour syntax), so this module has its own
regex tokenizer and cell store.

Layout: a screen is a list of :class:`Row`; a row holds two parallel lists, the cell texts
(``""`` for the right half of a wide character, base char plus combining marks otherwise)
and the cell pens. A :class:`Pen` is a small immutable tuple shared by every cell that looks
alike, so a painted cell costs two list slots. Rows that scroll off the top go to a history
of compact immutable :class:`HistLine` tuples.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from wcwidth import wcwidth as _wcwidth

from ptymux import __version__
from ptymux.term.history import History

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


# (pen, SGR parameters) -> the pen they give. Shared by every session: pens are immutable,
# and one cache (with its pens and colour strings) per session would cost ~100 KB each.
_PEN_AFTER_SGR: dict[tuple[Pen, str], Pen] = {}


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


# ---------------------------------------------------------------------------------------
# Character widths

wcwidth: Callable[[str], int] = lru_cache(maxsize=8192)(_wcwidth)


def _width_class(width: int, first: int, last: int) -> str:
    """A regex character class of the code points in [first, last) that wcwidth gives
    ``width`` cells (and are not combining)."""
    ranges: list[tuple[int, int]] = []
    start = -1
    for cp in range(first, last):
        ch = chr(cp)
        ok = not 0xD800 <= cp < 0xE000 and _wcwidth(ch) == width and not unicodedata.combining(ch)
        if ok and start < 0:
            start = cp
        elif not ok and start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    if start >= 0:
        ranges.append((start, last - 1))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


_RUNS: tuple[re.Pattern[str], re.Pattern[str]] | None = None


def _run_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for runs of one-cell and of two-cell characters (built on first use)."""
    global _RUNS
    if _RUNS is None:
        _RUNS = (
            re.compile(f"[{_width_class(1, 0x20, 0x3000)}]+"),
            re.compile(f"[{_width_class(2, 0x1100, 0x10000)}]+"),
        )
    return _RUNS


@lru_cache(maxsize=4096)
def cell_is_wide(text: str) -> bool:
    return bool(text) and wcwidth(text[0]) == 2


# ---------------------------------------------------------------------------------------
# Charsets

# DEC special graphics (line drawing), for 0x5F..0x7E: xterm's table (pyte has the same; it
# is written out here because importing pyte for it cost the server's start ~15 ms).
_DEC_GRAPHICS = (
    "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2591\u240b\u2518"
    "\u2510\u250c\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534"
    "\u252c\u2502\u2264\u2265\u03c0\u2260\u00a3\u00b7"
)


def _charset_map(code: str) -> dict[int, str] | None:
    if code == "0":
        return {0x5F + i: ch for i, ch in enumerate(_DEC_GRAPHICS)}
    if code == "A":
        return {0x23: "\u00a3"}
    return None


CHARSETS: dict[str, dict[int, str] | None] = {c: _charset_map(c) for c in "B0A"}
DEC_GRAPHICS: dict[int, str] = CHARSETS["0"] or {}


# ---------------------------------------------------------------------------------------
# Tokenizer

_TOKEN = re.compile(
    r"([^\x00-\x1f\x7f-\x9f]+)"  # 1 printable text
    r"|\x1b\[([0-9;:]*)m([^\x00-\x1f\x7f-\x9f]*)"  # SGR: 2 params, 3 the text after it
    r"|(\x1b\[([0-?]*)([ -/]*)([@-~]))"  # 4 CSI: 5 params, 6 intermediates, 7 final
    r"|([\x00-\x1a\x1c-\x1f\x7f-\x9f])"  # 8 a C0 / C1 control
    r"|(\x1b\]([^\x07\x18\x1a\x1b]*)(?:\x07|\x1b\\|[\x18\x1a]|(?=\x1b)))"  # 9 OSC: 10 body
    r"|(\x1b[P^_X][^\x18\x1a\x1b]*(?:\x1b\\|[\x18\x1a]|(?=\x1b)))"  # 11 DCS/PM/APC/SOS
    r"|(\x1b([ -/]*)((?<=[ -/])[0-~]|[0-OQ-WYZ\\`-~]))"  # 12 ESC: 13 intermediates, 14 final
    r"|(\x1b)",  # 15 a lone or broken ESC
    re.DOTALL,
)
_INCOMPLETE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x18\x1a\x1b]*|[P^_X][^\x18\x1a\x1b]*|[ -/]*)"
)
# A CSI sequence with C0 controls inside (vttest does this): the controls act first.
_CSI_WITH_C0 = re.compile(r"\x1b\[([\x00-\x17\x19\x1c-\x1f0-?]*)([ -/]*)([@-~])")
_C0_IN = re.compile(r"[\x00-\x1f]")
# CAN / SUB abort a sequence being read; nothing of it is shown.
_CANCELLED = re.compile(r"\x1b(?:\[[ -?]*|[ -/]*)[\x18\x1a]")
# A malformed CSI sequence (parameter after intermediate...): ignored up to its final byte.
_CSI_MALFORMED = re.compile(r"\x1b\[[ -?]*[@-~]")
_MAX_HELD = 1 << 20
_MAX_PARAM = 9999


class SavedCursor(NamedTuple):
    x: int = 0
    y: int = 0
    pen: Pen = DEFAULT
    g0: str = "B"
    g1: str = "B"
    gl: int = 0
    origin: bool = False


# DEC private modes kept as plain flags and replayed by redraw (mouse tracking and mouse
# encoding are kept as one value each; 6, 7, 25, 47/1047/1049 and 66 are structural).
FLAG_MODES = (1, 5, 12, 1004, 1007, 2004)
MOUSE_MODES = (9, 1000, 1001, 1002, 1003)
MOUSE_ENCODINGS = (1005, 1006, 1015, 1016)


def set_tracked_mode(t: Any, mode: int, on: bool) -> None:
    """A report or key mode kept only to be redrawn, as every model keeps it (``t`` has
    ``flags``, ``mouse`` and ``mouse_enc``): a flag mode on or off; one mouse mode and one
    mouse encoding at a time (as xterm: setting one replaces the other, resetting another
    leaves it)."""
    if mode in MOUSE_MODES:
        if on:
            t.mouse = mode
        elif t.mouse == mode:
            t.mouse = 0
    elif mode in MOUSE_ENCODINGS:
        if on:
            t.mouse_enc = mode
        elif t.mouse_enc == mode:
            t.mouse_enc = 0
    elif on:
        t.flags.add(mode)
    else:
        t.flags.discard(mode)
ALT_MODES = (47, 1047, 1049)
DECCOLM = 3  # 80/132 columns: clears the screen, never resizes (see set_dec_modes)
ALLOW_DECCOLM = 40
REVERSE_WRAP = 45
SAVE_CURSOR_MODE = 1048  # DECSC on set, DECRC on reset; not a state (not in KNOWN_DEC)
KNOWN_DEC = frozenset((DECCOLM, 6, 7, 25, ALLOW_DECCOLM, REVERSE_WRAP, 66, 2026) + FLAG_MODES
                      + MOUSE_MODES + MOUSE_ENCODINGS + ALT_MODES)

KITTY_DEPTH = 8  # kitty keyboard flag stack entries per screen (kitty's and ghostty's limit)
MAX_PROMPTS = 100  # OSC 133 prompt starts remembered

DA1_REPLY = "\x1b[?1;2c"
DA2_REPLY = "\x1b[>0;10;1c"
XTVERSION_REPLY = f"\x1bP>|ptymux {__version__}\x1b\\"


class Terminal:
    """The emulator state machine: feed it program output, read its state."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.cols = max(cols, 1)
        self.rows = max(rows, 1)
        self.history_limit = max(history, 0)
        self.history = History(self.history_limit or 1)
        # history.total at the last clear of the main screen: a taller window takes back
        # only the history rows that scrolled off after it (resize; tmux's "hscrolled").
        self.pull_mark = 0
        self.errors = 0
        self.replies: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""
        self.title = ""
        self.icon = ""
        self._title_stack: list[tuple[str, str]] = []
        self.cwd = ""  # OSC 7: the program's working directory (a file:// URL's path)
        # OSC 133 marks: the absolute line (history_total + row) of each prompt start (A)
        # on the main screen, oldest first, and the last mark seen (A, B, C or D).
        self.prompts: list[int] = []
        self.last_mark = ""
        # Colours a query for one the program did not set is answered with (key as in
        # ``colours``); empty: ``default_colour``'s.
        self.default_colours: dict[str, str] = {}
        self._csi = self._csi_table()
        self._oscs = self._osc_table()
        self._esc = self._esc_table()
        self._ctl = self._ctl_table()
        self.reset()

    # -- state ------------------------------------------------------------------------

    def reset(self) -> None:
        """RIS: power-on state (title and history survive, as in xterm)."""
        cols, rows = self.cols, self.rows
        self.main = [blank_row(cols) for _ in range(rows)]
        self.alt = [blank_row(cols) for _ in range(rows)]
        self.buf = self.main
        self.alt_mode = 0  # 0: main screen active; else the mode that entered alt
        self.saved_main = SavedCursor()
        self.saved_alt = SavedCursor()
        self.x = 0
        self.y = 0
        self.pending = False  # the last column was written: the next char wraps first
        self.pen = DEFAULT
        self.top = 0
        self.bottom = rows - 1
        self.autowrap = True
        self.reverse_wrap = False  # ?45: BS at the left margin goes up to the row above's end
        self.allow_deccolm = False  # ?40: DECCOLM (?3) is acted on
        self.col132 = False  # ?3 as last set (answered by DECRQM; the width never changes)
        # DECSCA 1 was seen since the last RIS: only then does a redraw send DECSCA (a
        # terminal, or pyte, that does not know it may show its final byte).
        self.decsca_used = False
        self.origin = False
        self.insert = False
        self.lnm = False
        self.cursor_visible = True
        self.keypad = False
        self.cursor_style = 0
        self.flags: set[int] = set()
        self.sync = False
        self.mouse = 0
        self.mouse_enc = 0
        self.modify_keys: dict[int, int] = {}
        # Kitty progressive keyboard enhancement flags: one stack per screen (the protocol
        # says so), the top is in effect, empty means 0.
        self.kitty_main: list[int] = []
        self.kitty_alt: list[int] = []
        # Colours the program set (OSC 4/10/11/12): key "4;N", "10", "11" or "12" -> the
        # colour spec as sent; replayed by redraw, reset on detach (RIS resets them, as
        # in xterm).
        self.colours: dict[str, str] = {}
        self.tabs = set(range(8, cols, 8))
        self.g = ["B", "B"]
        self.gl = 0
        self._translate: dict[int, str] | None = None
        self._acs = False
        self._special = False  # a charset other than ASCII is in GL
        self.last_char = ""

    @property
    def in_alt(self) -> bool:
        return self.buf is self.alt

    @property
    def kitty(self) -> list[int]:
        """The kitty keyboard flag stack of the screen in use."""
        return self.kitty_alt if self.buf is self.alt else self.kitty_main

    # -- feeding ----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            text = self._decoder.decode(data)
        except Exception:  # pragma: no cover - "replace" never raises
            self.errors += 1
            return
        if self._held:
            text = self._held + text
            self._held = ""
        if text:
            self.feed_text(text)

    def feed_text(self, s: str) -> None:
        pos: int | None = 0
        while pos is not None:
            pos = self._run(s, pos)

    def _run(self, s: str, pos: int) -> int | None:
        """Process ``s`` from ``pos``; returns where to resume, or None when done."""
        draw = self.draw
        csi = self._csi
        ctl = self._ctl
        sgr_cache = _PEN_AFTER_SGR
        narrow = self._draw_narrow
        for m in _TOKEN.finditer(s, pos):
            kind = m.lastindex
            try:
                if kind == 1:
                    text = m.group(1)
                    if text.isascii() and not self._special:
                        narrow(text)
                    else:
                        draw(text)
                elif kind == 3:
                    params, text = m.group(2, 3)
                    key = (self.pen, params)
                    pen = sgr_cache.get(key)
                    if pen is None:
                        pen = apply_sgr(self.pen, params)
                        if len(sgr_cache) > 4096:
                            sgr_cache.clear()
                        sgr_cache[key] = pen
                    self.pen = pen
                    if text:
                        if text.isascii() and not self._special:
                            narrow(text)
                        else:
                            draw(text)
                elif kind == 4:
                    params, inter, final = m.group(5, 6, 7)
                    self._dispatch_csi(params, inter, final, csi)
                elif kind == 8:
                    self.last_char = ""
                    handler = ctl.get(m.group(8))
                    if handler is not None:
                        handler()
                elif kind == 9:
                    self._osc(m.group(10), m.group(9)[-1] == "\x07")
                elif kind == 12:
                    self.last_char = ""
                    esc_handler = self._esc.get(m.group(13) + m.group(14))
                    if esc_handler is not None:
                        esc_handler(m.group(14))
                elif kind == 15:
                    start = m.start()
                    if len(s) - start < _MAX_HELD and _INCOMPLETE.fullmatch(s, start):
                        self._held = s[start:]
                        return None
                    c = _CANCELLED.match(s, start)
                    if c is not None:
                        return c.end()
                    c = _CSI_WITH_C0.match(s, start)
                    if c is not None and m.end() == start + 1:
                        # Handled by re-feeding: controls first, then the clean sequence.
                        params = c.group(1)
                        for ch in _C0_IN.findall(params):
                            handler = ctl.get(ch)
                            if handler is not None:
                                handler()
                        self._dispatch_csi(_C0_IN.sub("", params), c.group(2), c.group(3), csi)
                        return c.end()
                    c = _CSI_MALFORMED.match(s, start)
                    if c is not None:
                        return c.end()
                # kind 11 (DCS, APC, PM, SOS): dropped.
            except Exception:
                self.errors += 1
        return None

    def _dispatch_csi(
        self, params: str, inter: str, final: str,
        csi: dict[str, Callable[[list[int]], None]],
    ) -> None:
        prefix = ""
        if params and params[0] in "<=>?":
            prefix = params[0]
            params = params[1:]
        if final == "m" and not inter and not prefix:
            self.pen = apply_sgr(self.pen, params)
            return
        if final != "b":
            self.last_char = ""
        handler = csi.get(prefix + inter + final)
        if handler is None:
            return
        if params:
            digits = params.replace(";", "").replace(":", "")
            if digits and not digits.isdigit():
                return  # misplaced private marker or garbage: ignore, like xterm
            values = []
            for p in params.split(";"):
                if ":" in p:
                    p = p.split(":", 1)[0]
                values.append(min(int(p), _MAX_PARAM) if p else 0)
        else:
            values = []
        handler(values)

    def unfinished_input(self) -> bytes:
        """The input not acted on yet: an incomplete escape sequence and the first bytes of
        an incomplete UTF-8 character. A redraw ends with them, so that the client's parser
        is where ours is when the rest arrives."""
        buffered: bytes = self._decoder.getstate()[0]
        return self._held.encode("utf-8", "replace") + buffered

    def flush(self) -> None:
        """Drop an incomplete escape sequence held back waiting for its end."""
        self._held = ""

    # -- drawing ----------------------------------------------------------------------

    def draw(self, s: str) -> None:
        if self._special:
            if self._acs:
                pen = self.pen
                self.pen = acs_pen(pen)
                try:
                    self._draw(s)
                finally:
                    self.pen = pen
                return
            if self._translate is not None:
                s = s.translate(self._translate)
        self._draw(s)

    def _draw(self, s: str) -> None:
        if s.isascii():
            self._draw_narrow(s)
            return
        narrow, wide = _run_res()
        pos = 0
        n = len(s)
        while pos < n:
            m = narrow.match(s, pos)
            if m is not None:
                self._draw_narrow(m.group())
                pos = m.end()
                continue
            m = wide.match(s, pos)
            if m is not None:
                self._draw_wide_run(m.group())
                pos = m.end()
                continue
            ch = s[pos]
            pos += 1
            w = wcwidth(ch)
            if w == 2:
                self._draw_wide(ch)
            elif w == 1:
                self._draw_narrow(ch)
            elif w == 0:
                self._combine(ch)
            # w < 0: unprintable, skipped (the rest of the run is kept)

    def _wrap(self, filler: bool = False) -> None:
        row = self.buf[self.y]
        row.wrapped = True
        row.filler = filler
        self.x = 0
        self._index()

    def _paint(self, x: int, end: int, cells: str | list[str], last: str) -> None:
        """Fast path: cells x..end-1 of the cursor row (end < cols, no pending wrap, no
        insert mode), splitting any wide character they cut in half; the cursor ends at end."""
        row = self.buf[self.y]
        chars = row.chars
        if x and chars[x] == "":
            chars[x - 1] = " "
        if chars[end] == "":
            chars[end] = " "
        chars[x:end] = cells
        row.pens[x:end] = [self.pen] * (end - x)
        self.x = end
        self.last_char = last

    def _draw_narrow(self, s: str) -> None:
        x = self.x
        n = len(s)
        end = x + n
        if end < self.cols and not self.pending and not self.insert:
            self._paint(x, end, s, s[-1])
            return
        cols = self.cols
        pen = self.pen
        i = 0
        n = len(s)
        while i < n:
            if self.pending:
                self.pending = False
                if self.autowrap:
                    self._wrap()
            x = self.x
            row = self.buf[self.y]
            k = min(n - i, cols - x)
            if self.insert:
                self._insert_blanks(row, x, k)
            chars = row.chars
            end = x + k
            if chars[x] == "" and x:
                chars[x - 1] = " "
            if end < cols and chars[end] == "":
                chars[end] = " "
            chars[x:end] = s[i : i + k]
            row.pens[x:end] = [pen] * k
            i += k
            if end >= cols:
                self.x = cols - 1
                if self.autowrap:
                    self.pending = True
                elif i < n:
                    chars[cols - 1] = s[n - 1]
                    i = n
            else:
                self.x = end
        self.last_char = s[-1]

    def _draw_wide_run(self, s: str) -> None:
        """Two-cell characters in bulk where they fit; the edges go one by one."""
        i = 0
        n = len(s)
        while i < n:
            x = self.x
            k = min(n - i, (self.cols - x) // 2)
            if x + 2 * k >= self.cols:
                k -= 1  # the one that reaches the last column sets the pending wrap
            if k < 1 or self.pending or self.insert:
                self._draw_wide(s[i])
                i += 1
                continue
            seg = s[i : i + k]
            cells = [""] * (2 * k)
            cells[0::2] = seg
            self._paint(x, x + 2 * k, cells, seg[-1])
            i += k

    def _draw_wide(self, ch: str) -> None:
        cols = self.cols
        if cols < 2:
            return
        if self.pending:
            self.pending = False
            if self.autowrap:
                self._wrap()
        if self.x >= cols - 1:
            if self.autowrap:
                self._wrap(True)  # does not fit: the last column is left as is (xterm)
            else:
                self.x = cols - 2
        x = self.x
        row = self.buf[self.y]
        if self.insert:
            self._insert_blanks(row, x, 2)
        chars = row.chars
        if chars[x] == "" and x:
            chars[x - 1] = " "
        if x + 2 < cols and chars[x + 2] == "":
            chars[x + 2] = " "
        chars[x] = ch
        chars[x + 1] = ""
        row.pens[x] = row.pens[x + 1] = self.pen
        if x + 2 >= cols:
            self.x = cols - 1
            if self.autowrap:
                self.pending = True
        else:
            self.x = x + 2
        self.last_char = ch

    def _combine(self, ch: str) -> None:
        """A zero-width char (combining mark, ZWJ, variation selector) joins the cell
        before the cursor."""
        x, y = self.x, self.y
        if not self.pending:
            x -= 1
        if x < 0:
            if y == 0 or not self.buf[y - 1].wrapped:
                return
            y -= 1
            x = self.cols - 1
        chars = self.buf[y].chars
        if chars[x] == "" and x:
            x -= 1
        if len(chars[x]) < 16:
            chars[x] += ch  # not normalised: the client gets exactly what the program sent

    def _insert_blanks(self, row: Row, x: int, k: int) -> None:
        cols = self.cols
        k = min(k, cols - x)
        blank = erase_pen(self.pen)
        row.chars[x:x] = [" "] * k
        row.pens[x:x] = [blank] * k
        del row.chars[cols:]
        del row.pens[cols:]
        self._sanitize(row)

    def _sanitize(self, row: Row) -> None:
        """Repair wide-char halves split by a shift."""
        chars = row.chars
        last = self.cols - 1
        for x, c in enumerate(chars):
            if c == "":
                if x == 0 or not cell_is_wide(chars[x - 1]):
                    chars[x] = " "
            elif (x == last or chars[x + 1] != "") and cell_is_wide(c):
                chars[x] = " "

    # -- scrolling --------------------------------------------------------------------

    def _index(self) -> None:
        if self.y == self.bottom:
            self._scroll_up(self.top, self.bottom, 1)
        elif self.y < self.rows - 1:
            self.y += 1

    def _scroll_up(self, top: int, bottom: int, n: int) -> None:
        buf = self.buf
        n = max(1, min(n, bottom - top + 1))
        cols = self.cols
        blank = erase_pen(self.pen)
        keep = top == 0 and bottom == self.rows - 1 and buf is self.main and self.history_limit
        for _ in range(n):
            row = buf.pop(top)
            if keep:
                self.history.append(compact(row))
            buf.insert(bottom, blank_row(cols, blank))

    def _scroll_down(self, top: int, bottom: int, n: int) -> None:
        buf = self.buf
        n = max(1, min(n, bottom - top + 1))
        blank = erase_pen(self.pen)
        for _ in range(n):
            del buf[bottom]
            buf.insert(top, blank_row(self.cols, blank))

    # -- controls ---------------------------------------------------------------------

    def _ctl_table(self) -> dict[str, Callable[[], None]]:
        """C0 controls. No C1 control acts, as in xterm in UTF-8 mode ("it is not possible
        to use a C1 control obtained from decoding the UTF-8 text", ctlseqs; tmux and
        libghostty-vt agree): the code points U+0080-U+009F are ignored, and raw bytes
        0x80-0x9F, invalid UTF-8, are drawn as U+FFFD. A program wanting IND, NEL, HTS,
        RI, CSI... writes them as ESC sequences."""
        return {
            "\r": self.carriage_return,
            "\n": self.linefeed,
            "\x0b": self.linefeed,
            "\x0c": self.linefeed,
            "\x08": self.backspace,
            "\t": self.tab,
            "\x0e": self.shift_out,
            "\x0f": self.shift_in,
        }

    def carriage_return(self) -> None:
        self.x = 0
        self.pending = False

    def linefeed(self) -> None:
        self.pending = False
        self._index()
        if self.lnm:
            self.x = 0

    def backspace(self) -> None:
        self._cursor_left(1)

    def _cursor_left(self, n: int) -> None:
        """BS and CUB. With reverse wrap (?45) and autowrap both on, xterm's (and
        libghostty-vt's) XTREVWRAP: a pending wrap uses up one step (the cursor stays on
        the last column), and at the left edge the cursor goes on to the last column of
        the row above when that row soft-wrapped into this one, never above the top of the
        scroll region (of the screen when the cursor is above the region)."""
        if not (self.reverse_wrap and self.autowrap):
            self.pending = False
            self.x = max(self.x - n, 0)
            return
        if self.pending:
            n -= 1
            self.pending = False
        top = self.top if self.y >= self.top else 0
        while True:
            step = min(self.x, n)
            self.x -= step
            n -= step
            if n <= 0 or self.y <= top or not self.buf[self.y - 1].wrapped:
                return
            self.y -= 1
            self.x = self.cols - 1
            n -= 1

    def tab(self) -> None:
        self._tab_forward(1)

    def _tab_forward(self, n: int) -> None:
        x = self.x
        for _ in range(max(n, 1)):
            nxt = [t for t in self.tabs if t > x]
            if not nxt:
                x = self.cols - 1
                break
            x = min(nxt)
        if x != self.x:  # at the last column, a pending wrap stays pending (xterm)
            self.pending = False
        self.x = min(x, self.cols - 1)

    def _tab_back(self, n: int) -> None:
        if self.pending:
            return  # xterm leaves the cursor (and the pending wrap) alone
        x = self.x
        for _ in range(max(n, 1)):
            prev = [t for t in self.tabs if t < x]
            if not prev:
                x = 0
                break
            x = max(prev)
        self.x = x

    def shift_out(self) -> None:
        self.gl = 1
        self._update_charset()

    def shift_in(self) -> None:
        self.gl = 0
        self._update_charset()

    def _set_charset(self, which: int, code: str) -> None:
        self.g[which] = code if code in CHARSETS else "B"
        self._update_charset()

    def _update_charset(self) -> None:
        code = self.g[self.gl]
        self._acs = code == "0"
        self._translate = CHARSETS.get(code) if code == "A" else None
        self._special = self._acs or self._translate is not None

    # -- ESC sequences ----------------------------------------------------------------

    def _esc_table(self) -> dict[str, Callable[[str], None]]:
        t: dict[str, Callable[[str], None]] = {
            "D": lambda _: self.esc_ind(),
            "E": lambda _: self.esc_nel(),
            "H": lambda _: self.esc_hts(),
            "M": lambda _: self.esc_ri(),
            "7": lambda _: self.save_cursor(),
            "8": lambda _: self.restore_cursor(),
            "=": lambda _: setattr(self, "keypad", True),
            ">": lambda _: setattr(self, "keypad", False),
            "c": lambda _: self.reset(),
            "#8": lambda _: self.alignment(),
        }
        for code in "B0AUK<>4C5RQ7=Y6Z":
            t["(" + code] = lambda c: self._set_charset(0, c)
            t[")" + code] = lambda c: self._set_charset(1, c)
        return t

    def esc_ind(self) -> None:
        self.pending = False
        self._index()

    def esc_nel(self) -> None:
        self.pending = False
        self._index()
        self.x = 0

    def esc_ri(self) -> None:
        self.pending = False
        if self.y == self.top:
            self._scroll_down(self.top, self.bottom, 1)
        elif self.y > 0:
            self.y -= 1

    def esc_hts(self) -> None:
        self.tabs.add(self.x)

    def alignment(self) -> None:
        self.top, self.bottom = 0, self.rows - 1
        self.origin = False
        for row in self.buf:
            row.chars[:] = ["E"] * self.cols
            row.pens[:] = [DEFAULT] * self.cols
            row.wrapped = False
        self.x = self.y = 0
        self.pending = False

    def save_cursor(self) -> None:
        saved = SavedCursor(self.x, self.y, self.pen, self.g[0], self.g[1], self.gl, self.origin)
        if self.in_alt:
            self.saved_alt = saved
        else:
            self.saved_main = saved

    def restore_cursor(self) -> None:
        s = self.saved_alt if self.in_alt else self.saved_main
        self.x = min(s.x, self.cols - 1)
        self.y = min(s.y, self.rows - 1)
        self.pen = s.pen
        self.g[:] = [s.g0, s.g1]
        self.gl = s.gl
        self._update_charset()
        self.origin = s.origin
        self.pending = False

    # -- OSC --------------------------------------------------------------------------

    def _osc(self, body: str, bel: bool = False) -> None:
        """OSC ``body``; ``bel``: it ended with BEL (a reply ends the way the query did)."""
        num, _, text = body.partition(";")
        if num not in ("0", "1", "2"):
            handler = self._oscs.get(num)
            if handler is not None:
                handler(num, text, bel)
            return
        # (no C1 either: a terminal acting on UTF-8 C1, as VTE does, would end the OSC at
        # an encoded ST when the redraw sends the title back)
        text = "".join(ch for ch in text if ch >= " " and not "\x7f" <= ch <= "\x9f")[:4096]
        if num in ("0", "2"):
            self.title = text
        if num in ("0", "1"):
            self.icon = text

    def _osc_table(self) -> dict[str, Callable[[str, str, bool], None]]:
        return {
            "4": self._osc_palette,
            "10": self._osc_dynamic,
            "11": self._osc_dynamic,
            "12": self._osc_dynamic,
            "104": self._osc_reset_palette,
            "110": self._osc_reset_dynamic,
            "111": self._osc_reset_dynamic,
            "112": self._osc_reset_dynamic,
            "7": self._osc_cwd,
            "8": self._osc_link,
            "133": self._osc_mark,
        }

    def _osc_link(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 8 ; params ; uri: the cells drawn next link to uri (none when it is empty)."""
        params, _, uri = text.partition(";")
        link = f"{params};{uri}" if uri and len(uri) + len(params) < 4096 else ""
        if _printable(link):
            self.pen = self.pen._replace(link=link)

    def _osc_cwd(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 7 ; file://host/path: the shell says where it is (``cwd`` is the path)."""
        if not text.startswith("file://") or not _printable(text):
            return
        path = text[7:]
        slash = path.find("/")
        if slash < 0:
            return
        from urllib.parse import unquote

        self.cwd = unquote(path[slash:])[:4096]

    def _osc_mark(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 133 ; A|B|C|D: shell integration marks. A prompt start (A) is remembered by
        its absolute line, so that ``prompt_rows`` can find it after it scrolled away."""
        kind = text[:1]
        if kind not in ("A", "B", "C", "D"):
            return
        self.last_mark = kind
        if kind == "A" and not self.in_alt:
            line = (self.history.total if self.history_limit else 0) + self.y
            if not self.prompts or self.prompts[-1] != line:
                self.prompts.append(line)
                del self.prompts[:-MAX_PROMPTS]

    def _osc_palette(self, _num: str, text: str, bel: bool) -> None:
        """OSC 4 ; index ; spec [; index ; spec ...]: set palette colours, or ask (spec ?)."""
        parts = text.split(";")
        for i in range(0, len(parts) - 1, 2):
            index, spec = parts[i], parts[i + 1]
            if not index.isdigit() or int(index) > 255:
                continue
            key = f"4;{int(index)}"
            if spec == "?":
                self.replies.append(self._colour_answer(key, bel))
            elif _printable(spec) and len(spec) < 64:
                self.colours.pop(key, None)  # (re-inserted last: replayed in the order set)
                self.colours[key] = spec

    def _osc_dynamic(self, num: str, text: str, bel: bool) -> None:
        """OSC 10/11/12 ; spec [; spec ...]: foreground, background, cursor colour (each
        further spec is for the next number, as in xterm)."""
        n = int(num)
        for spec in text.split(";"):
            if n > 12:
                break
            key = str(n)
            if spec == "?":
                self.replies.append(self._colour_answer(key, bel))
            elif spec and _printable(spec) and len(spec) < 64:
                self.colours[key] = spec
            n += 1

    def _osc_reset_palette(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 104 [; index ...]: back to the terminal's own colours."""
        if not text:
            for key in [k for k in self.colours if k.startswith("4;")]:
                del self.colours[key]
            return
        for index in text.split(";"):
            if index.isdigit():
                self.colours.pop(f"4;{int(index)}", None)

    def _osc_reset_dynamic(self, num: str, _text: str, _bel: bool) -> None:
        self.colours.pop(str(int(num) - 100), None)

    def _colour_answer(self, key: str, bel: bool) -> str:
        spec = self.colours.get(key)
        spec = _as_rgb(spec) if spec else self.default_colours.get(key) or default_colour(key)
        return f"\x1b]{key};{spec}" + ("\x07" if bel else "\x1b\\")

    # -- CSI --------------------------------------------------------------------------

    def _csi_table(self) -> dict[str, Callable[[list[int]], None]]:
        return {
            "@": self.csi_ich,
            "A": self.csi_cuu,
            "B": self.csi_cud,
            "C": self.csi_cuf,
            "D": self.csi_cub,
            "E": self.csi_cnl,
            "F": self.csi_cpl,
            "G": self.csi_cha,
            "H": self.csi_cup,
            "I": lambda p: self._tab_forward(_arg(p, 0, 1)),
            "J": self.csi_ed,
            "?J": self.csi_decsed,
            "K": self.csi_el,
            "?K": self.csi_decsel,
            '"q': self.csi_decsca,
            "L": self.csi_il,
            "M": self.csi_dl,
            "P": self.csi_dch,
            "S": self.csi_su,
            "T": self.csi_sd,
            "X": self.csi_ech,
            "Z": lambda p: self._tab_back(_arg(p, 0, 1)),
            "`": self.csi_cha,
            "a": self.csi_cuf,
            "b": self.csi_rep,
            "c": self.csi_da1,
            ">c": self.csi_da2,
            "d": self.csi_vpa,
            "e": lambda p: self._move(self.x, self.y + _arg(p, 0, 1)),
            " @": lambda p: self._shift_columns(0, -_arg(p, 0, 1)),
            " A": lambda p: self._shift_columns(0, _arg(p, 0, 1)),
            "'}": lambda p: self._shift_columns(self.x, _arg(p, 0, 1)),
            "'~": lambda p: self._shift_columns(self.x, -_arg(p, 0, 1)),
            "f": self.csi_cup,
            "g": self.csi_tbc,
            "h": lambda p: self.set_ansi_modes(p, True),
            "l": lambda p: self.set_ansi_modes(p, False),
            "?h": lambda p: self.set_dec_modes(p, True),
            "?l": lambda p: self.set_dec_modes(p, False),
            ">m": self.csi_modify_keys,
            ">n": self.csi_modify_keys_off,
            ">u": self.csi_kitty_push,
            "<u": self.csi_kitty_pop,
            "=u": self.csi_kitty_set,
            "?u": lambda p: self.replies.append(f"\x1b[?{self.kitty_flags}u"),
            "n": self.csi_dsr,
            "?n": self.csi_dsr_private,
            "r": self.csi_stbm,
            "s": lambda p: self.save_cursor(),
            "u": lambda p: self.restore_cursor(),
            "t": self.csi_winops,
            "!p": lambda p: self.soft_reset(),
            "$p": lambda p: self.csi_decrqm(p, False),
            "?$p": lambda p: self.csi_decrqm(p, True),
            " q": self.csi_decscusr,
            ">q": lambda p: self.replies.append(XTVERSION_REPLY) if _arg(p, 0, 0) == 0 else None,
        }

    def _move(self, x: int, y: int) -> None:
        self.x = max(0, min(x, self.cols - 1))
        self.y = max(0, min(y, self.rows - 1))
        self.pending = False

    def csi_cuu(self, p: list[int]) -> None:
        n = _arg(p, 0, 1)
        top = self.top if self.y >= self.top else 0
        self._move(self.x, max(self.y - n, top))

    def csi_cud(self, p: list[int]) -> None:
        n = _arg(p, 0, 1)
        bottom = self.bottom if self.y <= self.bottom else self.rows - 1
        self._move(self.x, min(self.y + n, bottom))

    def csi_cuf(self, p: list[int]) -> None:
        self._move(self.x + _arg(p, 0, 1), self.y)

    def csi_cub(self, p: list[int]) -> None:
        self._cursor_left(_arg(p, 0, 1))

    def csi_cnl(self, p: list[int]) -> None:
        self.csi_cud(p)
        self.x = 0

    def csi_cpl(self, p: list[int]) -> None:
        self.csi_cuu(p)
        self.x = 0

    def csi_cha(self, p: list[int]) -> None:
        self._move(_arg(p, 0, 1) - 1, self.y)

    def csi_cup(self, p: list[int]) -> None:
        row = _arg(p, 0, 1) - 1
        col = _arg(p, 1, 1) - 1
        if self.origin:
            row = min(row + self.top, self.bottom)
        self._move(col, row)

    def csi_vpa(self, p: list[int]) -> None:
        row = _arg(p, 0, 1) - 1
        if self.origin:
            row = min(row + self.top, self.bottom)
        self._move(self.x, row)

    def _erase(self, row: Row, start: int, end: int) -> None:
        """Blank cells [start, end) of ``row`` with the erase pen."""
        if start >= end:
            return
        chars = row.chars
        if start and chars[start] == "":
            chars[start - 1] = " "
        if end < self.cols and chars[end] == "":
            chars[end] = " "
        chars[start:end] = [" "] * (end - start)
        row.pens[start:end] = [erase_pen(self.pen)] * (end - start)

    def csi_el(self, p: list[int]) -> None:
        how = _arg(p, 0, 0)
        row = self.buf[self.y]
        if how == 0:
            self._erase(row, self.x, self.cols)
            row.wrapped = False
        elif how == 1:
            self._erase(row, 0, self.x + 1)
        elif how == 2:
            self._erase(row, 0, self.cols)  # xterm's ClearLine keeps the wrap flag
        self.pending = False

    def csi_decsca(self, p: list[int]) -> None:
        """DECSCA: 1 protects the cells drawn next from DECSED/DECSEL; 0 and 2 do not."""
        how = _arg(p, 0, 0)
        if how == 1:
            self.decsca_used = True
            self.pen = self.pen._replace(flags=self.pen.flags | PROTECTED)
        elif how in (0, 2) and self.pen.flags & PROTECTED:
            self.pen = self.pen._replace(flags=self.pen.flags & ~PROTECTED)

    def _selective_erase(self, row: Row, start: int, end: int) -> None:
        """Blank the unprotected cells of [start, end) (DECSED, DECSEL): protected ones
        keep their character and attributes, as in xterm; wrap flags are left alone."""
        pens = row.pens
        x = start
        while x < end:
            if pens[x].flags & PROTECTED:
                x += 1
                continue
            run = x
            while x < end and not pens[x].flags & PROTECTED:
                x += 1
            self._erase(row, run, x)

    def csi_decsel(self, p: list[int]) -> None:
        """DECSEL (CSI ? Ps K): EL that spares DECSCA-protected cells."""
        how = _arg(p, 0, 0)
        row = self.buf[self.y]
        if how == 0:
            self._selective_erase(row, self.x, self.cols)
        elif how == 1:
            self._selective_erase(row, 0, self.x + 1)
        elif how == 2:
            self._selective_erase(row, 0, self.cols)
        self.pending = False

    def csi_decsed(self, p: list[int]) -> None:
        """DECSED (CSI ? Ps J): ED that spares DECSCA-protected cells (3, the saved lines,
        is not selective in xterm: it is ignored here)."""
        how = _arg(p, 0, 0)
        if how == 0:
            self.csi_decsel([0])
            ys = range(self.y + 1, self.rows)
        elif how == 1:
            self.csi_decsel([1])
            ys = range(0, self.y)
        elif how == 2:
            ys = range(self.rows)
        else:
            return
        for y in ys:
            self._selective_erase(self.buf[y], 0, self.cols)
        self.pending = False

    def csi_ed(self, p: list[int]) -> None:
        how = _arg(p, 0, 0)
        buf = self.buf
        if buf is self.main and (how == 2 or how == 0 and not self.x and not self.y):
            self.pull_mark = self.history.total
        if how == 0:
            self.csi_el([0])
            ys = range(self.y + 1, self.rows)
        elif how == 1:
            self.csi_el([1])
            ys = range(0, self.y)
        elif how == 2:
            ys = range(self.rows)
        elif how == 3:
            self.history.clear()
            return
        else:
            return
        blank = erase_pen(self.pen)
        for y in ys:
            buf[y] = blank_row(self.cols, blank)
        if how == 1 and self.y:
            buf[self.y - 1].wrapped = False
        self.pending = False

    def csi_ech(self, p: list[int]) -> None:
        n = _arg(p, 0, 1)
        row = self.buf[self.y]
        self._erase(row, self.x, min(self.x + n, self.cols))
        row.wrapped = False  # xterm's ClearRight: "we can't be wrapping"
        self.pending = False

    def csi_ich(self, p: list[int]) -> None:
        self._insert_blanks(self.buf[self.y], self.x, _arg(p, 0, 1))
        self.pending = False

    def csi_dch(self, p: list[int]) -> None:
        n = min(_arg(p, 0, 1), self.cols - self.x)
        row = self.buf[self.y]
        blank = erase_pen(self.pen)
        del row.chars[self.x : self.x + n]
        del row.pens[self.x : self.x + n]
        row.chars.extend([" "] * n)
        row.pens.extend([blank] * n)
        self._sanitize(row)
        self.pending = False

    def csi_il(self, p: list[int]) -> None:
        if self.top <= self.y <= self.bottom:
            self._scroll_down(self.y, self.bottom, _arg(p, 0, 1))
            self.x = 0
        self.pending = False

    def csi_dl(self, p: list[int]) -> None:
        if self.top <= self.y <= self.bottom:
            n = max(1, min(_arg(p, 0, 1), self.bottom - self.y + 1))
            buf = self.buf
            blank = erase_pen(self.pen)
            for _ in range(n):
                del buf[self.y]
                buf.insert(self.bottom, blank_row(self.cols, blank))
            self.x = 0
        self.pending = False

    def _shift_columns(self, x: int, n: int) -> None:
        """Insert (n > 0) or delete (n < 0) columns at ``x`` in the scroll region
        (SL, SR, DECIC, DECDC); nothing when the cursor is outside the region."""
        if not self.top <= self.y <= self.bottom:
            return
        cols = self.cols
        blank = erase_pen(self.pen)
        k = min(abs(n), cols - x)
        for row in self.buf[self.top : self.bottom + 1]:
            if n > 0:
                row.chars[x:x] = [" "] * k
                row.pens[x:x] = [blank] * k
                del row.chars[cols:]
                del row.pens[cols:]
            else:
                del row.chars[x : x + k]
                del row.pens[x : x + k]
                row.chars.extend([" "] * k)
                row.pens.extend([blank] * k)
            self._sanitize(row)

    def csi_su(self, p: list[int]) -> None:
        self._scroll_up(self.top, self.bottom, _arg(p, 0, 1))

    def csi_sd(self, p: list[int]) -> None:
        self._scroll_down(self.top, self.bottom, _arg(p, 0, 1))

    def csi_rep(self, p: list[int]) -> None:
        if self.last_char:
            n = min(_arg(p, 0, 1), self.cols * self.rows)
            self.draw(self.last_char * n)

    def csi_tbc(self, p: list[int]) -> None:
        how = _arg(p, 0, 0)
        if how == 0:
            self.tabs.discard(self.x)
        elif how == 3:
            self.tabs.clear()

    def csi_stbm(self, p: list[int]) -> None:
        top = _arg(p, 0, 1) - 1
        bottom = _arg(p, 1, self.rows) - 1
        bottom = min(bottom, self.rows - 1)
        if top < bottom:
            self.top, self.bottom = top, bottom
            self._move(0, self.top if self.origin else 0)

    def csi_decscusr(self, p: list[int]) -> None:
        style = _arg(p, 0, 0)
        if style <= 6:
            self.cursor_style = style

    def csi_da1(self, p: list[int]) -> None:
        if _arg(p, 0, 0) == 0:
            self.replies.append(DA1_REPLY)

    def csi_da2(self, p: list[int]) -> None:
        if _arg(p, 0, 0) == 0:
            self.replies.append(DA2_REPLY)

    def _cursor_report(self) -> tuple[int, int]:
        y = self.y - self.top if self.origin else self.y
        return y + 1, self.x + 1

    def csi_dsr(self, p: list[int]) -> None:
        mode = _arg(p, 0, 0)
        if mode == 5:
            self.replies.append("\x1b[0n")
        elif mode == 6:
            self.replies.append("\x1b[{};{}R".format(*self._cursor_report()))

    def csi_dsr_private(self, p: list[int]) -> None:
        if _arg(p, 0, 0) == 6:
            self.replies.append("\x1b[?{};{}R".format(*self._cursor_report()))

    def csi_winops(self, p: list[int]) -> None:
        op = _arg(p, 0, 0)
        if op == 22:
            if len(self._title_stack) < 10:
                self._title_stack.append((self.title, self.icon))
        elif op == 23 and self._title_stack:
            self.title, self.icon = self._title_stack.pop()

    def csi_modify_keys(self, p: list[int]) -> None:
        if not p:
            self.modify_keys.clear()
            return
        resource = p[0]
        if resource > 7:
            return
        if len(p) > 1:
            self.modify_keys[resource] = p[1]
        else:
            self.modify_keys.pop(resource, None)

    def csi_modify_keys_off(self, p: list[int]) -> None:
        """CSI > Ps n: xterm's "disable key modifier option" Ps (as if set to 0/unset)."""
        if p:
            self.modify_keys.pop(p[0], None)

    @property
    def kitty_flags(self) -> int:
        """The kitty keyboard flags in effect (the top of the current screen's stack)."""
        stack = self.kitty
        return stack[-1] if stack else 0

    def csi_kitty_push(self, p: list[int]) -> None:
        """CSI > flags u: push; a full stack drops its oldest entry."""
        stack = self.kitty
        stack.append(_arg(p, 0, 0) & 0x1F)
        del stack[:-KITTY_DEPTH]

    def csi_kitty_pop(self, p: list[int]) -> None:
        """CSI < n u: pop n entries (1 by default); popping them all resets the flags."""
        stack = self.kitty
        del stack[max(len(stack) - _arg(p, 0, 1), 0):]

    def csi_kitty_set(self, p: list[int]) -> None:
        """CSI = flags ; mode u: replace (1), set (2) or clear (3) bits of the top entry
        (an empty stack gets one, as in kitty)."""
        flags = (p[0] if p else 0) & 0x1F
        mode = _arg(p, 1, 1)
        stack = self.kitty
        top = stack[-1] if stack else 0
        if mode == 1:
            top = flags
        elif mode == 2:
            top |= flags
        elif mode == 3:
            top &= ~flags
        else:
            return
        if stack:
            stack[-1] = top
        else:
            stack.append(top)

    def csi_decrqm(self, p: list[int], private: bool) -> None:
        mode = _arg(p, 0, 0)
        value = self.dec_mode(mode) if private else self.ansi_mode(mode)
        state = 0 if value is None else (1 if value else 2)
        self.replies.append(f"\x1b[{'?' if private else ''}{mode};{state}$y")

    def ansi_mode(self, mode: int) -> bool | None:
        if mode == 4:
            return self.insert
        if mode == 20:
            return self.lnm
        return None

    def dec_mode(self, mode: int) -> bool | None:
        """Whether DEC private mode ``mode`` is set; None when it is not tracked."""
        if mode not in KNOWN_DEC:
            return None
        if mode == 6:
            return self.origin
        if mode == 7:
            return self.autowrap
        if mode == REVERSE_WRAP:
            return self.reverse_wrap
        if mode == ALLOW_DECCOLM:
            return self.allow_deccolm
        if mode == DECCOLM:
            return self.col132
        if mode == 25:
            return self.cursor_visible
        if mode == 66:
            return self.keypad
        if mode == 2026:
            return self.sync
        if mode in ALT_MODES:
            return self.in_alt
        if mode in MOUSE_MODES:
            return self.mouse == mode
        if mode in MOUSE_ENCODINGS:
            return self.mouse_enc == mode
        return mode in self.flags

    def set_ansi_modes(self, p: list[int], on: bool) -> None:
        for mode in p:
            if mode == 4:
                self.insert = on
            elif mode == 20:
                self.lnm = on

    def set_dec_modes(self, p: list[int], on: bool) -> None:
        for mode in p:
            if mode == 6:
                self.origin = on
                self._move(0, self.top if on else 0)
            elif mode == 7:
                self.autowrap = on
            elif mode == REVERSE_WRAP:
                self.reverse_wrap = on
            elif mode == ALLOW_DECCOLM:
                self.allow_deccolm = on
            elif mode == DECCOLM:
                self._deccolm(on)
            elif mode == SAVE_CURSOR_MODE:
                if on:
                    self.save_cursor()
                else:
                    self.restore_cursor()
            elif mode == 25:
                self.cursor_visible = on
            elif mode == 66:
                self.keypad = on
            elif mode == 2026:
                self.sync = on
            elif mode in FLAG_MODES or mode in MOUSE_MODES or mode in MOUSE_ENCODINGS:
                set_tracked_mode(self, mode, on)
            elif mode in ALT_MODES:
                self._alt_screen(mode, on)

    def _deccolm(self, on: bool) -> None:
        """DECCOLM (?3), only with ?40 set, as in xterm: clear the screen, reset the
        margins, home the cursor. The width stays: the session's size is its window's
        (the pty is not resized; tmux does the same), so ``col132`` only answers DECRQM."""
        if not self.allow_deccolm:
            return
        self.col132 = on
        self.top, self.bottom = 0, self.rows - 1
        self.csi_ed([2])
        self._move(0, 0)

    def _alt_screen(self, mode: int, on: bool) -> None:
        """47, 1047, 1049 as xterm's: each screen has its own DECSC slot; 1049 saves the
        cursor (in the slot of the screen it is on) before switching and restores it
        after switching back, even when there was nothing to switch (already on the
        alternate screen, or already on the main one); 1049 clears the alternate screen
        on entry, 1047 and 1049 on leaving it; 47 never clears."""
        if on:
            if mode == 1049:
                self.save_cursor()
            if not self.in_alt:
                self.buf = self.alt
                self.alt_mode = mode
            if mode == 1049:
                self._clear_alt()
        else:
            if self.in_alt:
                if mode in (1047, 1049):
                    self._clear_alt()
                self.buf = self.main
                self.alt_mode = 0
            if mode == 1049:
                self.restore_cursor()

    def _clear_alt(self) -> None:
        self.alt[:] = [blank_row(self.cols) for _ in range(self.rows)]

    def soft_reset(self) -> None:
        """DECSTR."""
        self.insert = False
        self.origin = False
        self.autowrap = True
        self.cursor_visible = True
        self.keypad = False
        self.flags.discard(1)
        self.top, self.bottom = 0, self.rows - 1
        self.g[:] = ["B", "B"]
        self.gl = 0
        self._update_charset()
        self.pen = DEFAULT
        if self.in_alt:
            self.saved_alt = SavedCursor()
        else:
            self.saved_main = SavedCursor()
        self.pending = False

    # -- resize -----------------------------------------------------------------------

    def resize(self, cols: int, rows: int) -> None:
        """Follow the pty to a new size. The main screen and its history are reflowed to a
        new width, and take rows back from the history when the window gets taller
        (``reflow.py``; the cursor and the saved cursor stay on their characters); the
        alternate screen's rows are cut or padded, and lose rows at the top (after blank
        rows below the cursor) when it gets shorter."""
        cols = max(cols, 1)
        rows = max(rows, 1)
        if cols == self.cols and rows == self.rows:
            return
        from ptymux.term.reflow import resize_main

        old_cols, old_rows = self.cols, self.rows
        in_alt = self.in_alt
        resize_main(self, cols, rows)  # main, history, prompts, saved_main; the cursor on main
        buf = self.alt
        for row in buf:
            if cols < old_cols:
                del row.chars[cols:]
                del row.pens[cols:]
                if cell_is_wide(row.chars[-1]):
                    row.chars[-1] = " "
            elif cols > old_cols:
                row.chars.extend([" "] * (cols - old_cols))
                row.pens.extend([DEFAULT] * (cols - old_cols))
        shift = 0
        if rows < old_rows:
            excess = old_rows - rows
            while excess and len(buf) - 1 > (self.y if in_alt else -1) and _blank(buf[-1]):
                buf.pop()
                excess -= 1
            del buf[:excess]
            shift = excess
            del buf[rows:]
        while len(buf) < rows:
            buf.append(blank_row(cols))
        self.cols = cols
        self.rows = rows
        if in_alt:
            self.y = max(0, min(self.y - shift, rows - 1))
            self.x = min(self.x, cols - 1)
            self.pending = False
        self.top, self.bottom = 0, rows - 1
        self.saved_main = _clamp_saved(self.saved_main, cols, rows)
        self.saved_alt = _clamp_saved(self.saved_alt, cols, rows)
        self.tabs = {t for t in self.tabs if t < cols}
        if cols > old_cols:
            self.tabs.update(range((old_cols + 7) // 8 * 8, cols, 8))

    # -- queries ----------------------------------------------------------------------

    def take_replies(self) -> str:
        if not self.replies:
            return ""
        out = "".join(self.replies)
        self.replies.clear()
        return out


def _arg(p: list[int], i: int, default: int) -> int:
    """Parameter ``i`` of ``p``, ``default`` when missing or zero."""
    if i < len(p) and p[i]:
        return p[i]
    return default


def _printable(text: str) -> bool:
    """No control characters (C1 included): what may be stored and sent back inside an OSC
    string."""
    return text.isprintable() or all(ch >= " " and not "\x7f" <= ch <= "\x9f" for ch in text)


# xterm's default palette: 16 system colours, the 6x6x6 cube, 24 greys.
_SYSTEM = ("000000", "cd0000", "00cd00", "cdcd00", "0000ee", "cd00cd", "00cdcd", "e5e5e5",
           "7f7f7f", "ff0000", "00ff00", "ffff00", "5c5cff", "ff00ff", "00ffff", "ffffff")
_CUBE = (0, 0x5F, 0x87, 0xAF, 0xD7, 0xFF)
# Without a terminal to ask, the foreground, background and cursor answered are a dark
# theme's (most terminals' default today); Terminal.default_colours overrides them.
DYNAMIC_DEFAULTS = {"10": "ffffff", "11": "000000", "12": "ffffff"}


def _as_rgb(spec: str) -> str:
    """A colour spec as xterm reports it (``rgb:rrrr/gggg/bbbb``) where it is ``#rgb``,
    ``#rrggbb`` or ``#rrrrggggbbbb``; anything else (a name) as the program sent it."""
    if spec.startswith("#") and len(spec) in (4, 7, 13):
        digits = spec[1:]
        if all(c in "0123456789abcdefABCDEF" for c in digits):
            n = len(digits) // 3
            parts = [digits[i * n : (i + 1) * n] for i in range(3)]
            return "rgb:" + "/".join((part * 4)[:4] if n == 1 else (part * 2)[:4]
                                     for part in parts)
    return spec


def default_colour(key: str) -> str:
    """The answer for colour ``key`` ("4;N", "10", "11", "12") nobody set, xterm's format."""
    if key.startswith("4;"):
        n = int(key[2:])
        if n < 16:
            hex6 = _SYSTEM[n]
        elif n < 232:
            n -= 16
            hex6 = "".join(f"{_CUBE[v]:02x}" for v in (n // 36, n // 6 % 6, n % 6))
        else:
            hex6 = f"{8 + 10 * (n - 232):02x}" * 3
    else:
        hex6 = DYNAMIC_DEFAULTS.get(key, "000000")
    r, g, b = hex6[0:2], hex6[2:4], hex6[4:6]
    return f"rgb:{r}{r}/{g}{g}/{b}{b}"


def _blank(row: Row) -> bool:
    return row.chars.count(" ") == len(row.chars) and row.pens.count(DEFAULT) == len(row.pens)


def _clamp_saved(s: SavedCursor, cols: int, rows: int) -> SavedCursor:
    return s._replace(x=min(s.x, cols - 1), y=min(s.y, rows - 1))
