"""Protocol 3 against the real server (and fake ones): request ids on a connection that is
also receiving output, commands negotiated in the handshake, errors with codes."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

import ptymux
from harness import Mux, ask, raw_connect, wait_until
from ptymux import protocol as p
from ptymux.commands import SERVED


def _greeted(mux: Mux, versions: tuple[int, ...] = p.VERSIONS) -> tuple[socket.socket, p.Hello]:
    sock = raw_connect(mux, timeout=10)
    sock.sendall(p.encode(p.Hello(version=max(versions), pid=1, versions=list(versions))))
    decoder = p.FrameDecoder()
    while not (msgs := decoder.messages(sock.recv(65536))):
        pass
    assert isinstance(msgs[0], p.Hello)
    return sock, msgs[0]


def test_the_handshake_names_every_command_the_server_serves(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    sock, hello = _greeted(mux)
    assert hello.version == p.VERSION and hello.versions == list(p.VERSIONS)
    assert set(hello.commands or ()) == set(SERVED) == set(p.COMMANDS)
    assert hello.software.startswith("ptymux ")
    sock.close()


def test_a_version_3_client_gets_version_3_and_its_detach_keys(mux: Mux) -> None:
    """A client from before key bindings: the server speaks 3 to it, watches its detach
    keys and answers its detach as before."""
    mux.run("new", "-d", "-s", "old", "--", "sleep", "60", check=True)
    sock, hello = _greeted(mux, (3,))
    assert hello.version == 3
    sock.sendall(p.encode(p.Attach(cols=80, rows=24, target="old", detach_keys=b"\x01d"), 1))
    sock.sendall(p.encode(p.Detach()))
    decoder = p.FrameDecoder()
    got: list[p.Message] = []
    while not any(isinstance(m, p.Detached) for m in got):
        data = sock.recv(65536)
        assert data
        got += decoder.messages(data)
    assert not any(isinstance(m, p.Action) for m in got)
    sock.close()


def test_replies_find_their_requests_among_the_output(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "busy", "--", "sh", "-c",
            "while :; do echo tick; sleep 0.01; done", check=True)
    sock, _ = _greeted(mux)
    # attached (frames: no terminal passed) and asking two more things in the same write
    sock.sendall(p.encode(p.Attach(cols=80, rows=24, target="busy"), rid=10)
                 + p.encode(p.ListSessions(), rid=11)
                 + p.encode(p.Capture(target="busy"), rid=12))
    decoder = p.FrameDecoder()
    seen: list[p.Message] = []

    def replies() -> list[int]:
        seen.extend(decoder.messages(sock.recv(65536)))
        return [m.id for m in seen if isinstance(m, p.Reply)]

    wait_until(lambda: len(replies()) == 3, what="three replies")
    assert replies() == [10, 11, 12]
    listing = next(m for m in seen if isinstance(m, p.Reply) and m.id == 11)
    result = p.parse_result("ls", listing.result)
    assert isinstance(result, p.SessionList) and result.sessions[0].attached == 1
    assert [m.id for m in seen if isinstance(m, p.Chunk)] == [12]  # the capture, streamed
    # output keeps coming around and after the replies
    wait_until(lambda: replies() and sum(isinstance(m, p.Output) for m in seen) > 5,
               what="output after the replies")
    sock.close()


def test_errors_carry_the_request_id_and_a_code(mux: Mux) -> None:
    mux.run("new", "-d", "-s", "one", "--", "sleep", "60", check=True)
    sock, _ = _greeted(mux)
    sock.sendall(p.encode(p.Request(id=7, command="frobnicate", args={})))
    error = ask(sock, p.KillSession(target="nope"), rid=8)  # reads past the first error too
    assert error == p.Error("can't find session: nope", id=8, code="no-session")
    duplicate = ask(sock, p.NewSession(argv=["true"], cwd="/", env={}, cols=80, rows=24,
                                       name="one", detached=True), rid=9)
    assert duplicate == p.Error("duplicate session: one", id=9, code="exists")
    listing = ask(sock, p.ListSessions(), rid=10)  # the connection is still good
    assert isinstance(listing, p.SessionList)
    sock.close()
    # an unknown command is answered with its own id, and the connection stays open
    sock, _ = _greeted(mux)
    sock.sendall(p.encode(p.Request(id=7, command="frobnicate", args={})))
    decoder = p.FrameDecoder()
    while not (msgs := decoder.messages(sock.recv(65536))):
        pass
    assert msgs[0] == p.Error("unknown command 'frobnicate'", id=7, code="unknown-command")
    assert isinstance(ask(sock, p.ListSessions(), rid=8), p.SessionList)
    sock.close()


# --- other servers ----------------------------------------------------------------------------


def _fake_server(path: str, answer: object) -> Iterator[None]:
    """A server speaking whatever ``answer(msg)`` returns (frames to send back)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            decoder = p.FrameDecoder()
            try:
                while data := conn.recv(65536):
                    for msg in decoder.messages(data):
                        conn.sendall(answer(msg))  # type: ignore[operator]
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def older_server(mux: Mux) -> Iterator[str]:
    """A protocol-3 server from before 'capture' existed."""
    path = os.path.join(mux.root, "older.sock")

    def answer(msg: p.Message) -> bytes:
        if isinstance(msg, p.Hello):
            return p.encode(p.Hello(version=3, pid=1, versions=[3], software="ptymux 0.0.9",
                                    commands=["ls"]))
        if isinstance(msg, p.Request) and msg.command == "ls":
            return p.encode(p.reply(msg.id, p.SessionList(sessions=[])))
        return p.encode(p.Error("unexpected", code="protocol"))

    yield from _fake_server(path, answer)


def test_a_newer_client_runs_what_an_older_server_has(mux: Mux, older_server: None) -> None:
    path = os.path.join(mux.root, "older.sock")
    listing = mux.run("-S", path, "ls")
    assert (listing.returncode, listing.stdout) == (0, "")
    assert listing.stderr == (f"ptymux: the server runs ptymux 0.0.9, this client is ptymux"
                              f" {ptymux.__version__}: ptymux upgrade-server\n")
    capture = mux.run("-S", path, "capture")
    assert capture.returncode == 1
    assert capture.stderr == (
        "ptymux: the server (ptymux 0.0.9) does not know the command 'capture'; it runs the"
        " version it was started with (upgrading it means 'ptymux kill-server', which ends"
        " every session)\n"
    )


def test_a_server_that_shares_no_version_says_which_it_has(mux: Mux) -> None:
    path = os.path.join(mux.root, "v2.sock")
    refusal = ("protocol version 3 is not supported by this server (version 2); run"
               " 'ptymux kill-server' after upgrading")  # what a version-2 server says

    def answer(msg: p.Message) -> bytes:
        return p.encode(p.Error(refusal))

    for _ in _fake_server(path, answer):
        result = mux.run("-S", path, "ls")
        assert result.returncode == 1
        assert result.stderr == f"ptymux: {refusal}\n"
