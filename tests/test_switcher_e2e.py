"""End-to-end: key bindings, the session switcher, moving on when a program exits, and the
scrollback written on attach, with the real client in a real pty (tmux plays the user's
terminal, so the alternate screen, modes, title and scrollback can be read back)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from conftest import isolated_mux

from harness import PTYMUX, Mux, TmuxTerminal, wait_until

HOLD = "sleep 600"


@pytest.fixture(params=["passed", "frames"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    """Bindings are matched by the server (terminal passed) or by the client (frames): the
    same keys must do the same on both paths."""
    for world in isolated_mux():
        if request.param == "frames":
            world.env["PTYMUX_PASS_TERMINAL"] = "0"
        yield world


@pytest.fixture
def local() -> Iterator[Mux]:
    yield from isolated_mux()


def _sessions(mux: Mux) -> dict[str, dict[str, object]]:
    out = mux.run("ls", "--json", check=True).stdout
    return {s["name"]: s for s in json.loads(out)}


def _start(mux: Mux, name: str, text: str) -> None:
    script = f"printf '{text}\\n'; {HOLD}"
    mux.run("new", "-d", "-s", name, "-x", "80", "-y", "24", "--", "sh", "-c", script,
            check=True)


def _attached_to(mux: Mux, name: str) -> bool:
    return _sessions(mux).get(name, {}).get("attached") == 1


def _config(mux: Mux, text: str) -> None:
    with open(mux.env["PTYMUX_CONFIG"], "w") as f:
        f.write(text)


def _open_switcher(term: TmuxTerminal, *names: str) -> None:
    term.keys("C-p", "C-o")
    for name in names:
        term.wait_for(name)


def test_switcher_lists_previews_and_switches(mux: Mux) -> None:
    _start(mux, "alpha", "\\033[31mALPHA-SCREEN\\033[0m")
    _start(mux, "beta", "\\033[?1h\\033[32mBETA-SCREEN\\033[0m")  # + cursor keys mode
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    wait_until(lambda: term.title() == "ptymux: alpha", what="the title")
    _open_switcher(term, "alpha", "beta")
    assert "ALPHA-SCREEN" in term.text()  # the preview of the highlighted (current) one
    assert "\x1b[31m" in term.screen()  # with its colours
    assert _sessions(mux)["alpha"]["attached"] == 0  # the switcher is attached to nothing
    term.keys("Down")
    term.wait_for("BETA-SCREEN")
    term.keys("Enter")
    try:
        wait_until(lambda: _attached_to(mux, "beta"), what="beta attached")
    except AssertionError:
        print(term.text(), mux.run("ls").stdout, mux.log())
        raise
    wait_until(lambda: term.text().splitlines()[0] == "BETA-SCREEN", what="beta's redraw")
    assert "alpha" not in term.text()  # the switcher is gone, the session fully drawn
    wait_until(lambda: term.title() == "ptymux: beta", what="the title")
    assert "\x1b[32mBETA-SCREEN" in term.screen()  # its colours
    assert term.state().split()[4] == "1"  # and its modes: application cursor keys
    assert not _attached_to(mux, "alpha")
    term.detach()
    assert "[detached (from session beta)]" in term.text()


def test_escape_returns_and_keys_still_work(mux: Mux) -> None:
    _start(mux, "alpha", "ALPHA-SCREEN")
    _start(mux, "beta", "BETA-SCREEN")
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    _open_switcher(term, "beta")
    term.keys("Escape")
    wait_until(lambda: _attached_to(mux, "alpha"), what="alpha again")
    wait_until(lambda: "beta" not in term.text(), what="the switcher to close")
    assert term.text().splitlines()[0] == "ALPHA-SCREEN"
    _open_switcher(term, "beta")
    term.keys("q")
    wait_until(lambda: _attached_to(mux, "alpha"), what="alpha again")
    term.detach()
    assert "[detached (from session alpha)]" in term.text()


def test_next_previous_and_digits(mux: Mux) -> None:
    for name in ("s0", "s1", "s2"):
        _start(mux, name, f"SCREEN-{name}")
    term = mux.tmux("attach", "-t", "s0")
    term.wait_for("SCREEN-s0")
    for key, name in (("n", "s1"), ("n", "s2"), ("n", "s0"), ("p", "s2"), ("1", "s1")):
        _open_switcher(term, "s2")
        term.keys(key)
        wait_until(lambda name=name: _attached_to(mux, name), what=f"{key} -> {name}")
        term.wait_for(f"SCREEN-{name}")
    term.detach()


def test_create_rename_and_kill_from_the_switcher(mux: Mux) -> None:
    _start(mux, "alpha", "ALPHA-SCREEN")
    _start(mux, "doomed", "DOOMED")
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    # c: a new session, running $SHELL (sh here), attached at once
    _open_switcher(term, "doomed")
    term.keys("c")
    wait_until(lambda: len(_sessions(mux)) == 3, what="a third session")
    new = next(s for s in _sessions(mux).values() if s["name"] not in ("alpha", "doomed"))
    wait_until(lambda: _attached_to(mux, str(new["name"])), what="the new session attached")
    term.wait_for("$")
    # r: rename the highlighted one (the current: the new session)
    _open_switcher(term, "doomed")
    term.keys("r")
    term.keys("C-u")
    term.literal("fresh")
    term.keys("Enter")
    wait_until(lambda: "fresh" in _sessions(mux), what="the rename")
    # x: kill after a confirmation; n keeps it, y kills it
    term.keys("Up")  # from 'fresh' (id 2) to 'doomed' (id 1)
    term.wait_for("DOOMED")
    term.keys("x")
    term.wait_for("y/n")
    term.keys("n")
    assert "doomed" in _sessions(mux)
    term.keys("x")
    term.wait_for("y/n")
    term.keys("y")
    wait_until(lambda: "doomed" not in _sessions(mux), what="the kill")
    term.keys("Escape")
    wait_until(lambda: _attached_to(mux, "fresh"), what="back to the current one")
    term.detach()


def test_detach_from_the_switcher_leaves_the_terminal_clean(local: Mux) -> None:
    mux = local
    # A program that leaves the alternate screen, mouse reporting and keypad on.
    script = "printf '\\033[?1049h\\033[?1000h\\033=\\033[?1hIN-ALT'; " + HOLD
    mux.run("new", "-d", "-s", "full", "-x", "80", "-y", "24", "--", "sh", "-c", script,
            check=True)
    term = mux.tmux("attach", "-t", "full")
    term.wait_for("IN-ALT")
    assert term.state().split()[0] == "1"  # in the alternate screen
    _open_switcher(term, "full")
    term.keys("d")
    wait_until(term.dead, what="the client to exit")
    assert "[detached (from session full)]" in term.text()
    state = term.state().split()
    assert state[0] == "0"  # alternate screen off
    assert state[4:7] == ["0", "0", "0"]  # cursor keys, keypad, mouse
    assert "ptymux" not in term.title()  # the user's title is back


def test_help_lists_the_configured_bindings(local: Mux) -> None:
    mux = local
    _config(mux, '[keys]\nnext-session = "ctrl-p,n"\n')
    _start(mux, "alpha", "ALPHA-SCREEN")
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    _open_switcher(term, "alpha")
    term.keys("?")
    term.wait_for("Ctrl-P Ctrl-Q")
    assert "Ctrl-P n" in term.text()
    assert "Ctrl-P Ctrl-O" in term.text()


def test_a_configured_binding_switches_directly(mux: Mux) -> None:
    _config(mux, '[keys]\nnext-session = "ctrl-p,n"\nlast-session = "ctrl-p,l"\n')
    _start(mux, "alpha", "ALPHA-SCREEN")
    _start(mux, "beta", "BETA-SCREEN")
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    term.keys("C-p", "n")
    wait_until(lambda: _attached_to(mux, "beta"), what="beta attached")
    term.wait_for("BETA-SCREEN")
    term.keys("C-p", "l")  # the most recently used other one
    wait_until(lambda: _attached_to(mux, "alpha"), what="alpha attached")
    term.wait_for("ALPHA-SCREEN")
    term.detach()


def test_a_prefix_and_another_key_reach_the_program(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "cat", "--", "sh", "-c", "stty raw -echo; od -An -tx1 -w1 -v",
            check=True)
    term = mux.tmux("attach", "-t", "cat")
    wait_until(lambda: _attached_to(mux, "cat"), what="attached")
    term.keys("C-p", "C-p", "C-p", "x")
    wait_until(lambda: term.text().split()[:4] == ["10", "10", "10", "78"],
               what="every Ctrl-P and the x, in order")
    term.detach()


def test_an_exit_moves_the_client_to_the_most_recent_other_session(mux: Mux) -> None:
    _start(mux, "older", "OLDER-SCREEN")
    _start(mux, "recent", "RECENT-SCREEN")
    mux.run("new", "-d", "-s", "shell", "--", "sh", check=True)
    term = mux.tmux("attach", "-t", "recent")
    term.wait_for("RECENT-SCREEN")
    term.keys("C-p", "C-q")
    wait_until(term.dead, what="detach")
    term = mux.tmux("attach", "-t", "shell")
    term.wait_for("$")
    term.literal("exit 3")
    term.keys("Enter")
    wait_until(lambda: _attached_to(mux, "recent"), what="moved to 'recent'")
    term.wait_for("RECENT-SCREEN")
    assert term.exit_code() is None  # the same client goes on
    term.detach()


def test_exit_on_close_exits(local: Mux) -> None:
    mux = local
    _config(mux, "exit-on-close = true\n")
    _start(mux, "other", "OTHER")
    mux.run("new", "-d", "-s", "shell", "--", "sh", check=True)
    term = mux.tmux("attach", "-t", "shell")
    term.wait_for("$")
    term.literal("exit 3")
    term.keys("Enter")
    wait_until(term.dead, what="the client to exit")
    assert term.exit_code() == 3
    assert "[exited (session shell, status 3)]" in term.text()


def _history(term: TmuxTerminal) -> list[str]:
    """The terminal's own scrollback (what scrolled off tmux's pane), then its screen."""
    return term._tmux("capture-pane", "-p", "-S", "-").splitlines()


def test_scrollback_is_written_once_per_terminal(local: Mux) -> None:
    mux = local
    script = ("i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo line-$i; done; read x;"
              " echo more-1; echo more-2; " + HOLD)
    mux.run("new", "-d", "-s", "log", "-x", "80", "-y", "10", "--", "sh", "-c", script,
            check=True)
    wait_until(lambda: "line-60" in mux.run("capture", "-t", "log").stdout, what="output")
    term = mux.tmux_direct("sh", rows=10)  # one terminal, one tty, several attaches
    term.wait_for("$")

    def attach() -> None:
        term.literal(f"{PTYMUX} attach -t log")
        term.keys("Enter")
        wait_until(lambda: _attached_to(mux, "log"), what="attached")

    def detach() -> None:
        term.keys("C-p", "C-q")
        wait_until(lambda: not _attached_to(mux, "log"), what="detached")
        term.wait_for("[detached")

    def numbered() -> list[str]:
        return [x for x in _history(term) if x.startswith(("line-", "more-"))]

    attach()
    wait_until(lambda: "line-1" in numbered(), what="the history in the scrollback")
    assert numbered()[:60] == [f"line-{i}" for i in range(1, 61)]
    detach()
    attach()  # the same terminal again: nothing new, nothing repeated
    term.wait_for("line-60")
    assert numbered().count("line-1") == 1
    detach()
    mux.run("send-keys", "-t", "log", "Enter", check=True)  # the program prints two more
    wait_until(lambda: "more-2" in mux.run("capture", "-t", "log").stdout, what="more")
    attach()
    term.wait_for("more-2")
    assert numbered().count("line-1") == 1
    detach()


def test_show_config_and_bad_bindings(local: Mux) -> None:
    mux = local
    shown = mux.run("show-config", check=True).stdout
    assert 'detach = "ctrl-p,ctrl-q"' in shown
    assert 'switcher = "ctrl-p,ctrl-o"' in shown
    _config(mux, '[keys]\nswitcher = "ctrl-p,ctrl-oo"\n')
    bad = mux.run("show-config")
    assert bad.returncode == 1
    assert "# not usable: " in bad.stdout
    # new -d and ls need no keys: they work; attaching refuses, naming file and key.
    mux.run("new", "-d", "-s", "x", "--", "sleep", "60", check=True)
    assert "x" in _sessions(mux)
    term = mux.spawn("attach", "-t", "x")
    assert term.wait_exit() == 1
    assert f"config file {mux.env['PTYMUX_CONFIG']}: keys.switcher: bad key 'ctrl-oo'" in (
        term.text().replace("\n", ""))
    assert _sessions(mux)["x"]["attached"] == 0
    missing = {**mux.env, "PTYMUX_CONFIG": os.path.join(mux.root, "none.toml")}
    for command in (["show-config"], ["new", "-d", "--", "true"], ["attach"]):
        gone = mux.run(*command, env=missing)
        assert gone.returncode == 1
        assert gone.stderr.strip().endswith("none.toml: no such file (create it, or unset"
                                            " PTYMUX_CONFIG)")


def test_a_move_and_enter_typed_together_switch(mux: Mux) -> None:
    """Enter right behind a key that moves the highlight (a fast typist, a paste): the
    preview's refresh was waking up as the switcher ended, and it hung (Python 3.11's
    wait_for swallowed the cancellation)."""
    _start(mux, "alpha", "ALPHA-SCREEN")
    _start(mux, "beta", "BETA-SCREEN")
    term = mux.tmux("attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    _open_switcher(term, "beta")
    term.keys("Down", "Enter")
    wait_until(lambda: _attached_to(mux, "beta"), what="beta attached")
    term.wait_for("BETA-SCREEN")
    term.detach()
