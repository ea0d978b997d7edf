"""The ScreenModel built on :mod:`ptymux.term.vt`."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ptymux.term import render
from ptymux.term.model import ScreenModel
from ptymux.term.skip import Columns, LineRule, segment_wraps
from ptymux.term.vt import Terminal, _run_res, wcwidth


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
        return t.top == 0 and t.bottom == t.rows - 1 and not t.unfinished_input()

    def _line_rule(self) -> LineRule | None:
        t = self.term
        if t.in_alt or not t.history_limit:
            return None
        stops = sorted(t.tabs)
        edges = [0, *stops, t.cols - 1]
        gap = max(b - a for a, b in zip(edges, edges[1:], strict=False)) if stops else t.cols
        return LineRule(t.cols, t.autowrap, max(gap, 1), partial(self._wraps, stops))

    def _wraps(self, stops: list[int], text: str) -> int | None:
        t = self.term
        return segment_wraps(text, Columns(t.cols, t.lnm, stops), _vt_runs)

    def _skipped(self, lines: int) -> None:
        self.term.history.add_total(lines)

    @property
    def history_total(self) -> int:
        return self.term.history.total if self.term.history_limit else 0

    def scrollback(self, since: int | None, limit: int) -> bytes:
        return render.scrollback(self.term, since, limit)

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


def _vt_runs(text: str) -> Iterator[tuple[int, int]]:
    """(cell width, count) runs of ``text`` as ``Terminal.draw`` takes it: runs of one- and
    two-cell characters, and whatever else one by one (wcwidth: 0 joins the cell before,
    < 0 is dropped)."""
    narrow, wide = _run_res()
    pos = 0
    n = len(text)
    while pos < n:
        m = narrow.match(text, pos)
        if m is not None:
            yield 1, m.end() - pos
            pos = m.end()
            continue
        m = wide.match(text, pos)
        if m is not None:
            yield 2, m.end() - pos
            pos = m.end()
            continue
        yield wcwidth(text[pos]), 1
        pos += 1
