"""The passed terminal: a local client hands the server its tty, the server reads keys from
it and writes output to it; frames remain the fallback. Checked from outside: which fds the
server holds, what the terminal shows, and what raw protocol clients get back."""

from __future__ import annotations

import array
import os
import re
import socket
import struct
import time
from collections.abc import Iterator

import msgpack
import pytest
from conftest import isolated_mux

from harness import Mux, wait_until
from ptymux import protocol as p


@pytest.fixture(params=["passed", "frames"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    for world in isolated_mux():
        if request.param == "frames":
            world.env["PTYMUX_PASS_TERMINAL"] = "0"
        yield world


def _server_ttys(mux: Mux) -> set[str]:
    """The terminals the server has open."""
    pid = mux.server_pid()
    assert pid is not None
    names = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/dev/pts/"):
            names.add(target)
    return names


def test_the_server_holds_the_terminal_only_while_attached(mux: Mux) -> None:
    passing = mux.env.get("PTYMUX_PASS_TERMINAL") != "0"
    term = mux.spawn("new", "--", "sh")
    term.wait_for("$")
    assert (term.tty_name in _server_ttys(mux)) == passing
    term.send("echo typed\r")
    term.wait_for("typed\n$")
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0
    assert "[detached (from session 0)]" in term.text()
    assert term.tty_name not in _server_ttys(mux)
    again = mux.spawn("attach")
    again.wait_for("typed\n$")
    assert (again.tty_name in _server_ttys(mux)) == passing
    mux.run("kill-session", "-t", "0", check=True)
    assert again.wait_exit() == 128 + 1  # SIGHUP
    assert "[exited (session 0, signal SIGHUP)]" in again.text()


def test_a_terminal_that_stops_reading_loses_nothing(mux: Mux) -> None:
    """Output waits for a terminal that is slow (the program is paused), then all of it
    comes. Slow: it stops for less than the stall timeout, raised here (a client stopped
    for longer is in catch-up: tests/test_flow_e2e.py)."""
    mux.env["PTYMUX_STALL_TIMEOUT"] = "30"
    count = 150_000  # ~1 MB of output: more than the server buffers for one client
    term = mux.spawn("new", "--", "sh", "-c", f"read go; seq 1 {count}; echo END; sleep 60")
    time.sleep(0.3)
    term.reading.clear()
    term.send("\r")
    time.sleep(1.5)
    term.reading.set()
    term.wait_for("END", timeout=30)
    with term.lock:
        raw = bytes(term.raw)
    numbers = [int(n) for n in re.findall(rb"(?m)^(\d+)\r$", raw)]
    assert numbers == list(range(1, count + 1))
    term.send(b"\x10\x11")
    assert term.wait_exit() == 0


@pytest.mark.parametrize("mux", ["passed"], indirect=True)
def test_a_passed_terminal_and_a_frames_client_share_a_session(mux: Mux) -> None:
    """Output goes to each client its own way; keys from either reach the program."""
    direct = mux.spawn("new", "-s", "both", "--", "sh")
    direct.wait_for("$")
    framed = mux.spawn("attach", "-t", "both", env={**mux.env, "PTYMUX_PASS_TERMINAL": "0"})
    framed.wait_for("$")
    assert direct.tty_name in _server_ttys(mux) and framed.tty_name not in _server_ttys(mux)
    direct.send("echo from-direct\r")
    framed.wait_for("from-direct\n")
    framed.send("seq 1 3000 | tail -1; echo from-framed\r")
    for term in (direct, framed):
        term.wait_for("3000\nfrom-framed\n$")
    framed.send(b"\x10\x11")
    assert framed.wait_exit() == 0
    direct.send("echo alone\r")
    direct.wait_for("alone\n$")
    direct.send(b"\x10\x11")
    assert direct.wait_exit() == 0


def test_a_killed_client_takes_its_terminal_back_from_the_server(mux: Mux) -> None:
    term = mux.spawn("new", "-s", "keep", "--", "sh")
    term.wait_for("$")
    term.proc.kill()  # SIGKILL: no detach, no goodbye
    term.proc.wait(timeout=10)
    wait_until(lambda: term.tty_name not in _server_ttys(mux), what="the server to let go")
    assert "(attached)" not in mux.run("ls").stdout
    again = mux.spawn("attach", "-t", "keep")
    again.send("echo still here\r")
    again.wait_for("still here\n$")


def test_a_closed_terminal_detaches_and_the_session_lives_on(mux: Mux) -> None:
    term = mux.spawn("new", "-s", "keep", "--", "sh")
    term.wait_for("$")
    term.send("echo before\r")
    term.wait_for("before\n$")
    os.close(term.master)  # the terminal window is closed: hang-up
    wait_until(lambda: "(attached)" not in mux.run("ls").stdout, what="the client to detach")
    term.proc.wait(timeout=10)
    assert mux.run("ls").stdout.startswith("keep:")
    assert "before" in mux.run("capture", "-t", "keep").stdout


# --- raw protocol clients passing fds -----------------------------------------------------


def _frame(obj: object) -> bytes:
    payload = msgpack.packb(obj, use_bin_type=True)
    return struct.pack(">I", len(payload)) + payload


def _hello(mux: Mux) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(mux.socket)
    sock.sendall(_frame({"t": "hello", "version": p.VERSION}))
    return sock


def _send_with_fds(sock: socket.socket, data: bytes, fds: list[int]) -> None:
    sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])


def _replies(sock: socket.socket, until: type | None = None) -> list[p.Message]:
    """Messages until the server closes the connection (or one of type ``until`` came)."""
    decoder = p.FrameDecoder()
    messages: list[p.Message] = []
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return messages
        if not data:
            return messages
        messages += decoder.messages(data)
        if until is not None and any(isinstance(m, until) for m in messages):
            return messages


def _fd_count(mux: Mux) -> int:
    return len(os.listdir(f"/proc/{mux.server_pid()}/fd"))


def _attach(**fields: object) -> bytes:
    return _frame({"t": "request", "id": 1, "command": "attach",
                   "args": {"cols": 80, "rows": 24, **fields}})


@pytest.mark.parametrize("mux", ["passed"], indirect=True)
def test_fd_passing_is_checked_and_leaks_nothing(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "victim", "--", "sh", "-c", "echo alive; sleep 60", check=True)
    mux.run("ls", check=True)  # (answered once the server's loop and its fds are there)
    baseline = _fd_count(mux)

    # A pipe is not a terminal: the server keeps to frames, and says so.
    read_end, write_end = os.pipe()
    sock = _hello(mux)
    _send_with_fds(sock, _attach(target="victim", terminal=True), [write_end])
    replies = _replies(sock, until=p.Output)
    attached = [p.parse_result("attach", m.result) for m in replies if isinstance(m, p.Reply)]
    assert attached and isinstance(attached[0], p.Attached)
    assert attached[0].terminal is False
    assert b"alive" in b"".join(m.data for m in replies if isinstance(m, p.Output))
    sock.close()

    # An attach to a missing session closes the fd that came with it.
    sock = _hello(mux)
    _send_with_fds(sock, _attach(target="nope", terminal=True), [write_end])
    assert any(isinstance(m, p.Error) and "can't find session: nope" in m.message
               for m in _replies(sock, until=p.Error))
    sock.close()

    # 'terminal' without an fd, and a flood of fds, are protocol errors.
    sock = _hello(mux)
    sock.sendall(_attach(target="victim", terminal=True))
    assert isinstance(_replies(sock)[-1], p.Error)
    sock.close()
    sock = _hello(mux)
    listing = _frame({"t": "request", "id": 2, "command": "ls", "args": {}})
    _send_with_fds(sock, listing, [write_end] * 8)
    last = _replies(sock)[-1]
    assert isinstance(last, p.Error) and "too many file descriptors" in last.message
    sock.close()
    sock = _hello(mux)
    _send_with_fds(sock, listing, [write_end])
    last = _replies(sock)[-1]
    assert isinstance(last, p.Error) and "takes none" in last.message
    sock.close()

    os.close(read_end)
    os.close(write_end)
    wait_until(lambda: _fd_count(mux) == baseline, what="the server to close every passed fd")
    assert "alive" in mux.run("capture", "-t", "victim").stdout
    assert mux.run("ls").stdout.startswith("victim:")
