from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Mux  # noqa: E402


def isolated_mux(emulator: str | None = None) -> Iterator[Mux]:
    """An isolated ptymux world; fails the test if it leaves a process behind."""
    world = Mux()
    if emulator:
        world.env["PTYMUX_EMULATOR"] = emulator
    yield world
    leaked = world.cleanup()
    assert not leaked, f"processes left behind: {leaked}"


@pytest.fixture
def mux() -> Iterator[Mux]:
    yield from isolated_mux()
