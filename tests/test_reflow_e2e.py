"""Reflow through the real server: a client's terminal narrows then widens, the session's
long lines come back whole (the emulator re-wraps them; the program does not redraw)."""

from __future__ import annotations

from harness import Mux, wait_until

# Three lines of 150 characters, one of them coloured, then a prompt-like line: printed once
# by a program that does not redraw on SIGWINCH (``exec sleep``).
LINES = [f"L{i}:" + ("abcdefghijklmnopqrstuvwxyz0123456789" * 5)[:147] for i in range(3)]
SCRIPT = ("printf '%s\\n\\033[32m%s\\033[0m\\n%s\\n' " + " ".join(LINES)
          + "; printf 'done $ '; exec sleep 999")


def _capture(mux: Mux, *args: str) -> list[str]:
    result = mux.run("capture", "-t", "S", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[:-1]


def _wait_size(mux: Mux, cols: int, rows: int) -> None:
    wait_until(lambda: f"({cols}x{rows})" in mux.run("ls").stdout,
               what=f"the session at {cols}x{rows}")


def test_narrowing_then_widening_gives_the_lines_back_whole(model_mux: Mux) -> None:
    mux = model_mux
    mux.run("new", "-d", "-s", "S", "-x", "80", "-y", "24", "--", "sh", "-c", SCRIPT,
            check=True)
    wait_until(lambda: "done $" in mux.run("capture", "-t", "S").stdout, what="the output")
    term = mux.spawn("attach", "-t", "S", cols=80, rows=24)
    term.wait_for("done $")
    _wait_size(mux, 80, 24)
    assert _capture(mux, "-J")[:4] == [*LINES, "done $"]

    term.resize(40, 24)
    _wait_size(mux, 40, 24)
    rows = [line[i : i + 40] for line in LINES for i in range(0, 150, 40)]
    assert _capture(mux)[:13] == [*rows, "done $"]
    assert _capture(mux, "-J")[:4] == [*LINES, "done $"]

    term.resize(100, 24)
    _wait_size(mux, 100, 24)
    rows = [line[i : i + 100] for line in LINES for i in range(0, 150, 100)]
    assert _capture(mux)[:7] == [*rows, "done $"]
    assert _capture(mux, "-J", "-S", "-100")[:4] == [*LINES, "done $"]
    coloured = _capture(mux, "-J", "-e")[1]
    assert "\x1b[0;32m" in coloured and coloured.replace("\x1b[0;32m", "").replace(
        "\x1b[0m", "") == LINES[1]
    # what the user sees: the redraw after the resize shows the rewrapped rows
    wait_until(lambda: term.lines()[:7] == [*rows, "done $"], what="the terminal's rows")
