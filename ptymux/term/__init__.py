"""Terminal emulation: the per-session virtual screen and the bytes that redraw it.

``PTYMUX_EMULATOR`` picks the implementation for new sessions: ``vt`` (the default, our own
emulator built for faithful redraw) or ``pyte`` (stock pyte behind the same interface; fewer
modes survive a redraw).
"""

from __future__ import annotations

import os

from ptymux.term.model import ScreenModel

EMULATORS = ("vt", "pyte")


def create_model(cols: int, rows: int, history: int) -> ScreenModel:
    """The emulator model for a new session."""
    kind = os.environ.get("PTYMUX_EMULATOR", "vt")
    if kind == "pyte":
        from ptymux.term.pyte_model import PyteModel

        return PyteModel(cols, rows, history)
    from ptymux.term.vt_model import VtModel

    return VtModel(cols, rows, history)


__all__ = ["EMULATORS", "ScreenModel", "create_model"]
