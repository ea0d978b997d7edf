"""What the session switcher asks the server, on the client's own connection.

The switcher (``ptymux.client.switcher``) is the user interface; this is the part that talks
to the server, kept apart so that it imports no prompt_toolkit and can be read (and tested)
on its own. Every call is one request with an id on the connection the client attached
with: while the switcher is open that connection is attached to no session, so nothing but
the replies to these requests arrives on it (docs/switcher.md says why the switcher uses
this connection rather than a second one).

Errors are ``ClientError`` with the server's one-line message: the switcher shows it and
carries on. When the connection itself is gone (the server exited or was killed, or stopped
answering) the error is ``ServerLost``, a ``ClientError`` too, and the switcher ends with it:
there is nothing left to switch to.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Callable

from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection

# How long a request may take before the connection is given up for lost: generous for
# ``new`` (a program to start) and ``kill``, short for the refreshes, which must not leave
# the switcher frozen behind a server that no longer answers.
REQUEST_TIMEOUT = 30.0
REFRESH_TIMEOUT = 10.0
# After a request failed: how long to wait for the server to close the connection, which
# it does right after an error without an id (a protocol or internal error).
CLOSE_GRACE = 0.02

# Rows of a capture that show nothing: only spaces and SGR sequences.
_BLANK_ROW = re.compile(r"(?:\x1b\[[0-9;:]*m| )*")


class ServerLost(ClientError):
    """The connection to the server is gone: the switcher cannot carry on."""


class SwitcherHost:
    """What the switcher asks the server, on the client's connection (request ids: the
    connection is not attached to any session while the switcher is open)."""

    def __init__(self, conn: Connection, new_session: Callable[[], p.NewSession]) -> None:
        """``new_session`` makes the request ``create`` sends: the caller knows the
        command, directory, environment, size and keys a new session gets (and sets
        ``detached=True``: the switcher returns the id and the caller attaches to it)."""
        self.conn = conn
        self.new_session = new_session

    def _request(self, args: p.Message, timeout: float = REQUEST_TIMEOUT) -> p.Message:
        """``conn.request`` with a lost connection told apart from a refused request: the
        first ends the switcher, the second is a message the user reads."""
        started = time.monotonic()
        try:
            return self.conn.request(args, timeout=timeout)
        except ServerLost:
            raise
        except ClientError as e:
            if time.monotonic() - started >= timeout or not self._open():
                raise ServerLost(str(e), e.code) from None
            raise

    def _open(self) -> bool:
        """Whether the server still holds the connection (a peek, which reads nothing: an
        end of file stays readable, and unread replies stay in the socket)."""
        sock = self.conn.sock
        try:
            if not select.select([sock], [], [], CLOSE_GRACE)[0]:
                return True
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except (OSError, ValueError):  # reset, or the socket was closed under us
            return False

    def sessions(self) -> list[p.SessionInfo]:
        """Every session (``ls``), sorted by id."""
        result = self._request(p.ListSessions(), REFRESH_TIMEOUT)
        assert isinstance(result, p.SessionList)
        return sorted(result.sessions, key=lambda s: s.id)

    def preview(self, session_id: int, rows: int) -> str:
        """The session's visible screen with its colours (``capture -e``), at most
        ``rows`` rows: trailing blank rows dropped first, then rows from the top, so that a
        shell's prompt (the bottom of what is written) stays in view. '' if the session is
        gone (it ended, or was killed, since the list was read)."""
        try:
            result = self._request(p.Capture(target=f"${session_id}", escapes=True),
                                   REFRESH_TIMEOUT)
        except ServerLost:
            raise
        except ClientError:
            return ""
        assert isinstance(result, p.CaptureResult)
        lines = result.text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # each row ends in a newline
        while lines and _BLANK_ROW.fullmatch(lines[-1]):
            lines.pop()
        return "\n".join(lines[-rows:] if rows > 0 else [])

    def create(self) -> int:
        """A new session (detached, as ``new_session`` makes it); its id."""
        result = self._request(self.new_session())
        assert isinstance(result, p.Created)
        return result.id

    def rename(self, session_id: int, name: str) -> None:
        self._request(p.RenameSession(target=f"${session_id}", name=name))

    def kill(self, session_id: int) -> None:
        self._request(p.KillSession(target=f"${session_id}"))
