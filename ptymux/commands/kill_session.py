"""``kill-session``: end a session; when it returns, the session is gone."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import connect
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    connect(paths).request(p.KillSession(target=args.target))
    return 0


ENTRY = Command(
    name="kill-session",
    aliases=("kill",),
    help="end a session",
    args=(Arg(("-t",), "target", "session id or name", metavar="TARGET", required=True,
              target=True),),
    run=run,
)
