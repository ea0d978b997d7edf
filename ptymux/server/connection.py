"""One client connection on the server side: untrusted frames in, typed requests dispatched.

A malformed, oversized or unknown frame gets an error frame and a closed connection; nothing
a client sends can take the server or another session down.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import TYPE_CHECKING

from ptymux import protocol as p
from ptymux.server.session import Session

if TYPE_CHECKING:
    from ptymux.server.server import Server

log = logging.getLogger(__name__)

WRITE_HIGH_WATER = 1 << 20  # bytes queued to a client before the session pauses for it


def peer_uid(sock: socket.socket) -> int | None:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.decoder = p.FrameDecoder()
        self.greeted = False
        self.session: Session | None = None
        self.closed = False

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = transport.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        if uid != self.server.uid:
            log.warning("refused a connection from uid %s", uid)
            self.fail(
                f"access denied: this server belongs to uid {self.server.uid}, you are uid {uid}"
            )
            return
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            for payload in self.decoder.feed(data):
                self.handle(p.decode(payload))
                if self.closed:
                    return
        except p.ProtocolError as e:
            log.info("bad frame from a client: %s", e)
            self.fail(f"protocol error: {e}")
        except Exception as e:  # a bug of ours: lose this connection, not the server
            log.exception("error serving a client")
            self.fail(f"internal error: {type(e).__name__}: {e}; see the server log")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._leave_session()
        self.server.connections.discard(self)

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.client_paused(self, True)

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session.client_paused(self, False)

    # --- Attachment (what a session calls) ----------------------------------------------

    def send(self, msg: p.Message) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(p.encode(msg))

    def session_ended(self, session: Session) -> None:
        try:
            leave = session.screen().leave()
        except Exception:  # the session is ending either way; the client must hear of it
            log.exception("session %s: leave() failed", session.id)
            leave = b""
        self.send(p.Output(leave))
        status, sig = session.exit_status
        self.send(p.Exited(id=session.id, name=session.name, status=status, signal=sig))
        self.session = None

    def pause_input(self, paused: bool) -> None:
        if self.transport is None or self.closed:
            return
        if paused:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    # --- requests -----------------------------------------------------------------------

    def fail(self, message: str) -> None:
        """Send one error frame and close: the reply to anything we cannot serve."""
        self.send(p.Error(message))
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._leave_session()
            if self.transport is not None:
                self.transport.close()

    def _leave_session(self) -> None:
        if self.session is not None:
            self.session.detach(self)
            self.session = None

    def handle(self, msg: p.Message) -> None:
        if not self.greeted:
            if not isinstance(msg, p.Hello):
                self.fail("protocol error: the first frame must be 'hello'")
                return
            if msg.version != p.VERSION:
                self.fail(
                    f"protocol version {msg.version} is not supported by this server"
                    f" (version {p.VERSION}); run 'ptymux kill-server' after upgrading"
                )
                return
            self.greeted = True
            self.send(p.Hello(version=p.VERSION, pid=self.server.pid))
            return
        handler = getattr(self, "on_" + type(msg).__name__, None)
        if handler is None:
            self.fail(f"protocol error: unexpected message {p.kind_of(msg)!r}")
            return
        handler(msg)

    def on_NewSession(self, msg: p.NewSession) -> None:
        error, session = self.server.new_session(msg)
        if session is None:
            self.send(p.Error(error))
            return
        self.send(p.Created(id=session.id, name=session.name))
        if not msg.detached:
            self._attach(session, msg.cols, msg.rows)

    def on_Attach(self, msg: p.Attach) -> None:
        error, session = self.server.find(msg.target)
        if session is None:
            self.send(p.Error(error))
            return
        self.send(p.Attached(id=session.id, name=session.name))
        self._attach(session, msg.cols, msg.rows)

    def _attach(self, session: Session, cols: int, rows: int) -> None:
        self._leave_session()  # switching sessions inside one connection
        self.session = session
        session.attach(self, cols, rows)

    def on_Input(self, msg: p.Input) -> None:
        if self.session is not None:
            self.session.write(msg.data)

    def on_Resize(self, msg: p.Resize) -> None:
        if self.session is not None:
            self.session.resize(msg.cols, msg.rows)

    def on_Detach(self, msg: p.Detach) -> None:
        session = self.session
        if session is None:
            self.send(p.Error("not attached"))
            return
        self._leave_session()
        self.send(p.Output(session.screen().leave()))
        self.send(p.Detached(id=session.id, name=session.name))

    def on_ListSessions(self, msg: p.ListSessions) -> None:
        self.send(p.SessionList(sessions=[s.info() for s in self.server.registry]))

    def on_KillSession(self, msg: p.KillSession) -> None:
        error, session = self.server.find(msg.target)
        if session is None:
            self.send(p.Error(error))
            return
        session.kill()
        self.send(p.Ok())

    def on_KillServer(self, msg: p.KillServer) -> None:
        self.send(p.Ok())
        self.server.shutdown()

    def on_Capture(self, msg: p.Capture) -> None:
        error, session = self.server.find(msg.target)
        if session is None:
            self.send(p.Error(error))
            return
        lines = session.screen().capture(msg.start, msg.end, msg.escapes, msg.join)
        try:
            frame = p.encode(p.CaptureResult(text="".join(line + "\n" for line in lines)))
        except p.ProtocolError:
            self.send(p.Error(f"capture of {len(lines)} lines is too large for one reply;"
                              " select fewer lines with -S and -E"))
            return
        if self.transport is not None and not self.closed:
            self.transport.write(frame)
