"""Terminal state modern programs set: the kitty keyboard flags, modifyOtherKeys,
hyperlinks, prompt marks, the working directory, colours, synchronized output. Each is kept
by the model, rebuilt by a redraw, and (where it changes what the terminal does) undone on
detach; docs/terminal-state.md lists them all.

A VtModel plays the user's terminal where bytes must be read back ("the terminal"): it
keeps every piece of this state, so what a redraw or a detach leaves there can be checked.
"""

from __future__ import annotations

import pytest
from vtstate import round_trip, snapshot

from ptymux.client.attach import MODES_RESET
from ptymux.term import create_model, ghostty_model
from ptymux.term.queries import QueryFilter
from ptymux.term.vt import DEFAULT, KITTY_DEPTH, Pen
from ptymux.term.vt_model import SYNC_LIMIT, VtModel


def model(stream: bytes = b"", cols: int = 80, rows: int = 24) -> VtModel:
    m = VtModel(cols, rows, 100)
    m.feed(stream)
    return m


def detach_into(m: VtModel, terminal: VtModel) -> None:
    """What a detach writes into the user's terminal: the model's leave(), then the
    client's reset."""
    terminal.feed(m.leave())
    terminal.feed(MODES_RESET)


# -- kitty keyboard protocol ---------------------------------------------------------------

def test_kitty_push_pop_set_and_query() -> None:
    m = model(b"\x1b[?u\x1b[>1u\x1b[?u\x1b[>5u\x1b[?u\x1b[<u\x1b[?u")
    assert m.take_replies() == b"\x1b[?0u\x1b[?1u\x1b[?5u\x1b[?1u"
    m.feed(b"\x1b[=6;2u\x1b[?u\x1b[=4;3u\x1b[?u\x1b[=8u\x1b[?u")  # set bits, clear, replace
    assert m.take_replies() == b"\x1b[?7u\x1b[?3u\x1b[?8u"
    assert m.term.kitty_main == [8]
    m.feed(b"\x1b[<5u\x1b[?u")  # popping more than there is empties the stack
    assert m.take_replies() == b"\x1b[?0u"
    assert m.term.kitty_main == []


def test_kitty_set_on_an_empty_stack_and_the_depth_limit() -> None:
    m = model(b"\x1b[=3u")
    assert m.term.kitty_main == [3]
    m = model(b"".join(b"\x1b[>%du" % i for i in range(1, 12)))
    assert m.term.kitty_main == list(range(12 - KITTY_DEPTH, 12))  # oldest dropped


def test_kitty_stacks_are_per_screen() -> None:
    m = model(b"\x1b[>1u\x1b[?1049h\x1b[?u\x1b[>3u\x1b[?u\x1b[?1049l\x1b[?u")
    assert m.take_replies() == b"\x1b[?0u\x1b[?3u\x1b[?1u"
    assert (m.term.kitty_main, m.term.kitty_alt) == ([1], [3])
    m.feed(b"\x1bc")  # RIS forgets both
    assert (m.term.kitty_main, m.term.kitty_alt) == ([], [])


def test_kitty_query_is_filtered_and_answered_once() -> None:
    assert QueryFilter().feed(b"a\x1b[?ub") == b"ab"
    assert QueryFilter().feed(b"a\x1b[>1ub") == b"a\x1b[>1ub"  # a push reaches the terminal
    assert model(b"\x1b[>9u\x1b[?u").take_replies() == b"\x1b[?9u"


@pytest.mark.parametrize("stream", [
    b"\x1b[>1u\x1b[>3u",
    b"\x1b[>1u\x1b[?1049h\x1b[>31u",
    b"\x1b[?1049h\x1b[>2u\x1b[?1049l\x1b[>4u",  # the hidden alternate screen's flags too
    b"\x1b[>4;2m\x1b[>1;1m",
])
def test_redraw_rebuilds_keyboard_state(stream: bytes) -> None:
    m = model(b"hello " + stream)
    assert not round_trip(m)
    # onto a terminal left with another session's flags (switching sessions)
    terminal = model(b"\x1b[>7u\x1b[>7u\x1b[?1049h\x1b[>7u\x1b[?1049l")
    terminal.feed(m.redraw())
    assert snapshot(terminal) == snapshot(m)


@pytest.mark.parametrize("stream", [
    b"\x1b[>1u\x1b[>3u",
    b"\x1b[>1u\x1b[?1049h\x1b[>31u\x1b[>1u",
    b"\x1b[?1049h\x1b[>5u\x1b[5;10r",
    b"\x1b[>4;2m\x1b[>1;1m\x1b[>2;1m",
])
def test_detach_leaves_no_keyboard_state(stream: bytes) -> None:
    m = model(b"x")
    terminal = model()
    terminal.feed(m.redraw())
    m.feed(stream)
    terminal.feed(stream)  # live output
    assert snapshot(terminal) == snapshot(m)
    detach_into(m, terminal)
    t = terminal.term
    assert not t.in_alt
    assert (t.kitty_main, t.kitty_alt, t.modify_keys) == ([], [], {})


def test_modify_other_keys_kept() -> None:
    m = model(b"\x1b[>4;2m")
    assert m.term.modify_keys == {4: 2}
    assert model(b"\x1b[>4;2m\x1b[>4m").term.modify_keys == {}
    assert model(b"\x1b[>4;2m\x1b[>4n").term.modify_keys == {}  # xterm's "disable"
    assert b"\x1b[>4;2m" in m.redraw()


# -- hyperlinks ------------------------------------------------------------------------------

LINK = b"\x1b]8;id=7;https://example.com/a\x1b\\"


def test_hyperlink_on_cells() -> None:
    m = model(b"a" + LINK + b"li\x1b[1mnk\x1b[0m!\x1b]8;;\x1b\\b\x1b[K")
    pens = m.term.main[0].pens
    link = "id=7;https://example.com/a"
    assert [p.link for p in pens[:7]] == ["", link, link, link, link, link, ""]
    assert pens[3] == Pen(flags=1, link=link)  # SGR and link together; SGR 0 keeps the link
    m.feed(LINK + b"\x1b[1;1H\x1b[2K")  # erased cells carry no link
    assert all(p == DEFAULT for p in m.term.main[0].pens)
    assert model(b"\x1b]8;;\x1b\\x").term.main[0].pens[0] == DEFAULT


def test_hyperlink_redrawn_and_captured() -> None:
    stream = b"see " + LINK + b"\x1b[32mhere\x1b]8;;\x1b\\\x1b[0m and " + LINK + b"open"
    m = model(stream)
    assert not round_trip(m)  # the pens, links included, come back
    assert m.capture(escapes=True)[0] == (
        "see \x1b[0;32m\x1b]8;id=7;https://example.com/a\x1b\\here"
        "\x1b[0m\x1b]8;;\x1b\\ and \x1b]8;id=7;https://example.com/a\x1b\\open\x1b]8;;\x1b\\")
    assert m.capture()[0] == "see here and open"


def test_hyperlink_in_history_capture_and_scrollback() -> None:
    m = model(LINK + b"old\x1b]8;;\x1b\\\r\n" + b"\r\n" * 30, rows=5)
    assert m.capture(start=-1, end=-1) == [""]
    line = [x for x in m.capture(start=-30, end=-1, escapes=True) if "old" in x]
    assert line == ["\x1b]8;id=7;https://example.com/a\x1b\\old\x1b]8;;\x1b\\"]
    terminal = model(rows=5)
    terminal.feed(m.scrollback(None, 100))
    (old,) = [line for line in terminal.term.history if line.text == "old"]
    assert old.spans[1].link == "id=7;https://example.com/a"  # type: ignore[union-attr]


# -- working directory, prompt marks ---------------------------------------------------------

def test_osc7_working_directory() -> None:
    assert model().cwd == ""
    assert model(b"\x1b]7;file://host/home/me/a%20b\x07").cwd == "/home/me/a b"
    assert model(b"\x1b]7;file:///tmp\x1b\\").cwd == "/tmp"
    assert model(b"\x1b]7;file:///tmp\x07\x1b]7;http://x/y\x07").cwd == "/tmp"
    assert create_model(80, 24, 10, "pyte").cwd == ""  # the interface's default


def test_osc133_prompts_found_after_they_scroll() -> None:
    m = model(b"".join(b"\x1b]133;A\x07$ cmd%d\r\n\x1b]133;C\x07out%d\r\n" % (i, i)
                       for i in range(5)), cols=20, rows=4)
    assert m.prompts() == [-7, -5, -3, -1, 1]
    assert m.capture(start=m.prompts()[-1]) == ["$ cmd4", "out4", ""]
    assert m.term.last_mark == "C"
    assert model(b"\x1b[?1049h\x1b]133;A\x07").prompts() == []  # not on the alternate screen


# -- colours ---------------------------------------------------------------------------------

def test_colour_queries_answered_from_the_model() -> None:
    m = model(b"\x1b]10;?\x07\x1b]11;?\x1b\\\x1b]4;1;?;196;?;244;?\x07")
    assert m.take_replies() == (
        b"\x1b]10;rgb:ffff/ffff/ffff\x07\x1b]11;rgb:0000/0000/0000\x1b\\"
        b"\x1b]4;1;rgb:cdcd/0000/0000\x07\x1b]4;196;rgb:ffff/0000/0000\x07"
        b"\x1b]4;244;rgb:8080/8080/8080\x07")
    m.feed(b"\x1b]11;#102030\x07\x1b]4;1;rgb:1/2/3\x07\x1b]11;?\x07\x1b]4;1;?\x07")
    assert m.take_replies() == b"\x1b]11;rgb:1010/2020/3030\x07\x1b]4;1;rgb:1/2/3\x07"
    m.term.default_colours["10"] = "rgb:aaaa/bbbb/cccc"  # (a terminal's own, once known)
    m.feed(b"\x1b]10;?\x07")
    assert m.take_replies() == b"\x1b]10;rgb:aaaa/bbbb/cccc\x07"


@pytest.mark.parametrize("query", [b"\x1b]10;?\x07", b"\x1b]11;?\x1b\\", b"\x1b]12;?\x07",
                                   b"\x1b]4;5;?\x07", b"\x1b]4;1;?;2;?\x1b\\"])
def test_colour_queries_filtered(query: bytes) -> None:
    data = b"x" + query + b"y"
    for cut in range(len(data) + 1):
        f = QueryFilter()
        assert f.feed(data[:cut]) + f.feed(data[cut:]) + f.flush() == b"xy", cut
    assert QueryFilter().feed(b"\x1b]11;#000\x07") == b"\x1b]11;#000\x07"  # a set goes on


@pytest.mark.parametrize("kind", ["vt", "ghostty"])
def test_every_model_answers_the_new_queries(kind: str) -> None:
    """The server filters these whatever the model: each model must answer them."""
    if kind == "ghostty" and not ghostty_model.available():
        pytest.skip("pyghostty is not installed")
    for query, start in [(b"\x1b[?u", b"\x1b[?0u"), (b"\x1b]10;?\x07", b"\x1b]10;rgb:"),
                         (b"\x1b]11;?\x1b\\", b"\x1b]11;rgb:"), (b"\x1b]12;?\x07", b"\x1b]12;"),
                         (b"\x1b]4;3;?\x07", b"\x1b]4;3;rgb:")]:
        m = create_model(80, 24, 10, kind)
        m.feed(query)
        answer = m.take_replies()
        assert answer.startswith(start) and answer.count(start) == 1, (query, answer)


def test_colours_redrawn_and_reset_on_detach() -> None:
    stream = b"\x1b]4;1;#ff0000\x07\x1b]10;rgb:1/2/3\x1b\\\x1b]11;#000\x07\x1b]111\x07"
    m = model(stream)
    assert m.term.colours == {"4;1": "#ff0000", "10": "rgb:1/2/3"}
    assert not round_trip(m)
    terminal = model()
    terminal.feed(m.redraw())
    assert terminal.term.colours == m.term.colours
    detach_into(m, terminal)
    assert terminal.term.colours == {}
    assert model(stream + b"\x1b]104\x07").term.colours == {"10": "rgb:1/2/3"}


# -- synchronized output -------------------------------------------------------------------

BEFORE = b"\x1b[Hframe 1 line a\r\nframe 1 line b"
UPDATE_1 = b"\x1b[?2026h\x1b[H\x1b[2Jframe 2 line a"
UPDATE_2 = b"\r\nframe 2 line b\x1b[?2026l"


def _until_bsu(redraw: bytes) -> bytes:
    """The part of a redraw a 2026-aware terminal shows at once."""
    cut = redraw.rfind(b"\x1b[?2026h")
    return redraw if cut < 0 else redraw[:cut]


def test_late_attacher_sees_no_half_frame() -> None:
    m = model(BEFORE)
    shown_before = m.capture()
    m.feed(UPDATE_1)
    redraw = m.redraw()
    shown = model(_until_bsu(redraw))
    assert shown.capture() == shown_before  # the frame before, not half the next one
    terminal = model(redraw)  # all of it (and a terminal without 2026 draws the rest)
    assert snapshot(terminal) == snapshot(m)
    m.feed(UPDATE_2)
    terminal.feed(UPDATE_2)  # the rest, live
    assert snapshot(terminal) == snapshot(m)
    assert m.capture()[:2] == ["frame 2 line a", "frame 2 line b"]
    assert m.redraw().find(b"\x1b[?2026h") < 0  # update over: a plain redraw


def test_synchronized_update_split_across_feeds() -> None:
    m = model(BEFORE)
    data = UPDATE_1 + b"more"
    for cut in range(len(data) + 1):
        m = model(BEFORE)
        m.feed(data[:cut])
        m.feed(data[cut:])
        terminal = model(m.redraw())
        assert snapshot(terminal) == snapshot(m), cut
        if cut == 0 or cut >= len(b"\x1b[?2026h"):  # the BSU whole in one feed
            assert model(_until_bsu(m.redraw())).capture()[:2] == ["frame 1 line a",
                                                                   "frame 1 line b"], cut


def test_synchronized_update_bounded() -> None:
    m = model(BEFORE + UPDATE_1)
    m.feed(b"x" * (SYNC_LIMIT + 1))  # a program that never ends its update
    assert b"\x1b[?2026h" not in m.redraw()
    assert snapshot(model(m.redraw())) == snapshot(m)
    m = model(BEFORE + UPDATE_1)
    m.resize(60, 20)  # the update was written for the old size
    assert b"\x1b[?2026h" not in m.redraw()


def test_client_reset_covers_what_live_output_left() -> None:
    """An open hyperlink, a begun update, pushed flags: the client's reset undoes them
    even without the model's leave() (a lost server)."""
    terminal = model(b"\x1b[>1u\x1b[?2026h" + LINK + b"text\x1b[>4;2m")
    terminal.feed(MODES_RESET)
    t = terminal.term
    assert (t.kitty_main, t.modify_keys, t.sync, t.pen) == ([], {}, False, DEFAULT)


def test_the_clients_reset_leaves_no_margins_behind() -> None:
    """MODES_RESET (also written when the server is lost, and for a pyte session, whose
    model keeps no margins) resets ?69 and with it the left/right margins."""
    terminal = model(b"\x1b[?69h\x1b[5;20s")
    assert (terminal.term.left_right_mode, terminal.term.left, terminal.term.right) == (
        True, 4, 19)
    terminal.feed(MODES_RESET + b"\x1b[1;1H" + b"x" * 30)
    assert (terminal.term.left_right_mode, terminal.term.left, terminal.term.right) == (
        False, 0, 79)
    assert terminal.capture()[0] == "x" * 30
