"""Whether the native model loads: not behind an importorskip (test_ghostty_model.py is),
so that an installed pyghostty whose library cannot be loaded fails here."""

from __future__ import annotations

import importlib.util

from ptymux.term import create_model, ghostty_model
from ptymux.term.vt_model import VtModel


def test_available_when_and_only_when_pyghostty_is_installed() -> None:
    installed = importlib.util.find_spec("pyghostty") is not None
    assert ghostty_model.available() == installed


def test_create_model_falls_back_to_vt_only_when_unavailable() -> None:
    model = create_model(80, 24, 10, "ghostty")
    assert isinstance(model, VtModel) != ghostty_model.available()
