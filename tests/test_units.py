"""Fast unit tests of the pure pieces: framing and validation, detach keys, config."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptymux import protocol as p

# --- protocol -----------------------------------------------------------------------------

ARGS: list[p.Message] = [  # one arguments record per command
    p.NewSession(argv=["sh", "-c", "x"], cwd="/", env={"A": "b"}, cols=80, rows=24,
                 name="n", history=10, detached=True, terminal=True, detach_keys=b"\x01d"),
    p.Attach(cols=1, rows=1, target=None, terminal=True, detach_keys=b"\x10\x11",
             keys=[[b"\x10\x11", "detach"], [b"\x10\x0f", "switcher"]], tty="/dev/pts/1",
             title="ptymux: ", scrollback=1000),
    p.ListSessions(),
    p.KillSession(target="x"),
    p.KillServer(),
    p.Capture(target="t", start=-5, end=3, escapes=True, join=True),
    p.HasSession(target="x"),
    p.RenameSession(target="x", name="y"),
    p.SendKeys(target=None, keys=["C-c", "Enter"], literal=False, hex=True),
    p.Wait(target="job"),
    p.ListClients(target="x"),
    p.DetachClient(client=3),
    p.SetSizePolicy(target="x", policy="smallest"),
    p.UpgradeServer(),
    p.ServerInfo(),
]
RESULTS: list[p.Message] = [  # one result record per command
    p.Created(id=3, name="x", terminal=True),
    p.Attached(id=3, name="x"),
    p.SessionList(sessions=[p.SessionInfo(0, "a", "sh", 80, 24, 1.5, 1, 99)],
                  ended=[p.EndedInfo(1, "b", "make", 2, None, 3.5)]),
    p.Ok(),
    p.Ok(),
    p.CaptureResult(text="x\n"),
    p.SessionInfo(0, "a", "sh", 80, 24, 1.5, 1, 99, "vim", "/tmp"),
    p.Ok(),
    p.Ok(),
    p.WaitResult(id=4, name="job", status=None, signal=15),
    p.ClientList(clients=[p.ClientInfo(id=1, session=2, session_name="x", tty="/dev/pts/3",
                                       cols=80, rows=24, read_only=True, attached=1.5,
                                       behind=10, pid=99)]),
    p.Ok(),
    p.Ok(),
    p.UpgradeResult(software="ptymux 0.2.0", previous="ptymux 0.1.0", pid=7, sessions=3,
                    seconds=0.25),
    p.ServerInfoResult(software="ptymux 0.1.0", pid=7, started=1.5, handed_over=2.5,
                       handovers=1, sessions=3, clients=1, socket="/run/x"),
]
SAMPLES: list[p.Message] = [
    p.Hello(version=p.VERSION, pid=42, versions=[3], software="ptymux 9", commands=["ls"]),
    *(p.request(i, args) for i, args in enumerate(ARGS)),
    *(p.reply(i, result) for i, result in enumerate(RESULTS)),
    p.Chunk(id=7, data="part"),
    p.Error(message="bad", id=7, code="no-session"),
    p.Error(message="bye"),
    p.Input(data=b"\x00\xff"),
    p.Written(size=12345),
    p.Resize(cols=p.MAX_COLS, rows=p.MAX_ROWS),
    p.Detach(),
    p.Detach(action="switcher"),
    p.Action(action="switcher", id=2, name="x"),
    p.Output(data=b"hello"),
    p.Exited(id=1, name="y", status=None, signal=9),
    p.Detached(id=1, name="y"),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=p.kind_of)
def test_every_message_round_trips(msg: p.Message) -> None:
    frame = p.encode(msg)
    (got,) = p.FrameDecoder().messages(frame)
    assert type(got) is type(msg)  # NamedTuples of equal fields compare equal
    assert got == msg


@pytest.mark.parametrize("keys", [
    [[b"", "detach"]], [[b"\x10", "detach", "x"]], [[b"\x10" * 17, "detach"]], "x",
    [[b"\x10", "d" * 65]], [[b"\x10", "detach"]] * 33,
])
def test_bad_bindings_are_refused(keys: object) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_args("attach", {"cols": 80, "rows": 24, "keys": keys})


def test_the_samples_cover_every_kind_and_command() -> None:
    assert {p.kind_of(m) for m in SAMPLES} == set(p.KINDS)
    assert [p.command_of(a) for a in ARGS] == list(p.COMMANDS)


@pytest.mark.parametrize(("args", "result"), list(zip(ARGS, RESULTS, strict=True)),
                         ids=list(p.COMMANDS))
def test_arguments_and_results_round_trip(args: p.Message, result: p.Message) -> None:
    command = p.command_of(args)
    (req,) = p.FrameDecoder().messages(p.encode(args, rid=5))
    assert isinstance(req, p.Request) and req.id == 5 and req.command == command
    assert p.parse_args(command, req.args) == args
    (rep,) = p.FrameDecoder().messages(p.encode(p.reply(5, result)))
    assert isinstance(rep, p.Reply)
    got = p.parse_result(command, rep.result)
    assert type(got) is type(result) and got == result


def test_frames_split_anywhere_reassemble() -> None:
    stream = b"".join(p.encode(m) for m in SAMPLES)
    for step in (1, 3, 7, 1000):
        decoder = p.FrameDecoder()
        got: list[p.Message] = []
        for i in range(0, len(stream), step):
            got += decoder.messages(stream[i : i + step])
        assert [(type(m), m) for m in got] == [(type(m), m) for m in SAMPLES]


def test_oversized_frame_is_refused_from_its_header() -> None:
    with pytest.raises(p.ProtocolError, match="exceeds the limit"):
        p.FrameDecoder().feed(struct.pack(">I", p.MAX_FRAME + 1))


@pytest.mark.parametrize(
    "raw",
    [
        {"t": "resize", "cols": 0, "rows": 5},
        {"t": "resize", "cols": True, "rows": 5},  # bool is not an int here
        {"t": "resize", "cols": 5},
        {"t": "resize", "cols": 5, "rows": 5, "extra": 1},
        {"t": "written", "size": -1},
        {"t": "input", "data": "text, not bytes"},
        {"t": 5},
        {"t": "request", "id": -1, "command": "ls", "args": {}},
        {"t": "request", "id": 1, "command": "x" * 65, "args": {}},
        {"t": "request", "id": 1, "command": "ls", "args": []},
        {"t": "reply", "id": 1},
        {"t": "error", "message": "x", "code": 3},
        {"t": "hello", "version": 3, "versions": [True]},
    ],
)
def test_invalid_fields_are_refused(raw: dict[str, object]) -> None:
    import msgpack

    with pytest.raises(p.ProtocolError):
        p.decode(msgpack.packb(raw, use_bin_type=True))


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("attach", {"cols": 1, "rows": 1, "terminal": 1}),
        ("attach", {"cols": 1, "rows": 1, "detach_keys": b"x" * 17}),
        ("new", {"argv": ["sh"], "cwd": "/", "env": {"A": 1}, "cols": 1, "rows": 1}),
        ("kill-session", {}),
        ("ls", {"extra": 1}),
    ],
)
def test_invalid_arguments_are_refused(command: str, args: dict[str, object]) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_args(command, args)


def test_results_from_newer_or_older_servers_are_read() -> None:
    """Fields a newer server adds are left out; fields an older one lacks take defaults."""
    info = {"id": 0, "name": "a", "command": "sh", "cols": 80, "rows": 24, "created": 1.0,
            "attached": 0, "pid": 5}
    got = p.parse_result("ls", {"sessions": [{**info, "colour": "blue"}], "more": 1})
    assert isinstance(got, p.SessionList)
    assert got.sessions[0] == p.SessionInfo(0, "a", "sh", 80, 24, 1.0, 0, 5, "", "")


def test_invalid_results_are_refused() -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_result("ls", {"sessions": [{"id": -1}]})


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    with contextlib.suppress(p.ProtocolError):
        p.FrameDecoder().messages(data)


# --- start-up -----------------------------------------------------------------------------


def test_commands_do_not_import_typing() -> None:
    """ptymux.records keeps ``typing`` (~3 ms) and cli._Formatter ``shutil`` (~2 ms) out of
    every command's start-up. Run without site (which imports both on some installs) to see
    what ptymux itself imports."""
    import subprocess
    import sys
    import sysconfig
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    paths = [root, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = (f"import sys; sys.path[:0] = {paths!r}; import ptymux.cli, ptymux.client.attach;"
            " ptymux.cli.build_parser().parse_args(['ls']);"
            " print(sorted(m for m in ('typing', 'asyncio', 'subprocess', 'shutil')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    assert out.stdout.strip() == "[]"


def test_records_are_namedtuples() -> None:
    from ptymux.records import NamedTuple

    class Point(NamedTuple):
        """A doc."""

        x: int
        y: int = 7

        def total(self) -> int:
            return self.x + self.y

    p1 = Point(1)
    assert p1 == (1, 7) and p1.total() == 8 and Point.__doc__ == "A doc."
    assert Point._field_defaults == {"y": 7} and p1._replace(x=2) == Point(2, 7)
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


@given(st.lists(st.text(alphabet=st.sampled_from("aZ9_@%+=:,./-'\" $\\\té!*?~#\n"),
                        max_size=6), max_size=4)
       | st.lists(st.text(max_size=8), max_size=3))
def test_a_command_line_is_quoted_as_shlex_quotes_it(argv: list[str]) -> None:
    """server/spawn.py quotes without shlex (and its re) to stay off a new server's path."""
    import shlex

    from ptymux.server.spawn import command_line

    assert command_line(argv) == shlex.join(argv)


@given(st.integers(1, 6), st.data())
def test_a_record_class_behaves_as_collections_namedtuple(count: int, data: st.DataObject
                                                          ) -> None:
    """records.record_class builds protocol messages without namedtuple's eval: the same
    values, defaults, errors (TypeError either way), _replace, _asdict, _make and repr."""
    import collections
    import copy

    from ptymux.records import record_class

    fields = [f"f{i}" for i in range(count)]
    defaults = data.draw(st.lists(st.integers(), max_size=count))
    ours = record_class("Rec", fields, defaults, __name__)
    theirs = collections.namedtuple("Rec", fields, defaults=defaults)  # type: ignore[misc]
    args = data.draw(st.lists(st.integers(), max_size=count + 1))
    kwargs = data.draw(st.dictionaries(st.sampled_from([*fields, "other"]), st.integers()))

    def made(cls: type) -> object:
        try:
            return tuple(cls(*args, **kwargs))
        except TypeError:
            return TypeError

    assert made(ours) == made(theirs)
    if made(theirs) is TypeError:
        return
    mine, reference = ours(*args, **kwargs), theirs(*args, **kwargs)
    assert repr(mine) == repr(reference) and mine == reference
    assert mine._asdict() == reference._asdict() and ours._fields == theirs._fields
    assert ours._field_defaults == theirs._field_defaults
    assert tuple(mine._replace(f0=-1)) == tuple(reference._replace(f0=-1))
    with pytest.raises(ValueError):
        mine._replace(other=1)
    assert tuple(ours._make(range(count))) == tuple(range(count))
    with pytest.raises(TypeError):
        ours._make(range(count + 1))
    assert mine.f0 == reference.f0 and type(mine).__name__ == "Rec"
    assert copy.deepcopy(mine) == mine and type(copy.copy(mine)) is ours


def test_the_lean_suppress_swallows_only_what_it_lists() -> None:
    """server/lean.py's stand-in for contextlib.suppress (the daemon's start uses it)."""
    from ptymux.server.lean import signal, suppress

    with suppress(OSError, KeyError):
        raise FileNotFoundError("swallowed: a subclass of a listed one")
    with pytest.raises(ValueError), suppress(OSError):
        raise ValueError("not listed")
    assert signal.SIGHUP == 1 and signal.getsignal(signal.SIGINT) is signal.default_int_handler
