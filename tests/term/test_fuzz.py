"""Random and mutated input never makes the model raise, and redraw stays faithful."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from vtstate import round_trip, snapshot

from ptymux.term.vt_model import VtModel

_REP = re.compile(rb"\x1b\[[0-?]*[ -/]*b")
RECORDINGS = [p.read_bytes() for p in sorted(Path(__file__).with_name("recordings").glob("*.bin"))]

_params = st.lists(st.integers(0, 300).map(str) | st.sampled_from(["", "1:2", "38:2::1:2:3"]),
                   max_size=5).map(";".join)
_csi = st.builds(
    lambda prefix, params, inter, final: f"\x1b[{prefix}{params}{inter}{final}",
    st.sampled_from(["", "", "?", ">", "=", "<"]),
    _params,
    st.sampled_from(["", "", " ", "$", "!", "'", '"']),
    st.sampled_from(list("@ABCDEFGHIJKLMPSTXZ`abcdefghlmnpqrsttuz{}~")),
)
_dec = st.builds(
    lambda mode, on: f"\x1b[?{mode}{'h' if on else 'l'}",
    st.sampled_from([1, 3, 5, 6, 7, 12, 25, 40, 45, 47, 66, 69, 1000, 1002, 1004, 1006, 1047,
                     1048, 1049, 2004]),
    st.booleans(),
)
_tokens = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.text(max_size=8),
    st.sampled_from(["日本", "e\u0301", "\U0001f600", "\u200d", "\ufe0f", "ｗ", "\t", "\r",
                     "\n", "\x08", "\x0e", "\x0f", "\x1b7", "\x1b8", "\x1bD", "\x1bE", "\x1bM",
                     "\x1bH", "\x1bc", "\x1b#8", "\x1b(0", "\x1b)0", "\x1b(B", "\x1b=", "\x1b>",
                     "\x1b]0;t\x07", "\x1b]2;title\x1b\\", "\x1bPq#0\x1b\\", "\x1b_apc\x1b\\",
                     "\x1b", "\x1b[", "\x18", "\x1a", "\x07", "\x1b[r", "\x1b[3;20r",
                     '\x1b[1"q', '\x1b[0"q', "\x1b[?1J", "\x1b[?2K", "\u009b1m", "\u0085",
                     "\u009d2;t\u009c", "\x1b[?45h\x08", "\x1b[?3h", "\x1b[?69h\x1b[3;7s",
                     "\x1b[2;5s", "\x1b6", "\x1b9"]),
    _csi,
    _dec,
)
_stream = st.lists(_tokens, max_size=60).map(lambda toks: "".join(toks).encode("utf-8",
                                                                               "surrogatepass"))


def exercise(model: VtModel) -> None:
    model.redraw()
    model.leave()
    model.take_replies()
    model.capture()
    model.capture(-50, 50, escapes=True, join=True)
    model.capture(5, -5, escapes=False, join=True)
    _ = model.title, model.cursor()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(1, 6))
def test_random_bytes_never_raise(data: bytes, pieces: int) -> None:
    model = VtModel(20, 6, 50)
    step = max(len(data) // pieces, 1)
    for i in range(0, len(data), step):
        model.feed(data[i : i + step])
    exercise(model)
    assert model.errors == 0


@settings(max_examples=300, deadline=None)
@given(_stream, st.integers(1, 30), st.integers(1, 12))
@example(
    data=b'\x1b(0\x1b7\x1b(B0',
    cols=1,
    rows=1,
).via("a pending wrap redrawn with the DECSC slot's G0 (DEC graphics) still in place")
def test_sequences_never_raise_and_round_trip(data: bytes, cols: int, rows: int) -> None:
    model = VtModel(cols, rows, 20)
    model.feed(data)
    exercise(model)
    assert model.errors == 0
    problems = round_trip(model)
    assert not problems, "\n".join(problems)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(range(len(RECORDINGS))) if RECORDINGS else st.just(-1),
       st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=6)), max_size=8),
       st.integers(0, 200))
def test_mutated_recordings(index: int, edits: list[tuple[int, bytes]], cut: int) -> None:
    data = bytearray(RECORDINGS[index] if index >= 0 else b"")
    for pos, blob in edits:
        if data:
            pos %= len(data)
            data[pos : pos + len(blob) // 2] = blob
    model = VtModel(80, 24)
    model.feed(bytes(data[: len(data) - cut]))
    exercise(model)
    model.resize(40, 10)
    exercise(model)
    model.resize(100, 30)
    exercise(model)
    assert model.errors == 0


@settings(max_examples=100, deadline=None)
@given(_stream, st.integers(1, 30), st.integers(1, 12), st.integers(1, 30), st.integers(1, 12))
def test_resize_never_raises(data: bytes, c1: int, r1: int, c2: int, r2: int) -> None:
    model = VtModel(c1, r1, 20)
    model.feed(data)
    model.resize(c2, r2)
    assert not round_trip(model)
    model.feed(data)
    exercise(model)
    assert model.errors == 0
    assert model.cursor()[0] < c2 and model.cursor()[1] < r2
    problems = round_trip(model)
    assert not problems, "\n".join(problems)


@settings(max_examples=300, deadline=None)
@given(_stream, _stream, st.integers(1, 30), st.integers(1, 12))
@example(b"0\x1b[?7l", b"\x1b[?7h", 1, 1)  # a pending wrap kept across autowrap off
@example(b"\x1b[?47h0\x1b[?47l", b"\x1b[?47h", 1, 1)  # the hidden alternate screen
@example(b"\x1b[?47h\x1b[2;2H\x1b7\x1b[?47l", b"\x1b[?47h\x1b8X", 5, 5)  # and its DECSC
def test_redrawn_terminal_behaves_the_same_afterwards(
    before: bytes, after: bytes, cols: int, rows: int
) -> None:
    """A client that got the redraw and then the live stream ends up where the model is.
    (Not REP right after the redraw, even one that ``before`` began: which character it
    repeats is not reproduced.)"""
    assume(not any(m.end() > len(before) for m in _REP.finditer(before + after)))
    model = VtModel(cols, rows, 20)
    model.feed(before)
    client = VtModel(cols, rows, 20)
    client.feed(b"\x1b[?1049h\x1b[5;8r\x1b[?6h\x1b(0\x1b[4h\x1b[1;41m"  # a used terminal
                b"\x1b[?69h\x1b[2;4sjunk")
    client.feed(model.redraw())
    model.feed(after)
    client.feed(after)
    assert snapshot(client) == snapshot(model)
