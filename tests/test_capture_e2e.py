"""``ptymux capture`` through the real server: screen, history, colours, joined lines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import MODELS, isolated_mux

from harness import Mux, wait_until


@pytest.fixture(params=[*MODELS, "pyte"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    """Every test here runs on every model (conftest.MODELS, and pyte, which is offered as
    ``PTYMUX_EMULATOR=pyte`` and must capture the same way)."""
    if request.param == "ghostty":
        from ptymux.term.ghostty_model import available

        if not available():
            pytest.skip("pyghostty is not installed")
    yield from isolated_mux(request.param)


def _capture(mux: Mux, *args: str) -> list[str]:
    result = mux.run("capture", "-t", "c", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[:-1]


def test_capture_screen_and_history(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "c", "--history", "50", "--", "sh", "-c",
            "i=1; while [ $i -le 100 ]; do echo row$i; i=$((i+1)); done; sleep 60", check=True)
    wait_until(lambda: "row100" in mux.run("capture", "-t", "c").stdout, what="row100")
    screen = _capture(mux)
    assert len(screen) == 24
    assert screen[0] == "row78" and screen[22] == "row100" and screen[23] == ""
    assert _capture(mux, "-S", "-3", "-E", "0") == ["row75", "row76", "row77", "row78"]
    assert _capture(mux, "-S", "0", "-E", "-3") == ["row75", "row76", "row77", "row78"]
    history = _capture(mux, "-S", "-1000", "-E", "-1")
    assert len(history) == 50  # --history 50 kept the last 50 lines that scrolled off
    assert history[0] == "row28" and history[-1] == "row77"


def test_capture_keeps_colours_with_e(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "c", "--", "sh", "-c",
            r"printf '\033[1;31mred\033[0m \033[38;5;208mo\033[0m\n'; sleep 60", check=True)
    wait_until(lambda: "red" in mux.run("capture", "-t", "c").stdout, what="red")
    plain = _capture(mux)
    assert plain[0] == "red o"
    coloured = _capture(mux, "-e")[0]
    assert "\x1b[" in coloured
    assert "1" in coloured and "31" in coloured and "38;5;208" in coloured
    assert coloured.replace("\x1b[0m", "").count("red") == 1


def test_capture_joins_wrapped_lines_with_j(mux: Mux) -> None:
    long = "x" * 100 + "END"
    mux.run("new", "-d", "-s", "c", "--", "sh", "-c", f"echo {long}; echo next; sleep 60",
            check=True)
    wait_until(lambda: "next" in mux.run("capture", "-t", "c").stdout, what="next")
    assert _capture(mux)[:3] == ["x" * 80, "x" * 20 + "END", "next"]
    assert _capture(mux, "-J")[:2] == [long, "next"]


def test_a_capture_of_100k_lines_is_streamed(mux: Mux) -> None:
    # ~7.5 MB of text: far more than one frame (1 MiB) holds; it comes in chunks, in order
    mux.run("new", "-d", "-s", "c", "--history", "110000", "--", "sh", "-c",
            "awk 'BEGIN { for (i = 0; i < 100000; i++) printf \"%070d\\n\", i }';"
            " echo DONE; sleep 60", check=True)
    # (the first capture makes the model catch up with 7.5 MB: pyte's takes ~10 s alone)
    wait_until(lambda: "DONE" in mux.run("capture", "-t", "c", timeout=90).stdout,
               timeout=120, what="the output")
    big = mux.run("capture", "-t", "c", "-S", "-110000", timeout=90)
    assert big.returncode == 0, big.stderr
    lines = big.stdout.split("\n")
    assert lines[:100000] == [f"{i:070d}" for i in range(100000)]
    assert lines[100000] == "DONE"
    assert _capture(mux, "-S", "-2")[-2:] == ["DONE", ""]  # the session is fine
