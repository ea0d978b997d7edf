"""The attached client: the user's terminal in raw mode, bytes passed straight through.

Keys go to the server (minus the detach sequence); output from the server goes to the
terminal as it is. Whatever way this loop ends — detach, exit, a lost server, an exception —
the terminal is put back the way the user had it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import tty
from collections.abc import Iterator

from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection
from ptymux.client.keys import DetachMatcher

# What the user's terminal gets when we leave it, whatever the program had switched on:
# attributes, cursor, keypad and cursor keys, mouse and focus reporting, bracketed paste,
# cursor style, autowrap, insert mode, and the title (popped from where attaching pushed
# it). What would move the cursor (the alternate screen, origin mode, the scroll region) is
# undone by the server, which knows from its model whether it is needed (ScreenModel.leave).
TERMINAL_RESET = (
    b"\x1b[0m\x1b[?25h\x1b[?1l\x1b>"
    b"\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1004l"
    b"\x1b[?2004l\x1b[0 q\x1b[?7h\x1b[4l\x1b[23;0t"
)
TITLE_PUSH = b"\x1b[22;0t"


def terminal_size(fd: int) -> tuple[int, int]:
    cols, rows = os.get_terminal_size(fd)
    return max(1, min(cols, p.MAX_COLS)), max(1, min(rows, p.MAX_ROWS))


def describe_exit(status: int | None, sig: int | None) -> str:
    if sig is not None:
        try:
            return f"signal {signal.Signals(sig).name}"
        except ValueError:
            return f"signal {sig}"
    return f"status {status}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]


@contextlib.contextmanager
def raw_terminal(fd_in: int, fd_out: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd_in)
    tty.setraw(fd_in, termios.TCSANOW)
    _write_all(fd_out, TITLE_PUSH)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _write_all(fd_out, TERMINAL_RESET)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd_in, termios.TCSAFLUSH, saved)


class _SignalPipe:
    """SIGWINCH (and friends) as a readable fd, so one select() waits for everything."""

    def __init__(self, signals: tuple[signal.Signals, ...]) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self._old_fd = signal.set_wakeup_fd(self.write_fd)
        self._signals = signals
        self._old = {s: signal.signal(s, lambda *_: None) for s in signals}

    def read(self) -> set[int]:
        try:
            return set(os.read(self.read_fd, 256))
        except BlockingIOError:
            return set()

    def close(self) -> None:
        signal.set_wakeup_fd(self._old_fd)
        for s, handler in self._old.items():
            signal.signal(s, handler)
        os.close(self.read_fd)
        os.close(self.write_fd)


def run_attached(conn: Connection, name: str, detach_keys: bytes) -> int:
    """Pass the terminal through until detach or exit; return the process exit code."""
    fd_in, fd_out = 0, 1
    matcher = DetachMatcher(detach_keys)
    signals = _SignalPipe((signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP))
    size = terminal_size(fd_in)
    try:
        with raw_terminal(fd_in, fd_out):
            try:
                conn.send(p.Resize(*size))  # the size may have changed since the request
                message, code = _loop(conn, name, matcher, signals, size, fd_in, fd_out)
            except ClientError:  # the server vanished mid-send or mid-read
                message, code = f"[lost server (session {name})]", 1
    finally:
        signals.close()
    os.write(fd_out, f"\r\n{message}\r\n".encode())
    return code


def _loop(
    conn: Connection,
    name: str,
    matcher: DetachMatcher,
    signals: _SignalPipe,
    size: tuple[int, int],
    fd_in: int,
    fd_out: int,
) -> tuple[str, int]:
    detaching = False
    stdin_open = True
    while True:
        output: list[bytes] = []  # consecutive output frames go to the terminal in one write
        for msg in conn.pending():
            if isinstance(msg, p.Output):
                output.append(msg.data)
                continue
            if output:
                _write_all(fd_out, b"".join(output))
                output.clear()
            if isinstance(msg, p.Exited):
                code = msg.status if msg.signal is None else 128 + msg.signal
                return (
                    f"[exited (session {msg.name}, {describe_exit(msg.status, msg.signal)})]",
                    code or 0,
                )
            elif isinstance(msg, p.Detached):
                return f"[detached (from session {msg.name})]", 0
            elif isinstance(msg, p.Error):
                return f"ptymux: {msg.message}", 1
        if output:
            _write_all(fd_out, b"".join(output))
        watched = [conn.fileno(), signals.read_fd] + ([fd_in] if stdin_open else [])
        try:
            ready = select.select(watched, [], [])[0]
        except InterruptedError:
            continue
        if signals.read_fd in ready:
            got = signals.read()
            if got & {signal.SIGTERM, signal.SIGHUP} and not detaching:
                conn.send(p.Detach())
                detaching = True
            if signal.SIGWINCH in got:
                new_size = terminal_size(fd_in)
                if new_size != size:
                    size = new_size
                    conn.send(p.Resize(*size))
        if fd_in in ready and not detaching:
            data = os.read(fd_in, 1 << 16)
            if not data:
                stdin_open = False  # the terminal is gone: detach, keep the session
                conn.send(p.Detach())
                detaching = True
                continue
            keys, detach = matcher.feed(data)
            if keys:
                conn.send(p.Input(keys))
            if detach:
                conn.send(p.Detach())
                detaching = True
        if conn.fileno() in ready and not conn.read_available():
            return f"[lost server (session {name})]", 1


__all__ = ["ClientError", "run_attached", "terminal_size"]
