"""``ls``: one line per session."""

from __future__ import annotations

import time

from ptymux import protocol as p
from ptymux.client.connection import connect
from ptymux.commands import common
from ptymux.commands.entry import Command
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def format_session(s: p.SessionInfo) -> str:
    """One ``ls`` line; the name and command line are shown with control characters escaped
    (they come from whoever created the session)."""
    line = (f"{printable(s.name)}: {printable(s.command)} ({s.cols}x{s.rows})"
            f" (created {_ctime(s.created)})")
    if s.attached:
        line += " (attached)"
    return line


def _ctime(when: float) -> str:
    try:
        return time.ctime(when)
    except (OverflowError, OSError, ValueError):  # a server's nonsense must not crash ls
        return "?"


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    reply = connect(paths).request(p.ListSessions())
    if not isinstance(reply, p.SessionList):
        raise common.unexpected()
    for s in reply.sessions:
        print(format_session(s))
    return 0


def serve(conn: Connection, rid: int, args: p.ListSessions) -> None:
    conn.reply(rid, p.SessionList(sessions=[s.info() for s in conn.server.registry]))

ENTRY = Command(
    name="ls",
    aliases=("list-sessions",),
    help="list sessions",
    args=(),
    run=run,
    serve=serve,
)
