"""The server log stays bounded: repeated lines are counted, not written, and the file is
rotated past a size."""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import socket
import struct
import time

import msgpack

from harness import Mux, wait_until
from ptymux import protocol as p

# --- the rate limit -----------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limited(limit: int = 3, window: float = 10.0) -> tuple[logging.Logger, list[str], _Clock]:
    """A logger whose lines (as formatted) go to a list through a RateLimit."""
    from ptymux.server.logfile import RateLimit

    lines: list[str] = []

    class ToList(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    clock = _Clock()
    handler = ToList()
    handler.addFilter(RateLimit(handler.handle, limit, window, clock))
    logger = logging.getLogger(f"test-ratelimit-{id(lines)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, lines, clock


def test_rate_limit_counts_a_template_not_its_text() -> None:
    log, lines, clock = _limited(limit=3)
    for i in range(20):
        log.info("bad frame: %s", i)  # twenty texts, one template
        clock.now += 0.1
    log.info("something else")
    assert lines == [
        "bad frame: 0", "bad frame: 1", "bad frame: 2",
        "more lines like 'bad frame: %s' in the next 10 s are counted, not logged",
        "something else",
    ]
    clock.now += 10  # the window is over: the count comes with the next line
    log.info("bad frame: %s", "late")
    assert lines[5:] == ["17 similar messages suppressed: 'bad frame: %s'", "bad frame: late"]


def test_rate_limit_reports_open_counts_on_flush() -> None:
    log, lines, _clock = _limited(limit=1)
    limiter = log.handlers[0].filters[0]
    assert hasattr(limiter, "flush")
    for _ in range(5):
        log.warning("refused")
    limiter.flush()
    assert lines[-1] == "4 similar messages suppressed: 'refused'"
    limiter.flush()
    assert lines[-1] == "4 similar messages suppressed: 'refused'"  # said once


def test_rate_limit_windows_are_per_template() -> None:
    log, lines, clock = _limited(limit=2)
    for _ in range(3):
        log.info("a")
        log.info("b")
    assert lines.count("a") == 2 and lines.count("b") == 2
    clock.now += 10.5
    log.info("a")
    assert lines[-3:] == ["1 similar messages suppressed: 'a'",
                          "1 similar messages suppressed: 'b'", "a"]


# --- rotation -----------------------------------------------------------------------------


def test_rotation_keeps_one_old_file_and_moves_stderr(tmp_path: pathlib.Path) -> None:
    from ptymux.server.logfile import RotatingLog

    path = str(tmp_path / "server.log")
    stderr = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # plays fd 2
    handler = RotatingLog(path, max_bytes=2000, stderr_fd=stderr)
    log = logging.getLogger("test-rotation")
    log.propagate = False
    log.addHandler(handler)
    try:
        for i in range(200):
            log.warning("line %03d %s", i, "x" * 40)
        assert os.path.getsize(path) < 2000
        assert os.path.getsize(path + ".1") < 2000
        assert sorted(os.listdir(tmp_path)) == ["server.log", "server.log.1"]
        assert "line 199" in pathlib.Path(path).read_text()
        os.write(stderr, b"Traceback (most recent call last):\n")
        assert pathlib.Path(path).read_text().endswith("Traceback (most recent call last):\n")
        assert os.stat(path).st_mode & 0o777 == 0o600
    finally:
        log.removeHandler(handler)
        handler.close()
        os.close(stderr)


# --- a real server under a flood ----------------------------------------------------------


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


HELLO = _frame(msgpack.packb({"t": "hello", "version": p.VERSION, "pid": 1}))
GARBAGE = [_frame(b"\xc1\xc1\xc1"), _frame(msgpack.packb([1, 2])),
           _frame(msgpack.packb({"t": "nonsense"}))]


def _connect(mux: Mux) -> socket.socket:
    """A connection, waiting (boundedly) while the server's backlog is full."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    deadline = time.monotonic() + 10
    while True:
        try:
            sock.connect(mux.socket)
            return sock
        except BlockingIOError:
            if time.monotonic() > deadline:
                sock.close()
                raise
            time.sleep(0.01)


def _flood(mux: Mux, frames: int, per_connection: int = 4, batch: int = 50) -> None:
    """``frames`` bad frames after a good hello, ``per_connection`` on each connection
    (the server refuses a connection at its first bad frame; the rest are extra)."""
    sent = 0
    while sent < frames:
        socks = []
        for _ in range(batch):
            sock = _connect(mux)
            body = b"".join(GARBAGE[(sent + i) % len(GARBAGE)] for i in range(per_connection))
            with contextlib.suppress(OSError):  # refused and closed already: it counted
                sock.sendall(HELLO + body)
            sent += per_connection
            socks.append(sock)
        for sock in socks:
            # Read the server's answer (its hello, the error, its close) before closing: a
            # socket closed with unread data resets the connection, and the server may then
            # never read the bad frames at all (the test would count on luck).
            with contextlib.suppress(OSError):
                while sock.recv(65536):
                    pass
            sock.close()


def test_a_flood_of_bad_frames_leaves_a_small_log(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    _flood(mux, 5000, per_connection=2)
    assert mux.run("ls", check=True).stdout.startswith("0: sleep 60 ")
    wait_until(lambda: "counted, not logged" in mux.log(), what="the log to say so")
    size = os.path.getsize(os.path.join(mux.root, "state", "ptymux", "server-default.log"))
    assert size < 64 * 1024, size
    assert mux.log().count("bad frame from a client") <= 2 * 10 + 2
