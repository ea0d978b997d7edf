"""``new``: create a session, and attach to it unless ``-d``."""

from __future__ import annotations

import os

from ptymux import protocol as p
from ptymux.client.connection import ClientError, connect, connect_or_create, starting_point
from ptymux.client.connection import Connection as ClientConnection
from ptymux.commands import common
from ptymux.commands.entry import Arg, Command
from ptymux.config import emulator

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import argparse

    from ptymux.paths import ServerPaths
    from ptymux.server.connection import Connection


def run(args: argparse.Namespace, paths: ServerPaths) -> int:
    cfg = common.config()
    remote = bool(paths.host)  # -H: the far side's environment and directory, not ours
    settings = None if args.detached else common.attach_settings(args, cfg, paths.host)
    if args.detached and args.detach_keys:  # said on this command line: still checked
        common.check_keys_option(args.detach_keys)
    for given, limit in ((args.cols, p.MAX_COLS), (args.rows, p.MAX_ROWS)):
        if given is not None and not 1 <= given <= limit:
            raise common.UsageError(
                f"-x and -y must be within 1..{p.MAX_COLS} and 1..{p.MAX_ROWS}"
            )
    if not args.detached and (args.cols is not None or args.rows is not None):
        raise common.UsageError(
            "-x and -y size a detached session (-d); an attached one takes this terminal's size"
        )
    if args.term is not None and not args.term:
        raise common.UsageError("--term needs a terminal type, e.g. xterm-256color")
    if args.history is not None and not 0 <= args.history <= p.MAX_HISTORY:
        raise common.UsageError(f"--history must be between 0 and {p.MAX_HISTORY}")
    if args.name is not None and len(args.name) > p.MAX_NAME:
        raise common.UsageError(f"session name too long: at most {p.MAX_NAME} characters")
    if args.attach_existing and args.name is None:
        raise common.UsageError("-A needs -s NAME: the session to attach to if it exists")
    extra_env = _assignments(args.setenv or [])
    env, cwd = starting_point(remote)
    if remote:  # as given: ptymux proxy makes them the remote home, or relative to it
        cwd, log_file = args.directory or cwd, args.log or None
    else:
        cwd = os.path.abspath(args.directory) if args.directory else cwd
        if args.directory and not os.path.isdir(cwd):
            raise ClientError(f"-c {args.directory}: no such directory")
        log_file = os.path.abspath(args.log) if args.log else None
    if args.detached:
        try:
            cols, rows = os.get_terminal_size(0)
        except OSError:
            cols, rows = 80, 24
        # An explicit size, else this terminal's, clamped as attaching clamps it.
        cols = args.cols or min(cols, p.MAX_COLS)
        rows = args.rows or min(rows, p.MAX_ROWS)
    else:
        common.check_nesting(paths)
        cols, rows = common.need_terminal()
    env.update(extra_env)
    env["TERM"] = args.term or cfg.term
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    request = p.NewSession(
        argv=argv,
        cwd=cwd,
        env=env,
        cols=cols,
        rows=rows,
        name=args.name,
        history=args.history if args.history is not None else cfg.history,
        detached=args.detached,
        emulator=emulator(cfg),
        log=log_file,
        remain=args.remain_on_exit,
        size_policy=_size_policy(args.size_policy or cfg.size_policy),
        remote=remote,
    )
    if settings is None and not paths.host:  # -d: a server started now answers at once
        got = connect_or_create(paths, request)
        if not isinstance(got, ClientConnection):
            if not isinstance(got, p.Created):
                raise common.unexpected()
            return 0
        conn = got
    else:
        conn = connect(paths, start=True)
    if args.attach_existing and _exists(conn, args.name):
        if args.detached:
            return 0  # it is there: nothing to create, nothing to attach
        assert settings is not None
        return common.attach_loop(
            conn,
            lambda passing: p.Attach(cols=cols, rows=rows, target=args.name, terminal=passing),
            settings,
        )
    if settings is not None:
        return common.attach_loop(conn, lambda passing: request._replace(terminal=passing),
                                  settings)
    if not isinstance(conn.request(request), p.Created):
        raise common.unexpected()
    return 0


def _exists(conn: ClientConnection, target: str) -> bool:
    """Whether ``target`` names a session, asked on the connection ``new`` uses (one more
    connection would be one more ssh login with -H)."""
    try:
        conn.request(p.HasSession(target=target))
    except ClientError as e:
        if e.code == 2:
            raise
        return False
    return True


def _size_policy(policy: str) -> str | None:
    """The policy for the request (None for the default, which any server has)."""
    if policy not in p.SIZE_POLICIES:
        raise common.UsageError(
            f"--size-policy {policy!r}: use {', '.join(p.SIZE_POLICIES)}")
    return None if policy == "latest" else policy


def _assignments(pairs: list[str]) -> dict[str, str]:
    """``-e VAR=value`` options as a map; a word without ``=`` or with an empty name is a
    usage error."""
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise common.UsageError(f"-e takes VAR=value, not '{pair}'")
        env[name] = value
    return env


KEYS_HELP = "detach keys, docker's syntax (default from config, else 'ctrl-p,ctrl-q')"

def serve(conn: Connection, rid: int, args: p.NewSession) -> None:
    """Create the session; unless ``detached``, attach this connection to it (taking the
    terminal that came with the request, if any)."""
    from ptymux.server.registry import TargetError
    from ptymux.server.spawn import created

    if args.remote:  # only ptymux proxy knows the remote defaults: never make them up here
        conn.drop_fd(args.terminal)
        conn.error(rid, "a 'new' for another host's client came without ptymux proxy",
                   "usage")
        return
    try:
        session = conn.server.new_session(args)
    except TargetError as e:
        conn.drop_fd(args.terminal)
        conn.error(rid, str(e), e.code)
        return
    if args.detached:
        conn.drop_fd(args.terminal)
    else:
        conn.take_terminal(args.terminal, args)
    conn.reply(rid, created(session, not args.detached and conn.terminal is not None))
    if not args.detached:
        conn.attach(session, args)

ENTRY = Command(
    name="new",
    aliases=("new-session",),
    help="create a session (and attach to it unless -d)",
    args=(
        Arg(("-d",), "detached", "do not attach", kind="flag"),
        Arg(("-s",), "name", "session name (default: its id)", metavar="NAME"),
        Arg(("-A",), "attach_existing", "attach to session NAME if it exists, else create it",
            kind="flag"),
        Arg(("-c",), "directory", "working directory (default: this one)", metavar="DIR"),
        Arg(("-e",), "setenv", "set VAR=value for the program (repeatable)", kind="many",
            metavar="VAR=value"),
        Arg(("--log",), "log", "append all the program's output to FILE", metavar="FILE"),
        Arg(("--remain-on-exit",), "remain_on_exit",
            "keep the session and its last screen after the program exits (until killed)",
            kind="flag"),
        Arg(("-x",), "cols", "width of a detached session (default: this terminal's, else 80)",
            kind="int", metavar="COLS"),
        Arg(("-y",), "rows", "height of a detached session (default: this terminal's, else 24)",
            kind="int", metavar="ROWS"),
        Arg(("--size-policy",), "size_policy", "latest (default), smallest or largest: how"
            " the session takes its size from its clients'", metavar="POLICY"),
        Arg(("--history",), "history", "scrollback lines to keep", kind="int", metavar="N"),
        Arg(("--term",), "term", "TERM for the program (xterm-256color)", metavar="TERM"),
        Arg(("--detach-keys",), "detach_keys", KEYS_HELP, metavar="SPEC"),
        Arg(("command",), "command", "program and arguments", kind="rest", metavar="CMD"),
    ),
    run=run,
    serve=serve,
)
