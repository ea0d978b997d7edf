"""``attach``: attach this terminal to a session, with a full redraw."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import ClientError, connect
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
    settings = common.attach_settings(args, cfg, paths.host)
    common.check_nesting(paths)
    conn = connect(paths)
    cols, rows = common.need_terminal()
    if (args.read_only or args.detach_others) and conn.version < 4:
        raise ClientError("the server runs an older ptymux without attach -r and -d")
    return common.attach_loop(
        conn,
        lambda passing: p.Attach(cols=cols, rows=rows, target=args.target, terminal=passing,
                                 read_only=args.read_only, detach_others=args.detach_others),
        settings._replace(read_only=args.read_only),
    )


def serve(conn: Connection, rid: int, args: p.Attach) -> None:
    """Attach (or switch) this connection to the session, with a full redraw."""
    session = conn.find(rid, args.target)
    if session is None:
        conn.drop_fd(args.terminal)
        return
    if args.detach_others:
        for other in [c for c in conn.server.connections
                      if c.session is session and c is not conn]:
            other.detach_by_request()
    conn.take_terminal(args.terminal, args)
    conn.reply(rid, p.Attached(id=session.id, name=session.name,
                               terminal=conn.terminal is not None))
    conn.attach(session, args)

ENTRY = Command(
    name="attach",
    aliases=("attach-session", "a", "at"),
    help="attach to a session",
    args=(
        Arg(("-t",), "target", TARGET_HELP, metavar="TARGET", target=True),
        Arg(("-r",), "read_only", "read-only: keys never reach the program (the key"
            " bindings still work) and this terminal's size never counts", kind="flag"),
        Arg(("-d",), "detach_others", "detach the session's other clients first",
            kind="flag"),
        Arg(("--detach-keys",), "detach_keys", KEYS_HELP, metavar="SPEC"),
    ),
    run=run,
    serve=serve,
)
