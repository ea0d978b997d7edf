"""``wait``: block until a session's program exits, and exit with its status.

Works whenever it runs: while the program runs (the server answers when it ends), after it
ended (the server, or with no server its state file, keeps the status until it is read:
``ptymux.statuses``), so ``new -d -s job -- make && wait -t job`` never loses the status.
"""

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
    return api.Server(paths=paths).wait(args.target)


def serve(conn: Connection, rid: int, args: p.Wait) -> None:
    """A running session: answered when it ends. An ended one: answered now, from the
    records the server keeps (and the record is then gone)."""
    found = conn.find_or_take_ended(rid, args.target)
    if isinstance(found, p.EndedInfo):
        conn.reply(rid, p.WaitResult(id=found.id, name=found.name, status=found.status,
                                     signal=found.signal))
    elif found is not None and found.ended:  # kept by --remain-on-exit: its status is known
        conn.reply(rid, found.wait_result())
    elif found is not None:
        found.waiters.append((conn, rid))


ENTRY = Command(
    name="wait",
    aliases=("wait-session",),
    help="wait for a session's program to exit; exit with its status (128+N for signal N)",
    args=(Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
              target=True),),
    run=run,
    serve=serve,
)
