from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Mux  # noqa: E402

# CI runs the property tests on hypothesis's fixed examples: a random new counterexample must
# fail a developer's run (and be pinned with @example), not an unrelated landing.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.load_profile("ci")


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


# The two models a session may run on, where fidelity must hold for each (vt, the default,
# and the native one, PTYMUX_EMULATOR=ghostty).
MODELS = ["vt", "ghostty"]


@pytest.fixture(params=MODELS)
def model_mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    """An isolated world whose sessions run on one model, for tests run against both."""
    if request.param == "ghostty":
        from ptymux.term.ghostty_model import available

        if not available():
            pytest.skip("pyghostty is not installed")
    yield from isolated_mux(request.param)
