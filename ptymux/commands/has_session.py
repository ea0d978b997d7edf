"""``has-session``: exit 0 if the target names a session, 1 if not; silent, for scripts."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import ClientError, connect
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    try:
        connect(paths).request(p.HasSession(target=args.target))
    except ClientError as e:
        if e.code == 2:  # a usage error is still said
            raise
        return 1  # no server, or no such session: silent, as tmux's has-session -q
    return 0


def serve(conn: Connection, rid: int, args: p.HasSession) -> None:
    if conn.find(rid, args.target) is not None:
        conn.reply(rid, p.Ok())


ENTRY = Command(
    name="has-session",
    aliases=("has",),
    help="exit 0 if the session exists, 1 if not (silent)",
    args=(Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
              target=True),),
    run=run,
    serve=serve,
)
