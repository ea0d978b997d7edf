"""End-to-end: the real ptymux binary in a real pty, read through a test-side terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from conftest import isolated_mux

from harness import HELPERS, PTYMUX, Mux, Terminal, wait_until

SHELL = ["--", "sh"]


@pytest.fixture(params=["vt", "ghostty", "pyte", "frames"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    """The core must work with every emulator model, and with the terminal passed to the
    server (the default) or with every byte in frames (the way over a byte stream that
    cannot carry fds)."""
    for world in isolated_mux(None if request.param == "frames" else request.param):
        if request.param == "frames":
            world.env["PTYMUX_PASS_TERMINAL"] = "0"
        yield world


def test_detach_and_reattach_shows_the_same_screen(mux: Mux) -> None:
    term = mux.spawn("new", *SHELL)
    term.wait_for("$")
    colours = "\\033[1;31mred\\033[0m \\033[42mgreen bg\\033[0m \\033[38;5;208mo\\033[0m"
    term.send(f"printf '{colours}\\n'; echo done\r")
    term.wait_for("done\n$")
    before = term.snapshot()
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    assert "[detached (from session 0)]" in term.text()

    ls = mux.run("ls")
    assert ls.returncode == 0
    assert ls.stdout.startswith("0: sh (80x24) (created ")

    again = mux.spawn("attach")
    wait_until(lambda: again.snapshot() == before, what="the same screen after re-attach")
    assert "(attached)" in mux.run("ls").stdout
    again.send(b"\x10\x11")
    assert again.wait_exit() == 0


def test_output_produced_while_detached_appears_on_attach(mux: Mux) -> None:
    script = "for i in 1 2 3; do echo line$i; done; sleep 60"
    assert mux.run("new", "-d", "-s", "work", "--", "sh", "-c", script).returncode == 0
    term = mux.spawn("attach", "-t", "work")
    term.wait_for("line1\nline2\nline3")
    assert term.lines()[:3] == ["line1", "line2", "line3"]
    assert term.cursor() == (0, 3)


def _keys_received(term: Terminal) -> str:
    return "".join(line[4:] for line in term.lines() if line.startswith("got:"))


def test_prefix_then_other_key_reaches_the_program(mux: Mux) -> None:
    term = mux.spawn("new", "--", sys.executable, os.path.join(HELPERS, "show_keys.py"))
    term.wait_for("ready")
    term.send(b"\x10")
    term.send(b"x")
    wait_until(lambda: _keys_received(term) == "1078", what="Ctrl-P x as 10 78")
    term.send(b"\x10")
    term.send(b"\x10")  # Ctrl-P Ctrl-P: both (docker's rule; vim and emacs users type it)
    term.send(b"y")
    wait_until(lambda: _keys_received(term) == "1078" + "1010" + "79", what="10 10, then 79")
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    assert "[detached" in term.text()


def test_custom_detach_keys(mux: Mux) -> None:
    term = mux.spawn("new", "--detach-keys", "ctrl-a,d", *SHELL)
    term.wait_for("$")
    term.send(b"\x10\x11")  # not the detach keys any more
    term.send(b"\x01d")
    assert term.wait_exit() == 0
    assert "[detached (from session 0)]" in term.text()


def test_bad_detach_keys_name_the_token(mux: Mux) -> None:
    result = mux.run("new", "-d", "--detach-keys", "ctrl-p,ctrl-foo", "--", "true")
    assert result.returncode == 1
    assert "'ctrl-foo'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_resize_reaches_the_program(mux: Mux) -> None:
    term = mux.spawn("new", *SHELL)
    term.wait_for("$")
    term.send("stty size\r")
    term.wait_for("24 80")
    term.resize(100, 30)
    wait_until(lambda: "(100x30)" in mux.run("ls").stdout, what="the session to follow")
    term.send("clear; stty size\r")
    term.wait_for("30 100")


def test_exit_status_is_reported(mux: Mux) -> None:
    term = mux.spawn("new", "--", "sh", "-c", "echo bye; exit 3")
    assert term.wait_exit() == 3
    assert "[exited (session 0, status 3)]" in term.text()
    assert "bye" in term.text()
    ls = mux.run("ls")  # the ended session is gone: no server (its last session), or empty
    assert ls.stdout == ""
    assert ls.returncode == 0 or "no server running" in ls.stderr


def test_signal_exit_is_reported(mux: Mux) -> None:
    term = mux.spawn("new", "--", "sh", "-c", "kill -TERM $$")
    assert term.wait_exit() == 128 + 15
    assert "[exited (session 0, signal SIGTERM)]" in term.text()


def test_session_environment(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "env", "--", "sh", "-c",
            "echo \"T=$TERM P=$PTYMUX\"; sleep 60", check=True)
    capture = mux.run("capture", "-t", "env", check=True).stdout
    pid = mux.server_pid()
    assert f"T=xterm-256color P={mux.socket},{pid},0" in capture


def test_sequences_that_crash_pyte_do_not_kill_the_session(mux: Mux) -> None:
    # Each of these makes stock pyte raise from feed(); the session must shrug them off.
    nasty = r"\033[10;D\033[4;X\033[?6n\033[?4m" + "\u3042B\rX" + r"\033[>4;2m"
    mux.run("new", "-d", "-s", "n", "--", "sh", "-c",
            f"printf 'before\\n{nasty}\\nafter\\n'; sleep 60", check=True)
    wait_until(lambda: "after" in mux.run("capture", "-t", "n").stdout, what="'after'")
    capture = mux.run("capture", "-t", "n").stdout
    assert capture.startswith("before\n")
    term = mux.spawn("attach", "-t", "n")
    term.wait_for("after")
    assert mux.run("ls").stdout.startswith("n:")


def test_attach_without_target_takes_the_most_recent(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "old", "--", "sh", "-c", "echo OLD; sleep 60", check=True)
    mux.run("new", "-d", "-s", "young", "--", "sh", "-c", "echo YOUNG; sleep 60", check=True)
    term = mux.spawn("attach")
    term.wait_for("YOUNG")
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    term = mux.spawn("attach", "-t", "old")
    term.wait_for("OLD")
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    term = mux.spawn("attach")  # "old" is now the most recently used
    term.wait_for("OLD")


def test_a_flood_reaches_the_client_and_the_screen_catches_up(mux: Mux) -> None:
    term = mux.spawn("new", "-s", "flood", "--", "sh", "-c", "seq 1 300000; echo END; sleep 60")
    term.wait_for("END", timeout=30)
    assert term.lines()[-3:-1] == ["300000", "END"]
    capture = mux.run("capture", "-t", "flood", check=True).stdout.split("\n")
    assert capture[21:23] == ["300000", "END"]
    late = mux.spawn("attach", "-t", "flood")
    wait_until(lambda: late.lines()[21:23] == ["300000", "END"], what="the late screen")


def test_session_runs_in_the_callers_directory_with_its_shell(mux: Mux) -> None:
    workdir = os.path.join(mux.root, "work dir")
    os.mkdir(workdir)
    env = dict(mux.env, SHELL="/bin/sh", MY_VAR="from-the-caller")
    result = subprocess.run(
        [PTYMUX, "new", "-d", "-s", "where"], env=env, cwd=workdir, capture_output=True,
        text=True, timeout=10, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert mux.run("ls").stdout.startswith("where: /bin/sh ")
    term = mux.spawn("attach", "-t", "where")
    term.wait_for("$")
    term.send('echo "cwd=$(pwd) var=$MY_VAR"\r')
    term.wait_for(f"cwd={workdir} var=from-the-caller")


def test_term_can_be_overridden(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "t", "--term", "screen-256color", "--", "sh", "-c",
            'echo "TERM=$TERM"; sleep 60', check=True)
    wait_until(lambda: "TERM=screen-256color" in mux.run("capture", "-t", "t").stdout,
               what="the TERM we asked for")


def test_large_input_reaches_the_program_intact(mux: Mux) -> None:
    out = os.path.join(mux.root, "received")
    size = 300_000
    term = mux.spawn("new", "--", "sh", "-c",
                     f"stty raw -echo; head -c {size} > '{out}'; echo; echo RECEIVED; sleep 60")
    wait_until(lambda: mux.run("ls").stdout.startswith("0:"), what="the session")
    time.sleep(0.3)  # let stty run before the flood of keys
    payload = bytes((i * 7 + i // 251) % 94 + 33 for i in range(size))  # printable, no Ctrl-P
    for start in range(0, size, 4096):
        term.send(payload[start : start + 4096])
    term.wait_for("RECEIVED", timeout=30)
    with open(out, "rb") as f:
        assert f.read() == payload


def test_client_reports_a_lost_server_and_restores_the_terminal(mux: Mux) -> None:
    term = mux.spawn("new", "--", "sh")
    term.wait_for("$")
    term.send("printf '\\033[?25l'\r")  # hide the cursor, as a program might
    pid = mux.server_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    assert term.wait_exit() == 1
    assert "[lost server (session 0)]" in term.text()
    assert term.raw.rfind(b"\x1b[?25h") > term.raw.rfind(b"\x1b[?25l")
