"""``server-info``: the running server's version, pid, start and the last upgrade."""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def _duration(seconds: float) -> str:
    """``3d 4h 5m 6s``, leading zero units left out."""
    left = int(max(seconds, 0))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size or parts:
            parts.append(f"{left // size}{unit}")
            left %= size
    parts.append(f"{left}s")
    return " ".join(parts)


def lines(info: p.ServerInfoResult, now: float) -> list[str]:
    import time

    from ptymux.printable import printable

    def when(t: float) -> str:
        try:
            return time.ctime(t)
        except (OverflowError, OSError, ValueError):
            return "?"

    out = [f"version: {printable(info.software)}", f"pid: {info.pid}",
           f"started: {when(info.started)} (up {_duration(now - info.started)})"]
    if info.handovers:
        out.append(f"upgraded: {when(info.handed_over)} ({_duration(now - info.handed_over)}"
                   f" ago; {info.handovers} upgrade{'s' if info.handovers != 1 else ''})")
    else:
        out.append("upgraded: never")
    out += [f"sessions: {info.sessions}", f"clients: {info.clients}"]
    if info.socket:
        out.append(f"socket: {printable(info.socket)}")
    return out


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    import time

    from ptymux import api  # not at the top: the server imports this module for serve()

    info = api.Server(paths=paths).server_info()
    if args.json:
        import json

        print(json.dumps(info._asdict()))
        return 0
    for line in lines(info, time.time()):
        print(line)
    return 0


def serve(conn: Connection, rid: int, args: p.ServerInfo) -> None:
    from ptymux import __version__

    server = conn.server
    clients = sum(1 for c in server.connections if c.session is not None and not c.closed)
    conn.reply(rid, p.ServerInfoResult(
        software=f"ptymux {__version__}", pid=server.pid, started=server.started,
        handed_over=server.handed_over, handovers=server.handovers,
        sessions=len(server.registry), clients=clients, socket=server.socket_path))


ENTRY = Command(
    name="server-info",
    aliases=("info",),
    help="the server's version, pid, start time and uptime since its last upgrade",
    args=(
        Arg(("--json",), "json", "every field, as one JSON object", kind="flag"),
    ),
    run=run,
    serve=serve,
)
