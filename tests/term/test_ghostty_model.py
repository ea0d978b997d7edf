"""The optional pyghostty backend: containment, replies, alternate screen, capture and
redraw round trips (corpus and recordings)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyghostty")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ptymux.term.ghostty_model import GhosttyModel  # noqa: E402

RECORDINGS = sorted(Path(__file__).with_name("recordings").glob("*.bin"))


def state(model: GhosttyModel) -> tuple[list[str], tuple[int, int], bool]:
    return model.capture(), model.cursor(), model.alternate_screen


def round_trip(model: GhosttyModel) -> GhosttyModel:
    copy = GhosttyModel(model.cols, model.rows, 100)
    copy.feed(model.redraw())
    return copy


def check(model: GhosttyModel, where: str) -> None:
    copy = round_trip(model)
    assert state(copy) == state(model), where


_bytes = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"\x1b[", b"\x1b]", b"\x1bP", b"?1049h", b"1;2", b"m", b"H", b"\x07",
                     b"\x1b\\", "日本".encode(), b"\xff", b"\r\n", b"x" * 50, b"\x1b[?6n",
                     b"\x1b[c", b"\x1b[3;20r", b"\x1b[?6h"]),
    max_size=40).map(b"".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_bytes, max_size=4))
def test_feed_never_raises(chunks: list[bytes]) -> None:
    model = GhosttyModel(40, 10, 50)
    for chunk in chunks:
        model.feed(chunk)
    model.take_replies()
    model.capture()
    model.capture(-20, 3, escapes=True)
    model.leave()
    copy = round_trip(model)
    assert copy.cursor() == model.cursor()


def test_replies() -> None:
    model = GhosttyModel(80, 24)
    assert model.take_replies() == b""
    model.feed(b"\x1b[3;4H\x1b[6n")
    assert model.take_replies() == b"\x1b[3;4R"
    model.feed(b"\x1b[c\x1b[>c\x1b[5n\x1b[?2004$p\x1b[>q")
    replies = model.take_replies()
    assert replies.startswith(b"\x1b[?")  # DA1
    for part in (b"\x1b[>", b"\x1b[0n", b"\x1b[?2004;2$y", b"\x1bP>|"):
        assert part in replies
    assert model.take_replies() == b""


def test_alternate_screen() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"main\x1b[3;5H\x1b[?1049h\x1b[Halt\x1b[10;3H")
    assert model.alternate_screen
    assert model.capture()[0] == "alt"
    assert model.cursor() == (2, 9)
    assert model.leave() == b"\x1b[?1049l\x1b[?6l\x1b[r\x1b[3;5H"
    client = round_trip(model)
    assert state(client) == state(model)
    client.feed(b"\x1b[?1049l")  # the main screen under it was painted too
    model.feed(b"\x1b[?1049l")
    assert not model.alternate_screen
    assert state(client) == state(model)
    assert model.capture()[0] == "main"
    assert model.cursor() == (4, 2)
    assert model.leave() == b""


def test_1049_split_between_feeds() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"x\x1b[7;9H\x1b[?10")
    model.feed(b"49h\x1b[Halt")
    assert model.leave().endswith(b"\x1b[7;9H")


def test_margins_origin() -> None:
    model = GhosttyModel(80, 24)
    assert model._may_skip()
    model.feed(b"\x1b[5;15r\x1b[?6h\x1b[3;4Hx")
    assert not model._may_skip()
    assert model.cursor() == (4, 6)
    check(model, "origin")
    assert model.leave() == b"\x1b[?6l\x1b[r\x1b[7;5H"


def test_capture_and_history() -> None:
    model = GhosttyModel(20, 5, 100)
    model.feed(b"".join(b"line %d\r\n" % i for i in range(10)) + b"\x1b[1;31mred\x1b[0m  ")
    assert model.capture() == ["line 6", "line 7", "line 8", "line 9", "red"]
    assert model.history_size == 6
    assert model.capture(-2, 0) == ["line 4", "line 5", "line 6"]
    assert model.capture(-100, -5) == ["line 0", "line 1"]
    assert model.capture(3) == ["line 9", "red"]
    styled = model.capture(4, 4, escapes=True)[0]
    assert "red" in styled and "\x1b[" in styled and styled.endswith("\x1b[0m")
    assert model.capture(0, 0, escapes=True) == ["line 6"]


def test_capture_join() -> None:
    model = GhosttyModel(10, 5, 100)
    model.feed(b"a" * 15 + b"\r\nb")
    assert model.capture(0, 2) == ["a" * 10, "a" * 5, "b"]
    assert model.capture(0, 2, join=True) == ["a" * 15, "b"]


def test_title_and_resize() -> None:
    model = GhosttyModel(80, 24)
    model.feed(b"\x1b]2;my title\x07")
    assert model.title == "my title"
    model.resize(100, 30)
    assert (model.cols, model.rows) == (100, 30)
    assert len(model.capture()) == 30


def test_skip_equals_feed() -> None:
    data = b"".join(b"line %d\r\n" % i for i in range(20000))
    fed = GhosttyModel(80, 24, 100)
    fed.feed(data)
    skipped = GhosttyModel(80, 24, 100)
    cut = skipped.skip(data)
    assert cut > 0
    skipped.feed(data[cut:])
    assert skipped.capture(-100) == fed.capture(-100)


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_late_attach_then_live_output(path: Path) -> None:
    data = path.read_bytes()
    for cut in range(0, len(data), max(len(data) // 15, 1)):
        model = GhosttyModel(80, 24)
        model.feed(data[:cut])
        client = GhosttyModel(80, 24)
        client.feed(b"\x1b[?1049h\x1b[3;9r\x1b(0\x1b[1;44mleftovers")
        client.feed(model.redraw())
        model.feed(data[cut:])
        client.feed(data[cut:])
        assert state(client) == state(model), f"{path.stem} attached at byte {cut}"
