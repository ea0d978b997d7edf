"""The start lock and the pid file: what a server leaves on disk, and how a client uses it."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from collections.abc import Iterator

from harness import PTYMUX, Mux, wait_until


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    return lines[0]


def _pid_file(mux: Mux) -> str:
    return os.path.join(mux.root, "state", "ptymux", "server-default.pid")


def _read_pid(mux: Mux) -> int | None:
    try:
        with open(_pid_file(mux)) as f:
            return int(f.read())
    except FileNotFoundError:
        return None


# --- the start lock -----------------------------------------------------------------------


def test_lock_that_cannot_be_created_is_one_line(mux: Mux) -> None:
    os.makedirs(mux.socket_dir, 0o700)
    os.mkdir(mux.socket + ".lock")  # open(O_CREAT) on it fails (EISDIR), even for root
    result = mux.run("new", "-d", "--", "sleep", "30")
    assert _one_line(result) == (
        f"ptymux: can't create the lock file {mux.socket}.lock: Is a directory"
    )
    assert not mux.server_pid()


def test_no_lock_file_is_left(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    assert sorted(os.listdir(mux.socket_dir)) == ["default"]
    mux.run("new", "-d", "--", "sleep", "61", check=True)  # a running server: no lock at all
    assert sorted(os.listdir(mux.socket_dir)) == ["default"]
    mux.run("kill-server", timeout=20, check=True)
    wait_until(lambda: not os.listdir(mux.socket_dir), what="the socket dir to empty")


def test_concurrent_cold_starts_make_one_server(mux: Mux) -> None:
    count = 8
    procs = [
        subprocess.Popen([PTYMUX, "new", "-d", "--", "sleep", str(60 + i)], env=mux.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for i in range(count)
    ]
    try:
        results = [proc.communicate(timeout=30) for proc in procs]
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
    assert [proc.returncode for proc in procs] == [0] * count, results
    listening = [line for line in mux.log().splitlines() if "listening on" in line]
    assert len(listening) == 1, mux.log()
    pid = mux.server_pid()
    assert pid and _read_pid(mux) == pid
    commands = sorted(line.split(": ", 1)[1].split(" (")[0]
                      for line in mux.run("ls", check=True).stdout.splitlines())
    assert commands == [f"sleep {60 + i}" for i in range(count)]
    assert sorted(os.listdir(mux.socket_dir)) == ["default"]


# --- the pid file -------------------------------------------------------------------------


def test_pid_file_lives_as_long_as_the_server(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    pid = mux.server_pid()
    assert pid and _read_pid(mux) == pid
    assert os.stat(_pid_file(mux)).st_mode & 0o777 == 0o600
    mux.run("kill-server", timeout=20, check=True)
    wait_until(lambda: not os.path.exists(_pid_file(mux)), what="the pid file to go")


# A stand-in for a server that lost its socket: its command line names the socket as a
# server's does. With "answer", SIGUSR1 makes it listen there and answer hello and ls; with
# "ignore" it ignores SIGUSR1. It prints "ready", and "woken" on SIGUSR1.
FAKE_SERVER = """
import os, signal, socket, sys, time
from ptymux import protocol as p
mode, path = sys.argv[1], sys.argv[sys.argv.index("--socket") + 1]
woken = []
signal.signal(signal.SIGUSR1, signal.SIG_IGN if mode == "ignore" else
              lambda *_: woken.append(1))
print("ready", flush=True)
while not woken:
    time.sleep(0.01)
print("woken", flush=True)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
while True:
    conn, _ = srv.accept()
    decoder = p.FrameDecoder()
    while data := conn.recv(65536):
        for msg in decoder.messages(data):
            if isinstance(msg, p.Hello):
                conn.sendall(p.encode(p.Hello(version=p.VERSION, pid=os.getpid(),
                                              commands=["ls"])))
            elif isinstance(msg, p.Request) and msg.command == "ls":
                conn.sendall(p.encode(p.reply(msg.id, p.SessionList(sessions=[]))))
    conn.close()
"""


@contextlib.contextmanager
def _server_without_socket(mux: Mux, mode: str) -> Iterator[subprocess.Popen[bytes]]:
    """The fake above, named by the pid file; killed (and its socket removed) at the end."""
    os.makedirs(mux.socket_dir, 0o700, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_SERVER, mode, "ptymux.server", "--socket", mux.socket],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 10)[0], "the fake server did not start"
        assert proc.stdout.readline() == b"ready\n"
        os.makedirs(os.path.dirname(_pid_file(mux)), exist_ok=True)
        with open(_pid_file(mux), "w") as f:
            f.write(f"{proc.pid}\n")
        yield proc
    finally:
        proc.kill()
        proc.wait(5)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(mux.socket)


def test_server_without_socket_is_asked_for_it(mux: Mux) -> None:
    with _server_without_socket(mux, "answer") as proc:
        result = mux.run("ls")
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert proc.stdout is not None and proc.stdout.readline() == b"woken\n"


def test_server_without_socket_that_does_not_answer(mux: Mux) -> None:
    """Said in one line, for ls and for new alike: new must not start a second server."""
    with _server_without_socket(mux, "ignore") as proc:
        expected = (f"ptymux: server (pid {proc.pid}) is running without its socket"
                    f" {mux.socket}; 'kill -USR1 {proc.pid}' re-creates it")
        assert _one_line(mux.run("ls")) == expected
        assert _one_line(mux.run("new", "-d", "--", "sleep", "30")) == expected
        assert not os.path.exists(mux.socket)
        assert "listening on" not in mux.log()


def test_pid_file_of_another_process_is_ignored(mux: Mux) -> None:
    """A pid file naming something else (a stale file, a reused pid): no server."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        os.makedirs(os.path.dirname(_pid_file(mux)), exist_ok=True)
        for pid in (other.pid, 999_999_999):
            with open(_pid_file(mux), "w") as f:
                f.write(f"{pid}\n")
            assert _one_line(mux.run("ls")) == f"ptymux: no server running on {mux.socket}"
        assert other.poll() is None  # and not signalled
    finally:
        other.kill()
        other.wait(5)


def test_deleted_socket_is_found_again(mux: Mux) -> None:
    mux.run("new", "-d", "--", "sleep", "60", check=True)
    pid = mux.server_pid()
    os.unlink(mux.socket)
    result = mux.run("ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0: sleep 60 ")
    assert mux.server_pid() == pid
