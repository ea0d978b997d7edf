"""How a client starts the server: forked from the ``ptymux`` command (the default), or as a
fresh interpreter (``PTYMUX_SERVER_EXEC=1``, and the Python API). Either way the daemon is
detached from whoever started it, holds none of the caller's fds, signals or directory, its
session's program inherits none of them either, and a failed start is one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from harness import PTYMUX, Mux, wait_until

STARTS = ["fork", "exec"]


@pytest.fixture(params=STARTS)
def start(request: pytest.FixtureRequest, mux: Mux) -> str:
    """``mux`` set to start its server the given way."""
    if request.param == "exec":
        mux.env["PTYMUX_SERVER_EXEC"] = "1"
    return str(request.param)


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name: [0] state, [1] ppid, [2] pgrp,
    [3] session, [4] tty_nr."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _status(pid: int, field: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    raise AssertionError(f"no {field} for {pid}")


def _fd_targets(pid: int) -> dict[int, str]:
    targets = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            targets[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
    return targets


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if int(_stat(int(entry))[1]) == pid:
                    found.append(int(entry))
    return found


def _bit(mask: str, sig: int) -> bool:
    return bool(int(mask, 16) >> (sig - 1) & 1)


@contextlib.contextmanager
def _orphan() -> Iterator[int]:
    """A process whose parent exited: the pid it was reparented to is what "nobody's child"
    means here (init, or the nearest subreaper)."""
    out = subprocess.run(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    pid = int(out)
    try:
        yield int(_stat(pid)[1])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _hostile_caller() -> None:
    """In the client, before it execs: a blocked signal and ignored hangup and TERM, as a
    caller may leave them (nohup, a job in a shell without job control)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def test_the_daemon_is_detached_from_its_caller(mux: Mux, start: str) -> None:
    marker = os.path.join(mux.root, "caller-only")
    fd = os.open(marker, os.O_RDWR | os.O_CREAT, 0o600)  # an fd the caller leaks to us
    try:
        # capture_output: run() reads stdout and stderr to their end, so a daemon that kept
        # either would make this time out instead of returning.
        client = subprocess.run(
            [PTYMUX, "new", "-d", "-s", "prog", "--", "sleep", "60"], env=mux.env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20,
            pass_fds=(fd,), preexec_fn=_hostile_caller,
        )
    finally:
        os.close(fd)
    assert (client.returncode, client.stdout, client.stderr) == (0, "", "")
    pid = mux.server_pid()
    assert pid

    state = _stat(pid)
    with _orphan() as reaper:
        assert int(state[1]) == reaper  # nobody's child: not the client's, not ours
    assert int(state[3]) not in (pid, os.getsid(0))  # its own session, not its leader
    assert int(state[2]) != os.getpgid(0)
    assert int(state[4]) == 0  # no controlling terminal
    assert os.readlink(f"/proc/{pid}/cwd") == "/"

    fds = _fd_targets(pid)
    assert fds[0] == fds[1] == "/dev/null"
    assert fds[2] == os.path.join(mux.root, "state", "ptymux", "server-default.log")
    assert not [t for t in fds.values() if t.startswith(marker) or ".lock" in t], fds

    assert int(_status(pid, "SigBlk"), 16) == 0
    ignored = _status(pid, "SigIgn")
    assert not _bit(ignored, signal.SIGHUP) and not _bit(ignored, signal.SIGTERM)

    programs = wait_until(lambda: _children(pid), what="the session's program")
    assert len(programs) == 1
    program = programs[0]
    inherited = _fd_targets(program)
    assert sorted(inherited) == [0, 1, 2], inherited
    assert len(set(inherited.values())) == 1 and inherited[0].startswith("/dev/pts/")
    assert int(_status(program, "SigBlk"), 16) == 0
    assert int(_status(program, "SigIgn"), 16) == 0

    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() == "ptymux: server"
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = f.read().split(b"\0")
    if start == "fork":  # the client's own command line, as tmux's server has
        assert b"ptymux.server" not in cmdline and b"new" in cmdline
    else:
        assert b"ptymux.server" in cmdline


def test_a_server_without_its_socket_is_found_however_it_started(mux: Mux, start: str) -> None:
    """The pid file proves the server (it keeps it open): a forked daemon's command line
    names no socket."""
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    pid = mux.server_pid()
    os.unlink(mux.socket)
    result = mux.run("ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0: sleep 60 ")
    assert mux.server_pid() == pid


def test_a_start_that_fails_is_one_line(mux: Mux, start: str) -> None:
    not_a_dir = os.path.join(mux.root, "file")
    with open(not_a_dir, "w"):
        pass
    env = dict(mux.env, XDG_STATE_HOME=os.path.join(not_a_dir, "state"))  # no log dir
    result = mux.run("new", "-d", "--", "sleep", "30", env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("ptymux: can't start server: [Errno 20] Not a directory")
    assert lines[0].endswith("server-default.log)")  # (log: ...)
    assert not os.path.exists(mux.socket)

    os.makedirs(mux.socket)  # a directory where the socket goes: bind fails
    result = mux.run("new", "-d", "--", "sleep", "30")
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("ptymux: can't start server: [Errno 21] Is a directory")
    assert lines[0].endswith("server-default.log)")


def test_a_caller_with_its_stdio_closed_still_starts_the_server(mux: Mux, start: str) -> None:
    """Then the ready pipe may be fds 0 and 1, where the daemon puts /dev/null."""
    def close_stdio() -> None:
        for fd in (0, 1, 2):
            os.close(fd)

    client = subprocess.run([PTYMUX, "new", "-d", "-s", "quiet", "--", "sleep", "60"],
                            env=mux.env, timeout=20, preexec_fn=close_stdio)
    assert client.returncode == 0
    assert mux.run("ls", check=True).stdout.startswith("quiet: sleep 60 ")


def test_the_api_starts_a_fresh_interpreter_not_a_fork_of_its_caller(mux: Mux) -> None:
    """A program using the API is not the ptymux command: forking it would hand the server
    its threads, fds and memory."""
    from ptymux.api import Server

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(mux.env)
    try:
        Server().new(["sleep", "60"], name="api")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    pid = mux.server_pid()
    assert pid
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert b"ptymux.server" in f.read().split(b"\0")
    assert pid not in _children(os.getpid())


# --- the first 'new -d' is answered before the server's loop exists (server/spawn.py) ------


def _held(mux: Mux) -> tuple[dict[str, str], str]:
    """An environment whose forking 'new -d' leaves the server held, once it has answered,
    until the returned path exists (the PTYMUX_TEST_HOLD_START hook)."""
    release = os.path.join(mux.root, "release")
    return {**mux.env, "PTYMUX_TEST_HOLD_START": release}, release


def test_the_first_new_is_answered_before_the_server_loop_exists(mux: Mux) -> None:
    env, release = _held(mux)
    try:
        new = mux.run("new", "-d", "-s", "early", "--", "sh", "-c", "echo started; sleep 60",
                      env=env, timeout=15)
        # It returned while the server is held before its loop: nothing answers there yet.
        assert (new.returncode, new.stdout, new.stderr) == (0, "", "")
        pid = mux.server_pid()
        assert pid
        program = wait_until(lambda: _children(pid), what="the session's program")
        assert len(program) == 1
        assert "listening on" not in mux.log()  # (logged once its loop runs)
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == "ptymux: server"
    finally:
        with open(release, "w"):
            pass
    listed = mux.run("ls", check=True).stdout
    assert listed.startswith("early: sh -c 'echo started; sleep 60' (80x24)")
    assert wait_until(lambda: "started" in mux.run("capture", "-t", "early").stdout,
                      what="the program's first output in the session")
    assert _children(pid) == program  # the same program, taken over by the loop
    assert "listening on" in mux.log()


def test_a_first_new_that_fails_is_answered_from_the_start(mux: Mux) -> None:
    """Refused before the loop exists: the same one-line errors and statuses as later."""
    bad_name = mux.run("new", "-d", "-s", "a b", "--", "true")
    assert bad_name.returncode == 2
    assert bad_name.stderr == ("ptymux: bad session name 'a b': use printable characters"
                               " without spaces, ':' or '.'\n")
    mux.run("kill-server")
    missing = mux.run("new", "-d", "--", "/nonexistent/program")
    assert missing.returncode == 1
    assert missing.stderr == ("ptymux: can't run '/nonexistent/program':"
                              " No such file or directory\n")
    mux.run("new", "-d", "-s", "next", "--", "sleep", "60", check=True)
    assert mux.run("ls", "-F", "#{session_id} #{session_name}", check=True).stdout == "$0 next\n"


def test_a_socket_removed_while_the_server_starts_comes_back(mux: Mux) -> None:
    env, release = _held(mux)
    try:
        mux.run("new", "-d", "-s", "x", "--", "sleep", "60", env=env, check=True, timeout=15)
        os.unlink(mux.socket)
    finally:
        with open(release, "w"):
            pass
    wait_until(lambda: os.path.exists(mux.socket), what="the socket to be re-created")
    assert mux.run("ls", check=True).stdout.startswith("x: sleep 60 ")


def test_a_first_program_that_ends_before_the_loop_leaves_its_status(mux: Mux) -> None:
    env, release = _held(mux)
    try:
        mux.run("new", "-d", "-s", "quick", "--", "sh", "-c", "exit 7", env=env, check=True,
                timeout=15)
        pid = mux.server_pid()
        assert pid
        wait_until(lambda: _stat(_children(pid)[0])[0] == "Z" if _children(pid) else False,
                   what="the program to end (a zombie: nobody has reaped it yet)")
    finally:
        with open(release, "w"):
            pass
    assert mux.run("wait", "-t", "quick").returncode == 7
