"""The known gaps of issue 13, item 4, each against xterm's documented behaviour
(https://invisible-island.net/xterm/ctlseqs/ctlseqs.html), and each redrawn faithfully."""

from __future__ import annotations

import pytest
from vtstate import round_trip

from ptymux.term.vt import PROTECTED
from ptymux.term.vt_model import VtModel


def model(stream: bytes = b"", cols: int = 10, rows: int = 4) -> VtModel:
    m = VtModel(cols, rows, 100)
    m.feed(stream)
    return m


def screen(m: VtModel) -> list[str]:
    return ["".join(row.chars) for row in m.term.buf]


def cursor(m: VtModel) -> tuple[int, int]:
    return m.term.x, m.term.y


# -- 1. the saved cursor across the alternate screen ------------------------------------

def test_1049_saves_in_the_main_slot_and_decsc_in_the_alternate_one_is_separate() -> None:
    # ?1049h saves (DECSC) on the main screen; a DECSC on the alternate screen goes to the
    # alternate screen's own slot; ?1049l restores the main one.
    m = model(b"\x1b[2;3H\x1b[?1049h\x1b[4;9H\x1b7\x1b[1;1H\x1b[?1049l")
    assert cursor(m) == (2, 1)
    assert m.term.saved_alt.x == 8 and m.term.saved_alt.y == 3
    assert round_trip(m) == []


def test_47_and_1047_do_not_touch_the_saved_cursor() -> None:
    for mode in (47, 1047):
        m = model(b"\x1b[2;3H\x1b7\x1b[3;5H" + b"\x1b[?%dh\x1b[1;1H\x1b[?%dl" % (mode, mode))
        assert cursor(m) == (0, 0)  # not restored
        m.feed(b"\x1b8")
        assert cursor(m) == (2, 1)  # the main slot kept the program's own DECSC


def test_1049_while_already_on_the_alternate_screen() -> None:
    # xterm: 1049h saves the cursor (on the screen it is on) and clears, even without a
    # switch; 1049l restores from the main slot even when already on the main screen.
    m = model(b"\x1b[?47hjunk\x1b[2;4H\x1b[?1049h")
    assert m.term.in_alt and screen(m)[0].strip() == ""
    assert (m.term.saved_alt.x, m.term.saved_alt.y) == (3, 1)
    m = model(b"\x1b[3;6H\x1b7\x1b[H\x1b[?1049l")
    assert cursor(m) == (5, 2)


def test_1048_saves_and_restores_like_decsc() -> None:
    m = model(b"\x1b[3;4H\x1b[?1048h\x1b[H\x1b[?1048l")
    assert cursor(m) == (3, 2)


def test_decrc_in_origin_mode_stays_inside_the_current_margins() -> None:
    """xterm's CursorRestoreFlags: with DECOM restored set, the cursor is set relative to
    the current margins (CursorSet), so a position saved outside them is brought inside."""
    m = model(b"\x1b[2;4r\x1b[?6h\x1b[1;1H\x1b7\x1b[3;4r\x1b8X", cols=10, rows=6)
    assert cursor(m) == (1, 2) and screen(m)[2].startswith("X")
    m = model(b"\x1b[?69h\x1b[2;5s\x1b[?6h\x1b[1;1H\x1b7\x1b[4;8s\x1b8X", cols=10, rows=6)
    assert cursor(m) == (4, 0) and screen(m)[0][3] == "X"
    m = model(b"\x1b[2;4r\x1b[1;1H\x1b7\x1b[3;4r\x1b8X", cols=10, rows=6)  # no DECOM
    assert cursor(m) == (1, 0) and screen(m)[0].startswith("X")


# -- 2. selective erase -----------------------------------------------------------------

def test_decsca_protected_cells_survive_decsed_and_decsel_but_not_ed_el() -> None:
    m = model(b'ab\x1b[1"qCD\x1b[0"qef\r\nxy\x1b[1"qZ\x1b[2"qw')
    m.feed(b"\x1b[1;1H\x1b[?2K")
    assert screen(m)[0] == "  CD      "
    m.feed(b"\x1b[?2J")
    assert screen(m)[:2] == ["  CD      ", "  Z       "]
    m.feed(b"\x1b[1;1H\x1b[?0K\x1b[2;4H\x1b[?1J")
    assert screen(m)[:2] == ["  CD      ", "  Z       "]
    m.feed(b"\x1b[2K")  # EL is not selective (DECSCA mode, xterm)
    assert screen(m)[1] == " " * 10
    m.feed(b"\x1b[2J")
    assert screen(m)[0] == " " * 10


def test_sgr_0_keeps_protection_and_decstr_ends_it() -> None:
    m = model(b'\x1b[1"q\x1b[1;31m\x1b[0mA\x1b[mB')
    assert all(p.flags & PROTECTED for p in m.term.buf[0].pens[:2])
    assert m.capture(0, 0, escapes=True) == ["AB"]  # not an SGR attribute
    m.feed(b"\x1b[!pC")
    assert not m.term.buf[0].pens[2].flags & PROTECTED


def test_redraw_keeps_protection() -> None:
    m = model(b'ab\x1b[1"qCD\x1b[0"qef\x1b[1"q\x1b7\x1b[0"q\x1b[2;1Hx\x1b[1"q')
    copy = VtModel(10, 4, 100)
    copy.feed(m.redraw())
    assert round_trip(m) == []
    assert copy.term.pen.flags & PROTECTED and copy.term.saved_main.pen.flags & PROTECTED
    copy.feed(b"\x1b[?2J")
    assert screen(copy)[0] == "  CD      "
    assert m.leave().endswith(b'\x1b[0"q')


def test_no_decsca_in_a_redraw_for_a_program_that_never_used_it() -> None:
    assert b'"q' not in model(b"plain\x1b[?1049hx").redraw()


# -- 3. reverse wrap --------------------------------------------------------------------
# xterm's XTREVWRAP (libghostty-vt's tests, written against xterm, agree): BS and CUB go on
# to the end of the row above only when that row soft-wrapped into the cursor's.

def test_reverse_wrap_backspace_goes_to_the_wrapped_row_above() -> None:
    m = model(b"\x1b[?45h" + b"x" * 12 + b"\r\x08")
    assert cursor(m) == (9, 0)
    m.feed(b"\x08")  # an ordinary BS within the row
    assert cursor(m) == (8, 0)
    m = model(b"\x1b[?45h\x1b[H\x08")  # the top row: stays
    assert cursor(m) == (0, 0)


def test_reverse_wrap_stops_at_a_row_that_did_not_wrap() -> None:
    m = model(b"\x1b[?45habc\r\n\x08")
    assert cursor(m) == (0, 1)


def test_reverse_wrap_cub_crosses_several_wrapped_rows() -> None:
    m = model(b"\x1b[?45h" + b"x" * 25 + b"\x1b[16D")  # from (5, 2): 5 + 1 + 9 + 1
    assert cursor(m) == (9, 0)


def test_reverse_wrap_needs_autowrap_and_a_pending_wrap_uses_one_step() -> None:
    m = model(b"\x1b[?45h" + b"x" * 12 + b"\r\x1b[?7l\x08")
    assert cursor(m) == (0, 1)
    m = model(b"\x1b[?45h" + b"x" * 10 + b"\x08")
    assert cursor(m) == (9, 0) and not m.term.pending
    m.feed(b"X")
    assert screen(m)[0] == "x" * 9 + "X" and m.term.pending
    m = model(b"x" * 10 + b"\x08")  # without ?45: xterm moves left
    assert cursor(m) == (8, 0)


def test_reverse_wrap_stays_inside_the_scroll_region() -> None:
    m = model(b"\x1b[?45h\x1b[2;3r\x1b[2;1H" + b"x" * 12 + b"\r\x08")
    assert cursor(m) == (9, 1)
    m.feed(b"\x08" * 10 + b"\x08")
    assert cursor(m) == (0, 1)  # row 1 is the region's top


def test_reverse_wrap_is_redrawn_and_reported() -> None:
    m = model(b"\x1b[?45h\x1b[?45$p")
    assert m.take_replies() == b"\x1b[?45;1$y"
    assert round_trip(m) == []
    assert b"\x1b[?45l" in m.leave()


# Extended reverse wrap (?1045, xterm's XTREVWRAP2; libghostty-vt's reverse_wrap_extended):
# the row above is gone to whether or not it soft-wrapped, and from the top left corner of
# the scroll region on to its bottom right.

def test_extended_reverse_wrap_crosses_rows_that_did_not_wrap() -> None:
    m = model(b"\x1b[?1045habc\r\n\x08")
    assert cursor(m) == (9, 0)
    m = model(b"\x1b[?45habc\r\n\x08")  # (only ?45: stays, see above)
    assert cursor(m) == (0, 1)


def test_extended_reverse_wrap_goes_round_from_the_top_left_to_the_bottom_right() -> None:
    m = model(b"\x1b[?1045h\x1b[H\x08")
    assert cursor(m) == (9, 3)  # (model(): 10 columns, 4 rows)
    m = model(b"\x1b[?1045h\x1b[2;3r\x1b[2;1H\x08")  # inside a region: its bottom
    assert cursor(m) == (9, 2)
    m = model(b"\x1b[?1045h\x1b[H\x1b[40D")  # 40 steps: once round the 4 rows
    assert cursor(m) == (0, 0)
    m.feed(b"\x1b[21D")  # 1 to the bottom right, 9 along it, 1 up, 9, 1 up
    assert cursor(m) == (9, 1)


def test_extended_reverse_wrap_needs_autowrap_and_is_redrawn_reported_and_reset() -> None:
    m = model(b"\x1b[?1045h\x1b[?7labc\r\n\x08")
    assert cursor(m) == (0, 1)
    m = model(b"\x1b[?1045h\x1b[?1045$p")
    assert m.take_replies() == b"\x1b[?1045;1$y"
    assert round_trip(m) == []
    assert b"\x1b[?1045h" in m.redraw() and b"\x1b[?1045l" in m.leave()


# -- 4. 8-bit C1 controls in a UTF-8 session --------------------------------------------
# ctlseqs: "It is not possible to use a C1 control obtained from decoding the UTF-8 text";
# raw C1 bytes are badly-formed UTF-8. So in a UTF-8 session no C1 control acts.

@pytest.mark.parametrize("c1", ["\u0084", "\u0085", "\u0088", "\u008d", "\u0090", "\u009b",
                                "\u009c", "\u009d"])
def test_utf8_encoded_c1_code_points_are_ignored(c1: str) -> None:
    m = model(("\x1b[2;3H" + c1 + "1mX").encode())
    assert screen(m)[1] == "  1mX     "
    assert cursor(m) == (5, 1) and m.term.pen.flags == 0
    assert m.term.tabs == {8}


def test_raw_c1_bytes_are_invalid_utf8_drawn_as_replacement_characters() -> None:
    m = model(b"a\x85b\x9b1mc")
    assert screen(m)[0] == "a\ufffdb\ufffd1mc   "
    assert cursor(m) == (7, 0)


def test_an_osc_is_not_ended_by_an_encoded_st() -> None:
    m = model("\x1b]2;ti\u009ctle\x07ok".encode())
    assert screen(m)[0].startswith("ok")
    assert m.title == "title"  # (the code point, a control, is not kept in the title)


# -- 5. zero-width characters at the line end -------------------------------------------

@pytest.mark.parametrize("mark", ["\u0301", "\u200d", "\ufe0f"])
def test_zero_width_after_the_last_column_joins_it_and_keeps_the_pending_wrap(
    mark: str,
) -> None:
    m = model(("x" * 9 + "e" + mark).encode())
    assert m.term.buf[0].chars[9] == "e" + mark
    assert m.term.pending and cursor(m) == (9, 0)
    m.feed(b"Z")
    assert screen(m)[1].startswith("Z")
    assert round_trip(m) == []


def test_zero_width_after_a_wide_character_in_the_last_columns() -> None:
    m = model(("x" * 8 + "\u65e5\u200d").encode())
    assert m.term.buf[0].chars[8] == "\u65e5\u200d" and m.term.pending


def test_zero_width_at_the_start_of_a_row_joins_the_wrapped_row_above() -> None:
    m = model(("x" * 10 + "y").encode())
    m.feed(b"\x08\x08\xcc\x81")  # BS to column 0, then a combining mark: joins row 0's end
    assert m.term.buf[0].chars[9] == "x\u0301"


# -- 6. DECCOLM -------------------------------------------------------------------------

def test_deccolm_without_40_is_ignored() -> None:
    m = model(b"text\x1b[2;3r\x1b[3;4H\x1b[?3h")
    assert screen(m)[0].startswith("text") and cursor(m) == (3, 2)
    assert (m.term.top, m.term.bottom) == (1, 2)


@pytest.mark.parametrize("on", [b"h", b"l"])
def test_deccolm_with_40_clears_resets_margins_homes_but_keeps_the_width(on: bytes) -> None:
    m = model(b"\x1b[?40htext\x1b[2;3r\x1b[3;4H\x1b[?3" + on)
    assert screen(m) == [" " * 10] * 4
    assert cursor(m) == (0, 0) and (m.term.top, m.term.bottom) == (0, 3)
    assert m.cols == 10
    m.feed(b"\x1b[?3$p\x1b[?40$p")
    assert m.take_replies() == b"\x1b[?3;%d$y\x1b[?40;1$y" % (1 if on == b"h" else 2)
    # ?40 is redrawn: a later DECCOLM reaches every client raw, and a late attacher's
    # terminal must clear and home as the others' do.
    assert b"\x1b[?40h" in m.redraw()
    assert b"?40h" not in model(b"\x1b[?3h").redraw()
