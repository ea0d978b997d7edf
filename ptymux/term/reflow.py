"""Reflow: the main screen and its history follow a new window size (``Terminal.resize``).

A *logical line* is a run of rows joined by their ``wrapped`` flags, history lines
(``HistLine``) and screen rows alike. On a width change each logical line is laid out again
at the new width, as tmux (``grid_reflow``) and ghostty do: its cells (text and pens, a
two-cell character and its right half, combining marks inside their cell) are cut into rows
of the new width, every row but the last marked wrapped. A two-cell character that would
straddle the edge wraps whole and leaves a blank in the last column, marked as a filler
(``Row.filler``; drawing marks the one it leaves too), which is not text the next time the
line is laid out. A wrapped row is text to its last cell (but a filler); the line's
trailing default blanks are not text. Blanks erased with a background (EL, a clear, rows
scrolled in with one: BCE) that end the line's last row at the edge are a *fill*: one of
them stays text and the others pad the new last row, to the new width, so that a screen
cleared in a colour stays so, a row to a row. A history line that is not wrapped, not
wrapped into, fits the new width and may not end in a fill is kept as it is (the common
case).

Where the screen starts is tmux's rule: it is the last ``rows`` rows of history + screen,
so the rows below the cursor (blank or not) stay below it; rows the content gains go into
the history at the top, rows it loses come back from the history at the top. But with
nothing in the history, the blank rows below the cursor are not kept: the content stays at
the top and grows into them (ghostty's way; tmux pushes rows into the history there).
Either way narrowing then widening back gives the same rows, the same screen and the same
history, and only a content shorter than the screen leaves blank rows at the bottom. The
height changes first, as it did before reflow (tmux's order too): a shorter window drops
blank rows below the cursor, a taller one takes back the history rows that scrolled off
since the last clear of the screen (``Terminal.pull_mark``; tmux's "hscrolled"), then adds
blank rows at the bottom.

The cursor, the saved cursor of the main screen and the OSC 133 prompt marks are carried
through as points: a point's logical line and its offset in that line's cells are found
before, its row and column after. The cursor stays on its character. Past the end of the
text, its line counts the blank cells up to it (the saved cursor's too while the alternate
screen is shown, where it stands for the main screen's cursor); right after a full last row
it is left pending a wrap at the end of that row, as if the text had just been written.
Should its row go into the history (the rest of its line and the rows below it are more
than the screen holds), the cursor goes to the top left corner, as in tmux; a shorter
window leaves it in the top row, as before. The saved cursor is clamped to the screen.

``history.total`` (``history_total``: the rows that entered the history) becomes the rows
it had dropped (``total - len(history)``), plus the rows the history holds now, laid out at
the new width, plus the rows the history limit drops now. So it is still the absolute
number of the screen's top row; it goes down when rows come back from the history (to
where it was before they entered it); narrowing then widening back gives the same number
(nothing dropped at the limit meanwhile), so a terminal that left at one width and comes
back at that width gets from ``scrollback(since)`` exactly the rows it has not seen. At
another width, the rows of the lines that were in the history are counted at the new
width. While the number is below a terminal's ``since``, ``scrollback`` writes nothing:
those rows are on the screen. Prompt marks move with their rows.

Cost: the history lines before the first one that changes are not read again nor their
compressed blocks rewritten; a line of one row that does not change is kept as it is; the
newest lines are laid out first, and the work stops at the history limit; a line of ASCII
text goes from history line to history lines without cells. 2000 history lines of 200
columns reflow in tens of milliseconds (docs/terminal-state.md has the numbers).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from ptymux.term.cells import (
    ACS,
    DEFAULT,
    HistLine,
    Pen,
    Row,
    blank_row,
    compact,
    erase_pen,
)
from ptymux.term.charsets import DEC_GRAPHICS, _run_res, cell_is_wide, wcwidth
from ptymux.term.vt_screen import _blank

if TYPE_CHECKING:
    from ptymux.term.vt_screen import Screen as Terminal  # (the state reflow works on)


# DEC line drawing as the history holds it (the characters shown) back to the letters a
# screen row holds in its cells (with the ACS flag in their pen).
_ACS_BACK = {ord(shown): chr(code) for code, shown in DEC_GRAPHICS.items()}


class _Point:
    """A position carried through a resize: its old row (an index in history + screen)
    and column; then its row as a distance from the new last row (``e``, -1: its row was
    dropped) and its column (``x``, which may reach the width: right after a full row)."""

    __slots__ = ("row", "col", "pad", "offset", "e", "x")

    def __init__(self, row: int, col: int, pad: bool = False) -> None:
        self.row = row
        self.col = col
        self.pad = pad  # its line counts the cells up to it (a cursor past the text)
        self.offset = 0
        self.e = -1
        self.x = col


def _cells_width(text: str) -> int:
    """The cells ``text`` (a history line's) takes."""
    narrow, wide = _run_res()
    total = 0
    pos = 0
    n = len(text)
    while pos < n:
        m = narrow.match(text, pos)
        if m is not None:
            total += m.end() - pos
            pos = m.end()
            continue
        m = wide.match(text, pos)
        if m is not None:
            total += 2 * (m.end() - pos)
            pos = m.end()
            continue
        w = wcwidth(text[pos])
        total += w if w >= 0 else 1
        pos += 1
    return total


def _may_fill(line: HistLine) -> bool:
    """Whether a history line ends in blanks with a pen: maybe a fill (``_text_end``)."""
    return bool(line.spans) and line.spans[-1] != DEFAULT and line.text.endswith(" ")


def _fits(line: HistLine, cols: int) -> bool:
    """Whether a history line that is no part of a longer line is the same laid out again
    at ``cols``: it fits, and may not end in a fill (which would reach the new width)."""
    if _may_fill(line):
        return False
    text = line.text
    n = len(text)
    if 2 * n <= cols:
        return True
    if text.isascii():
        return n <= cols
    return _cells_width(text) <= cols


def _hist_cells(line: HistLine, drop_filler: bool) -> tuple[list[str], list[Pen]]:
    """A history line's cells: (cell texts, pens), as a screen row holds them."""
    text = line.text
    chars: list[str]
    pens: list[Pen] = []
    if text.isascii():
        chars = list(text)
        if not line.spans:
            pens = [DEFAULT] * len(chars)
        else:
            start = 0
            for end, pen in line.runs():
                pens += [pen] * (end - start)
                start = end
    else:
        chars = []
        narrow, wide = _run_res()
        runs = line.runs() if line.spans else iter(((len(text), DEFAULT),))
        pos = 0
        for end, pen in runs:
            first = len(chars)
            while pos < end:
                m = narrow.match(text, pos, end)
                if m is not None:
                    chars += m.group()
                    pens += [pen] * (m.end() - pos)
                    pos = m.end()
                    continue
                m = wide.match(text, pos, end)
                if m is not None:
                    seg = m.group()
                    cells = [""] * (2 * len(seg))
                    cells[0::2] = seg
                    chars += cells
                    pens += [pen] * len(cells)
                    pos = m.end()
                    continue
                ch = text[pos]
                pos += 1
                w = wcwidth(ch)
                if w == 0 and chars:  # a combining mark: in the cell before
                    x = len(chars) - 1
                    if chars[x] == "" and x:
                        x -= 1
                    chars[x] += ch
                elif w == 2:
                    chars += (ch, "")
                    pens += (pen, pen)
                else:
                    chars.append(ch)
                    pens.append(pen)
            if pen.flags & ACS:  # (the history holds line drawing as its characters)
                chars[first:] = [c.translate(_ACS_BACK) for c in chars[first:]]
    if len(pens) < len(chars):
        pens += [DEFAULT] * (len(chars) - len(pens))
    if drop_filler and line.filler and chars and chars[-1] == " ":
        chars.pop()
        pens.pop()
    return chars, pens


def _row_cells(row: Row, drop_filler: bool) -> tuple[list[str], list[Pen]]:
    """A screen row's cells (a filler dropped)."""
    chars, pens = row.chars, row.pens
    if drop_filler and row.filler and len(chars) > 1 and chars[-1] == " ":
        return chars[:-1], pens[:-1]
    return chars, pens


def _text_end(chars: list[str], pens: list[Pen], reached: bool) -> tuple[int, Pen]:
    """Where a logical line's text ends, and the pen of the blanks after it. Its trailing
    default blanks are not text. Blanks erased with a background that end its last row at
    the edge (``reached``: a screen row always does) are a fill: one of them stays text (so
    that a row is there for it where the text ends at the edge), the others are the new
    last row's padding, to the new width (a screen cleared in a colour stays so)."""
    n = len(chars)
    if not n or chars[n - 1] != " ":
        return n, DEFAULT
    pen = pens[n - 1]
    if pen != DEFAULT and not (reached and erase_pen(pen) == pen):
        return n, DEFAULT
    while n and chars[n - 1] == " " and pens[n - 1] == pen:
        n -= 1
    return (n, pen) if pen == DEFAULT else (n + 1, pen)


def _expand(line: HistLine, cols: int) -> Row:
    """A history line back on the screen, as a row ``cols`` wide."""
    chars, pens = _hist_cells(line, False)
    if len(chars) > cols:  # (not after a reflow: every line fits)
        del chars[cols:]
        del pens[cols:]
        if cell_is_wide(chars[-1]):
            chars[-1] = " "
    pad = cols - len(chars)
    if pad:
        chars += [" "] * pad
        pens += [DEFAULT] * pad
    return Row(chars, pens, line.wrapped, line.filler)


def _split_ascii(lines: list[HistLine], cols: int) -> tuple[list[HistLine], list[int]]:
    """``_layout`` for a logical line of the history in ASCII (a character per cell, no
    filler), straight from text to history lines, cut as ``compact`` would cut them."""
    text = "".join([line.text for line in lines])
    runs: list[tuple[int, Pen]] = []
    offset = 0
    for line in lines:
        for end, pen in line.runs() if line.spans else ((len(line.text), DEFAULT),):
            if runs and runs[-1][1] == pen:
                runs[-1] = (offset + end, pen)
            elif offset + end > (runs[-1][0] if runs else 0):
                runs.append((offset + end, pen))
        offset += len(line.text)
    if runs and runs[-1][1] == DEFAULT:  # the line's trailing default blanks are not text
        start = runs[-2][0] if len(runs) > 1 else 0
        end = start + len(text[start : runs[-1][0]].rstrip(" "))
        text = text[:end]
        if end > start:
            runs[-1] = (end, DEFAULT)
        else:
            runs.pop()
    n = len(text)
    starts = list(range(0, n, cols)) or [0]
    out: list[HistLine] = []
    r = 0  # the first run that may reach into the piece
    for start in starts:
        end = min(start + cols, n)
        while r < len(runs) and runs[r][0] <= start:
            r += 1
        spans: list[int | Pen] = []
        k = r
        plain = True
        while k < len(runs):
            run_end, pen = runs[k]
            spans += (min(run_end, end) - start, pen)
            plain = plain and pen == DEFAULT
            if run_end >= end:
                break
            k += 1
        out.append(HistLine(text[start:end], () if plain else tuple(spans), end < n))
    return out, starts


def _layout(chars: list[str], pens: list[Pen], cols: int,
            fill: Pen = DEFAULT) -> tuple[list[Row], list[int]]:
    """A logical line's cells as rows ``cols`` wide (the last one filled with blanks of
    ``fill``), and the offset each row starts at."""
    n = len(chars)
    out: list[Row] = []
    starts: list[int] = []
    i = 0
    while True:
        starts.append(i)
        end = i + cols
        if end >= n:
            rc = chars[i:n]
            rp = pens[i:n]
            pad = end - n
            if pad:
                rc += [" "] * pad
                rp += [fill] * pad
            out.append(Row(rc, rp))
            return out, starts
        if chars[end] == "":  # a two-cell character would straddle the edge: it wraps
            if cols == 1:  # (it fits nowhere: a blank, as drawing drops it)
                out.append(Row([" "], [DEFAULT], True))
                i = end + 1
                continue
            filler = erase_pen(pens[end - 1])  # (as the row's blanks of that character)
            out.append(Row(chars[i : end - 1] + [" "], pens[i : end - 1] + [filler], True,
                           True))
            i = end - 1
        else:
            out.append(Row(chars[i:end], pens[i:end], True))
            i = end


def resize_main(t: Terminal, cols: int, rows: int) -> None:
    """Bring ``t``'s main screen, its history, the cursor (when on the main screen), the
    saved cursor of the main screen and the prompt marks to ``cols`` x ``rows`` (``t.cols``
    and ``t.rows`` are still the old size). See the module's docstring."""
    old_cols, old_rows = t.cols, t.rows
    limit = t.history_limit
    history = t.history
    on_main = not t.in_alt
    reflow = cols != old_cols
    held = len(history) if limit else 0
    old: Any = history.lines() if reflow and held else history
    screen = t.main[:]
    saved = t.saved_main

    # The height first.
    cy = min(t.y if on_main else saved.y, old_rows - 1)
    if rows < old_rows:
        excess = old_rows - rows
        while excess and len(screen) - 1 > cy and _blank(screen[-1]):
            screen.pop()
            excess -= 1
    elif rows > old_rows:
        pullable = max(0, min(held, history.total - t.pull_mark)) if limit else 0
        grow = rows - old_rows
        screen += [blank_row(old_cols) for _ in range(grow - min(grow, pullable))]
    if reflow and not held:  # nothing above the screen: its blank rows below the cursor
        while len(screen) - 1 > cy and _blank(screen[-1]):  # take what the content gains
            screen.pop()
    size = held + len(screen)

    # The points to carry through.
    points: list[_Point] = []
    cursor = None
    if on_main:
        cursor = _Point(held + t.y, t.x + 1 if t.pending else t.x, True)
        points.append(cursor)
    saved_point = _Point(min(held + saved.y, size - 1), saved.x, not on_main)
    points.append(saved_point)
    base = history.total - held if limit else 0  # the absolute line of the first row
    marks: list[_Point] = []
    for line in t.prompts:
        if 0 <= line - base < size:
            marks.append(_Point(line - base, 0))
    points += marks
    at: dict[int, list[_Point]] = {}
    for p in points:
        at.setdefault(p.row, []).append(p)

    # Rows before ``still`` are kept as they are.
    still = size
    if reflow:
        still = held
        for i in range(held):
            line = old[i]
            if line.wrapped or not _fits(line, cols):
                still = i
                break

    def wrapped(i: int) -> bool:
        if i >= held:  # (the old last row wraps into nothing: blank rows added after it)
            return screen[i - held].wrapped and i - held < old_rows - 1
        return bool(old[i].wrapped)

    # The new rows, newest first, until the screen and the history are full.
    rev: list[Row | HistLine] = []
    keep = 0  # rows of history + screen before the ones in rev, kept in place
    skipped = 0  # history rows left out at the history limit (counted at the old width)
    j = size - 1
    while j >= 0:
        if j < still:
            if len(rev) >= rows:
                keep = j + 1
                break
            for p in at.get(j, ()):
                p.e = len(rev)
            rev.append(old[j] if j < held else screen[j - held])
            j -= 1
            continue
        if j < held and len(rev) >= rows + limit:
            skipped = j + 1  # the older lines would not fit in the history
            break
        a = j
        while a and wrapped(a - 1):
            a -= 1
        if j < held:  # a line of the history
            if a == j and not old[j].wrapped and _fits(old[j], cols):
                for p in at.get(j, ()):
                    p.e = len(rev)
                rev.append(old[j])  # (unchanged)
                j -= 1
                continue
            lines = old[a : j + 1]
            if not _may_fill(lines[-1]) and not any(
                    line.filler or not line.text.isascii() for line in lines):
                pieces, starts = _split_ascii(lines, cols)
                last = len(rev) + len(pieces) - 1
                offset = 0
                for i, line in enumerate(lines):
                    for p in at.get(a + i, ()):
                        k = bisect_right(starts, offset) - 1
                        p.x = offset - starts[k]
                        p.e = last - k
                    offset += len(line.text)
                pieces.reverse()
                rev += pieces
                j = a - 1
                continue
        chars: list[str] = []
        pens: list[Pen] = []
        here: list[_Point] = []
        reached = True  # the last row reaches the edge (a screen row always does)
        for i in range(a, j + 1):
            offset = len(chars)
            if i < held:
                c, q = _hist_cells(old[i], i < j)
                reached = len(c) >= old_cols
            else:
                c, q = _row_cells(screen[i - held], i < j)
                reached = True
            chars += c
            pens += q
            for p in at.get(i, ()):
                p.offset = offset + p.col
                here.append(p)
        n, fill = _text_end(chars, pens, reached)
        del chars[n:]
        del pens[n:]
        need = max([p.offset for p in here if p.pad], default=0) - n
        if need > 0:
            chars += [" "] * need
            pens += [fill] * need
        out, starts = _layout(chars, pens, cols, fill)
        last = len(rev) + len(out) - 1
        for p in here:
            k = bisect_right(starts, p.offset) - 1
            p.x = p.offset - starts[k]
            p.e = last - k
        out.reverse()
        rev += out
        j = a - 1
    for p in points:
        if p.e < 0 and p.row < keep:
            p.e = len(rev) + keep - 1 - p.row

    if len(rev) < rows:  # (then keep is 0: everything is on the screen)
        pad = rows - len(rev)
        rev[:0] = [blank_row(cols) for _ in range(pad)]
        for p in points:
            if p.e >= 0:
                p.e += pad

    # The screen, the history.
    t.main[:] = [item if isinstance(item, Row) else _expand(item, cols)
                 for item in reversed(rev[:rows])]
    if limit:
        # (rows dropped before, then every row that went into the history now)
        total = history.total - held + keep + len(rev) - rows + skipped
        history.truncate(min(keep, held))
        for i in range(held, keep):
            history.append(compact(screen[i - held]))
        for item in reversed(rev[rows:]):
            history.append(item if isinstance(item, HistLine) else compact(item))
        history.set_total(total)
    first = history.total if limit else 0  # the absolute line of the screen's top row
    prompts: list[int] = []
    for p in marks:
        if p.e >= 0:
            line = first + rows - 1 - p.e
            if not prompts or prompts[-1] != line:
                prompts.append(line)
    t.prompts = prompts

    # The cursors.
    if cursor is not None:
        if cursor.e >= rows:  # its row went into the history: the top left corner (tmux)
            t.x, t.y, t.pending = 0 if reflow else min(t.x, cols - 1), 0, False
        else:
            t.y = rows - 1 - cursor.e
            t.x = min(cursor.x, cols - 1)
            t.pending = cursor.x >= cols and t.autowrap
    e = saved_point.e
    y = rows - 1 - e if 0 <= e < rows else 0 if e >= rows else rows - 1
    t.saved_main = saved._replace(x=min(saved_point.x, cols - 1), y=y)
