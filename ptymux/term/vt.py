"""ptymux's own VT/xterm emulator core, built for faithful redraw: :class:`Terminal`.

pyte's parser is a per-character generator and its ``Char`` cannot hold what a faithful
redraw needs (dim, hidden, overline, the exact colour syntax), so the emulator is ours, in
four modules (as pyte and tmux split theirs):

- :mod:`ptymux.term.vt_parser`: the regex tokenizer; it names the operation each token is
  (``draw``, ``linefeed``, ``csi_cup``, ``osc_title``...) and calls it;
- :mod:`ptymux.term.vt_screen`: the screen that performs them (cursor, erase, scroll,
  modes, alternate screen, tabs, charsets, saved cursor, OSC state, replies, resize);
- :mod:`ptymux.term.cells`: pens, rows and compact history lines;
- :mod:`ptymux.term.charsets`: character widths and the DEC graphics and UK charsets.

This module puts the parser and the screen together and re-exports the names the rest of
ptymux uses, so that they are imported from here.
"""

from __future__ import annotations

from ptymux.term.cells import (
    ACS,
    BLINK,
    BOLD,
    DEFAULT,
    DIM,
    HIDDEN,
    ITALIC,
    OVERLINE,
    PROTECTED,
    REVERSE,
    STRIKE,
    HistLine,
    Pen,
    Row,
    acs_pen,
    apply_sgr,
    blank_row,
    cell_text,
    compact,
    erase_pen,
    pen_escape,
    pen_sgr,
)
from ptymux.term.charsets import CHARSETS, DEC_GRAPHICS, _run_res, cell_is_wide, wcwidth
from ptymux.term.contained import count_error
from ptymux.term.vt_parser import Parser
from ptymux.term.vt_screen import (
    ALLOW_DECCOLM,
    ALT_MODES,
    DA1_REPLY,
    DA2_REPLY,
    DECCOLM,
    DYNAMIC_DEFAULTS,
    FLAG_MODES,
    KITTY_DEPTH,
    KNOWN_DEC,
    LEFT_RIGHT_MODE,
    MAX_PROMPTS,
    MOUSE_ENCODINGS,
    MOUSE_MODES,
    REVERSE_WRAP,
    REVERSE_WRAP_EXTENDED,
    SAVE_CURSOR_MODE,
    XTVERSION_REPLY,
    SavedCursor,
    Screen,
    default_colour,
    set_tracked_mode,
)

__all__ = [
    "ACS", "ALLOW_DECCOLM", "ALT_MODES", "BLINK", "BOLD", "CHARSETS", "DA1_REPLY", "DA2_REPLY",
    "DECCOLM", "DEC_GRAPHICS", "DEFAULT", "DIM", "DYNAMIC_DEFAULTS", "FLAG_MODES", "HIDDEN",
    "ITALIC", "KITTY_DEPTH", "KNOWN_DEC", "LEFT_RIGHT_MODE", "MAX_PROMPTS", "MOUSE_ENCODINGS",
    "MOUSE_MODES",
    "OVERLINE", "PROTECTED", "REVERSE", "REVERSE_WRAP", "REVERSE_WRAP_EXTENDED",
    "SAVE_CURSOR_MODE", "STRIKE",
    "XTVERSION_REPLY", "HistLine", "Parser", "Pen", "Row", "SavedCursor", "Screen", "Terminal",
    "_run_res", "acs_pen", "apply_sgr", "blank_row", "cell_is_wide", "cell_text", "compact",
    "count_error", "default_colour", "erase_pen", "pen_escape", "pen_sgr", "set_tracked_mode",
    "wcwidth",
]


class Terminal(Screen, Parser):
    """The emulator: feed it program output (:meth:`feed`), read its state (the screen's
    attributes). The parser's operations are the screen's methods."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        Screen.__init__(self, cols, rows, history)
        Parser.__init__(self)
