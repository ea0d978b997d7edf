"""The attached client: the user's terminal in raw mode, bytes passed straight through.

On a local socket the client passes the server its terminal (a fresh open of it), and the
server reads keys from it and writes output to it directly, as tmux does: one process less
on every keystroke's way. Otherwise (no fd passing, ``PTYMUX_PASS_TERMINAL=0``, the server
declined) keys go to the server as frames (minus the detach sequence) and output comes back
as frames. Either way this process keeps the terminal's mode and size, and whatever way the
attachment ends — detach, exit, a lost server, an exception — it puts the terminal back the
way the user had it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import tty
from collections.abc import Callable, Iterator

from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection
from ptymux.keys import DetachMatcher
from ptymux.printable import printable
from ptymux.statuses import describe, exit_code

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
TITLE_POP = b"\x1b[23;0t"


def terminal_size(fd: int) -> tuple[int, int]:
    cols, rows = os.get_terminal_size(fd)
    return max(1, min(cols, p.MAX_COLS)), max(1, min(rows, p.MAX_ROWS))




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


class _Raw:
    """Whether anything was drawn: a refused attach only pops the title it pushed."""

    drawn = False


@contextlib.contextmanager
def raw_terminal(fd_in: int, fd_out: int) -> Iterator[_Raw]:
    saved = termios.tcgetattr(fd_in)
    tty.setraw(fd_in, termios.TCSANOW)
    _write_all(fd_out, TITLE_PUSH)
    state = _Raw()
    try:
        yield state
    finally:
        with contextlib.suppress(OSError):
            _write_all(fd_out, TERMINAL_RESET if state.drawn else TITLE_POP)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd_in, termios.TCSAFLUSH, saved)


def open_terminal(fd_in: int, fd_out: int) -> int | None:
    """A fresh open of our terminal to pass to the server, or None to keep to frames.

    A fresh open, not our fd 0: the server makes its copy non-blocking, and that flag lives
    in the open file description, which our shell shares."""
    if os.environ.get("PTYMUX_PASS_TERMINAL", "1") == "0":
        return None
    try:
        device = os.fstat(fd_in).st_rdev
        if os.fstat(fd_out).st_rdev != device:
            return None
        fd = os.open(os.ttyname(fd_in), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    if os.fstat(fd).st_rdev != device:  # the name led elsewhere (another pts namespace)
        os.close(fd)
        return None
    return fd


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


def run_attached(
    conn: Connection, request: Callable[[bool], p.Message], detach_keys: bytes
) -> int:
    """Send the attaching ``request`` (built for passing the terminal or not), then pass the
    terminal through until detach or exit; return the process exit code."""
    fd_in, fd_out = 0, 1
    matcher = DetachMatcher(detach_keys)
    signals = _SignalPipe((signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP))
    size = terminal_size(fd_in)
    try:
        # Raw mode first: the server may read the terminal as soon as it has it.
        with raw_terminal(fd_in, fd_out) as raw:
            passed = open_terminal(fd_in, fd_out) if conn.can_pass_fds else None
            try:
                fds = () if passed is None else (passed,)
                reply = conn.request(request(passed is not None), fds)
            finally:
                if passed is not None:
                    os.close(passed)
            if not isinstance(reply, (p.Created, p.Attached)):
                raise ClientError("unexpected reply from the server")
            raw.drawn = True
            name = reply.name
            try:
                conn.send(p.Resize(*size))  # the size may have changed since the request
                message, code = _loop(
                    conn, name, matcher, signals, size, fd_in, fd_out, not reply.terminal
                )
            except ClientError:  # the server vanished mid-send or mid-read
                # It may have said goodbye first (a program that exited at once, and a
                # server that left with its last session): what it sent has been read.
                ending, _ = _handle_pending(conn, fd_out)
                message, code = ending or (f"[lost server (session {name})]", 1)
    finally:
        signals.close()
    # Names and errors come from the server: shown with control characters escaped.
    os.write(fd_out, f"\r\n{printable(message)}\r\n".encode())
    return code


def _handle_pending(conn: Connection, fd_out: int) -> tuple[tuple[str, int] | None, int]:
    """Write the output received so far: (the final message and exit code if it came,
    how many output bytes were written)."""
    output: list[bytes] = []  # consecutive output frames go to the terminal in one write
    written = 0

    def flush() -> None:
        nonlocal written
        if output:
            data = b"".join(output)
            _write_all(fd_out, data)
            written += len(data)
            output.clear()

    for msg in conn.pending():
        if isinstance(msg, p.Output):
            output.append(msg.data)
            continue
        flush()
        if isinstance(msg, p.Exited):
            code = exit_code(msg.status, msg.signal, unknown=0)
            why = describe(msg.status, msg.signal)
            return (f"[exited (session {msg.name}, {why})]", code), written
        elif isinstance(msg, p.Detached):
            return (f"[detached (from session {msg.name})]", 0), written
        elif isinstance(msg, p.Error):
            return (f"ptymux: {msg.message}", 1), written
    flush()
    return None, written


def _loop(
    conn: Connection,
    name: str,
    matcher: DetachMatcher,
    signals: _SignalPipe,
    size: tuple[int, int],
    fd_in: int,
    fd_out: int,
    read_keys: bool,
) -> tuple[str, int]:
    detaching = False
    stdin_open = read_keys  # else the server reads the keys from the terminal itself
    unacked = 0  # output written since we last told the server (when it holds the terminal)
    while True:
        ending, written = _handle_pending(conn, fd_out)
        if ending is not None:
            return ending
        if not read_keys:
            unacked += written
            if unacked and not select.select([conn.fileno()], [], [], 0)[0]:
                # Caught up: the server may write to the terminal itself again.
                conn.send(p.Written(unacked))
                unacked = 0
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
