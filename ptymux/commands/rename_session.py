"""``rename-session``: give a session a new name."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.common import UsageError
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    if len(args.new_name) > p.MAX_NAME:
        raise UsageError(f"session name too long: at most {p.MAX_NAME} characters")
    api.Server(paths=paths).rename_session(args.target, args.new_name)
    return 0


def serve(conn: Connection, rid: int, args: p.RenameSession) -> None:
    from ptymux.server.registry import TargetError

    session = conn.find(rid, args.target)
    if session is None:
        return
    try:
        conn.server.registry.rename(session, args.name)
    except TargetError as e:
        conn.error(rid, str(e), e.code)
        return
    conn.reply(rid, p.Ok())


ENTRY = Command(
    name="rename-session",
    aliases=("rename",),
    help="give a session a new name",
    args=(
        Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
            target=True),
        Arg(("new_name",), "new_name", "the new name", kind="positional", metavar="NAME"),
    ),
    run=run,
    serve=serve,
)
