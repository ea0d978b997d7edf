"""The server: one asyncio loop owning the listening socket and every session."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from ptymux import protocol as p
from ptymux.server.connection import Connection
from ptymux.server.ptyproc import SpawnError
from ptymux.server.registry import Registry, TargetError
from ptymux.server.session import Session

log = logging.getLogger(__name__)

STARTUP_GRACE = 10.0  # seconds a fresh server waits for its first session before exiting
SHUTDOWN_GRACE = 4.0  # seconds kill-server waits for sessions to end before exiting anyway


class Server:
    def __init__(self, socket_path: str, socket_inode: int) -> None:
        self.socket_path = socket_path
        self.socket_inode = socket_inode
        self.pid = os.getpid()
        self.uid = os.getuid()
        self.registry = Registry()
        self.connections: set[Connection] = set()
        self._done = asyncio.Event()
        self._listener: socket.socket | None = None
        self._shutting_down = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._listener = sock
        loop.add_reader(sock.fileno(), self._accept)
        loop.add_signal_handler(signal.SIGCHLD, self._reap)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.shutdown)
        loop.call_later(STARTUP_GRACE, self._exit_if_empty)

    def _accept(self) -> None:
        if self._listener is None:
            return
        for _ in range(16):  # a burst of clients, without starving the sessions
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and friends: the client will see a refusal
                log.warning("accept failed: %s", e)
                return
            try:
                Connection(self, sock)
            except OSError as e:
                log.warning("a client connection failed at once: %s", e)
                sock.close()

    def _stop_listening(self) -> None:
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None

    async def run(self) -> None:
        await self._done.wait()
        self._stop_listening()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while any(c.pending for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.01)  # last words to clients: Exited, Ok
        for conn in list(self.connections):
            conn.close()
        self._unlink_socket()

    def _unlink_socket(self) -> None:
        """Remove our socket file, unless another server has already replaced it."""
        try:
            if os.stat(self.socket_path).st_ino == self.socket_inode:
                os.unlink(self.socket_path)
        except OSError:
            pass

    def _exit_if_empty(self) -> None:
        if not len(self.registry):
            log.info("no sessions: exiting")
            self._done.set()

    def shutdown(self) -> None:
        """kill-server: hang up every session, exit when they are gone (or after a grace)."""
        if self._shutting_down:
            return
        self._shutting_down = True
        log.info("shutting down")
        self._stop_listening()
        sessions = list(self.registry)
        if not sessions:
            self._done.set()
            return
        for session in sessions:
            session.kill()
        asyncio.get_running_loop().call_later(SHUTDOWN_GRACE, self._force_exit)

    def _force_exit(self) -> None:
        for session in list(self.registry):
            session.process.kill()
        self._done.set()

    def _reap(self) -> None:
        for session in list(self.registry):
            session.check_exit()

    def _session_ended(self, session: Session) -> None:
        status, sig = session.exit_status
        log.info("session %s (%s) ended: status %s signal %s", session.id, session.name,
                 status, sig)
        self.registry.remove(session)
        if not len(self.registry):
            self._done.set()

    # --- requests -----------------------------------------------------------------------

    def find(self, target: str | None) -> tuple[str, Session | None]:
        try:
            return "", self.registry.find(target)
        except TargetError as e:
            return str(e), None

    def new_session(self, msg: p.NewSession) -> tuple[str, Session | None]:
        if self._shutting_down:
            return "server is shutting down", None
        session_id = self.registry.next_id()
        name = msg.name if msg.name is not None else str(session_id)
        try:
            if msg.name is not None:
                self.registry.check_name(name)
        except TargetError as e:
            return str(e), None
        env = dict(msg.env)
        for stale in ("COLUMNS", "LINES"):
            env.pop(stale, None)
        env["PTYMUX"] = f"{self.socket_path},{self.pid},{session_id}"
        argv = msg.argv or [env.get("SHELL") or "/bin/sh"]
        try:
            session = Session(
                session_id, name, argv, msg.cwd, env, msg.cols, msg.rows,
                msg.history if msg.history is not None else 2000, self._session_ended,
                msg.emulator,
            )
        except SpawnError as e:
            return str(e), None
        except OSError as e:
            return f"can't create session: {e.strerror or e}", None
        self.registry.add(session)
        log.info("session %s (%s) started: %s pid %s model %s", session_id, name, argv,
                 session.process.pid, session.model_name)
        return "", session
