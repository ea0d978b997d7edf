"""Strip the terminal queries the server answers itself from the stream sent to clients.

The model (fed the unfiltered bytes) answers DA1, DA2, DSR 5/6, DECRQM, XTVERSION, the kitty
keyboard flags query and the colour queries (OSC 4/10/11/12 with ``?``) through
``take_replies()``; forwarding them too would make every attached client answer as well.
"""

from __future__ import annotations

import re

# DA1 (CSI c, CSI 0 c), DA2 (CSI > c, CSI > 0 c), DSR (CSI 5 n, CSI 6 n, CSI ? 6 n),
# DECRQM (CSI ? n $ p, CSI n $ p), XTVERSION (CSI > q, CSI > 0 q), kitty keyboard flags
# (CSI ? u); colours: OSC 4 ; N ; ? (one or more pairs), OSC 10/11/12 ; ? (one or more,
# for the next numbers), ended by BEL or ST. An OSC that sets a colour and asks another in
# one go is not taken out: it must reach the terminal (rare; then the terminal answers too).
_QUERY = re.compile(
    rb"\x1b\[(?:>?0?c|[56]n|\?6n|\??[0-9]+\$p|>0?q|\?u)"
    rb"|\x1b\](?:4(?:;[0-9]{1,3};\?)+|1[0-2](?:;\?)+)(?:\x07|\x1b\\)"
)
# What a query cut short at the end of a read can look like so far.
_PARTIAL = re.compile(
    rb"\x1b(?:\[(?:[>?]?[0-9]*\$?)?"
    rb"|\](?:4(?:;[0-9]{1,3};\?)*(?:;[0-9]{0,3}(?:;\??)?)?|1(?:[0-2](?:;\?)*;?)?)?\x1b?)?"
)
_TAIL = 48  # only this many trailing bytes are looked at for a partial query


def has_query(data: bytes) -> bool:
    """Whether ``data`` holds a complete query (cheap when it holds no ESC at all)."""
    return b"\x1b" in data and _QUERY.search(data) is not None


class QueryFilter:
    """Stateful: a query split across two reads is still removed. Only an incomplete
    trailing escape sequence that could still become a query is held back (a few bytes)."""

    __slots__ = ("_held", "removed")

    def __init__(self) -> None:
        self._held = b""
        self.removed = False  # whether the last feed() took a query out

    def feed(self, data: bytes) -> bytes:
        """The bytes to forward to clients: ``data`` (after anything held back) with the
        queries removed, minus a possibly incomplete query at its end."""
        self.removed = False
        if self._held:
            data = self._held + data
            self._held = b""
        if b"\x1b" not in data:
            return data
        if _QUERY.search(data) is not None:
            data = _QUERY.sub(b"", data)
            self.removed = True
        start = max(len(data) - _TAIL, 0)
        i = data.rfind(b"\x1b", start)
        if i > start:  # an OSC query whose ST has begun: from its own ESC
            j = data.rfind(b"\x1b]", start, i)
            if j >= 0 and _PARTIAL.fullmatch(data, j) is not None:
                i = j
        if i >= 0 and _PARTIAL.fullmatch(data, i) is not None:
            self._held = data[i:]
            return data[:i]
        return data

    def flush(self) -> bytes:
        """Release whatever is held back (the stream paused mid-sequence)."""
        held, self._held = self._held, b""
        return held

    @property
    def pending(self) -> bool:
        """Whether bytes are being held back."""
        return bool(self._held)
