"""Skipping a flood's scrolled-away lines must leave exactly the state full feeding leaves."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from vtstate import diff, snapshot

from ptymux.term import ScreenModel, create_model
from ptymux.term.pyte_model import PyteModel
from ptymux.term.skip import count_lines, plan_skip
from ptymux.term.vt_model import VtModel

TEXT = st.text(alphabet="abc XYZ01\t\u3042\u00e9e\u0301", max_size=40)
SGR = st.sampled_from(["\x1b[0m", "\x1b[m", "\x1b[1;31m", "\x1b[38;5;208m", "\x1b[4:3m",
                       "\x1b[48;2;1;2;3m", "\x1b[7m", "\x1b[22;39m"])
OTHER = st.sampled_from(["\x1b[H", "\x1b]2;title\x07", "\x1b(0", "\x1b(B", "\x0e", "\x0f",
                         "\x1b[5;10r", "\x1b[r", "\x1b[6n", "\x1b[?1049h", "\x1b[?1049l",
                         "\x1b[2J", "\x08", "\x07", "\n", "\x1b[3A", "\x1b"])
# Mostly lines of text and SGR, as in a flood; sometimes anything else.
PLAIN = st.lists(st.one_of(TEXT, SGR), max_size=5).map("".join)
LINE = st.one_of(PLAIN, PLAIN, PLAIN, PLAIN,
                 st.lists(st.one_of(TEXT, SGR, OTHER), max_size=6).map("".join))


def _feed_with_skip(model: VtModel | PyteModel, data: bytes) -> int:
    consumed = model.skip(data)
    model.feed(data[consumed:])
    return consumed


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.tuples(LINE, st.integers(0, 9).map(bool)), min_size=1, max_size=150),
    cols=st.integers(5, 30),
    rows=st.integers(2, 8),
    history=st.integers(0, 15),
    prefix=LINE,
    repeat=st.integers(1, 30),
)
def test_skip_equals_feeding_everything(
    lines: list[tuple[str, bool]], cols: int, rows: int, history: int, prefix: str,
    repeat: int,
) -> None:
    if _check_skip(lines, cols, rows, history, prefix, repeat):
        event("skipped")


def _check_skip(
    lines: list[tuple[str, bool]], cols: int, rows: int, history: int, prefix: str,
    repeat: int,
) -> int:
    """Feed the flood with and without skipping; the states must agree. Returns how many
    bytes were skipped, so that a test can tell the comparison was not vacuous."""
    # Flood lines, some with other sequences mixed in; a bare LF where the flag says so.
    data = "".join(text + ("\r\n" if crlf else "\n") for text, crlf in lines) * repeat
    stream = (prefix + "\r\n" + data).encode()
    full = VtModel(cols, rows, history)
    full.feed(stream)
    skipped = VtModel(cols, rows, history)
    consumed = _feed_with_skip(skipped, stream)
    assert diff(snapshot(full), snapshot(skipped)) == []
    assert full.capture(-history - 1, rows, escapes=True) == skipped.capture(
        -history - 1, rows, escapes=True)
    assert skipped.history_total == full.history_total
    return consumed


@pytest.mark.parametrize(("cols", "rows", "history"), [(5, 2, 0), (12, 4, 3), (30, 8, 15)])
def test_the_property_really_skips(cols: int, rows: int, history: int) -> None:
    """The property above passes when nothing is skipped; here the same check, on floods of
    short lines of the kinds it draws (text, SGR, wide and combining characters, tabs, bare
    LFs), must skip part of them, and must not skip past a non-SGR sequence."""
    lines = [("abc \u3042\u00e9e\u0301", True), ("\x1b[1;31mXYZ\x1b[0m01", True),
             ("\t\x1b[38;5;208mab", False), ("", True)]
    consumed = _check_skip(lines, cols, rows, history, "p", 200)
    assert consumed > 1000
    with_other = [*lines, ("\x1b[H", True)]  # each repetition holds a cursor move
    assert _check_skip(with_other, cols, rows, history, "p", 200) == 0


def test_a_plain_flood_is_mostly_skipped() -> None:
    lines = b"".join(b"\x1b[3%dmline %d\x1b[0m tail\r\n" % (i % 8, i) for i in range(5000))
    model = VtModel(80, 24, 100)
    consumed = model.skip(lines)
    assert consumed > len(lines) * 0.9
    model.feed(lines[consumed:])
    reference = VtModel(80, 24, 100)
    reference.feed(lines)
    assert diff(snapshot(reference), snapshot(model)) == []
    assert model.capture(-100, 23, escapes=True) == reference.capture(-100, 23, escapes=True)


def test_nothing_is_skipped_past_a_query_or_inside_a_scroll_region() -> None:
    flood = b"".join(b"line %d\r\n" % i for i in range(3000))
    assert plan_skip(b"\x1b[6n" + flood, 4, 100) is not None  # the query is before start
    assert plan_skip(b"x\r\n" + flood[:100] + b"\x1b[6n" + flood[:1000], 3, 100) is None
    model = VtModel(80, 24, 100)
    model.feed(b"\x1b[5;10r")
    assert model.skip(flood) == len(b"line 0\r\n")  # only the first line, fed as usual
    pyte = PyteModel(80, 24, 100)
    assert pyte.skip(flood) > 0


def test_pen_crosses_the_cut() -> None:
    flood = b"\x1b[1;31m" + b"".join(b"line %d\r\n" % i for i in range(3000)) + b"\x1b[4mend"
    model = VtModel(40, 10, 50)
    reference = VtModel(40, 10, 50)
    reference.feed(b"x\r\n" + flood)
    assert _feed_with_skip(model, b"x\r\n" + flood) > 0
    assert diff(snapshot(reference), snapshot(model)) == []


# -- the lines a skipped part scrolls (history_total stays exact) ------------------------

def _models() -> list[str]:
    from ptymux.term.ghostty_model import available

    return ["vt", "pyte"] + (["ghostty"] if available() else [])


MODELS = _models()

# Text that wraps (long runs, wide and combining characters, TAB, BS), as the skippable part
# may hold it, with bare CRs and LFs, SGR, and now and then a byte that is not UTF-8.
PIECE = st.one_of(
    st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=90),
    st.text(alphabet="ab\t\b\x07\u3042\u00e9e\u0301\U0001f600|", max_size=30),
    st.sampled_from(["\r\n", "\r\n", "\n", "\r", "\x1b[1;31m", "\x1b[0m", "\x1b[38;5;208m"]),
).map(str.encode) | st.sampled_from([b"\xe6", b"\x97", b"\xff", "\u2500".encode() * 50])
SETUP = st.sampled_from([b"", b"\x1b[?7l", b"\x1b[20h", b"\x1b[3g\x1b[5G\x1bH\x1b[1G",
                         b"\x1b[3g\x1b[1G"])


def _one_row(kind: str, cols: int) -> ScreenModel:
    """A model one row high: every line feed and autowrap scrolls a row into its history."""
    return create_model(cols, 1, 10, kind)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(PIECE, max_size=40), cols=st.integers(2, 30), setup=SETUP,
       kind=st.sampled_from(MODELS))
def test_counted_lines_are_the_lines_feeding_scrolls(
    pieces: list[bytes], cols: int, setup: bytes, kind: str
) -> None:
    data = b"".join(pieces) + b"\r\n"  # (a skipped part ends so: no character cut short)
    model = _one_row(kind, cols)
    model.feed(setup)
    before = model.history_total
    rule = model._line_rule()
    assert rule is not None
    end, lines = count_lines(data, 0, len(data), rule)
    if end < len(data):
        event("stopped short")
        assert end == 0 or data[end - 2 : end] == b"\r\n"
    model.feed(data[:end])
    assert model.history_total - before == lines


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("line", [
    b"short line",
    b"x" * 100,  # wraps
    "\u65e5\u672c\u8a9e" .encode() * 15,  # wide characters, wrapping
    b"\x1b[1;31mred\x1b[0m " * 12,  # SGR, longer than the width in bytes only
    b"col\tumns\tand\ttabs\t" * 6,
])
def test_skip_counts_the_skipped_lines(kind: str, line: bytes) -> None:
    flood = b"".join(line + b" %d\r\n" % i for i in range(3000))
    full = create_model(40, 10, 50, kind)
    full.feed(b"x\r\n" + flood)
    skipped = create_model(40, 10, 50, kind)
    consumed = skipped.skip(b"x\r\n" + flood)
    skipped.feed((b"x\r\n" + flood)[consumed:])
    assert skipped.capture(-50, 9) == full.capture(-50, 9)
    assert skipped.history_total == full.history_total
    if kind == "vt" or line.isascii() and (kind == "ghostty" or b"\t" not in line):
        assert consumed > len(flood) // 2  # (else the part it cannot count is fed)


def test_c1_controls_in_utf8_end_the_skippable_part() -> None:
    flood = b"".join(b"line %d\r\n" % i for i in range(3000))
    nel = "\u0085".encode()
    assert plan_skip(b"x\r\n" + flood[:100] + nel + flood[:1000], 3, 100) is None


LONG_LINES = [
    b"x" * 4000,  # the bench's ticker: 100 rows of 40 each
    b"\x1b[1;32m" + b"word " * 300 + b"\x1b[0m",  # SGR: no cells
    b"a\tb\x07" * 400,  # TAB and BEL: counted as no cells (the fewest they can take)
    b"ok" * 30 + "\u00e9".encode() * 200,  # not ASCII: counted as one row
    b"over\rwritten " * 100,  # a CR inside: one row
]


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("line", LONG_LINES)
def test_a_flood_of_long_lines_keeps_rows_not_lines(kind: str, line: bytes) -> None:
    """Long lines count as the rows they wrap to: a flood of them is skipped down to the
    rows the model holds (it used to keep history + 2 screens of *lines*, ~8 MB of 4 KiB
    lines: nothing skipped), and what is left is exactly what feeding all of it leaves."""
    data = b"x\r\n" + b"".join(line + b" %d\r\n" % i for i in range(400))
    consumed = _skip_agrees(kind, data)
    if line.isascii() and b"\r" not in line and (kind != "pyte" or b"\t" not in line):
        assert consumed > len(data) * 0.9


@pytest.mark.parametrize("kind", MODELS)
def test_rows_are_counted_at_the_width_after_the_first_line(kind: str) -> None:
    """The first line is fed before the skip and may turn autowrap off: long lines are then
    one row each, and the plan made before it (at 40 columns) must not be used."""
    _skip_agrees(kind, b"\x1b[?7lfirst\r\n"
                 + b"".join(b"y" * 400 + b" %d\r\n" % i for i in range(300)))


def _skip_agrees(kind: str, data: bytes) -> int:
    """Feed ``data`` to a 40x10 model with 50 rows of history, skipping what it may, and to
    one that feeds it all: the screens, histories and counts must agree. Returns how many
    bytes the skip consumed."""
    full = create_model(40, 10, 50, kind)
    full.feed(data)
    skipped = create_model(40, 10, 50, kind)
    consumed = skipped.skip(data)
    skipped.feed(data[consumed:])
    assert skipped.capture(-50, 9, escapes=True) == full.capture(-50, 9, escapes=True)
    assert skipped.history_total == full.history_total
    return consumed
