"""The pyghostty backend's redraw carries what libghostty-vt keeps out of its formatter's
reach (DECSC slots, the main screen under an alternate one, a pending wrap, charsets, the
cursor shape, the title), and its answers to queries are xterm's (as the ``vt`` model's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyghostty")

from test_corpus import CORPUS, corpus_cases  # noqa: E402

from ptymux import __version__  # noqa: E402
from ptymux.term.ghostty_model import GhosttyModel  # noqa: E402

RECORDINGS = sorted(Path(__file__).with_name("recordings").glob("*.bin"))
# xterm.js corpus cases GhosttyModel matches (it fails the others in libghostty-vt itself:
# extra parameters to cursor moves, VPB, REP, DECSC of a pending wrap, DECSTBM quirks,
# SL/SR/DECIC/DECDC).
GHOSTTY_PASSING = 59
_CHARSETS_B = ("\x1b(B", "\x1b)B", "\x1b*B", "\x1b+B")


def _plain(text: str) -> str:
    """Designating ASCII explicitly is libghostty-vt's default (UTF-8) in effect."""
    for seq in _CHARSETS_B:
        text = text.replace(seq, "")
    return text


def deep_state(model: GhosttyModel) -> dict[str, Any]:
    """Everything a redraw must carry, read back from libghostty-vt."""
    screen = model._screen()
    state: dict[str, Any] = {
        "rows": model.capture(escapes=True),
        "cursor": model.cursor(),
        "pending": bool(model._get("cursor_pending_wrap", "bool")),
        "modes": screen.modes,
        "tabs": screen.tabs,
        "margins": screen.margins,
        "pen": _plain(screen.pen),
        "shape": model._cursor_shape(),
        "title": model.title,
        "alt": model._alt_mode(),
    }
    clone = model._clone()
    try:
        model._write(b"\x1b8", clone)
        slot = model._screen(clone)
        state["slot"] = (slot.x, slot.y, slot.origin, _plain(slot.pen))
        if state["alt"]:
            model._write(f"\x1b[?{state['alt']}l".encode(), clone)
            main = model._screen(clone)
            state["main"] = (main.body, main.x, main.y, _plain(main.pen))
            model._write(b"\x1b8", clone)
            slot = model._screen(clone)
            state["main slot"] = (slot.x, slot.y, slot.origin, _plain(slot.pen))
    finally:
        model._lib.ghostty_terminal_free(clone)
    return state


def redrawn(model: GhosttyModel) -> GhosttyModel:
    """A terminal left in another session's state, then sent the model's redraw."""
    copy = GhosttyModel(model.cols, model.rows, 100)
    copy.feed(b"\x1b[?1049h\x1b[3;9r\x1b(0\x1b[1;44m\x1b7leftovers\x1b[?7l\x1b[4h\x1b[5 q")
    copy.feed(model.redraw())
    return copy


def check(model: GhosttyModel, where: str = "") -> None:
    assert deep_state(redrawn(model)) == deep_state(model), where


@pytest.mark.parametrize(
    "stream",
    [
        b"x" * 80,  # pending wrap
        b"\x1b[31m" + b"y" * 79 + b"\x1b[44m",  # pending wrap, last cell and pen differ
        "日本".encode() * 20,  # pending wrap after a wide character
        b"\x1b[5;10H\x1b[1;32m\x1b(0\x1b7\x1b[H\x1b[0m\x1b(B",  # DECSC slot
        b"\x1b[5;15r\x1b[?6h\x1b[3;4H\x1b[4m\x1b7\x1b[r\x1b[?6l\x1b[20;1H",  # slot with origin
        b"\x1b[5;15r\x1b[?6h\x1b[3;4Hx",  # cursor in origin mode
        b"\x1b)0\x0eabc",  # G1 invoked into GL
        b"\x1b[3;5H\x1b[31m\x1b[?1049h\x1b[Halt\x1b[2;2H\x1b7\x1b[5;5H",  # slots of both screens
        b"main\x1b[2;3H\x1b7\x1b[4;4H\x1b[?47halt",  # 47: the main screen keeps its slot
        b"\x1b[6 q\x1b[?12h",  # cursor shape, blinking
        b"\x1b]2;the title\x07\x1b[?2004h\x1b=\x1b[?1002h\x1b[?1006h",
        b"\x1b[?1007h\x1b[4h\x1b[?7l" + b"z" * 90,
        b"\x1b[3g\x1b[5G\x1bH\x1b[30G\x1bH",  # tab stops
    ],
)
def test_state_survives_redraw(stream: bytes) -> None:
    model = GhosttyModel(80, 24)
    model.feed(stream)
    check(model)


def test_pending_wrap_is_rebuilt() -> None:
    model = GhosttyModel(20, 5)
    model.feed(b"a" * 20)
    copy = redrawn(model)
    assert copy._get("cursor_pending_wrap", "bool")
    model.feed(b"b")
    copy.feed(b"b")
    assert copy.capture() == model.capture() == ["a" * 20, "b", "", "", ""]


def test_decsc_slot_is_restored_after_redraw() -> None:
    model = GhosttyModel(40, 10)
    model.feed(b"\x1b[4;7H\x1b[1;31m\x1b(0\x1b7\x1b[H\x1b[0m\x1b(Bplain")
    copy = redrawn(model)
    model.feed(b"\x1b8q")
    copy.feed(b"\x1b8q")
    assert copy.capture(escapes=True) == model.capture(escapes=True)
    assert copy.cursor() == model.cursor() == (7, 3)
    assert "─" in model.capture()[3]


def test_main_screen_cursor_under_1049() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"shell$ \x1b[?1049h\x1b[Hfull screen app\x1b[10;10H")
    copy = redrawn(model)
    for m in (model, copy):
        m.feed(b"\x1b[?1049lback")
    assert copy.capture() == model.capture()
    assert copy.cursor() == model.cursor() == (11, 0)


def test_line_drawing_is_redrawn_through_the_dec_graphics_set() -> None:
    model = GhosttyModel(20, 3)
    model.feed(b"\x1b(0lqqk\x1b(B \xe2\x94\x80 20\xc2\xb0")
    redraw = model.redraw()
    assert b"\x1b(0lqqk\x1b(B" in redraw
    assert "20°".encode() in redraw  # only line drawing goes through the DEC set
    plain = GhosttyModel(20, 3)
    plain.feed("┌──┐".encode())  # no DEC graphics used: UTF-8 as written
    assert "┌──┐".encode() in plain.redraw()


def test_palette_colours_as_programs_write_them() -> None:
    model = GhosttyModel(40, 3)
    model.feed(b"\x1b[1;31mred\x1b[0m \x1b[92mgreen\x1b[0m \x1b[44mbg\x1b[0m \x1b[38;5;208mo")
    line = model.capture(0, 0, escapes=True)[0]
    assert "\x1b[0;1;31mred" in line
    assert "\x1b[0;92mgreen" in line and "\x1b[0;44mbg" in line and "38;5;208" in line
    assert b"38;5;1m" not in model.redraw()


def test_a_full_history_is_kept() -> None:
    """libghostty-vt's own defaults would keep ~800 of these 2000 lines (a 10 KB cap)."""
    model = GhosttyModel(80, 24, 2000)
    line = "".join(f"\x1b[38;5;{i}m{i:05}" for i in range(12)) + "\x1b[0m"
    model.feed("".join(f"{n:06}{line}\r\n" for n in range(2100)).encode())
    assert model.history_size == 2000
    history = model.capture(-2000, -1)
    assert len(history) == 2000 and history[0].startswith("000077")
    assert history[-1].startswith("002076")


def test_history_is_cut_at_the_limit() -> None:
    model = GhosttyModel(20, 5, 50)
    model.feed(b"".join(b"row%d\r\n" % i for i in range(1, 101)))
    assert model.history_size == 50
    history = model.capture(-1000, -1)
    assert len(history) == 50 and history[0] == "row47" and history[-1] == "row96"
    assert model.capture(2, 0) == model.capture(0, 2)


def test_capture_join_with_escapes() -> None:
    model = GhosttyModel(10, 4)
    model.feed(b"\x1b[31m" + b"a" * 15 + b"\x1b[0m\r\nb")
    joined = model.capture(0, 1, escapes=True, join=True)
    assert len(joined) == 1 and joined[0].count("a") == 15


def test_replies_are_xterms() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"\x1b[c\x1b[>c\x1b[=c\x1b[>q\x1b[3;7H\x1b[?6n")
    expected = (b"\x1b[?1;2c\x1b[>0;10;1c" + f"\x1bP>|ptymux {__version__}\x1b\\".encode()
                + b"\x1b[?3;7R")
    assert model.take_replies() == expected


def test_decxcpr_split_between_feeds() -> None:
    for cut in range(1, 5):
        model = GhosttyModel(80, 24)
        data = b"\x1b[2;3H\x1b[?6nx"
        model.feed(data[: 7 + cut])
        model.feed(data[7 + cut :])
        assert model.take_replies() == b"\x1b[?2;3R", cut
        assert model.capture()[1] == "  x"


def test_unfinished_sequence_is_replayed() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"abc\x1b[3")
    copy = GhosttyModel(80, 24)
    copy.feed(model.redraw())
    for m in (model, copy):
        m.feed(b"1mred")
    assert copy.capture(escapes=True) == model.capture(escapes=True)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not found")
def test_corpus_state_survives_redraw() -> None:
    for name in corpus_cases():
        model = GhosttyModel(80, 25)
        model.feed((CORPUS / f"{name}.in").read_bytes().replace(b"\n", b"\r\n"))
        check(model, name)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not found")
def test_corpus_fidelity() -> None:
    matching = 0
    cases = corpus_cases()
    for name in cases:
        model = GhosttyModel(80, 25)
        model.feed((CORPUS / f"{name}.in").read_bytes().replace(b"\n", b"\r\n"))
        expected = (CORPUS / f"{name}.text").read_text("utf-8", "replace").split("\n")[:25]
        expected = [line.rstrip() for line in expected] + [""] * (25 - len(expected))
        matching += model.capture() == expected
    print(f"\nGhosttyModel: {matching} of {len(cases)} xterm.js corpus cases match xterm")
    assert matching >= GHOSTTY_PASSING


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_recording_state_survives_redraw(path: Path) -> None:
    data = path.read_bytes()
    model = GhosttyModel(80, 24)
    step = max(len(data) // 40, 1)
    for start in range(0, len(data), step):
        model.feed(data[start : start + step])
        check(model, f"{path.stem} after {start + step} bytes")
