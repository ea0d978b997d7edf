#!/usr/bin/env python3
"""Fuzz the ptymux server through its socket, and check after every batch that it still serves.

    python bench/fuzz.py [--seconds 60] [--seed N] [--frames 300] [--classes NAME...]
                         [--batches N] [--only-batch K] [--rss-slack MiB] [--linger-limit S]
                         [--no-shutdown] [-q]

A real server is started through the real ``ptymux`` binary in an isolated world (its own
socket directory, state directory and config: ``tests/harness.py``'s ``Mux``), with two
sessions whose programs print a line every 0.1 s and read their input. One raw client is
attached to the first (hello + attach, reading output frames) and a real ``ptymux attach`` in
a pty to the second. Then batches of probes go to the server, each on fresh AF_UNIX
connections; each batch is one probe class (CLASSES, round-robin):

- ``random``: random bytes, sometimes after a valid hello;
- ``truncated``: a frame whose header says N and fewer bytes follow, then a close;
- ``huge``: lengths up to 2**32-1, or a full 1 MiB frame;
- ``payload``: payloads that are not msgpack, not a map, a map without ``"t"``, unknown kinds;
- ``fields``: known kinds with wrong field types, huge or negative numbers, strings with NUL
  bytes or escape sequences, 10k-character targets, env names with '=' …;
- ``mutate``: valid encodings of every client message kind, bits flipped, bytes inserted or
  deleted;
- ``sequence``: valid frames in wrong orders (attach while attached, resize before attach,
  input without a session, detach twice, written without a terminal …);
- ``fds``: frames carrying file descriptors (SCM_RIGHTS): /dev/null, pipes, sockets, ptys;
- ``linger``: connections left open that say nothing, or half a frame;
- ``vanish``: bursts of 32 clients that each leave 900 KB of a 1 MiB frame and vanish;
- ``unread``: a client that pipelines requests for 30-120 MiB of replies and reads none;
- ``fdlimit``: the server's fd limit lowered (prlimit) and more clients than it can accept.

Each connection sends, reads what comes back with a short deadline (every socket operation is
non-blocking or has a timeout), and closes; some close abruptly mid-frame without reading.
Frames that could end the server or a protected session, or give a session a huge screen,
are never sent (the probe is regenerated): the invariants are about the server's robustness,
not about what a valid request legitimately does. For the same reason the fuzzer's own
sessions are few and small, and its big frames go a few at a time: what the server
legitimately holds must not vary so much that a leak could hide in it. ``kill-server`` (and
``new`` after it) is probed once, at the end.

A warm-up round runs every class once; its batches are checked too, except for fds and RSS,
whose baselines it sets (RSS: its highest, so that each class's high-water mark is in it).
Then batches go round-robin until --seconds (or --batches) is over. After each batch the
invariants (INVARIANTS) are checked, and a failure is printed at once with the seed, batch
and class that broke it and the command that replays it: batch K's probes depend only on
(seed, K, class, --frames), so ``--seed N --classes CLASS --only-batch K`` runs the warm-up
of that class and then batch K. A failure that leaves nothing to check (the server or a
protected session gone) ends the run. The server's log is kept when anything failed.
Exit status: 0 if every invariant held, 1 if not, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import array
import collections
import contextlib
import fcntl
import fnmatch
import functools
import os
import random
import resource
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

from drivers import cpu_seconds  # noqa: E402  (bench/, beside this file)

from harness import PTYMUX, Mux, Terminal  # noqa: E402
from ptymux import protocol as p  # noqa: E402
from ptymux.server.connection import Connection  # noqa: E402

# The last two create and kill sessions; the others only talk to the protected ones.
CLASSES = ("linger", "random", "truncated", "huge", "payload", "fields", "mutate", "vanish",
           "unread", "fdlimit", "sequence", "fds")
SPECIAL = ("vanish", "unread", "fdlimit")  # not plans of connections: Fuzzer methods
INVARIANTS = {
    "alive": "the server process is alive and accepts connections",
    "sessions": "every protected session still runs (same pid) and can be captured",
    "watchers": "the attached clients (raw frames, and ptymux attach in a pty) still get output",
    "fds": "the server's open fds come back to the count after the warm-up",
    "rss": "the server's RSS stays within --rss-slack of the value after the warm-up",
    "refusal": "a refused frame gets an error frame and a hang-up within 3 s",
    "replies": "every server frame decodes; no 'internal error' reply; no ERROR in the log",
    "linger": "a connection that says nothing (or half a frame) is hung up within "
              "--linger-limit seconds",
    "fdlimit": "at its fd limit, with clients waiting, the server does not spin (< 50% CPU)",
    "vanish": "the buffers of clients that vanish mid-frame are freed at once: in 4 bursts"
              " of 32 clients leaving 27 MiB, RSS grows < 8 MiB after the second (the"
              " first warms the allocator up)",
    "unread": "clients that pipeline requests and read no reply cost the server a bounded"
              " amount of memory (< 12 MiB for one asking 30-120 MiB)",
    "fair": "meanwhile, the attached raw client keeps getting output (no gap over 0.5 s)",
    "cleanup": "sessions the fuzzer created end when killed",
    "shutdown": "after kill-server, 'new' creates nothing and the server and programs exit",
}

VICTIMS = ("victim-a", "victim-b")
# Raw mode, no echo: keyboard bytes (^C, ^Z, ^S …) are data for 'cat', not signals. The
# history fills at once (seq) so that later output does not grow the server's memory.
VICTIM_SCRIPT = ("stty raw -echo opost; seq 300; (while :; do date; sleep 0.1; done) &"
                 " exec cat >/dev/null")
VICTIM_HISTORY = "100"
SAFE_PROGRAMS = frozenset({"sleep", "true", "cat", "/bin/sleep", "/bin/true", "/bin/cat",
                           "/usr/bin/sleep", "/usr/bin/true", "/usr/bin/cat"})
MAX_CELLS = 300 * 100  # larger screens legitimately cost megabytes: never asked for
SESSIONS_PER_BATCH = 12  # sessions a batch's valid 'new' requests may create (they live
#                          until the checks; more would make the memory peak a lottery)
HELLO = p.encode(p.Hello(version=p.VERSION, pid=1))
_HEADER = struct.Struct(">I")
# Client kinds the server handles after hello: requests and the attached session's stream
# (derived from the server, so new kinds count).
CLIENT_KINDS = frozenset({p.Request} | {cls for cls in p.KINDS.values()
                                        if hasattr(Connection, "on_" + cls.__name__)})

OP_TIMEOUT = 2.0  # seconds for any blocking socket operation of the fuzzer
SEND_DEADLINE = 3.0  # a group's writes stop after this (the server may rightly stop reading)
REFUSE_WAIT = 3.0  # seconds a refused connection may take to be hung up
SETTLE = 5.0  # seconds for fds to come back after a batch
OUTPUT_WAIT = 3.0  # seconds within which an attached client must see new output
KEEP_REPLY_BYTES = 8 << 20  # per connection, decode at most this much of the replies
# Classes of big frames run fewer connections at once: each may hold up to 1 MiB in the
# server, and what the allocator keeps of such peaks would blur the RSS invariant.
BIG = ("huge", "truncated")
BIG_GROUP = 4
VANISH_BURSTS = 4  # the first warms the allocator up: it is not counted (see vanish())
VANISH_CLIENTS = 32  # clients per burst that leave a big partial frame and go
VANISH_BYTES = 900_000  # of a MAX_FRAME frame, each
VANISH_ALLOWANCE = 8 << 20  # RSS growth from after the second burst to after the last
VANISH_TRIM_WAIT = 0.3  # seconds after a burst's closes: past the server's TRIM_DELAY (0.1)
VANISH_SETTLE = 2.0  # seconds a later burst's memory may take to come back
UNREAD_CLIENTS = 1  # clients that ask for replies and read none
UNREAD_REQUESTS = 60_000  # capture requests it sends (replies of 0.5-2 KiB: 30-120 MiB)
UNREAD_ALLOWANCE = 12 << 20  # server RSS growth allowed meanwhile (for all of them)
UNREAD_HOLD = 8.0  # seconds they stay connected, at most (less once the server is idle)
FAIR_GAP = 0.5  # seconds the attached client may go without output meanwhile (it gets a
#                 line every 0.1 s)


# --- frames -------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def pack(obj: Any) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def body_of(msg: p.Message) -> dict[str, Any]:
    """A message as the map its frame holds (what protocol.encode packs)."""
    payload = p.encode(msg)[4:]
    body: dict[str, Any] = msgpack.unpackb(payload, raw=False)
    return body


def scan(stream: bytes, with_fds: bool = False) -> tuple[list[p.Message], str, int]:
    """What the server makes of a byte stream: the requests it may act on (in order), and
    whether it must refuse the stream ("refused"), may keep it open ("open"), or cannot be
    told ("unknown": fds go along), and how many frame headers it holds."""
    acted: list[p.Message] = []
    pos = frames = 0
    greeted = False
    while len(stream) - pos >= 4:
        (size,) = _HEADER.unpack_from(stream, pos)
        frames += 1
        if size > p.MAX_FRAME:
            return acted, "refused", frames
        if len(stream) - pos - 4 < size:
            break
        try:
            msg = p.decode(stream[pos + 4: pos + 4 + size])
        except p.ProtocolError:
            return acted, "refused", frames
        pos += 4 + size
        if not greeted:
            if not isinstance(msg, p.Hello) or not set(msg.versions or [msg.version]) & set(
                    p.VERSIONS):
                return acted, "refused", frames
            greeted = True
            continue
        if type(msg) not in CLIENT_KINDS:
            return acted, "refused", frames
        if isinstance(msg, p.Request):
            if msg.command not in p.COMMANDS:
                continue  # answered 'unknown-command'; the connection stays open
            try:
                msg = p.parse_args(msg.command, msg.args)  # what the command acts on
            except p.ProtocolError:
                return acted, "refused", frames
        acted.append(msg)
        if getattr(msg, "terminal", False) and not with_fds:
            return acted, "refused", frames  # 'terminal' without an fd
    if len(stream) > pos:
        frames += len(stream) - pos < 4  # a partial header
    return acted, ("unknown" if with_fds else "open"), frames


# --- what must never be sent --------------------------------------------------------------


def _runnable(name: str, env: dict[str, str]) -> bool:
    try:
        if "/" in name:
            return not os.path.isabs(name) or os.path.exists(name)
        path = os.pathsep.join([env.get("PATH", ""), os.environ.get("PATH", ""), os.defpath])
        return shutil.which(name, path=path) is not None
    except (ValueError, OSError):  # a NUL byte: nothing can be run by that name
        return False


def could_hit(target: str, protected: dict[int, str]) -> bool:
    """Might ``target`` resolve to a protected session (by id, name, prefix or pattern)?"""
    digits = target[1:] if target.startswith("$") else target
    try:
        if digits.isdigit() and int(digits) in protected:
            return True
    except ValueError:  # '²' is a digit int() refuses
        pass
    return any(name == target or name.startswith(target) or fnmatch.fnmatchcase(name, target)
               for name in protected.values())


def unsafe(acted: Iterable[p.Message], protected: dict[int, str]) -> str:
    """Why a request the server would act on must not be sent ('' if it may)."""
    for msg in acted:
        if isinstance(msg, p.KillServer):
            return "kill-server"
        if isinstance(msg, p.KillSession) and could_hit(msg.target, protected):
            return "kills a protected session"
        cols, rows = getattr(msg, "cols", 1), getattr(msg, "rows", 1)
        if cols * rows > MAX_CELLS:
            return "a huge screen"
        if isinstance(msg, p.NewSession):
            program = msg.argv[0] if msg.argv else (msg.env.get("SHELL") or "/bin/sh")
            if program not in SAFE_PROGRAMS and _runnable(program, msg.env):
                return f"runs {program!r}"
    return ""


# --- probes -------------------------------------------------------------------------------


@dataclass
class Send:
    """One write on a connection."""

    data: bytes
    pause: float = 0.0  # seconds before it (splits frames across the server's reads)
    fds: tuple[str, ...] = ()  # passed along (SCM_RIGHTS): "null", "pipe", "socket", "pty"


@dataclass
class Plan:
    """One connection: what it sends, and how it ends."""

    label: str
    sends: list[Send]
    frames: int = 0
    mode: str = "read"  # read (replies until EOF or read_for), abrupt (close unread), linger
    read_for: float = 0.1
    expect: str = "open"  # refused | open | unknown (see scan)
    linger: str = ""  # for mode linger: what it is ("greeted" may stay; the rest must not)

    @property
    def stream(self) -> bytes:
        return b"".join(s.data for s in self.sends)


WEIRD_STRINGS = (
    "", "\x00", "a\x00b", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x1b]52;c;aGk=\x07", "\x9b31m",
    "\u202eevil", "é", "😀" * 8, "x" * 10_000, "%s%n%x", "../../etc/passwd", "*", "?", "[",
    "[!a]*", "$", "$-1", "-1", "²", "$²", "١", "0x1", " ", "a b", "a:b", "a.b", "\t", "\r\n",
    "victim-a\x00", "y" * 257, "z" * 101,
)
# Targets that resolve oddly: digits int() refuses ('²'), digits it takes ('١' is 1), globs,
# signs, spaces, prefixes of every name.
TRICKY_TARGETS = ("²", "$²", "¹²", "١", "$١", "٣٣", "𝟙", "$", "$$1", "-1", "$-1", "+1", " 1",
                  "1 ", "0x1", "1_0", "", "*", "?", "[", "[!v]*", "v", "victim-", "**", "\\",
                  "$0\x00")
BAD_VALUES: tuple[Any, ...] = (
    True, False, 0, -1, -(2**63), 2**64 - 1, 2**63, 2**31, 1.5, float("nan"), float("inf"),
    None, "", "x" * 10_000, b"bytes", [], [[[]]], {"a": 1}, {"t": "hello"},
    msgpack.ExtType(1, b"x"), [None], ["a", 1], "a\x00b", "\x1b[31m",
)
BAD_SIZES = (0, -1, -(2**31), p.MAX_COLS + 1, p.MAX_ROWS + 1, 2**31, 2**63 - 1, 2**64 - 1,
             True, 1.0)
BAD_ENVS: tuple[Any, ...] = (
    {"A=B": "c"}, {"=": ""}, {"": "x"}, {"A\x00": "b"}, {"PATH": "\x00"}, {"A": 1},
    {"A": None}, {1: "a"}, {"A": ["b"]}, {f"V{i}": "x" * 100 for i in range(2000)},
    ["A=B"], "A=B",
)
BAD_ARGVS: tuple[Any, ...] = (
    "sleep", [1], ["sleep", None], [["sleep"]], ["sle\x00ep"], ["x" * 10_000], [b"sleep"],
    {"0": "sleep"}, ["sleep"] * 5000,
)
KINDS_T: tuple[Any, ...] = (
    "nope", "HELLO", "hello ", "hello\x00", "", "x" * 10_000, 1, None, b"hello", ["hello"],
    {"t": "hello"}, True, "on_Hello", "Hello",
)
SERVER_MESSAGES: tuple[p.Message, ...] = (
    p.reply(1, p.Ok()), p.Error(message="x", id=1, code="no-session"),
    p.reply(1, p.Created(id=1, name="x")), p.reply(1, p.Attached(id=1, name="x")),
    p.Output(data=b"x"), p.Exited(id=1, name="x"), p.Detached(id=1, name="x"),
    p.reply(1, p.SessionList(sessions=[])), p.Chunk(id=1, data="x"),
    p.Hello(version=p.VERSION, pid=1, versions=[3], commands=["ls"]),
)
CLIENT_KIND_NAMES = ("hello", "new", "attach", "input", "written", "resize", "detach", "list",
                     "kill", "kill-server", "capture")


class Gen:
    """Makes the probes of one batch from its own random generator (so: from the seed)."""

    def __init__(self, rng: random.Random, batch: str, protected: dict[int, str]) -> None:
        self.rng = rng
        self.batch = batch
        self.protected = protected
        self._names = 0
        self.sessions_left = SESSIONS_PER_BATCH

    # --- values ---------------------------------------------------------------------------

    def chance(self, p_: float) -> bool:
        return self.rng.random() < p_

    def fresh_name(self) -> str:
        self._names += 1
        return f"fz{self.batch}-{self._names}"

    def size(self) -> tuple[int, int]:
        r = self.rng
        return r.choice([(1, 1), (80, 24), (2, 1), (300, 100), (132, 43),
                         (r.randint(1, 300), r.randint(1, 100))])

    def target(self) -> str | None:
        r = self.rng
        if r.random() < 0.3:
            return r.choice(TRICKY_TARGETS + WEIRD_STRINGS)
        return r.choice([None, *VICTIMS, "nope", "victim", "victim-?", "fz*", "0", "$1",
                         self.fresh_name()])

    def kill_target(self) -> str:
        """Only fuzz sessions or none (the guard checks again)."""
        return self.rng.choice(["zz-nope", f"fz{self.batch}-*", f"fz{self.batch}-1", "$999999",
                                "zz-" + self.rng.choice(WEIRD_STRINGS)])

    def data(self) -> bytes:
        r = self.rng
        n = r.choice([0, 1, 3, 16, 200, 4096, p.MAX_DATA])
        return r.randbytes(n) if r.random() < 0.8 else bytes([r.randrange(32)]) * max(n, 1)

    def argv(self) -> list[str]:
        return self.rng.choice([["sleep", "30"], ["true"], ["cat"], [], ["/nonexistent/x"],
                                ["sleep", "30", "\x1b[2J"]])

    def env(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin", "SHELL": "cat", "TERM": "xterm"}
        if self.chance(0.2):
            env["WEIRD"] = self.rng.choice(WEIRD_STRINGS)
        return env

    def message(self, kind: str) -> p.Message:
        r = self.rng
        cols, rows = self.size()
        if kind == "hello":
            return p.Hello(version=p.VERSION, pid=r.randrange(1, 1 << 22))
        if kind == "new":
            return p.NewSession(
                argv=self.argv(), cwd=r.choice(["/", "/nonexistent", "/tmp"]), env=self.env(),
                cols=cols, rows=rows, name=r.choice([self.fresh_name(), None, VICTIMS[0]]),
                history=r.choice([0, 50, p.MAX_HISTORY]), detached=self.chance(0.6),
            )
        if kind == "attach":
            return p.Attach(cols=cols, rows=rows, target=self.target())
        if kind == "input":
            return p.Input(data=self.data())
        if kind == "written":
            return p.Written(size=r.choice([0, 1, 4096, 2**63 - 1]))
        if kind == "resize":
            return p.Resize(cols=cols, rows=rows)
        if kind == "detach":
            return p.Detach()
        if kind == "list":
            return p.ListSessions()
        if kind == "kill":
            return p.KillSession(target=self.kill_target())
        if kind == "kill-server":
            return p.KillServer()
        if kind == "capture":
            ends = [None, 0, -1, 23, -100_000, 100_000, -(2**63), 2**63 - 1]
            return p.Capture(target=self.target(), start=r.choice(ends), end=r.choice(ends),
                             escapes=self.chance(0.5), join=self.chance(0.5))
        raise ValueError(kind)

    # --- shaping a connection -------------------------------------------------------------

    def chunks(self, stream: bytes) -> list[Send]:
        """The stream in one write, or cut at random points with short pauses between."""
        r = self.rng
        if len(stream) < 2 or r.random() < 0.5:
            return [Send(stream)]
        cuts = sorted(set(r.randrange(1, len(stream)) for _ in range(r.randint(1, 6))))
        pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        return [Send(piece, pause=r.choice([0.0, 0.0, 0.002, 0.01])) for piece in pieces]

    def plan(self, label: str, stream: bytes, abrupt: float = 0.25,
             sends: list[Send] | None = None) -> Plan:
        with_fds = bool(sends) and any(s.fds for s in sends or [])
        _acted, expect, frames = scan(stream, with_fds)
        mode = "abrupt" if self.chance(abrupt) else "read"
        return Plan(label, sends or self.chunks(stream), frames, mode,
                    read_for=self.rng.choice([0.02, 0.05, 0.2]), expect=expect)

    def safe(self, make: Callable[[], Plan]) -> Plan:
        """A plan from ``make`` that the guard lets through (deterministic retries)."""
        for _ in range(50):
            plan = make()
            acted, _expect, _frames = scan(plan.stream, with_fds=True)
            if not unsafe(acted, self.protected):
                return plan
        return Plan("fallback", [Send(HELLO + p.encode(p.ListSessions()))], 2)

    def hello(self, p_: float = 0.9) -> bytes:
        return p.encode(self.message("hello")) if self.chance(p_) else b""

    # --- the classes ------------------------------------------------------------------------

    def random(self) -> Plan:
        r = self.rng
        n = r.choice([1, 3, 4, 5, 64, 1000, 8192])
        plan = self.plan("random bytes", self.hello(0.4) + r.randbytes(n), abrupt=0.4)
        plan.read_for = r.choice([0.01, 0.05])
        return plan

    def truncated(self) -> Plan:
        r = self.rng
        if r.random() < 0.5:  # a big frame, partly there: its buffer must go with the client
            size = r.choice([p.MAX_FRAME, p.MAX_FRAME - 1, 1 << 19, 70_000])
            body = _HEADER.pack(size) + r.randbytes(r.choice([0, 4096, size // 2, size - 1,
                                                              size - 1]))
        else:
            whole = p.encode(self.message(r.choice(CLIENT_KIND_NAMES[:-2] + ("capture",))))
            body = whole[: r.randrange(1, len(whole))]
        plan = self.plan("truncated frame", self.hello(0.7) + body, abrupt=0.6)
        plan.read_for = r.choice([0.01, 0.05])
        return plan

    def huge(self) -> Plan:
        r = self.rng
        choice = r.choice([0, 0, 0, 1, 2, 3])
        if choice == 0:  # a header past the limit, refused before any buffering
            size = r.choice([p.MAX_FRAME + 1, 1 << 24, 2**31, 2**31 - 1, 2**32 - 1,
                             r.randrange(p.MAX_FRAME + 1, 2**32)])
            body = _HEADER.pack(size) + r.randbytes(r.choice([0, 16, 60_000]))
        elif choice == 1:  # exactly the limit, garbage inside
            body = frame(b"\xc1" + r.randbytes(p.MAX_FRAME - 1))
        elif choice == 2:  # exactly the limit: a valid frame, an input as large as it goes
            data = r.randbytes(p.MAX_FRAME - 16)
            payload = pack({"t": "input", "data": data})
            body = frame(pack({"t": "input", "data": data[: len(data) - (len(payload)
                                                                        - p.MAX_FRAME)]}))
        else:  # just past the limit
            body = frame(pack({"t": "list", "pad": b"x" * (p.MAX_FRAME - 13)}))
        return self.plan("huge frame", self.hello(0.8) + body, abrupt=0.3)

    def payload(self) -> Plan:
        r = self.rng
        valid = pack({"t": "hello", "version": p.VERSION})
        payloads = [
            r.randbytes(r.choice([0, 1, 7, 100])), b"\xc1", valid[:-1], valid + b"\x00",
            b"\x81\xa1t\xa2\xff\xfe",  # a str that is not UTF-8
            b"\xdf\xff\xff\xff\xff",  # a map that claims 4 billion entries
            b"\xdd\x7f\xff\xff\xff",  # an array as large
            b"\x91" * 3000 + b"\xc0",  # nested 3000 deep
            pack([1, 2, 3]), pack(7), pack("hello"), pack(b"hello"), pack(None), pack(1.5),
            pack({}), pack({"version": p.VERSION}), pack({"T": "hello"}),
            pack({1: 2, "t": "hello"}), pack({b"t": "hello"}),
            pack({"t": r.choice(KINDS_T)}), pack({"t": r.choice(KINDS_T), "version": 2}),
            pack(msgpack.ExtType(5, b"hello")),
            b"\x82\xa1t\xa4list\xa1x\xd6\xff\0\0\0\0",  # a msgpack timestamp
        ]
        bad = frame(r.choice(payloads))
        if r.random() < 0.2:  # a server-to-client kind from a client
            bad = p.encode(r.choice(SERVER_MESSAGES))
        return self.plan("bad payload", self.hello(0.7) + bad)

    def fields(self) -> Plan:
        r = self.rng
        kind = r.choice(CLIENT_KIND_NAMES)
        body = body_of(self.message(kind))
        # A request's fields are mostly its arguments (the envelope's id and command too).
        inner = body.get("t") == "request" and r.random() < 0.8
        fields = body["args"] if inner else body
        for _ in range(r.randint(1, 3)):
            how = r.randrange(10)
            names = [k for k in fields if k != "t" or inner]
            if how == 0 or not names:
                body["t"] = r.choice(KINDS_T)
            elif how == 1:
                del fields[r.choice(names)]
            elif how == 2:
                fields[r.choice(["zz", "T", "", "t\x00"])] = r.choice(BAD_VALUES)
            else:
                name = r.choice(names)
                pool: tuple[Any, ...] = BAD_VALUES
                if name in ("cols", "rows", "size", "version", "history", "start", "end", "pid"):
                    pool = BAD_SIZES + BAD_VALUES
                elif name == "env":
                    pool = BAD_ENVS
                elif name == "argv":
                    pool = BAD_ARGVS
                elif name in ("target", "name", "cwd", "command"):
                    pool = WEIRD_STRINGS + BAD_VALUES
                fields[name] = r.choice(pool)
        try:
            payload = pack(body)
        except (ValueError, TypeError, OverflowError):
            payload = pack({"t": kind, "zz": 1})
        before = b"".join(p.encode(self.message(r.choice(["list", "resize", "input", "detach"])))
                          for _ in range(r.randrange(3)))
        return self.plan(f"bad fields ({kind})", self.hello(0.9) + before + frame(payload))

    def mutate(self) -> Plan:
        r = self.rng
        stream = bytearray(self.hello(0.9))
        for _ in range(r.randint(1, 4)):
            msg = (r.choice(SERVER_MESSAGES) if r.random() < 0.05
                   else self.message(r.choice(CLIENT_KIND_NAMES)))
            stream += p.encode(msg)
        for _ in range(r.randint(1, 4)):
            if not stream:
                stream += r.randbytes(4)
            at = r.randrange(len(stream))
            how = r.randrange(7)
            if how == 0:
                stream[at] ^= 1 << r.randrange(8)
            elif how == 1:
                stream[at] = r.randrange(256)
            elif how == 2:
                stream[at:at] = r.randbytes(r.randint(1, 8))
            elif how == 3:
                del stream[at: at + r.randint(1, 8)]
            elif how == 4:
                stream[at:at] = stream[at: at + r.randint(1, 32)]
            elif how == 5:
                value = r.choice([0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
                stream[at: at + 4] = value.to_bytes(4, "big")
            else:
                del stream[at:]
        return self.plan("mutated frames", bytes(stream))

    def sequence(self, fds: bool = False) -> Plan:
        """Valid frames in wrong orders; with ``fds``, some carry file descriptors."""
        r = self.rng
        mine: list[str] = []
        msgs: list[p.Message] = []
        for _ in range(r.randint(3, 16)):
            act = r.randrange(13)
            # modest sizes: every attach sends a full redraw, which clients that do not read
            # leave queued; large ones would make the server's memory peaks a lottery
            cols, rows = r.choice([(80, 24), (1, 1), (2, 1), (40, 10), (100, 30)])
            if act in (0, 1):  # attach, maybe twice, maybe to what we just made
                target = r.choice([*VICTIMS, None, "nope", *(mine[-1:] or ["fz*"]),
                                   r.choice(TRICKY_TARGETS)])
                msg: p.Message = p.Attach(cols=cols, rows=rows, target=target)
                msgs += [msg] * r.choice([1, 1, 2])
            elif act == 2:
                msgs.append(p.Resize(cols=cols, rows=rows))
            elif act == 3:  # small: what 'cat' echoes goes to clients that may not read
                msgs.append(p.Input(data=r.randbytes(r.choice([0, 1, 16, 200]))))
            elif act == 4:
                msgs.append(p.Written(size=r.choice([0, 1, 1 << 20, 2**63 - 1])))
            elif act == 5:
                msgs += [p.Detach()] * r.choice([1, 2, 3])
            elif act == 6:
                msgs.append(p.ListSessions())
            elif act == 7:
                msgs.append(self.message("capture"))
            elif act in (8, 9) and self.sessions_left > 0:  # small, without history
                self.sessions_left -= 1
                name = self.fresh_name()
                mine.append(name)
                cols, rows = r.choice([(80, 24), (1, 1), (40, 10), (2, 1)])
                msgs.append(p.NewSession(argv=r.choice([["sleep", "5"], ["cat"], ["true"]]),
                                         cwd="/", env=self.env(), cols=cols, rows=rows,
                                         name=name, history=0, detached=act == 8))
                if r.random() < 0.4:  # killed at once: its program may be ending already
                    msgs.append(p.KillSession(target=name))
            elif act == 10 and mine:
                msgs.append(p.KillSession(target=r.choice(mine)))
            elif act == 10:
                msgs.append(p.KillSession(target="zz-nope"))
            elif act == 11:
                msgs.append(p.Capture(target=r.choice([*VICTIMS, *mine[-1:],
                                                       r.choice(TRICKY_TARGETS)])))
            else:
                msgs.append(p.Resize(cols=cols, rows=rows))
                msgs.append(p.Input(data=b"\x03\x1a\x13\x11\x04\x1c"))
        if fds:
            for i, msg in enumerate(msgs):
                if isinstance(msg, p.Attach | p.NewSession) and r.random() < 0.6:
                    msgs[i] = msg._replace(terminal=True, detach_keys=r.choice(
                        [b"", b"\x10\x11", b"\x00" * 16]))
        ending = r.randrange(10)
        if ending == 0:
            msgs.append(p.Hello(version=p.VERSION))  # a second hello: refused
        frames = [HELLO] + [p.encode(m) for m in msgs]
        if ending == 1:
            frames[-1] = frames[-1][: len(frames[-1]) // 2]  # cut mid-frame
        sends: list[Send] = []
        for f in frames:
            if sends and r.random() < 0.5:
                sends[-1].data += f
            else:
                sends.append(Send(f, pause=r.choice([0.0, 0.0, 0.001, 0.01])))
        if fds:
            kinds = ("null", "pipe", "socket", "pty")
            for send in sends:
                if r.random() < 0.4:
                    send.fds = tuple(r.choice(kinds) for _ in range(r.choice([1, 1, 1, 2, 5])))
        plan = self.plan("sequence with fds" if fds else "sequence", b"".join(frames),
                         abrupt=0.2, sends=sends)
        plan.read_for = r.choice([0.02, 0.1, 0.3])
        return plan

    def fds(self) -> Plan:
        return self.sequence(fds=True)

    def linger(self) -> Plan:
        r = self.rng
        kind = r.choice(["silent", "partial", "hello-partial", "big-partial", "greeted"])
        list_frame = p.encode(p.ListSessions())
        stream = {
            "silent": b"",
            "partial": HELLO[: r.randrange(1, len(HELLO))],
            "hello-partial": HELLO + list_frame[: r.randrange(1, len(list_frame))],
            "big-partial": HELLO + _HEADER.pack(p.MAX_FRAME) + r.randbytes(1 << 16),
            "greeted": HELLO,
        }[kind]
        return Plan(f"linger ({kind})", [Send(stream)] if stream else [],
                    scan(stream)[2], mode="linger", linger=kind)


# --- talking to the server ----------------------------------------------------------------


def connect(path: str, timeout: float = OP_TIMEOUT) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def _make_fds(kinds: tuple[str, ...]) -> tuple[list[int], list[int], list[int]]:
    """(fds to pass, fds to close once passed, fds to close with the connection)."""
    passed: list[int] = []
    after: list[int] = []
    keep: list[int] = []
    for kind in kinds:
        if kind == "null":
            fd = os.open(os.devnull, os.O_RDWR)
            passed.append(fd)
            after.append(fd)
        elif kind == "pipe":
            rfd, wfd = os.pipe()
            passed.append(rfd)
            after += [rfd, wfd]
        elif kind == "socket":
            a, b = socket.socketpair()
            passed.append(a.detach())
            after.append(passed[-1])
            keep.append(b.detach())
        else:  # a pty: the server may take it as the client's terminal
            master, slave = os.openpty()
            passed.append(slave)
            after.append(slave)
            keep.append(master)
    return passed, after, keep


@dataclass
class Stats:
    connections: int = 0
    frames: int = 0
    bytes_sent: int = 0
    replies: int = 0
    error_replies: int = 0
    hangups: int = 0
    resets: int = 0
    stalled: int = 0
    fds_passed: int = 0

    def add(self, other: Stats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Trouble:
    """What one batch's connections saw that breaks an invariant."""

    connect: list[str] = field(default_factory=list)
    bad_replies: list[str] = field(default_factory=list)
    unrefused: list[str] = field(default_factory=list)


class Live:
    """A connection being driven: non-blocking writes in order, replies decoded."""

    def __init__(self, plan: Plan, sock: socket.socket, now: float, stats: Stats) -> None:
        self.plan = plan
        self.sock = sock
        self.stats = stats
        sock.setblocking(False)
        self.queue = list(plan.sends)
        self.current: Send | None = None
        self.next_at = now + (self.queue[0].pause if self.queue else 0.0)
        self.sent_all = not self.queue
        self.kept: list[int] = []
        self.decoder = p.FrameDecoder()
        self.received = 0
        self.got_error = False
        self.bad: str = ""
        self.eof = False
        self.reset = False
        self.read_until: float | None = None
        self.opened = now

    def pump_send(self, now: float) -> None:
        while not self.sent_all:
            if self.current is None:
                if now < self.next_at:
                    return
                self.current = Send(self.queue[0].data, 0.0, self.queue[0].fds)
                self.queue.pop(0)
            send = self.current
            try:
                if send.fds:
                    passed, after, keep = _make_fds(send.fds)
                    try:
                        rights = array.array("i", passed).tobytes()
                        n = self.sock.sendmsg([send.data],
                                              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
                    except BaseException:
                        for fd in keep:
                            os.close(fd)
                        raise
                    finally:
                        for fd in after:
                            os.close(fd)
                    self.kept += keep
                    self.stats.fds_passed += len(passed)
                    send.fds = ()
                else:
                    n = self.sock.send(send.data)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the server hung up: nothing more goes
                self.sent_all = True
                return
            self.stats.bytes_sent += n
            send.data = send.data[n:]
            if not send.data:
                self.current = None
                if self.queue:
                    self.next_at = now + self.queue[0].pause
                else:
                    self.sent_all = True

    def pump_read(self) -> None:
        while not self.eof:
            try:
                data = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.eof = self.reset = True
                return
            if not data:
                self.eof = True
                return
            self.received += len(data)
            if self.bad or self.received > KEEP_REPLY_BYTES:
                continue
            try:
                for payload in self.decoder.feed(data):
                    msg = p.decode(payload)
                    self.stats.replies += 1
                    if isinstance(msg, p.Error):
                        self.stats.error_replies += 1
                        self.got_error = True
                        if msg.message.startswith("internal error"):
                            self.bad = f"an 'internal error' reply: {msg.message[:200]!r}"
            except p.ProtocolError as e:
                self.bad = f"an undecodable server frame: {e}"

    def close(self) -> None:
        self.sock.close()
        for fd in self.kept:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.kept.clear()


@dataclass
class Held:
    """A lingering connection, kept open across batches."""

    sock: socket.socket
    kind: str
    opened: float
    batch: str
    cls: str
    hung_up: float | None = None


def drive(path: str, plans: list[Plan], group: int, stats: Stats, trouble: Trouble,
          held: list[Held], batch: str, cls: str, expect_refusals: bool = True,
          deadline: float = float("inf")) -> None:
    """Run the plans, ``group`` connections at a time (no new group after ``deadline``)."""
    for start in range(0, len(plans), group):
        if time.monotonic() > deadline:
            return
        _drive_group(path, plans[start: start + group], stats, trouble, held, batch, cls,
                     expect_refusals)


def _drive_group(path: str, plans: list[Plan], stats: Stats, trouble: Trouble,
                 held: list[Held], batch: str, cls: str, expect_refusals: bool) -> None:
    lives: list[Live] = []
    sel = selectors.DefaultSelector()
    try:
        for plan in plans:
            try:
                sock = connect(path)
            except OSError as e:
                trouble.connect.append(f"{plan.label}: connect failed: {e}")
                continue
            stats.connections += 1
            stats.frames += plan.frames
            live = Live(plan, sock, time.monotonic(), stats)
            lives.append(live)
            if plan.mode == "read":
                sel.register(sock, selectors.EVENT_READ, live)
        send_deadline = time.monotonic() + SEND_DEADLINE
        active = list(lives)
        while active:
            now = time.monotonic()
            for live in list(active):
                live.pump_send(now)
                if not live.sent_all and now > send_deadline:
                    live.sent_all = True
                    stats.stalled += 1
                if not live.sent_all:
                    continue
                if live.plan.mode == "linger":
                    held.append(Held(live.sock, live.plan.linger, now, batch, cls))
                    active.remove(live)
                    continue
                if live.plan.mode == "read" and live.read_until is None:
                    wait = REFUSE_WAIT if live.plan.expect == "refused" else live.plan.read_for
                    live.read_until = now + wait
                if live.plan.mode == "abrupt" or live.eof or (
                        live.read_until is not None and now >= live.read_until):
                    _finish(live, sel, stats, trouble, expect_refusals)
                    active.remove(live)
            if not active:
                break
            waits = [0.05] + [max(0.0, live.read_until - now) for live in active
                              if live.read_until is not None]
            if any(not live.sent_all for live in active):
                waits.append(0.002)
            for key, _mask in sel.select(min(waits)):
                key.data.pump_read()
    finally:
        for live in lives:
            if live.plan.mode != "linger" and live.sock.fileno() >= 0:
                live.close()
        sel.close()


def _finish(live: Live, sel: selectors.BaseSelector, stats: Stats, trouble: Trouble,
            expect_refusals: bool) -> None:
    if live.plan.mode == "read":
        sel.unregister(live.sock)
        live.pump_read()
    stats.hangups += live.eof
    stats.resets += live.reset
    what = f"{live.plan.label}, stream {live.plan.stream[:48]!r}"
    if live.bad:
        trouble.bad_replies.append(f"{live.bad} ({what})")
    if expect_refusals and live.plan.mode == "read" and live.plan.expect == "refused":
        if not live.eof:
            trouble.unrefused.append(f"not hung up {REFUSE_WAIT:.0f} s after a refused frame"
                                     f" ({what})")
        elif not live.got_error and not live.reset:
            trouble.unrefused.append(f"hung up without an error frame ({what})")
    live.close()


def request(path: str, *msgs: p.Message, replies: int = 1,
            timeout: float = 3.0) -> list[p.Message]:
    """hello + ``msgs`` (command arguments records, or stream frames) on a fresh connection;
    the first ``replies`` answers after hello: results as their records (a streamed one put
    together), errors as ``Error``, anything else as it came."""
    sock = connect(path, timeout)
    try:
        sock.sendall(HELLO + b"".join(p.encode(m, rid=i + 1) for i, m in enumerate(msgs)))
        decoder = p.FrameDecoder()
        got: list[p.Message] = []
        chunks: dict[int, list[str]] = collections.defaultdict(list)
        greeted = False
        deadline = time.monotonic() + timeout
        while len(got) < replies:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(1 << 16)
            if not data:
                break
            for msg in decoder.messages(data):
                if not greeted:
                    greeted = True
                elif isinstance(msg, p.Chunk):
                    chunks[msg.id].append(msg.data)
                elif isinstance(msg, p.Reply) and 1 <= msg.id <= len(msgs):
                    got.append(p.parse_result(p.command_of(msgs[msg.id - 1]), msg.result,
                                              chunks.pop(msg.id, None)))
                else:
                    got.append(msg)
        return got
    finally:
        sock.close()


class Watcher:
    """A raw frames client attached to a session, reading its output."""

    def __init__(self, path: str, target: str) -> None:
        self.sock = connect(path, 3.0)
        self.sock.sendall(HELLO + p.encode(p.Attach(cols=80, rows=24, target=target)))
        self.decoder = p.FrameDecoder()
        self.output = 0
        self.ended = ""
        self.sock.setblocking(False)
        deadline = time.monotonic() + 5.0
        while not self.output and not self.ended and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.01)
        if not self.output:
            raise RuntimeError(f"the watcher got no output from {target}: {self.ended}")

    def poll(self) -> None:
        while not self.ended:
            try:
                data = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.ended = f"connection lost: {e}"
                return
            if not data:
                self.ended = "the server hung up"
                return
            try:
                messages = self.decoder.messages(data)
            except p.ProtocolError as e:
                self.ended = f"an undecodable frame: {e}"
                return
            for msg in messages:
                if isinstance(msg, p.Output):
                    self.output += len(msg.data)
                elif isinstance(msg, p.Exited | p.Detached | p.Error):
                    self.ended = f"got {msg!r:.200}"

    def close(self) -> None:
        self.sock.close()


# --- the server from outside --------------------------------------------------------------


# The readings below give 0 for a server that is gone (the 'alive' check says so).


def rss(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def fd_summary(pid: int) -> str:
    """The server's fds by kind: 'socket 12, pipe 2, /dev/ptmx 2, ...'."""
    kinds: collections.Counter[str] = collections.Counter()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                kinds[target.split(":[")[0] if ":[" in target else
                      ("/dev/pts/N" if target.startswith("/dev/pts/") else target)] += 1
    return ", ".join(f"{k} {n}" for k, n in kinds.most_common())


def unread_bytes(sock: socket.socket) -> int:
    """Bytes we sent on ``sock`` that the peer has not read yet (SIOCOUTQ)."""
    try:
        out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", out)[0])


def all_read(socks: list[socket.socket]) -> bool:
    return not any(map(unread_bytes, socks))


def fds_at_most(pid: int, count: int) -> bool:
    return fd_count(pid) <= count



def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


# --- the fuzzer ---------------------------------------------------------------------------


@dataclass
class Settings:
    seed: int = 0
    seconds: float = 60.0
    batches: int | None = None  # stop after this many batches (whatever the time)
    only_batch: int | None = None  # run the warm-up and this one batch
    frames: int = 300  # frames per batch
    classes: tuple[str, ...] = CLASSES
    # What the allocator keeps of a peak (after 'unread', 'huge') with no leak: up to 5.4 MiB
    # over 3 runs of 60 s on a server without the known leaks. Leaks of closed connections
    # and unread replies have their own, sharper checks ('vanish', 'unread').
    rss_slack: int = 8 << 20
    linger_limit: float = 10.0
    group: int = 16  # connections driven at once
    warmup_frames: int | None = None  # per class (None: as many as a batch, so that the
    #                                    server's memory high-water marks are in the baseline)
    shutdown: bool = True  # end with the kill-server probe
    quiet: bool = False
    budget: float | None = None  # seconds after which the run stops, failing (a server so
    #                              slow to answer or hang up that the run would drag on)


@dataclass
class Failure:
    seed: int
    batch: str
    cls: str
    invariant: str
    detail: str
    frames: int = 300  # per batch in the run (a batch's probes depend on it)

    @property
    def replay(self) -> str:
        """The command that runs this batch again (after the warm-up of its class)."""
        command = f"python bench/fuzz.py --seed {self.seed}"
        if self.frames != Settings.frames:
            command += f" --frames {self.frames}"
        if self.batch.isdigit():
            return command + f" --classes {self.cls} --only-batch {self.batch}"
        if self.batch == "warmup" and self.cls in CLASSES:
            return command + f" --classes {self.cls} --batches 0"
        return command + " --batches 0"

    def __str__(self) -> str:
        return (f"seed {self.seed} batch {self.batch} ({self.cls}): {self.invariant}:"
                f" {self.detail}\n    replay: {self.replay}")


@dataclass
class Report:
    seed: int
    batches: int = 0
    stats: Stats = field(default_factory=Stats)
    per_class: dict[str, Stats] = field(default_factory=dict)
    rss_start: int = 0
    rss_end: int = 0
    rss_peak: int = 0
    rss_warm_high: int = 0
    fd_start: int = 0
    fd_end: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unread_growth: int = 0  # largest RSS growth while clients read no replies
    unread_gap: float = 0.0  # longest the attached client went without output meanwhile
    fdlimit_cpu: float = 0.0  # most CPU the server used at its fd limit
    server_gone: bool = False  # the run ended because the server did

    def summary(self) -> str:
        s = self.stats
        mib = 1 << 20
        piped = self.per_class["unread"].frames if "unread" in self.per_class else 0
        end_rss = "server gone" if self.server_gone else f"{self.rss_end / mib:.1f} MiB"
        end_fds = "server gone" if self.server_gone else str(self.fd_end)
        lines = [
            f"seed {self.seed}: {self.batches} batches in {self.seconds:.0f} s,"
            f" {s.frames} frames ({piped} of them pipelined by 'unread'),"
            f" {s.connections} connections,"
            f" {s.bytes_sent / mib:.1f} MiB sent, {s.fds_passed} fds passed",
            f"  replies {s.replies} (errors {s.error_replies}), hang-ups {s.hangups}"
            f" (resets {s.resets}), writes stalled {s.stalled}",
            f"  server RSS {self.rss_start / mib:.1f} MiB after warm-up (its high"
            f" {self.rss_warm_high / mib:.1f}), {end_rss} at the end (highest after a batch"
            f" {self.rss_peak / mib:.1f}); fds {self.fd_start} after warm-up, {end_fds} at the"
            " end",
            "  per class: " + ", ".join(f"{c} {st.frames} frames/{st.connections} conns"
                                        for c, st in self.per_class.items()),
        ]
        if "unread" in self.per_class:
            lines.append(f"  unread: RSS grew at most {self.unread_growth / mib:.1f} MiB, longest"
                         f" output gap {self.unread_gap:.2f} s")
        if "fdlimit" in self.per_class:
            lines.append(f"  fdlimit: at most {self.fdlimit_cpu:.0%} CPU at the fd limit")
        lines += [f"  note: {n}" for n in self.notes]
        if self.failures:
            lines.append(f"  {len(self.failures)} invariant failure(s):")
            lines += [f"  FAIL {f}" for f in self.failures]
        else:
            lines.append("  every invariant held")
        return "\n".join(lines)


class Fatal(Exception):
    """An invariant failed in a way that ends the run (the server or a session is gone)."""


class Fuzzer:
    def __init__(self, mux: Mux, settings: Settings) -> None:
        self.mux = mux
        self.settings = settings
        self.report = Report(settings.seed)
        self.pid = 0
        self.protected: dict[int, str] = {}
        self.victim_pids: dict[str, int] = {}
        self.watcher: Watcher | None = None
        self.term: Terminal | None = None
        self.held: list[Held] = []
        self.fd_base = 0
        self.rss_base = 0
        self._log_offset = 0
        self._log_inode = 0
        self._log_unchecked: list[str] = []
        self._baselined = False
        self._warm_rss: list[int] = []
        self._checks = 0
        self.deadline = float("inf")

    # --- output -------------------------------------------------------------------------

    def say(self, text: str) -> None:
        if not self.settings.quiet:
            print(text, flush=True)

    def fail(self, batch: str, cls: str, invariant: str, detail: str,
             fatal: bool = False) -> None:
        failure = Failure(self.settings.seed, batch, cls, invariant, detail,
                          self.settings.frames)
        self.report.failures.append(failure)
        print(f"INVARIANT FAILED: {failure}", file=sys.stderr, flush=True)
        if fatal:
            raise Fatal(str(failure))

    # --- the world ------------------------------------------------------------------------

    def start(self) -> None:
        for name in VICTIMS:
            self.mux.run("new", "-d", "-s", name, "--history", VICTIM_HISTORY, "--",
                         "sh", "-c", VICTIM_SCRIPT, check=True)
        pid = self.mux.server_pid()
        if not pid:
            raise RuntimeError("no server pid in the log")
        self.pid = pid
        (listing,) = request(self.mux.socket, p.ListSessions())
        assert isinstance(listing, p.SessionList), listing
        self.protected = {s.id: s.name for s in listing.sessions}
        self.victim_pids = {s.name: s.pid for s in listing.sessions}

        def history_full(name: str) -> bool:  # and the loop running
            return "300" in self.mux.run("capture", "-t", name, "-S", "-200").stdout

        for name in VICTIMS:
            wait_for(functools.partial(history_full, name), 5.0, 0.05)
        self.watcher = Watcher(self.mux.socket, VICTIMS[0])
        self.term = self.mux.spawn("attach", "-t", VICTIMS[1])
        wait_for(lambda: len(self.term.raw) > 0 if self.term else False, 5.0)

    def stop(self) -> None:
        for h in self.held:
            h.sock.close()
        self.held.clear()
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    # --- batches --------------------------------------------------------------------------

    def plans(self, gen: Gen, cls: str, frames: int) -> list[Plan]:
        make: Callable[[], Plan] = getattr(gen, cls)
        plans: list[Plan] = []
        total = 0
        if cls == "linger":
            for _ in range(6):
                plans.append(gen.safe(make))
            return plans
        while total < frames:
            plan = gen.safe(make)
            plans.append(plan)
            total += max(plan.frames, 1)
        return plans

    def run_batch(self, batch: str, cls: str, frames: int) -> Stats:
        rng = random.Random(f"{self.settings.seed}/{batch}/{cls}")
        gen = Gen(rng, batch, self.protected)
        stats = Stats()
        trouble = Trouble()
        if cls == "fdlimit":
            self.fd_limit(batch, stats)
        elif cls == "vanish":
            self.vanish(batch, stats, rng)
        elif cls == "unread":
            self.unread(batch, stats)
        else:
            plans = self.plans(gen, cls, frames)
            group = min(self.settings.group, BIG_GROUP) if cls in BIG else self.settings.group
            drive(self.mux.socket, plans, group, stats, trouble, self.held, batch, cls,
                  deadline=self.deadline)
        self.report.stats.add(stats)
        self.report.per_class.setdefault(cls, Stats()).add(stats)
        if trouble.connect:
            self.fail(batch, cls, "alive", f"{len(trouble.connect)} connection(s) refused:"
                      f" {trouble.connect[0]}")
        if trouble.bad_replies:
            self.fail(batch, cls, "replies", f"{len(trouble.bad_replies)} connection(s):"
                      f" {trouble.bad_replies[0]}")
        if trouble.unrefused:
            self.fail(batch, cls, "refusal", f"{len(trouble.unrefused)} connection(s):"
                      f" {trouble.unrefused[0]}")
        return stats

    def vanish(self, batch: str, stats: Stats, rng: random.Random) -> None:
        """Clients that leave most of a 1 MiB frame and vanish, in bursts. What the server
        buffered for them must be freed when they go, not when a garbage collection comes
        round: freed, the next burst reuses it (the allocator may keep it, so RSS need not
        fall); still held, the next burst needs as much again and RSS climbs."""
        pid, path = self.pid, self.mux.socket
        after: list[int] = []
        for _ in range(VANISH_BURSTS):
            fds = fd_count(pid)
            socks: list[socket.socket] = []
            try:
                for _ in range(VANISH_CLIENTS):
                    try:
                        sock = connect(path)
                        sock.sendall(HELLO + _HEADER.pack(p.MAX_FRAME)
                                     + rng.randbytes(VANISH_BYTES))
                    except OSError:
                        break  # the 'alive' check will tell
                    socks.append(sock)
                    stats.connections += 1
                    stats.frames += 2
                    stats.bytes_sent += len(HELLO) + 4 + VANISH_BYTES
                # the server has read it all (nothing left unread in our sockets)
                wait_for(functools.partial(all_read, socks), SETTLE, 0.01)
            finally:
                for sock in socks:
                    sock.close()
            wait_for(functools.partial(fds_at_most, pid, fds), SETTLE, 0.02)  # closes seen
            # The server gives freed buffers back a moment after the closes (trim_soon):
            # the first two bursts set the baseline once that moment has passed; a later
            # one may take until VANISH_SETTLE to come back within the allowance.
            if len(after) < 2:
                time.sleep(VANISH_TRIM_WAIT)
            else:
                wait_for(lambda: rss(pid) - after[1] <= VANISH_ALLOWANCE, VANISH_SETTLE, 0.05)
            after.append(rss(pid))
        # After the first burst glibc raises its mmap threshold (a freed mmapped chunk sets
        # it), so the second burst's buffers come from the heap, which keeps its pages:
        # RSS may step up once. Buffers still held would make it climb at every burst.
        if after[-1] - after[1] > VANISH_ALLOWANCE:
            self.fail(batch, "vanish", "vanish",
                      f"{VANISH_BURSTS} bursts of {VANISH_CLIENTS} clients that each left"
                      f" {VANISH_BYTES} bytes of a partial frame and vanished: the server's"
                      f" RSS after each burst was {', '.join(f'{a / 2**20:.1f}' for a in after)}"
                      f" MiB (grew {(after[-1] - after[1]) / 2**20:.1f} MiB after the second,"
                      f" allowed {VANISH_ALLOWANCE >> 20}): what they left is not freed")

    def unread(self, batch: str, stats: Stats) -> None:
        """Clients that ask for a lot and read nothing: what the server holds for them must
        be bounded (it may stop reading their requests)."""
        pid, path = self.pid, self.mux.socket
        ask = p.Capture(target=VICTIMS[0], start=-100, escapes=True)
        try:
            size = len(p.encode(p.reply(1, request(path, ask)[0])))
        except (OSError, IndexError, p.ProtocolError):
            size = 0  # the 'alive' check will say what went wrong
        count = UNREAD_REQUESTS
        stream = HELLO + p.encode(ask) * count
        watcher = self.watcher
        assert watcher is not None
        watcher.poll()
        seen, last_output, gap = watcher.output, time.monotonic(), 0.0
        before = peak = rss(pid)
        socks: list[socket.socket] = []
        rests: list[bytes] = []

        def sample() -> None:
            nonlocal peak, seen, last_output, gap
            peak = max(peak, rss(pid))
            watcher.poll()
            now = time.monotonic()
            if watcher.output > seen:
                seen, last_output = watcher.output, now
            gap = max(gap, now - last_output)

        try:
            for _ in range(UNREAD_CLIENTS):
                sock = connect(path)
                sock.setblocking(False)
                socks.append(sock)
                rests.append(stream)
                stats.connections += 1
            # Send as much as the server takes, until it is idle and takes no more (it has
            # stopped reading: bounded) or has taken it all, or the memory is past bounds.
            start = time.monotonic()
            cpu, at, moved = cpu_seconds(pid), start, False
            while time.monotonic() < start + UNREAD_HOLD and peak - before <= UNREAD_ALLOWANCE:
                for i, sock in enumerate(socks):
                    try:
                        n = sock.send(rests[i][: 1 << 16]) if rests[i] else 0
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        n = len(rests[i])
                    stats.bytes_sent += n
                    rests[i] = rests[i][n:]
                    moved = moved or n > 0
                sample()
                time.sleep(0.005)
                if time.monotonic() - at >= 0.2:
                    used = (cpu_seconds(pid) - cpu) / (time.monotonic() - at)
                    if used < 0.05 and not moved:
                        break
                    cpu, at, moved = cpu_seconds(pid), time.monotonic(), False
        finally:
            for sock in socks:
                sock.close()
        taken = sum(len(stream) - len(rest) for rest in rests)
        stats.frames += UNREAD_CLIENTS + max(0, taken - len(HELLO) * UNREAD_CLIENTS) \
            // len(p.encode(ask))  # the frames the server took
        if peak - before > UNREAD_ALLOWANCE:
            self.fail(batch, "unread", "unread",
                      f"{UNREAD_CLIENTS} client(s) asked for ~{count * size / 2**20:.0f} MiB of"
                      f" replies each ({taken} of {len(stream)} bytes of requests taken) and"
                      f" read none: the server's RSS grew past the {UNREAD_ALLOWANCE >> 20} MiB"
                      f" allowed ({(peak - before) / 2**20:.1f} MiB when the probe stopped)")
        r = self.report
        r.unread_growth = max(r.unread_growth, peak - before)
        r.unread_gap = max(r.unread_gap, gap)
        if gap > FAIR_GAP:
            self.fail(batch, "unread", "fair",
                      f"while {UNREAD_CLIENTS} client(s) pipelined {count} capture requests each"
                      f" ({taken} bytes taken), the attached raw client got no output for"
                      f" {gap:.1f} s")

    def fd_limit(self, batch: str, stats: Stats) -> None:
        """More clients than the server has fds for: it must not spin while they wait."""
        pid = self.pid
        try:
            soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        except OSError as e:
            self.report.notes.append(f"fdlimit skipped: prlimit: {e}")
            return
        self.read_log()  # what came before is not this probe's
        socks: list[socket.socket] = []
        limit = fd_count(pid) + 4
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
            for _ in range(24):
                try:
                    sock = connect(self.mux.socket, 1.0)
                    sock.sendall(HELLO)
                except OSError:
                    break
                socks.append(sock)
                stats.connections += 1
                stats.frames += 1
            time.sleep(0.1)
            cpu, start = cpu_seconds(pid), time.monotonic()
            time.sleep(0.5)
            used = (cpu_seconds(pid) - cpu) / (time.monotonic() - start)
        finally:
            with contextlib.suppress(OSError):
                resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
            for sock in socks:
                sock.close()
        logged = len(self.read_log())
        self.report.fdlimit_cpu = max(self.report.fdlimit_cpu, used)
        if used > 0.5:
            self.fail(batch, "fdlimit", "fdlimit",
                      f"the server used {used:.0%} of a CPU for 0.5 s at its fd limit ({limit},"
                      f" room for 4 more) with {len(socks)} clients connecting; the server"
                      f" logged {logged} lines meanwhile")

    # --- invariants -----------------------------------------------------------------------

    def _log_path(self) -> str:
        return os.path.join(self.mux.root, "state", "ptymux", "server-default.log")

    def read_log(self) -> list[str]:
        """The server log's lines since the last call (across a rotation to NAME.1); they
        also wait for the next check_log."""
        path = self._log_path()
        data = b""
        with contextlib.suppress(OSError):  # no log (yet, or any more): nothing new
            inode = os.stat(path).st_ino
            if self._log_inode not in (0, inode):  # rotated: the rest of the old file first
                with contextlib.suppress(OSError), open(path + ".1", "rb") as f:
                    f.seek(self._log_offset)
                    data = f.read()
                self._log_offset = 0
            self._log_inode = inode
            with open(path, "rb") as f:
                f.seek(self._log_offset)
                new = f.read()
            new = new[: new.rfind(b"\n") + 1]  # whole lines: the rest is being written
            self._log_offset += len(new)
            data += new
        lines = data.decode(errors="replace").splitlines()
        self._log_unchecked += lines
        return lines

    def check_log(self, batch: str, cls: str) -> None:
        self.read_log()
        lines, self._log_unchecked = self._log_unchecked, []
        errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line
                  or line.startswith("Traceback")]
        if errors:
            self.fail(batch, cls, "replies", f"{len(errors)} ERROR line(s) in the server log,"
                      f" first: {errors[0][:300]}")
        for i, line in enumerate(lines):
            if line.endswith("shutting down"):  # nobody sent kill-server
                before = [x for x in lines[max(0, i - 40): i] if "bad frame" not in x][-6:]
                self.fail(batch, cls, "alive", "the server shut down by itself; the log before"
                          " it:\n      " + "\n      ".join(x[:200] for x in before),
                          fatal=True)

    def check(self, batch: str, cls: str, commands: bool = True) -> None:
        """Every invariant after a batch (``commands``: also through the real 'ptymux ls' and
        'ptymux capture'; the warm-up does without, for time)."""
        pid, path = self.pid, self.mux.socket
        self.check_log(batch, cls)
        if not alive(pid):
            self.fail(batch, cls, "alive", f"the server (pid {pid}) is gone;"
                      f" log tail: {self.mux.log()[-600:]!r}", fatal=True)
        # sessions: the protected ones unchanged; the fuzzer's own killed and gone
        try:
            (listing,) = request(path, p.ListSessions())
        except (OSError, ValueError, p.ProtocolError) as e:
            self.fail(batch, cls, "alive", f"no answer to 'list': {e!r}", fatal=True)
            return
        if not isinstance(listing, p.SessionList):
            self.fail(batch, cls, "alive", f"'list' answered {listing!r:.200}", fatal=True)
            return
        pids = {s.name: s.pid for s in listing.sessions if s.id in self.protected}
        if pids != self.victim_pids or not all(alive(v) for v in pids.values()):
            self.fail(batch, cls, "sessions", f"protected sessions were {self.victim_pids},"
                      f" now {pids}", fatal=True)
        mine = [s for s in listing.sessions if s.id not in self.protected]
        if mine:
            with contextlib.suppress(OSError, ValueError, p.ProtocolError):
                request(path, *(p.KillSession(target=f"${s.id}") for s in mine),
                        replies=len(mine))

            def only_protected() -> bool:
                try:
                    now = request(path, p.ListSessions())
                except (OSError, p.ProtocolError):
                    return False
                return bool(now) and isinstance(now[0], p.SessionList) and all(
                    s.id in self.protected for s in now[0].sessions)

            if not wait_for(only_protected, SETTLE, 0.05):
                self.fail(batch, cls, "cleanup", "killed fuzz sessions are still listed")
        # The real commands run while the rest is checked: 'ls', and 'capture' of one
        # protected session (each in turn); every protected session is captured by frames.
        shown = VICTIMS[self._checks % len(VICTIMS)]
        self._checks += 1
        procs = self.start_cli(["ls"], ["capture", "-t", shown]) if commands else []
        for name in VICTIMS:
            try:
                got = request(path, p.Capture(target=name, start=-10))
            except (OSError, p.ProtocolError) as e:
                got = [p.Error(message=repr(e))]
            if not got or not isinstance(got[0], p.CaptureResult):
                self.fail(batch, cls, "sessions", f"capture of {name}: {got!r:.300}")
        self.check_watchers(batch, cls)
        self.check_lingering(batch, cls, final=False)
        if procs:
            (ls_rc, ls_out, ls_err), (rc, _out, err) = self.finish_cli(procs)
            if ls_rc or not all(f"{n}:" in ls_out for n in VICTIMS):
                self.fail(batch, cls, "sessions", f"ptymux ls: rc {ls_rc} {ls_out!r}"
                          f" {ls_err!r}", fatal=True)
            if rc:
                self.fail(batch, cls, "sessions", f"ptymux capture -t {shown}: rc {rc}:"
                          f" {err.strip()!r}")
        self.check_resources(batch, cls)  # once the commands' connections are gone

    def start_cli(self, *commands: list[str]) -> list[subprocess.Popen[str]]:
        """``ptymux COMMAND`` for each command, all at once."""
        return [subprocess.Popen([PTYMUX, *args], env=self.mux.env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for args in commands]

    def finish_cli(self, procs: list[subprocess.Popen[str]],
                   timeout: float = 5.0) -> list[tuple[int, str, str]]:
        """Each command's (exit status, stdout, stderr); one still running after
        ``timeout`` is killed and reported as status -1."""
        results: list[tuple[int, str, str]] = []
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
                results.append((proc.returncode, out, err))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                results.append((-1, "", f"timed out after {timeout:g} s"))
        return results

    def check_watchers(self, batch: str, cls: str) -> None:
        watcher, term = self.watcher, self.term
        assert watcher is not None and term is not None
        watcher.poll()
        seen, raw = watcher.output, len(term.raw)

        def both() -> bool:
            watcher.poll()
            return bool(watcher.ended) or (watcher.output > seen and len(term.raw) > raw)

        wait_for(both, OUTPUT_WAIT)
        if watcher.ended or watcher.output <= seen:
            self.fail(batch, cls, "watchers", f"the raw attached client got no new output"
                      f" in {OUTPUT_WAIT:.0f} s ({watcher.ended or 'still connected'})",
                      fatal=bool(watcher.ended))
        if len(term.raw) <= raw:
            state = "running" if term.proc.poll() is None else f"exited {term.proc.poll()}"
            self.fail(batch, cls, "watchers", f"ptymux attach got no new output in"
                      f" {OUTPUT_WAIT:.0f} s (client {state}); its screen:\n{term.text()}",
                      fatal=term.proc.poll() is not None)

    def check_lingering(self, batch: str, cls: str, final: bool) -> None:
        """Lingering connections the server should have hung up on by now."""
        limit = self.settings.linger_limit
        if final and self.held:  # give the youngest its full time (within the budget)
            until = min(max(h.opened for h in self.held) + limit,
                        max(self.deadline, time.monotonic()))
            while self.held and time.monotonic() < until:
                self._poll_held()
                if all(h.hung_up or h.kind == "greeted" for h in self.held):
                    break
                time.sleep(0.1)
        self._poll_held()
        now = time.monotonic()
        late: dict[str, list[Held]] = collections.defaultdict(list)
        for h in list(self.held):
            if h.hung_up is not None or now - h.opened >= limit or final:
                if h.hung_up is None and h.kind != "greeted":
                    late[h.kind].append(h)
                h.sock.close()
                self.held.remove(h)
        for kind, hs in late.items():
            self.fail(hs[0].batch, hs[0].cls, "linger",
                      f"{len(hs)} '{kind}' connection(s) still open after"
                      f" {now - hs[0].opened:.1f} s (limit {limit:.0f} s)")

    def _poll_held(self) -> None:
        for h in self.held:
            if h.hung_up is not None:
                continue
            try:
                h.sock.setblocking(False)
                while h.sock.recv(1 << 16):
                    pass
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass
            h.hung_up = time.monotonic()

    def check_resources(self, batch: str, cls: str) -> None:
        pid = self.pid
        if not self._baselined:
            return
        self._poll_held()
        allowance = sum(1 for h in self.held if h.hung_up is None)
        if not wait_for(lambda: fd_count(pid) <= self.fd_base + allowance, SETTLE, 0.05):
            now = fd_count(pid)
            self.fail(batch, cls, "fds", f"{now} open fds, {SETTLE:.0f} s after the batch"
                      f" (after warm-up: {self.fd_base}, +{allowance} lingering clients);"
                      f" {fd_summary(pid)}")
            self.fd_base = now - allowance  # report growth once
        now_rss = rss(pid)
        self.report.rss_peak = max(self.report.rss_peak, now_rss)
        if now_rss > self.rss_base + self.settings.rss_slack:
            self.fail(batch, cls, "rss", f"RSS {now_rss / 2**20:.1f} MiB; after warm-up"
                      f" {self.report.rss_start / 2**20:.1f} MiB (high"
                      f" {self.report.rss_warm_high / 2**20:.1f}), last accepted"
                      f" {self.rss_base / 2**20:.1f} MiB, slack"
                      f" {self.settings.rss_slack / 2**20:.0f} MiB")
            self.rss_base = now_rss

    def baseline(self) -> None:
        pid = self.pid
        self._poll_held()
        held = sum(1 for h in self.held if h.hung_up is None)
        counts: list[int] = []

        def steady() -> bool:  # the same count twice in a row, 0.2 s apart
            counts.append(fd_count(pid) - held)
            return len(counts) >= 2 and counts[-1] == counts[-2]

        wait_for(steady, SETTLE, 0.2)
        self.fd_base = counts[-1]
        # The allocator keeps or returns freed memory depending on what came before (a
        # 1 MiB frame buffer may stay in the heap): RSS after a batch varies by a few MiB
        # with no leak. The baseline is the highest RSS seen after a warm-up batch, so that
        # only growth past every class's high-water mark counts.
        self.report.rss_start = rss(pid)
        self.rss_base = max([self.report.rss_start, *self._warm_rss])
        self.report.fd_start = self.fd_base
        self.report.rss_peak = self.report.rss_warm_high = self.rss_base
        self._baselined = True

    # --- the end --------------------------------------------------------------------------

    def shutdown_probe(self) -> None:
        """kill-server, then 'new' on the same and on another connection."""
        path = self.mux.socket
        victims = list(self.victim_pids.values())
        new = p.NewSession(argv=["sleep", "30"], cwd="/", env={"PATH": "/usr/bin:/bin"},
                           cols=80, rows=24, name="after-kill", detached=True)
        try:
            replies = request(path, p.KillServer(), new, replies=2)
        except OSError as e:
            replies = []
            self.report.notes.append(f"kill-server connection: {e!r}")
        if not replies or not isinstance(replies[0], p.Ok):
            self.fail("end", "shutdown", "shutdown", f"kill-server answered {replies!r:.200}")
        if any(isinstance(m, p.Created) for m in replies):
            self.fail("end", "shutdown", "shutdown", "'new' after kill-server created a session")
        try:
            later = request(path, new, replies=1, timeout=1.0)
        except OSError:
            later = []  # refused: right
        if any(isinstance(m, p.Created) for m in later):
            self.fail("end", "shutdown", "shutdown",
                      "'new' on a connection after kill-server created a session")
        if not wait_for(lambda: not alive(self.pid) and not any(alive(v) for v in victims),
                        10.0, 0.05):
            self.fail("end", "shutdown", "shutdown", "the server or a session's program is"
                      f" still running 10 s after kill-server ({fd_summary(self.pid)})")

    def over_budget(self, batch: str, cls: str) -> bool:
        if time.monotonic() <= self.deadline:
            return False
        if not any(f.detail.startswith("the run took more") for f in self.report.failures):
            self.fail(batch, cls, "alive", f"the run took more than its {self.settings.budget:g}"
                      " s: the server is slow to answer or to hang up (see the batch times)")
        return True

    def run(self) -> Report:
        s = self.settings
        began = time.monotonic()
        if s.budget is not None:
            self.deadline = began + s.budget
        try:
            self.start()
            self.say(f"fuzzing server pid {self.pid} (seed {s.seed},"
                     f" classes {' '.join(s.classes)})")
            for cls in s.classes:  # warm-up: every class once; no fd/RSS baseline yet
                if self.over_budget("warmup", cls):
                    break
                t0 = time.monotonic()
                self.run_batch("warmup", cls, s.warmup_frames or s.frames)
                t1 = time.monotonic()
                self.check("warmup", cls, commands=False)
                self._warm_rss.append(rss(self.pid))
                self.say(f"warm-up {cls}: {t1 - t0:.1f} s + checks {time.monotonic() - t1:.1f} s")
            self.baseline()
            self.say(f"after warm-up: RSS {self.report.rss_start / 2**20:.1f} MiB (its high"
                     f" {self.rss_base / 2**20:.1f} MiB), {self.fd_base} fds")
            k = 0 if s.only_batch is None else s.only_batch
            while True:
                if s.only_batch is not None and k > s.only_batch:
                    break
                if s.batches is not None and k >= s.batches:
                    break
                if s.only_batch is None and s.batches is None and \
                        time.monotonic() - began >= s.seconds:
                    break
                cls = s.classes[k % len(s.classes)]
                if self.over_budget(str(k), cls):
                    break
                t0 = time.monotonic()
                stats = self.run_batch(str(k), cls, s.frames)
                t1 = time.monotonic()
                self.check(str(k), cls)
                self.report.batches += 1
                self.say(f"batch {k} {cls}: {stats.frames} frames, {stats.connections} conns,"
                         f" RSS {rss(self.pid) / 2**20:.1f} MiB, {fd_count(self.pid)} fds"
                         f" ({t1 - t0:.1f} s + checks {time.monotonic() - t1:.1f} s)")
                k += 1
            self.check_lingering("end", "linger", final=True)
            wait_for(lambda: fd_count(self.pid) <= self.fd_base, SETTLE, 0.05)
            self.report.fd_end = fd_count(self.pid)
            self.report.rss_end = rss(self.pid)
            if s.shutdown:
                self.stop()
                self.shutdown_probe()
        except Fatal:
            self.report.server_gone = not alive(self.pid) or not os.path.exists(self.mux.socket)
            if not self.report.server_gone:
                self.report.fd_end = fd_count(self.pid)
                self.report.rss_end = rss(self.pid)
        finally:
            self.stop()
            self.report.seconds = time.monotonic() - began
        return self.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="what every probe derives from")
    parser.add_argument("--frames", type=int, default=300, help="frames per batch (300)")
    parser.add_argument("--batches", type=int, help="stop after N batches")
    parser.add_argument("--only-batch", type=int, metavar="K",
                        help="replay batch K alone (after the warm-up)")
    parser.add_argument("--classes", nargs="+", choices=CLASSES, default=list(CLASSES),
                        metavar="CLASS", help=f"probe classes, in order ({' '.join(CLASSES)})")
    parser.add_argument("--rss-slack", type=float, default=8.0, metavar="MiB",
                        help="RSS growth allowed past the warm-up's high (default 8)")
    parser.add_argument("--linger-limit", type=float, default=10.0, metavar="S",
                        help="seconds within which a silent connection must be hung up")
    parser.add_argument("--no-shutdown", action="store_true",
                        help="skip the kill-server probe at the end")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-batch lines")
    args = parser.parse_args(argv)
    settings = Settings(
        seed=args.seed, seconds=args.seconds, batches=args.batches, only_batch=args.only_batch,
        frames=args.frames, classes=tuple(args.classes), rss_slack=int(args.rss_slack * 2**20),
        linger_limit=args.linger_limit, shutdown=not args.no_shutdown, quiet=args.quiet,
    )
    mux = Mux()
    try:
        report = Fuzzer(mux, settings).run()
        if report.failures:  # the server's log, for the post-mortem
            kept = os.path.join(tempfile.gettempdir(), f"ptymux-fuzz-seed{args.seed}.log")
            with open(kept, "w") as f:
                f.write(mux.log())
            report.notes.append(f"server log kept in {kept}")
    finally:
        leaked = mux.cleanup()
    print(report.summary())
    if leaked:
        print(f"  FAIL processes left behind: {leaked}")
    return 1 if report.failures or leaked else 0


if __name__ == "__main__":
    sys.exit(main())
