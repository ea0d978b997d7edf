"""``attach``: attach this terminal to a session, with a full redraw."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import connect
from ptymux.commands import common
from ptymux.commands.entry import TARGET_HELP, Arg, Command
from ptymux.commands.new_session import KEYS_HELP

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    cfg = common.config()
    keys = common.detach_keys(args, cfg)
    common.check_nesting(paths)
    conn = connect(paths)
    cols, rows = common.need_terminal()
    return common.attach_loop(
        conn,
        lambda passing: p.Attach(
            cols=cols, rows=rows, target=args.target, terminal=passing, detach_keys=keys
        ),
        keys,
    )


def serve(conn: Connection, rid: int, args: p.Attach) -> None:
    """Attach (or switch) this connection to the session, with a full redraw."""
    session = conn.find(rid, args.target)
    if session is None:
        conn.drop_fd(args.terminal)
        return
    conn.take_terminal(args.terminal, args.detach_keys)
    conn.reply(rid, p.Attached(id=session.id, name=session.name,
                               terminal=conn.terminal is not None))
    conn.attach(session, args.cols, args.rows)

ENTRY = Command(
    name="attach",
    aliases=("attach-session", "a", "at"),
    help="attach to a session",
    args=(
        Arg(("-t",), "target", TARGET_HELP, metavar="TARGET", target=True),
        Arg(("--detach-keys",), "detach_keys", KEYS_HELP, metavar="SPEC"),
    ),
    run=run,
    serve=serve,
)
