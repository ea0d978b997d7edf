"""Skipping what a flood scrolls away: the model need not render lines nobody can see.

After ``keep`` more complete lines, no row of the screen and no line of the history holds
anything written before them. So when a large backlog of output is made only of text, line
ends and SGR sequences, everything but its last ``keep`` lines can be dropped, provided the
pen (colours and attributes) it would have left behind is carried over. That turns catching
up with a 20 MB ``cat`` into rendering a few thousand lines.

What may be skipped is deliberately narrow: printable text (any UTF-8), CR, LF, TAB, BS, BEL
and SGR sequences (``CSI ... m``). Anything else — another escape sequence, a query, a
charset shift, a title — ends the skippable region, so it always reaches the model.
"""

from __future__ import annotations

import re

# What ends the skippable region: a C0 control other than BEL BS TAB LF CR ESC, or DEL
# (found by mapping those bytes to 0: translate + find run at ~1 GB/s, a regex character
# class at a third of that), or an ESC that does not start a complete SGR sequence.
_SAFE_C0 = b"\x07\x08\x09\x0a\x0d\x1b"
_UNSAFE_TO_ZERO = bytes(0 if (b < 0x20 and bytes([b]) not in _SAFE_C0) or b == 0x7F else 1
                        for b in range(256))
_BAD_ESC = re.compile(rb"\x1b(?!\[[0-9;:]*m)")
_SGR = re.compile(rb"\x1b\[[0-9;:]*m")
_RESETS = (b"\x1b[0m", b"\x1b[m")


def plan_skip(data: bytes | bytearray, start: int, keep: int) -> tuple[int, bytes] | None:
    """Where ``data`` may be cut, and the SGR bytes that carry the pen across the cut.

    ``start`` is a line start the model has reached (everything before it is fed). The cut is
    just after a ``\\r\\n`` with at least ``keep`` further ``\\r\\n`` before the first unsafe
    byte; ``data[start:cut]`` may then be replaced by the returned SGR bytes. ``None`` when
    nothing can be skipped.
    """
    end = data.translate(_UNSAFE_TO_ZERO).find(0, start)
    if end < 0:
        end = len(data)
    bad_esc = _BAD_ESC.search(data, start, end)
    if bad_esc:
        end = bad_esc.start()
    pos = end
    for _ in range(keep + 1):
        pos = data.rfind(b"\r\n", start, pos)
        if pos < 0:
            return None
    cut = pos + 2
    if cut <= start:
        return None
    # Only SGR after the last full reset in the skipped part can matter to the pen.
    reset = max(data.rfind(r, start, cut) for r in _RESETS)
    first = start if reset < 0 else reset
    pen = b"".join(_SGR.findall(data, first, cut))
    return cut, pen
