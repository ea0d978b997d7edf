"""Starting the server: detach from the terminal, bind the socket, report readiness.

A client starts the server as ``python -P -m ptymux.server --socket PATH --log PATH
--pid-file PATH --ready-fd N`` in a new session (setsid), from ``/``. This process forks once
more so that the daemon is nobody's child, binds the socket (replacing a stale one), writes
its pid file and then ``ok`` (or one line of error) to the ready pipe, which the starting
client waits on. The pid file lets a client find a server whose socket was deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket

from ptymux.paths import PathError, open_private_dir, private_dir_of, via
from ptymux.server import logfile

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    pass


def bind_socket(path: str) -> socket.socket:
    """Bind a listening Unix socket at ``path``, readable by its owner only.

    In the private socket directory (see ``ptymux.paths``) the directory is opened and
    checked first (and created if it was deleted) and the socket is bound through the open
    directory, so a directory swapped for a symlink after the check is never used. Raises
    OSError, AlreadyRunning, or PathError (the directory is unsafe). Also the way to
    re-create the socket of a running server.
    """
    directory = private_dir_of(path)
    if directory is None:
        return _bind(path, path)
    dir_fd = open_private_dir(directory)
    try:
        return _bind(via(dir_fd, os.path.basename(path)), path)
    finally:
        os.close(dir_fd)


def _bind(where: str, path: str) -> socket.socket:
    """Bind at ``where`` (``path`` itself, or ``path`` reached through a directory fd).

    A socket file nobody answers on is a stale leftover of a killed server: replace it.
    """
    if os.path.exists(where):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(where)
        except OSError:
            os.unlink(where)
        else:
            raise AlreadyRunning(f"a server is already running on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(where)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _redirect_stdio(log_path: str) -> None:
    os.makedirs(os.path.dirname(log_path), mode=0o700, exist_ok=True)
    null = os.open(os.devnull, os.O_RDWR)
    logfd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(logfd, 2)
    os.close(null)
    os.close(logfd)


def write_pid_file(path: str) -> None:
    """Write our pid to ``path`` atomically (a temp file renamed), so that a client never
    reads half a number."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def remove_pid_file(path: str) -> None:
    """Remove ``path`` if it still names us: a newer server may have replaced it."""
    with contextlib.suppress(OSError, ValueError), open(path) as f:
        if int(f.read().strip()) != os.getpid():
            return
        os.unlink(path)


async def _serve(sock: socket.socket, path: str, ready_fd: int, pid_file: str | None,
                 status_file: str | None = None, stay: bool = False) -> None:
    from ptymux.server.server import Server

    server = Server(path, os.stat(path).st_ino)
    server.status_file = status_file
    server.stay = stay
    await server.start(sock)
    if pid_file:
        try:
            write_pid_file(pid_file)
            server.pid_file = pid_file
        except OSError as e:  # the server works without it; only finding it again suffers
            log.warning("can't write the pid file %s: %s", pid_file, e.strerror or e)
    if ready_fd >= 0:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
    log.info("server %s listening on %s", os.getpid(), path)
    await server.run()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ptymux-server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--pid-file")
    parser.add_argument("--status-file")
    parser.add_argument("--ready-fd", type=int, default=-1)  # -1: nobody waits (foreground)
    parser.add_argument("--foreground", action="store_true")
    parser.add_argument("--stay", action="store_true")  # keep running with no sessions
    args = parser.parse_args(argv)
    ready = args.ready_fd
    if not args.foreground and os.fork():
        os._exit(0)  # the starter waits for this one; the daemon lives on, nobody's child
    try:
        os.chdir("/")
        _redirect_stdio(args.log)
        limiter = logfile.install(args.log)
        sock = bind_socket(args.socket)
    except (OSError, AlreadyRunning, PathError) as e:
        if ready >= 0:
            os.write(ready, f"can't start server: {e}".encode())
        else:  # foreground: nobody waits on a pipe; the log (our stderr) says it
            log.error("can't start server: %s", e)
        return 1
    try:
        asyncio.run(_serve(sock, args.socket, ready, args.pid_file, args.status_file,
                           args.stay))
    except Exception:
        log.exception("server crashed")
        return 1
    finally:
        if args.pid_file:
            remove_pid_file(args.pid_file)
        limiter.flush()
    log.info("server exited")
    return 0
