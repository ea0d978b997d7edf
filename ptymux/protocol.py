"""The ptymux wire protocol: typed messages, msgpack framing, validation.

This is the only module that knows msgpack. Everything else sends and receives the message
dataclasses below. A frame is a 4-byte big-endian payload length followed by that many bytes
of msgpack: a map whose ``"t"`` key names the message kind. Frames work over any byte stream
(a Unix socket today, an SSH stdio proxy later). See docs/protocol.md.

Every frame from a peer is untrusted: the length is checked before anything is buffered, and
each message is validated field by field into a dataclass, or rejected with ProtocolError.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import msgpack

VERSION = 1
MAX_FRAME = 1 << 20  # bytes of payload; checked before buffering
MAX_DATA = 1 << 16  # largest input/output chunk a sender puts in one frame
MAX_COLS = 2000
MAX_ROWS = 1000
MAX_HISTORY = 1_000_000
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame that is malformed, oversized, of an unknown kind, or has bad fields."""


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    KIND: ClassVar[str] = ""


@dataclass(frozen=True)
class Hello(Message):
    """First frame in each direction. The server refuses a different protocol version."""

    KIND: ClassVar[str] = "hello"
    version: int
    pid: int = 0


@dataclass(frozen=True)
class NewSession(Message):
    """Create a session; unless ``detached``, the connection is attached to it at once."""

    KIND: ClassVar[str] = "new"
    argv: list[str]
    cwd: str
    env: dict[str, str]
    cols: int
    rows: int
    name: str | None = None
    history: int | None = None
    detached: bool = False


@dataclass(frozen=True)
class Attach(Message):
    """Attach this connection to a session (``target`` None: the most recently used)."""

    KIND: ClassVar[str] = "attach"
    cols: int
    rows: int
    target: str | None = None


@dataclass(frozen=True)
class Input(Message):
    """Keyboard bytes for the attached session's pty."""

    KIND: ClassVar[str] = "input"
    data: bytes


@dataclass(frozen=True)
class Resize(Message):
    KIND: ClassVar[str] = "resize"
    cols: int
    rows: int


@dataclass(frozen=True)
class Detach(Message):
    KIND: ClassVar[str] = "detach"


@dataclass(frozen=True)
class ListSessions(Message):
    KIND: ClassVar[str] = "list"


@dataclass(frozen=True)
class KillSession(Message):
    KIND: ClassVar[str] = "kill"
    target: str


@dataclass(frozen=True)
class KillServer(Message):
    KIND: ClassVar[str] = "kill-server"


@dataclass(frozen=True)
class Capture(Message):
    """Ask for a session's screen as text (tmux ``capture-pane -p`` meanings for start/end)."""

    KIND: ClassVar[str] = "capture"
    target: str | None = None
    start: int | None = None
    end: int | None = None
    escapes: bool = False
    join: bool = False


# server -> client


@dataclass(frozen=True)
class Ok(Message):
    KIND: ClassVar[str] = "ok"


@dataclass(frozen=True)
class Error(Message):
    """A request failed; ``message`` is one line meant for the user."""

    KIND: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class Created(Message):
    KIND: ClassVar[str] = "created"
    id: int
    name: str


@dataclass(frozen=True)
class Attached(Message):
    KIND: ClassVar[str] = "attached"
    id: int
    name: str


@dataclass(frozen=True)
class Output(Message):
    """Bytes for the client's terminal: a redraw or the session's live output."""

    KIND: ClassVar[str] = "output"
    data: bytes


@dataclass(frozen=True)
class Exited(Message):
    """The attached session's program ended (``signal`` set if a signal killed it)."""

    KIND: ClassVar[str] = "exited"
    id: int
    name: str
    status: int | None = None
    signal: int | None = None


@dataclass(frozen=True)
class Detached(Message):
    KIND: ClassVar[str] = "detached"
    id: int
    name: str


@dataclass(frozen=True)
class SessionInfo:
    id: int
    name: str
    command: str
    cols: int
    rows: int
    created: float
    attached: int
    pid: int


@dataclass(frozen=True)
class SessionList(Message):
    KIND: ClassVar[str] = "sessions"
    sessions: list[SessionInfo] = field(default_factory=list)


@dataclass(frozen=True)
class CaptureResult(Message):
    KIND: ClassVar[str] = "captured"
    text: str


# --- validation ---------------------------------------------------------------------------

Check = Callable[[Any], Any]


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


def _bytes(v: Any) -> bytes:
    if type(v) is not bytes:
        raise ProtocolError(f"expected bytes, got {type(v).__name__}")
    return v


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


def _session_info(v: Any) -> SessionInfo:
    info: SessionInfo = _build(SessionInfo, _SESSION_INFO_FIELDS, v)
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
}

_FIELDS: dict[type[Message], dict[str, Check]] = {
    Hello: {"version": _int(0, 2**31), "pid": _ANY_INT},
    NewSession: {
        "argv": _str_list,
        "cwd": _str,
        "env": _str_dict,
        "cols": _COLS,
        "rows": _ROWS,
        "name": _optional(_str),
        "history": _optional(_int(0, MAX_HISTORY)),
        "detached": _bool,
    },
    Attach: {"cols": _COLS, "rows": _ROWS, "target": _optional(_str)},
    Input: {"data": _bytes},
    Resize: {"cols": _COLS, "rows": _ROWS},
    Detach: {},
    ListSessions: {},
    KillSession: {"target": _str},
    KillServer: {},
    Capture: {
        "target": _optional(_str),
        "start": _optional(_ANY_INT),
        "end": _optional(_ANY_INT),
        "escapes": _bool,
        "join": _bool,
    },
    Ok: {},
    Error: {"message": _str},
    Created: {"id": _ID, "name": _str},
    Attached: {"id": _ID, "name": _str},
    Output: {"data": _bytes},
    Exited: {
        "id": _ID,
        "name": _str,
        "status": _optional(_ANY_INT),
        "signal": _optional(_int(1, 255)),
    },
    Detached: {"id": _ID, "name": _str},
    SessionList: {"sessions": _session_list},
    CaptureResult: {"text": _str},
}

KINDS: dict[str, type[Message]] = {cls.KIND: cls for cls in _FIELDS}


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


def encode(msg: Message) -> bytes:
    """One complete frame (header + payload) for ``msg``."""
    body = asdict(msg)
    body["t"] = msg.KIND
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

    def messages(self, data: bytes) -> list[Message]:
        return [decode(p) for p in self.feed(data)]
