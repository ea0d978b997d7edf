"""Skipping what a flood scrolls away: the model need not render lines nobody can see.

After ``keep`` more complete lines, no row of the screen and no line of the history holds
anything written before them. So when a large backlog of output is made only of text, line
ends and SGR sequences, everything but its last ``keep`` lines can be dropped, provided the
pen (colours and attributes) it would have left behind is carried over. That turns catching
up with a 20 MB ``cat`` into rendering a few thousand lines.

What may be skipped is deliberately narrow: printable text (any UTF-8 but C1 controls),
CR, LF, TAB, BS, BEL and SGR sequences (``CSI ... m``). Anything else — another escape
sequence, a query, a charset shift, a title, a C1 control written as UTF-8 (the vt model
ignores them, as xterm does in UTF-8; stopping there keeps the line count simple and costs
nothing: they are rare) — ends the skippable region, so it always reaches the model.

The skipped lines still went through the history, so the model's ``history_total`` must
grow by as many lines as feeding them would have scrolled: ``count_lines`` counts the line
feeds and the autowraps of the skipped part, at C speed for the common case (no line that
can reach the last column), exactly per line otherwise, and stops the skip short of a line
it cannot tell about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

# What ends the skippable region: a C0 control other than BEL BS TAB LF CR ESC, or DEL
# (found by mapping those bytes to 0: translate + find run at ~1 GB/s, a regex character
# class at a third of that), or an ESC that does not start a complete SGR sequence, or a C1
# control in UTF-8 (U+0080-U+009F: two bytes, C2 80-9F).
_SAFE_C0 = b"\x07\x08\x09\x0a\x0d\x1b"
_UNSAFE_TO_ZERO = bytes(0 if (b < 0x20 and bytes([b]) not in _SAFE_C0) or b == 0x7F else 1
                        for b in range(256))
_BAD_ESC = re.compile(rb"\x1b(?!\[[0-9;:]*m)")
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # (apart: each search keeps its fast literal prefix)
_SGR = re.compile(rb"\x1b\[[0-9;:]*m")
_SGR_TEXT = re.compile(r"\x1b\[[0-9;:]*m")
_RESETS = (b"\x1b[0m", b"\x1b[m")


def plan_skip(data: bytes | bytearray, start: int, keep: int, cols: int = 0
              ) -> tuple[int, bytes] | None:
    """Where ``data`` may be cut, and the SGR bytes that carry the pen across the cut.

    ``start`` is a line start the model has reached (everything before it is fed). The cut is
    just after a ``\r\n`` with at least ``keep`` rows of lines after it before the first
    unsafe byte; ``data[start:cut]`` may then be replaced by the returned SGR bytes. ``None``
    when nothing can be skipped.

    A line counts as one row, or, with ``cols`` (the model autowraps at most that wide), as
    the rows it surely wraps to (``_rows_at_least``): a flood of 4 KiB lines, 50 rows each,
    keeps 50 times fewer lines than it would counting lines."""
    end = data.translate(_UNSAFE_TO_ZERO).find(0, start)
    if end < 0:
        end = len(data)
    bad_esc = _BAD_ESC.search(data, start, end)
    if bad_esc:
        end = bad_esc.start()
    c2 = data.find(b"\xc2", start, end)  # (memchr: the regex only where it may match)
    c1 = _C1.search(data, c2, end) if c2 >= 0 else None
    if c1:
        end = c1.start()
    pos = data.rfind(b"\r\n", start, end)  # (what follows the last one: no full line)
    rows = 0
    while pos >= 0 and rows < keep:
        line_end = pos
        pos = data.rfind(b"\r\n", start, line_end)
        if cols and line_end - pos - 2 > cols:
            rows += _rows_at_least(data, pos + 2, line_end, cols)
        else:
            rows += 1
    if pos < 0:
        return None
    cut = pos + 2
    if cut <= start:
        return None
    return cut, carry_pen(data, start, cut)


def _rows_at_least(data: bytes | bytearray, begin: int, end: int, cols: int) -> int:
    """The fewest rows the line ``data[begin:end]`` (skippable bytes, no CR LF) takes in a
    model that autowraps at ``cols`` or narrower (left/right margins). Exact for the common
    long line, ASCII text and SGR; 1 where it would take more to tell: a CR or BS inside
    (the cursor goes back) or any non-ASCII byte (zero-width characters). SGR, BEL and TAB
    (none at the last column) count as no cell."""
    line = bytes(data[begin:end])
    if not line.isascii() or b"\r" in line or b"\x08" in line:
        return 1
    if b"\x1b" in line:
        line = _SGR.sub(b"", line)
    cells = len(line) - line.count(b"\x07") - line.count(b"\t")
    return max(1, -(-cells // cols))


def carry_pen(data: bytes | bytearray, start: int, cut: int) -> bytes:
    """The SGR bytes that leave the pen as feeding ``data[start:cut]`` (a skippable part)
    would: only SGR after the last full reset in it can matter."""
    reset = max(data.rfind(r, start, cut) for r in _RESETS)
    first = start if reset < 0 else reset
    return b"".join(_SGR.findall(data, first, cut))


# ---------------------------------------------------------------------------------------
# Counting the lines a skipped part scrolls


class LineRule(NamedTuple):
    """What ``count_lines`` needs to know of a model about to skip: its width, whether it
    autowraps, the farthest a TAB moves its cursor, and how many autowraps it makes drawing
    one segment of text (decoded, SGR removed, starting in column 0 with no wrap pending;
    see ``Columns``), or None where it cannot tell."""

    cols: int
    autowrap: bool
    tab_gap: int
    wraps: Callable[[str], int | None]


BLOCK = 1 << 16  # bytes examined at a time: a block without a long line costs a few C calls


# CR stays, every other byte becomes an 'a': a cell at most.
_FLAT = bytes(0x0D if b == 0x0D else 0x61 for b in range(256))
# UTF-8 lead bytes, deleted: a character then weighs as many bytes as it has continuation
# bytes, one for ASCII: one cell or more for every character (two cells are three bytes and
# more), only one for a character of two bytes (all below U+0800, where none is wide).
_LEADS = bytes(range(0xC0, 0x100))


def count_lines(data: bytes | bytearray, start: int, cut: int, rule: LineRule) -> tuple[int, int]:
    """(end, lines): feeding ``data[start:end]`` — a part ``plan_skip`` allows, starting in
    column 0 with no wrap pending — would move the cursor down ``lines`` times (line feeds
    and autowraps). ``end`` is ``cut``, or, short of a line whose autowraps ``rule`` cannot
    tell, the end of an earlier ``\\r\\n`` (``start`` when none).

    Cheap where it can be: a block in which no segment (the text between two CRs; CR puts
    the cursor back in column 0) can reach past the last column is done with a few C calls
    (``_flat``: wide characters weigh two cells, a TAB ``tab_gap``; the line feeds it drops
    are counted by the way). Only blocks with a long line go segment by segment."""
    if not rule.autowrap:
        return cut, data.count(b"\n", start, cut)
    cols = rule.cols
    too_long = b"a" * (cols + 1)
    tab = b"a" * max(rule.tab_gap, 1)
    wrapped: list[tuple[int, int]] = []  # (segment start, autowraps) where not 0
    feeds = 0
    pos = start
    while pos < cut:
        end = cut
        if cut - pos > BLOCK:
            end = data.rfind(b"\r", pos, pos + BLOCK) + 1 or data.find(b"\r", pos + BLOCK, cut) + 1
            if end <= pos:
                end = cut
        block = bytes(data[pos:end])
        text = block if block.isascii() else _valid(block)
        flat = _flat(text, tab)
        if too_long in flat and b"\x1b" in text:
            text = _SGR.sub(b"", text)  # (SGR only counted as cells so far: an upper bound)
            flat = _flat(text, tab)
        if b"\t" in text or not text.isascii():
            feeds += text.count(b"\n")
        else:
            feeds += len(text) - len(flat)  # (the line feeds ``_flat`` dropped)
        if too_long not in flat:
            pos = end
            continue
        seg_start = pos
        for raw, seg in zip(block.split(b"\r"), text.split(b"\r"), strict=True):
            if len(_flat(seg, tab)) > cols:
                count = rule.wraps(seg.decode("utf-8", "replace"))
                if count is None:
                    return _cut_before(data, start, seg_start, wrapped)
                if count:
                    wrapped.append((seg_start, count))
            seg_start += len(raw) + 1
        pos = end
    return cut, feeds + sum(count for _, count in wrapped)


def _valid(block: bytes) -> bytes:
    """``block`` as valid UTF-8, where ``_flat``'s weights hold (a lone lead byte weighs
    nothing but shows U+FFFD): itself, or decoded as the model decodes, with its SGR removed
    first (an SGR inside a broken UTF-8 sequence must not mend it), encoded again."""
    try:
        block.decode()
    except UnicodeDecodeError:
        return _SGR_TEXT.sub("", block.decode("utf-8", "replace")).encode()
    return block


def _flat(text: bytes, tab: bytes) -> bytes:
    """``text`` (valid UTF-8) with each segment as long as the cells it may take or more:
    line feeds dropped (they do not move the column), a TAB as ``tab``, an ASCII character
    one byte, another as many as its continuation bytes (see ``_LEADS``)."""
    if b"\t" in text:
        text = text.replace(b"\t", tab)
    if text.isascii():
        return text.translate(_FLAT, b"\n")
    return text.translate(_FLAT, _LEADS + b"\n")


def _cut_before(
    data: bytes | bytearray, start: int, seg_start: int, wrapped: list[tuple[int, int]]
) -> tuple[int, int]:
    """The end of the last ``\\r\\n`` at or before the segment at ``seg_start`` begins
    (which may be its own line feed), with the lines feeding up to it makes."""
    found = data.rfind(b"\r\n", start, seg_start + 1)
    if found < 0:
        return start, 0  # (``start`` is a line start too)
    end = found + 2
    wraps = sum(count for at, count in wrapped if at < end - 1)
    return end, data.count(b"\n", start, end) + wraps


class Columns:
    """The cursor's column as text is drawn with autowrap on, counting the autowraps: how
    xterm, the ``vt`` model and libghostty-vt move (``xterm=True``), or pyte, whose pending
    wrap is a column past the last one that a line feed keeps and a TAB drops."""

    __slots__ = ("cols", "lnm", "pending", "tabs", "wraps", "x", "xterm")

    def __init__(self, cols: int, lnm: bool, tabs: Sequence[int], xterm: bool = True) -> None:
        self.cols = cols
        self.lnm = lnm
        self.tabs = tabs  # sorted
        self.xterm = xterm
        self.x = 0
        self.pending = False  # the last column was written: the next character wraps first
        self.wraps = 0

    def narrow(self, count: int) -> None:
        """Draw ``count`` one-cell characters."""
        if count <= 0:
            return
        cols = self.cols
        if self.pending:
            self.wraps += 1
            self.x = 0
            self.pending = False
        room = cols - self.x
        if count < room:
            self.x += count
            return
        count -= room  # the first ``room`` reach the last column
        if count:
            rows = -(-count // cols)
            self.wraps += rows
            count -= (rows - 1) * cols
            if count < cols:
                self.x = count
                return
        self.x = cols - 1
        self.pending = True

    def wide(self, count: int) -> None:
        """Draw ``count`` two-cell characters (xterm: one that does not fit in the last
        column goes to the next row)."""
        cols = self.cols
        if count <= 0 or cols < 2:
            return  # (too narrow a screen draws nothing)
        if self.pending or self.x >= cols - 1:
            self.wraps += 1
            self.x = 0
            self.pending = False
        fit = (cols - self.x) // 2
        if count > fit:
            count -= fit
            per_row = cols // 2
            rows = -(-count // per_row)
            self.wraps += rows
            count -= (rows - 1) * per_row
            self.x = 0
        self.x += 2 * count
        if self.x >= cols:
            self.x = cols - 1
            self.pending = True

    def control(self, ch: str) -> None:
        """LF, TAB, BS (BEL does nothing)."""
        if ch == "\n":
            if self.xterm:
                self.pending = False
            if self.lnm:
                self.x = 0
                self.pending = False
        elif ch == "\t":
            nxt = next((t for t in self.tabs if t > self.x), self.cols - 1)
            nxt = min(nxt, self.cols - 1)
            if nxt != self.x or not self.xterm:
                self.pending = False
            self.x = nxt
        elif ch == "\b":
            self.pending = False
            if self.x:
                self.x -= 1


_CONTROLS = re.compile(r"([\n\t\b\x07])")


def segment_wraps(
    text: str,
    columns: Columns,
    runs: Callable[[str], Iterable[tuple[int, int]]] | None,
) -> int | None:
    """The autowraps drawing ``text`` (a segment: no CR, no escape sequence) makes, from
    column 0. ``runs`` splits non-ASCII text into (cell width, count) runs as the model
    draws it (width 0: combined, nothing moves); without it non-ASCII text is not told
    (None)."""
    for i, piece in enumerate(_CONTROLS.split(text)):
        if i % 2:
            columns.control(piece)
        elif piece.isascii():
            columns.narrow(len(piece))
        elif runs is None:
            return None
        else:
            for width, count in runs(piece):
                if width == 1:
                    columns.narrow(count)
                elif width == 2:
                    columns.wide(count)
    return columns.wraps
