"""redraw() fed into a fresh model must reproduce the model: the corpus cases, recordings
of real programs cut at many points, and hand-made edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_corpus import CORPUS, corpus_cases
from vtstate import round_trip, snapshot

from ptymux.term.vt_model import VtModel

RECORDINGS = sorted(Path(__file__).with_name("recordings").glob("*.bin"))


def check(model: VtModel, where: str = "") -> None:
    problems = round_trip(model)
    assert not problems, f"{where}:\n" + "\n".join(problems)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not found")
@pytest.mark.parametrize("name", corpus_cases())
def test_corpus_round_trip(name: str) -> None:
    model = VtModel(80, 25)
    model.feed((CORPUS / f"{name}.in").read_bytes().replace(b"\n", b"\r\n"))
    check(model, name)


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_recording_round_trip(path: Path) -> None:
    data = path.read_bytes()
    assert data
    model = VtModel(80, 24)
    step = max(len(data) // 40, 1)
    for start in range(0, len(data), step):
        model.feed(data[start : start + step])
        check(model, f"{path.stem} after {start + step} bytes")


def test_recordings_present() -> None:
    names = {p.stem for p in RECORDINGS}
    assert {"vim", "less", "man", "ls_color", "bash_prompt", "top"} <= names


CASES = {
    "attributes": b"\x1b[1mb\x1b[2md\x1b[3mi\x1b[4mu\x1b[5mk\x1b[7mr\x1b[8mh\x1b[9ms\x1b[53mo"
    b"\x1b[0m\x1b[21md\x1b[4:3mc\x1b[58:2::1:2:3mu\x1b[0m",
    "colours": b"\x1b[31ma\x1b[38;5;1mb\x1b[38;2;1;2;3mc\x1b[38:2::4:5:6md\x1b[91;101me"
    b"\x1b[48;5;200mf\x1b[0m\x1b[44m\x1b[K",
    "wide": "日本語\r\n".encode() + b"x" * 79 + "漢字\u00e9e\u0301".encode(),
    "wide_last_col": b"x" * 78 + "漢".encode(),
    "pending_wrap": b"y" * 80,
    "pending_wrap_bottom": b"\x1b[24;1H" + b"z" * 80,
    "pending_wrap_wide": b"\x1b[5;1H" + b"a" * 78 + "字".encode(),
    "alt_1049": b"main\x1b[5;5H\x1b[1;31m\x1b7\x1b[0m\x1b[?1049halt\x1b[10;3H\x1b[4m",
    "alt_47": b"main\x1b[?47halt text\x1b[3;3H",
    "alt_1047_saved": b"main\x1b[3;3H\x1b7\x1b[?1047h\x1b[7;7H\x1b7\x1b[1;1Hx",
    "margins_origin": b"\x1b[5;15r\x1b[?6h\x1b[3;4Hx\x1b[1;33m",
    "margins_saved_origin": b"\x1b[5;15r\x1b[?6h\x1b[3;4H\x1b7\x1b[?6l\x1b[20;1H",
    "left_right_margins": b"\x1b[5;15r\x1b[?69h\x1b[10;40s\x1b[?6h\x1b[3;4Hx\x1b[1;33m",
    "left_right_pending": b"\x1b[?69h\x1b[10;40s\x1b[3;35H" + b"w" * 6,
    "modes": b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[?1004h\x1b[?25l\x1b[5 q"
    b"\x1b[?7l\x1b[4h\x1b[20h\x1b[?5h\x1b[?12h\x1b[>4;2m",
    "charsets": b"\x1b(0lqqk\x1b(B\x1b)0\x0eqq\x0fx\x1b)A\x0e",
    "tabs": b"\x1b[3g\x1b[5G\x1bH\x1b[33G\x1bH\x1b[1G\tx\ty",
    "title": b"\x1b]2;my title\x07\x1b]1;icon\x1b\\",
    "title0": b"\x1b]0;both\x07",
    "scrolled": b"".join(b"line %d\r\n" % i for i in range(60)) + b"\x1b[2;10r\x1b[5;1H",
    "wrapped_rows": b"w" * 200 + b"\r\n" + b"v" * 80 + b"\r\n\x1b[44m" + b" " * 90,
    "erase_bg": b"\x1b[44m\x1b[2J\x1b[5;5H\x1b[41mred\x1b[K\x1b[0m",
    "hidden_cursor_in_alt": b"\x1b[?1049h\x1b[?25l\x1b[?1000h\x1b[2;3r",
}


@pytest.mark.parametrize("name", list(CASES))
def test_edge_round_trip(name: str) -> None:
    model = VtModel(80, 24)
    model.feed(CASES[name])
    check(model, name)


def test_redraw_from_dirty_terminal() -> None:
    """A terminal left in another program's state is brought to this model's state."""
    dirty = VtModel(80, 24)
    dirty.feed(CASES["modes"] + CASES["alt_47"] + CASES["margins_origin"] + b"\x1b(0\x1b[1;41m"
               + CASES["left_right_margins"])
    model = VtModel(80, 24)
    model.feed(b"plain bash prompt$ ")
    dirty.feed(model.redraw())
    assert snapshot(dirty) == snapshot(model)


def test_redraw_then_program_leaves_alt_screen() -> None:
    """After a redraw in the alternate screen, leaving it shows the right main screen."""
    stream_before = b"$ ls\r\nfile1 file2\r\n$ vim\x1b[?1049h\x1b[H\x1b[2Jvim screen\x1b[3;1H"
    stream_after = b"\x1b[?1049l\x1b[0m$ "
    model = VtModel(80, 24)
    model.feed(stream_before)
    client = VtModel(80, 24)
    client.feed(b"garbage\x1b[?1049h other alt")
    client.feed(model.redraw())
    model.feed(stream_after)
    client.feed(stream_after)
    assert snapshot(client) == snapshot(model)
    assert client.capture()[:3] == ["$ ls", "file1 file2", "$ vim$"]


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_late_attach_then_live_output(path: Path) -> None:
    """A client attaching at any point (redraw, then the raw rest of the stream) ends up in
    the model's state."""
    data = path.read_bytes()
    for cut in range(0, len(data), max(len(data) // 15, 1)):
        model = VtModel(80, 24)
        model.feed(data[:cut])
        client = VtModel(80, 24)
        client.feed(b"\x1b[?1049h\x1b[3;9r\x1b(0\x1b[1;44mleftovers")
        client.feed(model.redraw())
        model.feed(data[cut:])
        client.feed(data[cut:])
        assert snapshot(client) == snapshot(model), f"{path.stem} attached at byte {cut}"
