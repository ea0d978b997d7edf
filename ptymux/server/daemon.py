"""Starting the server: detach from the terminal, bind the socket, report readiness.

A client starts the server as ``python -m ptymux.server --socket PATH --log PATH
--ready-fd N`` in a new session (setsid). This process forks once more so that the daemon is
nobody's child, binds the socket (replacing a stale one) and writes ``ok`` (or one line of
error) to the ready pipe, which the starting client waits on.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys


class AlreadyRunning(Exception):
    pass


def bind_socket(path: str) -> socket.socket:
    """Bind a listening Unix socket at ``path``, readable by its owner only.

    A socket file nobody answers on is a stale leftover of a killed server: replace it.
    """
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
        else:
            raise AlreadyRunning(f"a server is already running on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
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


async def _serve(sock: socket.socket, path: str, ready_fd: int) -> None:
    from ptymux.server.server import Server

    server = Server(path, os.stat(path).st_ino)
    await server.start(sock)
    os.write(ready_fd, b"ok")
    os.close(ready_fd)
    logging.getLogger(__name__).info("server %s listening on %s", os.getpid(), path)
    await server.run()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ptymux-server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--foreground", action="store_true")
    args = parser.parse_args(argv)
    ready = args.ready_fd
    if not args.foreground and os.fork():
        os._exit(0)  # the starter waits for this one; the daemon lives on, nobody's child
    try:
        os.chdir("/")
        _redirect_stdio(args.log)
        logging.basicConfig(
            stream=sys.stderr,
            level=logging.INFO,
            format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(name)s: %(message)s",
        )
        sock = bind_socket(args.socket)
    except (OSError, AlreadyRunning) as e:
        os.write(ready, f"can't start server: {e}".encode())
        return 1
    try:
        asyncio.run(_serve(sock, args.socket, ready))
    except Exception:
        logging.getLogger(__name__).exception("server crashed")
        return 1
    logging.getLogger(__name__).info("server exited")
    return 0
