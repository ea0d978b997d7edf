"""Scrollback storage: lines that scrolled off, compressed in blocks.

A history line never changes once it has scrolled off, and it is read only by ``capture``,
so most of it can sit compressed: every BLOCK lines are pickled and zlib-compressed
together (pens repeat within a block and pickle shares them). A full 2000-line history of
coloured text then costs tens of kilobytes instead of most of a megabyte, which is what lets
a hundred sessions fit in a small server. The newest lines stay uncompressed.
"""

from __future__ import annotations

import pickle
import zlib
from collections import deque
from collections.abc import Iterator
from typing import Any

BLOCK = 128


class History:
    """A bounded sequence of lines with deque-like ``append`` and indexed reads, and a count
    of every line ever appended (``total``)."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = max(maxlen, 1)
        self._blocks: deque[bytes] = deque()  # full blocks of BLOCK lines, oldest first
        self._first_block = 0  # absolute number of the block at _blocks[0]
        self._skip = 0  # lines of the first block already dropped
        self._tail: list[Any] = []  # the newest lines, fewer than BLOCK
        self._cache: tuple[int, list[Any]] = (-1, [])
        # Lines counted by ``total`` that no block number accounts for: see ``total``.
        self._uncounted = 0

    def __len__(self) -> int:
        return len(self._blocks) * BLOCK - self._skip + len(self._tail)

    @property
    def total(self) -> int:
        """How many lines were ever appended (or ``add_total``-ed), also those since dropped
        or cleared. Derived from the block numbering rather than counted in ``append``, so
        that the flood path pays nothing for it: the lines that went into blocks are
        ``_first_block + len(_blocks)`` blocks (the numbering goes on past dropped and
        cleared blocks), the tail holds the rest; only lines dropped from the tail without
        ever being in a block (a history shorter than a block, a clear) are counted apart."""
        return (self._first_block + len(self._blocks)) * BLOCK + len(self._tail) + self._uncounted

    def add_total(self, count: int) -> None:
        """Count ``count`` lines that went through the history without being stored: lines
        a model skipped (``ScreenModel.skip``) knowing they would be dropped anyway."""
        self._uncounted += count

    def append(self, line: Any) -> None:
        self._tail.append(line)
        if len(self._tail) == BLOCK:
            self._blocks.append(zlib.compress(pickle.dumps(self._tail, 5), 1))
            self._tail = []
        excess = len(self) - self.maxlen
        if excess > 0:
            self._drop(excess)

    def _drop(self, count: int) -> None:
        if not self._blocks:
            del self._tail[:count]
            self._uncounted += count
            return
        self._skip += count
        while self._skip >= BLOCK and self._blocks:
            self._blocks.popleft()
            self._first_block += 1
            self._skip -= BLOCK
        if not self._blocks and self._skip:
            del self._tail[: self._skip]
            self._uncounted += self._skip
            self._skip = 0

    def clear(self) -> None:
        self._first_block += len(self._blocks)
        self._blocks.clear()
        self._uncounted += len(self._tail)
        self._tail = []
        self._skip = 0

    def _block(self, index: int) -> list[Any]:
        number = self._first_block + index
        if self._cache[0] != number:
            self._cache = (number, pickle.loads(zlib.decompress(self._blocks[index])))
        return self._cache[1]

    def __getitem__(self, i: int) -> Any:
        size = len(self)
        if i < 0:
            i += size
        if not 0 <= i < size:
            raise IndexError("history index out of range")
        j = i + self._skip
        if j < len(self._blocks) * BLOCK:
            return self._block(j // BLOCK)[j % BLOCK]
        return self._tail[j - len(self._blocks) * BLOCK]

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def lines(self) -> list[Any]:
        """Every line held, oldest first (decompressed in bulk: faster than iterating)."""
        return self.slice(0, len(self))

    def slice(self, start: int, stop: int) -> list[Any]:
        """Lines ``start`` to ``stop`` (0 <= start <= stop <= len), oldest first: each block
        decompressed once, not looked up line by line (the hand-over writes every history,
        and indexing costs ~3 us a line)."""
        first, last = start + self._skip, stop + self._skip
        stored = len(self._blocks) * BLOCK
        out: list[Any] = []
        end = min(last, stored)
        for index in range(first // BLOCK, (end + BLOCK - 1) // BLOCK):
            lines = pickle.loads(zlib.decompress(self._blocks[index]))
            base = index * BLOCK
            out += lines[max(first - base, 0): last - base]
        if last > stored:
            out += self._tail[max(first - stored, 0): last - stored]
        return out

    def truncate(self, keep: int) -> None:
        """Drop all but the oldest ``keep`` lines (a resize rewrites the newest ones).
        ``total`` does not change."""
        if keep >= len(self):
            return
        total = self.total
        j = max(keep, 0) + self._skip  # where the cut falls in the blocks, then the tail
        stored = len(self._blocks) * BLOCK
        if j >= stored:
            del self._tail[j - stored :]
        else:
            index = j // BLOCK
            first = self._skip if index == 0 else 0
            self._tail = self._block(index)[first : j % BLOCK]
            while len(self._blocks) > index:
                self._blocks.pop()
            if index == 0:
                self._skip = 0
            self._cache = (-1, [])  # (block numbers are reused by the next appends)
        self.set_total(total)

    def set_total(self, total: int) -> None:
        """Make ``total`` read ``total`` from now on (see ``Terminal.resize``)."""
        self._uncounted += total - self.total
