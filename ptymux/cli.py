"""Command line: argv -> one function per command.

Every failure becomes one line on stderr and a non-zero exit code. Imports are lazy so that
``ls`` and ``kill-session`` do not pay for the attach loop (or prompt_toolkit).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from ptymux import __version__
from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection, connect
from ptymux.config import Config, ConfigError, emulator, load, parse_detach_keys
from ptymux.paths import PathError, ServerPaths, resolve
from ptymux.printable import printable

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from typing import Any

Command = Callable[[argparse.Namespace, ServerPaths], int]


def _config(args: argparse.Namespace) -> Config:
    return load()


def _detach_keys(args: argparse.Namespace, cfg: Config) -> bytes:
    spec = getattr(args, "detach_keys", None) or cfg.detach_keys
    return parse_detach_keys(spec)


def _check_nesting(paths: ServerPaths) -> None:
    """Attaching from inside a session of the same server would feed it its own output."""
    inside = os.environ.get("PTYMUX", "")
    if inside and inside.split(",")[0] == paths.socket:
        raise ClientError(
            "sessions should be nested with care, unset PTYMUX to force"
            " (or use 'new -d' to create a session without attaching)"
        )


def _need_terminal() -> tuple[int, int]:
    from ptymux.client.attach import terminal_size

    if not (os.isatty(0) and os.isatty(1)):
        raise ClientError("attaching needs a terminal (stdin and stdout must be a tty)")
    return terminal_size(0)


def _attach_loop(conn: Connection, request: Callable[[bool], p.Message], keys: bytes) -> int:
    from ptymux.client.attach import run_attached

    return run_attached(conn, request, keys)


def cmd_new(args: argparse.Namespace, paths: ServerPaths) -> int:
    cfg = _config(args)
    keys = _detach_keys(args, cfg)
    if args.detached:
        try:
            cols, rows = os.get_terminal_size(0)
        except OSError:
            cols, rows = 80, 24
        for given, limit in ((args.cols, p.MAX_COLS), (args.rows, p.MAX_ROWS)):
            if given is not None and not 1 <= given <= limit:
                raise ClientError(f"-x and -y must be within 1..{p.MAX_COLS} and 1..{p.MAX_ROWS}")
        # An explicit size, else this terminal's, clamped as attaching clamps it.
        cols = args.cols or min(cols, p.MAX_COLS)
        rows = args.rows or min(rows, p.MAX_ROWS)
    else:
        _check_nesting(paths)
        cols, rows = _need_terminal()
    if args.history is not None and not 0 <= args.history <= p.MAX_HISTORY:
        raise ClientError(f"--history must be between 0 and {p.MAX_HISTORY}")
    env = dict(os.environ)
    env["TERM"] = args.term or cfg.term
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    request = p.NewSession(
        argv=argv,
        cwd=os.getcwd(),
        env=env,
        cols=cols,
        rows=rows,
        name=args.name,
        history=args.history if args.history is not None else cfg.history,
        detached=args.detached,
        emulator=emulator(cfg),
    )
    conn = connect(paths, start=True)
    if not args.detached:
        return _attach_loop(
            conn, lambda passing: request._replace(terminal=passing, detach_keys=keys), keys
        )
    if not isinstance(conn.request(request), p.Created):
        raise ClientError("unexpected reply from the server")
    return 0


def cmd_attach(args: argparse.Namespace, paths: ServerPaths) -> int:
    cfg = _config(args)
    keys = _detach_keys(args, cfg)
    _check_nesting(paths)
    conn = connect(paths)
    cols, rows = _need_terminal()
    return _attach_loop(
        conn,
        lambda passing: p.Attach(
            cols=cols, rows=rows, target=args.target, terminal=passing, detach_keys=keys
        ),
        keys,
    )


def format_session(s: p.SessionInfo) -> str:
    """One ``ls`` line; the name and command line are shown with control characters escaped
    (they come from whoever created the session)."""
    line = (f"{printable(s.name)}: {printable(s.command)} ({s.cols}x{s.rows})"
            f" (created {_ctime(s.created)})")
    if s.attached:
        line += " (attached)"
    return line


def _ctime(when: float) -> str:
    try:
        return time.ctime(when)
    except (OverflowError, OSError, ValueError):  # a server's nonsense must not crash ls
        return "?"


def cmd_ls(args: argparse.Namespace, paths: ServerPaths) -> int:
    reply = connect(paths).request(p.ListSessions())
    if not isinstance(reply, p.SessionList):
        raise ClientError("unexpected reply from the server")
    for s in reply.sessions:
        print(format_session(s))
    return 0


def cmd_kill_session(args: argparse.Namespace, paths: ServerPaths) -> int:
    connect(paths).request(p.KillSession(target=args.target))
    return 0


def cmd_kill_server(args: argparse.Namespace, paths: ServerPaths) -> int:
    conn = connect(paths)
    conn.request(p.KillServer())
    # Return once the server is gone, so that a following command starts a fresh one.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            conn.receive(timeout=deadline - time.monotonic())
        except ClientError:
            break
    return 0


def cmd_capture(args: argparse.Namespace, paths: ServerPaths) -> int:
    reply = connect(paths).request(
        p.Capture(
            target=args.target, start=args.start, end=args.end, escapes=args.escapes,
            join=args.join,
        )
    )
    if not isinstance(reply, p.CaptureResult):
        raise ClientError("unexpected reply from the server")
    # With -e the escapes are what was asked for; without, the text is the screen's cells,
    # which hold no control characters (a server that sends some gets them escaped).
    text = reply.text if args.escapes else "\n".join(map(printable, reply.text.split("\n")))
    sys.stdout.write(text)
    return 0


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, minus its ``import shutil`` (~2 ms of every command: argparse
    makes a formatter for each argument it adds, help or not)."""

    def __init__(self, prog: str) -> None:
        try:
            width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(1).columns
        except (ValueError, OSError):
            width = 80
        super().__init__(prog, width=max(width - 2, 20))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptymux",
        formatter_class=_Formatter,
        description="Terminal sessions that outlive the terminal they were started from.",
        epilog="Detach from an attached session with Ctrl-P Ctrl-Q (see --detach-keys).",
    )
    parser.add_argument("-L", dest="label", metavar="NAME", help="use the server named NAME")
    parser.add_argument("-S", dest="socket", metavar="PATH", help="use the server socket PATH")
    parser.add_argument("-V", "--version", action="version", version=f"ptymux {__version__}")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND")

    def add(name: str, func: Command, help: str, aliases: tuple[str, ...] = ()) -> Any:
        cmd = sub.add_parser(name, help=help, aliases=list(aliases), description=help,
                             formatter_class=_Formatter)
        cmd.set_defaults(func=func)
        return cmd

    keys_help = "detach keys, docker's syntax (default from config, else 'ctrl-p,ctrl-q')"

    new = add("new", cmd_new, "create a session (and attach to it unless -d)", ("new-session",))
    new.add_argument("-d", dest="detached", action="store_true", help="do not attach")
    new.add_argument("-s", dest="name", metavar="NAME", help="session name (default: its id)")
    new.add_argument("-x", dest="cols", type=int, metavar="COLS",
                     help="width of a detached session (default: this terminal's, else 80)")
    new.add_argument("-y", dest="rows", type=int, metavar="ROWS",
                     help="height of a detached session (default: this terminal's, else 24)")
    new.add_argument("--history", type=int, metavar="N", help="scrollback lines to keep")
    new.add_argument("--term", metavar="TERM", help="TERM for the program (xterm-256color)")
    new.add_argument("--detach-keys", metavar="SPEC", help=keys_help)
    new.add_argument("command", nargs=argparse.REMAINDER, help="program and arguments")

    attach = add("attach", cmd_attach, "attach to a session", ("attach-session", "a"))
    attach.add_argument("-t", dest="target", metavar="TARGET",
                        help="session id or name (default: the most recently used)")
    attach.add_argument("--detach-keys", metavar="SPEC", help=keys_help)

    add("ls", cmd_ls, "list sessions", ("list-sessions",))

    kill = add("kill-session", cmd_kill_session, "end a session", ("kill",))
    kill.add_argument("-t", dest="target", metavar="TARGET", required=True)

    add("kill-server", cmd_kill_server, "end every session and the server")

    cap = add("capture", cmd_capture, "print a session's screen", ("capture-pane",))
    cap.add_argument("-t", dest="target", metavar="TARGET")
    cap.add_argument("-e", dest="escapes", action="store_true", help="keep colours (SGR)")
    cap.add_argument("-J", dest="join", action="store_true", help="join wrapped lines")
    cap.add_argument("-S", dest="start", type=int, metavar="N", help="first line (- = history)")
    cap.add_argument("-E", dest="end", type=int, metavar="N", help="last line")
    return parser


def _check_lengths(args: argparse.Namespace) -> None:
    """The protocol's limits on names and targets, said before anything is sent."""
    target = getattr(args, "target", None)
    if target is not None and len(target) > p.MAX_TARGET:
        raise ClientError(f"target too long: at most {p.MAX_TARGET} characters")
    name = getattr(args, "name", None)
    if name is not None and len(name) > p.MAX_NAME:
        raise ClientError(f"session name too long: at most {p.MAX_NAME} characters")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command_name is None:
        args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "new"])
    try:
        _check_lengths(args)
        paths = resolve(args.label, args.socket)
        result: int = args.func(args, paths)
        return result
    except (ClientError, ConfigError, PathError) as e:
        print(f"ptymux: {printable(str(e))}", file=sys.stderr)
        return getattr(e, "code", 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
