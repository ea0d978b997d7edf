"""``detach-client``: detach a client (by its id) or every client of a session."""

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
    from ptymux.commands.common import UsageError

    if (args.target is None) == (args.client is None):
        raise UsageError("detach-client takes -t SESSION (all its clients) or -c CLIENT"
                         " (an id from list-clients)")
    api.Server(paths=paths).detach_client(args.target, args.client)
    return 0


def serve(conn: Connection, rid: int, args: p.DetachClient) -> None:
    """Each client detaches as if it had typed its detach keys: its terminal is handed back
    and it exits with ``[detached (from session NAME)]``."""
    if args.client is not None:
        chosen = [c for c in conn.server.connections
                  if c.client_id == args.client and c.session is not None]
        if not chosen:
            conn.error(rid, f"no attached client {args.client}", "no-session")
            return
    else:
        session = conn.find(rid, args.target)
        if session is None:
            return
        chosen = [c for c in conn.server.connections if c.session is session]
    for client in chosen:
        client.detach_by_request()
    conn.reply(rid, p.Ok())


ENTRY = Command(
    name="detach-client",
    aliases=("detach",),
    help="detach a client, or every client of a session",
    args=(
        Arg(("-t",), "target", "detach every client of this session", metavar="TARGET",
            target=True),
        Arg(("-c",), "client", "detach this client (its id in list-clients)", kind="int",
            metavar="CLIENT"),
    ),
    run=run,
    serve=serve,
)
