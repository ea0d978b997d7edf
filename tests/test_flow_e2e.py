"""Flow control with clients that stop: no client ever stalls the rest (issue 11).

A client that takes nothing for the stall timeout (PTYMUX_STALL_TIMEOUT, ~1 s) is put in
catch-up: its queued output is dropped, the program and the other clients go on, and when it
reads again it gets a redraw. The keys are always read, so the bindings work however much
input the program leaves unread, and a client that goes away is noticed at once. Each test
runs with the terminal passed to the server and with every byte in frames.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import os
import select
import signal
import socket
import time
from collections.abc import Iterator

import pytest
from conftest import isolated_mux

from harness import Mux, Terminal, raw_connect, wait_until
from ptymux import protocol as p
from ptymux.server.writer import FdWriter

MARK = "FLOOD-42"  # what the flood ends with; the command line says $((6*7)), not 42
DETACH = b"\x10\x11"


@pytest.fixture(params=["passed", "frames"])
def mux(request: pytest.FixtureRequest) -> Iterator[Mux]:
    for world in isolated_mux():
        if request.param == "frames":
            world.env["PTYMUX_PASS_TERMINAL"] = "0"
        yield world


def _passing(mux: Mux) -> bool:
    return mux.env.get("PTYMUX_PASS_TERMINAL") != "0"


def _flood(lines: int) -> list[str]:
    """A program that waits for Enter, prints ``lines`` numbered lines and MARK, and stays."""
    return ["--", "sh", "-c", f"read go; seq 1 {lines}; echo FLOOD-$((6*7)); sleep 60"]


def _attached(mux: Mux, name: str) -> int:
    """How many clients ``ls`` says are attached to session ``name`` (-1: no session)."""
    for line in mux.run("ls", "-F", "#{session_name} #{session_attached}").stdout.split("\n"):
        if line.startswith(name + " "):
            return int(line.split()[1])
    return -1



def _captured(mux: Mux, name: str, text: str) -> bool:
    return text in mux.run("capture", "-t", name).stdout


def _server_ttys(mux: Mux) -> set[str]:
    """The terminals the server has open."""
    pid = mux.server_pid()
    assert pid is not None
    names = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("/dev/pts/"):
                names.add(target)
    return names


def _server_rss_kb(mux: Mux) -> int:
    with open(f"/proc/{mux.server_pid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _type(term: Terminal, data: bytes, timeout: float = 20.0) -> None:
    """Write ``data`` into the terminal as a paste does, failing (not hanging) if it is not
    all taken within ``timeout``: a terminal whose keys nobody reads blocks its writer."""
    deadline = time.monotonic() + timeout
    view = memoryview(data)
    os.set_blocking(term.master, False)  # (the reader thread only reads after select)
    try:
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the terminal took {len(data) - len(view)} of"
                                     f" {len(data)} bytes of keys in {timeout:g} s")
            if not select.select([], [term.master], [], min(left, 0.5))[1]:
                continue
            try:
                view = view[os.write(term.master, view[:65536]):]
            except BlockingIOError:
                continue
    finally:
        os.set_blocking(term.master, True)


def _stop(term: Terminal) -> None:
    """A suspended laptop: the client process and its terminal both stop."""
    os.kill(term.proc.pid, signal.SIGSTOP)
    term.reading.clear()


def _resume(term: Terminal) -> None:
    term.reading.set()
    os.kill(term.proc.pid, signal.SIGCONT)


def _detach(term: Terminal) -> None:
    _type(term, DETACH, 5)
    assert term.wait_exit() == 0
    assert "[detached (from session " in term.text()


def test_a_stopped_client_holds_back_neither_the_program_nor_the_other(mux: Mux) -> None:
    first = mux.spawn("new", "-s", "f", *_flood(400_000))  # ~2.7 MB
    wait_until(lambda: _attached(mux, "f") == 1, what="the first client")
    second = mux.spawn("attach", "-t", "f")
    wait_until(lambda: _attached(mux, "f") == 2, what="the second client")
    _stop(first)
    try:
        mux.run("send-keys", "-t", "f", "Enter", check=True)
        second.wait_for(MARK, timeout=30)
        assert _captured(mux, "f", MARK)  # the program got to its end
        assert _attached(mux, "f") == 2  # stopped is not gone
        assert "took no output for" in mux.log()  # (it was put in catch-up)
    finally:
        _resume(first)
    # What it missed comes back as a redraw of the screen as it is now.
    first.wait_for(MARK, timeout=15)
    wait_until(lambda: first.lines() == second.lines(), what="both clients to show the same")
    _detach(first)
    _detach(second)


def test_a_socket_that_attaches_and_never_reads_holds_nothing_back(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "f", *_flood(3_000_000), check=True)  # ~21 MB
    wait_until(lambda: mux.server_pid(), what="the server")
    sock = raw_connect(mux, timeout=10)
    sock.sendall(p.encode(p.Hello(version=p.VERSION, pid=os.getpid())))
    master = slave = -1
    attach = p.encode(p.Attach(80, 24, target="f", terminal=_passing(mux)), rid=1)
    try:
        if _passing(mux):  # with a terminal that nobody reads either
            master, slave = os.openpty()
            sock.sendmsg([attach], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                     array.array("i", [slave]))])
        else:
            sock.sendall(attach)
        wait_until(lambda: _attached(mux, "f") == 1, what="the raw client to attach")
        rss = _server_rss_kb(mux)
        mux.run("send-keys", "-t", "f", "Enter", check=True)
        wait_until(lambda: _captured(mux, "f", MARK), timeout=40, what="the flood to end")
        assert _attached(mux, "f") == 1
        assert "took no output for" in mux.log()
        grown = _server_rss_kb(mux) - rss
        assert grown < 12_000, f"the server grew by {grown} kB for a client that reads nothing"
        # Reading at last: what was queued, then a redraw that shows the end.
        seen = _read_until(sock, master, MARK.encode(), timeout=15)
        assert MARK.encode() in seen
    finally:
        sock.close()
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
    wait_until(lambda: _attached(mux, "f") == 0, what="the closed socket to be detached")


def _read_until(sock: socket.socket, master: int, needle: bytes, timeout: float) -> bytes:
    """Be the client (and the terminal) at last: read output frames and acknowledge them,
    read the terminal if there is one; everything shown, once ``needle`` is in it."""
    decoder = p.FrameDecoder()
    shown = bytearray()
    deadline = time.monotonic() + timeout
    watched = [sock] + ([master] if master >= 0 else [])
    while needle not in shown and time.monotonic() < deadline:
        for ready in select.select(watched, [], [], 0.2)[0]:
            if ready is sock:
                data = sock.recv(1 << 18)
                assert data, "the server closed the connection"
                written = 0
                for msg in decoder.messages(data):
                    if isinstance(msg, p.Output):
                        shown += msg.data
                        written += len(msg.data)
                if written and master >= 0:
                    sock.sendall(p.encode(p.Written(written)))
            else:
                shown += os.read(master, 1 << 16)
    return bytes(shown)


def test_a_lone_stopped_client_does_not_block_its_program(mux: Mux) -> None:
    """Only the client process stops; with the terminal passed, the terminal still reads
    what the server writes to it directly, until it falls behind and the rest goes to the
    stopped client as frames."""
    term = mux.spawn("new", "-s", "lone", *_flood(400_000))
    wait_until(lambda: _attached(mux, "lone") == 1, what="the client")
    os.kill(term.proc.pid, signal.SIGSTOP)
    try:
        mux.run("send-keys", "-t", "lone", "Enter", check=True)
        wait_until(lambda: _captured(mux, "lone", MARK), timeout=30, what="the flood to end")
    finally:
        os.kill(term.proc.pid, signal.SIGCONT)
    term.wait_for(MARK, timeout=15)
    _detach(term)


_HOLD = "stty raw -echo; echo READY-$((1+1)); while [ ! -e go ]; do sleep 0.05; done; "


def test_the_detach_keys_work_behind_a_paste_the_program_does_not_read(mux: Mux) -> None:
    size = 1 << 20
    term = mux.spawn("new", "-s", "paste", "--", "sh", "-c",
                     _HOLD + f"head -c {size} | wc -c; sleep 60")
    term.wait_for("READY-2")
    _type(term, b"x" * size)
    _detach(term)
    # Nothing was lost: the program gets the whole paste once it reads.
    with open(os.path.join(mux.root, "go"), "w"):
        pass
    wait_until(lambda: _captured(mux, "paste", str(size)), what="the program to count it")


def test_input_a_program_does_not_read_is_bounded(mux: Mux) -> None:
    """Past 4 MiB held for the program, keys are dropped; the bindings still work."""
    size = 6 << 20
    count = ("import os, select\nn = 0\nwhile select.select([0], [], [], 1)[0]:\n"
             "    n += len(os.read(0, 1 << 16))\nprint(\"got\", n)")
    term = mux.spawn("new", "-s", "paste", "--", "sh", "-c",
                     _HOLD + f"python3 -c '{count}'; sleep 60")
    term.wait_for("READY-2")
    _type(term, b"y" * size, timeout=40)
    _detach(term)
    with open(os.path.join(mux.root, "go"), "w"):
        pass
    wait_until(lambda: _captured(mux, "paste", "got "), what="the program to count it")
    got = int(mux.run("capture", "-t", "paste").stdout.split("got ")[1].split()[0])
    assert 4 << 20 <= got < size


@pytest.mark.parametrize("state", ["live", "stalled", "pasting"])
def test_a_killed_client_is_gone_at_once_whatever_its_state(mux: Mux, state: str) -> None:
    if state == "pasting":
        term = mux.spawn("new", "-s", "k", "--", "sh", "-c", _HOLD + "sleep 60")
        term.wait_for("READY-2")
        _type(term, b"z" * (1 << 20))  # held for the program, which reads none of it
    else:
        term = mux.spawn("new", "-s", "k", *_flood(400_000))
        wait_until(lambda: _attached(mux, "k") == 1, what="the client")
    if state == "stalled":
        _stop(term)
        mux.run("send-keys", "-t", "k", "Enter", check=True)
        wait_until(lambda: _captured(mux, "k", MARK), timeout=30, what="the flood to end")
    assert (term.tty_name in _server_ttys(mux)) == _passing(mux)
    term.proc.kill()  # SIGKILL: no detach, no goodbye (a stopped process dies as well)
    term.proc.wait(timeout=10)
    wait_until(lambda: _attached(mux, "k") == 0, what="the server to see it gone")
    assert term.tty_name not in _server_ttys(mux)
    term.reading.set()


def test_dropping_queued_output_keeps_whole_frames_in_order() -> None:
    """What catch-up drops is whole output frames not yet begun: the peer still reads a
    valid stream, every frame it gets in order, a reply queued among them too."""

    async def scenario() -> tuple[list[p.Message], list[bytes], int, int]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.setblocking(False)
        writer = FdWriter(loop, ours.fileno(), lambda _paused: None, lambda _error: None)
        sent = []
        reply = p.encode(p.Detached(id=7, name="kept"))
        for i in range(64):
            data = bytes([65 + i % 26]) * 30_000
            writer.write(p.encode(p.Output(data)), len(data))
            sent.append(data)
            if i == 40:
                writer.write(reply)
        assert writer.pending, "the socket took everything: nothing to drop"
        assert writer.output_pending == writer.pending - len(reply)
        dropped = writer.drop()
        writer.write(p.encode(p.Output(b"after")), 5)
        drained = loop.create_future()
        writer.when_writable(lambda: drained.set_result(None))
        decoder = p.FrameDecoder()
        got: list[p.Message] = []
        deadline = loop.time() + 10
        while loop.time() < deadline:
            try:
                data = theirs.recv(1 << 16)
            except BlockingIOError:
                if drained.done():
                    break
                await asyncio.sleep(0.001)
                continue
            got += decoder.messages(data)
        assert drained.done() and not decoder.buffered
        assert writer.output_pending == 0
        ours.close()
        theirs.close()
        return got, sent, dropped, writer.pending

    got, sent, dropped, left = asyncio.run(scenario())
    assert left == 0
    kinds = [type(m).__name__ for m in got]
    kept = kinds.index("Detached")
    assert kinds == ["Output"] * kept + ["Detached", "Output"]
    assert 0 < kept < 41  # some frames were dropped, the ones before them all came
    assert [m.data for m in got[:kept] if isinstance(m, p.Output)] == sent[:kept]
    assert got[-1] == p.Output(b"after")
    assert dropped == sum(map(len, sent[kept:]))
