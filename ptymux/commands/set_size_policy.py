"""``set-size-policy``: how a session takes its size from its clients' (tmux's window-size)."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection

POLICY_HELP = ("latest (the client that attached or resized last), smallest or largest;"
               " read-only clients never count")


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    from ptymux.commands.common import UsageError

    if args.policy not in p.SIZE_POLICIES:
        raise UsageError(f"size policy {args.policy!r}: use {', '.join(p.SIZE_POLICIES)}")
    api.Server(paths=paths).set_size_policy(args.target, args.policy)
    return 0


def serve(conn: Connection, rid: int, args: p.SetSizePolicy) -> None:
    session = conn.find(rid, args.target)
    if session is None:
        return
    session.set_size_policy(args.policy)
    conn.reply(rid, p.Ok())


ENTRY = Command(
    name="set-size-policy",
    aliases=("size-policy",),
    help="set how a session takes its size from its clients' sizes",
    args=(
        Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
            target=True),
        Arg(("policy",), "policy", POLICY_HELP, kind="positional", metavar="POLICY"),
    ),
    run=run,
    serve=serve,
)
