"""The server: one asyncio loop owning the listening socket and every session."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from ptymux import protocol as p
from ptymux.printable import printable
from ptymux.server.connection import Connection
from ptymux.server.registry import Registry, TargetError
from ptymux.server.session import Session
from ptymux.server.spawn import Spawned, spawn
from ptymux.server.watch import SocketWatch

log = logging.getLogger(__name__)

STARTUP_GRACE = 10.0  # seconds a fresh server waits for its first session before exiting
SHUTDOWN_GRACE = 4.0  # seconds kill-server waits for sessions to end before exiting anyway
RECREATE_DELAY = 0.2  # seconds between noticing the socket is gone and re-creating it
ACCEPT_RETRY = 1.0  # seconds without accepting after running out of file descriptors
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
TRIM_DELAY = 0.1  # seconds from a large buffer's release to returning memory (trim_soon)
CRASH_LIMIT = 3  # crash-guard re-executions ...
CRASH_WINDOW = 600.0  # ... within this many seconds; one more is a crash loop
CRASH_TEST_ENV = "PTYMUX_TEST_CRASH"  # test hook: SIGUSR2 raises in the loop (the crash guard)


class Server:
    def __init__(self, socket_path: str, socket_inode: int) -> None:
        self.socket_path = socket_path
        self.socket_inode = socket_inode
        self.pid = os.getpid()
        self.uid = os.getuid()
        self.registry = Registry()
        # Killed sessions: gone from the registry (their names are free, 'ls' no longer
        # shows them) but their programs are still being hung up and reaped.
        self.dying: set[Session] = set()
        self.connections: set[Connection] = set()
        self._done = asyncio.Event()
        self._listener: socket.socket | None = None
        self._accept_paused = False  # out of fds: not listening for a moment
        self._accept_retry: asyncio.TimerHandle | None = None
        self._watch: SocketWatch | None = None
        self.pid_file: str | None = None  # set by the daemon once it has written it
        self.status_file: str | None = None  # ended sessions' statuses (ptymux.statuses)
        self.stay = False  # start-server: keep running with no sessions, until kill-server
        self.log_path: str | None = None  # set by the daemon (the hand-over's exec needs it)
        self.started = time.time()  # the first start, kept across hand-overs (server-info)
        self.handed_over = self.started  # when this code took over (the last upgrade)
        self.handovers = 0  # hand-overs since the first start (upgrades, crash recoveries)
        self.crashes: list[float] = []  # when the crash guard re-executed us (handover.recover)
        self.crash_loop_logged = False
        self.code_copy: str | None = None  # this code, kept aside (handover.keep_code)
        self._recovering: asyncio.Handle | None = None
        self._trim: asyncio.TimerHandle | None = None  # (trim_soon)
        self._shutting_down = False

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def listener(self) -> socket.socket | None:
        """The listening socket (None once closed)."""
        return self._listener

    def exec_args(self) -> list[str]:
        """The daemon's options that make this server again, for a hand-over's exec (always
        ``--foreground``: the same process, never forked away)."""
        from ptymux.server.daemon import daemon_args

        return daemon_args(self.socket_path, self.log_path, self.pid_file, self.status_file,
                           self.stay)

    def session_ended(self, session: Session) -> None:
        """A session's program ended (the callback a session is created with)."""
        self._session_ended(session)

    def reap(self) -> None:
        """Look for ended programs now (a hand-over: SIGCHLDs during the exec are lost)."""
        self._reap()

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._listener = sock
        loop.add_reader(sock.fileno(), self._accept)
        loop.add_signal_handler(signal.SIGCHLD, self._reap)
        loop.add_signal_handler(signal.SIGUSR1, self.recreate_socket)  # tmux's convention
        self._watch = SocketWatch(loop, self.socket_path, self._socket_gone)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.shutdown)
        loop.set_exception_handler(self._loop_exception)
        if os.environ.get(CRASH_TEST_ENV):
            loop.add_signal_handler(signal.SIGUSR2, self._injected_crash)
        loop.call_later(STARTUP_GRACE, self._exit_if_empty)

    # --- the crash guard (server/handover.py, recover) ---------------------------------

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
                        ) -> None:
        """An exception escaped one of our callbacks: a bug. Log it as asyncio would, then
        hand the server over to a fresh start from its state (soon, once this callback is
        over), so the bug does not leave the server in a state nobody planned for."""
        loop.default_exception_handler(context)
        error = context.get("exception")
        if isinstance(error, Exception):
            self.crashed(f"{type(error).__name__}: {error}")

    def crashed(self, reason: str) -> None:
        """Recover from a bug (handover.recover), soon: at most CRASH_LIMIT times in
        CRASH_WINDOW seconds. A bug that comes back at once is a crash loop: logged, and the
        server runs on as it is."""
        if self._shutting_down or self._recovering is not None:
            return
        now = time.time()
        recent = [t for t in self.crashes if now - t < CRASH_WINDOW]
        if len(recent) >= CRASH_LIMIT:
            if not self.crash_loop_logged:
                self.crash_loop_logged = True
                log.error("crash guard: a crash loop (%d recoveries in the last %g s): not"
                          " re-executing again, the server runs on as it is: %s",
                          len(recent), CRASH_WINDOW, reason)
            return
        self.crashes = [*recent, now]
        self._recovering = asyncio.get_running_loop().call_soon(self._recover, reason)

    def _recover(self, reason: str) -> None:
        """Never raises: an exception here would be one more crash to recover from."""
        try:
            from ptymux.server import handover

            handover.recover(self, reason)
        except Exception:
            log.exception("crash guard: the recovery failed; the server runs on as it is")
        finally:
            self._recovering = None

    def _injected_crash(self) -> None:
        """The test hook (PTYMUX_TEST_CRASH in the server's environment): SIGUSR2 raises
        in a loop callback, as a bug of ours would."""
        raise RuntimeError(f"injected by {CRASH_TEST_ENV} (SIGUSR2)")

    def trim_soon(self) -> None:
        """A connection that held a large buffer closed: give the freed memory back to the
        system soon (once for a burst of them). glibc keeps freed heap memory, and after one
        large buffer is freed it serves the next ones from the heap too (its mmap threshold
        rises): a burst of clients sending 1 MiB frames would leave the server that much
        larger for good."""
        if self._trim is None:
            self._trim = asyncio.get_running_loop().call_later(TRIM_DELAY, self._trim_now)

    def _trim_now(self) -> None:
        self._trim = None
        try:
            import ctypes

            ctypes.CDLL(None).malloc_trim(0)
        except (ImportError, OSError, AttributeError):  # not glibc: nothing to do
            pass

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> None:
        asyncio.get_running_loop().call_later(delay, callback, *args)

    def _accept(self) -> None:
        if self._listener is None:
            return
        for _ in range(16):  # a burst of clients, without starving the sessions
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in _OUT_OF_FDS:
                    self._pause_accepting(e)
                else:
                    log.warning("accept failed: %s", e)
                return
            if self._accept_paused:
                self._accept_paused = False
                log.warning("accepting clients again")
            try:
                Connection(self, sock)
            except OSError as e:
                log.warning("a client connection failed at once: %s", e)
                sock.close()

    def _pause_accepting(self, error: OSError) -> None:
        """Out of file descriptors: a client waiting to be accepted stays readable, so
        trying again at once would spin. Stop listening until a connection closes (or a
        second has passed, as tmux does) and keep serving the clients we have."""
        if self._listener is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._listener.fileno())
        if not self._accept_paused:
            self._accept_paused = True
            log.warning("accept failed (%s): not accepting clients until a file descriptor"
                        " is free", error.strerror)
        if self._accept_retry is None:
            self._accept_retry = loop.call_later(ACCEPT_RETRY, self._resume_accepting)

    def _resume_accepting(self) -> None:
        if self._accept_retry is not None:
            self._accept_retry.cancel()
            self._accept_retry = None
        if self._listener is not None and not self._shutting_down:
            asyncio.get_running_loop().add_reader(self._listener.fileno(), self._accept)

    def connection_closed(self, conn: Connection) -> None:
        """A connection let go of its socket: if we were out of fds, try accepting again."""
        self.connections.discard(conn)
        if self._accept_retry is not None:
            self._resume_accepting()

    def _socket_gone(self) -> None:
        """The socket (or its directory) was removed: re-create it in a moment, once an
        ``rm -rf`` of the whole directory is through (re-creating at once would race it)."""
        asyncio.get_running_loop().call_later(RECREATE_DELAY, self.recreate_socket)

    def recreate_socket(self) -> None:
        """SIGUSR1, or the socket file was removed: listen again at the same path (creating
        its directory, 0700, if that went too). A path another server has taken is left to
        it."""
        if self._listener is None or self._shutting_down:
            return
        try:
            if os.stat(self.socket_path).st_ino == self.socket_inode:
                return  # still ours
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("can't check the socket %s: %s", self.socket_path, e)
            return
        from ptymux.paths import PathError
        from ptymux.server.daemon import AlreadyRunning, bind_socket

        try:
            sock = bind_socket(self.socket_path)  # (re-creating a deleted private directory)
        except (OSError, AlreadyRunning, PathError) as e:
            log.warning("can't re-create the socket %s: %s", self.socket_path, e)
            return
        loop = asyncio.get_running_loop()
        if self._accept_retry is None:
            loop.remove_reader(self._listener.fileno())
        self._listener.close()
        self._listener = sock
        self.socket_inode = os.stat(self.socket_path).st_ino
        if self._accept_retry is None:
            loop.add_reader(sock.fileno(), self._accept)
        if self._watch is not None:
            self._watch.rewatch()  # the directory may be a new one
        log.warning("the socket %s was gone: re-created it", self.socket_path)

    def _stop_listening(self) -> None:
        if self._watch is not None:
            self._watch.close()  # our own unlink (or a client's) is not a loss now
        if self._accept_retry is not None:
            self._accept_retry.cancel()
            self._accept_retry = None
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None

    async def run(self) -> None:
        await self._done.wait()
        self._stop_listening()
        self._unlink_socket()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while any(c.pending for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.01)  # last words to clients: Exited, Ok
        for conn in list(self.connections):
            conn.close()

    def _unlink_socket(self) -> None:
        """Remove our socket file (unless another server has already replaced it) and our pid
        file: a server on its way out is not one a client should wait for or wake up."""
        try:
            if os.stat(self.socket_path).st_ino == self.socket_inode:
                os.unlink(self.socket_path)
        except OSError:
            pass
        if self.pid_file:
            from ptymux.server.daemon import remove_pid_file

            remove_pid_file(self.pid_file)

    def _exit_if_empty(self) -> None:
        # (start-server's stay keeps an idle server, not one that kill-server is ending)
        if not len(self.registry) and (not self.stay or self._shutting_down):
            log.info("no sessions: exiting")
            self._done.set()

    def shutdown(self) -> None:
        """kill-server: hang up every session, exit when they are gone (or after a grace)."""
        if self._shutting_down:
            return
        self._shutting_down = True
        log.info("shutting down")
        self._stop_listening()
        self._unlink_socket()
        for session in list(self.registry):
            if session.ended:  # kept by --remain-on-exit: gone at once
                self.kill_session(session)
        sessions = list(self.registry)
        if not sessions and not self.dying:
            self._done.set()
            return
        for session in sessions:
            session.kill()
        asyncio.get_running_loop().call_later(SHUTDOWN_GRACE, self._force_exit)

    def _force_exit(self) -> None:
        for session in [*self.registry, *self.dying]:
            session.process.kill()
        self._done.set()

    def _reap(self) -> None:
        for session in [*self.registry, *self.dying]:
            session.check_exit()

    def _session_ended(self, session: Session) -> None:
        status, sig = session.exit_status
        log.info("session %s (%s) ended: status %s signal %s", session.id, printable(session.name),
                 status, sig)
        if session.remain and not session.killed:
            self._record_end(session, keep=False)  # it stays listed, with its status
            return
        self.registry.remove(session)
        self.dying.discard(session)
        self._record_end(session)
        self._exit_if_done()

    def _record_end(self, session: Session, keep: bool = True) -> None:
        """Answer the session's waiters; if none was there to read it, keep its status for a
        later ``wait`` (in the state directory: it may come after this server is gone)."""
        result = session.wait_result()
        answered = False
        for conn, rid in session.waiters:
            if not conn.closed:
                conn.reply(rid, result)
                answered = True
        session.waiters.clear()
        if answered or session.killed or not keep or not self.status_file:
            return  # read already; or ended by a kill, which nobody waits to hear of
        from ptymux import statuses

        record = p.EndedInfo(session.id, session.name, session.command,
                             result.status, result.signal, time.time())
        try:
            statuses.add(self.status_file, record)
        except OSError as e:
            log.warning("can't keep the status of session %s: %s", session.id, e.strerror)

    def take_ended(self, target: str) -> p.EndedInfo | None:
        """The kept status ``target`` names, removed as it is read (a ``wait``)."""
        from ptymux import statuses

        return statuses.take(self.status_file, target) if self.status_file else None

    def ended_sessions(self) -> list[p.EndedInfo]:
        from ptymux import statuses

        return statuses.read(self.status_file) if self.status_file else []

    def kill_session(self, session: Session) -> None:
        """kill-session: the session is gone at once, as in tmux (its name is free, ``ls``
        does not show it); its program is hung up, and killed if it is still there after a
        grace period, in the background. Attached clients see it end when it does."""
        self.registry.remove(session)
        if session.ended:  # kept by --remain-on-exit: nothing left to hang up
            session.release_clients()
            self._exit_if_done()
            return
        self.dying.add(session)
        session.kill()

    def _exit_if_done(self) -> None:
        if not len(self.registry) and not self.dying and (not self.stay or self._shutting_down):
            self._done.set()

    # --- requests -----------------------------------------------------------------------

    def new_session(self, msg: p.NewSession, spawned: Spawned | None = None) -> Session:
        """Create a session, around its program started now or, for the first session of a
        server that a ``new -d`` started, already (``spawned``: server/spawn.py);
        TargetError (with its code) says why not."""
        if self._shutting_down:
            raise TargetError("server is shutting down", "failed")
        if spawned is None:
            spawned = spawn(msg, self.registry.next_id, self.socket_path,
                            self.registry.check_name)
        try:
            session = Session(
                spawned.id, spawned.name, spawned.argv, spawned.process, msg.cols, msg.rows,
                msg.history if msg.history is not None else 2000, self._session_ended,
                msg.emulator, spawned.log_fd,
            )
        except BaseException:
            spawned.abandon()
            raise
        session.created = spawned.created
        session.remain = msg.remain
        session.size_policy = msg.size_policy or "latest"
        self.registry.add(session)
        log.info("session %s (%s) started: %r pid %s emulator %s", session.id,
                 printable(session.name), session.argv, session.process.pid,
                 msg.emulator or "vt")
        return session
