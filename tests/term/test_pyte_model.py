"""The pyte model (``PTYMUX_EMULATOR=pyte``) keeps what a re-attach needs.

The check is the one a real terminal makes: the same byte stream is fed to the vt model
(xterm-exact, the reference) and to the pyte model; the pyte model's ``redraw()`` is fed to a
fresh vt model, which plays the user's terminal. The terminal must end in the reference's
state for everything the pyte model keeps (docs/terminal-state.md, the pyte model): both
screens' text and wrap flags, the cursor, the saved cursors, margins and modes, the title.
"""

from __future__ import annotations

from typing import Any

import pytest

from ptymux.term.pyte_model import PyteModel
from ptymux.term.vt_model import VtModel


def _kept(model: VtModel) -> dict[str, Any]:
    """The parts of a terminal's state the pyte model keeps (not the cells' exact SGR
    syntax, charsets, tab stops, keyboard protocols, colours)."""
    t = model.term

    def text(buf: Any) -> list[tuple[str, bool]]:
        last = len(buf) - 1
        return [("".join(r.chars), r.wrapped and y < last) for y, r in enumerate(buf)]

    return {
        "alt": t.alt_mode if t.in_alt else 0,
        "screen": text(t.buf),
        "main": text(t.main),
        "hidden alt": None if t.in_alt else text(t.alt),
        "cursor": (t.x, t.y),
        "pending": t.pending and t.autowrap,
        "visible": t.cursor_visible,
        "cursor_style": t.cursor_style,
        "saved_main": (t.saved_main.x, t.saved_main.y, t.saved_main.origin),
        "saved_alt": (t.saved_alt.x, t.saved_alt.y, t.saved_alt.origin),
        "margins": (t.top, t.bottom),
        "origin": t.origin,
        "autowrap": t.autowrap,
        "insert": t.insert,
        "lnm": t.lnm,
        "flags": sorted(t.flags),
        "mouse": (t.mouse, t.mouse_enc),
        "keypad": t.keypad,
        "title": (t.title, t.icon),
    }


def _reference(data: bytes, cols: int = 80, rows: int = 24) -> VtModel:
    ref = VtModel(cols, rows, 100)
    ref.feed(data)
    return ref


def _terminal_after_redraw(model: PyteModel) -> VtModel:
    """A terminal that showed something else (another session's alternate screen, modes,
    margins, a saved cursor) and then received the model's redraw."""
    terminal = VtModel(model.cols, model.rows, 100)
    terminal.feed(b"\x1b[?1049hjunk\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?1h\x1b=\x1b[4h"
                  b"\x1b[3;9r\x1b[?6h\x1b[?7l\x1b[?25l\x1b[4 q\x1b7")
    terminal.feed(model.redraw())
    return terminal


def _pyte(data: bytes, cols: int = 80, rows: int = 24) -> PyteModel:
    model = PyteModel(cols, rows, 100)
    model.feed(data)
    assert model.errors == 0
    return model


VIM = (b"$ vim file\r\n\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[?2004h\x1b[?1000h\x1b[?1006h"
       b"\x1b]2;file (~) - VIM\x07\x1b[H\x1b[2Jline 1\r\nline 2\r\n~\x1b[24;1H\"file\" 2L"
       b"\x1b[1;24r\x1b[2;4H\x1b[?25h\x1b[2 q")
STREAMS = {
    "vim in 1049": VIM,
    "less in 1049, left": b"$ less\r\n\x1b[?1049h\x1b[?1h\x1b=row 1\r\n:\x1b[?1l\x1b>\x1b[?1049l"
                          b"$ ",
    "47 keeps the alternate screen": b"main\x1b[?47h\x1b[2;2HALT\x1b[?47lMAIN",
    "1047 clears it on leaving": b"main\x1b[?1047hALT\x1b[?1047lback\x1b[?47h",
    "1049 twice clears the alternate screen": b"m\x1b[?1049hA\x1b[?1049hB",
    "saved cursors, one per screen": b"\x1b[5;7H\x1b7\x1b[?1049h\x1b[2;3H\x1b7\x1b[9;9Hx",
    "restore twice": b"\x1b[4;4H\x1b7\x1b[9;9H\x1b8a\x1b8b",
    "1048": b"\x1b[3;3H\x1b[?1048h\x1b[8;8Hx\x1b[?1048lY",
    "origin and margins": b"\x1b[5;15r\x1b[?6h\x1b[3;4Hin region",
    "wrapped rows": b"a" * 100 + b"\r\nnext",
    "pending wrap": b"\x1b[2;1H" + b"z" * 80,
    "insert, newline, no autowrap": b"\x1b[4h\x1b[20h\x1b[?7labc\x1b[1Gxy",
    "mouse modes replace each other": b"\x1b[?1000h\x1b[?1002h\x1b[?1000l\x1b[?1005h"
                                      b"\x1b[?1006h\x1b[?1004h\x1b[?12h\x1b[?1007h",
    "a mouse mode reset": b"\x1b[?1003h\x1b[?1003l\x1b[?1015h\x1b[?1015l",
    "title and icon": b"\x1b]1;icon\x07\x1b]2;title\x07hidden\x1b[?25l",
    "cursor style": b"\x1b[5 q",
    "RIS leaves the alternate screen": b"x\x1b[?1049h\x1b[?1000h\x1b=\x1bcafter",
    "DECCOLM does not resize": b"text\x1b[?3h\x1b[?3l more",
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_redraw_gives_a_terminal_the_programs_state(name: str) -> None:
    data = STREAMS[name]
    model = _pyte(data)
    assert (model.cols, model.rows) == (80, 24)
    assert _kept(_terminal_after_redraw(model)) == _kept(_reference(data))


def test_redraw_of_a_small_screen_in_the_alternate_screen() -> None:
    data = b"\x1b[3;5H\x1b[?1049h\x1b[2;3r" + b"w" * 30 + b"\x1b[1;1H"
    model = _pyte(data, 10, 4)
    assert _kept(_terminal_after_redraw(model)) == _kept(_reference(data, 10, 4))


@pytest.mark.parametrize(
    ("data", "modes"),
    [(b"", (False, False)), (b"\x1b[?1h", (True, False)), (b"\x1b=", (False, True)),
     (b"\x1b[?1h\x1b=", (True, True)), (b"\x1b[?1h\x1b=\x1b[?1l\x1b>", (False, False)),
     (b"\x1b[?66h", (False, True))],
)
def test_key_modes_report_cursor_keys_and_keypad(data: bytes, modes: tuple[bool, bool]) -> None:
    assert _pyte(data).key_modes() == modes == _reference(data).key_modes()


@pytest.mark.parametrize(
    "data",
    [VIM, b"\x1b[?47hx", b"\x1b[?1047h\x1b[2;5r\x1b[?6hx", b"\x1b[3;10r\x1b[4;4Hx",
     b"\x1b[?6h\x1b[2;2Hx", b"\x1b[7;3H\x1b[?1049h\x1b[?1049h\x1b[1;1H"],
)
def test_leave_takes_the_terminal_back_to_the_main_screen(data: bytes) -> None:
    """What a detach writes: the terminal mirrored the program (it saw ``data``); after
    ``leave()`` it is on its main screen, no margins or origin mode, the cursor where the
    vt model's leave puts it."""
    model = _pyte(data)
    terminal = _reference(data)
    terminal.feed(model.leave())
    reference = _reference(data)
    reference.feed(reference.leave())
    for t in (terminal.term, reference.term):
        assert not t.in_alt and (t.top, t.bottom) == (0, 23) and not t.origin
    assert terminal.cursor() == reference.cursor()


def test_leave_is_empty_when_there_is_nothing_to_undo() -> None:
    assert _pyte(b"\x1b[?1000h\x1b[?1h text").leave() == b""


def test_the_alternate_screen_adds_nothing_to_the_history() -> None:
    model = _pyte(b"".join(b"main %d\r\n" % i for i in range(30)))
    assert model.history_total == 7
    model.feed(b"\x1b[?1049h" + b"".join(b"alt %d\r\n" % i for i in range(50)))
    assert model.history_total == 7
    assert model.alternate_screen
    model.feed(b"\x1b[?1049l")
    assert model.capture(-7, -7) == ["main 0"]
    assert model.capture(0, 0) == ["main 7"]


def test_a_resize_in_the_alternate_screen_keeps_the_main_screen() -> None:
    """Both screens follow a resize; the main screen's rows a smaller height cuts go into
    the history (counted), the alternate screen's do not."""
    model = _pyte(b"".join(b"main %d\r\n" % i for i in range(23)) + b"\x1b[?1049h"
                  + b"".join(b"alt %d\r\n" % i for i in range(23)))
    model.resize(40, 20)
    assert model.history_total == 4
    assert model.capture(-4, -1) == ["main 0", "main 1", "main 2", "main 3"]
    assert model.capture(0, 0) == ["alt 4"]
    model.feed(b"\x1b[?1049l")
    assert model.capture(0, 0) == ["main 4"]
    terminal = _terminal_after_redraw(model)
    assert terminal.capture(0, 0) == ["main 4"]


def test_capture_orders_start_and_end_and_joins_wrapped_rows() -> None:
    model = _pyte(b"".join(b"row%d\r\n" % i for i in range(30)) + b"x" * 100 + b"END\r\nnext",
                  cols=80, rows=10)
    assert model.capture(-2, -4) == model.capture(-4, -2) == ["row19", "row20", "row21"]
    assert model.capture(8, 9) == ["x" * 20 + "END", "next"]
    assert model.capture(7, 9, join=True) == ["x" * 100 + "END", "next"]
    assert model.capture(7, 9) == ["x" * 80, "x" * 20 + "END", "next"]
    # A wrap flag leaves with the row's end: rewriting it ends the joined line.
    model.feed(b"\x1b[8;1H\x1b[Kshort")
    assert model.capture(7, 8, join=True) == ["short", "x" * 20 + "END"]


def test_a_wrapped_row_keeps_its_flag_in_the_history() -> None:
    model = _pyte(b"y" * 90 + b"\r\n" + b"".join(b"r%d\r\n" % i for i in range(10)),
                  cols=80, rows=5)
    assert model.capture(-1000, -1, join=True)[0] == "y" * 90


def test_errors_are_contained_and_the_stream_carries_on() -> None:
    model = PyteModel(80, 24, 100)
    model.feed(b"\x1b[10;D\x1b[?6nok")
    assert model.capture(0, 0)[0].endswith("ok")
