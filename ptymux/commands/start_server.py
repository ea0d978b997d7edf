"""``start-server``: start the server now and keep it up with no sessions (for a login
service: contrib/systemd/ptymux.service)."""

from __future__ import annotations

from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    """A server that is already running is left as it is. ``--foreground``: this process
    becomes the server (what a service manager wants to supervise)."""
    import os
    import sys

    from ptymux.client.connection import ClientError, connect, server_command

    if args.foreground and paths.host:
        from ptymux.commands.common import UsageError

        raise UsageError("start-server --foreground makes this process the server: not"
                         " with -H (start-server alone starts one there)")
    try:
        connect(paths).close()
        if args.foreground:
            raise ClientError(f"a server is already running on {paths.socket}")
        return 0
    except ClientError as e:
        if "no server running" not in str(e):
            raise
    if args.foreground:
        argv = server_command(paths, stay=True, foreground=True)
        os.execv(sys.executable, argv)
    from ptymux.client.connection import start_server

    start_server(paths, stay=True).close()
    return 0


ENTRY = Command(
    name="start-server",
    aliases=("start",),
    help="start the server and keep it up with no sessions (until kill-server)",
    args=(Arg(("--foreground",), "foreground", "run the server in this process (a service)",
              kind="flag"),),
    run=run,
)
