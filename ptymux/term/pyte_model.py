"""pyte behind the ScreenModel interface, with its failures contained.

Not the default (see ``vt_model.py``): selected with ``PTYMUX_EMULATOR=pyte``, and kept as
the baseline that benchmarks (``bench/emulators.py``, ``tests/term/bench_term.py``) compare
against. It has no alternate screen and restores no modes on redraw.

pyte raises on some inputs (``ESC[10;D``, ``CSI ? 6 n`` …); a session must survive all of
them, so every parser step and every draw is guarded: the offending byte is skipped and the
stream carries on.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pyte
from pyte import graphics
from wcwidth import wcwidth

from ptymux.term.model import ScreenModel
from ptymux.term.scrollback import lines_to_bytes, new_lines
from ptymux.term.skip import Columns, LineRule, segment_wraps

_FG_CODES = {name: code for code, name in {**graphics.FG_ANSI, **graphics.FG_AIXTERM}.items()}
_BG_CODES = {name: code for code, name in {**graphics.BG_ANSI, **graphics.BG_AIXTERM}.items()}
_PALETTE: dict[str, int] = {}
for _index, _hex in enumerate(graphics.FG_BG_256):
    _PALETTE.setdefault(_hex, _index)


def _colour(value: str, codes: dict[str, int], extended: str) -> str:
    if value == "default":
        return ""
    code = codes.get(value)
    if code is not None:
        return str(code)
    index = _PALETTE.get(value)
    if index is not None:
        return f"{extended};5;{index}"
    try:
        r, g, b = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return ""
    return f"{extended};2;{r};{g};{b}"


def sgr_of(char: Any) -> str:
    """The SGR parameters (after a reset) that give a pyte ``Char`` its look."""
    params = []
    if char.bold:
        params.append("1")
    if char.italics:
        params.append("3")
    if char.underscore:
        params.append("4")
    if char.blink:
        params.append("5")
    if char.reverse:
        params.append("7")
    if char.strikethrough:
        params.append("9")
    fg = _colour(char.fg, _FG_CODES, "38")
    if fg:
        params.append(fg)
    bg = _colour(char.bg, _BG_CODES, "48")
    if bg:
        params.append(bg)
    return ";".join(params)


class _SafeScreen(pyte.Screen):
    """A pyte Screen that keeps scrolled-off rows and never lets ``draw`` raise."""

    def __init__(self, cols: int, rows: int, history: int) -> None:
        super().__init__(cols, rows)
        self.history: deque[dict[int, Any]] = deque(maxlen=max(history, 0) or None)
        self.history_limit = history
        self.history_total = 0  # rows ever appended to ``history`` (ScreenModel.history_total)
        self.errors = 0

    def draw(self, data: str) -> None:
        try:
            super().draw(data)
        except Exception:
            self.errors += 1

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        # (Only a scroll of the whole screen: a terminal keeps no row a region scrolls.)
        full = top == 0 and bottom == self.lines - 1
        if self.cursor.y == bottom and full and self.history_limit > 0:
            self.history.append(dict(self.buffer[top]))
            self.history_total += 1
        super().index()

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        # pyte drops the rows a smaller height cuts from the top; a terminal scrolls them
        # into its history, and so does the vt model: keep (and count) them too.
        if lines is not None and lines < self.lines and self.history_limit > 0:
            for y in range(self.lines - lines):
                self.history.append(dict(self.buffer[y]))
                self.history_total += 1
        super().resize(lines, columns)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        super().erase_in_display(how, *args, **kwargs)
        if how == 3:  # CSI 3 J: the scrollback too (a terminal's ``clear``)
            self.history.clear()

    def set_title(self, param: str) -> None:
        super().set_title(param)


class _SafeStream(pyte.ByteStream):
    """A ByteStream whose parser errors skip the offending byte instead of raising."""

    def _send_to_parser(self, data: str) -> bool | None:
        try:
            result: bool | None = super()._send_to_parser(data)
            return result
        except Exception:
            if isinstance(self.listener, _SafeScreen):
                self.listener.errors += 1
            return self._taking_plain_text  # pyte re-initialised its parser


class PyteModel(ScreenModel):
    """The reference emulator model, built on pyte."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.cols = cols
        self.rows = rows
        self.history_limit = max(history, 0)
        self._screen = _SafeScreen(cols, rows, history)
        self._stream = _SafeStream(self._screen)

    @property
    def errors(self) -> int:
        """How many emulator errors were contained so far."""
        count: int = self._screen.errors
        return count

    def feed(self, data: bytes) -> None:
        try:
            self._stream.feed(data)
        except Exception:
            self._screen.errors += 1

    def resize(self, cols: int, rows: int) -> None:
        try:
            self._screen.resize(rows, cols)
        except Exception:
            self._screen.errors += 1
        self.cols, self.rows = cols, rows

    def cursor(self) -> tuple[int, int]:
        return self._screen.cursor.x, self._screen.cursor.y

    @property
    def title(self) -> str:
        title: str = self._screen.title
        return title

    def _row_cells(self, row: dict[int, Any]) -> list[tuple[str, str]]:
        """(text, sgr) per column; the second half of a wide char has text ''."""
        default = self._screen.default_char
        cells = []
        for x in range(self.cols):
            ch = row.get(x, default)
            cells.append((ch.data, sgr_of(ch)))
        return cells

    def _render_row(self, row: dict[int, Any], escapes: bool) -> str:
        parts: list[str] = []
        pen = ""
        for text, sgr in self._row_cells(row):
            if escapes and sgr != pen:
                parts.append(f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                pen = sgr
            parts.append(text)
        line = "".join(parts)
        if escapes:
            if pen:
                line += "\x1b[0m"
            return line
        return line.rstrip()

    def redraw(self) -> bytes:
        screen = self._screen
        out = ["\x1b[0m\x1b[H\x1b[2J"]
        for y in range(self.rows):
            cells = self._row_cells(screen.buffer[y])
            # Skip trailing default blanks: the clear above already painted them.
            last = len(cells)
            while last and cells[last - 1] == (" ", ""):
                last -= 1
            if not last:
                continue
            out.append(f"\x1b[{y + 1};1H")
            pen = ""
            for text, sgr in cells[:last]:
                if sgr != pen:
                    out.append(f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                    pen = sgr
                out.append(text)
            if pen:
                out.append("\x1b[0m")
        x, y = self.cursor()
        out.append(f"\x1b[{y + 1};{x + 1}H")
        pen = sgr_of(screen.cursor.attrs)
        if pen:
            out.append(f"\x1b[0;{pen}m")
        out.append("\x1b[?25l" if screen.cursor.hidden else "\x1b[?25h")
        return "".join(out).encode("utf-8", "replace")

    def _may_skip(self) -> bool:
        return self._screen.margins is None and bool(self._stream._taking_plain_text)

    def _line_rule(self) -> LineRule | None:
        screen = self._screen
        if self.history_limit <= 0:
            return None
        autowrap = pyte.modes.DECAWM in screen.mode
        return LineRule(self.cols, autowrap, self.cols, self._wraps)

    def _wraps(self, text: str) -> int | None:
        """pyte's autowraps for ASCII without TAB (pyte's tab stops may lie past the
        width after a resize, and its ``draw`` drops the rest of a run at some characters:
        not worth following, this model is the baseline)."""
        if "\t" in text:
            return None
        lnm = pyte.modes.LNM in self._screen.mode
        return segment_wraps(text, Columns(self.cols, lnm, (), xterm=False), None)

    def _skipped(self, lines: int) -> None:
        self._screen.history_total += lines

    @property
    def history_total(self) -> int:
        total: int = self._screen.history_total
        return total

    def scrollback(self, since: int | None, limit: int) -> bytes:
        """History rows as pyte keeps them: cut to the current width (pyte has no wrap
        flags, so there is no line to rejoin)."""
        screen = self._screen
        held = len(screen.history)
        count = new_lines(screen.history_total, held, since, limit)
        if not count:
            return b""
        history = list(screen.history)[held - count :]
        rows = [self._scrollback_row(row) for row in history]
        rows += [self._scrollback_row(screen.buffer[y]) for y in range(self.rows)]
        return lines_to_bytes(rows, self.cols)

    def _scrollback_row(self, row: dict[int, Any]) -> tuple[str, int, bool]:
        cells = self._row_cells(row)
        last = len(cells)
        while last and cells[last - 1] == (" ", ""):
            last -= 1
        if last == self.cols and cells[-1][0] and wcwidth(cells[-1][0][0]) == 2:
            cells[-1] = (" ", cells[-1][1])  # a wide character pyte put in the last column
        parts: list[str] = []
        pen = ""
        for text, sgr in cells[:last]:
            if sgr != pen:
                parts.append(f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                pen = sgr
            parts.append(text)
        if pen:
            parts.append("\x1b[0m")
        return "".join(parts), last, False

    def leave(self) -> bytes:
        screen = self._screen
        if screen.margins is None and pyte.modes.DECOM not in screen.mode:
            return b""
        x, y = self.cursor()
        return f"\x1b[?6l\x1b[r\x1b[{y + 1};{x + 1}H".encode()

    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        rows = list(self._screen.history) + [
            self._screen.buffer[y] for y in range(self.rows)
        ]
        base = len(self._screen.history)  # index of visible row 0
        first = base + (0 if start is None else start)
        last = base + (self.rows - 1 if end is None else end)
        first = max(first, 0)
        last = min(last, len(rows) - 1)
        return [self._render_row(rows[i], escapes) for i in range(first, last + 1)]
