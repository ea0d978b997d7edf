"""``upgrade-server``: the server re-executes itself in place, as the installed ptymux.

Why in place (``os.execv``, the same pid): every session's program is the server's child
and has its pty master in the server; a new process could take neither. After ``execv`` the
pid, the children and every fd not marked close-on-exec are still ours. So the listening
socket, each pty master, each session's ``--log`` file, each client connection and each
terminal a client passed are made inheritable, and everything else goes into the
**hand-over record**: a versioned JSON file in the state directory (0600), plain data
only (never pickled objects of the old code: the new code may have other classes). A
screen travels as bytes that rebuild it in a fresh model (``Session.export_state``: every
history line, then ``redraw()``).

The order that keeps an upgrade from losing a session (docs/upgrade.md):

1. The old server writes the record, then runs the *new* code on it first:
   ``python -P -m ptymux.server --check-handover FILE``. Until the exec the event loop does
   not run, so nothing changes between that check and the exec: the checked record is the
   one used. A record the new code cannot read (another version, corrupt, or the test hook
   ``PTYMUX_TEST_REFUSE_HANDOVER``) leaves the old server running and untouched, and the
   client prints the check's one line.
2. ``os.execv``; if the exec itself fails, the old server takes its fds back and goes on.
3. The new server reads the record, adopts each session (a session whose screen cannot be
   rebuilt keeps its program, with a blank screen), listens on the inherited socket, reaps
   children that ended meanwhile, and only then answers the ``upgrade-server`` request, on
   the requester's connection, which it inherited too.

Attached clients are carried too (``Connection.handover_state``/``resume``): their socket
and passed terminal as fds, their state in the record, then a redraw from the new code.

The crash guard (``recover``) is the same hand-over, started by an exception that escaped
the server's loop instead of by a request.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from ptymux import __version__

if TYPE_CHECKING:
    from ptymux.server.connection import Connection
    from ptymux.server.server import Server
    from ptymux.server.session import Session

log = logging.getLogger(__name__)

FORMAT = "ptymux-handover"
VERSION = 2  # what this code writes: 2 carries attached clients and the crash count
READS = (1, 2)  # what it reads; a record of another version is refused, never guessed at
CHECK_TIMEOUT = 30.0  # seconds the new code may take to read the record
REFUSE_ENV = "PTYMUX_TEST_REFUSE_HANDOVER"  # test hook: the new code refuses every record
FAIL_ENV = "PTYMUX_TEST_FAIL_TAKEOVER"  # test hook: the code of this version fails half way


class HandoverError(Exception):
    """The record cannot be used; the message is one line for the user."""


def record_path(server: Server) -> str:
    """Beside the log and the pid file (the state directory, private to the user)."""
    base = server.log_path or server.status_file or server.pid_file or ""
    directory = os.path.dirname(base) or "/tmp"
    return os.path.join(directory, f"handover-{os.getpid()}.json")


# --- the record ----------------------------------------------------------------------------

_SESSION_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (int,), "name": (str,), "created": (float, int), "activity": (float, int),
    "argv": (list,), "pid": (int,), "fd": (int,), "cols": (int,), "rows": (int,),
    "history": (int,), "emulator": (str, type(None)), "remain": (bool,), "ended": (bool,),
    "killed": (bool,), "exit_code": (int, type(None)), "size_policy": (str,),
    "log_fd": (int, type(None)), "screen": (str,), "unseen": (dict,), "pending": (str,),
}
_TOP_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,), "version": (int,), "software": (str,), "requested": (float, int),
    "socket": (dict,), "next_id": (int,), "stay": (bool,), "started": (float, int),
    "handovers": (int,), "reply": (dict, type(None)), "connections": (list,),
    "sessions": (list,),
}


def _check_fields(where: str, record: Any, fields: dict[str, tuple[type, ...]]) -> None:
    if type(record) is not dict:
        raise HandoverError(f"hand-over record: {where} is not a map")
    for name, types in fields.items():
        if name not in record:
            raise HandoverError(f"hand-over record: {where} has no '{name}'")
        value = record[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise HandoverError(f"hand-over record: {where}'s '{name}' has the wrong type")


def parse(text: str) -> dict[str, Any]:
    """The record in ``text``, checked field by field; HandoverError says why not."""
    if os.environ.get(REFUSE_ENV):
        raise HandoverError(f"hand-over record refused ({REFUSE_ENV} is set: a test hook)")
    try:
        record = json.loads(text)
    except ValueError as e:
        raise HandoverError(f"hand-over record is corrupt: {e}") from None
    if type(record) is not dict or record.get("format") != FORMAT:
        raise HandoverError("not a ptymux hand-over record")
    if record.get("version") not in READS:
        raise HandoverError(f"hand-over record version {record.get('version')!r}: ptymux"
                            f" {__version__} reads versions"
                            f" {', '.join(map(str, READS))} only")
    _check_fields("the record", record, _TOP_FIELDS)
    _check_fields("the socket", record["socket"], {"fd": (int,), "inode": (int,)})
    for index, session in enumerate(record["sessions"]):
        _check_fields(f"session #{index}", session, _SESSION_FIELDS)
        try:
            base64.b64decode(session["screen"], validate=True)
            base64.b64decode(session["pending"], validate=True)
        except ValueError:
            raise HandoverError(f"hand-over record: session #{index}'s screen is corrupt"
                                ) from None
    record.setdefault("crashes", [])  # (version 1 has none of the version 2 fields)
    record.setdefault("next_client", 1)
    record.setdefault("fallback", None)
    record.setdefault("failed", "")
    _check_fields("the record", record, {"crashes": (list,), "next_client": (int,),
                                         "fallback": (dict, type(None)), "failed": (str,)})
    if record["fallback"] is not None:
        _check_fields("the fallback", record["fallback"], {"path": (str,), "software": (str,)})
    if not all(isinstance(t, float | int) for t in record["crashes"]):
        raise HandoverError("hand-over record: 'crashes' holds something not a time")
    for conn in record["connections"]:
        _check_connection(conn)
    if record["reply"] is not None:
        _check_fields("the reply", record["reply"], {"fd": (int,), "id": (int,)})
    return record


_CONNECTION_FIELDS: dict[str, tuple[type, ...]] = {
    "fd": (int,), "greeted": (bool,), "waits": (list,), "client": (int,), "inbound": (str,),
    "outbound": (str,), "attached": (dict, type(None)),
}
_ATTACHED_FIELDS: dict[str, tuple[type, ...]] = {
    "session": (int,), "tty": (str,), "cols": (int,), "rows": (int,), "read_only": (bool,),
    "since": (float, int), "order": (int,), "unwritten": (int,), "terminal": (dict, type(None)),
}


def _b64(where: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise HandoverError(f"hand-over record: {where} is corrupt") from None


def _check_connection(conn: Any) -> None:
    if type(conn) is dict:  # (a version 1 connection: idle, nothing carried but its fd)
        for name, default in (("client", 0), ("inbound", ""), ("outbound", ""),
                              ("attached", None)):
            conn.setdefault(name, default)
    _check_fields("a connection", conn, _CONNECTION_FIELDS)
    _b64("a connection's input", conn["inbound"])
    _b64("a connection's output", conn["outbound"])
    attached = conn["attached"]
    if attached is None:
        return
    _check_fields("an attached client", attached, _ATTACHED_FIELDS)
    terminal = attached["terminal"]
    if terminal is None:
        return
    _check_fields("a client's terminal", terminal,
                  {"fd": (int,), "bindings": (list,), "held": (str,)})
    _b64("a terminal's held keys", terminal["held"])
    for binding in terminal["bindings"]:
        if (type(binding) is not list or len(binding) != 2 or type(binding[0]) is not str
                or type(binding[1]) is not str or not _b64("a key binding", binding[0])):
            raise HandoverError("hand-over record: a key binding is corrupt")


def read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise HandoverError(f"can't read the hand-over record {path}: {e}") from None
    return parse(text)


def runnable(record: dict[str, Any]) -> None:
    """Import what the server runs and make a model of each emulator the record's sessions
    use: a broken installation (a module pip left half written, a dependency gone or
    changed) is then refused here, while the old server can still run on, and not found
    after the exec, where only the fallback could save the sessions. HandoverError says
    what failed."""
    _cannot_run(_imports)
    _cannot_run(lambda: [_create_model(8, 2, 1, kind).feed(b"ok\r\n")
                         for kind in {s["emulator"] for s in record["sessions"]}])


def _imports() -> None:
    import asyncio  # noqa: F401  (the daemon imports it its own way: _import_asyncio)

    import msgpack  # noqa: F401

    from ptymux.server import connection, server, session  # noqa: F401
    from ptymux.term import vt_model  # noqa: F401  (the default model's; others if used)


def _create_model(cols: int, rows: int, history: int, kind: str | None) -> Any:
    from ptymux.term import create_model as create

    return create(cols, rows, history, kind)


def _cannot_run(step: Any) -> None:
    try:
        step()
    except Exception as e:  # (ImportError, SyntaxError in a module, a model that breaks)
        raise HandoverError(f"the installed ptymux cannot run: {type(e).__name__}:"
                            f" {' '.join(str(e).split())}") from None


def check_main(path: str, when_told: bool = False) -> int:
    """``python -m ptymux.server --check-handover FILE [--when-told]``: what the old server
    asks the new code before it execs it. Prints ``ok``, or one line saying why not (exit
    status 1).

    ``--when-told``: the old server starts this check before it stops its loop to write
    the record. The imports come first (most of the check's time, now out of the sessions'
    pause), then ``ready``; the record is read once a line arrives on stdin (end of file:
    the server gave up, nothing to check)."""
    try:
        if when_told:
            _cannot_run(_imports)
            sys.stdout.flush()
            os.write(1, b"ready\n")  # (one write: the server reads a line)
            if not sys.stdin.readline():
                return 1
        runnable(read(path))
    except HandoverError as e:
        print(e)
        return 1
    print("ok")
    return 0


# --- the old side --------------------------------------------------------------------------


def _session_record(session: Any, tolerant: bool, early: tuple[int, bytes] | None
                    ) -> dict[str, Any]:
    try:
        screen, unseen, pending = session.export_state(early)
    except Exception:
        if not tolerant:
            raise
        # The crash guard: a session whose model cannot be written keeps its program, with
        # a blank screen, rather than stopping the whole recovery.
        log.exception("hand-over: session %s's screen could not be written", session.id)
        screen, unseen, pending = b"", {}, b""
    return {
        "id": session.id, "name": session.name, "created": session.created,
        "activity": session.activity, "argv": list(session.argv), "pid": session.process.pid,
        "fd": session.process.master, "cols": session.cols, "rows": session.rows,
        "history": session.history_limit, "emulator": session.emulator,
        "remain": session.remain, "ended": session.ended, "killed": session.killed,
        "exit_code": session.exit_code, "size_policy": session.size_policy,
        "log_fd": session.log_fd, "screen": base64.b64encode(screen).decode(),
        "unseen": unseen, "pending": base64.b64encode(pending).decode(),
    }


def upgrade(server: Server, requester: Connection, rid: int) -> None:
    """Hand the server over to the installed code (``_Upgrade``). ``rid`` is answered with
    an error if the hand-over does not happen, the old server then running on as before;
    on success this process is the new code by then, which answers on ``requester``'s
    inherited socket."""
    if _Upgrade.under_way:
        requester.error(rid, "an upgrade-server is already under way", "failed")
        return
    argv = [sys.executable, "-P", "-m", "ptymux.server", "--check-handover",
            record_path(server), "--when-told"]
    try:
        checker = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd="/")
    except OSError as e:
        requester.error(rid, f"can't run the installed ptymux ({sys.executable}):"
                        f" {e.strerror or e}", "failed")
        return
    _Upgrade(server, requester, rid, checker)


class _Upgrade:
    """What goes on while the loop still runs, to keep the sessions' pause short: the check
    (``check_main --when-told``) imports the installed code, and meanwhile the screens are
    written, one session per turn of the loop (a screen used again before the pause is
    written again then: ``Session.export_state``). When both are done, ``hand_over``."""

    under_way = False  # (another upgrade-server meanwhile is refused)
    current: _Upgrade | None = None  # the one under way (the crash guard abandons it)

    def __init__(self, server: Server, requester: Connection, rid: int,
                 checker: subprocess.Popen[bytes]) -> None:
        import asyncio

        _Upgrade.under_way = True
        _Upgrade.current = self
        self.server, self.requester, self.rid, self.checker = server, requester, rid, checker
        self.loop = asyncio.get_running_loop()
        assert checker.stdout is not None
        self.out = checker.stdout.fileno()
        self.said: bytes | None = None  # the check's first line, once heard
        self.heard = bytearray()
        self.done = False
        self.early: dict[Session, tuple[int, bytes]] = {}
        self.left = [*server.registry, *server.dying]
        self.timer = self.loop.call_later(CHECK_TIMEOUT, self._finish, True)
        self.loop.add_reader(self.out, self._heard)
        self.loop.call_soon(self._export_next)

    def _export_next(self) -> None:
        if not self.left:
            self._finish()
            return
        session = self.left.pop(0)
        try:
            early = session.export_screen()
        except Exception:  # (written in the pause then, where a failure is reported)
            early = None
        if early is not None:
            self.early[session] = early
        self.loop.call_soon(self._export_next)

    def _heard(self) -> None:
        """The check's first line (``ready``, or why it cannot run), read as it comes: a
        line may come in pieces (an unbuffered stdout writes ``print``'s end apart)."""
        chunk = os.read(self.out, 4096)
        self.heard += chunk
        if chunk and b"\n" not in self.heard and len(self.heard) < 4096:
            return
        self.loop.remove_reader(self.out)
        self.said = bytes(self.heard)
        self._finish()

    def _finish(self, timed_out: bool = False) -> None:
        if not timed_out and (self.said is None or self.left and self.said == b"ready\n"):
            return  # (waits for the other half)
        if self.done:
            return
        self._end()
        requester, rid, checker = self.requester, self.rid, self.checker
        if timed_out or self.said != b"ready\n":
            reason = _verdict(checker, self.said or b"", timed_out)
            if checker.returncode == 2 and requester.can_hand_over():
                # A usage error: an installed ptymux from before --when-told (a downgrade)
                # is asked the way it knows, all at once in the pause.
                log.info("hand-over: the installed ptymux has no --when-told: checking the"
                         " record the older way")
                requester.error(rid, hand_over(self.server, requester, rid), "failed")
                return
            log.warning("hand-over refused by the installed code: %s", reason)
            requester.error(rid, reason, "failed")
        elif requester.closed:  # (nobody to answer: not upgraded)
            _verdict(checker, b"", False)
        elif not requester.can_hand_over():
            _verdict(checker, b"", False)
            requester.error(rid, "this connection has unsent data: try again", "failed")
        else:
            requester.error(rid, hand_over(self.server, requester, rid, checker=checker,
                                           early=self.early), "failed")

    def abandon(self, reason: str) -> None:
        """Give up (``reason`` for the requester): the check is ended, nothing else done."""
        if not self.done:
            self._end()
            _verdict(self.checker, b"", False)
            self.requester.error(self.rid, reason, "failed")

    def _end(self) -> None:
        self.done = True
        _Upgrade.under_way = False
        _Upgrade.current = None
        self.timer.cancel()
        self.loop.remove_reader(self.out)
        self.left = []


def recover(server: Server, reason: str) -> None:
    """The crash guard (``Server.crashed``, which bounds how often): an unexpected exception
    in the server's loop (a bug of ours) hands the server over to a fresh start of the
    installed code, from the state as it is, rather than let it go on in a state nobody
    planned for, or exit with every session. Returns only if that could not be done."""
    log.error("crash guard: %s; re-executing the server from its state", reason)
    pending = _Upgrade.current
    if pending is not None:  # its check is not wanted now; its requester hears why
        with contextlib.suppress(Exception):
            pending.abandon("the server re-executed itself from its state meanwhile (see"
                            " its log): try again")
    failed = hand_over(server, None, 0, tolerant=True)
    log.error("crash guard: could not re-execute (the server runs on as it is): %s", failed)


def hand_over(server: Server, requester: Connection | None, rid: int,
              tolerant: bool = False, checker: subprocess.Popen[bytes] | None = None,
              early: dict[Session, tuple[int, bytes]] | None = None) -> str:
    """Write the record, have the installed code check it, exec it; returns only if it did
    not (the reason, one line), the server then running on as before. ``requester`` (an
    upgrade-server request) hears the answer from the new code; ``tolerant`` (the crash
    guard) carries a session whose screen cannot be written with a blank one; ``checker``:
    the check, started and ready (``upgrade``), else it is run now; ``early``: screens
    written while the loop still ran (``Session.export_state``)."""
    from ptymux.server import connection as connection_module

    early = early or {}

    refused = ("the server is shutting down" if server.shutting_down else
               "the server is not listening" if server.listener is None else "")
    if refused:
        if checker is not None:
            _verdict(checker, b"", False)
        return refused
    listener = server.listener
    assert listener is not None
    requested = time.time()
    sessions = [*server.registry, *server.dying]
    try:
        session_records = [_session_record(s, tolerant, early.get(s)) for s in sessions]
    except Exception as e:  # (a model that cannot redraw: nothing has changed yet)
        log.exception("hand-over: a session could not be written")
        if checker is not None:
            _verdict(checker, b"", False)
        return f"can't write the hand-over record: {type(e).__name__}: {e}"
    carried: list[tuple[Connection, dict[str, Any]]] = []
    for conn in server.connections:
        state = conn.handover_state() if conn is not requester else None
        if state is not None:
            carried.append((conn, state))
    waits: dict[int, list[list[int]]] = {}
    for session in sessions:
        for conn, wait_id in session.waiters:
            waits.setdefault(id(conn), []).append([session.id, wait_id])
    for conn, state in carried:
        state["waits"] = waits.get(id(conn), [])
    record = {
        "format": FORMAT, "version": VERSION, "software": f"ptymux {__version__}",
        "requested": requested,
        "socket": {"fd": listener.fileno(), "inode": server.socket_inode},
        "next_id": server.registry.next_id, "stay": server.stay, "started": server.started,
        "handovers": server.handovers + 1,
        "reply": None if requester is None else {"fd": requester.sock.fileno(), "id": rid},
        "connections": [state for _conn, state in carried],
        "sessions": session_records,
        "crashes": server.crashes,
        "next_client": next(connection_module._CLIENT_IDS),
        # this code, kept aside (keep_code): what runs on if the new code fails half way
        "fallback": None if server.code_copy is None else {
            "path": server.code_copy, "software": f"ptymux {__version__}"},
        "failed": "",
    }
    path = record_path(server)
    try:
        text = json.dumps(record)
        _write(path, text)
    except OSError as e:
        if checker is not None:
            _verdict(checker, b"", False)
        return f"can't write the hand-over record {path}: {e.strerror or e}"
    written = time.time()
    refusal = _check(path) if checker is None else _told(checker)
    if refusal:
        _remove(path)
        log.warning("hand-over refused by the installed code: %s", refusal)
        return refusal
    fds = _record_fds(record)
    argv = [sys.executable, "-P", "-m", "ptymux.server", "--handover", path,
            *server.exec_args()]
    log.info("hand-over: %d sessions and %d clients to %s (record: %d KiB in %d ms,"
             " checked in %d ms)", len(sessions), len(carried), " ".join(argv),
             len(text) >> 10, (written - requested) * 1000, (time.time() - written) * 1000)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    try:
        for fd in fds:
            os.set_inheritable(fd, True)
        os.execv(sys.executable, argv)
    except OSError as e:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, False)
        _remove(path)
        log.error("hand-over: exec failed: %s", e)
        return f"can't run the new server ({sys.executable}): {e.strerror or e}"
    raise AssertionError("unreachable")  # pragma: no cover (execv does not return)


# --- the fallback: this code, kept aside --------------------------------------------------


def keep_code(server: Server) -> None:
    """Copy this server's own package aside (``code-PID-N`` in the state directory), once it
    runs: ``pip install -U`` replaces the installed files under a running server, so this
    copy is the only way back to the code that runs now if the new code fails half way
    through a hand-over (``fall_back``). Its dependencies stay the installed ones. A copy
    whose version is not ours (the files changed before we copied them) is not kept.
    Copies left by servers that are gone (SIGKILL) are removed on the way."""
    import shutil

    if server.code_copy is not None:  # a fallback: it runs from such a copy already
        return
    base = os.path.dirname(record_path(server))
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            if name.startswith("code-") and not _alive(name.split("-")[1]):
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    target = os.path.join(base, f"code-{os.getpid()}-{server.handovers}")
    try:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(package, os.path.join(target, "ptymux"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        with open(os.path.join(target, "ptymux", "__init__.py"), encoding="utf-8") as f:
            same = f'__version__ = "{__version__}"' in f.read()
    except OSError as e:
        log.warning("can't keep a copy of the server's code (no fallback for an upgrade): %s",
                    e)
        shutil.rmtree(target, ignore_errors=True)
        return
    if not same:
        log.warning("the installed ptymux is no longer %s: no fallback for an upgrade",
                    __version__)
        shutil.rmtree(target, ignore_errors=True)
        return
    server.code_copy = target


def running_copy(server: Server) -> str | None:
    """The copy of the code we run from, if we are a fallback (``fall_back``)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    running_from = os.path.dirname(package)
    if (os.path.dirname(running_from) == os.path.dirname(record_path(server))
            and os.path.basename(running_from).startswith("code-")):
        return running_from
    return None


def drop_code(path: str | None) -> None:
    if path and os.path.basename(path).startswith("code-"):
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _record_fds(record: dict[str, Any]) -> list[int]:
    """Every fd the record hands over."""
    fds = [record["socket"]["fd"]]
    if record["reply"] is not None:
        fds.append(record["reply"]["fd"])
    for rec in record["sessions"]:
        fds += [fd for fd in (rec["fd"], rec["log_fd"]) if fd is not None and fd >= 0]
    for conn in record["connections"]:
        fds.append(conn["fd"])
        attached = conn["attached"]
        if attached is not None and attached["terminal"] is not None:
            fds.append(attached["terminal"]["fd"])
    return fds


def fall_back(path: str, record: dict[str, Any], reason: str, args: list[str]) -> None:
    """The new code failed half way through taking over (``reason``): run the code the old
    server ran (its copy, ``keep_code``) on the same record, with the daemon's options
    ``args``, rather than exit and take every program's pty with us. Returns only if there
    is no copy, or the exec failed."""
    fallback = record["fallback"]
    if fallback is None:
        log.error("upgrade: no fallback to run (the old server kept no copy of its code)")
        return
    log.error("upgrade: the new code failed half way (%s): running %s again from the same"
              " record", reason, fallback["software"])
    record = {**record, "fallback": None, "failed": reason}  # (and no fallback of a fallback)
    fds = _record_fds(record)
    try:
        _write(path, json.dumps(record))
        for fd in fds:
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (fallback["path"], env.get("PYTHONPATH", "")) if p)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        os.execve(sys.executable, [sys.executable, "-P", "-m", "ptymux.server", "--handover",
                                   path, *args], env)
    except OSError as e:
        log.error("upgrade: can't run the fallback: %s", e)


def injected_failure(stage: str) -> None:
    """The test hook: the code whose version FAIL_ENV names fails half way through taking
    over, as a bug of the new code would: ``VERSION`` once it has adopted the sessions,
    ``VERSION@listening`` once it listens, just before it would answer."""
    wanted = os.environ.get(FAIL_ENV, "")
    if wanted in (f"{__version__}@{stage}", *([__version__] if stage == "adopted" else [])):
        raise RuntimeError(f"injected by {FAIL_ENV}={wanted}")


def _write(path: str, text: str) -> None:
    """0600, complete or absent (written beside, then renamed)."""
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _check(path: str) -> str:
    """Ask the installed code whether it reads the record: '' if so, else its one line.

    Blocking on purpose: while the event loop waits here nothing changes, so the record
    checked is the state that is handed over."""
    argv = [sys.executable, "-P", "-m", "ptymux.server", "--check-handover", path]
    try:
        checker = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd="/")
    except OSError as e:
        return f"can't run the installed ptymux ({sys.executable}): {e.strerror or e}"
    return _told(checker, b"")


def _told(checker: subprocess.Popen[bytes], go: bytes = b"go\n") -> str:
    """The check's verdict on the record, once told to read it (blocking: see _check)."""
    try:
        out, err = checker.communicate(go or None, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return _verdict(checker, b"", True)
    if checker.returncode == 0 and out.strip() == b"ok":
        return ""
    return _reason(out + b"\n" + err, checker.returncode)


def _verdict(checker: subprocess.Popen[bytes], said: bytes, timed_out: bool) -> str:
    """Why a check that has not finished refused (``said`` so far), or that it timed out,
    in one line; the checker is ended and reaped. A check no longer wanted (``said`` is
    empty) ends here too, its verdict unused."""
    if timed_out or not said:
        checker.kill()
    try:
        out, err = checker.communicate(timeout=5.0)
    except subprocess.TimeoutExpired:
        checker.kill()
        out, err = checker.communicate()
    if timed_out:
        return (f"the installed ptymux did not check the hand-over record in"
                f" {CHECK_TIMEOUT:g} s")
    return _reason(said + out + b"\n" + err, checker.returncode)


def _reason(said: bytes, status: int | None) -> str:
    lines = [line.strip() for line in said.decode("utf-8", "replace").splitlines()
             if line.strip() and line.strip() != "ready"]
    reason = lines[-1] if lines else f"exit status {status}"
    return f"the installed ptymux refused the hand-over, the server runs on: {reason}"


# --- the new side --------------------------------------------------------------------------


def listener_of(record: dict[str, Any]) -> socket.socket:
    """The inherited listening socket; HandoverError if the fd is not one."""
    fd = record["socket"]["fd"]
    try:
        sock = socket.socket(fileno=fd)
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as e:
        raise HandoverError(f"the inherited socket (fd {fd}) is gone: {e}") from None
    if sock.family != socket.AF_UNIX or not listening:
        raise HandoverError(f"fd {fd} is not a listening Unix socket")
    os.set_inheritable(fd, False)
    return sock


def restore(server: Server, record: dict[str, Any]) -> None:
    """Adopt the record's sessions and idle connections (on the running loop)."""
    from ptymux.server.connection import CANCEL, Connection
    from ptymux.server.ptyproc import PtyProcess
    from ptymux.server.session import Session

    server.started = float(record["started"])
    server.handovers = record["handovers"]
    server.stay = record["stay"]
    now_wall, now_mono = time.time(), time.monotonic()
    by_id: dict[int, Session] = {}
    for rec in record["sessions"]:
        for fd in (rec["fd"], rec["log_fd"]):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.set_inheritable(fd, False)
        process = PtyProcess.adopt(rec["pid"], rec["fd"] if not rec["ended"] else -1)
        if rec["ended"]:
            process.returncode = rec["exit_code"]
        session = Session(rec["id"], rec["name"], list(rec["argv"]), process, rec["cols"],
                          rec["rows"], rec["history"], server.session_ended, rec["emulator"],
                          rec["log_fd"])
        session.created = float(rec["created"])
        session.activity = float(rec["activity"])
        session.last_used = now_mono - max(0.0, now_wall - session.activity)
        session.remain = rec["remain"]
        session.size_policy = rec["size_policy"]
        session.exit_code = rec["exit_code"]
        session.ended = rec["ended"]
        session.import_state(base64.b64decode(rec["screen"]),
                             {str(k): int(v) for k, v in rec["unseen"].items()},
                             base64.b64decode(rec["pending"]))
        by_id[session.id] = session
        if rec["killed"] and not rec["ended"]:  # kill-session was under way: go on with it
            server.dying.add(session)
            session.kill()
        else:
            server.registry.add(session)
    server.registry.reserve(record["next_id"])
    server.crashes = [float(t) for t in record["crashes"]]
    from ptymux.server import connection as connection_module

    connection_module._CLIENT_IDS = itertools.count(record["next_client"])  # (past them all)
    attached: list[tuple[int, Connection, Session, dict[str, Any]]] = []
    for rec in record["connections"]:
        conn = Connection.adopt(server, rec["fd"], rec["greeted"])
        if not rec["client"]:  # (a version 1 record)
            rec["client"] = conn.client_id
        client = rec["attached"]
        home = by_id.get(client["session"]) if client is not None else None
        conn.resume(rec, home)
        if client is not None and conn.session is not None and home is not None:
            attached.append((client["order"], conn, home, client))
        for session_id, wait_id in rec["waits"]:
            waited = by_id.get(session_id)
            if waited is not None and not conn.closed:
                waited.waiters.append((conn, wait_id))
    # In the order their sizes were last set, so that 'latest' picks the same client.
    for order, conn, session, client in sorted(attached, key=lambda a: a[0]):
        session.adopt_client(conn, client["cols"], client["rows"], order >= 0, CANCEL)
    # The other screens are rebuilt once the requester has its answer, one session per turn
    # of the loop: the programs' output is read in between (a session that is used sooner
    # is rebuilt then: Session.rebuild).
    import asyncio

    loop = asyncio.get_running_loop()
    loop.call_soon(_rebuild_soon, loop, list(by_id.values()))


def _rebuild_soon(loop: Any, sessions: list[Any]) -> None:
    if sessions:
        sessions.pop(0).rebuild()
        loop.call_soon(_rebuild_soon, loop, sessions)


def answer(server: Server, record: dict[str, Any]) -> None:
    """The requester hears that the new server runs: its version, pid and the pause."""
    from ptymux import protocol as p
    from ptymux.server.connection import Connection

    reply = record["reply"]
    if reply is None:
        return
    conn = Connection.adopt(server, reply["fd"], True)
    if record["failed"]:  # we are the fallback: the old code, running on
        conn.error(reply["id"], f"the installed ptymux failed half way through taking over"
                   f" ({record['failed']}); ptymux {__version__} runs on, every session"
                   " kept: see the server log", "failed")
        return
    conn.reply(reply["id"], p.UpgradeResult(
        software=f"ptymux {__version__}", previous=record["software"], pid=os.getpid(),
        sessions=len(server.registry), seconds=max(0.0, time.time() - record["requested"])))
