"""The attached client: the user's terminal in raw mode, bytes passed straight through.

On a local socket the client passes the server its terminal (a fresh open of it), and the
server reads keys from it and writes output to it directly, as tmux does: one process less
on every keystroke's way. Otherwise (no fd passing, as over SSH with -H;
``PTYMUX_PASS_TERMINAL=0``; the server declined) keys go to the server as frames (minus
the detach sequence) and output comes back as frames. Either way this process keeps the
terminal's mode and size, and whatever way the attachment ends — detach, exit, a lost
server, an exception — it puts the terminal back the way the user had it.
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
from ptymux.keys import KeyMatcher
from ptymux.printable import printable
from ptymux.statuses import describe, exit_code

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from ptymux.records import NamedTuple

# What the user's terminal gets when we leave it, whatever the program had switched on:
# modifyOtherKeys (before the SGR reset: a terminal without it may read CSI > 4 m as SGR 4),
# attributes, cursor, keypad and cursor keys, mouse and focus reporting, bracketed paste,
# cursor style, autowrap, insert mode, the kitty keyboard flags (all popped: a shell that
# wants them pushes them again at its prompt), an open hyperlink, a synchronized update
# left begun, and the title (popped from where attaching pushed it). What would move the
# cursor (the alternate screen, origin mode, the scroll region) and what only the model
# knows (the alternate screen's keyboard flags, colours the program set) is undone by the
# server (ScreenModel.leave). docs/terminal-state.md lists every piece of state.
MODES_RESET = (
    b"\x1b[>4m\x1b[0m\x1b[?25h\x1b[?1l\x1b>"
    b"\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1004l"
    b"\x1b[?2004l\x1b[0 q\x1b[?7h\x1b[4l\x1b[<99u\x1b]8;;\x1b\\\x1b[?2026l\x1b[?69l"
)
TITLE_PUSH = b"\x1b[22;0t"
TITLE_POP = b"\x1b[23;0t"
TERMINAL_RESET = MODES_RESET + TITLE_POP


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


class AttachSettings(NamedTuple):
    """How the attached client behaves (from the config and the command line)."""

    bindings: dict[bytes, str]  # key sequence -> action (ptymux/keys.py)
    scrollback: int = 0  # history lines written into the terminal on attach
    switcher_scrollback: bool = False  # ... also when switching sessions
    exit_on_close: bool = False  # exit when the session ends, even with others left
    title: str = ""  # the terminal title's prefix ("ptymux: "); '' leaves the title alone
    preview: bool = True  # the switcher's preview
    where: str = ""  # the server's host when remote (the switcher's header)
    read_only: bool = False  # attach -r, kept when switching
    # a detached ``new`` as `ptymux new` here would make it (the switcher's "create")
    new_session: Callable[[], p.NewSession] | None = None

    @property
    def detach_keys(self) -> bytes:
        """The detach sequence, for a server that knows no other binding (protocol 3)."""
        return next(seq for seq, action in self.bindings.items() if action == "detach")

    def help_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every binding, as the help screen lists them."""
        from ptymux.config import describe_keys
        from ptymux.keys import ACTIONS

        return [(describe_keys(seq), ACTIONS.get(action, action))
                for seq, action in self.bindings.items()]


class _Ending(NamedTuple):
    """How one attachment ended."""

    message: str  # the one line for the user ('' for an action)
    code: int
    action: str = ""  # a key binding for the client (the switcher …)
    session: int | None = None  # the session it was attached to
    name: str = ""
    exited: bool = False  # its program ended


def run_attached(
    conn: Connection, request: Callable[[bool], p.Message], settings: AttachSettings
) -> int:
    """Send the attaching ``request`` (built for passing the terminal or not), then pass the
    terminal through until detach or exit, following the key bindings for the client
    (the switcher, next session …) in between; return the process exit code."""
    fd_in, fd_out = 0, 1
    signals = _SignalPipe((signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP))
    v4 = conn.version >= 4
    tty = _tty_name(fd_in) if v4 else ""
    if tty and conn.host:  # a name that is this machine's, on another's server
        import socket

        tty = f"{socket.gethostname()}:{tty}"[: p.MAX_PATH]
    try:
        # Raw mode first: the server may read the terminal as soon as it has it.
        with raw_terminal(fd_in, fd_out) as raw:
            build = request
            scrollback = settings.scrollback
            retried = True  # the first request's errors are the command's errors
            while True:
                try:
                    ending = _attach_once(conn, build, settings, signals, raw, tty, scrollback)
                except ClientError:
                    # The session we were switching to went away meanwhile: the most
                    # recent other one, once; else the error.
                    fallback = None if retried else _most_recent_other(conn, None)
                    if fallback is None:
                        raise
                    retried = True
                    build = _attach_request(fallback, settings)
                    continue
                retried = False
                if not v4:
                    break
                target: int | str | None = None
                if ending.action:
                    target = _follow(conn, ending, settings)
                    if target is None:  # the switcher said detach
                        _write_all(fd_out, MODES_RESET)
                        ending = ending._replace(
                            message=f"[detached (from session {ending.name})]", code=0)
                        break
                elif ending.exited and not settings.exit_on_close:
                    target = _most_recent_other(conn, ending.session)
                    if target is not None:
                        _write_all(fd_out, f"\r\n{printable(ending.message)}\r\n".encode())
                if target is None:
                    break
                scrollback = settings.scrollback if settings.switcher_scrollback else 0
                if isinstance(target, str):  # the session we came from: what it printed since
                    scrollback = settings.scrollback
                build = _attach_request(target, settings)
    finally:
        signals.close()
    # Names and errors come from the server: shown with control characters escaped.
    os.write(fd_out, f"\r\n{printable(ending.message)}\r\n".encode())
    return ending.code


def _tty_name(fd: int) -> str:
    try:
        return os.ttyname(fd)[: p.MAX_PATH]
    except OSError:
        return ""


def _attach_request(target: int | str, settings: AttachSettings
                    ) -> Callable[[bool], p.Message]:
    """An attach to session ``target`` (an id: switching; a str: back to the one we left)."""
    text = target if isinstance(target, str) else f"${target}"
    return lambda passing: p.Attach(*terminal_size(0), target=text, terminal=passing,
                                    read_only=settings.read_only)


def _attach_once(
    conn: Connection,
    request: Callable[[bool], p.Message],
    settings: AttachSettings,
    signals: _SignalPipe,
    raw: _Raw,
    tty: str,
    scrollback: int,
) -> _Ending:
    """One attachment: the request, then the terminal passed through until it ends."""
    fd_in, fd_out = 0, 1
    matcher = KeyMatcher(settings.bindings)
    size = terminal_size(fd_in)
    passed = open_terminal(fd_in, fd_out) if conn.can_pass_fds else None
    try:
        fds = () if passed is None else (passed,)
        msg = request(passed is not None)
        if conn.version >= 4:
            assert isinstance(msg, (p.Attach, p.NewSession))
            keys = [[seq, action] for seq, action in settings.bindings.items()]
            msg = msg._replace(keys=keys, tty=tty, title=settings.title, detach_keys=b"")
            if isinstance(msg, p.Attach):
                msg = msg._replace(scrollback=scrollback)
        else:
            assert isinstance(msg, (p.Attach, p.NewSession))
            msg = msg._replace(detach_keys=settings.detach_keys)
        reply = conn.request(msg, fds)
    finally:
        if passed is not None:
            os.close(passed)
    if not isinstance(reply, (p.Created, p.Attached)):
        raise ClientError("unexpected reply from the server")
    raw.drawn = True
    try:
        conn.send(p.Resize(*size))  # the size may have changed since the request
        return _loop(conn, reply, matcher, signals, size, fd_in, fd_out, not reply.terminal)
    except ClientError:  # the server vanished mid-send or mid-read
        # It may have said goodbye first (a program that exited at once, and a
        # server that left with its last session): what it sent has been read.
        ending, _ = _handle_pending(conn, fd_out)
        return ending or _Ending(f"[lost server (session {reply.name})]", 1)


def _follow(conn: Connection, ending: _Ending, settings: AttachSettings) -> int | str | None:
    """Do what a binding for the client asks; the session to attach next (an id, or the
    target of the one we left), or None to detach."""
    action, current = ending.action, ending.session
    back = f"${current}"
    if action in ("switcher", "help"):
        return _run_switcher(conn, current, settings, show_help=action == "help")
    if action in ("next-session", "previous-session"):
        sessions = conn.request(p.ListSessions())
        assert isinstance(sessions, p.SessionList)
        ids = [s.id for s in sessions.sessions]
        if current in ids:
            step = 1 if action == "next-session" else -1
            return ids[(ids.index(current) + step) % len(ids)]
        return ids[0] if ids else back
    if action == "last-session":
        other = _most_recent_other(conn, current)
        return back if other is None else other
    if action == "new-session" and settings.new_session is not None:
        try:
            created = conn.request(settings.new_session())
        except ClientError as e:  # (a bad default command …): say so, go back
            _write_all(1, f"\r\nptymux: {printable(str(e))}\r\n".encode())
            return back
        assert isinstance(created, p.Created)
        return created.id
    return back  # an action this client does not know (a newer config's)


def _run_switcher(conn: Connection, current: int | None, settings: AttachSettings,
                  show_help: bool = False) -> int | str | None:
    # The program's modes (mouse, keypad, a scroll region …) are not the switcher's.
    _write_all(1, MODES_RESET + b"\x1b[?6l\x1b[r")
    from ptymux.client.switcher import run_switcher  # prompt_toolkit: only now
    from ptymux.client.switcher_host import SwitcherHost

    def no_new() -> p.NewSession:
        raise ClientError("this client cannot create sessions here")

    host = SwitcherHost(conn, settings.new_session or no_new)
    choice = run_switcher(host, current, settings.help_rows(), preview=settings.preview,
                          where=settings.where, show_help=show_help)
    if choice.action == "detach":
        return None
    if choice.action == "switch" and choice.session is not None:
        return choice.session
    return f"${current}"  # back where we came from


def _most_recent_other(conn: Connection, gone: int | None) -> int | None:
    """The most recently used session other than ``gone`` that still runs, or None."""
    try:
        listing = conn.request(p.ListSessions())
    except ClientError:
        return None
    assert isinstance(listing, p.SessionList)
    others = [s for s in listing.sessions if s.id != gone and not s.ended]
    if not others:
        return None
    return max(others, key=lambda s: (s.activity, s.id)).id


def _handle_pending(conn: Connection, fd_out: int) -> tuple[_Ending | None, int]:
    """Write the output received so far: (how the attachment ended if it did, how many
    output bytes were written)."""
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
            return _Ending(f"[exited (session {msg.name}, {why})]", code, session=msg.id,
                           name=msg.name, exited=True), written
        elif isinstance(msg, p.Detached):
            return _Ending(f"[detached (from session {msg.name})]", 0, session=msg.id,
                           name=msg.name), written
        elif isinstance(msg, p.Action):
            return _Ending("", 0, action=msg.action, session=msg.id, name=msg.name), written
        elif isinstance(msg, p.Error):
            return _Ending(f"ptymux: {msg.message}", 1), written
    flush()
    return None, written


def _loop(
    conn: Connection,
    reply: p.Created | p.Attached,
    matcher: KeyMatcher,
    signals: _SignalPipe,
    size: tuple[int, int],
    fd_in: int,
    fd_out: int,
    read_keys: bool,
) -> _Ending:
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
            keys, action, _rest = matcher.feed(data)  # (keys after a binding: dropped)
            if keys:
                conn.send(p.Input(keys))
            if action is not None:
                conn.send(p.Detach(action="" if action == "detach" else action))
                detaching = True
        if conn.fileno() in ready and not conn.read_available():
            return _Ending(f"[lost server (session {reply.name})]", 1, session=reply.id,
                           name=reply.name)


__all__ = ["AttachSettings", "ClientError", "run_attached", "terminal_size"]
