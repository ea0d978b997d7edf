"""A server on another host, reached over SSH: ``ptymux -H [user@]host[:port] COMMAND``.

As ``docker -H ssh://host`` reaches a remote engine: the client starts the system's OpenSSH
client, so SSH's authentication, keys, agent and ``~/.ssh/config`` apply as they would to
any ``ssh host``, and nothing of ptymux listens on a port. On the far side ssh runs
``ptymux proxy`` (``ptymux.commands.proxy``) as the remote user, which joins the channel to
that user's server socket. The protocol is the local one, frame for frame: the client's
``Connection`` only needs a byte stream, and gets one end of a socketpair whose other end is
ssh's stdin and stdout. What cannot cross SSH is a file descriptor, so such a connection
never passes the terminal (``can_pass_fds`` is False): keys and output go as frames.

ssh's own stderr is captured (a temporary file, which never blocks ssh) and, when the
connection fails, turned into one line: ssh missing, the host unreachable, the login
refused, ptymux missing on the host, no protocol version in common (docs/remote.md).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import socket
import subprocess
import tempfile

from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection, NoServer, greeted, hello
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from typing import IO, NamedTuple

    from ptymux.config import Config
    from ptymux.paths import ServerPaths
else:
    from ptymux.records import NamedTuple

# Seconds from starting ssh to the remote server's hello: connecting, logging in (a
# passphrase typed by hand included) and starting the remote ptymux (and maybe its server).
HELLO_TIMEOUT = 60.0
EXIT_GRACE = 5.0  # seconds ssh gets to exit once its channel is done, before it is killed
# Exit statuses of `ssh host command`: ssh's own failures, and the remote shell's for a
# command it could not find (127) or run (126).
SSH_FAILED = 255
NOT_FOUND = (126, 127)


class Host(NamedTuple):
    """``-H [user@]host[:port]`` taken apart (``ssh://`` in front is allowed, as docker
    writes it; an IPv6 address with a port goes in brackets)."""

    name: str
    user: str = ""
    port: int | None = None

    def __str__(self) -> str:
        return self.name


def parse_host(spec: str) -> Host:
    """The host ``-H`` (or ``PTYMUX_HOST``) names; a usage error (exit 2) if it cannot be
    one. A name starting with ``-`` is refused: ssh would read it as an option."""
    text = spec.removeprefix("ssh://")
    user, at, rest = text.rpartition("@")
    port_text = ""
    if rest.startswith("["):
        name, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            name = ""
        port_text = tail[1:]
        if tail and not port_text:
            name = ""
    elif rest.count(":") == 1:
        name, _, port_text = rest.partition(":")
        if not port_text:
            name = ""
    else:
        name = rest  # a plain name, or an IPv6 address without a port
    port = None
    if port_text:
        port = int(port_text) if port_text.isdigit() and port_text.isascii() else 0
    bad = (not name or name.startswith("-") or (at and not user) or user.startswith("-")
           or port == 0 or (port is not None and port > 65535)
           or any(c.isspace() or not c.isprintable() for c in text))
    if bad:
        raise ClientError(f"bad host '{spec}': use [user@]host[:port]", code=2)
    return Host(name=name, user=user, port=port)


def ssh_command(cfg: Config) -> list[str]:
    """The ssh program and its own options: ``PTYMUX_SSH`` (like git's
    ``GIT_SSH_COMMAND``: ``"ssh -F FILE"``), else the config's ``ssh-command``."""
    given = os.environ.get("PTYMUX_SSH")
    where = "PTYMUX_SSH" if given else f"config file {cfg.path}: ssh-command"
    text = given or cfg.ssh_command
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise ClientError(f"{where}: {e}") from None
    if not words:
        raise ClientError(f"{where}: names no program")
    return words


def ssh_argv(host: Host, cfg: Config, args: list[str]) -> list[str]:
    """``ssh -T [-l USER] [-p PORT] -- HOST 'REMOTE-COMMAND ARGS...'``.

    ``-T``: no pty on the far side (a byte stream, not a terminal). The remote command is
    one string for the remote user's shell, as ssh always sends it: ``remote-command`` as
    written (a path, or a command line such as ``python3 -m ptymux``), then our arguments,
    each quoted for that shell.
    """
    argv = [*ssh_command(cfg), "-T"]
    if host.user:
        argv += ["-l", host.user]
    if host.port is not None:
        argv += ["-p", str(host.port)]
    remote = " ".join([cfg.remote_command, *map(shlex.quote, args)])
    return [*argv, "--", host.name, remote]


class RemoteConnection(Connection):
    """A connection whose byte stream is an ssh process's stdin and stdout."""

    def __init__(self, sock: socket.socket, ssh: subprocess.Popen[bytes], stderr: IO[bytes],
                 host: str) -> None:
        super().__init__(sock)
        self.host = host
        self.ssh = ssh
        self._stderr = stderr
        self._closed = False

    @property
    def can_pass_fds(self) -> bool:
        return False  # a file descriptor cannot cross SSH: frames only

    def greet(self) -> None:
        """The handshake through ssh, or the one line that says why there is none."""
        with contextlib.suppress(OSError):  # (ssh is gone already: its status and
            self.sock.sendall(p.encode(hello()))  # stderr say why, below)
        try:
            reply = self.receive(HELLO_TIMEOUT)
        except ClientError as e:
            raise ClientError(self._why_not(str(e))) from None
        try:
            greeted(self, reply)
        except NoServer as e:
            raise NoServer(f"{self.host}: {e}") from None
        except ClientError as e:
            raise ClientError(f"{self.host}: {e}", e.code) from None

    def _why_not(self, error: str) -> str:
        """One line for a connection that ended (or never answered) before the handshake:
        from ssh's exit status and the last line it (or the remote shell) wrote."""
        host = self.host
        if error.startswith("bad reply"):  # bytes that are not frames: a chatty login script
            return (f"{host}: the remote command's output is not ptymux's protocol (does a"
                    f" shell startup file there print something?): {error}")
        answered = "did not answer" not in error  # (else ssh still runs: ended here)
        status = self._reap(EXIT_GRACE if answered else 0)
        if status is None:
            return f"{host} did not answer within {HELLO_TIMEOUT:g} s"
        last = self._last_words()
        said = f": {last}" if last else ""
        if status == SSH_FAILED:
            lowered = last.lower()
            if "permission denied" in lowered or "authentication" in lowered \
                    or "host key verification failed" in lowered:
                return f"can't log in to {host}{said}"
            if last.startswith("ssh:") or "connection closed" in lowered \
                    or "kex_exchange_identification" in lowered:
                return f"can't reach {host}{said}"
            return f"ssh to {host} failed{said}"
        if status in NOT_FOUND:
            return (f"ptymux is not installed on {host}{said} (install it there, or set"
                    " remote-command in the config file to its path)")
        if "unknown command 'proxy'" in last:
            return (f"the ptymux on {host} is too old to be reached with -H (it has no 'proxy'"
                    " command): upgrade it there")
        return f"ptymux on {host} failed (exit status {status}){said}"

    def _last_words(self) -> str:
        """The last line ssh (or the remote command) wrote on stderr that says something:
        not the notes of LogLevel INFO such as a host key added to known_hosts."""
        try:
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - (1 << 16)))  # (the end is what matters)
            text = self._stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.splitlines()]
        lines = [line for line in lines if line and not line.startswith("Warning: Permanently")]
        return printable(lines[-1])[:300] if lines else ""

    def _reap(self, timeout: float = EXIT_GRACE) -> int | None:
        """Wait for ssh to exit (its status), killing it after ``timeout``: then None."""
        try:
            return self.ssh.wait(timeout) if timeout > 0 else self._poll()
        except subprocess.TimeoutExpired:
            self.ssh.kill()
            self.ssh.wait()
            return None

    def _poll(self) -> int:
        status = self.ssh.poll()
        if status is None:
            raise subprocess.TimeoutExpired(self.ssh.args, 0)
        return status

    def close(self) -> None:
        """Close the stream (the remote proxy then ends, and ssh with it) and reap ssh."""
        if self._closed:
            return
        self._closed = True
        super().close()
        self._reap()
        self._stderr.close()
        _OPEN.discard(self)


_OPEN: set[RemoteConnection] = set()


def _close_all() -> None:
    """At exit: the connections a command left open (the process ends, so would the
    stream; this also reaps ssh instead of leaving it to finish on its own)."""
    for conn in list(_OPEN):
        conn.close()


def connect_remote(paths: ServerPaths, start: bool = False, stay: bool = False
                   ) -> RemoteConnection:
    """Connect to the server on ``paths.host`` through ``ssh HOST ptymux proxy``
    (``--start``: start the server there if none runs; ``--stay``: keep it up without
    sessions, as start-server does); -L and -S are the remote server's."""
    from ptymux.config import load

    cfg = load()
    host = parse_host(paths.host)
    args: list[str] = []
    if paths.label:
        args += ["-L", paths.label]
    if paths.socket:
        args += ["-S", paths.socket]
    args += ["proxy", *(["--start"] if start else []), *(["--stay"] if stay else [])]
    argv = ssh_argv(host, cfg, args)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (kept open: read when ssh fails)
    try:
        # In our process group: ssh may ask for a passphrase on the terminal (/dev/tty).
        ssh = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(),
                               stderr=stderr)
    except OSError as e:
        ours.close()
        stderr.close()
        why = "not found" if isinstance(e, FileNotFoundError) else (e.strerror or str(e))
        raise ClientError(f"can't run ssh ({argv[0]}: {why}); install OpenSSH's client, or"
                          " name it with PTYMUX_SSH or ssh-command in the config file"
                          ) from None
    finally:
        theirs.close()
    conn = RemoteConnection(ours, ssh, stderr, str(host))
    if not _OPEN:  # (registered again after the set emptied: each run closes what is open)
        atexit.unregister(_close_all)
        atexit.register(_close_all)
    _OPEN.add(conn)
    try:
        conn.greet()
    except BaseException:
        conn.close()
        raise
    return conn


__all__ = ["Host", "RemoteConnection", "connect_remote", "parse_host", "ssh_argv"]
