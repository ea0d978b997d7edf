"""``kill-session``: end a session; when it returns, the session is gone."""

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
    api.Server(paths=paths).kill_session(args.target)
    return 0


def serve(conn: Connection, rid: int, args: p.KillSession) -> None:
    """A running session ends; an ended one whose status is kept (``ls -a``) is cleared."""
    found = conn.find_or_take_ended(rid, args.target)
    if found is None:
        return
    if not isinstance(found, p.EndedInfo):
        conn.server.kill_session(found)
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
