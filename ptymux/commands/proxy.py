"""``proxy``: the far end of ``ptymux -H HOST``, run there by ssh as the remote user.

It joins the SSH channel (its stdin and stdout) to that user's server socket (-L/-S as given
to it), starting the server first with ``--start`` (the commands that start servers, such
as ``new``). From then on it relays bytes both ways, frames untouched, with one exception:
a ``new`` request marked ``remote`` gets the remote defaults filled in here (below). It never
holds more than ``LIMIT`` bytes for either direction: when one side does not take what the
other sends, the proxy stops reading the sender, so flow control works end to end (a slow
terminal slows the program, as it does locally) and the proxy's memory stays bounded.

Why the proxy fills in ``new``'s environment and directory, not the client or the server:
the client must not send its own (they describe another machine), and the server's
environment is that of whoever started it, maybe days ago. The proxy runs on the server's
host, as the remote user, in the environment ssh gives a command there (what ``ssh HOST
env`` prints), fresh for this connection; so a session created through ``-H`` gets what a
``ptymux new`` typed there would get from a fresh login, plus ``TERM`` and ``-e``.

``needs_server`` is False: the proxy resolves its own paths (the remote side's -L/-S) and
reports a failure to reach the server as an ``error`` frame, which the client shows as one
line, rather than on stderr.
"""

from __future__ import annotations

import contextlib
import os
import select

from ptymux import protocol as p
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import _socket as socket  # (what client.connection opens: socket.py's base class)
    import argparse

    from ptymux.paths import ServerPaths

LIMIT = 1 << 18  # bytes held for one direction; past it, that direction's sender is not read
CHUNK = 1 << 16  # bytes per read


def run(args: argparse.Namespace, paths: ServerPaths | None) -> int:
    from ptymux.client.connection import ClientError, NoServer, open_socket
    from ptymux.commands.common import UsageError
    from ptymux.paths import PathError, resolve

    if os.isatty(0):
        raise UsageError("proxy joins an SSH channel to the server: 'ptymux -H HOST' runs it"
                         " there through ssh")
    try:
        sock = open_socket(resolve(args.label, args.socket), start=args.start,
                           stay=args.stay)
    except NoServer as e:
        return _refuse(str(e), "no-server")
    except (ClientError, PathError) as e:
        return _refuse(str(e), "failed")
    try:
        relay(0, 1, sock)
    finally:
        sock.close()
    return 0


def _refuse(message: str, code: str) -> int:
    """Answer the client's hello with the reason there is no server to talk to."""
    with contextlib.suppress(OSError):  # (the client is gone already)
        _write_all(1, p.encode(p.Error(message=message, code=code)))
    return 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])


def relay(in_fd: int, out_fd: int, sock: socket.socket) -> None:
    """Bytes from ``in_fd`` to ``sock`` (``new`` requests filled in, ``_Requests``) and from
    ``sock`` to ``out_fd``, until either side closes (and what it said is passed on).

    Backpressure both ways: a direction holding ``LIMIT`` bytes is not read until its
    receiver takes some. ``in_fd`` and ``out_fd`` may be one socket (sshd gives a command
    one socketpair for stdin and stdout).
    """
    for fd in {in_fd, out_fd}:
        os.set_blocking(fd, False)
    sock.setblocking(False)
    server = sock.fileno()
    up = bytearray()  # client -> server
    down = bytearray()  # server -> client
    requests = _Requests()
    client_open = server_open = True
    while (client_open or up) and (server_open or down):
        readers = [in_fd] if client_open and len(up) < LIMIT else []
        if server_open and len(down) < LIMIT:
            readers.append(server)
        writers = ([server] if up else []) + ([out_fd] if down else [])
        try:
            readable, writable, _ = select.select(readers, writers, [])
        except InterruptedError:
            continue
        # What was read is written at once (the usual case: a keystroke, a screenful),
        # without waiting for one more select; select waits only for what did not fit.
        if in_fd in readable:
            data = _read(in_fd)
            if data is None:
                client_open = False  # the client went: pass on what it said, then stop
            else:
                up += requests.feed(data)
        if up and (server in writable or in_fd in readable) and not _write(server, up):
            return  # the server is gone: nothing more can reach it
        if server in readable:
            data = _read(server)
            if data is None:
                server_open = False  # the server went: pass on what it said, then stop
            else:
                down += data
        if down and (out_fd in writable or server in readable) and not _write(out_fd, down):
            return  # the client is gone


def _read(fd: int) -> bytes | None:
    """What one read of ``fd`` gave (b'' if nothing was there after all), None at the end
    (or an error: the other end is gone either way)."""
    try:
        return os.read(fd, CHUNK) or None
    except (BlockingIOError, InterruptedError):
        return b""
    except OSError:
        return None


def _write(fd: int, buffer: bytearray) -> bool:
    """Write from the front of ``buffer`` to ``fd``, dropping what was written; False if
    the other end is gone."""
    try:
        written = os.write(fd, buffer)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    del buffer[:written]
    return True


class _Requests:
    """The client's byte stream cut into frames, so that a ``new`` asking for the remote
    defaults can be filled in; every other frame passes as it came. A frame larger than
    the protocol allows is not ours to judge: from there on bytes pass as they come, and
    the server refuses them."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._raw = False

    def feed(self, data: bytes) -> bytes:
        if self._raw:
            return data
        buf = self._buf
        buf += data
        out = bytearray()
        pos = 0
        while len(buf) - pos >= 4:
            size = int.from_bytes(buf[pos:pos + 4], "big")
            if size > p.MAX_FRAME:
                self._raw = True
                out += buf[pos:]
                pos = len(buf)
                break
            end = pos + 4 + size
            if end > len(buf):
                break
            filled = _filled(bytes(buf[pos + 4:end])) if b"remote" in buf[pos:end] else None
            out += buf[pos:end] if filled is None else filled
            pos = end
        del buf[:pos]
        return bytes(out)


def _filled(payload: bytes) -> bytes | None:
    """The frame for a ``new`` request marked ``remote``, with the remote defaults: this
    process's environment with the request's variables (TERM, ``-e``) over it, the
    directory and log file relative to the home directory ('' is the home). None for any
    other frame, which passes unchanged (a malformed one is the server's to refuse)."""
    try:
        msg = p.decode(payload)
    except p.ProtocolError:
        return None
    if not isinstance(msg, p.Request) or msg.command != "new" \
            or msg.args.get("remote") is not True:
        return None
    args = dict(msg.args)
    del args["remote"]
    home = os.path.expanduser("~")
    given = args.get("env")
    args["env"] = {**os.environ, **(given if isinstance(given, dict) else {})}
    cwd = args.get("cwd")
    args["cwd"] = _from_home(cwd, home) if isinstance(cwd, str) and cwd else home
    log = args.get("log")
    if isinstance(log, str) and log:
        args["log"] = _from_home(log, home)
    return p.encode(msg._replace(args=args))


def _from_home(path: str, home: str) -> str:
    """``path`` as the remote user means it: ``~`` expanded, relative to the home."""
    return os.path.join(home, os.path.expanduser(path))


ENTRY = Command(
    name="proxy",
    aliases=(),
    help="join stdin/stdout to the server (what 'ptymux -H HOST' runs on HOST, through ssh)",
    args=(
        Arg(("--start",), "start", "start the server if none is running", kind="flag"),
        Arg(("--stay",), "stay", "a server started here stays without sessions (as"
            " start-server's does)", kind="flag"),
    ),
    run=run,
    needs_server=False,
)
