"""Other local users and hostile directories: the socket directory, the server's identity,
and the code the server is started from."""

from __future__ import annotations

import contextlib
import os
import pathlib
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from harness import PTYMUX, Mux, wait_until

NOBODY = 65534


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of a command that failed with exit status 1."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("ptymux: "), lines
    return lines[0]


def _refused_everywhere(mux: Mux) -> list[str]:
    """The refusals of a command that only connects and one that would start a server."""
    messages = [_refused(mux.run("ls")), _refused(mux.run("new", "-d", "--", "sleep", "30"))]
    assert not mux.server_pid()
    return messages


# --- the socket directory -----------------------------------------------------------------


def test_socket_dir_that_is_a_symlink_is_refused(mux: Mux) -> None:
    """Even a link to a good directory of ours: the link could be swapped for one of theirs
    between the check and the use."""
    target = os.path.join(mux.root, "real")
    os.mkdir(target, 0o700)
    os.symlink(target, mux.socket_dir)
    for message in _refused_everywhere(mux):
        assert f"socket directory {mux.socket_dir} is a symbolic link" in message
    assert os.listdir(target) == []


def test_socket_dir_of_another_user_is_refused(mux: Mux) -> None:
    if os.getuid() != 0:
        pytest.skip("chown needs root")
    os.mkdir(mux.socket_dir, 0o700)
    os.chown(mux.socket_dir, NOBODY, NOBODY)
    for message in _refused_everywhere(mux):
        assert f"socket directory {mux.socket_dir} is owned by uid {NOBODY}" in message


@pytest.mark.parametrize("mode", [0o750, 0o701, 0o777])
def test_socket_dir_open_to_others_is_refused(mux: Mux, mode: int) -> None:
    os.mkdir(mux.socket_dir)
    os.chmod(mux.socket_dir, mode)
    for message in _refused_everywhere(mux):
        assert f"has unsafe permissions {mode:o}; run 'chmod 700 {mux.socket_dir}'" in message


def test_checked_dir_is_used_through_its_fd(tmp_path: pathlib.Path) -> None:
    """What passed the check is what gets used: after the directory is swapped for a
    symlink, a bind through the open directory still lands in the checked one."""
    from ptymux.paths import open_private_dir, via

    checked = os.path.join(tmp_path, "s")
    elsewhere = os.path.join(tmp_path, "elsewhere")
    os.mkdir(elsewhere, 0o700)
    fd = open_private_dir(checked)
    try:
        os.rename(checked, os.path.join(tmp_path, "moved"))
        os.symlink(elsewhere, checked)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(via(fd, "default"))
    finally:
        os.close(fd)
    assert os.listdir(os.path.join(tmp_path, "moved")) == ["default"]
    assert os.listdir(elsewhere) == []


def test_server_refuses_to_bind_in_a_symlinked_dir(tmp_path: pathlib.Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """bind_socket (also how a running server re-creates its socket) checks the directory
    itself: the client's check was in another process, some time ago."""
    from ptymux.paths import PathError
    from ptymux.server.daemon import bind_socket

    target = os.path.join(tmp_path, "real")
    os.mkdir(target, 0o700)
    link = os.path.join(tmp_path, "s")
    os.symlink(target, link)
    monkeypatch.setenv("PTYMUX_SOCKET_DIR", link)
    with pytest.raises(PathError, match="is a symbolic link"):
        bind_socket(os.path.join(link, "default")).close()
    assert os.listdir(target) == []


# --- who answers on the socket ------------------------------------------------------------

# Listens on argv[1]; for each connection, records how many bytes the client sent before
# closing (one line each in argv[2]), and closes as soon as it has anything.
FAKE_SERVER = """
import socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen(8)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    conn.settimeout(5)
    try:
        got = len(conn.recv(65536))
    except OSError:
        got = -1
    with open(sys.argv[2], "a") as f:
        f.write(f"{got}\\n")
    conn.close()
"""


def _python_for_nobody() -> str | None:
    """An interpreter another user can run (ours may live under /root)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        probe = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             candidate, "-I", "-S", "-c", "pass"],
            capture_output=True, timeout=10,
        )
        if probe.returncode == 0:
            return candidate
    return None


@contextlib.contextmanager
def _foreign_server() -> Iterator[tuple[str, str]]:
    """A listening socket of uid 65534; yields its path and the file recording what it
    received. The process is killed and its directory removed, whatever happens."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a server as another user")
    python = _python_for_nobody()
    if python is None:
        pytest.skip(f"no python that uid {NOBODY} can run")
    home = tempfile.mkdtemp(prefix="ptm-foreign-", dir="/tmp")
    proc: subprocess.Popen[bytes] | None = None
    try:
        os.chmod(home, 0o755)
        os.chown(home, NOBODY, NOBODY)
        path, record = os.path.join(home, "sock"), os.path.join(home, "received")
        proc = subprocess.Popen(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             python, "-I", "-S", "-c", FAKE_SERVER, path, record],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"},
        )
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 10)[0], "the fake server did not start"
        assert proc.stdout.readline() == b"ready\n"
        yield path, record
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(home, ignore_errors=True)


def _received(record: str, connections: int) -> list[int]:
    def lines() -> list[int]:
        try:
            with open(record) as f:
                return [int(line) for line in f.read().split()]
        except FileNotFoundError:
            return []
    wait_until(lambda: len(lines()) >= connections, what="the fake server to record")
    return lines()


def test_client_refuses_a_server_of_another_uid(mux: Mux) -> None:
    """Nothing goes to a stranger's server: not the hello, not a key, not a terminal."""
    with _foreign_server() as (path, record):
        for args in (["ls"], ["new", "-d", "--", "sleep", "30"], ["attach"]):
            message = _refused(mux.run("-S", path, *args))
            assert message == (f"ptymux: refusing the server on {path}: it runs as uid"
                               f" {NOBODY}, not as you (uid 0) or root"), args
        assert _received(record, 3) == [0, 0, 0]


def test_client_accepts_a_server_of_its_own_on_a_given_socket(mux: Mux) -> None:
    path = os.path.join(mux.root, "mine")
    mux.run("-S", path, "new", "-d", "--", "sleep", "30", check=True)
    try:
        assert mux.run("-S", path, "ls", check=True).stdout.startswith("0: sleep 30 ")
    finally:
        mux.run("-S", path, "kill-server", timeout=20)


# --- the code the server runs -------------------------------------------------------------

def _text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


HOSTILE_INIT = "open({marker!r}, 'w').write('ran')\n"


@pytest.mark.parametrize("kind", ["hostile", "empty"])
def test_server_ignores_a_ptymux_package_in_the_current_directory(mux: Mux, kind: str) -> None:
    """A ``ptymux/`` where the user happens to be must not be imported by the server it
    starts (a hostile one would run as the user; an empty one broke ``new``), while the
    session's program still starts in that directory."""
    work = os.path.realpath(os.path.join(mux.root, "work"))
    marker = os.path.join(mux.root, "marker")
    os.makedirs(os.path.join(work, "ptymux", "server"))
    if kind == "hostile":
        for sub in ("", "server"):
            with open(os.path.join(work, "ptymux", sub, "__init__.py"), "w") as f:
                f.write(HOSTILE_INIT.format(marker=marker))
        with open(os.path.join(work, "ptymux", "server", "__main__.py"), "w") as f:
            f.write(HOSTILE_INIT.format(marker=marker))
    result = subprocess.run(
        [PTYMUX, "new", "-d", "--", "sh", "-c", "pwd > out; sleep 30"], cwd=work,
        env=mux.env, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    out = os.path.join(work, "out")
    wait_until(lambda: _text(out).endswith("\n"), what="the session to write its directory")
    assert _text(out) == work + "\n"
    assert not os.path.exists(marker)
    assert mux.server_pid()
