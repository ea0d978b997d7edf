"""Left/right margins: DECLRMM (``CSI ? 69 h/l``) and DECSLRM (``CSI Pl ; Pr s``), as xterm
has them (ctlseqs; charproc.c, util.c, cursor.c, tabs.c: the function named in each
comment). The screens below are 10 columns wide unless said; with ``MARGINS`` set the
margins are the columns 3 to 6 (1-based), 2 to 5 as the model counts."""

from __future__ import annotations

import pytest
from vtstate import round_trip, snapshot

from ptymux.term import create_model, ghostty_model
from ptymux.term.vt_model import VtModel

MARGINS = b"\x1b[?69h\x1b[3;6s"
DIGITS = b"0123456789"
# Four rows of ten letters, A to D, and the cursor home: what scrolls shows which row it was.
LETTERS = b"\r\n".join(bytes([ord("A") + y]) * 10 for y in range(4)) + b"\x1b[H"


def model(data: bytes, cols: int = 10, rows: int = 4, history: int = 100) -> VtModel:
    m = VtModel(cols, rows, history)
    m.feed(data)
    assert m.errors == 0
    return m


def screen(m: VtModel) -> list[str]:
    return m.capture()


def margins(m: VtModel) -> tuple[bool, int, int]:
    t = m.term
    return t.left_right_mode, t.left, t.right


# -- CSI s: SCOSC or DECSLRM ---------------------------------------------------------------


def test_csi_s_saves_the_cursor_without_declrmm() -> None:
    # xterm CASE_ANSI_SC: without DECLRMM, CSI s is SCOSC (save cursor), CSI u restores
    m = model(b"\x1b[2;3H\x1b[s\x1b[4;5H\x1b[u")
    assert m.cursor() == (2, 1)
    assert margins(m) == (False, 0, 9)


def test_csi_s_with_parameters_is_ignored_without_declrmm() -> None:
    # xterm: SCOSC only when the sequence has no parameter (only_default()); with one it
    # is neither a save nor a DECSLRM (margins need DECLRMM)
    m = model(b"\x1b[2;3H\x1b7\x1b[4;5H\x1b[3;6s\x1b8")
    assert m.cursor() == (2, 1)  # the DECSC slot was not overwritten
    assert margins(m) == (False, 0, 9)


def test_decslrm_sets_the_margins_and_homes_the_cursor() -> None:
    # xterm CASE_ANSI_SC with DECLRMM: set_lr_margins, then CursorSet(0, 0): home
    m = model(b"\x1b[4;4H\x1b7\x1b[2;3H" + MARGINS)
    assert margins(m) == (True, 2, 5)
    assert m.cursor() == (0, 0)
    m.feed(b"\x1b8")  # and CSI s did not save the cursor (the slot is ESC 7's)
    assert m.cursor() == (3, 3)


@pytest.mark.parametrize(("seq", "expected"), [
    (b"\x1b[6;3s", (2, 5)),  # left after right: ignored
    (b"\x1b[4;4s", (2, 5)),  # one column: ignored (xterm: "if (right > left)")
    (b"\x1b[4;99s", (3, 9)),  # a right margin past the screen: the last column
    (b"\x1b[4s", (3, 9)),  # no right margin: the last column
    (b"\x1b[;5s", (0, 4)),  # no left margin: the first column
    (b"\x1b[s", (0, 9)),  # none: the whole width
])
def test_decslrm_parameters(seq: bytes, expected: tuple[int, int]) -> None:
    m = model(MARGINS + b"\x1b[3;8H" + seq)
    assert margins(m) == (True, *expected)
    # an ignored DECSLRM does not move the cursor either
    assert m.cursor() == ((7, 2) if expected == (2, 5) else (0, 0))


def test_decrqm_reports_declrmm() -> None:
    # DECRQM (CSI ? 69 $ p): 1 set, 2 reset
    m = model(b"\x1b[?69$p\x1b[?69h\x1b[?69$p")
    assert m.take_replies() == b"\x1b[?69;2$y\x1b[?69;1$y"


# -- printing and autowrap -------------------------------------------------------------------


def test_text_wraps_at_the_right_margin_to_the_left_margin() -> None:
    # xterm dotext/WrapLine: the right margin is where text wraps, to the left margin of
    # the next row
    m = model(MARGINS + b"\x1b[1;3Habcd")
    assert m.cursor() == (5, 0) and m.term.pending  # a wrap pending at the right margin
    m.feed(b"efghij")
    assert screen(m) == ["  abcd", "  efgh", "  ij", ""]
    assert m.cursor() == (4, 2)


def test_text_left_of_the_left_margin_wraps_at_the_right_margin() -> None:
    # xterm dotext: the right margin counts for a cursor left of it too
    m = model(MARGINS + b"abcdefgh")
    assert screen(m) == ["abcdef", "  gh", "", ""]


def test_text_right_of_the_right_margin_wraps_at_the_screen_edge() -> None:
    # xterm dotext: "the right-margin is ineffective until the text (may) wrap and get
    # within the margins": from outside it, text goes to the last column, then wraps to
    # the left margin
    m = model(MARGINS + b"\x1b[1;8Hwxyz")
    assert screen(m) == ["       wxy", "  z", "", ""]


def test_autowrap_off_overwrites_the_right_margin() -> None:
    # xterm dotext without WRAPAROUND: the last character is written at the margin
    m = model(MARGINS + b"\x1b[?7l\x1b[1;3Habcdefg")
    assert screen(m) == ["  abcg", "", "", ""]
    assert m.cursor() == (5, 0)


def test_a_margin_wrap_does_not_mark_the_row_as_continued() -> None:
    # (deliberately as libghostty-vt, not xterm: a row is marked wrapped only when text
    # left it at the screen's last column; reflow and capture -J then keep the text that
    # wrapped inside the margins apart from the rest of the row)
    m = model(MARGINS + b"\x1b[1;3Habcdef\x1b[3;8Hwxyz")
    rows = m.term.buf
    assert not rows[0].wrapped
    assert rows[2].wrapped and not rows[3].wrapped


def test_a_wide_character_at_the_right_margin_wraps_whole() -> None:
    # as at the right edge (xterm dotext's force_wrap): the cell it does not fit in is
    # left as it was, the character goes to the left margin of the next row
    m = model(DIGITS + MARGINS + b"\x1b[1;3Habc" + "日".encode())
    assert screen(m) == ["01abc56789", "  日", "", ""]
    assert m.cursor() == (4, 1)


def test_insert_mode_shifts_up_to_the_right_margin() -> None:
    # xterm WriteText in insert mode: InsertChar, which shifts within the margins
    m = model(DIGITS + MARGINS + b"\x1b[4h\x1b[1;4Hx")
    assert screen(m) == ["012x346789", "", "", ""]


# -- horizontal moves ------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "cr_to"), [(5, 2), (3, 2), (2, 2), (1, 0), (8, 2)])
def test_carriage_return(start: int, cr_to: int) -> None:
    # xterm CarriageReturn: to the left margin, but to column 0 from left of it
    m = model(MARGINS + f"\x1b[2;{start + 1}H\r".encode())
    assert m.cursor() == (cr_to, 1)


def test_carriage_return_in_origin_mode_goes_to_the_left_margin() -> None:
    # xterm CarriageReturn: with DECOM, always the left margin
    m = model(MARGINS + b"\x1b[?6h\x1b[2;3H\r")
    assert m.cursor() == (2, 1)


def test_cuf_and_cub_stop_at_the_margins() -> None:
    # xterm CursorForward / CursorBack: the margin from inside, the screen's edge from
    # outside
    assert model(MARGINS + b"\x1b[1;4H\x1b[20C").cursor() == (5, 0)
    assert model(MARGINS + b"\x1b[1;8H\x1b[20C").cursor() == (9, 0)
    assert model(MARGINS + b"\x1b[1;5H\x1b[20D").cursor() == (2, 0)
    assert model(MARGINS + b"\x1b[1;2H\x1b[20D").cursor() == (0, 0)
    assert model(MARGINS + b"\x1b[1;5H\x08\x08\x08\x08").cursor() == (2, 0)


def test_tab_stops_at_the_right_margin() -> None:
    # xterm TabToNextStop: not past the right margin (the stop at column 8 is past it)
    m = model(MARGINS + b"\x1b[1;3H\t")
    assert m.cursor() == (5, 0)
    m = model(MARGINS + b"\x1b[1;3H\x1b[3I")  # CHT too
    assert m.cursor() == (5, 0)


def test_tab_right_of_the_right_margin_goes_to_the_last_column() -> None:
    # (deliberate: as CUF, the screen's edge from right of the margin; xterm goes back to
    # the right margin, libghostty-vt stays)
    m = model(b"\x1b[?69h\x1b[1;4s\x1b[1;6H\t", cols=12)
    assert m.cursor() == (8, 0)
    m.feed(b"\t")
    assert m.cursor() == (11, 0)


def test_cbt_in_origin_mode_stops_at_the_left_margin() -> None:
    # xterm TabToPrevStop: with DECOM, not left of the left margin
    m = model(b"\x1b[?69h\x1b[3;20s\x1b[?6h\x1b[1;5H\x1b[Z", cols=20)
    assert m.cursor() == (2, 0)
    m = model(b"\x1b[?69h\x1b[3;20s\x1b[1;5H\x1b[Z", cols=20)  # without DECOM: column 0
    assert m.cursor() == (0, 0)


def test_reverse_wrap_goes_from_the_left_margin_to_the_right_margin() -> None:
    # xterm CursorBack with reverse wrap: the left margin is the edge it wraps at, and it
    # goes on to the right margin of the row above: with ?45 when that row wrapped (here
    # at the screen's edge, the right margin), with ?1045 whatever the row above
    m = model(b"\x1b[?69h\x1b[3;12s\x1b[?45h\x1b[1;3H" + b"x" * 12 + b"\x1b[2;3H\x08", cols=12)
    assert m.cursor() == (11, 0)
    m = model(b"\x1b[?69h\x1b[3;10s\x1b[?1045h\x1b[2;3H\x08", cols=12)
    assert m.cursor() == (9, 0)
    # (a row that wrapped at a right margin inside the screen is not marked as wrapped,
    # see above: ?45 stops at the left margin there)
    m = model(b"\x1b[?69h\x1b[3;10s\x1b[?45h\x1b[1;3H" + b"x" * 10 + b"\x1b[2;3H\x08", cols=12)
    assert m.cursor() == (2, 1)


# -- origin mode and positioning -------------------------------------------------------------


def test_origin_mode_counts_from_the_margins_corner() -> None:
    # xterm CursorSet with ORIGIN: relative to the top left corner of the margins, and
    # clamped to them (CUP, HVP, CHA/HPA); CPR reports relative to it too
    base = MARGINS + b"\x1b[2;4r\x1b[?6h"
    assert model(base).cursor() == (2, 1)  # ?6h homes to the corner
    assert model(base + b"\x1b[2;3H").cursor() == (4, 2)
    assert model(base + b"\x1b[2;3f").cursor() == (4, 2)
    assert model(base + b"\x1b[99;99H").cursor() == (5, 3)
    assert model(base + b"\x1b[3G").cursor() == (4, 1)
    assert model(base + b"\x1b[9`").cursor() == (5, 1)
    m = model(base + b"\x1b[2;3H\x1b[6n")
    assert m.take_replies() == b"\x1b[2;3R"


def test_without_origin_mode_positions_are_absolute() -> None:
    # the margins do not change CUP without DECOM
    assert model(MARGINS + b"\x1b[2;9H").cursor() == (8, 1)
    assert model(MARGINS + b"\x1b[9G").cursor() == (8, 0)


def test_decslrm_homes_to_the_margins_corner_in_origin_mode() -> None:
    # xterm: CursorSet(0, 0, flags) after set_lr_margins
    m = model(b"\x1b[2;3r\x1b[?6h\x1b[?69h\x1b[4;7s")
    assert m.cursor() == (3, 1)


# -- scrolling -------------------------------------------------------------------------------


def test_lf_at_the_bottom_scrolls_the_rectangle_only() -> None:
    # xterm xtermIndex -> xtermScroll -> scrollInMargins: only the cells between the
    # margins move; the rest of each row stays
    m = model(LETTERS + MARGINS + b"\x1b[4;3H\n")
    assert screen(m) == ["AABBBBAAAA", "BBCCCCBBBB", "CCDDDDCCCC", "DD    DDDD"]
    assert m.cursor() == (2, 3)


def test_a_rectangle_scroll_puts_nothing_in_the_history() -> None:
    # xterm/tmux: only scrolls of whole rows go into the saved lines
    m = model(LETTERS + MARGINS + b"\x1b[4;3H\n\n\x1bD\x1bE\x1b[2S")
    assert m.history_size == 0 and m.history_total == 0
    full = model(LETTERS + b"\x1b[4;3H\n")  # (without margins it does)
    assert full.history_size == 1


def test_a_full_width_scroll_with_declrmm_set_still_feeds_the_history() -> None:
    # ?69 with the margins at the screen's edges scrolls whole rows
    m = model(LETTERS + b"\x1b[?69h\x1b[4;3H\n")
    assert m.history_size == 1
    assert screen(m)[0] == "BBBBBBBBBB"


def test_lf_outside_the_margins_does_not_scroll() -> None:
    # xterm xtermIndex: outside the left/right margins it is only a cursor down, which
    # stops at the bottom margin
    m = model(LETTERS + MARGINS + b"\x1b[4;8H\n")
    assert screen(m) == ["AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD"]
    assert m.cursor() == (7, 3)


def test_nel_scrolls_and_goes_to_the_left_margin() -> None:
    # xterm CASE_NEL: xtermIndex, then CarriageReturn (the left margin)
    m = model(LETTERS + MARGINS + b"\x1b[4;5H\x1bE")
    assert screen(m)[3] == "DD    DDDD"
    assert m.cursor() == (2, 3)


def test_ri_at_the_top_scrolls_the_rectangle_down() -> None:
    # xterm RevIndex -> RevScroll -> scrollInMargins
    m = model(LETTERS + MARGINS + b"\x1b[1;4H\x1bM")
    assert screen(m) == ["AA    AAAA", "BBAAAABBBB", "CCBBBBCCCC", "DDCCCCDDDD"]
    m = model(LETTERS + MARGINS + b"\x1b[1;9H\x1bM")  # outside the margins: nothing
    assert screen(m)[0] == "AAAAAAAAAA"


def test_scrolling_stays_inside_the_scroll_region_too() -> None:
    # top/bottom and left/right margins together: the rectangle is their intersection
    m = model(LETTERS + MARGINS + b"\x1b[2;3r\x1b[3;4H\n")
    assert screen(m) == ["AAAAAAAAAA", "BBCCCCBBBB", "CC    CCCC", "DDDDDDDDDD"]


def test_su_and_sd_scroll_the_rectangle() -> None:
    # xterm CASE_SU / CASE_SD: xtermScroll / RevScroll, wherever the cursor is
    m = model(LETTERS + MARGINS + b"\x1b[1;9H\x1b[2S")
    assert screen(m) == ["AACCCCAAAA", "BBDDDDBBBB", "CC    CCCC", "DD    DDDD"]
    m = model(LETTERS + MARGINS + b"\x1b[T")
    assert screen(m) == ["AA    AAAA", "BBAAAABBBB", "CCBBBBCCCC", "DDCCCCDDDD"]


def test_the_freed_cells_take_the_background_colour() -> None:
    # scrolled-in cells are erased with the current background (BCE), as a full scroll's
    m = model(LETTERS + MARGINS + b"\x1b[44m\x1b[S")
    row = m.term.buf[3]
    assert row.pens[2].bg == row.pens[5].bg != row.pens[6].bg


def test_a_wide_character_cut_by_a_margin_is_blanked_when_scrolled() -> None:
    # xterm scrollInMargins: a two-cell character that a margin splits is cleared first
    data = b"\x1b[2;2H" + "日".encode() + b"\x1b[2;6H" + "本".encode()  # at 1-2 and 5-6
    m = model(data + MARGINS + b"\x1b[S")
    assert screen(m) == ["", "", "", ""]  # both halves gone, nothing moved half


def test_il_and_dl_inside_the_margins() -> None:
    # xterm InsertLine / DeleteLine: in the margins' columns only, the cursor to the
    # left margin; nothing when the cursor is outside the left/right margins
    m = model(LETTERS + MARGINS + b"\x1b[2;5H\x1b[L")
    assert screen(m) == ["AAAAAAAAAA", "BB    BBBB", "CCBBBBCCCC", "DDCCCCDDDD"]
    assert m.cursor() == (2, 1)
    m = model(LETTERS + MARGINS + b"\x1b[2;5H\x1b[M")
    assert screen(m) == ["AAAAAAAAAA", "BBCCCCBBBB", "CCDDDDCCCC", "DD    DDDD"]
    m = model(LETTERS + MARGINS + b"\x1b[2;2H\x1b[L\x1b[M")
    assert screen(m) == ["AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD"]
    assert m.cursor() == (1, 1)


def test_ich_and_dch_stop_at_the_right_margin() -> None:
    # xterm InsertChar / DeleteChar (ScrnInsertChar, ScrnDeleteChar): the cells up to the
    # right margin shift; outside the margins nothing happens
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;4H\x1b[@"))[0] == "012 346789"
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;4H\x1b[9@"))[0] == "012   6789"
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;4H\x1b[P"))[0] == "01245 6789"
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;8H\x1b[@\x1b[P"))[0] == "0123456789"
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;2H\x1b[@\x1b[P"))[0] == "0123456789"


def test_ech_ignores_the_margins() -> None:
    # xterm do_erase_char: ECH is not bounded by the margins
    assert screen(model(DIGITS + MARGINS + b"\x1b[1;5H\x1b[5X"))[0] == "0123     9"


def test_decic_and_decdc_shift_columns_inside_the_margins() -> None:
    # xterm xtermColScroll: columns from the cursor to the right margin, in every row of
    # the scroll region, only when the cursor is inside the margins
    m = model(LETTERS + MARGINS + b"\x1b[2;3r\x1b[2;4H\x1b[2'}")
    assert screen(m) == ["AAAAAAAAAA", "BBB  BBBBB", "CCC  CCCCC", "DDDDDDDDDD"]
    m = model(DIGITS + MARGINS + b"\x1b[1;4H\x1b['~")
    assert screen(m)[0] == "01245 6789"
    m = model(DIGITS + MARGINS + b"\x1b[1;8H\x1b['}\x1b['~")
    assert screen(m)[0] == "0123456789"


def test_decbi_and_decfi() -> None:
    # xterm xtermColIndex: DECBI at the left margin inserts a column there, DECFI at the
    # right margin deletes the column at the left margin; elsewhere each moves the cursor
    m = model(DIGITS + MARGINS + b"\x1b[1;3H\x1b6")
    assert screen(m)[0] == "01 2346789" and m.cursor() == (2, 0)
    m = model(DIGITS + MARGINS + b"\x1b[1;6H\x1b9")
    assert screen(m)[0] == "01345 6789" and m.cursor() == (5, 0)
    m = model(DIGITS + MARGINS + b"\x1b[1;4H\x1b6\x1b9\x1b9")
    assert screen(m)[0] == "0123456789" and m.cursor() == (4, 0)
    # without margins, the screen's edges are the margins
    m = model(DIGITS + b"\x1b[1;1H\x1b6")
    assert screen(m)[0] == " 012345678"


# -- what resets them ------------------------------------------------------------------------


@pytest.mark.parametrize(("seq", "mode_after"), [
    (b"\x1b[?69l", False),  # resetting DECLRMM resets the margins (xterm)
    (b"\x1b[!p", False),  # DECSTR: resetMarginMode, the mode too
    (b"\x1bc", False),  # RIS
    (b"\x1b[?40h\x1b[?3h", True),  # DECCOLM: resetMargins, the mode stays
    (b"\x1b#8", True),  # DECALN: resetMargins
])
def test_what_resets_the_margins(seq: bytes, mode_after: bool) -> None:
    m = model(MARGINS + seq)
    assert margins(m) == (mode_after, 0, 9)
    m.feed(LETTERS + b"\x1b[4;1H\n")  # and text and scrolls are full-width again
    assert screen(m)[2] == "DDDDDDDDDD"


def test_setting_declrmm_keeps_the_margins_full_until_decslrm() -> None:
    m = model(b"\x1b[?69h")
    assert margins(m) == (True, 0, 9)
    m.feed(b"\x1b[?69h")  # set again: still the margins a DECSLRM set
    m.feed(b"\x1b[2;4s\x1b[?69h")
    assert margins(m) == (True, 1, 3)


def test_resize_resets_the_margins_but_not_the_mode() -> None:
    # xterm ScreenResize: resetMargins (top/bottom and left/right)
    m = model(LETTERS + MARGINS)
    m.resize(12, 5)
    assert margins(m) == (True, 0, 11)
    m.resize(8, 5)
    assert margins(m) == (True, 0, 7)
    assert not round_trip(m)


def test_margins_are_terminal_state_across_the_alternate_screen() -> None:
    # xterm keeps lft_marg/rgt_marg in the screen, not per buffer: switching keeps them
    m = model(MARGINS + b"\x1b[?1049h")
    assert margins(m) == (True, 2, 5)
    m.feed(b"\x1b[1;3Habcdef\x1b[?1049l")
    assert margins(m) == (True, 2, 5)


def test_decsc_decrc_do_not_save_the_margins() -> None:
    # DECSC saves the cursor, pen, charsets and modes like DECOM, not the margins
    m = model(MARGINS + b"\x1b7\x1b[1;8s\x1b8")
    assert margins(m) == (True, 0, 7)


# -- redraw, leave, skip ---------------------------------------------------------------------

ROUND_TRIPS = {
    "margins": MARGINS + b"\x1b[2;4Hx",
    "full_width_mode": b"\x1b[?69hab",
    "origin": LETTERS + MARGINS + b"\x1b[2;3r\x1b[?6h\x1b[2;2Hx",
    "pending_at_margin": MARGINS + b"\x1b[1;3Habcd",
    "pending_wide_at_margin": MARGINS + b"\x1b[1;3Hab" + "日".encode(),
    "pending_outside": MARGINS + b"\x1b[1;8Habc",
    "pending_kept_by_reset": MARGINS + b"\x1b[1;3Habcd\x1b[?69l",
    "pending_kept_by_reset_then_set": MARGINS + b"\x1b[1;3Habcd\x1b[?69l\x1b[?69h",
    "pending_origin": b"\x1b[2;3r\x1b[?6h" + MARGINS + b"abcd",
    "alt": LETTERS + MARGINS + b"\x1b[?1049hxy\x1b[2;4H",
    "scrolled": LETTERS + MARGINS + b"\x1b[4;3H\n\nq",
    "saved": MARGINS + b"\x1b[?6h\x1b[2;2H\x1b7\x1b[?6l\x1b[3;8H",
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_redraw_round_trip(name: str) -> None:
    """A terminal fed the redraw has the same margins, mode, cells and cursor."""
    m = model(ROUND_TRIPS[name])
    problems = round_trip(m)
    assert not problems, "\n".join(problems)


def test_redraw_restores_the_margins_after_the_painting() -> None:
    # DECSLRM needs ?69 first, and homes the cursor: both come before the cursor's CUP
    out = model(ROUND_TRIPS["margins"]).redraw()
    assert out.index(b"\x1b[?69h\x1b[3;6s") < out.rindex(b"\x1b[2;5H")
    assert out.index(b"\x1b[?69l") < out.index(b"x")  # (the preamble resets them)


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_late_attach_then_live_output(name: str) -> None:
    """A terminal that had another session's margins, fed the redraw and then the rest of
    the program's output, ends where the model does."""
    after = b"hello world\r\n\x1bM\x1b[L\x1b[2P\tz\x1b[?69l\x1b[?69h\x1b[2;5sabcdefgh"
    m = model(ROUND_TRIPS[name])
    client = model(b"\x1b[?69h\x1b[5;8s\x1b[?6h\x1b[2;3rjunk")
    client.feed(m.redraw())
    m.feed(after)
    client.feed(after)
    assert snapshot(client) == snapshot(m)


WITH_MARGINS = ["vt"] + (["ghostty"] if ghostty_model.available() else [])


@pytest.mark.parametrize("kind", WITH_MARGINS)
@pytest.mark.parametrize("tail", [b"\x1b[2;2H", b"\x1b[?1049h\x1b[2;3r"])
def test_leave_resets_declrmm(kind: str, tail: bytes) -> None:
    # detach: the user's shell must not be left with margins
    m = create_model(10, 4, 100, kind)
    m.feed(MARGINS + tail)
    leave = m.leave()
    assert b"\x1b[?69l" in leave
    user = model(MARGINS + tail)
    user.feed(leave)
    assert margins(user) == (False, 0, 9)
    plain = create_model(10, 4, 100, kind)
    plain.feed(b"x")
    assert b"69" not in plain.leave()


@pytest.mark.parametrize("kind", ["vt", "ghostty", "pyte"])
def test_a_redraw_resets_another_sessions_margins(kind: str) -> None:
    # a terminal switched from a session with margins paints the next one at full width
    # (the pyte model has no margins of its own: its redraw resets them all the same)
    if kind == "ghostty" and not ghostty_model.available():
        pytest.skip("pyghostty not installed")
    m = create_model(10, 4, 100, kind)
    m.feed(b"hello")
    client = model(MARGINS + b"\x1b[2;3r\x1b[?6h")
    client.feed(m.redraw())
    assert margins(client) == (False, 0, 9)
    assert screen(client) == ["hello", "", "", ""]


@pytest.mark.parametrize("kind", WITH_MARGINS)
def test_a_flood_is_not_skipped_inside_margins(kind: str) -> None:
    # ScreenModel.skip: the lines of a flood go into the history only at full width
    flood = b"".join(b"line %d\r\n" % i for i in range(2000))
    fed = create_model(10, 4, 10, kind)
    fed.feed(MARGINS + b"\x1b[4;3H" + flood)
    skipped = create_model(10, 4, 10, kind)
    skipped.feed(MARGINS + b"\x1b[4;3H")
    n = skipped.skip(flood)
    skipped.feed(flood[n:])
    assert skipped.capture() == fed.capture()
    assert skipped.cursor() == fed.cursor()
    assert skipped.history_total == fed.history_total == 0


# -- against libghostty-vt -------------------------------------------------------------------

GHOSTTY_CASES = [
    MARGINS + b"\x1b[1;3Habcdefghij",
    LETTERS + MARGINS + b"\x1b[4;3H\n\n",
    LETTERS + MARGINS + b"\x1b[1;4H\x1bM",
    LETTERS + MARGINS + b"\x1b[2;5H\x1b[L\x1b[3;3H\x1b[M",
    DIGITS + MARGINS + b"\x1b[1;4H\x1b[@\x1b[2;1H" + DIGITS + b"\x1b[2;4H\x1b[2P",
    LETTERS + MARGINS + b"\x1b[2;3r\x1b[?6h\x1b[2;2Hxy\r\x1b[S",
    LETTERS + MARGINS + b"\x1b[4;8H\nq\x1b[1;8Hwxyz",
    LETTERS + MARGINS + b"\x1b[T\x1b[1;5H\x1b[9C!\x1b[1;1H\x1b[9D?",
]


@pytest.mark.skipif(not ghostty_model.available(), reason="pyghostty not installed")
@pytest.mark.parametrize("data", GHOSTTY_CASES)
def test_agrees_with_libghostty_vt(data: bytes) -> None:
    """libghostty-vt implements DECLRMM itself: the two models show the same cells and
    cursor (test_differential.py's comparison)."""
    from test_differential import differences
    from test_differential import snapshot as common

    vt = model(data)
    gh = ghostty_model.GhosttyModel(10, 4, 100)
    gh.feed(data)
    assert not differences(common(vt), common(gh))
