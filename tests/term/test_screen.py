"""Emulator semantics: alternate screen, history, capture, attributes, pyte's known gaps."""

from __future__ import annotations

import tracemalloc

import pytest

from ptymux.term import create_model
from ptymux.term.vt import BOLD, DEFAULT, DIM, HIDDEN, OVERLINE, Pen, apply_sgr
from ptymux.term.vt_model import VtModel


def model(stream: bytes = b"", cols: int = 20, rows: int = 5, history: int = 100) -> VtModel:
    m = VtModel(cols, rows, history)
    m.feed(stream)
    assert m.errors == 0
    return m


def lines(n: int) -> bytes:
    return b"".join(b"line %d\r\n" % i for i in range(n))


# -- alternate screen -------------------------------------------------------------------

@pytest.mark.parametrize("mode", [47, 1047, 1049])
def test_alt_screen_keeps_main_screen(mode: int) -> None:
    m = model(b"main one\r\nmain two" + b"\x1b[?%dh" % mode + b"\x1b[Halt" + lines(10))
    assert m.alternate_screen
    assert "main one" not in m.capture()
    m.feed(b"\x1b[?%dl" % mode)
    assert not m.alternate_screen
    assert m.capture()[:2] == ["main one", "main two"]


def test_1049_saves_and_restores_cursor() -> None:
    m = model(b"abc\x1b[2;5H\x1b[?1049h\x1b[4;1Hxyz")
    assert m.cursor() == (3, 3)
    m.feed(b"\x1b[?1049l")
    assert m.cursor() == (4, 1)


def test_1049_clears_alt_screen_on_entry() -> None:
    m = model(b"\x1b[?1049hold\x1b[?1049l\x1b[?1049h")
    assert m.capture() == [""] * 5


def test_alt_screen_output_not_in_history() -> None:
    m = model(b"\x1b[?1049h" + lines(30) + b"\x1b[?1049l")
    assert m.history_size == 0
    m = model(lines(30))
    assert m.history_size == 26


def test_decsc_per_screen() -> None:
    m = model(b"\x1b[2;2H\x1b7\x1b[?1047h\x1b[4;4H\x1b7\x1b[1;1H\x1b8")
    assert m.cursor() == (3, 3)
    m.feed(b"\x1b[?1047l\x1b8")
    assert m.cursor() == (1, 1)


def test_leave() -> None:
    assert model(b"hello").leave() == b""
    m = model(b"\x1b[2;4r\x1b[?6h\x1b[2;3H")
    assert m.leave() == b"\x1b[?6l\x1b[r\x1b[3;3H"
    m = model(b"ab\x1b[?1049h\x1b[4;4H")
    assert m.leave() == b"\x1b[?1049l\x1b[?6l\x1b[r\x1b[1;3H"
    client = model(m.redraw())
    client.feed(m.leave())
    assert not client.alternate_screen and client.cursor() == (2, 0)
    assert client.capture()[0] == "ab"


# -- history ----------------------------------------------------------------------------

def test_history_limit_and_order() -> None:
    m = model(lines(300), history=100)
    assert m.history_size == 100
    assert m.capture(-100, -100) == ["line 196"]
    assert m.capture(-1, -1) == ["line 295"]


def test_partial_scroll_region_not_in_history() -> None:
    m = model(b"\x1b[2;4r\x1b[4;1H" + lines(20))
    assert m.history_size == 0
    m = model(b"\x1b[1;4r\x1b[4;1H" + lines(20))  # top margin 0, but not the full screen
    assert m.history_size == 0


def test_su_scrolls_into_history() -> None:
    m = model(b"top\x1b[2S")
    assert m.history_size == 2
    assert m.capture(-2, -2) == ["top"]


def test_ed3_clears_history() -> None:
    m = model(lines(20) + b"\x1b[3J")
    assert m.history_size == 0


def test_history_is_compact() -> None:
    row = b"\x1b[1;31m" + b"r" * 20 + b"\x1b[0m" + b"x" * 40 + b"\x1b[38;5;100m" + b"y" * 20
    stream = b"".join(row + b"\r\n" for _ in range(2100))
    m = VtModel(80, 24, 2000)
    m.feed(stream[: len(stream) // 2])
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    m.feed(stream[len(stream) // 2 :])
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert m.history_size == 2000
    per_cell = grown / (1050 * 80)  # the second half's 1050 lines of 80 cells
    # pyte keeps a Char per cell (~160 bytes); a history line here is text plus 3 spans.
    assert per_cell < 8, per_cell
    assert m.capture(-1, -1, escapes=True) == [
        "\x1b[0;1;31m" + "r" * 20 + "\x1b[0m" + "x" * 40 + "\x1b[0;38;5;100m" + "y" * 20
        + "\x1b[0m"
    ]


# -- capture ----------------------------------------------------------------------------

def test_capture_ranges() -> None:
    m = model(lines(12))  # 8 lines in history, screen: line 8..11, ""
    assert m.capture() == ["line 8", "line 9", "line 10", "line 11", ""]
    assert m.capture(-2) == ["line 6", "line 7", "line 8", "line 9", "line 10", "line 11", ""]
    assert m.capture(-1000, -7) == ["line 0", "line 1"]
    assert m.capture(1, 2) == ["line 9", "line 10"]
    assert m.capture(2, 1) == ["line 9", "line 10"]
    assert m.capture(3, 100) == ["line 11", ""]


def test_capture_join_wrapped() -> None:
    m = model(b"a" * 25 + b"\r\nshort\r\n" + b"b" * 20 + b"c")
    assert m.capture(0, 3) == ["a" * 20, "aaaaa", "short", "b" * 20]
    assert m.capture(0, 3, join=True) == ["a" * 25, "short", "b" * 20]
    assert m.capture(0, 4, join=True) == ["a" * 25, "short", "b" * 20 + "c"]
    # a wrapped row that has scrolled into history still joins
    m.feed(lines(6))
    assert m.capture(-6, -5, join=True) == ["a" * 25]


def test_capture_join_keeps_spaces_at_the_wrap() -> None:
    m = model(b"x" * 15 + b"     yy")
    assert m.capture(0, 1, join=True) == ["x" * 15 + "     yy"]


def test_capture_escapes() -> None:
    m = model(b"\x1b[1mbold\x1b[22m plain \x1b[38;2;1;2;3mrgb\x1b[0m   ")
    assert m.capture(0, 0) == ["bold plain rgb"]
    assert m.capture(0, 0, escapes=True) == [
        "\x1b[0;1mbold\x1b[0m plain \x1b[0;38;2;1;2;3mrgb\x1b[0m"
    ]


def test_capture_wide_and_combining() -> None:
    m = model("日本語 e\u0301 ｗ".encode())
    assert m.capture(0, 0) == ["日本語 e\u0301 ｗ"]  # kept as sent, not normalised


# -- attributes -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("params", "pen"),
    [
        ("1;2;8;53", Pen(BOLD | DIM | HIDDEN | OVERLINE)),
        ("31", Pen(fg="31")),
        ("38;5;1", Pen(fg="38;5;1")),
        ("38;2;10;20;30", Pen(fg="38;2;10;20;30")),
        ("38:2::10:20:30", Pen(fg="38:2::10:20:30")),
        ("38:2:10:20:30", Pen(fg="38:2::10:20:30")),
        ("48:5:200", Pen(bg="48:5:200")),
        ("4:3;58:2::1:2:3", Pen(ul="4:3", uc="58:2::1:2:3")),
        ("21", Pen(ul="21")),
        ("4;24", DEFAULT),
        ("1;2;22", DEFAULT),
        ("38;5;300;1", Pen(BOLD)),
        ("", DEFAULT),
        (";1", Pen(BOLD)),
        ("97;107", Pen(fg="97", bg="107")),
    ],
)
def test_sgr(params: str, pen: Pen) -> None:
    assert apply_sgr(DEFAULT, params) == pen


def test_colours_emitted_as_chosen() -> None:
    m = model(b"\x1b[33ma\x1b[38;5;3mb\x1b[38;2;205;205;0mc\x1b[93md", cols=10)
    assert m.capture(0, 0, escapes=True) == [
        "\x1b[0;33ma\x1b[0;38;5;3mb\x1b[0;38;2;205;205;0mc\x1b[0;93md\x1b[0m"
    ]


def test_erase_uses_background() -> None:
    m = model(b"\x1b[44m\x1b[2J\x1b[0mx", cols=4, rows=2)
    assert m.capture(1, 1, escapes=True) == ["\x1b[0;44m    \x1b[0m"]
    assert m.term.buf[0].pens[0] == DEFAULT and m.term.buf[0].pens[1] == Pen(bg="44")


# -- pyte's known gaps (design/emulator-notes.md) ----------------------------------------

def test_stray_control_inside_text() -> None:
    assert model(b"ab\x01cd\x7fef").capture(0, 0) == ["abcdef"]


def test_wide_char_at_last_column_wraps() -> None:
    m = model(b"x" * 19 + "字".encode())
    assert m.capture(0, 1) == ["x" * 19, "字"]
    assert m.cursor() == (2, 1)


def test_overwriting_half_a_wide_char() -> None:
    m = model("あB\rX".encode())
    assert m.capture(0, 0) == ["X B"]
    m = model("あい\x1b[2GZ".encode())
    assert m.capture(0, 0) == [" Zい"]


def test_vs16_and_zwj_keep_the_rest_of_the_run() -> None:
    m = model("❤\ufe0f ok \U0001f468\u200d\U0001f469 end".encode(), cols=30)
    assert m.capture(0, 0)[0].endswith(" end")
    assert "ok" in m.capture(0, 0)[0]


@pytest.mark.parametrize(
    "stream",
    [b"\x1b[?6n", b"\x1b[?4m", b"\x1b[>4;2m", b"\x1b[=c", b"\x1b[!p",
     b"\x1bPq#0;2;0;0;0#1~~@@vv\x1b\\", b"\x1b_Gf=24;AAAA\x1b\\", b"\x1b^pm\x1b\\",
     b"\x1b]133;A\x07", b"\x1b]8;;http://x\x1b\\", b"\x1b]52;c;aGk=\x07", b"\x1b[1:2:3m"],
)
def test_junk_does_not_print_or_raise(stream: bytes) -> None:
    m = model(b"A" + stream + b"B")
    assert m.capture(0, 0)[0].replace(" ", "") == "AB"
    assert m.term.pen.ul == ""


def test_empty_trailing_parameter() -> None:
    m = model(b"abcdef\x1b[3;D\x1b[2;X")
    assert m.capture(0, 0) == ["abc  f"]
    assert m.cursor() == (3, 0)


def test_osc_numbers_parsed_fully() -> None:
    m = model(b"\x1b]133;A\x07\x1b]2;the title\x1b\\\x1b]1;icon\x07")
    assert m.title == "the title" and m.icon_name == "icon"
    m.feed(b"\x1b]0;both\x07")
    assert m.title == m.icon_name == "both"


def test_title_split_across_feeds() -> None:
    m = model(b"\x1b]2;spl")
    m.feed(b"it\x07")
    assert m.title == "split"


def test_su_sd_rep_cht_cbt_scosc() -> None:
    m = model(b"a\r\nb\r\nc\x1b[S", rows=3)
    assert m.capture() == ["b", "c", ""]
    m.feed(b"\x1b[T")
    assert m.capture() == ["", "b", "c"]
    assert model(b"x\x1b[3b").capture(0, 0) == ["xxxx"]
    assert model(b"\x1b[2Ix\x1b[2Zy", cols=30).capture(0, 0) == ["        y       x"]
    m = model(b"\x1b[2;3H\x1b[s\x1b[5;5H\x1b[u")
    assert m.cursor() == (2, 1)


def test_decsc_is_one_slot_not_a_stack() -> None:
    m = model(b"\x1b[2;2H\x1b7" + b"\x1b[3;3H\x1b7" * 100000 + b"\x1b8\x1b8")
    assert m.cursor() == (2, 2)


def test_mode_collisions() -> None:
    m = model(b"\x1b[32h")  # a non-private mode 32 is not DECCKM
    assert 1 not in m.term.flags


def test_dec_graphics() -> None:
    m = model(b"\x1b(0lqk\x1b(B lqk \x1b)0\x0eq\x0fq")
    assert m.capture(0, 0) == ["┌─┐ lqk ─q"]


def test_resize_keeps_content_and_history() -> None:
    m = model(lines(4), cols=20, rows=5)  # cursor on row 4
    m.resize(10, 3)
    assert m.capture() == ["line 2", "line 3", ""]
    assert m.capture(-2, -1) == ["line 0", "line 1"]
    m.resize(30, 6)  # taller: the rows the history took come back first (tmux's rule)
    assert m.capture() == ["line 0", "line 1", "line 2", "line 3", "", ""]
    assert m.history_size == 0
    assert m.cols == 30 and m.rows == 6


def test_create_model_picks_the_model() -> None:
    from ptymux.term.ghostty_model import GhosttyModel, available
    from ptymux.term.pyte_model import PyteModel

    native = GhosttyModel if available() else VtModel  # vt where pyghostty cannot load
    assert type(create_model(80, 24, 10)) is VtModel
    assert type(create_model(80, 24, 10, "ghostty")) is native
    assert type(create_model(80, 24, 10, "vt")) is VtModel
    assert type(create_model(80, 24, 10, "pyte")) is PyteModel
