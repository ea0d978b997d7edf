"""``kill-session``: end a session; when it returns, the session is gone."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import connect
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    connect(paths).request(p.KillSession(target=args.target))
    return 0


def serve(conn: Connection, rid: int, args: p.KillSession) -> None:
    session = conn.find(rid, args.target)
    if session is not None:
        conn.server.kill_session(session)
        conn.reply(rid, p.Ok())

ENTRY = Command(
    name="kill-session",
    aliases=("kill",),
    help="end a session",
    args=(Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
              target=True),),
    run=run,
    serve=serve,
)
