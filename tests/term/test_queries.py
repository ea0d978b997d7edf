"""QueryFilter (what clients get) and the model's answers (what the program gets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ptymux import __version__
from ptymux.term import create_model, ghostty_model
from ptymux.term.queries import QueryFilter

QUERIES = [b"\x1b[c", b"\x1b[0c", b"\x1b[>c", b"\x1b[>0c", b"\x1b[5n", b"\x1b[6n", b"\x1b[?6n",
           b"\x1b[?2004$p", b"\x1b[4$p", b"\x1b[>q", b"\x1b[>0q"]
NOT_QUERIES = [b"\x1b[6A", b"\x1b[2J", b"\x1b[38;5;6m", b"\x1b[16n", b"\x1b[1;6n", b"\x1b[=c",
               b"\x1b[>1c", b"\x1b[?25h", b"\x1b[5 q", b"\x1b[>4;2m", b"\x1b[6 q", b"\x1b[0m",
               b"\x1b[?1049h", b"\x1b[c"[:-1] + b"C", b"\x1b[>0;1c", b"\x1b]0;\x1b[c\x07"[:4]]


@pytest.mark.parametrize("query", QUERIES)
def test_query_removed(query: bytes) -> None:
    assert QueryFilter().feed(b"ab" + query + b"cd") == b"abcd"


@pytest.mark.parametrize("seq", NOT_QUERIES)
def test_no_false_positive(seq: bytes) -> None:
    f = QueryFilter()
    assert f.feed(b"x" + seq + b"y") + f.flush() == b"x" + seq + b"y"


@pytest.mark.parametrize("query", QUERIES)
def test_split_query(query: bytes) -> None:
    data = b"hello" + query + b"\x1b[1mworld" + query
    for cut in range(len(data) + 1):
        f = QueryFilter()
        out = f.feed(data[:cut]) + f.feed(data[cut:]) + f.flush()
        assert out == b"hello\x1b[1mworld", cut


def test_byte_by_byte() -> None:
    data = b"a\x1b[6nb\x1b[?1$pc\x1b[38;5;6md\x1b[>0q"
    f = QueryFilter()
    out = b"".join(f.feed(bytes([b])) for b in data) + f.flush()
    assert out == b"abc\x1b[38;5;6md"


def test_holds_only_a_short_tail() -> None:
    f = QueryFilter()
    assert f.feed(b"text\x1b[?10") == b"text"
    assert f.pending
    assert f.flush() == b"\x1b[?10"
    assert f.feed(b"abc\x1b[38;5") == b"abc\x1b[38;5"  # cannot become a query
    assert not f.pending


def test_plain_data_passes_through_untouched() -> None:
    data = b"plain text " * 1000
    assert QueryFilter().feed(data) is data


# -- replies --------------------------------------------------------------------------

@pytest.fixture(autouse=True, params=["vt", "ghostty"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both models answer queries alike (the server answers from whichever it runs)."""
    global KIND
    if request.param == "ghostty" and not ghostty_model.available():
        pytest.skip("pyghostty is not installed")
    KIND = request.param
    yield KIND
    KIND = "vt"


KIND = "vt"


def reply(stream: bytes, cols: int = 80, rows: int = 24) -> bytes:
    model = create_model(cols, rows, 100, KIND)
    model.feed(stream)
    return model.take_replies()


def test_device_attributes() -> None:
    assert reply(b"\x1b[c") == b"\x1b[?1;2c"
    assert reply(b"\x1b[0c") == b"\x1b[?1;2c"
    assert reply(b"\x1b[>c") == b"\x1b[>0;10;1c"
    assert reply(b"\x1b[>0c") == b"\x1b[>0;10;1c"
    assert reply(b"\x1b[=c") == b""


def test_status_and_cursor_reports() -> None:
    assert reply(b"\x1b[5n") == b"\x1b[0n"
    assert reply(b"\x1b[3;7H\x1b[6n") == b"\x1b[3;7R"
    assert reply(b"\x1b[3;7H\x1b[?6n") == b"\x1b[?3;7R"
    # origin mode: relative to the top margin
    assert reply(b"\x1b[5;10r\x1b[?6h\x1b[2;3H\x1b[6n") == b"\x1b[2;3R"
    # pending wrap: the cursor is reported in the last column
    assert reply(b"x" * 80 + b"\x1b[6n") == b"\x1b[1;80R"


def test_decrqm() -> None:
    assert reply(b"\x1b[?2004$p") == b"\x1b[?2004;2$y"
    assert reply(b"\x1b[?2004h\x1b[?2004$p") == b"\x1b[?2004;1$y"
    assert reply(b"\x1b[?25$p\x1b[?7$p\x1b[?1$p") == b"\x1b[?25;1$y\x1b[?7;1$y\x1b[?1;2$y"
    assert reply(b"\x1b[?1049h\x1b[?1049$p") == b"\x1b[?1049;1$y"
    assert reply(b"\x1b[?1002h\x1b[?1000$p\x1b[?1002$p") == b"\x1b[?1000;2$y\x1b[?1002;1$y"
    assert reply(b"\x1b[?9999$p") == b"\x1b[?9999;0$y"
    assert reply(b"\x1b[4h\x1b[4$p\x1b[20$p\x1b[3$p") == b"\x1b[4;1$y\x1b[20;2$y\x1b[3;0$y"


def test_xtversion() -> None:
    expected = f"\x1bP>|ptymux {__version__}\x1b\\".encode()
    assert reply(b"\x1b[>q") == expected
    assert reply(b"\x1b[>0q") == expected


def test_one_answer_per_query_and_taken_once() -> None:
    model = create_model(80, 24, 100, KIND)
    model.feed(b"\x1b[c\x1b[6")
    model.feed(b"n")
    assert model.take_replies() == b"\x1b[?1;2c\x1b[1;1R"
    assert model.take_replies() == b""


def test_filter_and_model_agree_on_every_query() -> None:
    """Every query the filter strips is answered by the model exactly once."""
    for query in QUERIES:
        assert QueryFilter().feed(query) == b""
        answer = reply(query)
        assert answer and answer.count(b"\x1b") == 1 + answer.count(b"\x1b\\"), query


def test_filter_says_whether_it_removed_a_query() -> None:
    from ptymux.term.queries import QueryFilter

    f = QueryFilter()
    f.feed(b"plain \x1b[31mred")
    assert not f.removed
    f.feed(b"ask \x1b[6n")
    assert f.removed
    f.feed(b"\x1b[")  # held: may become a query
    assert not f.removed
    assert f.feed(b">c tail") == b" tail"
    assert f.removed  # a query split across two feeds counts when it completes
