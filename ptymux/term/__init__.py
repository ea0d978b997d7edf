"""Terminal emulation: the per-session virtual screen and the bytes that redraw it.

Three implementations of ``ScreenModel``, chosen per session (``new`` sends the client's
``PTYMUX_EMULATOR`` or config ``emulator``):

- ``vt`` (the default): our own emulator in Python, the most xterm-exact (74 of 76 corpus
  cases against ghostty's 59) and the lightest (0.15 MB for a session with 2000 lines of
  coloured history, ghostty ~2 MB); skipping what scrolls away unseen keeps it ahead of floods.
- ``ghostty``: libghostty-vt through the optional ``pyghostty`` (``pip install
  'ptymux[native]'``): native, ~50x faster to feed, so no output can outrun it; falls back
  to ``vt`` where it cannot be loaded.
- ``pyte``: stock pyte behind the same interface; fewer modes survive a redraw.

Why vt and not the native one by default: docs/performance.md, "Native emulator".
"""

from __future__ import annotations

from ptymux.protocol import EMULATORS
from ptymux.term.model import ScreenModel


def create_model(cols: int, rows: int, history: int, kind: str | None = None) -> ScreenModel:
    """The emulator model for a new session (``kind``: one of EMULATORS, None = vt)."""
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
