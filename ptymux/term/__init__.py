"""Terminal emulation: the per-session virtual screen and the bytes that redraw it."""

from __future__ import annotations

from ptymux.term.model import ScreenModel


def create_model(cols: int, rows: int, history: int) -> ScreenModel:
    """The emulator model for a new session."""
    from ptymux.term.pyte_model import PyteModel

    return PyteModel(cols, rows, history)


__all__ = ["ScreenModel", "create_model"]
