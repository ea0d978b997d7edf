"""Starting a new session's program: what a ``new`` request must pass, and the spawn.

No event loop and no emulator is needed for it, on purpose: the server that a ``new -d``
starts (forked from that client: server/daemon.py) starts the first session's program and
answers the client on its ready pipe before it imports asyncio, its own modules or an
emulator (``answer_first``); the loop then takes the running program over
(``Server.new_session(..., spawned)``), as a hand-over's takes over its programs. A script's
first ``new -d`` waits for ~5 ms of server start-up instead of ~50 ms (issue #9; the figures
are in docs/performance.md). Every later ``new`` goes through the same ``spawn``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ptymux import protocol as p
from ptymux.printable import printable
from ptymux.server.ptyproc import PtyProcess, SpawnError
from ptymux.server.registry import Registry, TargetError

TYPE_CHECKING = False  # (see ptymux/records.py: typing is not imported at run time)
if TYPE_CHECKING:
    from typing import Protocol

    class _Described(Protocol):  # what created() reads: a Spawned or a Session
        id: int
        name: str
        created: float
        process: PtyProcess

        @property
        def command(self) -> str: ...


FIRST_ID = 1  # the request id of the first session's answer on the ready pipe


class Spawned:
    """A session's program, started, before the session exists around it."""

    def __init__(self, session_id: int, name: str, argv: list[str], process: PtyProcess,
                 log_fd: int | None) -> None:
        self.id = session_id
        self.name = name
        self.argv = argv
        self.process = process
        self.log_fd = log_fd
        self.created = time.time()

    @property
    def command(self) -> str:
        return command_line(self.argv)

    def abandon(self) -> None:
        """The session could not be made around it: hang the program up, close its fds."""
        self.process.hangup()
        self.process.close()
        _close(self.log_fd)


def created(session: _Described, terminal: bool) -> p.Created:
    """The ``new`` command's result for a session (``terminal``: it took the client's)."""
    return p.Created(id=session.id, name=session.name, terminal=terminal,
                     pid=session.process.pid, created=session.created,
                     command=session.command)


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def command_line(argv: list[str]) -> str:
    """``argv`` as a shell would read it back, as ``shlex.join`` writes it (the same
    quoting, tested against it): without ``shlex``, whose ``re`` would be one more import
    before a new server answers its first ``new -d``."""
    return " ".join(_quote(arg) for arg in argv)


def _quote(arg: str) -> str:
    if not arg:
        return "''"
    if _SAFE.issuperset(arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def spawn(msg: p.NewSession, session_id: int, socket_path: str,
          check_name: Callable[[str], None]) -> Spawned:
    """Check the request and start its program in a new pty; TargetError (with its code)
    says why not. ``check_name`` refuses a name that is bad or taken."""
    name = msg.name if msg.name is not None else str(session_id)
    if msg.name is not None:
        check_name(name)
    bad = _bad_command(msg)
    if bad:
        raise TargetError(bad, "usage")
    env = dict(msg.env)
    for stale in ("COLUMNS", "LINES"):
        env.pop(stale, None)
    env["PTYMUX"] = f"{socket_path},{os.getpid()},{session_id}"
    argv = msg.argv or [env.get("SHELL") or "/bin/sh"]
    log_fd = _open_log(msg.log) if msg.log else None
    try:
        process = PtyProcess(argv, msg.cwd, env, msg.cols, msg.rows)
    except SpawnError as e:
        _close(log_fd)
        raise TargetError(str(e), "failed") from None
    except OSError as e:
        _close(log_fd)
        raise TargetError(f"can't create session: {e.strerror or e}", "failed") from None
    return Spawned(session_id, name, argv, process, log_fd)


def answer_first(msg: p.NewSession, socket_path: str) -> tuple[Spawned | None, bytes]:
    """In a server that is still starting (no loop, no sessions): start the first session's
    program; the frame that answers the client (its ``Created``, or the error)."""
    try:
        spawned = spawn(msg, 0, socket_path, Registry().check_name)
    except TargetError as e:
        return None, p.encode(p.Error(str(e), id=FIRST_ID, code=e.code))
    return spawned, p.encode(p.reply(FIRST_ID, created(spawned, terminal=False)))


def _bad_command(msg: p.NewSession) -> str:
    """What makes a ``new`` request impossible to exec, as one line for the user ('' if
    nothing): the kernel takes no NUL inside an argument, a variable or a path, and an
    environment name cannot hold '='."""
    if any("\0" in arg for arg in msg.argv):
        return "bad command: an argument contains a NUL byte"
    if "\0" in msg.cwd:
        return "bad working directory: the path contains a NUL byte"
    for name, value in msg.env.items():
        if not name or "=" in name or "\0" in name:
            return (f"bad environment variable name '{printable(name)[:60]}':"
                    " it must be non-empty, without '=' or NUL")
        if "\0" in value:
            return f"bad environment variable {printable(name)[:60]}: its value contains a NUL byte"
    return ""


def _open_log(path: str) -> int:
    """``new --log FILE``: the file the session appends its program's output to (0600 if
    created), opened before the program starts so that a bad path is the request's error."""
    if not os.path.isabs(path) or "\0" in path:
        raise TargetError(f"--log {printable(path)}: needs an absolute path", "usage")
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise TargetError(f"can't open the log {printable(path)}: {e.strerror}", "failed"
                          ) from None


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
