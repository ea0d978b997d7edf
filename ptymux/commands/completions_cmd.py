"""``completions SHELL``: the shell completion script for bash, zsh or fish."""

from __future__ import annotations

from ptymux.commands.entry import Arg, Command

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    from ptymux.commands.common import UsageError
    from ptymux.completions import SHELLS, generate

    if args.shell not in SHELLS:
        raise UsageError(f"completions for {args.shell!r}: choose one of {', '.join(SHELLS)}")
    print(generate(args.shell), end="")
    return 0


ENTRY = Command(
    name="completions",
    aliases=(),
    help="print the completion script for bash, zsh or fish",
    args=(Arg(("shell",), "shell", "bash, zsh or fish", kind="positional", metavar="SHELL"),),
    run=run,
    needs_server=False,
)
