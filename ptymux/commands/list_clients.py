"""``list-clients``: the clients attached to the sessions (or to one)."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def line(c: p.ClientInfo) -> str:
    """``ID: TTY (COLSxROWS) session NAME [read-only] (attached DATE) (behind N bytes)``."""
    import time

    from ptymux.printable import printable

    since = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(c.attached))
    parts = [f"{c.id}: {printable(c.tty) or '(no tty)'} ({c.cols}x{c.rows})",
             f"session {printable(c.session_name)}"]
    if c.read_only:
        parts.append("(read-only)")
    parts.append(f"(attached {since})")
    if c.behind:
        parts.append(f"(behind {c.behind} bytes)")
    return " ".join(parts)


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()

    clients = api.Server(paths=paths).clients(args.target)
    if args.json:
        import json

        print(json.dumps([c._asdict() for c in clients]))
        return 0
    for c in clients:
        print(line(c))
    return 0


def serve(conn: Connection, rid: int, args: p.ListClients) -> None:
    session = None
    if args.target is not None:
        session = conn.find(rid, args.target)
        if session is None:
            return
    infos = [info for c in sorted(conn.server.connections, key=lambda c: c.client_id)
             if (info := c.info()) is not None and (session is None or c.session is session)]
    conn.reply(rid, p.ClientList(clients=infos))


ENTRY = Command(
    name="list-clients",
    aliases=("lsc",),
    help="list the attached clients",
    args=(
        Arg(("-t",), "target", "only the clients of this session (default: every session's)",
            metavar="TARGET", target=True),
        Arg(("--json",), "json", "one JSON array, every field", kind="flag"),
    ),
    run=run,
    serve=serve,
)
