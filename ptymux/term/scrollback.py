"""The bytes that put a session's history into the scrollback of the user's own terminal.

Live output goes to the user's terminal raw, so while attached its scrollback fills by
itself; what a session printed while nobody watched is missing from it. On attach the
server writes ``ScreenModel.scrollback(...)`` just before the redraw: the missing history
lines, then the visible rows of the main screen, each introduced by ``\\r\\n`` at the bottom
row so that each scrolls the terminal one line up. At the end the history lines have gone
into the terminal's scrollback in order, followed there by whatever it showed before, and
the screen shows the session's main screen (which the redraw then repaints exactly,
switching to the alternate screen if the program is on it).

Each line carries its colours and attributes as SGR and ends with a reset, so nothing
bleeds into the next line or into the blank line the next ``\\r\\n`` scrolls in. A line is
never wider than the terminal. A row that soft-wraps into the next and fills the width is
followed by the next without ``\\r\\n``: the terminal autowraps, so it too knows the two rows
as one line (for selection and copy, and for terminals that reflow).
"""

from __future__ import annotations

from collections.abc import Iterable

# Out of an alternate screen, margins, origin mode, insert mode, autowrap on, default pen and
# charsets, cursor to the bottom row (CUP clamps: any height works). The contract is a
# terminal on its main screen with default modes; this is cheap insurance for a terminal a
# switch left in another session's state.
START = (
    "\x1b[?1049l\x1b[r\x1b[?6l\x1b[?7h\x1b[4l\x1b[0m\x1b(B\x1b)B\x0f"
    "\x1b[9999;1H"
)


def lines_to_bytes(lines: Iterable[tuple[str, int, bool]], cols: int) -> bytes:
    """``lines``: (text with its SGR, ending in a reset when it has set any; width in cells,
    at most ``cols``; whether it soft-wraps into the next line)."""
    out = [START]
    joined = False  # the line before filled the width and wraps into this one
    for text, width, wrapped in lines:
        if joined and width:
            # Let the terminal wrap (so it knows the rows as one line) on a space in the
            # default colours, then overwrite it: wrapping on the row's own first cell
            # would scroll while its colours are set, and terminals fill the row scrolled
            # in with the current background (BCE), a band the session never had.
            out.append(" \r")
        else:
            out.append("\r\n")
        out.append(text)
        joined = wrapped and width == cols
    return "".join(out).encode("utf-8", "replace")


def new_lines(total: int, held: int, since: int | None, limit: int) -> int:
    """How many of the ``held`` newest history lines to write: those added after the
    counter (``history_total``) stood at ``since`` (all of them for None), at most
    ``limit``."""
    count = held if since is None else total - since
    return max(0, min(count, held, limit))
