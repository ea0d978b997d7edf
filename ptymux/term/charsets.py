"""Character widths and charsets: what the screen needs to know about a character.

Widths come from ``wcwidth`` (cached); the screen draws text in runs of one-cell and of
two-cell characters found by the regexes of :func:`_run_res`, one character at a time only
for the rest (combining marks, unprintables). The charsets are those a program can designate
into G0/G1 that change what is drawn: DEC special graphics (line drawing) and UK.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from wcwidth import wcwidth as _wcwidth

# ---------------------------------------------------------------------------------------
# Character widths

wcwidth: Callable[[str], int] = lru_cache(maxsize=8192)(_wcwidth)


def _width_class(width: int, first: int, last: int) -> str:
    """A regex character class of the code points in [first, last) that wcwidth gives
    ``width`` cells (and are not combining)."""
    ranges: list[tuple[int, int]] = []
    start = -1
    for cp in range(first, last):
        ch = chr(cp)
        ok = not 0xD800 <= cp < 0xE000 and _wcwidth(ch) == width and not unicodedata.combining(ch)
        if ok and start < 0:
            start = cp
        elif not ok and start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    if start >= 0:
        ranges.append((start, last - 1))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


_RUNS: tuple[re.Pattern[str], re.Pattern[str]] | None = None


def _run_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for runs of one-cell and of two-cell characters (built on first use)."""
    global _RUNS
    if _RUNS is None:
        _RUNS = (
            re.compile(f"[{_width_class(1, 0x20, 0x3000)}]+"),
            re.compile(f"[{_width_class(2, 0x1100, 0x10000)}]+"),
        )
    return _RUNS


@lru_cache(maxsize=4096)
def cell_is_wide(text: str) -> bool:
    return bool(text) and wcwidth(text[0]) == 2


# ---------------------------------------------------------------------------------------
# Charsets

# DEC special graphics (line drawing), for 0x5F..0x7E: xterm's table (pyte has the same; it
# is written out here because importing pyte for it cost the server's start ~15 ms).
_DEC_GRAPHICS = (
    "\u00a0\u25c6\u2592\u2409\u240c\u240d\u240a\u00b0\u00b1\u2591\u240b\u2518"
    "\u2510\u250c\u2514\u253c\u23ba\u23bb\u2500\u23bc\u23bd\u251c\u2524\u2534"
    "\u252c\u2502\u2264\u2265\u03c0\u2260\u00a3\u00b7"
)


def _charset_map(code: str) -> dict[int, str] | None:
    if code == "0":
        return {0x5F + i: ch for i, ch in enumerate(_DEC_GRAPHICS)}
    if code == "A":
        return {0x23: "\u00a3"}
    return None


CHARSETS: dict[str, dict[int, str] | None] = {c: _charset_map(c) for c in "B0A"}
DEC_GRAPHICS: dict[int, str] = CHARSETS["0"] or {}

# The final bytes of the charsets ESC ( and ESC ) designate; those not in CHARSETS act as
# ASCII (B).
CHARSET_CODES = "B0AUK<>4C5RQ7=Y6Z"
