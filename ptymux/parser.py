"""The argparse parser, generated from the command table: for ``help``, ``-h``, ``-V`` and
every usage error (its messages are the ones users see). A well-formed command line does not
come here: ``ptymux.argv`` parses it from the same table without importing argparse (with
``re``, ~8 ms of every command).
"""

from __future__ import annotations

import argparse
import os
import sys

from ptymux import __version__, commands
from ptymux.commands import Command, nearest
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from ptymux.commands.entry import Arg


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, minus its ``import shutil`` (~2 ms of every command: argparse
    makes a formatter for each argument it adds, help or not)."""

    def __init__(self, prog: str) -> None:
        try:
            width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(1).columns
        except (ValueError, OSError):
            width = 80
        super().__init__(prog, width=max(width - 2, 20))


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit status 2 (argparse prints its usage first), with
    the nearest command for a mistyped one."""

    def error(self, message: str) -> NoReturn:
        if "invalid choice: '" in message and self.prog == "ptymux":
            wrong = message.split("invalid choice: '", 1)[1].split("'", 1)[0]
            message = f"unknown command '{wrong}'{nearest(wrong)}"
        else:
            command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
            message += f" (see 'ptymux help{' ' + command if command else ''}')"
        print(f"ptymux: {printable(message)}", file=sys.stderr)
        raise SystemExit(2)


def _add_arg(cmd: argparse.ArgumentParser, arg: Arg) -> None:
    kw: dict[str, Any] = {"help": arg.help}
    if arg.kind == "rest":
        cmd.add_argument(arg.dest, nargs=argparse.REMAINDER, metavar=arg.metavar, **kw)
        return
    if arg.kind in ("optional", "positional", "words"):
        nargs = {"optional": "?", "positional": None, "words": "+"}[arg.kind]
        cmd.add_argument(arg.dest, nargs=nargs, metavar=arg.metavar, **kw)
        return
    if arg.kind == "flag":
        kw["action"] = "store_true"
    elif arg.kind == "many":
        kw["action"] = "append"
        kw["metavar"] = arg.metavar
    else:
        kw["metavar"] = arg.metavar
        kw["required"] = arg.required
        if arg.kind == "int":
            kw["type"] = int
    cmd.add_argument(*arg.names, dest=arg.dest, **kw)


def build_parser(only: Command | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` one: argparse builds each subparser and
    each argument eagerly, ~0.5 ms a command, and a script's ``has-session`` in a loop needs
    just its own."""
    parser = _Parser(
        prog="ptymux",
        formatter_class=_Formatter,
        description="Terminal sessions that outlive the terminal they were started from.",
        epilog="Detach from an attached session with Ctrl-P Ctrl-Q (see --detach-keys)."
        " 'ptymux help COMMAND' shows a command's options.",
    )
    parser.add_argument("-L", dest="label", metavar="NAME", help="use the server named NAME")
    parser.add_argument("-S", dest="socket", metavar="PATH", help="use the server socket PATH")
    parser.add_argument("-H", dest="host", metavar="HOST",
                        help="use the server on HOST ([user@]host[:port]) over ssh;"
                        " also PTYMUX_HOST")
    parser.add_argument("-V", "--version", action="version", version=f"ptymux {__version__}")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", parser_class=_Parser)
    for entry in (only,) if only is not None else commands.TABLE:
        cmd = sub.add_parser(entry.name, help=entry.help, aliases=list(entry.aliases),
                             description=entry.help, formatter_class=_Formatter)
        cmd.set_defaults(entry=entry)
        for arg in entry.args:
            _add_arg(cmd, arg)
    return parser


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of command ``name`` (for ``ptymux help NAME``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)
