"""The VT screen: performs the operations the parser (:mod:`ptymux.term.vt_parser`) names.

It holds the state a redraw reproduces: the main and alternate screens (rows of cells,
:mod:`ptymux.term.cells`), the cursor and its pending wrap, the pen, margins, modes, tab
stops, charsets, saved cursors, titles and the OSC state (hyperlinks, working directory,
prompt marks, colours), keyboard modes (kitty flags, modifyOtherKeys), and the replies to
queries. Drawing goes by runs: a run of ASCII is painted with slice assignments, runs of
one- and two-cell characters likewise, and only combining marks go one by one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ptymux import __version__
from ptymux.term.cells import (
    DEFAULT,
    PROTECTED,
    Pen,
    Row,
    acs_pen,
    apply_sgr,
    blank_row,
    compact,
    erase_pen,
)
from ptymux.term.charsets import CHARSETS, _run_res, cell_is_wide, wcwidth
from ptymux.term.history import History

# (pen, SGR parameters) -> the pen they give. Shared by every session: pens are immutable,
# and one cache (with its pens and colour strings) per session would cost ~100 KB each.
_PEN_AFTER_SGR: dict[tuple[Pen, str], Pen] = {}


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
REVERSE_WRAP_EXTENDED = 1045  # xterm's XTREVWRAP2
LEFT_RIGHT_MODE = 69  # DECLRMM: CSI Pl ; Pr s sets the left and right margins (DECSLRM)
SAVE_CURSOR_MODE = 1048  # DECSC on set, DECRC on reset; not a state (not in KNOWN_DEC)
KNOWN_DEC = frozenset((DECCOLM, 6, 7, 25, ALLOW_DECCOLM, REVERSE_WRAP, REVERSE_WRAP_EXTENDED,
                       LEFT_RIGHT_MODE, 66, 2026) + FLAG_MODES
                      + MOUSE_MODES + MOUSE_ENCODINGS + ALT_MODES)

KITTY_DEPTH = 8  # kitty keyboard flag stack entries per screen (kitty's and ghostty's limit)
MAX_PROMPTS = 100  # OSC 133 prompt starts remembered

DA1_REPLY = "\x1b[?1;2c"
DA2_REPLY = "\x1b[>0;10;1c"
XTVERSION_REPLY = f"\x1bP>|ptymux {__version__}\x1b\\"


class Screen:
    """The emulator's state and the operations that change it (named in
    :mod:`ptymux.term.vt_parser`, which calls them; :class:`ptymux.term.vt.Terminal` is
    the two together)."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.cols = max(cols, 1)
        self.rows = max(rows, 1)
        self.history_limit = max(history, 0)
        self.history = History(self.history_limit or 1)
        # history.total at the last clear of the main screen: a taller window takes back
        # only the history rows that scrolled off after it (resize; tmux's "hscrolled").
        self.pull_mark = 0
        self.errors = 0  # exceptions contained (term/contained.py, count_error)
        self.replies: list[str] = []
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
        # Left/right margins (DECLRMM ?69, DECSLRM): the whole width unless ?69 is set and a
        # DECSLRM narrowed them (see _set_side_margins).
        self.left_right_mode = False
        self._set_side_margins(0, cols - 1)
        self.autowrap = True
        self.reverse_wrap = False  # ?45: BS at the left margin goes up to the row above's end
        self.reverse_wrap_extended = False  # ?1045: ... whether or not that row wrapped
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

    def _set_side_margins(self, left: int, right: int) -> None:
        """The left and right margins (0-based, inclusive). What the hot paths read is
        computed here once: ``_edge``, the column after the right margin (``cols`` without
        margins: text that stays left of it needs no other check), and ``side_margins``,
        whether the margins are narrower than the screen (scrolls then move a rectangle)."""
        self.left = left
        self.right = right
        self._edge = right + 1
        self.side_margins = left > 0 or right < self.cols - 1

    def _limit(self) -> int:
        """The column after the last one text reaches from the cursor: the right margin's
        next, or the screen's width when the cursor is right of the margin (xterm: the
        margin is not in effect there)."""
        edge = self._edge
        return edge if self.x < edge else self.cols

    def _home(self) -> None:
        """The home position: the top left corner of the margins in origin mode (DECOM),
        of the screen otherwise (DECSTBM, DECSLRM, ?6 do this)."""
        if self.origin:
            self._move(self.left, self.top)
        else:
            self._move(0, 0)

    @property
    def in_alt(self) -> bool:
        return self.buf is self.alt

    @property
    def kitty(self) -> list[int]:
        """The kitty keyboard flag stack of the screen in use."""
        return self.kitty_alt if self.buf is self.alt else self.kitty_main

    # -- drawing ----------------------------------------------------------------------

    def sgr(self, params: str, text: str) -> None:
        """SGR (``CSI params m``): the pen of the cells drawn next; then ``text``, what came
        right after it up to the next control or sequence (the parser takes the two
        together: the commonest pair in program output), drawn as by ``draw_ascii`` or
        ``draw``."""
        key = (self.pen, params)
        pen = _PEN_AFTER_SGR.get(key)
        if pen is None:
            pen = apply_sgr(self.pen, params)
            if len(_PEN_AFTER_SGR) > 4096:
                _PEN_AFTER_SGR.clear()
            _PEN_AFTER_SGR[key] = pen
        self.pen = pen
        if not text:
            return
        if text.isascii():
            x = self.x
            end = x + len(text)
            if end < self._edge and not (self._special or self.pending or self.insert):
                self._paint(x, end, text, text[-1])  # (draw_ascii's fast path)
            else:
                self.draw_ascii(text)
        else:
            self.draw(text)

    def draw_ascii(self, s: str) -> None:
        """Printable ASCII (the parser's fast path): no widths to look up."""
        if self._special:
            self.draw(s)
            return
        x = self.x
        end = x + len(s)
        if end < self._edge and not self.pending and not self.insert:
            self._paint(x, end, s, s[-1])
            return
        self._draw_narrow(s)

    def draw(self, s: str) -> None:
        """Printable text (no controls) through the charset in use."""
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
        """Autowrap: on to the left margin of the next row (scrolling as LF does). The row
        is marked as continuing on the next one only when it was left at the screen's last
        column (as libghostty-vt; xterm marks a wrap at a right margin too): text that
        wrapped at a right margin inside the screen is not one line with the rest of its
        rows, for reflow, ``capture -J`` and the scrollback."""
        if self.x == self.cols - 1:
            row = self.buf[self.y]
            row.wrapped = True
            row.filler = filler
        self._index()  # (before the column changes: it scrolls only inside the margins)
        self.x = self.left

    def _paint(self, x: int, end: int, cells: str | list[str], last: str) -> None:
        """Fast path: cells x..end-1 of the cursor row (end < the right margin's next column,
        no pending wrap, no insert mode), splitting any wide character they cut in half; the
        cursor ends at end."""
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
        if end < self._edge and not self.pending and not self.insert:
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
            limit = self._limit()  # (the right margin's next column, or the screen's width)
            row = self.buf[self.y]
            k = min(n - i, limit - x)
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
            if end >= limit:
                self.x = limit - 1
                if self.autowrap:
                    self.pending = True
                elif i < n:
                    chars[limit - 1] = s[n - 1]
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
            limit = self._edge  # (the right margin's next column, or the screen's width)
            if x >= limit:
                limit = self.cols
            k = min(n - i, (limit - x) // 2)
            if x + 2 * k >= limit:
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
        limit = self._limit()
        if self.x >= limit - 1:
            # does not fit: the last column (of the margins) is left as is (xterm)
            if self.autowrap:
                self._wrap(True)
                limit = self._limit()
            else:
                self.x = limit - 2
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
        if x + 2 >= limit:
            self.x = limit - 1
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
        """ICH, and insert mode: ``k`` blanks at ``x``, the cells up to the right margin
        shifted right (those pushed past it are lost); nothing when ``x`` is outside the
        left/right margins (xterm's InsertChar)."""
        if x < self.left or x > self.right:
            return
        end = self._edge
        k = min(k, end - x)
        blank = erase_pen(self.pen)
        if end == self.cols:
            row.chars[x:x] = [" "] * k
            row.pens[x:x] = [blank] * k
            del row.chars[end:]
            del row.pens[end:]
        else:
            self._cut(row, end)
            row.chars[x:end] = [" "] * k + row.chars[x : end - k]
            row.pens[x:end] = [blank] * k + row.pens[x : end - k]
        self._sanitize(row)

    def _cut(self, row: Row, x: int) -> None:
        """Blank both halves of a two-cell character that column ``x`` would split from the
        one before it (a margin, the edge of a shifted span)."""
        if 0 < x < self.cols and row.chars[x] == "":
            row.chars[x - 1] = row.chars[x] = " "

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
            if not self.side_margins:
                self._scroll_full(self.top, self.bottom, 1)
            # (xterm: outside the left/right margins, the bottom row does not scroll)
            elif self.left <= self.x <= self.right:
                self._scroll_rect(self.top, self.bottom, 1)
        elif self.y < self.rows - 1:
            self.y += 1

    def _scroll_up(self, top: int, bottom: int, n: int) -> None:
        if self.side_margins:
            self._scroll_rect(top, bottom, n)
        else:
            self._scroll_full(top, bottom, n)

    def _scroll_full(self, top: int, bottom: int, n: int) -> None:
        """Scroll rows top..bottom up by ``n`` whole rows; a scroll of the whole main
        screen feeds the history."""
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
        if self.side_margins:
            self._scroll_rect(top, bottom, -n)
            return
        buf = self.buf
        n = max(1, min(n, bottom - top + 1))
        blank = erase_pen(self.pen)
        for _ in range(n):
            del buf[bottom]
            buf.insert(top, blank_row(self.cols, blank))

    def _scroll_rect(self, top: int, bottom: int, n: int) -> None:
        """Scroll rows top..bottom between the left and right margins only, up by ``n``
        rows (down by -n when negative), the rows freed blank in the erase pen. What
        scrolls out is lost: only full-width scrolls feed the history (as xterm and
        tmux), and the rows keep their wrap flags (xterm moves cells, not lines). A
        two-cell character split by a margin is blanked first (xterm, libghostty-vt)."""
        left, end = self.left, self._edge
        rows = self.buf[top : bottom + 1]
        for row in rows:
            self._cut(row, left)
            self._cut(row, end)
        count = len(rows)
        k = max(1, min(abs(n), count))
        width = end - left
        blank = erase_pen(self.pen)
        # (to, from), in an order that reads each row before it is written to
        if n > 0:
            pairs = zip(rows, rows[k:], strict=False)
            freed = rows[count - k :]
        else:
            pairs = zip(rows[::-1], rows[: count - k][::-1], strict=False)
            freed = rows[:k]
        for dst, src in pairs:
            dst.chars[left:end] = src.chars[left:end]
            dst.pens[left:end] = src.pens[left:end]
        for row in freed:
            row.chars[left:end] = [" "] * width
            row.pens[left:end] = [blank] * width

    # -- controls ---------------------------------------------------------------------

    def carriage_return(self) -> None:
        """To the left margin; to the first column when the cursor is left of the margin
        (and not in origin mode), as xterm."""
        left = self.left
        if left and (self.x >= left or self.origin):
            self.x = left
        else:
            self.x = 0
        self.pending = False

    def linefeed(self) -> None:
        self.pending = False
        self._index()
        if self.lnm:
            self.carriage_return()

    def backspace(self) -> None:
        self._cursor_left(1)

    def _cursor_left(self, n: int) -> None:
        """BS and CUB. With reverse wrap (?45) and autowrap both on, xterm's (and
        libghostty-vt's) XTREVWRAP: a pending wrap uses up one step (the cursor stays on
        the last column), and at the left edge the cursor goes on to the last column of
        the row above when that row soft-wrapped into this one, never above the top of the
        scroll region (of the screen when the cursor is above the region). The left edge
        is the left margin (the screen's when the cursor is left of it), the last column
        the right margin's (xterm's CursorBack)."""
        left = self.left
        if self.x < left:
            left = 0
        extended = self.reverse_wrap_extended
        if not ((self.reverse_wrap or extended) and self.autowrap):
            self.pending = False
            self.x = max(self.x - n, left)
            return
        if self.pending:
            n -= 1
            self.pending = False
        top = self.top if self.y >= self.top else 0
        while True:
            step = min(self.x - left, n)
            self.x -= step
            n -= step
            if n <= 0:
                return
            if self.y <= top:
                if not extended:
                    return
                # extended (?1045, xterm and libghostty-vt): from the region's top left
                # corner on to its bottom right, and round again (each step uses one)
                self.y = self.bottom if self.y >= self.top else self.rows - 1
            elif extended or self.buf[self.y - 1].wrapped:
                self.y -= 1
            else:
                return
            self.x = self.right
            n -= 1

    def tab(self) -> None:
        self._tab_forward(1)

    def _tab_forward(self, n: int) -> None:
        """HT, CHT: to the next tab stop, at most to the right margin (the screen's last
        column when the cursor is right of the margin, as for CUF)."""
        last = self._limit() - 1
        x = self.x
        for _ in range(max(n, 1)):
            nxt = [t for t in self.tabs if t > x]
            if not nxt:
                x = last
                break
            x = min(nxt)
        x = min(x, last)
        if x != self.x:  # at the last column, a pending wrap stays pending (xterm)
            self.pending = False
        self.x = x

    def _tab_back(self, n: int) -> None:
        """CBT: to the previous tab stop, not left of the left margin in origin mode
        (xterm's TabToPrevStop)."""
        if self.pending:
            return  # xterm leaves the cursor (and the pending wrap) alone
        x = self.x
        for _ in range(max(n, 1)):
            prev = [t for t in self.tabs if t < x]
            if not prev:
                x = 0
                break
            x = max(prev)
        if self.origin:
            x = max(x, self.left)
        self.x = x

    def csi_cht(self, p: tuple[int, ...]) -> None:
        self._tab_forward(_arg(p, 0, 1))

    def csi_cbt(self, p: tuple[int, ...]) -> None:
        self._tab_back(_arg(p, 0, 1))

    def shift_out(self) -> None:
        self.gl = 1
        self._update_charset()

    def shift_in(self) -> None:
        self.gl = 0
        self._update_charset()

    def designate_charset(self, which: int, code: str) -> None:
        """ESC ( code, ESC ) code: the charset of G0 (``which`` 0) or G1."""
        self.g[which] = code if code in CHARSETS else "B"
        self._update_charset()

    def _update_charset(self) -> None:
        code = self.g[self.gl]
        self._acs = code == "0"
        self._translate = CHARSETS.get(code) if code == "A" else None
        self._special = self._acs or self._translate is not None

    # -- ESC sequences ----------------------------------------------------------------

    def esc_ind(self) -> None:
        self.pending = False
        self._index()

    def esc_nel(self) -> None:
        self.pending = False
        self._index()
        self.carriage_return()

    def esc_ri(self) -> None:
        self.pending = False
        if self.y == self.top:
            # (xterm: outside the left/right margins, the top row does not scroll)
            if not self.side_margins or self.left <= self.x <= self.right:
                self._scroll_down(self.top, self.bottom, 1)
        elif self.y > 0:
            self.y -= 1

    def esc_decbi(self) -> None:
        """DECBI (ESC 6): back one column; at the left margin, the columns from it to the
        right margin move right instead (a blank one comes in), as xterm's xtermColIndex."""
        if self.x == self.left:
            self._shift_columns(self.x, 1)
        else:
            self._cursor_left(1)

    def esc_decfi(self) -> None:
        """DECFI (ESC 9): forward one column; at the right margin, the columns inside the
        margins move left instead (a blank one comes in at the right margin)."""
        if self.x == self.right:
            self._shift_columns(self.left, -1)
        else:
            self.csi_cuf(())

    def esc_hts(self) -> None:
        self.tabs.add(self.x)

    def esc_deckpam(self) -> None:
        self.keypad = True

    def esc_deckpnm(self) -> None:
        self.keypad = False

    def alignment(self) -> None:
        """DECALN: the screen filled with E, the margins reset (not ?69), the cursor home."""
        self.top, self.bottom = 0, self.rows - 1
        self._set_side_margins(0, self.cols - 1)
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

    def csi_scosc(self, p: tuple[int, ...]) -> None:
        """``CSI s``: DECSLRM when ?69 (DECLRMM) is set; else SCOSC (save the cursor, as
        DECSC), only without parameters (xterm ignores ``CSI Pl ; Pr s`` then)."""
        if self.left_right_mode:
            self.csi_decslrm(p)
        elif not p:
            self.save_cursor()

    def csi_decslrm(self, p: tuple[int, ...]) -> None:
        """DECSLRM (``CSI Pl ; Pr s``, ?69 set): the left and right margins, 1-based; Pl
        defaults to 1, Pr to the last column (a larger one too); a range of fewer than two
        columns is ignored. Homes the cursor (to the margins' corner in origin mode)."""
        left = _arg(p, 0, 1)
        right = p[1] if len(p) > 1 and 0 < p[1] <= self.cols else self.cols
        if right > left:
            self._set_side_margins(left - 1, right - 1)
            self._home()

    def csi_scorc(self, p: tuple[int, ...]) -> None:
        self.restore_cursor()

    def restore_cursor(self) -> None:
        s = self.saved_alt if self.in_alt else self.saved_main
        self.x = min(s.x, self.cols - 1)
        self.y = min(s.y, self.rows - 1)
        self.pen = s.pen
        self.g[:] = [s.g0, s.g1]
        self.gl = s.gl
        self._update_charset()
        self.origin = s.origin
        if self.origin:  # (xterm's CursorRestore: CursorSet in origin mode keeps it inside)
            self.x = min(max(self.x, self.left), self.right)
            self.y = min(max(self.y, self.top), self.bottom)
        self.pending = False

    # -- OSC --------------------------------------------------------------------------

    def osc_title(self, num: str, text: str, _bel: bool) -> None:
        """OSC 0 (title and icon name), 1 (icon name), 2 (title)."""
        # (no C1 either: a terminal acting on UTF-8 C1, as VTE does, would end the OSC at
        # an encoded ST when the redraw sends the title back)
        text = "".join(ch for ch in text if ch >= " " and not "\x7f" <= ch <= "\x9f")[:4096]
        if num in ("0", "2"):
            self.title = text
        if num in ("0", "1"):
            self.icon = text

    def osc_link(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 8 ; params ; uri: the cells drawn next link to uri (none when it is empty)."""
        params, _, uri = text.partition(";")
        link = f"{params};{uri}" if uri and len(uri) + len(params) < 4096 else ""
        if _printable(link):
            self.pen = self.pen._replace(link=link)

    def osc_cwd(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 7 ; file://host/path: the shell says where it is (``cwd`` is the path)."""
        if not text.startswith("file://") or not _printable(text):
            return
        path = text[7:]
        slash = path.find("/")
        if slash < 0:
            return
        from urllib.parse import unquote

        self.cwd = unquote(path[slash:])[:4096]

    def osc_mark(self, _num: str, text: str, _bel: bool) -> None:
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

    def osc_palette(self, _num: str, text: str, bel: bool) -> None:
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

    def osc_dynamic(self, num: str, text: str, bel: bool) -> None:
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

    def osc_reset_palette(self, _num: str, text: str, _bel: bool) -> None:
        """OSC 104 [; index ...]: back to the terminal's own colours."""
        if not text:
            for key in [k for k in self.colours if k.startswith("4;")]:
                del self.colours[key]
            return
        for index in text.split(";"):
            if index.isdigit():
                self.colours.pop(f"4;{int(index)}", None)

    def osc_reset_dynamic(self, num: str, _text: str, _bel: bool) -> None:
        self.colours.pop(str(int(num) - 100), None)

    def _colour_answer(self, key: str, bel: bool) -> str:
        spec = self.colours.get(key)
        spec = _as_rgb(spec) if spec else self.default_colours.get(key) or default_colour(key)
        return f"\x1b]{key};{spec}" + ("\x07" if bel else "\x1b\\")

    def control_string(self, kind: str, body: str) -> None:
        """DCS (``kind`` P), SOS (X), PM (^), APC (_): none is acted on (XTGETTCAP, DECRQSS,
        sixel and kitty graphics... are dropped)."""

    # -- CSI --------------------------------------------------------------------------

    def _move(self, x: int, y: int) -> None:
        self.x = max(0, min(x, self.cols - 1))
        self.y = max(0, min(y, self.rows - 1))
        self.pending = False

    def csi_cuu(self, p: tuple[int, ...]) -> None:
        n = _arg(p, 0, 1)
        top = self.top if self.y >= self.top else 0
        self._move(self.x, max(self.y - n, top))

    def csi_cud(self, p: tuple[int, ...]) -> None:
        n = _arg(p, 0, 1)
        bottom = self.bottom if self.y <= self.bottom else self.rows - 1
        self._move(self.x, min(self.y + n, bottom))

    def csi_cuf(self, p: tuple[int, ...]) -> None:
        """CUF: at most to the right margin (to the last column when right of it)."""
        self._move(min(self.x + _arg(p, 0, 1), self._limit() - 1), self.y)

    def csi_hpr(self, p: tuple[int, ...]) -> None:
        """HPR: as CUP to the column n further (xterm), so the right margin stops it only in
        origin mode."""
        x = self.x + _arg(p, 0, 1)
        self._move(min(x, self.right) if self.origin else x, self.y)

    def csi_cub(self, p: tuple[int, ...]) -> None:
        self._cursor_left(_arg(p, 0, 1))

    def csi_cnl(self, p: tuple[int, ...]) -> None:
        self.csi_cud(p)
        self.carriage_return()

    def csi_cpl(self, p: tuple[int, ...]) -> None:
        self.csi_cuu(p)
        self.carriage_return()

    def csi_cha(self, p: tuple[int, ...]) -> None:
        """CHA, HPA: the column; in origin mode counted from the left margin and stopped at
        the right one (the row stays: see docs/differential.md, "CHA in origin mode")."""
        col = _arg(p, 0, 1) - 1
        if self.origin:
            col = min(col + self.left, self.right)
        self._move(col, self.y)

    def csi_cup(self, p: tuple[int, ...]) -> None:
        """CUP, HVP: in origin mode relative to the top left corner of the margins and
        kept inside them."""
        row = _arg(p, 0, 1) - 1
        col = _arg(p, 1, 1) - 1
        if self.origin:
            row = min(row + self.top, self.bottom)
            col = min(col + self.left, self.right)
        self._move(col, row)

    def csi_vpr(self, p: tuple[int, ...]) -> None:
        """VPR: as CUP to the row n further (xterm): the bottom margin stops it in origin
        mode."""
        y = self.y + _arg(p, 0, 1)
        self._move(self.x, min(y, self.bottom) if self.origin else y)

    def csi_vpa(self, p: tuple[int, ...]) -> None:
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

    def csi_el(self, p: tuple[int, ...]) -> None:
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

    def csi_decsca(self, p: tuple[int, ...]) -> None:
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

    def csi_decsel(self, p: tuple[int, ...]) -> None:
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

    def csi_decsed(self, p: tuple[int, ...]) -> None:
        """DECSED (CSI ? Ps J): ED that spares DECSCA-protected cells (3, the saved lines,
        is not selective in xterm: it is ignored here)."""
        how = _arg(p, 0, 0)
        if how == 0:
            self.csi_decsel((0,))
            ys = range(self.y + 1, self.rows)
        elif how == 1:
            self.csi_decsel((1,))
            ys = range(0, self.y)
        elif how == 2:
            ys = range(self.rows)
        else:
            return
        for y in ys:
            self._selective_erase(self.buf[y], 0, self.cols)
        self.pending = False

    def csi_ed(self, p: tuple[int, ...]) -> None:
        how = _arg(p, 0, 0)
        buf = self.buf
        if buf is self.main and (how == 2 or how == 0 and not self.x and not self.y):
            self.pull_mark = self.history.total
        if how == 0:
            self.csi_el((0,))
            ys = range(self.y + 1, self.rows)
        elif how == 1:
            self.csi_el((1,))
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

    def csi_ech(self, p: tuple[int, ...]) -> None:
        n = _arg(p, 0, 1)
        row = self.buf[self.y]
        self._erase(row, self.x, min(self.x + n, self.cols))
        row.wrapped = False  # xterm's ClearRight: "we can't be wrapping"
        self.pending = False

    def csi_ich(self, p: tuple[int, ...]) -> None:
        self._insert_blanks(self.buf[self.y], self.x, _arg(p, 0, 1))
        self.pending = False

    def csi_dch(self, p: tuple[int, ...]) -> None:
        """DCH: the cells from the cursor to the right margin move left; nothing (the
        pending wrap kept too) when the cursor is outside the left/right margins (xterm's
        DeleteChar)."""
        x = self.x
        if x < self.left or x > self.right:
            return
        end = self._edge
        row = self.buf[self.y]
        self._delete_cells(row, x, end, min(_arg(p, 0, 1), end - x), erase_pen(self.pen))
        self.pending = False

    def _delete_cells(self, row: Row, x: int, end: int, n: int, blank: Pen) -> None:
        """Cells x..x+n-1 of ``row`` removed, those up to ``end`` (exclusive) moved left,
        ``n`` blanks in pen ``blank`` coming in before ``end``."""
        if end == self.cols:
            del row.chars[x : x + n]
            del row.pens[x : x + n]
            row.chars.extend([" "] * n)
            row.pens.extend([blank] * n)
        else:
            self._cut(row, end)
            row.chars[x:end] = row.chars[x + n : end] + [" "] * n
            row.pens[x:end] = row.pens[x + n : end] + [blank] * n
        self._sanitize(row)

    def _in_margins(self) -> bool:
        """The cursor is inside the scroll region and the left/right margins (IL, DL,
        DECIC, DECDC, SL, SR act only then, as in xterm)."""
        return self.top <= self.y <= self.bottom and self.left <= self.x <= self.right

    def csi_il(self, p: tuple[int, ...]) -> None:
        if self._in_margins():
            self._scroll_down(self.y, self.bottom, _arg(p, 0, 1))
            self.x = self.left
        self.pending = False

    def csi_dl(self, p: tuple[int, ...]) -> None:
        if self._in_margins():
            n = max(1, min(_arg(p, 0, 1), self.bottom - self.y + 1))
            if self.side_margins:
                self._scroll_rect(self.y, self.bottom, n)
            else:
                buf = self.buf
                blank = erase_pen(self.pen)
                for _ in range(n):
                    del buf[self.y]
                    buf.insert(self.bottom, blank_row(self.cols, blank))
            self.x = self.left
        self.pending = False

    def _shift_columns(self, x: int, n: int) -> None:
        """Insert (n > 0) or delete (n < 0) columns at ``x`` in the scroll region, up to the
        right margin (SL, SR, DECIC, DECDC, DECBI, DECFI); nothing when the cursor is
        outside the region or the left/right margins."""
        if not self._in_margins():
            return
        end = self._edge
        blank = erase_pen(self.pen)
        k = min(abs(n), end - x)
        for row in self.buf[self.top : self.bottom + 1]:
            if n > 0:
                self._insert_blanks(row, x, k)
            else:
                self._delete_cells(row, x, end, k, blank)

    def csi_sl(self, p: tuple[int, ...]) -> None:
        self._shift_columns(self.left, -_arg(p, 0, 1))

    def csi_sr(self, p: tuple[int, ...]) -> None:
        self._shift_columns(self.left, _arg(p, 0, 1))

    def csi_decic(self, p: tuple[int, ...]) -> None:
        self._shift_columns(self.x, _arg(p, 0, 1))

    def csi_decdc(self, p: tuple[int, ...]) -> None:
        self._shift_columns(self.x, -_arg(p, 0, 1))

    def csi_su(self, p: tuple[int, ...]) -> None:
        self._scroll_up(self.top, self.bottom, _arg(p, 0, 1))

    def csi_sd(self, p: tuple[int, ...]) -> None:
        self._scroll_down(self.top, self.bottom, _arg(p, 0, 1))

    def csi_rep(self, p: tuple[int, ...]) -> None:
        if self.last_char:
            n = min(_arg(p, 0, 1), self.cols * self.rows)
            self.draw(self.last_char * n)

    def csi_tbc(self, p: tuple[int, ...]) -> None:
        how = _arg(p, 0, 0)
        if how == 0:
            self.tabs.discard(self.x)
        elif how == 3:
            self.tabs.clear()

    def csi_stbm(self, p: tuple[int, ...]) -> None:
        top = _arg(p, 0, 1) - 1
        bottom = _arg(p, 1, self.rows) - 1
        bottom = min(bottom, self.rows - 1)
        if top < bottom:
            self.top, self.bottom = top, bottom
            self._home()

    def csi_decscusr(self, p: tuple[int, ...]) -> None:
        style = _arg(p, 0, 0)
        if style <= 6:
            self.cursor_style = style

    def csi_da1(self, p: tuple[int, ...]) -> None:
        if _arg(p, 0, 0) == 0:
            self.replies.append(DA1_REPLY)

    def csi_da2(self, p: tuple[int, ...]) -> None:
        if _arg(p, 0, 0) == 0:
            self.replies.append(DA2_REPLY)

    def _cursor_report(self) -> tuple[int, int]:
        if self.origin:
            return self.y - self.top + 1, self.x - self.left + 1
        return self.y + 1, self.x + 1

    def csi_xtversion(self, p: tuple[int, ...]) -> None:
        if _arg(p, 0, 0) == 0:
            self.replies.append(XTVERSION_REPLY)

    def csi_dsr(self, p: tuple[int, ...]) -> None:
        mode = _arg(p, 0, 0)
        if mode == 5:
            self.replies.append("\x1b[0n")
        elif mode == 6:
            self.replies.append("\x1b[{};{}R".format(*self._cursor_report()))

    def csi_dsr_private(self, p: tuple[int, ...]) -> None:
        if _arg(p, 0, 0) == 6:
            self.replies.append("\x1b[?{};{}R".format(*self._cursor_report()))

    def csi_winops(self, p: tuple[int, ...]) -> None:
        op = _arg(p, 0, 0)
        if op == 22:
            if len(self._title_stack) < 10:
                self._title_stack.append((self.title, self.icon))
        elif op == 23 and self._title_stack:
            self.title, self.icon = self._title_stack.pop()

    def csi_modify_keys(self, p: tuple[int, ...]) -> None:
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

    def csi_modify_keys_off(self, p: tuple[int, ...]) -> None:
        """CSI > Ps n: xterm's "disable key modifier option" Ps (as if set to 0/unset)."""
        if p:
            self.modify_keys.pop(p[0], None)

    @property
    def kitty_flags(self) -> int:
        """The kitty keyboard flags in effect (the top of the current screen's stack)."""
        stack = self.kitty
        return stack[-1] if stack else 0

    def csi_kitty_query(self, p: tuple[int, ...]) -> None:
        self.replies.append(f"\x1b[?{self.kitty_flags}u")

    def csi_kitty_push(self, p: tuple[int, ...]) -> None:
        """CSI > flags u: push; a full stack drops its oldest entry."""
        stack = self.kitty
        stack.append(_arg(p, 0, 0) & 0x1F)
        del stack[:-KITTY_DEPTH]

    def csi_kitty_pop(self, p: tuple[int, ...]) -> None:
        """CSI < n u: pop n entries (1 by default); popping them all resets the flags."""
        stack = self.kitty
        del stack[max(len(stack) - _arg(p, 0, 1), 0):]

    def csi_kitty_set(self, p: tuple[int, ...]) -> None:
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

    def csi_decrqm_ansi(self, p: tuple[int, ...]) -> None:
        self.csi_decrqm(p, False)

    def csi_decrqm_dec(self, p: tuple[int, ...]) -> None:
        self.csi_decrqm(p, True)

    def csi_decrqm(self, p: tuple[int, ...], private: bool) -> None:
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
        if mode == REVERSE_WRAP_EXTENDED:
            return self.reverse_wrap_extended
        if mode == LEFT_RIGHT_MODE:
            return self.left_right_mode
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

    def csi_sm(self, p: tuple[int, ...]) -> None:
        self.set_ansi_modes(p, True)

    def csi_rm(self, p: tuple[int, ...]) -> None:
        self.set_ansi_modes(p, False)

    def csi_decset(self, p: tuple[int, ...]) -> None:
        self.set_dec_modes(p, True)

    def csi_decrst(self, p: tuple[int, ...]) -> None:
        self.set_dec_modes(p, False)

    def set_ansi_modes(self, p: tuple[int, ...], on: bool) -> None:
        for mode in p:
            if mode == 4:
                self.insert = on
            elif mode == 20:
                self.lnm = on

    def set_dec_modes(self, p: tuple[int, ...], on: bool) -> None:
        for mode in p:
            if mode == 6:
                self.origin = on
                self._home()
            elif mode == 7:
                self.autowrap = on
            elif mode == REVERSE_WRAP:
                self.reverse_wrap = on
            elif mode == REVERSE_WRAP_EXTENDED:
                self.reverse_wrap_extended = on
            elif mode == LEFT_RIGHT_MODE:
                # (xterm: setting it keeps the margins, full until a DECSLRM; resetting it
                # resets them)
                self.left_right_mode = on
                if not on:
                    self._set_side_margins(0, self.cols - 1)
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
        self._set_side_margins(0, self.cols - 1)  # (?69 stays, as in xterm)
        self.csi_ed((2,))
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

    def csi_decstr(self, p: tuple[int, ...]) -> None:
        self.soft_reset()

    def soft_reset(self) -> None:
        """DECSTR."""
        self.insert = False
        self.origin = False
        self.autowrap = True
        self.cursor_visible = True
        self.keypad = False
        self.flags.discard(1)
        self.top, self.bottom = 0, self.rows - 1
        self.left_right_mode = False  # (xterm's resetMarginMode: ?69 and the margins)
        self._set_side_margins(0, self.cols - 1)
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
        self._set_side_margins(0, cols - 1)  # (xterm's resetMargins; ?69 stays)
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


def _arg(p: tuple[int, ...], i: int, default: int) -> int:
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


# -- resize's helpers ------------------------------------------------------------------


def _blank(row: Row) -> bool:
    return row.chars.count(" ") == len(row.chars) and row.pens.count(DEFAULT) == len(row.pens)


def _clamp_saved(s: SavedCursor, cols: int, rows: int) -> SavedCursor:
    return s._replace(x=min(s.x, cols - 1), y=min(s.y, rows - 1))
