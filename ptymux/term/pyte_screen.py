"""The pyte ``Screen`` the pyte model runs on: pyte plus what a re-attach needs.

pyte 0.8 keeps one screen and a set of mode numbers. A session that re-attaches must get
back what the program set in the terminal, so this subclass adds, as xterm does them: the
alternate screen (47, 1047, 1049) with the main screen kept under it, one saved cursor
(DECSC) per screen instead of pyte's stack, the mouse modes and encodings (one of each at a
time, as in xterm), the keypad mode, the cursor style, soft-wrap flags on rows (for
``capture -J``), and the history of rows scrolled off the main screen. DECCOLM (?3) never
resizes: the session's width is its window's (pyte would switch to 132 columns).

Every hook is reached through pyte's own dispatch (``set_mode``/``reset_mode`` with
``private=True``, the ``escape``/``csi`` tables of ``ModeStream``), so pyte's parser is
used unchanged.
"""

from __future__ import annotations

import copy
from collections import defaultdict, deque
from typing import Any, NamedTuple

import pyte
from pyte import modes as mo
from pyte.screens import Margins, StaticDefaultDict

from ptymux.term.contained import count_error
from ptymux.term.vt import ALT_MODES, MOUSE_ENCODINGS, MOUSE_MODES, set_tracked_mode

FLAG_MODES = (1, 12, 1004, 1007, 2004)  # DECCKM, blink, focus, alternate scroll, paste
KEYPAD = 66  # DECNKM: the keypad mode as a DEC private mode (same as ESC = / ESC >)
SAVE_CURSOR = 1048


class Saved(NamedTuple):
    """What DECSC keeps (xterm): position and pen (the cursor), charsets, origin mode."""

    cursor: Any
    g0: Any
    g1: Any
    charset: int
    origin: bool


class HistRow(dict[int, Any]):
    """A row scrolled into the history: its cells and whether it soft-wrapped."""

    wrapped = False


def wrapped(row: Any) -> bool:
    """Whether ``row`` (a screen or history row) continues on the next one."""
    return bool(getattr(row, "wrapped", False))


def _mark(row: Any, value: bool) -> None:
    """Set a screen row's wrap flag (an attribute on pyte's row dict, so that it moves
    with the row when pyte scrolls)."""
    row.wrapped = value


def _blank_buffer(screen: pyte.Screen) -> defaultdict[int, StaticDefaultDict[int, Any]]:
    return defaultdict(lambda: StaticDefaultDict(screen.default_char))


class ModeScreen(pyte.Screen):
    """pyte's Screen with the alternate screen, modes and history (module docstring), and a
    ``draw`` that never raises (pyte's does on some input; a session must outlive it)."""

    def __init__(self, cols: int, rows: int, history: int) -> None:
        self.history: deque[HistRow] = deque(maxlen=max(history, 0) or None)
        self.history_limit = history
        self.history_total = 0  # rows ever appended to ``history`` (ScreenModel.history_total)
        self.errors = 0
        self._drawing = False
        super().__init__(cols, rows)  # (calls reset, which sets the rest)

    # -- state that RIS resets ----------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self.hidden = _blank_buffer(self)  # the screen not shown (alternate or main)
        self.in_alt = False
        self.alt_mode = 0  # which of ALT_MODES entered the alternate screen
        self.saved: dict[bool, Saved | None] = {False: None, True: None}  # by in_alt
        self.flags: set[int] = set()
        self.mouse = 0
        self.mouse_enc = 0
        self.keypad = False
        self.cursor_style = 0

    @property
    def main(self) -> Any:
        """The main screen's rows, shown or not."""
        return self.hidden if self.in_alt else self.buffer

    @property
    def alt(self) -> Any:
        """The alternate screen's rows, shown or not."""
        return self.buffer if self.in_alt else self.hidden

    # -- modes ----------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        self._modes(modes, True, bool(kwargs.get("private")))

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        self._modes(modes, False, bool(kwargs.get("private")))

    def _modes(self, modes: tuple[int, ...], on: bool, private: bool) -> None:
        """Take the private modes pyte does not know (or gets wrong) here; hand the rest to
        pyte (origin, autowrap, cursor visibility, reverse video, insert, newline)."""
        rest: list[int] = []
        for mode in modes:
            if not private:
                rest.append(mode)
            elif mode in FLAG_MODES or mode in MOUSE_MODES or mode in MOUSE_ENCODINGS:
                set_tracked_mode(self, mode, on)
            elif mode == KEYPAD:
                self.keypad = on
            elif mode in ALT_MODES:
                self._alternate(mode, on)
            elif mode == SAVE_CURSOR:
                if on:
                    self.save_cursor()
                else:
                    self.restore_cursor()
            elif mode == 3:
                pass  # DECCOLM: the width is the window's (see the module docstring)
            else:
                rest.append(mode)
        if rest:
            if on:
                super().set_mode(*rest, private=private)
            else:
                super().reset_mode(*rest, private=private)

    def _alternate(self, mode: int, on: bool) -> None:
        """xterm's 47/1047/1049: the cursor is shared by both screens; 1049 saves it (in
        the slot of the screen it is on) and clears the alternate screen even when already
        on it, and on reset restores it from the main slot even when already on the main
        screen; 1047 clears the alternate screen as it leaves it; 47 only switches."""
        if on:
            if mode == 1049:
                self.save_cursor()
            if not self.in_alt:
                self.buffer, self.hidden = self.hidden, self.buffer
                self.in_alt = True
                self.alt_mode = mode
            if mode == 1049:
                self.buffer.clear()
        else:
            if self.in_alt:
                if mode in (1047, 1049):
                    self.buffer.clear()
                self.buffer, self.hidden = self.hidden, self.buffer
                self.in_alt = False
            if mode == 1049:
                self.restore_cursor()
        self.dirty.update(range(self.lines))

    def keypad_application(self) -> None:
        """DECKPAM (ESC =)."""
        self.keypad = True

    def keypad_numeric(self) -> None:
        """DECKPNM (ESC >)."""
        self.keypad = False

    def set_cursor_style(self, *params: int, **kwargs: Any) -> None:
        """DECSCUSR (``CSI Ps SP q``; pyte's parser drops the space)."""
        if not kwargs.get("private"):
            style = params[0] if params else 0
            self.cursor_style = style if 0 <= style <= 6 else self.cursor_style

    # -- saved cursor: one slot per screen, as xterm ---------------------------------------

    def save_cursor(self) -> None:
        self.saved[self.in_alt] = Saved(copy.copy(self.cursor), self.g0_charset,
                                        self.g1_charset, self.charset, mo.DECOM in self.mode)

    def restore_cursor(self) -> None:
        """Restore without using the slot up (pyte pops a stack, so a second ESC 8 went
        home); origin mode comes back either way, autowrap is no part of it (xterm)."""
        slot = self.saved[self.in_alt]
        if slot is None:
            self.mode.discard(mo.DECOM)
            self.cursor.x = self.cursor.y = 0
            return
        self.cursor = copy.copy(slot.cursor)
        self.g0_charset, self.g1_charset, self.charset = slot.g0, slot.g1, slot.charset
        if slot.origin:
            self.mode.add(mo.DECOM)
        else:
            self.mode.discard(mo.DECOM)
        self.cursor.x = min(self.cursor.x, self.columns)  # (columns: a pending wrap)
        self.cursor.y = min(self.cursor.y, self.lines - 1)

    # -- drawing, wrap flags, history -------------------------------------------------------

    def draw(self, data: str) -> None:
        self._drawing = True
        try:
            super().draw(data)
        except Exception:
            count_error(self, "pyte_screen")
        finally:
            self._drawing = False

    def carriage_return(self) -> None:
        # Inside ``draw``, a CR from the last column is pyte's autowrap: the row wraps.
        if self._drawing and self.cursor.x == self.columns:
            _mark(self.buffer[self.cursor.y], True)
        super().carriage_return()

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        # (Only a scroll of the whole main screen: a terminal keeps no row a region scrolls,
        # nor the alternate screen's.)
        full = top == 0 and bottom == self.lines - 1
        if self.cursor.y == bottom and full and self.history_limit > 0 and not self.in_alt:
            self._to_history(self.buffer[top])
        super().index()

    def _to_history(self, row: Any) -> None:
        line = HistRow(row)
        line.wrapped = wrapped(row)
        self.history.append(line)
        self.history_total += 1

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        super().erase_in_line(how, private)
        if how in (0, 2):  # the row's end is blank now: no longer continued
            _mark(self.buffer[self.cursor.y], False)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        super().erase_in_display(how, *args, **kwargs)
        if how == 0:
            rows = range(self.cursor.y, self.lines)
        elif how == 1:
            rows = range(self.cursor.y)
        else:
            rows = range(self.lines)
        for y in rows:
            if y in self.buffer:
                _mark(self.buffer[y], False)
        if how == 3:  # CSI 3 J: the scrollback too (a terminal's ``clear``)
            self.history.clear()

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Both screens follow. A smaller height cuts rows from the top, as pyte does; the
        main screen's go into the history (a terminal scrolls them there, and so does the
        vt model), counted; the cursor moves up with its row."""
        lines = lines or self.lines
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            cut = self.lines - lines
            if self.history_limit > 0:
                for y in range(cut):
                    self._to_history(self.main[y])
            for buf in (self.buffer, self.hidden):
                rows = {y - cut: row for y, row in buf.items() if y >= cut}
                buf.clear()
                buf.update(rows)
            self.cursor.y = max(self.cursor.y - cut, 0)
            for slot in self.saved.values():
                if slot is not None:
                    slot.cursor.y = max(slot.cursor.y - cut, 0)
        if columns < self.columns:
            for buf in (self.buffer, self.hidden):
                for row in buf.values():
                    for x in range(columns, self.columns):
                        row.pop(x, None)
        self.lines, self.columns = lines, columns
        self.dirty.update(range(lines))
        self.set_margins()
        self.cursor.x = min(self.cursor.x, columns)
        self.cursor.y = min(self.cursor.y, lines - 1)


class ModeStream(pyte.ByteStream):
    """pyte's ByteStream with the keypad (ESC = / ESC >) and DECSCUSR dispatched, and
    parser errors contained: the offending byte is skipped instead of raising."""

    escape = {**pyte.ByteStream.escape, "=": "keypad_application", ">": "keypad_numeric"}
    csi = {**pyte.ByteStream.csi, "q": "set_cursor_style"}

    def _send_to_parser(self, data: str) -> bool | None:
        try:
            result: bool | None = super()._send_to_parser(data)
            return result
        except Exception:
            if isinstance(self.listener, ModeScreen):
                count_error(self.listener, "pyte_screen")
            return self._taking_plain_text  # pyte re-initialised its parser
