"""What one command is: its names, arguments, help, and the code that runs it.

Like tmux's ``cmd_entry`` in each ``cmd-*.c``: a command is one unit (a module of
``ptymux.commands``) holding one ``Command``, with both halves of it: ``run`` in the client
(parse, send the request, print) and ``serve`` in the server (answer the request, whose
arguments record and result record are declared in ``ptymux.protocol.COMMANDS``). The
argument parser, ``ptymux help``, the server's list of commands, the usage table in
docs/usage.md (a test keeps it in step) and, later, shell completions and the man page are
all generated from these entries, never written twice.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any, NamedTuple

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection

    Run = Callable[[argparse.Namespace, ServerPaths], int]
    Serve = Callable[[Connection, int, Any], None]
else:
    from ptymux.records import NamedTuple


class Arg(NamedTuple):
    """One option or positional argument.

    ``kind``: ``"str"``, ``"int"`` (a value), ``"flag"`` (present or not), ``"many"`` (an
    option that may be repeated), ``"positional"`` (a required positional), ``"optional"``
    (a positional that may be left out), ``"words"`` (one or more positionals), ``"rest"``
    (the program and its arguments: everything after it, ``--`` optional).
    """

    names: tuple[str, ...]  # ("-t",) / ("-x", "--width") for options, ("command",) positional
    dest: str
    help: str
    kind: str = "str"
    metavar: str | None = None
    required: bool = False
    target: bool = False  # a -t TARGET naming a session (completions offer session names)


class Command(NamedTuple):
    name: str
    aliases: tuple[str, ...]
    help: str
    args: tuple[Arg, ...]
    run: Run  # in the client: argv parsed -> exit status
    serve: Serve | None = None  # in the server: (connection, request id, arguments record)
    needs_server: bool = True  # False: runs without a server (help)

    def usage(self) -> str:
        """``name [options] ...`` as docs/usage.md and ``ptymux help`` show it."""
        parts = [self.name]
        for arg in self.args:
            parts.append(_usage_of(arg))
        return " ".join(parts)


def _usage_of(arg: Arg) -> str:
    if arg.kind == "rest":
        return f"[-- {arg.metavar or arg.dest.upper()} ...]"
    flag = arg.names[0]
    if arg.kind == "optional":
        return f"[{arg.metavar or arg.dest.upper()}]"
    if arg.kind == "positional":
        return arg.metavar or arg.dest.upper()
    if arg.kind == "words":
        return f"{arg.metavar or arg.dest.upper()} ..."
    text = flag if arg.kind == "flag" else f"{flag} {arg.metavar or arg.dest.upper()}"
    if arg.kind == "many":
        return f"[{text} ...]"
    return text if arg.required else f"[{text}]"


TARGET_HELP = "session id or name (default: the most recently used)"
