"""The ScreenModel built on :mod:`ptymux.term.vt`."""

from __future__ import annotations

from ptymux.term import render
from ptymux.term.model import ScreenModel
from ptymux.term.vt import Terminal


class VtModel(ScreenModel):
    """The emulator model: ptymux's own VT core (see ``vt.py``)."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.term = Terminal(cols, rows, history)
        self.cols = self.term.cols
        self.rows = self.term.rows
        self.history_limit = self.term.history_limit

    @property
    def errors(self) -> int:
        """How many emulator errors were contained so far."""
        return self.term.errors

    def feed(self, data: bytes) -> None:
        try:
            self.term.feed(data)
        except Exception:
            self.term.errors += 1

    def key_modes(self) -> tuple[bool, bool]:
        return 1 in self.term.flags, self.term.keypad

    def _may_skip(self) -> bool:
        t = self.term
        return t.top == 0 and t.bottom == t.rows - 1

    def flush(self) -> None:
        """Give up waiting for the rest of an incomplete escape sequence."""
        try:
            self.term.flush()
        except Exception:
            self.term.errors += 1

    def resize(self, cols: int, rows: int) -> None:
        try:
            self.term.resize(cols, rows)
        except Exception:
            self.term.errors += 1
        self.cols, self.rows = self.term.cols, self.term.rows

    def redraw(self) -> bytes:
        return render.redraw(self.term).encode("utf-8", "replace") + self.term.unfinished_input()

    def cursor(self) -> tuple[int, int]:
        return self.term.x, self.term.y

    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        return render.capture(self.term, start, end, escapes, join)

    @property
    def title(self) -> str:
        return self.term.title

    @property
    def icon_name(self) -> str:
        """The icon name the program set (OSC 0/1), or ''."""
        return self.term.icon

    @property
    def alternate_screen(self) -> bool:
        """Whether the program is in the alternate screen."""
        return self.term.in_alt

    @property
    def history_size(self) -> int:
        """How many lines of scrollback are held."""
        return len(self.term.history) if self.term.history_limit else 0

    def leave(self) -> bytes:
        return render.leave(self.term).encode("utf-8", "replace")

    def take_replies(self) -> bytes:
        return self.term.take_replies().encode("utf-8", "replace")
