"""has_query: the session's cue to answer a program's question without delay."""

from ptymux.term.queries import has_query


def test_has_query() -> None:
    assert has_query(b"abc\x1b[6n")
    assert has_query(b"\x1b[>c")
    assert has_query(b"\x1b[?2004$p")
    assert not has_query(b"plain text")
    assert not has_query(b"\x1b[31mred\x1b[0m \x1b[6A")
    assert not has_query(b"\x1b[6")  # incomplete: the filter holds it; the model answers later
