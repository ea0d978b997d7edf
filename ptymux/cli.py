"""Command line: argv -> the command's entry in the table (``ptymux.commands``) -> its run.

The parser is generated from the table. Every failure becomes one line on stderr and a
documented exit status: 0 success, 1 a runtime error (no server, no such session, …), 2 a
usage error (an unknown command or option, a bad option value). Imports are lazy so that
``ls`` and ``kill-session`` do not pay for the attach loop (or prompt_toolkit).
"""

from __future__ import annotations

import argparse
import os
import sys

from ptymux import __version__, commands
from ptymux.api import PtymuxError
from ptymux.client.connection import ClientError
from ptymux.commands import Command, lookup, nearest
from ptymux.commands.common import UsageError
from ptymux.config import ConfigError
from ptymux.paths import PathError, resolve
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


def _command_word(words: list[str]) -> str | None:
    """The command in ``words`` (after the global options), ``""`` if there is none, None
    if that cannot be told without the full parser (-h, -V, an unknown option)."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-L", "-S"):
            i += 2
        elif word[:2] in ("-L", "-S"):
            i += 1
        elif word.startswith("-"):
            return None
        else:
            return word if lookup(word) is not None else None
    return ""


def _check_args(args: argparse.Namespace) -> None:
    """Limits every command shares, said before anything is sent."""
    from ptymux import protocol as p

    target = getattr(args, "target", None)
    if target is not None and len(target) > p.MAX_TARGET:
        raise UsageError(f"target too long: at most {p.MAX_TARGET} characters")
    if args.label is not None and not args.label:
        raise UsageError("-L needs a server name")
    if args.socket is not None and not args.socket:
        raise UsageError("-S needs a socket path")


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    word = _command_word(words)
    if word == "":  # no command: new
        words, word = [*words, "new"], "new"
    parser = build_parser(lookup(word) if word else None)
    args, extra = parser.parse_known_args(words)
    if args.command_name is None:
        args, extra = parser.parse_known_args([*words, "new"])
    entry = lookup(args.command_name)
    assert entry is not None  # argparse only accepts the table's names
    if extra:  # said by the command's own parser, so the message names the command
        subparser(parser, entry.name).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        _check_args(args)
        paths = resolve(args.label, args.socket) if entry.needs_server else None
        result: int = entry.run(args, paths)  # type: ignore[arg-type]
        return result
    except (ClientError, ConfigError, PathError, PtymuxError) as e:
        print(f"ptymux: {printable(str(e))}", file=sys.stderr)
        return getattr(e, "code", 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
