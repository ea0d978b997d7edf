"""``kill-server``: end every session and the server; returns once the server is gone."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    # Returns once the server is gone, so that a following command starts a fresh one.
    api.Server(paths=paths).kill()
    return 0


def serve(conn: Connection, rid: int, args: p.KillServer) -> None:
    conn.reply(rid, p.Ok())
    conn.server.shutdown()

ENTRY = Command(
    name="kill-server",
    aliases=(),
    help="end every session and the server",
    args=(),
    run=run,
    serve=serve,
)
