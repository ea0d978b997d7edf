"""The VT parser on its own: the named operations it calls for a few inputs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from ptymux.term.vt_parser import CONTROLS, CSI, ESCAPES, OSCS, Parser
from ptymux.term.vt_screen import Screen


class Recorder(Parser):
    """A parser whose every operation is recorded as (name, *arguments)."""

    def __init__(self) -> None:
        self.ops: list[tuple[Any, ...]] = []
        super().__init__()

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):
            raise AttributeError(name)

        def op(*args: Any) -> None:
            self.ops.append((name, *args))

        return op


def ops(*chunks: bytes) -> list[tuple[Any, ...]]:
    r = Recorder()
    for chunk in chunks:
        r.feed(chunk)
    return r.ops


def test_text() -> None:
    assert ops(b"hello") == [("draw_ascii", "hello")]
    assert ops("h\u00e9llo \u65e5\u672c".encode()) == [("draw", "h\u00e9llo \u65e5\u672c")]


def test_c0_controls() -> None:
    assert ops(b"a\r\nb\x07\x08\t\x0e\x0f") == [
        ("draw_ascii", "a"), ("carriage_return",), ("linefeed",), ("draw_ascii", "b"),
        ("backspace",), ("tab",), ("shift_out",), ("shift_in",),
    ]  # BEL does nothing


def test_c1_controls_do_nothing() -> None:
    assert ops("a\u0085b\u009bc".encode()) == [
        ("draw_ascii", "a"), ("draw_ascii", "b"), ("draw_ascii", "c"),
    ]


def test_esc() -> None:
    assert ops(b"\x1b7\x1b(0\x1b)B\x1b#8\x1bD\x1b=\x1bc\x1b8") == [
        ("save_cursor",), ("designate_charset", 0, "0"), ("designate_charset", 1, "B"),
        ("alignment",), ("esc_ind",), ("esc_deckpam",), ("reset",), ("restore_cursor",),
    ]


def test_csi() -> None:
    assert ops(b"\x1b[5;10H\x1b[H\x1b[;3H\x1b[99999A") == [
        ("csi_cup", (5, 10)), ("csi_cup", ()), ("csi_cup", (0, 3)), ("csi_cuu", (9999,)),
    ]


def test_csi_private_marker_and_intermediates() -> None:
    assert ops(b"\x1b[?1049h\x1b[>4;2m\x1b[2 q\x1b[1\"q\x1b[?2026$p\x1b[<u\x1b[!p") == [
        ("csi_decset", (1049,)), ("csi_modify_keys", (4, 2)), ("csi_decscusr", (2,)),
        ("csi_decsca", (1,)), ("csi_decrqm_dec", (2026,)), ("csi_kitty_pop", ()),
        ("csi_decstr", ()),
    ]


def test_csi_dropped() -> None:
    # an unknown final, a misplaced private marker, a cancelled and a malformed sequence
    assert ops(b"\x1b[5y\x1b[1?h\x1b[3\x18x\x1b[1 2A") == [("draw_ascii", "x")]


def test_csi_with_c0_inside() -> None:
    assert ops(b"\x1b[2\r;3H") == [("carriage_return",), ("csi_cup", (2, 3))]


def test_sgr() -> None:
    assert ops(b"\x1b[1;31mred\x1b[m\x1b[38:2::1:2:3m\x1b[4:3;5H") == [
        ("sgr", "1;31", "red"), ("sgr", "", ""), ("sgr", "38:2::1:2:3", ""),
        ("csi_cup", (4, 5)),
    ]
    assert ops("\x1b[1m\u00e9\r".encode()) == [("sgr", "1", "\u00e9"), ("carriage_return",)]


def test_osc_bel_and_st() -> None:
    assert ops(b"\x1b]0;title\x07\x1b]8;;http://x\x1b\\\x1b]999;x\x07\x1b]133;A\x1b\\") == [
        ("osc_title", "0", "title", True), ("osc_link", "8", ";http://x", False),
        ("osc_mark", "133", "A", False),
    ]


def test_control_strings() -> None:
    assert ops(b"\x1bP+q544e\x1b\\\x1b_Gi=1\x1b\\") == [
        ("control_string", "P", "+q544e"), ("control_string", "_", "Gi=1"),
    ]


def test_split_across_feeds() -> None:
    r = Recorder()
    r.feed(b"ab\x1b[3")
    assert r.ops == [("draw_ascii", "ab")]
    assert r.unfinished_input() == b"\x1b[3"
    r.feed(b"1mc\x1b]2;ti")
    assert r.unfinished_input() == b"\x1b]2;ti"
    r.feed(b"tle\x1b\\\xc3")
    assert r.unfinished_input() == b"\xc3"
    r.feed(b"\xa9")
    assert r.ops == [
        ("draw_ascii", "ab"), ("sgr", "31", "c"),
        ("osc_title", "2", "title", False), ("draw", "\u00e9"),
    ]
    r.feed(b"\x1b[")
    r.flush()
    assert r.unfinished_input() == b""


def test_last_char_forgotten_by_controls_and_sequences() -> None:
    r = Recorder()
    for data in (b"\r", b"\x07", b"\x1b7", b"\x1b[H"):
        r.last_char = "x"
        r.feed(data)
        assert r.last_char == ""
    for data in (b"\x1b[1m", b"\x1b[b", b"\x1b]0;t\x07"):
        r.last_char = "x"
        r.feed(data)
        assert r.last_char == "x"


def test_errors_counted_and_logged_not_flooded(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(Recorder):
        def draw_ascii(self, text: str) -> None:
            raise ValueError(text)

    r = Failing()
    with caplog.at_level(logging.ERROR, logger="ptymux.term.vt_parser"):
        for _ in range(12):
            r.feed(b"boom\r")
    assert r.errors == 12
    assert [rec.exc_info is not None for rec in caplog.records] == [True, True]  # 1st, 10th
    assert r.ops.count(("carriage_return",)) == 12  # the feed went on


def test_operations_exist_on_the_screen() -> None:
    names = {"draw", "draw_ascii", "sgr", "control_string", *CONTROLS.values(),
             *CSI.values(), *OSCS.values(), *(op[0] for op in ESCAPES.values())}
    missing = [name for name in sorted(names) if not callable(getattr(Screen, name, None))]
    assert not missing
    # the parser's own attributes shadow nothing of the screen's
    assert not set(vars(Recorder())) & set(dir(Screen))


def test_c0_controls_right_after_esc_act_and_the_sequence_goes_on() -> None:
    """xterm and DEC's parser: ``ESC TAB [ 2 4 d`` is a TAB, then VPA 24 (it used to end the
    escape and print ``[24d``); also split across two feeds, and with nothing after."""
    from ptymux.term.vt_model import VtModel

    cases = [
        ([b"\x1b\t[24d"], (8, 23), ""),
        ([b"ab\x1b\t[3;5H"], (4, 2), "ab"),
        ([b"\x1b\t7x\x1b8"], (8, 0), "        x"),  # TAB, then DECSC ... DECRC
        ([b"\x1b\t[2", b"4d"], (8, 23), ""),
        ([b"x\x1b\r"], (0, 0), "x"),  # (an ESC with nothing after: held, nothing printed)
    ]
    for feeds, cursor, first_row in cases:
        model = VtModel(20, 30, 100)
        for data in feeds:
            model.feed(data)
        assert model.cursor() == cursor, feeds
        assert model.capture()[0] == first_row, feeds
