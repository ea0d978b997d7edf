"""``has-session``: exit 0 if the target names a session, 1 if not; silent, for scripts."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    # no server, or no such session: 1, silent (a usage error is still said)
    return 0 if api.Server(paths=paths).has_session(args.target) else 1


def serve(conn: Connection, rid: int, args: p.HasSession) -> None:
    session = conn.find(rid, args.target)
    if session is not None:
        conn.reply(rid, session.info())


ENTRY = Command(
    name="has-session",
    aliases=("has",),
    help="exit 0 if the session exists, 1 if not (silent)",
    args=(Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
              target=True),),
    run=run,
    serve=serve,
)
