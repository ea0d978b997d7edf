"""The xterm.js corpus through real sessions: `cat` each case in an 80x25 session and compare
`ptymux capture` with the screen real xterm showed (see tests/term/test_corpus.py for the
same cases fed to the model directly)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MODELS
from term.test_corpus import CORPUS, known_passing

from harness import Mux, wait_until
from ptymux.term import ghostty_model

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


def _start_world(kind: str) -> Mux:
    """One server with a finished session per known-passing case, named after the case."""
    world = Mux()
    world.env["PTYMUX_EMULATOR"] = kind
    done = Path(world.root) / "done"
    done.mkdir()
    for name in known_passing(kind):
        # -echo: the answers the server gives to queries in a case (t0504-vim asks DA2)
        # would otherwise be echoed onto the screen by the tty, as under any terminal.
        script = (f"stty -echo; cat '{CORPUS / (name + '.in')}'; touch '{done / name}';"
                  " exec sleep 120")
        world.run("new", "-d", "-x", "80", "-y", "25", "-s", name.replace(".", "_"),
                  "--", "sh", "-c", script, check=True)
    wait_until(lambda: len(os.listdir(done)) == len(known_passing(kind)), timeout=60,
               what="every case to be written")
    return world


@pytest.fixture(scope="module")
def corpus_worlds() -> Iterator[Callable[[str], Mux]]:
    """A world per emulator model, started when its first case runs."""
    worlds: dict[str, Mux] = {}

    def world(kind: str) -> Mux:
        if kind not in worlds:
            worlds[kind] = _start_world(kind)
        return worlds[kind]

    try:
        yield world
    finally:
        for each in worlds.values():
            leaked = each.cleanup()
            assert not leaked, f"processes left behind: {leaked}"


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind in MODELS for name in known_passing(kind)]
)
def test_case_through_a_real_session(
    corpus_worlds: Callable[[str], Mux], kind: str, name: str
) -> None:
    if kind == "ghostty" and not ghostty_model.available():
        pytest.skip("pyghostty is not installed")
    world = corpus_worlds(kind)
    expected = (CORPUS / f"{name}.text").read_text("utf-8", "replace").split("\n")[:25]
    expected = [line.rstrip() for line in expected] + [""] * (25 - len(expected))

    def screen() -> list[str]:
        out = world.run("capture", "-t", name.replace(".", "_"), check=True).stdout
        return [line.rstrip() for line in out.split("\n")[:25]]

    # `cat` has finished; the server may still be reading its last bytes from the pty.
    wait_until(lambda: screen() == expected, timeout=5, what=f"{name} to match xterm")
