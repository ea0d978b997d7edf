"""The client side of the protocol: find or start the server, connect, exchange messages.

Blocking and small on purpose: ``ls`` and ``kill-session`` should cost little more than
Python's own start-up.
"""

from __future__ import annotations

import _socket as socket  # (not socket.py: its enums and selectors cost a warm command ~3 ms)
import array
import errno
import fcntl
import os
import select
import struct
import sys
import time

from ptymux import protocol as p
from ptymux.paths import ServerPaths, open_private_dir, via

START_TIMEOUT = 15.0
LOCK_TIMEOUT = START_TIMEOUT + 5.0  # waiting for another client that is starting the server
EXIT_GRACE = 0.2  # a server without its socket may just be exiting: it gets this long first
WAKE_TIMEOUT = 2.0  # then, signalled, this long to re-create its socket
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

    host = ""  # the server's host when it is reached over SSH (-H), else ''

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = p.FrameDecoder()
        self._inbox: list[p.Message] = []
        self.server_pid = 0
        self.server_software = ""
        self.server_commands: frozenset[str] | None = None  # None: not greeted yet
        self.version = 0  # the protocol version the handshake chose
        self._next_id = 1

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

    def request(self, args: p.Message, fds: tuple[int, ...] = (),
                timeout: float | None = REPLY_TIMEOUT) -> p.Message:
        """Run the command whose arguments ``args`` are (a ``p.Capture`` …); return its
        result record (a streamed reply put together), turning an error into ClientError.

        Frames of the attached session's stream that arrive meanwhile (output, …) stay in
        the inbox, in order, for whoever reads it next."""
        command = p.command_of(args)
        if self.server_commands is not None and command not in self.server_commands:
            how = ("'ptymux upgrade-server' runs the installed version, keeping every session"
                   if "upgrade-server" in self.server_commands else
                   "upgrading it means 'ptymux kill-server', which ends every session")
            raise ClientError(
                f"the server ({self.server_software or 'an older ptymux'}) does not know the"
                f" command '{command}'; it runs the version it was started with ({how})"
            )
        rid = self._next_id
        self._next_id += 1
        self.send(p.request(rid, args), fds)
        others: list[p.Message] = []
        chunks: list[str] = []
        try:
            while True:
                msg = self.receive(timeout)
                if isinstance(msg, p.Error) and msg.id in (rid, None):
                    break
                if isinstance(msg, p.Chunk) and msg.id == rid:
                    chunks.append(msg.data)
                elif isinstance(msg, p.Reply) and msg.id == rid:
                    break
                else:
                    others.append(msg)
        finally:
            self._inbox[:0] = others
        return _result(command, msg, chunks)

    def close(self) -> None:
        self.sock.close()


def _result(command: str, msg: p.Message, chunks: list[str]) -> p.Message:
    """A command's result from its answer (a Reply, after its chunks); an Error, or a
    result that does not parse, as ClientError."""
    if isinstance(msg, p.Error):
        raise ClientError(msg.message, p.EXIT_STATUS.get(msg.code, 1))
    if not isinstance(msg, p.Reply):
        raise ClientError(f"bad reply from the server: {type(msg).__name__}")
    try:
        return p.parse_result(command, msg.result, chunks)
    except p.ProtocolError as e:
        raise ClientError(f"bad reply from the server: {e}") from None


def _connect_socket(paths: ServerPaths) -> socket.socket | None:
    """A connected socket to a server of ours, or None if no server listens there.

    In the private socket directory the connect goes through the opened and checked
    directory (see ptymux.paths). Whoever answers must run as us or as root: that is checked
    (SO_PEERCRED) before a byte is sent, since a stranger's server would get our hello, then
    our keys and even our terminal. ``-S`` sockets included.
    """
    path = paths.socket
    if not paths.private:
        return _connect_at(path, path)
    dir_fd = open_private_dir(os.path.dirname(path))
    try:
        return _connect_at(via(dir_fd, os.path.basename(path)), path)
    finally:
        os.close(dir_fd)


def _connect_at(where: str, path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(where)
    except OSError as e:
        sock.close()
        if e.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return None
        if e.errno == errno.EACCES:
            raise ClientError(f"can't connect to {path}: permission denied") from None
        raise ClientError(f"can't connect to {path}: {e.strerror or e}") from None
    try:
        _check_peer(sock, path)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_peer(sock: socket.socket, path: str) -> None:
    """Refuse a server that is neither us nor root."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError as e:
        raise ClientError(f"can't check the server on {path}: {e.strerror or e}") from None
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid not in (os.getuid(), 0):
        raise ClientError(
            f"refusing the server on {path}: it runs as uid {uid}, not as you"
            f" (uid {os.getuid()}) or root"
        )


def _greet(sock: socket.socket) -> Connection:
    conn = Connection(sock)
    conn.send(hello())
    greeted(conn, conn.receive())
    return conn


def hello() -> p.Hello:
    """The client's half of the handshake: every protocol version it speaks."""
    from ptymux import __version__

    return p.Hello(version=p.VERSION, pid=os.getpid(), versions=list(p.VERSIONS),
                   software=f"ptymux {__version__}")


def greeted(conn: Connection, reply: p.Message) -> None:
    """Take the server's answer to ``hello``: its version, software and commands, or the
    one-line reason there is no talking to it (no version in common: both sides' versions
    named, since that is what the user must upgrade)."""
    if isinstance(reply, p.Error):
        if reply.code == "no-server":  # (from ptymux proxy: its host runs no server)
            raise NoServer(reply.message)
        if reply.code == "version":  # the server named its versions: ours too
            ours = ", ".join(map(str, p.VERSIONS))
            raise ClientError(f"{reply.message} (this ptymux speaks {ours})")
        raise ClientError(reply.message)
    if not isinstance(reply, p.Hello):
        raise ClientError("the server answered the greeting with something else")
    if reply.version not in p.VERSIONS:
        theirs = ", ".join(map(str, reply.versions or [reply.version]))
        raise ClientError(
            f"no protocol version in common with the server ({reply.software or 'ptymux'}"
            f" speaks {theirs}; this ptymux speaks {', '.join(map(str, p.VERSIONS))})"
        )
    conn.server_pid = reply.pid
    conn.version = reply.version
    conn.server_software = reply.software
    conn.server_commands = frozenset(reply.commands or ())


def starting_point(remote: bool) -> tuple[dict[str, str], str]:
    """The environment and working directory a new session starts from: this process's
    (a copy), or, for a session on another host (``-H``), none of ours: ``ptymux proxy``
    there puts the far side's own first (its login environment, its home). The one rule
    for ``new``, the switcher's new session and the Python API's ``Server.new``."""
    if remote:
        return {}, ""
    return dict(os.environ), os.getcwd()


def connect(paths: ServerPaths, start: bool = False, stay: bool = False) -> Connection:
    """Connect to the server at ``paths``; with ``start``, start one if none is running.
    A server on another host (``-H``) is reached over SSH (ptymux.client.remote)."""
    if paths.host:
        from ptymux.client.remote import connect_remote

        return connect_remote(paths, start, stay)
    return _greet(open_socket(paths, start, stay))


class First:
    """A ``new -d`` for a server this client may have to start: one forked from this
    process answers it as it starts, before its event loop exists (server/spawn.py), and
    ``result`` is then that answer; else it stays None and the request goes the usual way."""

    def __init__(self, request: p.NewSession) -> None:
        self.request = request
        self.result: p.Message | None = None


def connect_or_create(paths: ServerPaths, request: p.NewSession) -> Connection | p.Message:
    """``new -d``: a connection to the running server, or, if this client had to start
    one, the request's result (the session is made already)."""
    first = First(request)
    sock = _open(paths, True, False, first)
    if sock is None:
        assert first.result is not None
        return first.result
    return _greet(sock)


def open_socket(paths: ServerPaths, start: bool = False, stay: bool = False
                ) -> socket.socket:
    """A socket connected to the server at ``paths``, not greeted yet (``ptymux proxy``
    relays the greeting of a client on another host); with ``start``, start one first if
    none is running."""
    sock = _open(paths, start, stay, None)
    assert sock is not None  # (only a First is answered without one)
    return sock


def _open(paths: ServerPaths, start: bool, stay: bool, first: First | None
          ) -> socket.socket | None:
    """``open_socket``; None once a server started here has answered ``first``."""
    if len(paths.socket.encode()) > 100:
        raise ClientError(f"socket path too long for a Unix socket: {paths.socket}")
    while True:
        sock = _find_server(paths)
        if sock is None and not start:
            raise NoServer(f"no server running on {paths.socket}")
        if sock is None:
            sock = _start_server(paths, stay, first)
            if first is not None and first.result is not None:
                return None
        if sock is not None:
            return sock
        # We waited while another client started the server: look again from the start.


def _find_server(paths: ServerPaths) -> socket.socket | None:
    """A connection to the server: on its socket, or, if its socket is gone but its pid
    file names a live server, on the socket it re-creates when asked (SIGUSR1)."""
    sock = _connect_socket(paths)
    if sock is None:
        pid = _server_without_socket(paths)
        if pid:
            sock = _wake(paths, pid)
    return sock


def _server_without_socket(paths: ServerPaths) -> int | None:
    """The pid in the pid file, if that is a live ptymux server of ours for this socket.

    A live process of ours with that pid may be one that got the number later. The server
    proves itself by holding the pid file open (a daemon forked from a client has the
    client's command line), or, started as ``python -m ptymux.server`` (an older ptymux
    too), by naming the socket in its command line."""
    try:
        with open(paths.pid, "rb") as f:
            pid = int(f.read().strip() or b"0")
            pid_file = os.fstat(f.fileno())
        if pid <= 0 or os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return None
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    want = os.fsencode(paths.socket)
    serves = any(a == b"--socket" and b == want for a, b in zip(args, args[1:], strict=False))
    if b"ptymux.server" in args and serves:
        return pid
    from ptymux.server.daemon import serves_pid_file

    return pid if serves_pid_file(pid, pid_file) else None


def _wake(paths: ServerPaths, pid: int) -> socket.socket | None:
    """Ask server ``pid`` to re-create its socket and connect; None if it turns out to be
    exiting (a server removes its socket first, its pid file last: given EXIT_GRACE before
    the signal, and watched while we wait)."""
    import signal

    started = time.monotonic()
    signalled = False
    while True:
        sock = _connect_socket(paths)
        if sock is not None:
            return sock
        if _server_without_socket(paths) != pid:
            return None
        waited = time.monotonic() - started
        if not signalled and waited >= EXIT_GRACE:
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                return None
            signalled = True
        if waited >= EXIT_GRACE + WAKE_TIMEOUT:
            raise ClientError(
                f"server (pid {pid}) is running without its socket {paths.socket};"
                f" 'kill -USR1 {pid}' re-creates it"
            )
        time.sleep(0.02)


def _start_server(paths: ServerPaths, stay: bool = False, first: First | None = None
                  ) -> socket.socket | None:
    """Start the daemon under the start lock; None if we had to wait for the lock.

    As tmux does: the client that takes the lock at once looks for a server once more,
    starts one if there is none and removes the lock file once the server answers, still
    holding the lock. A client that had to wait gives up the lock and starts over from
    connecting, so removing the file can never let a second server start: whoever takes a
    new lock file finds the server ready. The lock file is left only after a failed start.
    """
    try:
        lock_fd = _open_lock(paths)
    except OSError as e:
        raise ClientError(f"can't create the lock file {paths.lock}: {e.strerror or e}"
                          ) from None
    try:
        if not _take_lock(lock_fd, paths.lock):
            return None
        sock = _find_server(paths) or _spawn_server(paths, stay, first)
        _remove_lock(paths.lock, lock_fd)
        return sock
    except OSError as e:
        raise ClientError(f"can't start the server: {e.strerror or e}") from None
    finally:
        os.close(lock_fd)


def _open_lock(paths: ServerPaths) -> int:
    """Open (create) the lock file; in the private directory, through the checked open
    directory as the socket is. Never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    if not paths.private:
        return os.open(paths.lock, flags, 0o600)
    dir_fd = open_private_dir(os.path.dirname(paths.lock))
    try:
        return os.open(os.path.basename(paths.lock), flags, 0o600, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _take_lock(fd: int, path: str) -> bool:
    """Lock ``fd``: True if it was free, False once another holder let go."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        time.sleep(0.01)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ClientError(f"timed out waiting for the lock {path}"
                                  " (another ptymux is starting the server)") from None


def _remove_lock(path: str, fd: int) -> None:
    """Unlink the lock file we hold, unless it is already another one."""
    try:
        held, there = os.fstat(fd), os.stat(path)
        if (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino):
            os.unlink(path)
    except OSError:
        pass


def server_command(paths: ServerPaths, stay: bool = False, foreground: bool = False,
                   ready_fd: int = -1) -> list[str]:
    """The daemon's argv: ``-P`` so that only the installed package can be imported (a
    ``ptymux/`` in the caller's directory would otherwise shadow it, and run); ``stay``: keep
    running with no sessions (start-server); ``foreground``: do not fork away."""
    argv = [sys.executable, "-P", "-m", "ptymux.server", "--socket", paths.socket,
            "--log", paths.log, "--pid-file", paths.pid, "--status-file", paths.status,
            "--ready-fd", str(ready_fd)]
    return argv + (["--stay"] if stay else []) + (["--foreground"] if foreground else [])


def start_server(paths: ServerPaths, stay: bool = False) -> Connection:
    """Start the server (as a client's first command does) and connect to it."""
    return connect(paths, start=True, stay=stay)


def _spawn_server(paths: ServerPaths, stay: bool = False, first: First | None = None
                  ) -> socket.socket | None:
    """Start the daemon and wait until it is listening; None once a forked daemon has
    answered ``first`` (its result is then set).

    The ``ptymux`` command forks it out of itself (``ptymux.server.daemon.fork_server``), as
    tmux does: no second interpreter to start. Anything else (see ``_may_fork``) runs
    ``python -P -m ptymux.server`` from ``/``: ``-P`` so that only the installed package may
    be imported (a ``ptymux/`` in the caller's directory would otherwise shadow it, and
    run). Sessions still start where the caller is: ``new`` sends its directory.
    """
    read_end, write_end = os.pipe()
    try:
        if write_end <= 2:  # (our stdio was closed): where the daemon puts /dev/null
            low = write_end
            write_end = fcntl.fcntl(low, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(low)
        if _may_fork():
            from ptymux.server.daemon import fork_server

            fork_server(paths.socket, paths.log, paths.pid, paths.status, stay, write_end,
                        first.request if first is not None else None)
            os.close(write_end)
            write_end = -1
        else:
            import subprocess  # only the first command of a server's life pays for this

            popen = subprocess.Popen(
                server_command(paths, stay=stay, ready_fd=write_end),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(write_end,),
                start_new_session=True,
                cwd="/",
            )
            os.close(write_end)
            write_end = -1
            popen.wait()
        answer = _read_all(read_end, START_TIMEOUT)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if first is not None and answer.startswith(b"ok") and len(answer) > 2:
        first.result = _first_result(first.request, answer[2:])
        return None
    if answer != b"ok":
        message = answer.decode(errors="replace").strip() or "the server died while starting"
        raise ClientError(f"{message} (log: {paths.log})")
    sock = _connect_socket(paths)
    if sock is None:
        raise ClientError(f"the server started but is not answering on {paths.socket}")
    return sock


def _first_result(request: p.NewSession, frame: bytes) -> p.Message:
    """The result of the first request, from its answer's frame on the ready pipe."""
    try:
        msgs = p.FrameDecoder().messages(frame)
    except p.ProtocolError as e:
        raise ClientError(f"bad reply from the server: {e}") from None
    if len(msgs) != 1:
        raise ClientError("bad reply from the server: not one answer on the ready pipe")
    return _result(p.command_of(request), msgs[0], [])


def _may_fork() -> bool:
    """Whether this process may become the server by forking (``_spawn_server``): only the
    ``ptymux`` command itself (its ``__main__`` runs ``ptymux.cli.main``), single-threaded,
    and unless ``PTYMUX_SERVER_EXEC=1`` asks for a fresh interpreter. A program using the
    Python API gets ``python -m ptymux.server``: its threads, fds, handlers and memory are
    none of the server's business."""
    if os.environ.get("PTYMUX_SERVER_EXEC", "") not in ("", "0"):
        return False
    cli = sys.modules.get("ptymux.cli")
    main = getattr(sys.modules.get("__main__"), "main", None)
    if cli is None or main is not getattr(cli, "main", None):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


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
