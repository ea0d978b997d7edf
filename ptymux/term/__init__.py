"""Terminal emulation: the per-session virtual screen and the bytes that redraw it.

``PTYMUX_EMULATOR`` picks the implementation for new sessions: ``vt`` (the default, our own
emulator built for faithful redraw), ``ghostty`` (libghostty-vt through the optional
``pyghostty`` package: 20x faster, less faithful; falls back to ``vt`` where it is not
installed) or ``pyte`` (stock pyte behind the same interface; fewer modes survive a redraw).
"""

from __future__ import annotations

import os

from ptymux.term.model import ScreenModel

EMULATORS = ("vt", "ghostty", "pyte")


def create_model(cols: int, rows: int, history: int) -> ScreenModel:
    """The emulator model for a new session."""
    kind = os.environ.get("PTYMUX_EMULATOR", "vt")
    if kind == "ghostty":
        from ptymux.term import ghostty_model

        if ghostty_model.available():
            return ghostty_model.GhosttyModel(cols, rows, history)
    if kind == "pyte":
        from ptymux.term.pyte_model import PyteModel

        return PyteModel(cols, rows, history)
    from ptymux.term.vt_model import VtModel

    return VtModel(cols, rows, history)


__all__ = ["EMULATORS", "ScreenModel", "create_model"]
