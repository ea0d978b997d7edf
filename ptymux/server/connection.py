"""One client connection on the server side: untrusted frames in, typed requests dispatched.

A malformed, oversized or unknown frame gets an error frame and a closed connection; nothing
a client sends can take the server or another session down.

The socket is read with ``recvmsg`` (not through an asyncio transport) because a local
client may pass its terminal along with a request (see ``server/terminal.py``).
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import itertools
import logging
import os
import socket
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ptymux import __version__
from ptymux import protocol as p
from ptymux.commands import SERVED
from ptymux.printable import printable
from ptymux.server.registry import TargetError
from ptymux.server.session import Session
from ptymux.server.terminal import PassedTerminal
from ptymux.server.writer import FdWriter

if TYPE_CHECKING:
    from ptymux.server.server import Server

log = logging.getLogger(__name__)

READ_SIZE = 1 << 18
MAX_FDS = 4  # passed fds a connection may hold before it is refused (one per request)
_FD_SPACE = socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize)
REPLY_LIMIT = 4 << 20  # bytes of replies a client may leave unread before its requests
#  wait (live output has its own bounds, below: only a peer that asks and does not read
#  ever reaches it)
WORK_BUDGET = 0.005  # seconds of one client's requests per wake-up
HELLO_TIMEOUT = 5.0  # seconds a new connection has to say hello
PARTIAL_TIMEOUT = 5.0  # seconds a frame may take from its first byte to its last
LAG_LIMIT = 16 << 20  # output queued for a client that is still reading, before it is put
#  in catch-up all the same (a session pauses at 1 MiB: only a redraw with a long
#  scrollback, or a program's last output read at its exit, can queue more)
DEFAULT_STALL_TIMEOUT = 1.0
LARGE_BUFFER = 256 << 10  # bytes a closing connection held that ask for a trim (Server.trim_soon)
# Before a catch-up redraw: CAN ends any escape sequence the last output it got cut short
# (frames are dropped whole, but a frame can end inside a sequence); ignored otherwise.
CANCEL = b"\x18"
# A client whose terminal is larger than the session (another client's size counts, or it is
# read-only) cannot take the program's output raw: at the session's bottom row a line feed
# scrolls the session but only moves the cursor down in the larger terminal, and the
# session's area goes out of step. Such a client gets the session drawn from the model
# instead, at most once per RENDER_INTERVAL seconds (tmux draws every client from its model).
RENDER_INTERVAL = 0.03
_SYNC_ON, _SYNC_OFF = b"\x1b[?2026h", b"\x1b[?2026l"  # (no half-drawn frame where known)


def _stall_timeout() -> float:
    """Seconds a client may take nothing while output waits for it before it is put in
    catch-up (PTYMUX_STALL_TIMEOUT, read by the server at start)."""
    try:
        value = float(os.environ.get("PTYMUX_STALL_TIMEOUT", DEFAULT_STALL_TIMEOUT))
    except ValueError:
        return DEFAULT_STALL_TIMEOUT
    return min(max(value, 0.05), 3600.0) if value == value else DEFAULT_STALL_TIMEOUT


STALL_TIMEOUT = _stall_timeout()

# The last output frame encoded, with the bytes it carries: a session hands every client
# the same bytes object, so each frame is encoded once however many clients take frames.
_last_output: tuple[bytes, bytes] = (b"", b"")


def output_frame(data: bytes) -> bytes:
    """The ``output`` frame that carries ``data``."""
    global _last_output
    last, frame = _last_output
    if data is not last:
        frame = p.encode(p.Output(data))
        _last_output = (data, frame)
    return frame


_CLIENT_IDS = itertools.count(1)


def peer_creds(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the peer, from the kernel (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return int(pid), int(uid)


def peer_uid(sock: socket.socket) -> int | None:
    return peer_creds(sock)[1]


def _passed_fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)


class Connection:
    """One client. Its requests are handled a bounded amount at a time: frames wait in a
    queue (the socket is not read while they do), a wake-up handles at most WORK_BUDGET
    seconds of them, and none is handled while more than REPLY_LIMIT bytes wait for the
    client to read them. So a peer that pipelines requests and never reads costs a bounded
    amount of memory, and cannot starve the other sessions and clients."""

    def __init__(self, server: Server, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.decoder = p.FrameDecoder()
        self.greeted = False
        self.session: Session | None = None
        self.terminal: PassedTerminal | None = None
        self.tty = ""  # the client's terminal, as it named it (scrollback marks)
        self.client_id = next(_CLIENT_IDS)  # list-clients, detach-client
        self.cols, self.rows = 0, 0  # its terminal's size, as it last said
        self.read_only = False  # attach -r: its keys never reach the program
        self.attached_at = 0.0
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._fds: list[int] = []  # passed fds not yet claimed by a request
        self._paused = False  # our socket is over its high-water mark
        self._unwritten = 0  # output bytes sent as frames that the client has not written yet
        self._reading = False
        self._closing = False  # flushing an error frame before closing
        self._eof = False  # the client has shut down its side: finish its requests, close
        # it took nothing for STALL_TIMEOUT: its output is dropped until it reads again,
        # then it gets a redraw (see _catch_up)
        self._catching_up = False
        self._frames: deque[bytes] = deque()  # received, not yet handled
        self._processing: asyncio.Handle | None = None
        self._replies_blocked = False  # waiting for the client to read what it asked for
        self._partial_timer: asyncio.TimerHandle | None = None
        self._render_timer: asyncio.TimerHandle | None = None  # (see RENDER_INTERVAL)
        sock.setblocking(False)
        self._out = FdWriter(
            self._loop, sock.fileno(), self._set_paused,
            lambda _error: self.close(),
            stall_after=STALL_TIMEOUT, on_stall=self._stalled,
        )
        self._hello_timer: asyncio.TimerHandle | None = self._loop.call_later(
            HELLO_TIMEOUT, self._no_hello
        )
        self._update_reading()
        self.pid, uid = peer_creds(sock)
        if uid != self.server.uid:
            log.warning("refused a connection from uid %s", uid)
            self.fail(
                f"access denied: this server belongs to uid {self.server.uid}, you are uid {uid}",
                code="denied",
            )
            return
        self.server.connections.add(self)

    @classmethod
    def adopt(cls, server: Server, fd: int, greeted: bool) -> Connection:
        """A connection inherited across a hand-over (``server/handover.py``): what its client
        sent meanwhile waits in the socket, read from here on."""
        os.set_inheritable(fd, False)
        conn = cls(server, socket.socket(fileno=fd))
        if greeted and not conn.closed:
            conn.greeted = True
            if conn._hello_timer is not None:
                conn._hello_timer.cancel()
                conn._hello_timer = None
        return conn

    def handover_state(self) -> dict[str, Any] | None:
        """This connection as a hand-over record carries it (plain data; server/handover.py),
        or None if it cannot be carried (closing, or holding a passed fd no request has
        claimed yet: the exec closes it, and its client sees the server go).

        Carried: the socket's fd, what was received and not yet handled (frames queued,
        the start of one), what must still be sent (a begun frame's rest, replies; queued
        live output is not: the attached client gets a full redraw instead), and for an
        attached client its session, size, terminal (fd, bindings, a binding half typed)
        and how much output it has yet to write. Nothing here is changed: if the exec
        fails, the old server goes on as it was."""
        if self.closed or self._closing or self._fds:
            return None
        outbound, dropped = self._out.snapshot()
        inbound = b"".join(p.frame(f) for f in self._frames) + self.decoder.unparsed()
        attached = None
        session = self.session
        if session is not None:
            terminal = None
            if self.terminal is not None:
                terminal = {
                    "fd": self.terminal.fd,
                    "bindings": [[base64.b64encode(seq).decode(), action]
                                 for seq, action in self.terminal.bindings.items()],
                    "held": base64.b64encode(self.terminal.held).decode(),
                }
            attached = {
                "session": session.id, "tty": self.tty, "cols": self.cols, "rows": self.rows,
                "read_only": self.read_only, "since": self.attached_at,
                "order": session.size_order(self),
                "unwritten": max(0, self._unwritten - dropped), "terminal": terminal,
            }
        return {
            "fd": self.sock.fileno(), "greeted": self.greeted, "client": self.client_id,
            "inbound": base64.b64encode(inbound).decode(),
            "outbound": base64.b64encode(outbound).decode(), "attached": attached,
        }

    def resume(self, state: dict[str, Any], session: Session | None) -> None:
        """Carry on where the old code left this connection (``handover_state``): what it
        had still to send goes first, then, for an attached client, a redraw of its
        session; what it had received is handled once the server runs."""
        self.client_id = state["client"]
        outbound = base64.b64decode(state["outbound"])
        if outbound:
            self._out.write(outbound)
        attached = state["attached"]
        if attached is not None:
            terminal = attached["terminal"]
            if session is None or self.closed:
                if terminal is not None:
                    with contextlib.suppress(OSError):
                        os.close(terminal["fd"])
                if not self.closed:  # (gone meanwhile: the client hears it is detached)
                    self.send(p.Detached(id=attached["session"], name=""))
            else:
                self.tty = attached["tty"]
                self.cols, self.rows = attached["cols"], attached["rows"]
                self.read_only = attached["read_only"]
                self.attached_at = attached["since"]
                self._unwritten = attached["unwritten"]
                if terminal is not None:
                    os.set_inheritable(terminal["fd"], False)
                    bindings = {base64.b64decode(seq): action
                                for seq, action in terminal["bindings"]}
                    self.terminal = PassedTerminal(
                        self._loop, terminal["fd"], bindings,
                        on_keys=self._terminal_keys, on_action=self._key_action,
                    )
                    self.terminal.hold(base64.b64decode(terminal["held"]))
                self.session = session
        inbound = base64.b64decode(state["inbound"])
        if inbound:
            self._loop.call_soon(self.data_received, inbound)

    def can_hand_over(self) -> bool:
        """Whether all of this connection is in its socket (nothing half-read, queued,
        unsent, no passed fd, no session): then a hand-over can carry its fd alone."""
        return (not self.closed and not self._closing and self.session is None
                and self.terminal is None and not self._frames and not self.decoder.buffered
                and not self._fds and not self._out.pending)

    # --- the socket -----------------------------------------------------------------------

    def _update_reading(self) -> None:
        """Read the socket only while nothing is queued (backpressure on a pipelining peer).
        Keys are read whether or not the program takes them: the bindings (detach) must
        work, and a client that goes away must be noticed (Session.write bounds them)."""
        self._set_reading(not self._frames and not self._eof)

    def _set_reading(self, on: bool) -> None:
        on = on and not self.closed and not self._closing
        if on == self._reading:
            return
        if on:
            self._loop.add_reader(self.sock.fileno(), self._readable)
        else:
            self._loop.remove_reader(self.sock.fileno())
        self._reading = on

    def _readable(self) -> None:
        try:
            data, ancdata, flags, _addr = self.sock.recvmsg(READ_SIZE, _FD_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancdata, flags = b"", [], 0
        if ancdata:
            self._fds += _passed_fds(ancdata)
        if flags & socket.MSG_CTRUNC or len(self._fds) > MAX_FDS:
            self.fail("protocol error: too many file descriptors passed")
            return
        if not data:
            self._eof = True
            self._process()
            return
        self.data_received(data)

    def data_received(self, data: bytes) -> None:
        """Queue the complete frames in ``data`` and handle what the budget allows now."""
        if self.closed or self._closing:
            return
        try:
            frames = self.decoder.feed(data)
        except p.ProtocolError as e:
            log.info("bad frame from a client: %s", e)
            self.fail(f"protocol error: {e}")
            return
        self._frames.extend(frames)
        self._watch_partial(bool(frames))
        self._process()

    def _watch_partial(self, completed: bool) -> None:
        """A frame must arrive whole within PARTIAL_TIMEOUT of its first byte: a peer that
        announces a large frame and stops short does not hold its buffer for ever."""
        if (completed or not self.decoder.buffered) and self._partial_timer is not None:
            self._partial_timer.cancel()
            self._partial_timer = None
        if self.decoder.buffered and self._partial_timer is None:
            self._partial_timer = self._loop.call_later(PARTIAL_TIMEOUT, self._partial_expired)

    def _partial_expired(self) -> None:
        self._partial_timer = None
        self.fail(f"protocol error: an incomplete frame waited more than {PARTIAL_TIMEOUT:g} s")

    def _no_hello(self) -> None:
        self._hello_timer = None
        if not self.greeted:
            self.fail(f"protocol error: no 'hello' within {HELLO_TIMEOUT:g} s")

    def _process(self) -> None:
        """Handle queued frames for at most WORK_BUDGET seconds (at least one frame), then
        give the loop back; stop while the client has more than REPLY_LIMIT bytes of
        replies unread (its live output is bounded by flow control and catch-up)."""
        self._processing = None
        if self.closed or self._closing:
            return
        deadline = time.monotonic() + WORK_BUDGET
        while self._frames:
            if self._out.pending - self._out.output_pending > REPLY_LIMIT:
                self._replies_blocked = True  # resumed by _set_paused(False)
                self._update_reading()
                return
            self._handle_payload(self._frames.popleft())
            if self.closed or self._closing:
                return
            if time.monotonic() > deadline:
                break
        if self._frames:
            self._processing = self._loop.call_soon(self._process)
            self._update_reading()
            return
        if self._fds and not self.decoder.buffered:
            self.fail("protocol error: a file descriptor came with a request that takes none")
            return
        if self._eof:
            self.close()
            return
        self._update_reading()

    def _handle_payload(self, payload: bytes) -> None:
        try:
            self.handle(p.decode(payload))
        except p.ProtocolError as e:
            log.info("bad frame from a client: %s", e)
            self.fail(f"protocol error: {e}")
        except Exception as e:  # a bug of ours: lose this connection, not the server
            log.exception("error serving a client")
            self.fail(f"internal error: {type(e).__name__}: {e}; see the server log",
                      code="internal")

    def _set_paused(self, paused: bool) -> None:
        """The socket's buffer passed its high-water mark (or drained): a client that is
        slow but reading paces the session; one in catch-up holds nothing back."""
        self._paused = paused
        if self.session is not None:
            self.session.client_paused(self, paused and not self._catching_up)
        if not paused and self._replies_blocked:
            self._replies_blocked = False
            if self._processing is None and not self.closed:
                self._processing = self._loop.call_soon(self._process)

    @property
    def pending(self) -> int:
        """Bytes written to this client that its socket has not taken yet."""
        return self._out.pending

    # --- Attachment (what a session calls) ----------------------------------------------

    def send(self, msg: p.Message) -> None:
        if not self.closed:
            self._out.write(p.encode(msg))

    def output(self, data: bytes, whole: bool = False) -> None:
        """The session's output: straight into the passed terminal while it keeps up and
        the client has written every frame before (order!); the rest as frames. Nothing
        while the client is in catch-up: it gets a redraw when it reads again. A terminal
        larger than the session gets redraws instead of live output (RENDER_INTERVAL);
        ``whole``: ``data`` is (part of) such a redraw already."""
        if self.closed or self._catching_up:
            return
        if not whole and self._larger_than_session():
            if self._render_timer is None:
                self._render_timer = self._loop.call_later(RENDER_INTERVAL, self._render)
            return
        if self.terminal is not None:
            if not self._unwritten:
                written = self.terminal.write_now(data)
                if written == len(data):
                    return
                data = data[written:]
            self._unwritten += len(data)
        self._out.write(output_frame(data), len(data))
        if self._out.output_pending > LAG_LIMIT:
            self._catch_up()

    def _larger_than_session(self) -> bool:
        session = self.session
        return (session is not None and self.cols >= session.cols and self.rows >= session.rows
                and (self.cols, self.rows) != (session.cols, session.rows))

    def _render(self) -> None:
        """Draw the session from the model (this terminal is larger than the session)."""
        self._render_timer = None
        session = self.session
        if session is not None and not self.closed and not self._catching_up:
            session.redraw_client(self, _SYNC_ON, _SYNC_OFF)

    def session_ended(self, session: Session) -> None:
        try:
            model = session.screen()
            leave = model.leave()
            if self._catching_up:  # it missed the end: the last screen, then the goodbye
                self._catching_up = False
                leave = CANCEL + model.redraw() + leave
        except Exception:  # the session is ending either way; the client must hear of it
            log.exception("session %s: leave() failed", session.id)
            leave = b""
        self.session = None
        self._hand_back(leave)
        status, sig = session.exit_status
        self.send(p.Exited(id=session.id, name=session.name, status=status, signal=sig))

    # --- slow and stalled clients (docs/protocol.md, "Flow control") ----------------------
    #
    # live --(nothing taken for STALL_TIMEOUT, or LAG_LIMIT behind)--> catch-up: its queued
    #   output frames are dropped (whole: a begun one is finished), it no longer pauses the
    #   session, and output for it is discarded as it comes
    # catch-up --(everything still queued written and the socket takes more)--> live: a full
    #   redraw from the model, then live output. With a passed terminal the redraw goes the
    #   way output always goes: as frames while the client has any left to write (it says
    #   so with 'written'), so the terminal gets its bytes in order.

    def _stalled(self) -> None:
        """The socket took nothing for STALL_TIMEOUT while output waited."""
        if self.closed or self.session is None:
            return  # (replies nobody reads are REPLY_LIMIT's business)
        if self._catching_up:
            self.session.client_paused(self, False)
            return
        log.info("client %s (pid %s) took no output for %g s: catch-up", self.client_id,
                 self.pid, STALL_TIMEOUT)
        self._catch_up()

    def _catch_up(self) -> None:
        """Stop queueing output for this client; the session and its other clients go on."""
        self._catching_up = True
        dropped = self._out.drop()
        if self.terminal is not None:  # frames it will never write, so never acknowledge
            self._unwritten = max(0, self._unwritten - dropped)
        if self.session is not None:
            self.session.client_paused(self, False)
        self._out.when_writable(self._caught_up)

    def _caught_up(self) -> None:
        """The client read everything it still had: redraw its screen, then live output."""
        if not self._catching_up or self.closed:
            return
        self._catching_up = False
        session = self.session
        if session is None:
            return
        session.client_paused(self, self._paused)
        try:
            out = CANCEL + session.screen().redraw()
        except Exception:
            log.exception("session %s: redraw failed; sending a blank screen", session.id)
            out = b"\x1b[0m\x1b[H\x1b[2J"
        for start in range(0, len(out), p.MAX_DATA):
            self.output(out[start : start + p.MAX_DATA], whole=True)

    # --- the passed terminal --------------------------------------------------------------

    def _claim_fd(self, wanted: bool) -> int | None:
        """The fd that came with a request that says it passes the terminal."""
        if not wanted:
            return None
        if not self._fds:
            raise p.ProtocolError("'terminal' is set but no file descriptor came with it")
        return self._fds.pop(0)

    def drop_fd(self, wanted: bool) -> None:
        """A request that failed: close the fd that came with it."""
        fd = self._claim_fd(wanted)
        if fd is not None:
            os.close(fd)

    def take_terminal(self, wanted: bool, args: p.Attach | p.NewSession) -> None:
        """Use the terminal passed with this request (if any, and if it is one), watching
        it for the key bindings the request names."""
        self._release_terminal()
        fd = self._claim_fd(wanted)
        if fd is None:
            return
        if not os.isatty(fd):
            os.close(fd)  # frames will do
            return
        self.terminal = PassedTerminal(
            self._loop, fd, bindings_of(args),
            on_keys=self._terminal_keys,
            on_action=self._key_action,
        )
        self._unwritten = 0

    def _key_action(self, action: str) -> None:
        """A binding typed on the passed terminal."""
        if action == "detach":
            self._detach()
        else:
            self._suspend(action)

    def _terminal_keys(self, keys: bytes) -> None:
        if self.session is not None and not self.read_only:
            self.session.write(keys)

    def _release_terminal(self) -> None:
        terminal, self.terminal = self.terminal, None
        if terminal is not None:
            terminal.release()

    def _hand_back(self, leave: bytes) -> None:
        """Give the terminal back, ``leave`` last: as a frame, so it comes after every frame
        the client has yet to write, and before the client hears it is detached."""
        self._release_terminal()
        for start in range(0, len(leave), p.MAX_DATA):
            self.send(p.Output(leave[start : start + p.MAX_DATA]))

    # --- closing --------------------------------------------------------------------------

    def fail(self, message: str, code: str = "protocol") -> None:
        """Send one error frame and close once it is out: the reply to what we cannot serve."""
        if self.closed or self._closing:
            return
        self._frames.clear()
        self.send(p.Error(message, code=code))
        self._leave_session()
        self._release_terminal()
        self._closing = True
        self._set_reading(False)
        if self._out.pending:
            self._out.on_drained = self.close
            self._loop.call_later(1.0, self.close)  # a client that reads nothing gets no more
        else:
            self.close()

    def close(self) -> None:
        """Let go of everything: the session, the terminal, fds, timers, buffers, and the
        writer's callbacks into us, so that a closed connection is freed at once by
        reference counting (not at the next full garbage collection)."""
        if self.closed:
            return
        large = self.decoder.buffered + self._out.pending >= LARGE_BUFFER
        self._leave_session()
        self._release_terminal()
        self._set_reading(False)
        self.closed = True
        self._out.close()
        for timer in (self._hello_timer, self._partial_timer, self._processing):
            if timer is not None:
                timer.cancel()
        self._hello_timer = self._partial_timer = self._processing = None
        self._frames.clear()
        self.decoder = p.FrameDecoder()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        self.sock.close()
        self.server.connection_closed(self)
        if large:
            self.server.trim_soon()

    def _leave_session(self) -> None:
        if self._render_timer is not None:
            self._render_timer.cancel()
            self._render_timer = None
        if self.session is not None:
            self.session.detach(self, self.tty)
            self.session = None

    # --- requests -----------------------------------------------------------------------

    def handle(self, msg: p.Message) -> None:
        if not self.greeted:
            self._greet(msg)
            return
        if isinstance(msg, p.Request):
            self._run(msg)
            return
        handler = getattr(self, "on_" + type(msg).__name__, None)
        if handler is None:
            self.fail(f"protocol error: unexpected message {p.kind_of(msg)!r}")
            return
        handler(msg)

    def _greet(self, msg: p.Message) -> None:
        """The handshake: the highest protocol version both speak, and our commands."""
        if not isinstance(msg, p.Hello):
            self.fail("protocol error: the first frame must be 'hello'")
            return
        offered = set(msg.versions or [msg.version])
        shared = offered & set(p.VERSIONS)
        if not shared:
            ours = ", ".join(map(str, p.VERSIONS))
            self.fail(
                f"protocol version {msg.version} is not supported by this server (it speaks"
                f" {ours}, ptymux {__version__}); run 'ptymux kill-server' after upgrading",
                code="version",
            )
            return
        self.greeted = True
        if self._hello_timer is not None:
            self._hello_timer.cancel()
            self._hello_timer = None
        self.send(p.Hello(version=max(shared), pid=self.server.pid, versions=list(p.VERSIONS),
                          software=f"ptymux {__version__}", commands=sorted(SERVED)))

    def _run(self, req: p.Request) -> None:
        """A command: its entry in the table serves it (ptymux/commands/)."""
        serve = SERVED.get(req.command)
        if serve is None:
            self.error(req.id, f"unknown command '{printable(req.command)}'", "unknown-command")
            return
        serve(self, req.id, p.parse_args(req.command, req.args))

    def reply(self, rid: int, result: p.Message) -> None:
        self.send(p.reply(rid, result))

    def error(self, rid: int, message: str, code: str = "failed") -> None:
        self.send(p.Error(message, id=rid, code=code))

    def stream(self, rid: int, text: str) -> None:
        """Part of a long reply, in chunks that each fit a frame."""
        for start in range(0, len(text), p.MAX_CHUNK):
            self.send(p.Chunk(id=rid, data=text[start : start + p.MAX_CHUNK]))

    def find(self, rid: int, target: str | None) -> Session | None:
        """The session ``target`` names, or None once the error has been sent."""
        try:
            return self.server.registry.find(target)
        except TargetError as e:
            self.error(rid, str(e), e.code)
            return None

    def find_or_take_ended(self, rid: int, target: str) -> Session | p.EndedInfo | None:
        """The session ``target`` names; else the kept status of an ended one, taken (it
        is read once: ``wait``, or cleared: ``kill-session``); else None once the error has
        been sent."""
        try:
            return self.server.registry.find(target)
        except TargetError as e:
            ended = self.server.take_ended(target)
            if ended is None:
                self.error(rid, str(e), e.code)
            return ended

    def attach(self, session: Session, args: p.Attach | p.NewSession) -> None:
        """Attach to ``session`` as ``args`` (the attach or new request) asks: its size,
        terminal name, title and scrollback."""
        self._leave_session()  # switching sessions inside one connection
        self.session = session
        self.tty = args.tty
        self.cols, self.rows = args.cols, args.rows
        self.attached_at = time.time()
        attach = args if isinstance(args, p.Attach) else None
        self.read_only = attach is not None and attach.read_only
        session.attach(self, args.cols, args.rows, scrollback=attach.scrollback if attach else 0,
                       tty=args.tty, title=args.title, read_only=self.read_only)
        if self._paused and not self._catching_up:
            session.client_paused(self, True)

    # --- the attached session's stream ------------------------------------------------

    def on_Input(self, msg: p.Input) -> None:
        if self.session is not None and not self.read_only:
            self.session.write(msg.data)

    def on_Written(self, msg: p.Written) -> None:
        """The client caught up with the output frames: the terminal may be written again."""
        self._unwritten = max(0, self._unwritten - msg.size)

    def on_Resize(self, msg: p.Resize) -> None:
        self.cols, self.rows = msg.cols, msg.rows
        if self.session is not None:
            self.session.client_resized(self, msg.cols, msg.rows)

    def on_Detach(self, msg: p.Detach) -> None:
        if self.session is None:
            self.send(p.Error("not attached"))
            return
        if msg.action in ("", "detach"):
            self._detach()
        else:
            self._suspend(msg.action)

    def _detach(self) -> None:
        """Detach keys typed, the Detach request, or the passed terminal hung up."""
        session = self.session
        if session is None:
            return
        self._leave_session()
        self._hand_back(session.screen().leave())
        self.send(p.Detached(id=session.id, name=session.name))

    def detach_by_request(self) -> None:
        """detach-client, attach -d: as if its detach keys had been typed."""
        self._detach()

    def info(self) -> p.ClientInfo | None:
        """What list-clients says of this client (None if it is not attached)."""
        session = self.session
        if session is None:
            return None
        return p.ClientInfo(
            id=self.client_id, session=session.id, session_name=session.name, tty=self.tty,
            cols=self.cols, rows=self.rows, read_only=self.read_only,
            attached=self.attached_at, behind=self.pending + self._unwritten, pid=self.pid,
        )

    def _suspend(self, action: str) -> None:
        """A key binding for the client (the switcher …): leave the session and let go of
        the terminal as it is (the client draws over it: no reset, no flash of the shell
        beneath), then name the action."""
        session = self.session
        if session is None:
            return
        self._leave_session()
        self._release_terminal()
        self.send(p.Action(action=action, id=session.id, name=session.name))


def bindings_of(args: p.Attach | p.NewSession) -> dict[bytes, str]:
    """The key bindings a request names (v4), else its detach keys (v3), else none."""
    if args.keys:
        return {bytes(seq): str(action) for seq, action in args.keys}
    return {args.detach_keys: "detach"} if args.detach_keys else {}
