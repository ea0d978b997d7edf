"""The ptymux wire protocol: typed messages, msgpack framing, validation.

This is the only module that knows msgpack. Everything else sends and receives the message
dataclasses below. A frame is a 4-byte big-endian payload length followed by that many bytes
of msgpack: a map whose ``"t"`` key names the message kind. Frames work over any byte stream
(a Unix socket, or an SSH channel through ``ptymux proxy``). See docs/protocol.md.

Every frame from a peer is untrusted: the length is checked before anything is buffered, and
each message is validated field by field into a typed message, or rejected with
ProtocolError. Messages are NamedTuples rather than dataclasses: every ptymux command imports
this module, and NamedTuples cost a fraction of the start-up time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import msgpack

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~3 ms
if TYPE_CHECKING:
    from typing import Any, NamedTuple, TypeAlias
else:
    from ptymux.records import NamedTuple

VERSION = 4  # 4: key bindings and the action frame; 3: commands as requests (protocol.md)
VERSIONS = (3, 4)  # every version this build speaks (the handshake picks the highest shared)
MAX_CHUNK = 1 << 17  # characters of streamed reply text per chunk frame
MAX_FRAME = 1 << 20  # bytes of payload; checked before buffering
MAX_DATA = 1 << 16  # largest input/output chunk a sender puts in one frame
# Sizes and lengths (docs/protocol.md, "Limits"). A terminal of 1000x500 is past any real
# screen (an 8K display at a 7-pixel font is ~1100 columns); a vt model of that size costs
# ~20 MB, of the old 2000x1000 ~46 MB, kept for as long as the session lives.
MAX_COLS = 1000
MAX_ROWS = 500
MAX_HISTORY = 1_000_000
MAX_DETACH_KEYS = 16
MAX_NAME = 100  # characters in a session name: 'ls' lines stay readable
MAX_TARGET = 256  # characters in a -t target (a glob may be longer than the names it matches)
MAX_PATH = 4096  # a working directory (PATH_MAX)
MAX_COMMAND = 64  # characters in a command name or an error code
MAX_KEY_WORDS = 10_000  # words in one send-keys (the frame's 1 MiB bounds their text)
EMULATORS = ("vt", "ghostty", "pyte")  # the session models (ptymux.term)
SIZE_POLICIES = ("latest", "smallest", "largest")  # how clients' sizes make a session's
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame that is malformed, oversized, of an unknown kind, or has bad fields."""


# --- messages ---------------------------------------------------------------------------


class Hello(NamedTuple):
    """First frame in each direction. The client says every version it speaks; the server
    answers with the highest one both speak, its software version and the commands it
    serves (or refuses with an ``error`` of code ``version`` naming its versions)."""

    version: int
    pid: int = 0
    versions: list[int] | None = None
    software: str = ""  # "ptymux 0.1.0"
    commands: list[str] | None = None  # (the server's) every command it serves


class Request(NamedTuple):
    """A command: its name, its arguments (validated by the command's record, below) and an
    id that its reply, chunks or error carry back."""

    id: int
    command: str
    args: dict[str, Any]


class Reply(NamedTuple):
    """The end of a request: its result (a map, typed by the command's result record)."""

    id: int
    result: dict[str, Any]


class Chunk(NamedTuple):
    """Part of a long reply (``capture``), streamed before the request's ``reply``."""

    id: int
    data: str


class NewSession(NamedTuple):
    """Create a session; unless ``detached``, the connection is attached to it at once."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    cols: int
    rows: int
    name: str | None = None
    history: int | None = None
    detached: bool = False
    terminal: bool = False  # the client's terminal fd rides with this frame (SCM_RIGHTS)
    detach_keys: bytes = b""  # what the server watches for when it reads that terminal
    emulator: str | None = None  # the session's model: one of EMULATORS (None: vt)
    log: str | None = None  # a file the server appends all the program's output to
    remain: bool = False  # keep the session (its last screen) after its program exits
    keys: list[list[Any]] = []  # [[sequence, action], ...] the server watches for (v4)
    tty: str = ""  # the client's terminal (its name), for scrollback and list-clients (v4)
    title: str = ""  # set the terminal's title to this plus the session's name (v4)
    size_policy: str | None = None  # one of SIZE_POLICIES (None: latest)
    # From a client on another host (-H), for ``ptymux proxy`` on the server's host to fill
    # in: ``env`` (its own environment, the request's variables over it), ``cwd`` and
    # ``log`` (relative to its home; '' is the home). The proxy removes the flag; a server
    # refuses a request that still has it (the local environment must never stand in).
    remote: bool = False


MAX_BINDINGS = 32


class Attach(NamedTuple):
    """Attach this connection to a session (``target`` None: the most recently used)."""

    cols: int
    rows: int
    target: str | None = None
    terminal: bool = False  # as in NewSession
    detach_keys: bytes = b""
    keys: list[list[Any]] = []  # as in NewSession (v4)
    tty: str = ""
    title: str = ""
    scrollback: int = 0  # history lines to write into the terminal before the redraw (v4)
    read_only: bool = False  # attach -r: keys never reach the program, size never counts
    detach_others: bool = False  # attach -d: detach the session's other clients first


class Input(NamedTuple):
    """Keyboard bytes for the attached session's pty."""

    data: bytes


class Written(NamedTuple):
    """The client wrote ``size`` more bytes of output frames to its terminal and has none
    left (sent only while the server holds the terminal: it then writes there itself)."""

    size: int


class Resize(NamedTuple):
    """The client's terminal changed size."""

    cols: int
    rows: int


class Detach(NamedTuple):
    """Leave the attached session; it keeps running. With an ``action`` other than
    ``detach`` (v4), a key binding the client saw: the server leaves the terminal as it is
    (the client draws over it) and answers with Action instead of Detached."""

    action: str = ""


class Action(NamedTuple):
    """A key binding for the client (v4): the connection has left session ``id``, the
    server has let go of the terminal without resetting it, and the client does
    ``action`` (open the switcher, switch, …)."""

    action: str
    id: int
    name: str


class ListSessions(NamedTuple):
    """Ask for every session (answered with SessionList); ``ended``: also the sessions that
    ended and whose status no ``wait`` has read yet."""

    ended: bool = False


class KillSession(NamedTuple):
    """End a session (SIGHUP, then SIGKILL after a grace period)."""

    target: str


class KillServer(NamedTuple):
    """End every session and the server."""


class Capture(NamedTuple):
    """Ask for a session's screen as text (tmux ``capture-pane -p`` meanings for start/end)."""

    target: str | None = None
    start: int | None = None
    end: int | None = None
    escapes: bool = False
    join: bool = False


class HasSession(NamedTuple):
    """Is there a session ``target`` names? (answered with its SessionInfo, or error
    no-session): also how a script or the API resolves a target to one session."""

    target: str


class RenameSession(NamedTuple):
    """Give a session a new name."""

    target: str
    name: str


class SendKeys(NamedTuple):
    """Type into a session: tmux key names and text (``literal``: all text; ``hex``: each
    word one byte in hex), encoded by the server for the program's key modes."""

    target: str | None
    keys: list[str]
    literal: bool = False
    hex: bool = False


# server -> client


class Ok(NamedTuple):
    """The request was done."""


class Error(NamedTuple):
    """A request failed (``id`` is its id) or the connection is being closed (``id`` None);
    ``message`` is one line meant for the user, ``code`` one of ERROR_CODES."""

    message: str
    id: int | None = None
    code: str = "failed"


# What an error is, for a script: each code maps to an exit status (EXIT_STATUS).
ERROR_CODES = (
    "failed",  # the request could not be done (a program that cannot run, …)
    "usage",  # the request itself is wrong (a bad name, a value out of range)
    "unknown-command",  # the server does not know the command
    "no-session",  # no session matches the target
    "ambiguous",  # several sessions match the target
    "exists",  # a session of that name exists
    "denied",  # another uid
    "version",  # no protocol version in common
    "no-server",  # (ptymux proxy, instead of a server's hello) no server runs there
    "protocol",  # a malformed frame: the connection is closed
    "internal",  # a bug of ours
)
EXIT_STATUS = {"usage": 2, "unknown-command": 2}  # every other code: 1


class Created(NamedTuple):
    """A session was created (``terminal``: the server took the terminal it was passed)."""

    id: int
    name: str
    terminal: bool = False
    pid: int = 0  # the program's
    created: float = 0.0  # epoch seconds
    command: str = ""  # the command line it runs (as ls shows it)


class Attached(NamedTuple):
    """This connection is now attached; a full redraw follows, as output frames or, if
    ``terminal``, written by the server straight to the terminal it was passed."""

    id: int
    name: str
    terminal: bool = False


class Output(NamedTuple):
    """Bytes for the client's terminal: a redraw or the session's live output."""

    data: bytes


class Exited(NamedTuple):
    """The attached session's program ended (``signal`` set if a signal killed it)."""

    id: int
    name: str
    status: int | None = None
    signal: int | None = None


class Detached(NamedTuple):
    """Answer to Detach."""

    id: int
    name: str


class SessionInfo(NamedTuple):
    """One session as ``ls`` shows it."""

    id: int
    name: str
    command: str
    cols: int
    rows: int
    created: float
    attached: int
    pid: int
    current_command: str = ""  # the pty's foreground process (tmux's pane_current_command)
    current_path: str = ""  # its working directory (pane_current_path)
    ended: bool = False  # its program exited; kept by new --remain-on-exit
    status: int | None = None  # how it exited, once ended
    signal: int | None = None
    activity: float = 0.0  # epoch seconds of its last use (attach, keys): most recent first
    size_policy: str = "latest"


class ListClients(NamedTuple):
    """Ask for the attached clients (of the session ``target`` names, else all)."""

    target: str | None = None


class ClientInfo(NamedTuple):
    """One attached client, as ``list-clients`` shows it."""

    id: int
    session: int  # the session's id
    session_name: str
    tty: str
    cols: int
    rows: int
    read_only: bool
    attached: float  # epoch seconds
    behind: int  # bytes sent to it that it has not read yet
    pid: int = 0  # its process (SO_PEERCRED)


class ClientList(NamedTuple):
    clients: list[ClientInfo]


class DetachClient(NamedTuple):
    """Detach one client (``client``: its id) or every client of the session ``target``."""

    target: str | None = None
    client: int | None = None


class SetSizePolicy(NamedTuple):
    """Change how the session ``target`` takes its size from its clients' sizes."""

    target: str
    policy: str


class EndedInfo(NamedTuple):
    """A session that ended, its status not read yet (``ls -a``)."""

    id: int
    name: str
    command: str
    status: int | None
    signal: int | None
    ended: float


class SessionList(NamedTuple):
    """Answer to ListSessions."""

    sessions: list[SessionInfo]
    ended: list[EndedInfo] = []


class Wait(NamedTuple):
    """Answer when the session's program has exited (at once if it already has)."""

    target: str


class WaitResult(NamedTuple):
    """How a waited-for session's program ended."""

    id: int
    name: str
    status: int | None = None
    signal: int | None = None


class UpgradeServer(NamedTuple):
    """Re-execute the server as the installed ptymux, keeping its sessions (the reply comes
    from the new code)."""


class UpgradeResult(NamedTuple):
    """Answer to UpgradeServer, sent by the new server."""

    software: str  # the new server's "ptymux X.Y.Z"
    previous: str = ""  # the old one's
    pid: int = 0  # the same as before: the server re-executed itself in place
    sessions: int = 0
    seconds: float = 0.0  # from the request to this reply (the sessions' pause)


class ServerInfo(NamedTuple):
    """Ask the server about itself."""


class ServerInfoResult(NamedTuple):
    """Answer to ServerInfo."""

    software: str
    pid: int
    started: float  # epoch seconds of the first start (kept across upgrades)
    handed_over: float  # epoch seconds of the last upgrade (``started`` if none)
    handovers: int  # upgrades since the first start
    sessions: int
    clients: int  # attached clients
    socket: str = ""


class CaptureResult(NamedTuple):
    """Answer to Capture: the selected rows, each ending in a newline."""

    text: str


Message: TypeAlias = (
    Hello | Request | Reply | Chunk | NewSession | Attach | Input | Written | Resize | Detach
    | ListSessions | KillSession | KillServer | Capture | Ok | Error | Created | Attached
    | Output | Exited | Detached | SessionList | CaptureResult | HasSession | RenameSession
    | SendKeys | Wait | WaitResult | EndedInfo | SessionInfo | Action | ListClients
    | ClientInfo | ClientList | DetachClient | SetSizePolicy | UpgradeServer | UpgradeResult
    | ServerInfo | ServerInfoResult
)


# --- validation ---------------------------------------------------------------------------

if TYPE_CHECKING:
    Check: TypeAlias = Callable[[Any], Any]


def _map(v: Any) -> dict[str, Any]:
    if type(v) is not dict:
        raise ProtocolError("expected a map")
    return v


def _int_list(v: Any) -> list[int]:
    if type(v) is not list or len(v) > 64:
        raise ProtocolError("expected a list of at most 64 integers")
    return [_int(0, 2**31)(x) for x in v]


def _int(lo: int, hi: int) -> Check:
    def check(v: Any) -> int:
        if type(v) is not int or not lo <= v <= hi:
            raise ProtocolError(f"expected an integer in {lo}..{hi}, got {v!r:.40}")
        return v

    return check


def _str(v: Any) -> str:
    if type(v) is not str:
        raise ProtocolError(f"expected a string, got {type(v).__name__}")
    return v


def _text(limit: int) -> Check:
    def check(v: Any) -> str:
        if type(v) is not str:
            raise ProtocolError(f"expected a string, got {type(v).__name__}")
        if len(v) > limit:
            raise ProtocolError(f"expected at most {limit} characters, got {len(v)}")
        return v

    return check


def _bytes(v: Any) -> bytes:
    if type(v) is not bytes:
        raise ProtocolError(f"expected bytes, got {type(v).__name__}")
    return v


def _detach_keys(v: Any) -> bytes:
    if type(v) is not bytes or len(v) > MAX_DETACH_KEYS:
        raise ProtocolError(f"expected at most {MAX_DETACH_KEYS} bytes")
    return v


def _bindings(v: Any) -> list[list[Any]]:
    """Key bindings: at most MAX_BINDINGS [sequence, action] pairs, no empty sequence."""
    if type(v) is not list or len(v) > MAX_BINDINGS:
        raise ProtocolError(f"expected at most {MAX_BINDINGS} bindings")
    out = []
    for pair in v:
        if type(pair) is not list or len(pair) != 2:
            raise ProtocolError("a binding is [keys, action]")
        out.append([_detach_keys(pair[0]), _text(MAX_COMMAND)(pair[1])])
    if any(not seq for seq, _action in out):
        raise ProtocolError("a binding needs at least one key")
    return out


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str:
        if v not in choices or type(v) is not str:
            raise ProtocolError(f"expected one of {', '.join(choices)}, got {v!r:.40}")
        return v

    return check


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise ProtocolError(f"expected a boolean, got {type(v).__name__}")
    return v


def _float(v: Any) -> float:
    if type(v) not in (float, int):
        raise ProtocolError(f"expected a number, got {type(v).__name__}")
    return float(v)


def _optional(check: Check) -> Check:
    def optional(v: Any) -> Any:
        return None if v is None else check(v)

    return optional


def _str_list(v: Any) -> list[str]:
    if type(v) is not list:
        raise ProtocolError("expected a list of strings")
    return [_str(x) for x in v]


def _str_dict(v: Any) -> dict[str, str]:
    if type(v) is not dict:
        raise ProtocolError("expected a map of strings")
    return {_str(k): _str(x) for k, x in v.items()}


_ANY_INT = _int(-(2**63), 2**63 - 1)
_ID = _int(0, 2**63 - 1)
_COLS = _int(1, MAX_COLS)
_ROWS = _int(1, MAX_ROWS)
_TARGET = _text(MAX_TARGET)


def _key_words(v: Any) -> list[str]:
    if type(v) is not list or len(v) > MAX_KEY_WORDS:
        raise ProtocolError(f"expected a list of at most {MAX_KEY_WORDS} strings")
    return [_str(x) for x in v]


def _command_list(v: Any) -> list[str]:
    if type(v) is not list or len(v) > 1000:
        raise ProtocolError("expected a list of at most 1000 command names")
    return [_text(MAX_COMMAND)(x) for x in v]


_ENDED_FIELDS: dict[str, Check] = {
    "id": _ID,
    "name": _str,
    "command": _str,
    "status": _optional(_ANY_INT),
    "signal": _optional(_int(1, 255)),
    "ended": _float,
}


def _ended_list(v: Any) -> list[EndedInfo]:
    if type(v) is not list:
        raise ProtocolError("expected a list of ended sessions")
    return [_build(EndedInfo, _ENDED_FIELDS, _known(_ENDED_FIELDS, e)) for e in v]


def _session_info(v: Any) -> SessionInfo:
    info: SessionInfo = _build(SessionInfo, _SESSION_INFO_FIELDS,
                               _known(_SESSION_INFO_FIELDS, v))
    return info


def _session_list(v: Any) -> list[SessionInfo]:
    if type(v) is not list:
        raise ProtocolError("expected a list of sessions")
    return [_session_info(x) for x in v]


_SESSION_INFO_FIELDS: dict[str, Check] = {
    "id": _ID,
    "name": _str,
    "command": _str,
    "cols": _COLS,
    "rows": _ROWS,
    "created": _float,
    "attached": _int(0, 2**31),
    "pid": _ANY_INT,
    "current_command": _text(MAX_PATH),
    "current_path": _text(MAX_PATH),
    "ended": _bool,
    "status": _optional(_ANY_INT),
    "signal": _optional(_int(1, 255)),
    "activity": _float,
    "size_policy": _text(MAX_COMMAND),
}

_CLIENT_INFO_FIELDS: dict[str, Check] = {
    "id": _ID,
    "session": _ID,
    "session_name": _str,
    "tty": _text(MAX_PATH),
    "cols": _int(0, MAX_COLS),
    "rows": _int(0, MAX_ROWS),
    "read_only": _bool,
    "attached": _float,
    "behind": _int(0, 2**63 - 1),
    "pid": _ANY_INT,
}


def _client_list(v: Any) -> list[ClientInfo]:
    if type(v) is not list:
        raise ProtocolError("expected a list of clients")
    return [_build(ClientInfo, _CLIENT_INFO_FIELDS, _known(_CLIENT_INFO_FIELDS, x)) for x in v]


_FIELDS: dict[type[Message], dict[str, Check]] = {
    Hello: {
        "version": _int(0, 2**31),
        "pid": _ANY_INT,
        "versions": _optional(_int_list),
        "software": _text(100),
        "commands": _optional(_command_list),
    },
    Request: {"id": _ID, "command": _text(MAX_COMMAND), "args": _map},
    Reply: {"id": _ID, "result": _map},
    Chunk: {"id": _ID, "data": _str},
    NewSession: {
        "argv": _str_list,
        "cwd": _text(MAX_PATH),
        "env": _str_dict,
        "cols": _COLS,
        "rows": _ROWS,
        "name": _optional(_text(MAX_TARGET)),
        "history": _optional(_int(0, MAX_HISTORY)),
        "detached": _bool,
        "terminal": _bool,
        "detach_keys": _detach_keys,
        "emulator": _optional(_one_of(EMULATORS)),
        "log": _optional(_text(MAX_PATH)),
        "remain": _bool,
        "keys": _bindings,
        "tty": _text(MAX_PATH),
        "title": _text(MAX_NAME),
        "size_policy": _optional(_one_of(SIZE_POLICIES)),
        "remote": _bool,
    },
    Attach: {
        "cols": _COLS,
        "rows": _ROWS,
        "target": _optional(_TARGET),
        "terminal": _bool,
        "detach_keys": _detach_keys,
        "keys": _bindings,
        "tty": _text(MAX_PATH),
        "title": _text(MAX_NAME),
        "scrollback": _int(0, MAX_HISTORY),
        "read_only": _bool,
        "detach_others": _bool,
    },
    Input: {"data": _bytes},
    Written: {"size": _int(0, 2**63 - 1)},
    Resize: {"cols": _COLS, "rows": _ROWS},
    Detach: {"action": _text(MAX_COMMAND)},
    Action: {"action": _text(MAX_COMMAND), "id": _ID, "name": _str},
    ListSessions: {"ended": _bool},
    KillSession: {"target": _TARGET},
    KillServer: {},
    HasSession: {"target": _TARGET},
    Wait: {"target": _TARGET},
    WaitResult: {"id": _ID, "name": _str, "status": _optional(_ANY_INT),
                 "signal": _optional(_int(1, 255))},
    RenameSession: {"target": _TARGET, "name": _TARGET},
    SendKeys: {"target": _optional(_TARGET), "keys": _key_words, "literal": _bool,
               "hex": _bool},
    Capture: {
        "target": _optional(_TARGET),
        "start": _optional(_ANY_INT),
        "end": _optional(_ANY_INT),
        "escapes": _bool,
        "join": _bool,
    },
    Ok: {},
    Error: {"message": _str, "id": _optional(_ID), "code": _text(MAX_COMMAND)},
    Created: {"id": _ID, "name": _str, "terminal": _bool, "pid": _ANY_INT, "created": _float,
              "command": _str},
    Attached: {"id": _ID, "name": _str, "terminal": _bool},
    Output: {"data": _bytes},
    Exited: {
        "id": _ID,
        "name": _str,
        "status": _optional(_ANY_INT),
        "signal": _optional(_int(1, 255)),
    },
    Detached: {"id": _ID, "name": _str},
    SessionList: {"sessions": _session_list, "ended": _ended_list},
    ListClients: {"target": _optional(_TARGET)},
    ClientList: {"clients": _client_list},
    DetachClient: {"target": _optional(_TARGET), "client": _optional(_ID)},
    SetSizePolicy: {"target": _TARGET, "policy": _one_of(SIZE_POLICIES)},
    SessionInfo: _SESSION_INFO_FIELDS,
    CaptureResult: {"text": _str},
    UpgradeServer: {},
    UpgradeResult: {"software": _text(100), "previous": _text(100), "pid": _ANY_INT,
                    "sessions": _int(0, 2**31), "seconds": _float},
    ServerInfo: {},
    ServerInfoResult: {"software": _text(100), "pid": _ANY_INT, "started": _float,
                       "handed_over": _float, "handovers": _int(0, 2**31),
                       "sessions": _int(0, 2**31), "clients": _int(0, 2**31),
                       "socket": _text(MAX_PATH)},
}

# Frame kinds: the handshake, requests and what answers them, and the attached session's
# stream (no id: keys, sizes and output flow both ways while requests come and go).
KINDS: dict[str, type[Message]] = {
    "hello": Hello,
    "request": Request,
    "reply": Reply,
    "chunk": Chunk,
    "error": Error,
    "input": Input,
    "written": Written,
    "resize": Resize,
    "detach": Detach,
    "output": Output,
    "exited": Exited,
    "detached": Detached,
    "action": Action,
}

# The commands: a request's ``command`` -> the record its ``args`` must make, and the record
# its reply's ``result`` must make. A command added here (and served) changes no version: the
# handshake tells the client which commands the server has.
COMMANDS: dict[str, tuple[type[Message], type[Message]]] = {
    "new": (NewSession, Created),
    "attach": (Attach, Attached),
    "ls": (ListSessions, SessionList),
    "kill-session": (KillSession, Ok),
    "kill-server": (KillServer, Ok),
    "capture": (Capture, CaptureResult),
    "has-session": (HasSession, SessionInfo),  # the session the target names
    "rename-session": (RenameSession, Ok),
    "send-keys": (SendKeys, Ok),
    "wait": (Wait, WaitResult),
    "list-clients": (ListClients, ClientList),
    "detach-client": (DetachClient, Ok),
    "set-size-policy": (SetSizePolicy, Ok),
    "upgrade-server": (UpgradeServer, UpgradeResult),
    "server-info": (ServerInfo, ServerInfoResult),
}
_COMMAND_OF: dict[type, str] = {args: name for name, (args, _result) in COMMANDS.items()}


def command_of(args: Message) -> str:
    """The command whose arguments ``args`` are (``"ls"`` for a ListSessions)."""
    return _COMMAND_OF[type(args)]


def parse_args(command: str, raw: dict[str, Any]) -> Message:
    """A request's arguments as its command's record; ProtocolError if they do not fit."""
    cls = COMMANDS[command][0]
    msg: Message = _build(cls, _FIELDS[cls], raw)
    return msg


def parse_result(command: str, raw: dict[str, Any], chunks: list[str] | None = None
                 ) -> Message:
    """A reply's result as its command's record; ProtocolError if it does not fit. The text
    of ``chunks`` that came before the reply (a streamed ``capture``) is its ``text``. Fields
    this client does not know are left out (a newer server may add some), and fields an
    older server does not send take their defaults."""
    if chunks:
        raw = {**raw, "text": "".join(chunks)}
    cls = COMMANDS[command][1]
    fields = _FIELDS[cls]
    msg: Message = _build(cls, fields, _known(fields, raw))
    return msg


def _known(fields: dict[str, Check], raw: Any) -> Any:
    """A result map without the fields this side does not know (a newer peer's)."""
    return {k: v for k, v in raw.items() if k in fields} if type(raw) is dict else raw


def request(rid: int, args: Message) -> Request:
    """The request frame for command arguments ``args``. Arguments at their default are
    left out: a server that predates an argument still serves requests that do not use it
    (it refuses an argument it does not know)."""
    defaults = type(args)._field_defaults
    given = {k: v for k, v in _fields(args).items() if k not in defaults or v != defaults[k]}
    return Request(id=rid, command=command_of(args), args=given)


def reply(rid: int, result: Message) -> Reply:
    return Reply(id=rid, result=_fields(result))


def _fields(record: Message) -> dict[str, Any]:
    return {k: _plain(v) for k, v in record._asdict().items()}


_KIND_OF: dict[type, str] = {cls: kind for kind, cls in KINDS.items()}


def kind_of(msg: Message) -> str:
    """The wire name of a message's kind (``"hello"``, ``"output"`` …)."""
    return _KIND_OF[type(msg)]


def _build(cls: Any, fields: dict[str, Check], raw: Any) -> Any:
    if type(raw) is not dict:
        raise ProtocolError("expected a map")
    unknown = set(raw) - set(fields) - {"t"}
    if unknown:
        raise ProtocolError(f"unknown field {sorted(map(str, unknown))[0]!r}")
    values: dict[str, Any] = {}
    for name, check in fields.items():
        if name in raw:
            try:
                values[name] = check(raw[name])
            except ProtocolError as e:
                raise ProtocolError(f"field {name!r}: {e}") from None
    try:
        return cls(**values)
    except TypeError:
        missing = [n for n in fields if n not in values]
        raise ProtocolError(f"missing field {missing[0]!r}" if missing else "bad fields") from None


# --- framing ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Nested records (the sessions of a listing) as maps."""
    if type(value) is list:
        return [v._asdict() if isinstance(v, SessionInfo | EndedInfo | ClientInfo) else v
                for v in value]
    return value


def encode(msg: Message, rid: int = 0) -> bytes:
    """One complete frame (header + payload) for ``msg``; command arguments (a Capture …)
    are sent as a request with id ``rid``."""
    if type(msg) in _COMMAND_OF:
        msg = request(rid, msg)
    body = _fields(msg)
    body["t"] = _KIND_OF[type(msg)]
    payload: bytes = msgpack.packb(body, use_bin_type=True)
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"message too large ({len(payload)} bytes)")
    return _HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> Message:
    """Validate one frame's payload into a message, or raise ProtocolError."""
    try:
        raw = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack raises several unrelated types on garbage
        raise ProtocolError(f"undecodable frame ({type(e).__name__})") from None
    if type(raw) is not dict:
        raise ProtocolError("a frame must be a map")
    kind = raw.get("t")
    cls = KINDS.get(kind) if type(kind) is str else None
    if cls is None:
        raise ProtocolError(f"unknown message kind {kind!r:.40}")
    msg: Message = _build(cls, _FIELDS[cls], raw)
    return msg


def frame(payload: bytes) -> bytes:
    """A payload (as ``FrameDecoder.feed`` gave it) framed again."""
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Splits a byte stream into frame payloads, refusing oversized frames before buffering."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = _HEADER.unpack_from(buf, pos)
            if size > self._max:
                raise ProtocolError(f"frame of {size} bytes exceeds the limit of {self._max}")
            if len(buf) - pos - 4 < size:
                break
            frames.append(bytes(buf[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        if pos:
            del buf[:pos]
        return frames

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held for the next feed."""
        return len(self._buf)

    def unparsed(self) -> bytes:
        """The bytes of that incomplete frame (a hand-over feeds them to the new code)."""
        return bytes(self._buf)

    def messages(self, data: bytes) -> list[Message]:
        return [decode(p) for p in self.feed(data)]
