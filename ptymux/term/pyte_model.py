"""pyte behind the ScreenModel interface, with its failures contained.

Not the default (see ``vt_model.py``): selected with ``PTYMUX_EMULATOR=pyte``, and kept as
the baseline that benchmarks (``bench/emulators.py``, ``tests/term/bench_term.py``) compare
against. pyte itself has no alternate screen and forgets most modes; ``pyte_screen.py`` adds
them, so that a redraw brings back vim or less as the program left them. What it still
lacks is listed in docs/terminal-state.md (the pyte model).

pyte raises on some inputs (``ESC[10;D``, ``CSI ? 6 n`` …); a session must survive all of
them, so every parser step and every draw is guarded: the offending byte is skipped and the
stream carries on.
"""

from __future__ import annotations

from typing import Any

import pyte
from pyte import graphics
from wcwidth import wcwidth

from ptymux.term.contained import count_error
from ptymux.term.model import ScreenModel
from ptymux.term.pyte_screen import (
    FLAG_MODES,
    ModeScreen,
    ModeStream,
    Saved,
    wrapped,
)
from ptymux.term.scrollback import lines_to_bytes, new_lines
from ptymux.term.skip import Columns, LineRule, segment_wraps
from ptymux.term.vt import MOUSE_ENCODINGS, MOUSE_MODES

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


_CLEAR = "\x1b[r\x1b[?6l\x1b[0m\x1b[H\x1b[2J"
_PREAMBLE = (
    "\x1b[?1049l"  # out of any alternate screen
    "\x1b[r\x1b[?69l\x1b[?6l\x1b[?7h\x1b[4l\x1b[20l"  # margins, origin, autowrap, insert, LNM
    "\x1b[0m\x1b(B\x1b)B\x0f"  # pen, charsets (pyte keeps none but the UTF-8 default)
    "\x1b[H\x1b[2J"
)


class PyteModel(ScreenModel):
    """The reference emulator model, built on pyte."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.cols = cols
        self.rows = rows
        self.history_limit = max(history, 0)
        self._screen = ModeScreen(cols, rows, history)
        self._stream = ModeStream(self._screen)

    @property
    def errors(self) -> int:
        """How many emulator errors were contained so far."""
        count: int = self._screen.errors
        return count

    def feed(self, data: bytes) -> None:
        try:
            self._stream.feed(data)
        except Exception:
            count_error(self._screen, "pyte_model")

    def resize(self, cols: int, rows: int) -> None:
        try:
            self._screen.resize(rows, cols)
        except Exception:
            count_error(self._screen, "pyte_model")
        self.cols, self.rows = cols, rows

    def cursor(self) -> tuple[int, int]:
        # (pyte's x is ``cols`` while a wrap is pending: the cursor shows on the last column)
        return min(self._screen.cursor.x, self.cols - 1), self._screen.cursor.y

    def key_modes(self) -> tuple[bool, bool]:
        return 1 in self._screen.flags, self._screen.keypad

    @property
    def alternate_screen(self) -> bool:
        """Whether the program is in the alternate screen."""
        return bool(self._screen.in_alt)

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

    def _render_row(self, row: dict[int, Any], escapes: bool, trim: bool = True) -> str:
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
        return line.rstrip() if trim else line

    def _paint(self, buf: Any, out: list[str]) -> None:
        """Paint ``buf`` onto a cleared screen (full margins, autowrap on, default pen). A
        row that soft-wrapped is painted through its last column and the next one follows
        without a cursor move, so the terminal knows it as wrapped too."""
        cont = False  # the previous row wrapped: the cursor waits at its end
        for y in range(self.rows):
            row = buf[y]
            cells = self._row_cells(row)
            more = wrapped(row) and y < self.rows - 1
            last = len(cells)
            if not more:
                # Trailing default blanks: the clear already painted them.
                while last and cells[last - 1] == (" ", ""):
                    last -= 1
            if cont:
                last = max(last, 1)
            elif last:
                out.append(f"\x1b[{y + 1};1H")
            else:
                continue
            pen = ""
            for text, sgr in cells[:last]:
                if sgr != pen:
                    out.append(f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                    pen = sgr
                out.append(text)
            if pen:
                out.append("\x1b[0m")
            cont = more

    @staticmethod
    def _slot(slot: Saved | None) -> str:
        """Put the terminal in the state a DECSC saved (margins must be the full screen);
        ESC 7 after it saves that in the terminal's slot for the screen it is on. No slot:
        what a DECRC without a DECSC gives (home, default pen, no origin mode)."""
        if slot is None:
            return "\x1b[?6l\x1b[H\x1b[0m"
        x, y = slot.cursor.x, slot.cursor.y
        sgr = sgr_of(slot.cursor.attrs)
        return (("\x1b[?6h" if slot.origin else "\x1b[?6l") + f"\x1b[{y + 1};{x + 1}H"
                + (f"\x1b[0;{sgr}m" if sgr else "\x1b[0m"))

    def redraw(self) -> bytes:
        """As the vt model's (``render.redraw``): reset what matters in a terminal that may
        have been left anywhere, paint the hidden screen and the shown one, each with its
        saved cursor, then the cursor, margins, modes and title the program set."""
        screen = self._screen
        out = [_PREAMBLE]
        if not screen.in_alt:
            # The hidden alternate screen too: a program that switches with ?47h or
            # ?1047h (which do not clear it) finds it as it left it.
            out.append("\x1b[?47h" + _CLEAR)
            self._paint(screen.alt, out)
            out.append(self._slot(screen.saved[True]) + "\x1b7\x1b[?47l" + _CLEAR)
        self._paint(screen.main, out)
        out.append(self._slot(screen.saved[False]))
        if screen.in_alt:
            if screen.alt_mode == 1049:
                out.append("\x1b[?1049h")  # (saves the main screen's cursor as DECSC)
            else:
                out.append(f"\x1b7\x1b[?{screen.alt_mode}h")
            out.append(_CLEAR)
            self._paint(screen.alt, out)
            out.append(self._slot(screen.saved[True]))
        out.append("\x1b7\x1b[?6l")
        margins = screen.margins
        out.append(f"\x1b[{margins.top + 1};{margins.bottom + 1}r" if margins else "\x1b[r")
        origin = pyte.modes.DECOM in screen.mode
        out.append("\x1b[?6h" if origin else "\x1b[?6l")
        top = margins.top if margins and origin else 0
        x, y = screen.cursor.x, screen.cursor.y
        if x >= self.cols:  # a pending wrap: rebuilt by writing the last cell again
            row = screen.buffer[y]
            x = self.cols - 1
            if x and row.get(x, screen.default_char).data == "":
                x -= 1
            ch = row.get(x, screen.default_char)
            sgr = sgr_of(ch)
            out.append(f"\x1b[{y - top + 1};{x + 1}H" + (f"\x1b[0;{sgr}m" if sgr else "\x1b[0m")
                       + ch.data)
        else:
            out.append(f"\x1b[{y - top + 1};{x + 1}H")
        pen = sgr_of(screen.cursor.attrs)
        out.append(f"\x1b[0;{pen}m" if pen else "\x1b[0m")
        out.append("\x1b[?7h" if pyte.modes.DECAWM in screen.mode else "\x1b[?7l")
        out.append("\x1b[4h" if pyte.modes.IRM in screen.mode else "\x1b[4l")
        out.append("\x1b[20h" if pyte.modes.LNM in screen.mode else "\x1b[20l")
        for mode in FLAG_MODES:
            out.append(f"\x1b[?{mode}{'h' if mode in screen.flags else 'l'}")
        out.extend(f"\x1b[?{mode}l" for mode in MOUSE_MODES)
        if screen.mouse:
            out.append(f"\x1b[?{screen.mouse}h")
        out.extend(f"\x1b[?{mode}l" for mode in MOUSE_ENCODINGS)
        if screen.mouse_enc:
            out.append(f"\x1b[?{screen.mouse_enc}h")
        out.append("\x1b=" if screen.keypad else "\x1b>")
        out.append(f"\x1b[{screen.cursor_style} q")
        title, icon = screen.title, screen.icon_name
        if title or icon:
            if title == icon:
                out.append(f"\x1b]0;{title}\x1b\\")
            else:
                out.append(f"\x1b]1;{icon}\x1b\\\x1b]2;{title}\x1b\\")
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
        """History rows as pyte keeps them: cut to the current width (pyte does not
        reflow), a row that soft-wrapped written so that the terminal (or the model a
        hand-over rebuilds) knows it wrapped too."""
        screen = self._screen
        held = len(screen.history)
        count = new_lines(screen.history_total, held, since, limit)
        if not count:
            return b""
        history = list(screen.history)[held - count :]
        rows = [self._scrollback_row(row, wrapped(row)) for row in history]
        rows += [self._scrollback_row(screen.buffer[y], wrapped(screen.buffer[y])
                                      and y < self.rows - 1) for y in range(self.rows)]
        return lines_to_bytes(rows, self.cols)

    def _scrollback_row(self, row: dict[int, Any], more: bool) -> tuple[str, int, bool]:
        """(text with SGR, width, whether it soft-wraps into the next row): a row that does
        keeps its trailing blanks, which join the next."""
        cells = self._row_cells(row)
        last = len(cells)
        while last and cells[last - 1] == (" ", "") and not more:
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
        return "".join(parts), last, more

    def leave(self) -> bytes:
        screen = self._screen
        if not screen.in_alt and screen.margins is None and pyte.modes.DECOM not in screen.mode:
            return b""
        x, y = self.cursor()
        out = ""
        if screen.in_alt:
            out += f"\x1b[?{screen.alt_mode}l"
            if screen.alt_mode == 1049:  # the terminal restores the main screen's cursor
                slot = screen.saved[False]
                x, y = (0, 0) if slot is None else (min(slot.cursor.x, self.cols - 1),
                                                    slot.cursor.y)
        return f"{out}\x1b[?6l\x1b[r\x1b[{y + 1};{x + 1}H".encode()

    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        """As ``render.capture``: ``start`` and ``end`` in either order, clamped to what is
        held; with ``join``, a row that soft-wrapped is joined to the next, untrimmed."""
        screen = self._screen
        history = screen.history
        nh = len(history)
        first = 0 if start is None else start
        last = self.rows - 1 if end is None else end
        if last < first:
            first, last = last, first
        first = max(first, -nh)
        last = min(last, self.rows - 1)
        lines: list[str] = []
        acc = ""
        for i in range(first, last + 1):
            row = history[nh + i] if i < 0 else screen.buffer[i]
            more = join and wrapped(row)
            acc += self._render_row(row, escapes, trim=not more)
            if not more:
                lines.append(acc)
                acc = ""
        if acc:
            lines.append(acc if escapes else acc.rstrip(" "))
        return lines
