"""``ls``: one line per session."""

from __future__ import annotations

import time

from ptymux import protocol as p
from ptymux.commands import common
from ptymux.commands.entry import Arg, Command
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def format_session(s: p.SessionInfo) -> str:
    """One ``ls`` line; the name and command line are shown with control characters escaped
    (they come from whoever created the session)."""
    line = (f"{printable(s.name)}: {printable(s.command)} ({s.cols}x{s.rows})"
            f" (created {_ctime(s.created)})")
    if s.attached:
        line += " (attached)"
    if s.ended:  # kept by --remain-on-exit
        from ptymux.statuses import describe

        line += f" (exited, {describe(s.status, s.signal)})"
    if s.name != str(s.id):
        line += f" (id ${s.id})"  # a named session's id, for -t
    return line


def _ctime(when: float) -> str:
    try:
        return time.ctime(when)
    except (OverflowError, OSError, ValueError):  # a server's nonsense must not crash ls
        return "?"


def format_values(s: p.SessionInfo) -> dict[str, object]:
    """The ``#{...}`` variables of one session, with tmux's names."""
    return {
        "session_id": f"${s.id}",
        "session_name": s.name,
        "session_attached": s.attached,
        "session_created": int(s.created),
        "session_activity": int(s.activity),
        "session_width": s.cols,
        "session_height": s.rows,
        "session_command": s.command,
        "pane_pid": s.pid,
        "pane_current_command": s.current_command,
        "pane_current_path": s.current_path,
    }


_NAMES = tuple(format_values(p.SessionInfo(0, "", "", 1, 1, 0.0, 0, 0)))


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import api  # not at the top: the server imports this module for serve()
    if args.format is not None:
        from ptymux.formats import FormatError, check

        try:  # a bad template is said even when there is no session to expand it for
            check(args.format, _NAMES)
        except FormatError as e:
            raise common.UsageError(f"-F: {e}") from None
    server = api.Server(paths=paths)
    reply = server.listing(ended=args.all)
    common.version_note(server.server_software)
    if args.json:
        import json

        rows = [s._asdict() for s in reply.sessions]
        rows += [{**info._asdict(), "exited": True} for info in reply.ended]
        print(json.dumps(rows, indent=1))
        return 0
    for s in reply.sessions:
        if args.format is None:
            print(format_session(s))
        else:
            from ptymux.formats import expand

            print(printable(expand(args.format, format_values(s))))
    for ended in reply.ended:
        print(format_ended(ended))
    return 0


def format_ended(e: p.EndedInfo) -> str:
    """An ended session whose status no ``wait`` has read (``ls -a``)."""
    from ptymux.statuses import describe

    how = describe(e.status, e.signal)
    return f"{printable(e.name)}: {printable(e.command)} (exited, {how}) (id ${e.id})"


def serve(conn: Connection, rid: int, args: p.ListSessions) -> None:
    ended = conn.server.ended_sessions() if args.ended else []
    conn.reply(rid, p.SessionList(sessions=[s.info() for s in conn.server.registry],
                                  ended=ended))

ENTRY = Command(
    name="ls",
    aliases=("list-sessions",),
    help="list sessions",
    args=(
        Arg(("-F",), "format", "one line per session from FORMAT (tmux's #{session_name}…)",
            metavar="FORMAT"),
        Arg(("--json",), "json", "every field of every session, as one JSON array",
            kind="flag"),
        Arg(("-a",), "all", "also sessions that ended and whose status no wait has read",
            kind="flag"),
    ),
    run=run,
    serve=serve,
)
