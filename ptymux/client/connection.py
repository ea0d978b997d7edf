"""The client side of the protocol: find or start the server, connect, exchange messages.

Blocking and small on purpose: ``ls`` and ``kill-session`` should cost little more than
Python's own start-up.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import select
import socket
import sys
import time

from ptymux import protocol as p
from ptymux.paths import ServerPaths

START_TIMEOUT = 15.0
REPLY_TIMEOUT = 30.0


class ClientError(Exception):
    """Something the user must hear about in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class NoServer(ClientError):
    pass


class Connection:
    """A connected, greeted client socket (any byte stream would do: see docs/protocol.md)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = p.FrameDecoder()
        self._inbox: list[p.Message] = []
        self.server_pid = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def can_pass_fds(self) -> bool:
        return self.sock.family == socket.AF_UNIX

    def send(self, msg: p.Message, fds: tuple[int, ...] = ()) -> None:
        """Send one frame; ``fds`` ride along with its first byte (SCM_RIGHTS)."""
        frame = p.encode(msg)
        try:
            if fds:
                rights = array.array("i", fds)
                sent = self.sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
                frame = frame[sent:]
            if frame:
                self.sock.sendall(frame)
        except OSError as e:
            # The server may have refused us and closed first: its reason beats EPIPE.
            refusal = self._parting_error()
            raise ClientError(refusal or f"lost connection to the server: {e.strerror or e}"
                              ) from None

    def _parting_error(self) -> str | None:
        try:
            while select.select([self.sock], [], [], 0.5)[0] and self.read_available():
                pass
        except ClientError:
            pass
        errors = [m for m in self._inbox if isinstance(m, p.Error)]
        return errors[0].message if errors else None

    def receive(self, timeout: float | None = REPLY_TIMEOUT) -> p.Message:
        """The next message; raises ClientError on EOF, garbage or timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._inbox:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    raise ClientError("the server did not answer in time")
            if not self.read_available():
                raise ClientError("the server closed the connection")
        return self._inbox.pop(0)

    def read_available(self) -> bool:
        """Read once from the socket into the inbox; False on EOF."""
        try:
            data = self.sock.recv(1 << 18)
        except InterruptedError:
            return True
        except ConnectionResetError:
            return False  # the server went away with our bytes unread: as good as EOF
        except OSError as e:
            raise ClientError(f"lost connection to the server: {e.strerror or e}") from None
        if not data:
            return False
        try:
            self._inbox.extend(self.decoder.messages(data))
        except p.ProtocolError as e:
            raise ClientError(f"bad reply from the server: {e}") from None
        return True

    def pending(self) -> list[p.Message]:
        msgs, self._inbox = self._inbox, []
        return msgs

    def request(self, msg: p.Message, fds: tuple[int, ...] = ()) -> p.Message:
        """Send ``msg``; return the reply, turning an error frame into ClientError."""
        self.send(msg, fds)
        reply = self.receive()
        if isinstance(reply, p.Error):
            raise ClientError(reply.message)
        return reply

    def close(self) -> None:
        self.sock.close()


def _connect_socket(path: str) -> socket.socket | None:
    """A connected socket, or None if no server listens there (absent or stale socket)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        if e.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return None
        if e.errno == errno.EACCES:
            raise ClientError(f"can't connect to {path}: permission denied") from None
        raise ClientError(f"can't connect to {path}: {e.strerror or e}") from None
    return sock


def _greet(sock: socket.socket) -> Connection:
    conn = Connection(sock)
    conn.send(p.Hello(version=p.VERSION, pid=os.getpid()))
    reply = conn.receive()
    if isinstance(reply, p.Error):
        raise ClientError(reply.message)
    if not isinstance(reply, p.Hello):
        raise ClientError("the server answered the greeting with something else")
    conn.server_pid = reply.pid
    return conn


def connect(paths: ServerPaths, start: bool = False) -> Connection:
    """Connect to the server at ``paths``; with ``start``, start one if none is running."""
    if len(paths.socket.encode()) > 100:
        raise ClientError(f"socket path too long for a Unix socket: {paths.socket}")
    sock = _connect_socket(paths.socket)
    if sock is None:
        if not start:
            raise NoServer(f"no server running on {paths.socket}")
        sock = _start_server(paths)
    return _greet(sock)


def _start_server(paths: ServerPaths) -> socket.socket:
    """Start the daemon, holding a lock so that racing clients start only one."""
    import subprocess  # only the first command of a server's life pays for this import

    with open(os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600), "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _connect_socket(paths.socket)  # someone may have won the race
        if sock is not None:
            return sock
        read_end, write_end = os.pipe()
        try:
            starter = subprocess.Popen(
                [sys.executable, "-m", "ptymux.server", "--socket", paths.socket,
                 "--log", paths.log, "--ready-fd", str(write_end)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(write_end,),
                start_new_session=True,
            )
            os.close(write_end)
            write_end = -1
            starter.wait()
            answer = _read_all(read_end, START_TIMEOUT)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        if answer != b"ok":
            message = answer.decode(errors="replace").strip() or "the server died while starting"
            raise ClientError(f"{message} (log: {paths.log})")
        sock = _connect_socket(paths.socket)
        if sock is None:
            raise ClientError(f"the server started but is not answering on {paths.socket}")
        return sock


def _read_all(fd: int, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return data
        chunk = os.read(fd, 4096)
        if not chunk:
            return data
        data += chunk
