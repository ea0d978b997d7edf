"""Terminal emulation: the per-session virtual screen and the bytes that redraw it.

Three implementations of ``ScreenModel``, chosen per session (``new`` sends the client's
``PTYMUX_EMULATOR`` or config ``emulator``):

- ``ghostty``: libghostty-vt through ``pyghostty`` (a dependency on Linux x86-64 and
  aarch64): native, ~50x faster than ``vt``, so no output can outrun it. The default
  where it imports.
- ``vt``: our own emulator in Python, the most xterm-exact (74 of 76 corpus cases against
  ghostty's 59) and the lightest (0.15 MB a session). The default where pyghostty is missing.
- ``pyte``: stock pyte behind the same interface; fewer modes survive a redraw.

``auto`` (or nothing) means ghostty where available, else vt. A ghostty that cannot be
loaded also falls back to vt.
"""

from __future__ import annotations

from ptymux.protocol import EMULATORS
from ptymux.term.model import ScreenModel


def create_model(cols: int, rows: int, history: int, kind: str | None = None) -> ScreenModel:
    """The emulator model for a new session (``kind``: one of EMULATORS, None = auto)."""
    if kind in (None, "auto", "ghostty"):
        from ptymux.term import ghostty_model

        if ghostty_model.available():
            return ghostty_model.GhosttyModel(cols, rows, history)
    if kind == "pyte":
        from ptymux.term.pyte_model import PyteModel

        return PyteModel(cols, rows, history)
    from ptymux.term.vt_model import VtModel

    return VtModel(cols, rows, history)


__all__ = ["EMULATORS", "ScreenModel", "create_model"]
