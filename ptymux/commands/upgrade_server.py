"""``upgrade-server``: the running server re-executes itself as the installed ptymux, keeping
every session (server/handover.py, docs/upgrade.md)."""

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
    from ptymux.printable import printable

    result = api.Server(paths=paths).upgrade()
    count = f"{result.sessions} session{'s' if result.sessions != 1 else ''}"
    print(f"server {result.pid} upgraded: {printable(result.previous)} ->"
          f" {printable(result.software)}, {count} kept ({result.seconds:.2f} s)")
    return 0


def serve(conn: Connection, rid: int, args: p.UpgradeServer) -> None:
    """The hand-over answers by itself: an error from this code if it does not happen,
    else the reply from the new code."""
    from ptymux.server.handover import upgrade

    upgrade(conn.server, conn, rid)


ENTRY = Command(
    name="upgrade-server",
    aliases=(),
    help="re-execute the server as the installed ptymux, keeping every session",
    args=(),
    run=run,
    serve=serve,
)
