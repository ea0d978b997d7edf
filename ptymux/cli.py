"""Command line: argv -> the command's entry in the table (``ptymux.commands``) -> its run.

Parsing comes from the table: ``ptymux.argv`` for a well-formed command line (no argparse
imported: a script's ``has-session`` in a loop pays ~8 ms less), ``ptymux.parser``
(argparse) for help and for every mistake, so that its messages are the ones users see.
Every failure becomes one line on stderr and a documented exit status: 0 success, 1 a
runtime error (no server, no such session, …), 2 a usage error (an unknown command or
option, a bad option value). Imports are lazy so that ``ls`` and ``kill-session`` do not pay
for the attach loop (or prompt_toolkit).
"""

from __future__ import annotations

import os
import sys

from ptymux.api import PtymuxError
from ptymux.client.connection import ClientError
from ptymux.commands import Command, lookup
from ptymux.commands.common import UsageError
from ptymux.config import ConfigError
from ptymux.paths import PathError, resolve
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse


def build_parser(only: Command | None = None) -> argparse.ArgumentParser:
    """The argparse parser of every command, or of ``only`` one (``ptymux.parser``)."""
    from ptymux.parser import build_parser as build

    return build(only)


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    from ptymux.parser import subparser as find

    return find(parser, name)


def _command_word(words: list[str]) -> str | None:
    """The command in ``words`` (after the global options), ``""`` if there is none, None
    if that cannot be told without the full parser (-h, -V, an unknown option)."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-L", "-S", "-H"):
            i += 2
        elif word[:2] in ("-L", "-S", "-H"):
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
    if args.host is not None and not args.host:
        raise UsageError("-H needs a host: [user@]host[:port]")
    if args.entry.needs_server:
        args.host = args.host or os.environ.get("PTYMUX_HOST") or None
        if args.host:  # said now, before ssh is started: a usage error
            from ptymux.client.remote import parse_host

            parse_host(args.host)


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    if _nothing_runs_at_exit():
        _exit_now(code)
    return code


def _nothing_runs_at_exit() -> bool:
    """Whether this is the ptymux command itself (not a program calling ``main``) with no
    thread and no exit handler left: then an interpreter teardown has nothing to do but
    free memory, ~1 ms of a warm ``ls`` and ~8 ms of a first ``new -d``, whose client
    shares its pages with the daemon it forked (each page the teardown touches is copied)."""
    import atexit

    if getattr(sys.modules.get("__main__"), "main", None) is not main:
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return False
    callbacks = getattr(atexit, "_ncallbacks", None)
    return callbacks is not None and callbacks() == 0


def _exit_now(code: int) -> None:
    """Flush what was printed and end the process without the teardown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # (None: started with that fd closed)
                stream.flush()
        except (OSError, ValueError):  # (a closed pipe: as the normal exit would, code 1)
            code = code or 1
    os._exit(code)


def _main(argv: list[str] | None) -> int:
    words = sys.argv[1:] if argv is None else argv
    from ptymux.argv import parse

    args = parse(words)  # None: help, -V, or a mistake: argparse says it
    if args is None:
        args = _parse_with_argparse(words)
    entry = args.entry
    try:
        _check_args(args)
        paths = resolve(args.label, args.socket, args.host) if entry.needs_server else None
        result: int = entry.run(args, paths)
        # Nothing made here needs collecting at exit: the interpreter's final collection
        # of every module's objects is ~6 ms of a script's `ptymux ls`.
        import gc

        gc.freeze()
        return result
    except (ClientError, ConfigError, PathError, PtymuxError) as e:
        print(f"ptymux: {printable(str(e))}", file=sys.stderr)
        return getattr(e, "code", 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


def _parse_with_argparse(words: list[str]) -> argparse.Namespace:
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
    args.entry = entry
    return args
