"""Reflow on resize (ptymux/term/reflow.py): the main screen and its history are re-wrapped
at a new width, the alternate screen is not; the cursor stays on its character; a taller
window takes rows back from the history. Compared with tmux 3.3a at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from vtstate import round_trip, snapshot

from harness import wait_until
from ptymux.term.vt import DEFAULT, HistLine, Pen, Row, cell_is_wide, cell_text, wcwidth
from ptymux.term.vt_model import VtModel


def model(stream: bytes | str = b"", cols: int = 20, rows: int = 5,
          history: int = 1000) -> VtModel:
    m = VtModel(cols, rows, history)
    m.feed(stream.encode() if isinstance(stream, str) else stream)
    assert m.errors == 0
    return m


def resize(m: VtModel, cols: int, rows: int) -> None:
    m.resize(cols, rows)
    assert m.errors == 0
    check_invariants(m)


def everything(m: VtModel, **kw: Any) -> list[str]:
    """capture of the whole history and screen."""
    return m.capture(-m.history_size, None, **kw)


def state(m: VtModel) -> dict[str, Any]:
    """What narrowing then widening back must give back: every row of history and screen,
    cell by cell with its pen, and its wrap flags; the text as capture shows it, the rows
    joined; the counter; the full snapshot of the screen, cursor and modes (the saved
    cursor aside: clamped when its row leaves the screen). A filler (the blank a two-cell
    character that did not fit left at a row's end) is no text: its pen is not compared."""
    t = m.term
    snap = snapshot(m)
    del snap["saved_main"]
    snap["screen"] = [(chars, pens[:-1] if row.filler else pens, wrapped)
                      for (chars, pens, wrapped), row in zip(snap["screen"], t.buf, strict=True)]
    return {
        "rows": [(cells(item), item.wrapped, item.filler)
                 for item in [*t.history.lines(), *t.main]],
        "text": everything(m),
        "joined": everything(m, join=True),
        "total": m.history_total,
        "held": m.history_size,
        "snapshot": snap,
    }


def cells(item: Row | HistLine) -> list[tuple[str, Pen]]:
    """A row's or history line's characters with their pens, code point by code point (a
    filler dropped), independently of reflow.py."""
    if isinstance(item, HistLine):
        out: list[tuple[str, Pen]] = []
        start = 0
        for end, pen in (item.runs() if item.spans else [(len(item.text), DEFAULT)]):
            out += [(ch, pen) for ch in item.text[start:end]]
            start = end
        if item.wrapped and item.filler and out and out[-1][0] == " ":
            out.pop()
        return out
    out = [(ch, pen) for c, pen in zip(item.chars, item.pens, strict=True)
           for ch in cell_text(c, pen)]
    if item.wrapped and item.filler and item.chars[-1] == " ":
        out.pop()
    return out


def logical_lines(m: VtModel) -> list[list[tuple[str, Pen]]]:
    """The main screen's and history's logical lines (rows joined through their wrap
    flags), without their trailing default blanks; a line whose last row ends in blanks
    erased with a background to the edge (a fill) ends in one such blank instead."""
    t = m.term
    items: list[Row | HistLine] = [*t.history.lines(), *t.main]
    lines: list[list[tuple[str, Pen]]] = []
    acc: list[tuple[str, Pen]] = []
    for i, item in enumerate(items):
        acc += cells(item)
        if not item.wrapped or i == len(items) - 1:
            pen = acc[-1][1] if acc and acc[-1][0] == " " else None
            full = isinstance(item, Row) or sum(wcwidth(c) for c in item.text) == t.cols
            if pen is not None and (pen == DEFAULT or pen == Pen(bg=pen.bg) and full):
                while acc and acc[-1] == (" ", pen):
                    acc.pop()
                if pen != DEFAULT:
                    acc.append((" ", pen))
            lines.append(acc)
            acc = []
    while lines and not lines[-1]:  # (blank rows at the bottom of the screen)
        lines.pop()
    return lines


def check_invariants(m: VtModel) -> None:
    t = m.term
    for buf in (t.main, t.alt):
        assert len(buf) == t.rows
        for row in buf:
            assert len(row.chars) == len(row.pens) == t.cols
            for x, c in enumerate(row.chars):
                if c == "":
                    assert x and cell_is_wide(row.chars[x - 1]), row.chars
                elif cell_is_wide(c):
                    assert x + 1 < t.cols and row.chars[x + 1] == "", row.chars
    assert 0 <= t.x < t.cols and 0 <= t.y < t.rows
    assert not t.history_limit or len(t.history) <= t.history_limit


def text_lines(n: int, width: int, start: int = 0) -> str:
    """n lines of ``width`` cells, each unique."""
    return "".join((f"L{i:03d}:" + "abcdefghij" * (width // 10 + 1))[:width] + "\r\n"
                   for i in range(start, start + n))


# -- the property: narrow (or widen) and come back -----------------------------------------

WORDS = st.sampled_from(["alpha", "beta", "x" * 13, "日本", "語", "e\u0301", "a\u0301\u0302",
                         "\U0001f642", " ", "  ", "|", "ab cd", "\x1b(0lqqk\x1b(B"])
PENS = st.sampled_from(["", "", "\x1b[31m", "\x1b[1;44m", "\x1b[38;5;208m", "\x1b[0m",
                        "\x1b[7m", "\x1b[4:3m", "\x1b]8;;http://a.example/\x1b\\",
                        "\x1b]8;;\x1b\\"])
# A line ends with a visible character or is empty: default blanks that make a line wrap
# are not text (their rows are not kept), so a line ending in them is not given back. The
# last line, where the cursor is, ends at the cursor: with text right of the cursor, a
# reflow may push the cursor's row into the history (it then goes to the top left corner).
LINE = st.lists(st.tuples(PENS, WORDS), max_size=8).map(
    lambda parts: "".join(p + w for p, w in parts) + ("." if parts else ""))
TEXT = st.builds(
    lambda lines, reset, tail: "".join(line + reset + "\r\n" for line in lines) + tail,
    st.lists(LINE, max_size=12),
    st.sampled_from(["", "\x1b[0m"]),
    st.sampled_from(["", "$ ", "$ ls -l", "> " + "y" * 30, "$" + " " * 25]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.integers(4, 40), st.lists(st.integers(2, 50), min_size=1, max_size=3),
       st.integers(1, 8))
@example(text="ab日本語cd\x1b[31mef日本語gh\x1b[0m e\u0301x 日本\r\n$ ", cols=10, widths=[3, 7],
         rows=4).via("wide characters at the edges, combining marks, colours, the prompt")
@example(text="$" + " " * 25, cols=10, widths=[4], rows=2).via("a cursor past its line's text")
def test_resizing_back_gives_the_same_rows(text: str, cols: int, widths: list[int],
                                           rows: int) -> None:
    m = model(text, cols, rows, history=10000)
    before = state(m)
    lines = logical_lines(m)
    for width in widths:
        resize(m, width, rows)
        assert logical_lines(m) == lines  # text, pens, two-cell characters, marks: all kept
        assert not round_trip(m)  # (a redraw still rebuilds the reflowed screen)
    resize(m, cols, rows)
    assert state(m) == before


def test_a_wrapped_line_rewraps() -> None:
    long = "".join(f"{i:02d}." for i in range(20))  # 60 cells
    m = model(long + "\r\n$ ", cols=30, rows=6)
    assert m.capture() == [long[:30], long[30:], "$", "", "", ""]
    resize(m, 20, 6)
    assert m.capture() == [long[:20], long[20:40], long[40:], "$", "", ""]
    assert m.capture(join=True) == [long, "$", "", ""]
    resize(m, 60, 6)
    assert m.capture() == [long, "$", "", "", "", ""]
    assert m.cursor() == (2, 1)


def test_with_nothing_in_the_history_the_blank_rows_take_what_the_content_gains() -> None:
    m = model(text_lines(3, 40) + "$ ", cols=40, rows=6)
    assert m.history_size == 0 and m.cursor() == (2, 3)
    resize(m, 20, 6)  # six rows and the prompt: one row goes into the history
    assert m.history_size == 1 and m.history_total == 1
    assert m.cursor() == (2, 5)
    halves = [half for line in text_lines(3, 40).split("\r\n")[:3]
              for half in (line[:20], line[20:])]
    assert everything(m) == [*halves, "$"]
    resize(m, 40, 6)  # and it comes back
    assert m.history_size == 0 and m.history_total == 0
    assert m.capture() == [*text_lines(3, 40).split("\r\n")[:3], "$", "", ""]
    assert m.cursor() == (2, 3)


def test_rows_below_the_cursor_stay_below_it_when_the_history_holds_rows() -> None:
    # tmux's rule: the screen is the last rows of history + screen; what the content gains
    # goes into the history at the top, what it loses comes back from there
    m = model(text_lines(10, 10) + "\x1b[H\x1b[2J" + text_lines(2, 40, start=20) + "$ ",
              cols=40, rows=6)
    assert m.history_size == 5 and m.cursor() == (2, 2)
    resize(m, 20, 6)  # two rows more: the top two go into the history
    assert m.history_size == 7 and m.cursor() == (2, 2)
    assert m.capture() == ["L021:abcdefghijabcde", "fghijabcdefghijabcde", "$", "", "", ""]
    resize(m, 40, 6)
    assert m.history_size == 5 and m.cursor() == (2, 2)
    assert m.capture()[:3] == [*text_lines(2, 40, start=20).split("\r\n")[:2], "$"]
    resize(m, 80, 6)  # no row less: the same
    assert m.history_size == 5 and m.cursor() == (2, 2)


def test_fills() -> None:
    # blanks erased with a background to the end of a line's last row (a clear in a colour,
    # EL, rows scrolled in with one: BCE) are a fill, not text: at any width, the line's new
    # last row is filled with them to the edge
    blue, red = Pen(bg="44"), Pen(bg="41")
    m = model("\x1b[44m\x1b[2J\x1b[H$ \x1b[0m", cols=10, rows=4)
    for width in (3, 2, 17, 10):
        resize(m, width, 4)
        assert m.history_size == 0
        assert [row.pens for row in m.term.main] == [[blue] * width] * 4
        assert m.cursor() == ((2, 0) if width > 2 else (1, 0))  # ("$ " fills the row)
        assert m.term.pending == (width == 2)
    m = model("\x1b[41mred\x1b[K\x1b[0m\r\n", cols=10, rows=4)
    resize(m, 4, 4)
    assert m.capture(0, 0) == ["red"] and m.term.main[0].pens == [red] * 4
    resize(m, 3, 4)  # the text reaches the edge: a row of the fill follows it
    assert m.term.main[0].pens == [red] * 3 and m.term.main[1].pens == [red] * 3
    resize(m, 10, 4)
    assert m.term.main[0].pens == [red] * 10
    assert m.capture() == ["red", "", "", ""]


def test_pens_links_and_combining_marks_are_kept() -> None:
    link = "\x1b]8;id=1;http://a.example/\x1b\\"
    m = model(f"\x1b[1;31mred{link}linked\x1b]8;;\x1b\\\x1b[0m e\u0301\u0302 \x1b[44mblue\x1b[0m"
              "\r\n", cols=30, rows=4)
    before = m.capture(0, 0, escapes=True)
    lines = logical_lines(m)
    resize(m, 4, 4)
    assert logical_lines(m) == lines
    assert everything(m) == ["redl", "inke", "d e\u0301\u0302", "blue", ""]
    linked = Pen(flags=1, fg="31", link="id=1;http://a.example/")
    assert m.term.history.lines()[0].spans == (3, Pen(flags=1, fg="31"), 4, linked)
    assert m.term.main[0].pens == [linked] * 4
    resize(m, 30, 4)
    assert m.capture(0, 0, escapes=True) == before


# -- wide characters ---------------------------------------------------------------------

def test_a_wide_character_that_does_not_fit_wraps_whole() -> None:
    m = model("abc日本語\r\n", cols=20, rows=3)
    resize(m, 4, 3)  # "abc" then 日 would straddle the edge: it goes to the next row
    held = m.term.history.lines()
    assert [line.text for line in held] == ["abc "] and held[0].filler and held[0].wrapped
    assert not m.term.main[0].filler
    assert everything(m) == ["abc", "日本", "語", ""]
    resize(m, 5, 3)  # the filler is no text: "abc日" fits now
    assert everything(m)[:2] == ["abc日", "本語"]
    resize(m, 20, 3)
    assert m.capture(0, 0) == ["abc日本語"]


def test_a_filler_left_by_drawing_is_no_text_either() -> None:
    m = model("abc日本\r\n", cols=4, rows=4)  # the program's own wrap leaves the filler
    assert m.term.main[0].filler and m.capture(0, 1) == ["abc", "日本"]
    resize(m, 10, 4)
    assert m.capture(0, 0) == ["abc日本"]
    assert m.capture(0, 1, join=True) == ["abc日本", ""]


def test_two_cell_characters_never_split_at_any_width() -> None:
    text = "a日b本c語d" * 3
    m = model(text + "\r\n", cols=30, rows=3)
    for width in (2, 3, 4, 5, 7, 11, 30):
        resize(m, width, 3)
        assert "".join(c for line in logical_lines(m)[:1] for c, _ in line) == text


# -- the cursor ----------------------------------------------------------------------------

def under_cursor(m: VtModel) -> str:
    t = m.term
    return t.main[t.y].chars[t.x]


def test_the_cursor_stays_on_its_character() -> None:
    line = "".join(f"{i:02d}" for i in range(30))  # 60 cells
    m = model(line + "\x1b[1;38H", cols=40, rows=25)  # on the "8" of "18" (offset 37)
    assert under_cursor(m) == line[37] == "8"
    for width in (10, 7, 3, 25, 60, 80, 40):
        resize(m, width, 25)
        assert under_cursor(m) == line[37], width
        offset = 37 if width > 37 else 37 % width
        assert m.cursor()[0] == offset, width
    assert m.cursor() == (37, 0)


def test_a_pending_wrap_stays_pending_at_the_end_of_its_line() -> None:
    m = model("$ " + "x" * 18, cols=20, rows=3)  # the last column written: pending wrap
    assert m.term.pending and m.cursor() == (19, 0)
    resize(m, 10, 3)  # 20 cells in rows of 10: right after the second row, still pending
    assert m.term.pending and m.cursor() == (9, 1)
    resize(m, 30, 3)
    assert not m.term.pending and m.cursor() == (20, 0)
    m.feed(b"Z")
    assert m.capture(0, 0) == ["$ " + "x" * 18 + "Z"]


def test_a_cursor_past_the_text_keeps_its_column() -> None:
    m = model("$ \x1b[20C", cols=40, rows=3)  # far right of a short prompt
    assert m.cursor() == (22, 0)
    resize(m, 10, 3)  # the line counts the blanks up to the cursor: three rows
    assert m.cursor() == (2, 2)
    resize(m, 40, 3)
    assert m.cursor() == (22, 0)
    assert m.capture() == ["$", "", ""]


def test_the_saved_cursor_follows_its_character() -> None:
    line = "".join(f"{i:02d}" for i in range(30))
    m = model(line + "\x1b[1;38H\x1b7\x1b[4;1Hmore", cols=40, rows=6)
    resize(m, 12, 6)
    m.feed(b"\x1b8")
    assert under_cursor(m) == line[37]
    resize(m, 50, 6)
    m.feed(b"\x1b7\x1b[H\x1b8")
    assert under_cursor(m) == line[37]


def test_1049_returns_to_the_reflowed_main_screen() -> None:
    line = "".join(f"{i:02d}" for i in range(30))
    m = model(line + "\r\n$ \x1b[?1049h\x1b[Hfull screen app", cols=40, rows=6)
    resize(m, 15, 6)
    m.feed(b"\x1b[?1049l")
    assert m.capture(join=True)[:2] == [line, "$"]
    assert m.cursor() == (2, 4)  # 60 cells: four rows of 15, then the prompt


def test_a_line_longer_than_the_screen_keeps_the_cursor_on_it() -> None:
    line = "".join(f"{i:02d}" for i in range(50))
    m = model(line + "\x1b[1;4H", cols=100, rows=4)  # on the "1" of "01"
    resize(m, 10, 4)  # ten rows: the cursor's goes into the history; it goes to 0,0 (tmux)
    assert m.cursor() == (0, 0) and not m.term.pending
    assert everything(m) == [line[i : i + 10] for i in range(0, 100, 10)]


# -- the alternate screen is cut, not reflowed -----------------------------------------------

def test_the_alternate_screen_is_not_reflowed() -> None:
    m = model("main " + "m" * 30 + "\x1b[?1049h\x1b[H" + "a" * 30 + "\r\nalt", cols=30, rows=4)
    resize(m, 10, 4)
    assert m.alternate_screen
    assert m.capture() == ["a" * 10, "alt", "", ""]  # cut, not wrapped
    resize(m, 30, 4)
    assert m.capture() == ["a" * 10, "alt", "", ""]  # the cut part does not come back
    m.feed(b"\x1b[?1049l")
    assert m.capture(join=True)[0] == "main " + "m" * 30  # the main one was reflowed


def test_a_resize_in_the_alternate_screen_leaves_the_history_to_the_main_screen() -> None:
    m = model(text_lines(8, 20) + "\x1b[?1049h" + "alt\r\n" * 10, cols=20, rows=4)
    held, total = m.history_size, m.history_total
    resize(m, 10, 4)
    assert m.history_size > held and m.history_total > total  # main screen rows at 10
    resize(m, 20, 4)
    assert (m.history_size, m.history_total) == (held, total)


# -- height: rows come back from the history ----------------------------------------------

def test_a_taller_window_takes_rows_back_from_the_history() -> None:
    m = model(text_lines(10, 10) + "$ ", cols=10, rows=4)
    assert m.history_size == 7 and m.cursor() == (2, 3)
    resize(m, 10, 7)
    assert m.history_size == 4 and m.history_total == 4
    assert m.cursor() == (2, 6)  # the cursor row moved down with the rows above it
    assert m.capture()[0] == "L004:abcde"
    resize(m, 10, 20)  # more than the history holds: blank rows at the bottom
    assert m.history_size == 0 and m.cursor() == (2, 10)
    assert m.capture()[11:] == [""] * 9
    resize(m, 10, 4)  # shorter: blank rows below the cursor go first, then the top rows
    assert m.history_size == 7 and m.cursor() == (2, 3)


def test_rows_cleared_off_are_not_taken_back() -> None:
    # a clear (ED 2, or ED 0 from the top) ends what a taller window takes back (tmux)
    for clear in (b"\x1b[H\x1b[2J", b"\x1b[H\x1b[J"):
        m = model(text_lines(10, 10).encode() + clear + b"$ " + b"\r\n" * 3 + b"# ",
                  cols=10, rows=3)
        assert m.history_size == 9
        resize(m, 10, 6)
        assert m.history_size == 8  # only the row "$ " pushed up after the clear
        assert m.capture()[:2] == ["$", ""]


def test_scroll_region_and_tabs_are_reset_as_before() -> None:
    m = model("\x1b[2;3r\x1b[?6h\x1b[3g\x1bHtext", cols=20, rows=5)
    resize(m, 30, 6)
    t = m.term
    assert (t.top, t.bottom) == (0, 5)
    assert t.origin  # (DECOM is the program's, as before; the region is reset)
    assert sorted(t.tabs) == [0, 24]  # (HTS at 0 kept, every 8th past the old width)


# -- history_total, the history limit, prompt marks ------------------------------------------

def test_history_total_moves_with_the_rows_and_comes_back() -> None:
    m = model(text_lines(30, 40), cols=40, rows=5)
    total = m.history_total
    assert total == 26
    resize(m, 20, 5)
    assert m.history_total == 26 * 2 + 4  # the history's rows at the new width, and the
    resize(m, 40, 5)  # rows the reflow pushed off the screen
    assert m.history_total == total


def test_scrollback_since_a_mark_is_exact_at_the_same_width() -> None:
    m = model(text_lines(30, 40), cols=40, rows=5)
    seen = m.history_total  # a terminal detaches here
    resize(m, 20, 5)
    m.feed(text_lines(4, 30, start=100).encode())
    resize(m, 40, 5)  # it comes back at its width: only the new rows are new
    assert m.history_total - seen == 4
    term = VtModel(40, 5, 100)
    term.feed(m.scrollback(seen, 100))
    assert term.capture(-4, -1) == text_lines(30, 40).split("\r\n")[26:30]


def test_scrollback_writes_nothing_while_the_counter_is_below_a_mark() -> None:
    m = model(text_lines(30, 40), cols=40, rows=5)
    resize(m, 20, 5)
    seen = m.history_total  # a terminal leaves while the session is narrow
    resize(m, 40, 5)  # rows come back from the history: the counter goes back too
    assert m.history_total < seen
    assert m.scrollback(seen, 100) == b""  # (what it saw is on the screen or was seen)
    resize(m, 20, 5)  # it comes back, at its width: the rows pushed since are new
    m.feed(text_lines(3, 40, start=100).encode())
    assert m.history_total - seen == 6
    assert m.scrollback(seen, 100) == m.scrollback(None, 6) != b""


def test_history_total_never_goes_below_what_left_the_history() -> None:
    m = model(text_lines(50, 40), cols=40, rows=5, history=10)
    dropped = m.history_total - m.history_size  # 36 rows dropped at the limit
    for width in (20, 13, 80, 40, 7):
        resize(m, width, 5)
        assert m.history_size <= 10
        assert m.history_total - m.history_size >= dropped


def test_the_history_limit_holds_while_narrowing() -> None:
    m = model(text_lines(40, 60), cols=60, rows=4, history=25)
    resize(m, 7, 4)
    assert m.history_size == 25
    joined = everything(m, join=True)
    assert joined[-4:] == [*text_lines(40, 60).split("\r\n")[37:40], ""]  # the newest kept


def test_no_history_no_count() -> None:
    m = model(text_lines(6, 30) + "$ ", cols=30, rows=4, history=0)
    resize(m, 10, 4)
    assert m.history_size == 0 and m.history_total == 0
    assert m.capture()[-1] == "$" and m.cursor() == (2, 3)
    resize(m, 30, 4)
    assert m.capture() == [text_lines(6, 30).split("\r\n")[5], "$", "", ""]
    assert m.cursor() == (2, 1)


def test_prompt_marks_move_with_their_rows() -> None:
    prompt = "\x1b]133;A\x1b\\$ "
    m = model(prompt + "echo " + "x" * 40 + "\r\n" + "x" * 40 + "\r\n" + prompt + "ls\r\nout\r\n"
              + prompt, cols=50, rows=8)
    marked = [m.capture(row, row)[0] for row in m.prompts()]
    assert marked == ["$ echo " + "x" * 40, "$ ls", "$"]
    for width in (10, 23, 70, 50):
        resize(m, width, 8)
        marked = [m.capture(row, m.rows, join=True)[0] for row in m.prompts()]
        assert marked == ["$ echo " + "x" * 40, "$ ls", "$"], width


# -- arbitrary streams, speed ------------------------------------------------------------------

_STREAM = st.lists(st.sampled_from([
    "word ", "日本", "e\u0301", "x" * 17, "\r\n", "\r", "\t", "\x08", "\x1b[A", "\x1b[3D",
    "\x1b[5C", "\x1b[K", "\x1b[2J", "\x1b[J", "\x1b[H", "\x1b[2;3H", "\x1b7", "\x1b8",
    "\x1b[?1049h", "\x1b[?1049l", "\x1b[?47h", "\x1b[?47l", "\x1b[2;4r", "\x1bM", "\x1b[3L",
    "\x1b[2M", "\x1b[4P", "\x1b[3@", "\x1b[?7l", "\x1b[?7h", "\x1b[31m", "\x1b[44m", "\x1b[0m",
    "\x1b]133;A\x1b\\", "\x1b[3J", "\x1bc", "\x1b[2X"]), max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(_STREAM, st.integers(1, 25), st.integers(1, 8),
       st.lists(st.tuples(st.integers(1, 40), st.integers(1, 10)), min_size=1, max_size=4),
       st.sampled_from([0, 3, 100]))
def test_any_state_resizes_cleanly(stream: str, cols: int, rows: int,
                                   sizes: list[tuple[int, int]], history: int) -> None:
    m = model(stream, cols, rows, history)
    for c, r in sizes:
        resize(m, c, r)
        assert not round_trip(m)
        m.feed(stream.encode())
        assert m.errors == 0
        check_invariants(m)
        t = m.term
        held = len(t.history) if history else 0
        assert all(-held <= row < r for row in m.prompts())


def test_a_full_history_of_wide_lines_reflows_fast() -> None:
    import copy

    data = "".join(f"\x1b[3{i % 8}m{i:05d}" + "y" * 190 + "\x1b[0mzzzzz\r\n" for i in range(2100))
    full = model(data, cols=200, rows=50, history=2000)
    assert full.history_size == 2000
    times = []
    for width in (80, 199, 300):
        m = copy.deepcopy(full)
        for w in (width, 200):
            start = time.perf_counter()
            resize(m, w, 50)
            times.append(time.perf_counter() - start)
        assert everything(m, join=True)[-3:-1] == [
            f"{i:05d}" + "y" * 190 + "zzzzz" for i in (2098, 2099)]
    assert max(times) < 0.5, times  # (20 to 40 ms each where this was written)


# -- against tmux ---------------------------------------------------------------------------------

TMUX_STREAM = (
    "".join(f"\x1b[3{i % 7 + 1}m{i:02d}:" + "abcdefghijklmnopqrstuvwxyz" * 5 + "\x1b[0m\r\n"
            for i in range(6))
    + "short line\r\n"
    + "wide 日本語の文字と" * 6 + "\r\n"
    + "".join(f"{i:02d}-" + "0123456789" * 12 + "\r\n" for i in range(6, 30))
    + "e\u0301 combining " * 8 + "\r\n"
    + "\x1b[1;44m bold on blue " * 7 + "\x1b[0m\r\n"
    + "$ echo " + "q" * 70
)


class _Tmux:
    """A private tmux server: its own -S socket, no configuration; closed by kill()."""

    def __init__(self, directory: str) -> None:
        self.socket = os.path.join(directory, "tmux.sock")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        self.env["LC_ALL"] = "C.UTF-8"

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", *args],
                                env=self.env, capture_output=True, text=True, timeout=5)
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env,
                       capture_output=True, timeout=5)


def _tmux_view(tmux: _Tmux) -> tuple[list[str], list[str], tuple[int, int], int]:
    rows = tmux("capture-pane", "-p", "-t", "s", "-S", "-").split("\n")[:-1]
    joined = tmux("capture-pane", "-p", "-J", "-t", "s", "-S", "-").split("\n")[:-1]
    x, y, held = tmux("display-message", "-p", "-t", "s",
                      "#{cursor_x} #{cursor_y} #{history_size}").split()
    return rows, [line.rstrip(" ") for line in joined], (int(x), int(y)), int(held)


def _vt_view(m: VtModel) -> tuple[list[str], list[str], tuple[int, int], int]:
    joined = ["".join(c for c, _ in line).rstrip(" ") for line in logical_lines(m)]
    return everything(m), joined, m.cursor(), m.history_size


@pytest.mark.timeout(60)
def test_the_same_rows_as_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    version = subprocess.run(["tmux", "-V"], capture_output=True, text=True,
                             timeout=5).stdout.strip()
    if version != "tmux 3.3a":
        pytest.skip(f"compared with tmux 3.3a (found {version})")
    sizes = [(40, 24), (100, 24), (33, 24), (80, 24), (23, 24), (80, 10), (120, 30), (80, 24),
             (81, 24), (79, 24), (80, 24)]
    with tempfile.TemporaryDirectory() as directory:
        data = os.path.join(directory, "data")
        with open(data, "w", encoding="utf-8") as f:
            f.write(TMUX_STREAM)
        tmux = _Tmux(directory)
        try:
            tmux("new-session", "-d", "-s", "s", "-x", "80", "-y", "24",
                 f"cat {data}; exec sleep 999")
            tmux("set-option", "-g", "window-size", "manual")
            wait_until(lambda: "q" * 70 in tmux("capture-pane", "-p", "-J", "-t", "s"),
                       what="the data")
            m = model(TMUX_STREAM, 80, 24, history=2000)
            assert _vt_view(m) == _tmux_view(tmux)
            for cols, rows in sizes:
                tmux("resize-window", "-t", "s", "-x", str(cols), "-y", str(rows))
                wait_until(lambda c=cols, r=rows: tmux("display-message", "-p", "-t", "s",
                                                       "#{pane_width}x#{pane_height}").strip()
                           == f"{c}x{r}", what=f"tmux at {cols}x{rows}")
                resize(m, cols, rows)
                assert _vt_view(m) == _tmux_view(tmux), (cols, rows)
        finally:
            tmux.kill()
