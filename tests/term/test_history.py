"""The compressed history behaves like a bounded deque."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptymux.term.history import BLOCK, History


@settings(max_examples=200, deadline=None)
@given(maxlen=st.integers(1, 3 * BLOCK), count=st.integers(0, 6 * BLOCK),
       clear_at=st.integers(-1, 6 * BLOCK))
def test_history_matches_a_deque(maxlen: int, count: int, clear_at: int) -> None:
    history = History(maxlen)
    reference: deque[tuple[int, str]] = deque(maxlen=maxlen)
    for i in range(count):
        if i == clear_at:
            history.clear()
            reference.clear()
        line = (i, f"line {i}")
        history.append(line)
        reference.append(line)
    assert len(history) == len(reference)
    assert list(history) == list(reference)
    assert history.total == count  # (every line appended, also those dropped or cleared)
    history.add_total(5)
    assert history.total == count + 5
    if reference:
        assert history[-1] == reference[-1]
        assert history[0] == reference[0]
    with pytest.raises(IndexError):
        history[len(reference)]


@settings(max_examples=200, deadline=None)
@given(maxlen=st.integers(1, 3 * BLOCK), count=st.integers(0, 6 * BLOCK),
       keep=st.integers(-1, 3 * BLOCK), data=st.data())
def test_a_slice_is_what_indexing_reads(maxlen: int, count: int, keep: int,
                                        data: st.DataObject) -> None:
    """``slice`` (read a block at a time) agrees with indexing line by line, also after a
    truncate and with the first block partly dropped."""
    history = History(maxlen)
    for i in range(count):
        history.append(i)
    if keep >= 0:
        history.truncate(keep)
    lines = [history[i] for i in range(len(history))]
    assert history.lines() == lines
    start = data.draw(st.integers(0, len(lines)))
    stop = data.draw(st.integers(start, len(lines)))
    assert history.slice(start, stop) == lines[start:stop]


def test_history_is_compressed() -> None:
    import sys

    history = History(2000)
    for i in range(2000):
        history.append(("x" * 70 + str(i), (), False))
    stored = sum(len(b) for b in history._blocks) + sum(sys.getsizeof(x) for x in history._tail)
    assert stored < 2000 * 20  # raw, these lines would take ~150 bytes each
