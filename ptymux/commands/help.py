"""``help [COMMAND]``: what a command does and takes, from its entry in the table."""

from __future__ import annotations

from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux import cli
    from ptymux.commands import lookup, nearest
    from ptymux.commands.common import UsageError

    parser = cli.build_parser()
    if not args.topic:
        print(parser.format_help(), end="")
        return 0
    entry = lookup(args.topic)
    if entry is None:
        raise UsageError(f"unknown command '{args.topic}'{nearest(args.topic)}")
    print(cli.subparser(parser, entry.name).format_help(), end="")
    return 0


ENTRY = Command(
    name="help",
    aliases=(),
    help="show what a command does and takes",
    args=(Arg(("topic",), "topic", "a command", kind="optional", metavar="COMMAND"),),
    run=run,
    needs_server=False,
)
