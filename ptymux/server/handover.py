"""``upgrade-server``: the server re-executes itself in place, as the installed ptymux.

Why in place (``os.execv``, the same pid): every session's program is the server's child
and has its pty master in the server; a new process could take neither. After ``execv`` the
pid, the children and every fd not marked close-on-exec are still ours. So the listening
socket, each pty master, each session's ``--log`` file and each idle client connection are
made inheritable, and everything else goes into the **hand-over record**: a versioned JSON
file in the state directory (0600), plain data only (never pickled objects of the old code:
the new code may have other classes). A screen travels as bytes that rebuild it in a fresh
model (``Session.export_state``: every history line, then ``redraw()``).

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

Attached clients are not carried yet: ``upgrade-server`` refuses while any is attached.
"""

from __future__ import annotations

import base64
import contextlib
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

log = logging.getLogger(__name__)

FORMAT = "ptymux-handover"
VERSION = 1  # a record of another version is refused, never guessed at
CHECK_TIMEOUT = 30.0  # seconds the new code may take to read the record
REFUSE_ENV = "PTYMUX_TEST_REFUSE_HANDOVER"  # test hook: the new code refuses every record


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
    if record.get("version") != VERSION:
        raise HandoverError(f"hand-over record version {record.get('version')!r}: ptymux"
                            f" {__version__} reads version {VERSION} only")
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
    for conn in record["connections"]:
        _check_fields("a connection", conn, {"fd": (int,), "greeted": (bool,),
                                             "waits": (list,)})
    if record["reply"] is not None:
        _check_fields("the reply", record["reply"], {"fd": (int,), "id": (int,)})
    return record


def read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise HandoverError(f"can't read the hand-over record {path}: {e}") from None
    return parse(text)


def check_main(path: str) -> int:
    """``python -m ptymux.server --check-handover FILE``: what the old server asks the new
    code before it execs it. Prints ``ok``, or one line saying why not (exit status 1)."""
    try:
        read(path)
    except HandoverError as e:
        print(e)
        return 1
    print("ok")
    return 0


# --- the old side --------------------------------------------------------------------------


def _session_record(session: Any) -> dict[str, Any]:
    screen, unseen, pending = session.export_state()
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


def upgrade(server: Server, requester: Connection, rid: int) -> str:
    """Hand the server over to the installed code; returns only if it did not (the reason,
    one line), the old server then running on as before. On success this process is the
    new code, which answers ``rid`` on ``requester``'s inherited socket."""
    attached = [c for c in server.connections if c.session is not None and not c.closed]
    if attached:
        n = len(attached)
        return (f"{n} client{'s' if n != 1 else ''} attached: detach"
                f" {'them' if n != 1 else 'it'} first (ptymux detach-client -t SESSION)")
    if server.shutting_down:
        return "the server is shutting down"
    listener = server.listener
    if listener is None:
        return "the server is not listening"
    if not requester.can_hand_over():
        return "this connection has unsent data: try again"
    requested = time.time()
    sessions = [*server.registry, *server.dying]
    try:
        session_records = [_session_record(s) for s in sessions]
    except Exception as e:  # (a model that cannot redraw: nothing has changed yet)
        log.exception("hand-over: a session could not be written")
        return f"can't write the hand-over record: {type(e).__name__}: {e}"
    carried = [c for c in server.connections if c is not requester and c.can_hand_over()]
    waits: dict[int, list[list[int]]] = {}
    for session in sessions:
        for conn, wait_id in session.waiters:
            waits.setdefault(id(conn), []).append([session.id, wait_id])
    record = {
        "format": FORMAT, "version": VERSION, "software": f"ptymux {__version__}",
        "requested": requested,
        "socket": {"fd": listener.fileno(), "inode": server.socket_inode},
        "next_id": server.registry.next_id, "stay": server.stay, "started": server.started,
        "handovers": server.handovers + 1,
        "reply": {"fd": requester.sock.fileno(), "id": rid},
        "connections": [{"fd": c.sock.fileno(), "greeted": c.greeted,
                         "waits": waits.get(id(c), [])} for c in carried],
        "sessions": session_records,
    }
    path = record_path(server)
    try:
        _write(path, json.dumps(record))
    except OSError as e:
        return f"can't write the hand-over record {path}: {e.strerror or e}"
    refusal = _check(path)
    if refusal:
        _remove(path)
        log.warning("upgrade refused by the installed code: %s", refusal)
        return refusal
    fds = [listener.fileno(), requester.sock.fileno(), *(c.sock.fileno() for c in carried)]
    for s in sessions:
        fds += [fd for fd in (s.process.master, s.log_fd) if fd is not None and fd >= 0]
    argv = [sys.executable, "-P", "-m", "ptymux.server", "--handover", path,
            *server.exec_args()]
    log.info("upgrade: handing %d sessions over to %s", len(sessions), " ".join(argv))
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
        log.error("upgrade: exec failed: %s", e)
        return f"can't run the new server ({sys.executable}): {e.strerror or e}"
    raise AssertionError("unreachable")  # pragma: no cover (execv does not return)


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
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                              stdin=subprocess.DEVNULL, cwd="/")
    except subprocess.TimeoutExpired:
        return f"the installed ptymux did not check the hand-over record in {CHECK_TIMEOUT:g} s"
    except OSError as e:
        return f"can't run the installed ptymux ({sys.executable}): {e.strerror or e}"
    out = done.stdout.strip()
    if done.returncode == 0 and out == "ok":
        return ""
    lines = [line for line in (out + "\n" + done.stderr).splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
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
    from ptymux.server.connection import Connection
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
        session = Session(rec["id"], rec["name"], list(rec["argv"]), "/", {}, rec["cols"],
                          rec["rows"], rec["history"], server.session_ended, rec["emulator"],
                          rec["log_fd"], process=process)
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
    for rec in record["connections"]:
        conn = Connection.adopt(server, rec["fd"], rec["greeted"])
        for session_id, wait_id in rec["waits"]:
            waited = by_id.get(session_id)
            if waited is not None and not conn.closed:
                waited.waiters.append((conn, wait_id))


def answer(server: Server, record: dict[str, Any]) -> None:
    """The requester hears that the new server runs: its version, pid and the pause."""
    from ptymux import protocol as p
    from ptymux.server.connection import Connection

    reply = record["reply"]
    if reply is None:
        return
    conn = Connection.adopt(server, reply["fd"], True)
    conn.reply(reply["id"], p.UpgradeResult(
        software=f"ptymux {__version__}", previous=record["software"], pid=os.getpid(),
        sessions=len(server.registry), seconds=max(0.0, time.time() - record["requested"])))
