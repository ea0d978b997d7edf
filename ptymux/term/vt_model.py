"""The ScreenModel built on :mod:`ptymux.term.vt`."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterator
from functools import partial

from ptymux.term import render
from ptymux.term.model import ScreenModel
from ptymux.term.skip import Columns, LineRule, segment_wraps
from ptymux.term.vt import Row, Terminal, _run_res, count_error, wcwidth

log = logging.getLogger(__name__)

# Synchronized output (mode 2026): begin / end of an update.
_SYNC = re.compile(rb"\x1b\[\?2026([hl])")
SYNC_LIMIT = 1 << 20  # bytes of one synchronized update kept for a late attacher


class _Frame:
    """A synchronized update in progress: the state before it began and what it wrote
    since (``data``), so that a redraw shows the whole update or none of it."""

    __slots__ = ("before", "data")

    def __init__(self, before: Terminal) -> None:
        self.before = before
        self.data = bytearray()


def _freeze(t: Terminal) -> Terminal:
    """A copy of ``t`` that later feeding does not change, as far as ``render.redraw``
    looks (rows, cursor, modes, stacks; not the history, which redraw does not read)."""
    c = copy.copy(t)
    c.main = [Row(r.chars[:], r.pens[:], r.wrapped) for r in t.main]
    c.alt = [Row(r.chars[:], r.pens[:], r.wrapped) for r in t.alt]
    c.buf = c.alt if t.in_alt else c.main
    c.g = t.g[:]
    c.flags = set(t.flags)
    c.tabs = set(t.tabs)
    c.modify_keys = dict(t.modify_keys)
    c.kitty_main = t.kitty_main[:]
    c.kitty_alt = t.kitty_alt[:]
    c.colours = dict(t.colours)
    return c


class VtModel(ScreenModel):
    """The emulator model: ptymux's own VT core (see ``vt.py``). Exceptions from it are
    contained: counted in ``errors`` and logged (``count_error``), never raised to the
    session."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        self.term = Terminal(cols, rows, history)
        self._frame: _Frame | None = None  # a synchronized update in progress
        self._frame_dropped = False  # it outgrew SYNC_LIMIT: redraws show it as it is
        self.cols = self.term.cols
        self.rows = self.term.rows
        self.history_limit = self.term.history_limit

    @property
    def errors(self) -> int:
        """How many emulator errors were contained so far."""
        return self.term.errors

    def feed(self, data: bytes) -> None:
        try:
            if self.term.sync or b"\x1b[?2026" in data:
                self._feed_sync(data)
            else:
                self.term.feed(data)
        except Exception:
            count_error(self.term, "feed", log)

    def _feed_sync(self, data: bytes) -> None:
        """Feed around synchronized updates: at the begin (BSU, CSI ? 2026 h) keep the state
        as it is, then every byte until the end (ESU, CSI ? 2026 l). A BSU the regex cannot
        see (split between two reads, or among other modes) is noticed after the feed: the
        update then counts from there."""
        pos = 0
        for m in _SYNC.finditer(data):
            self._feed_piece(data[pos : m.end()])
            pos = m.end()
            if m.group(1) == b"l" or not self.term.sync:
                self._frame = None
                self._frame_dropped = False
            elif self._frame is None and not self._frame_dropped:
                self._frame = _Frame(_freeze(self.term))
        self._feed_piece(data[pos:])
        if not self.term.sync:
            self._frame = None
            self._frame_dropped = False
        elif self._frame is None and not self._frame_dropped:
            self._frame = _Frame(_freeze(self.term))

    def _feed_piece(self, data: bytes) -> None:
        try:
            self.term.feed(data)
        except Exception:
            count_error(self.term, "feed", log)
        frame = self._frame
        if frame is not None:
            frame.data += data
            if len(frame.data) > SYNC_LIMIT:
                self._frame = None
                self._frame_dropped = True

    def key_modes(self) -> tuple[bool, bool]:
        return 1 in self.term.flags, self.term.keypad

    def _may_skip(self) -> bool:
        t = self.term
        return (t.top == 0 and t.bottom == t.rows - 1 and not t.side_margins
                and not t.unfinished_input() and not t.sync)

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
            count_error(self.term, "flush", log)

    def resize(self, cols: int, rows: int) -> None:
        self._frame = None  # (written for the old size: redraws show the update as it is)
        try:
            self.term.resize(cols, rows)
        except Exception:
            count_error(self.term, "resize", log)
        self.cols, self.rows = self.term.cols, self.term.rows

    def redraw(self) -> bytes:
        """During a synchronized update: the state before it began, then the update so far
        inside a BSU, so that a terminal that knows mode 2026 shows none of it until the
        program's ESU completes it (and one that does not draws it as it would have live).
        The result is the model's state either way."""
        frame = self._frame
        if frame is not None:
            before = render.redraw(frame.before).encode("utf-8", "replace")
            return before + b"\x1b[?2026h" + bytes(frame.data)
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

    @property
    def cwd(self) -> str:
        return self.term.cwd

    def prompts(self) -> list[int]:
        t = self.term
        held = len(t.history) if t.history_limit else 0
        total = t.history.total if t.history_limit else 0
        rows = (line - total for line in t.prompts)
        return [row for row in rows if -held <= row < t.rows]

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
