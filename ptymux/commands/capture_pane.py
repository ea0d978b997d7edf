"""``capture``: print a session's screen (and history) as text."""

from __future__ import annotations

import sys

from ptymux import protocol as p
from ptymux.commands.entry import TARGET_HELP, Arg, Command
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    text = api.Server(paths=paths).capture(args.target, args.start, args.end, args.escapes,
                                           args.join)
    # With -e the escapes are what was asked for; without, the text is the screen's cells,
    # which hold no control characters (a server that sends some gets them escaped).
    if not args.escapes:
        text = "\n".join(map(printable, text.split("\n")))
    sys.stdout.write(text)
    return 0


def serve(conn: Connection, rid: int, args: p.Capture) -> None:
    """The rows, streamed: a capture of the whole history may be far larger than a frame."""
    session = conn.find(rid, args.target)
    if session is None:
        return
    lines = session.screen().capture(args.start, args.end, args.escapes, args.join)
    conn.stream(rid, "".join(line + "\n" for line in lines))
    conn.reply(rid, p.CaptureResult(text=""))

ENTRY = Command(
    name="capture",
    aliases=("capture-pane",),
    help="print a session's screen",
    args=(
        Arg(("-t",), "target", TARGET_HELP, metavar="TARGET", target=True),
        Arg(("-e",), "escapes", "keep colours (SGR)", kind="flag"),
        Arg(("-J",), "join", "join wrapped lines", kind="flag"),
        Arg(("-S",), "start", "first line (- = history)", kind="int", metavar="N"),
        Arg(("-E",), "end", "last line", kind="int", metavar="N"),
    ),
    run=run,
    serve=serve,
)
