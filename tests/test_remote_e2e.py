"""ptymux -H: sessions on another host, over a real OpenSSH server (issue 12).

A module-wide sshd (tests/helpers/sshd.py) on 127.0.0.1 plays the remote host's; a ``Mux``
is the remote user's ptymux world. The client runs with its own, empty socket and state
directories (nothing local could answer for the remote server) and reaches the remote side
with ``PTYMUX_SSH="ssh -F FILE"`` and the config's ``remote-command`` pointing at a wrapper
that exports the Mux's environment and execs the real ptymux: what a user with a custom
install writes. The client's environment has ``FOO=local`` and its own directory, which a
remote session must never see.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Iterator

import pytest
from helpers.sshd import Sshd, unavailable

from harness import PTYMUX, Mux, Terminal, ask, raw_connect, wait_until
from ptymux import protocol as p
from ptymux.client.remote import Host, parse_host

HOST = "box"  # any name: the client's ssh config sends every host to the test's sshd
HOME = pwd.getpwuid(os.getuid()).pw_dir  # where a remote session starts by default
DETACH = b"\x10\x11"


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    why = unavailable()
    if why:
        pytest.skip(why)
    root = tempfile.mkdtemp(prefix="ptm-sshd-", dir="/tmp")
    server = Sshd(root)
    try:
        yield server
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


class Remote:
    """The client's side of ``ptymux -H box``, reaching the Mux's server through sshd."""

    def __init__(self, mux: Mux, sshd: Sshd) -> None:
        self.mux = mux
        self.sshd = sshd
        self.wrapper = os.path.join(mux.root, "remote-ptymux")
        self.write_wrapper()
        self.config(f'remote-command = "{self.wrapper}"\n')
        self.cwd = os.path.join(mux.root, "client-cwd")  # the client's own directory
        os.mkdir(self.cwd)
        self.env = {
            **mux.env,
            "PTYMUX_SSH": f"ssh -F {sshd.client_config('client')}",
            "PTYMUX_SOCKET_DIR": os.path.join(mux.root, "client-sockets"),
            "XDG_STATE_HOME": os.path.join(mux.root, "client-state"),
            "FOO": "local",
        }

    def write_wrapper(self, **extra: str) -> None:
        """The remote command: the Mux's world, then the real ptymux (sshd passes no
        environment of the client's)."""
        keep = ("PTYMUX_SOCKET_DIR", "XDG_STATE_HOME", "PTYMUX_CONFIG", "LANG", "PS1",
                "SHELL", "PYTHONPATH")
        names = {k: self.mux.env[k] for k in keep if k in self.mux.env}
        names.update(extra)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in names.items())
        with open(self.wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexport {exports}\nexec {shlex.quote(PTYMUX)} \"$@\"\n")
        os.chmod(self.wrapper, 0o755)

    def config(self, text: str) -> None:
        with open(self.mux.env["PTYMUX_CONFIG"], "w") as f:
            f.write(text)

    def run(self, *args: str, env: dict[str, str] | None = None, check: bool = False,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([PTYMUX, "-H", HOST, *args], env=env or self.env,
                                cwd=self.cwd, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"ptymux -H {HOST} {' '.join(args)}: {result.stderr}")
        return result

    def spawn(self, *args: str, cols: int = 80, rows: int = 24) -> Terminal:
        term = Terminal([PTYMUX, "-H", HOST, *args], self.env, cols, rows, cwd=self.cwd)
        self.mux.terminals.append(term)
        return term

    def sessions(self) -> dict[str, dict[str, object]]:
        """``ls --json`` of the remote server, asked there directly (no ssh: quick)."""
        out = self.mux.run("ls", "--json").stdout or "[]"
        return {s["name"]: s for s in json.loads(out)}

    def screen(self, name: str) -> str:
        return self.mux.run("capture", "-t", name).stdout


@pytest.fixture
def remote(mux: Mux, sshd: Sshd) -> Remote:
    return Remote(mux, sshd)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _attached(remote: Remote, name: str) -> bool:
    return remote.sessions().get(name, {}).get("attached") == 1


# --- commands ---------------------------------------------------------------------------


def test_ls_new_and_capture_over_ssh(remote: Remote) -> None:
    none = remote.run("ls")
    assert none.returncode == 1
    assert _one_line(none.stderr) == f"ptymux: {HOST}: no server running on {remote.mux.socket}"
    script = 'echo "FOO=${FOO-unset} BAR=$BAR TERM=$TERM SSH=${SSH_CONNECTION:+yes}"; pwd; sleep 60'
    remote.run("new", "-d", "-s", "job", "-e", "BAR=given", "--", "sh", "-c", script,
               check=True)
    listed = remote.run("ls", check=True).stdout
    assert listed.startswith("job: sh -c ")
    wait_until(lambda: "SSH=" in remote.screen("job"), what="the program's output")
    captured = remote.run("capture", "-t", "job", check=True).stdout.splitlines()
    # The remote user's environment (from the login ssh gave the proxy), TERM and -e: not
    # the client's FOO; the remote home, not the client's directory.
    assert captured[0] == "FOO=unset BAR=given TERM=xterm-256color SSH=yes"
    assert captured[1] == HOME != remote.cwd
    remote.run("new", "-d", "-s", "there", "-c", remote.mux.root, "--", "sh", "-c",
               "pwd; sleep 60", check=True)  # -c DIR: as given, on the remote host
    wait_until(lambda: remote.mux.root in remote.screen("there"), what="pwd")
    env = {**remote.env, "PTYMUX_HOST": HOST}  # PTYMUX_HOST instead of -H
    by_env = subprocess.run([PTYMUX, "ls", "-F", "#{session_name}"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert by_env.stdout.split() == ["job", "there"]
    assert remote.run("kill-session", "-t", "there").returncode == 0
    assert remote.run("has-session", "-t", "there").returncode == 1
    assert list(remote.sessions()) == ["job"]


def test_start_and_kill_server_over_ssh(remote: Remote) -> None:
    assert remote.run("start-server", check=True).stdout == ""
    assert remote.mux.server_pid() is not None
    assert remote.run("ls", check=True).stdout == ""  # a server without sessions, kept up
    foreground = remote.run("start-server", "--foreground")
    assert foreground.returncode == 2
    assert "not with -H" in _one_line(foreground.stderr)
    assert remote.run("kill-server", check=True).returncode == 0
    assert not os.path.exists(remote.mux.socket)  # it has stopped serving
    wait_until(lambda: remote.mux.server_pid() is None, what="the server to exit")
    gone = remote.run("kill-server")
    assert gone.returncode == 1
    assert _one_line(gone.stderr) == f"ptymux: {HOST}: no server running on {remote.mux.socket}"


def test_attach_redraw_type_resize_title_and_detach(remote: Remote) -> None:
    program = ("printf '\\033[5;10H\\033[1mPLACED\\033[0m\\033[1;1H';"
               ' while read line; do echo "got:$line $(stty size)"; done')
    remote.run("new", "-d", "-s", "edit", "-x", "80", "-y", "24", "--", "sh", "-c", program,
               check=True)
    wait_until(lambda: "PLACED" in remote.screen("edit"), what="the program's screen")
    term = remote.spawn("attach", "-t", "edit")
    term.wait_for("PLACED")  # the full redraw: in place, as the session has it
    assert term.lines()[4][9:15] == "PLACED"
    wait_until(lambda: _attached(remote, "edit"), what="attached")
    term.send(b"abc\r")
    term.wait_for("got:abc 24 80")
    term.resize(100, 30)
    wait_until(lambda: remote.sessions()["edit"]["cols"] == 100, what="the resize")
    term.send(b"x\r")
    term.wait_for("got:x 30 100")
    term.wait_raw(f"ptymux: {HOST}: edit".encode())  # the title names the host
    clients = remote.run("list-clients", "--json", check=True).stdout
    assert json.loads(clients)[0]["tty"].startswith(f"{socket.gethostname()}:/dev/")
    term.send(DETACH)
    assert term.wait_exit() == 0
    assert "[detached (from session edit)]" in term.text()
    assert not _attached(remote, "edit")


def test_upgrade_server_over_ssh_keeps_the_attached_remote_client(remote: Remote) -> None:
    """``upgrade-server -H``: the remote server re-executes itself; the client attached
    through ssh (its proxy's connection, carried as any client's) stays attached and
    typing still reaches the program."""
    program = 'while read line; do echo "got:$line"; done'
    remote.run("new", "-d", "-s", "edit", "--", "sh", "-c", program, check=True)
    term = remote.spawn("attach", "-t", "edit")
    wait_until(lambda: _attached(remote, "edit"), what="attached")
    term.send(b"one\r")
    term.wait_for("got:one")
    pid = remote.sessions()["edit"]["pid"]
    server = remote.mux.server_pid()

    done = remote.run("upgrade-server", timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"server {server} upgraded" in done.stdout and "1 session kept" in done.stdout
    assert remote.sessions()["edit"]["pid"] == pid and _attached(remote, "edit")
    term.send(b"two\r")
    term.wait_for("got:two")
    info = json.loads(remote.run("server-info", "--json", check=True).stdout)
    assert info["handovers"] == 1 and info["pid"] == server
    term.send(DETACH)
    assert term.wait_exit() == 0
    assert "[detached (from session edit)]" in term.text()


def test_new_attached_and_its_exit_status(remote: Remote) -> None:
    term = remote.spawn("new", "-s", "quick", "--", "sh", "-c", "echo READY; read x; exit 3")
    term.wait_for("READY")
    term.send(b"\r")
    assert term.wait_exit() == 3
    assert "[exited (session quick, status 3)]" in term.text()


def test_wait_gives_the_status_also_after_the_server_exited(remote: Remote) -> None:
    remote.run("new", "-d", "-s", "job", "--", "sh", "-c", "read x; exit 7", check=True)
    waiter = subprocess.Popen([PTYMUX, "-H", HOST, "wait", "-t", "job"], env=remote.env,
                              stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        remote.run("send-keys", "-t", "job", "Enter", check=True)
        assert waiter.wait(30) == 7, waiter.stderr.read() if waiter.stderr else ""
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
        if waiter.stderr:
            waiter.stderr.close()
    # The last session ends, the server with it: the status is kept on the remote host.
    wait_until(lambda: not os.path.exists(remote.mux.socket), what="the server to exit")
    remote.run("new", "-d", "-s", "last", "--", "sh", "-c", "exit 5", check=True)
    wait_until(lambda: remote.mux.server_pid() is None, what="the server to exit again")
    assert remote.run("wait", "-t", "last").returncode == 5


def test_the_switcher_lists_and_creates_sessions_on_that_host(remote: Remote) -> None:
    mux = remote.mux
    if shutil.which("tmux") is None:
        pytest.skip("tmux plays the user's terminal here")
    for name, text in (("alpha", "ALPHA-SCREEN"), ("beta", "BETA-SCREEN")):
        remote.run("new", "-d", "-s", name, "-x", "80", "-y", "24", "--", "sh", "-c",
                   f"echo {text}; sleep 600", check=True)
    client = [f"{k}={remote.env[k]}" for k in ("PTYMUX_SSH", "PTYMUX_SOCKET_DIR",
                                               "XDG_STATE_HOME", "FOO")]
    term = mux.tmux_direct("env", *client, PTYMUX, "-H", HOST, "attach", "-t", "alpha")
    term.wait_for("ALPHA-SCREEN")
    wait_until(lambda: term.title() == f"ptymux: {HOST}: alpha", what="the title")
    term.keys("C-p", "C-o")
    term.wait_for("beta")
    assert f"ptymux on {HOST}:" in term.text()  # the switcher's header names the host
    term.keys("Down")
    term.wait_for("BETA-SCREEN")  # the preview, asked on the same connection
    term.keys("Enter")
    wait_until(lambda: _attached(remote, "beta"), what="beta attached")
    wait_until(lambda: term.text().splitlines()[0] == "BETA-SCREEN", what="beta's redraw")
    wait_until(lambda: term.title() == f"ptymux: {HOST}: beta", what="the title")
    # c: a session created from the switcher follows new's rule: the remote environment
    # and home, not the client's FOO or directory.
    term.keys("C-p", "C-o")
    term.wait_for("alpha")
    term.keys("c")
    wait_until(lambda: len(remote.sessions()) == 3, what="a third session")
    term.wait_for("$")
    term.literal('echo "F=${FOO-unset}" "D=$(pwd)"')
    term.keys("Enter")
    term.wait_for(f"F=unset D={HOME}")
    term.detach()
    assert "[detached (from session 2)]" in term.text()


def test_bash_completes_the_sessions_of_the_host_named(remote: Remote) -> None:
    for name in ("build", "bench"):
        remote.run("new", "-d", "-s", name, "--", "sleep", "60", check=True)
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "contrib", "completions", "ptymux.bash")
    words = ["ptymux", "-H", HOST, "attach", "-t", "b"]
    run = (f"source {script}\nCOMP_WORDS=({' '.join(words)})\nCOMP_CWORD={len(words) - 1}\n"
           "_ptymux\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {**remote.env, "PATH": os.path.dirname(PTYMUX) + ":" + remote.env["PATH"]}
    result = subprocess.run(["bash", "-c", run], env=env, capture_output=True, text=True,
                            timeout=30, cwd=remote.cwd)
    assert sorted(result.stdout.split()) == ["bench", "build"]


# --- flow control -----------------------------------------------------------------------


class _Drain:
    """A real client in a real pty whose output is read (and only its tail kept) while
    ``reading`` is set: a terminal that can stop taking output, without an emulator that
    could not keep up with a flood."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.tail = b""
        self.reading = threading.Event()
        self.reading.set()
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            self.reading.wait()
            try:
                if not select.select([self.master], [], [], 0.2)[0]:
                    if self.proc.poll() is not None:
                        break
                    continue
                data = os.read(self.master, 1 << 16)
            except OSError:
                break
            if not data:
                break
            self.tail = (self.tail + data)[-4096:]
        self.done.set()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.reading.set()
        self.done.wait(5)
        os.close(self.master)


def _proxy_rss_kb(mux: Mux) -> list[int]:
    """VmRSS of each remote ``ptymux proxy`` of this Mux."""
    sizes = []
    for pid in mux.leftover_processes():
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"proxy" not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                sizes += [int(line.split()[1]) for line in f if line.startswith("VmRSS:")]
    return sizes


def test_a_flood_is_held_back_end_to_end_and_detach_still_works(remote: Remote) -> None:
    # (a long stall timeout: this terminal is to stay behind, not be caught up)
    remote.write_wrapper(PTYMUX_STALL_TIMEOUT="3600")
    remote.run("new", "-d", "-s", "flood", "--", "sh", "-c",
               "read go; yes 'a line of flood, 0123456789'", check=True)
    term = _Drain([PTYMUX, "-H", HOST, "attach", "-t", "flood"], remote.env, remote.cwd)
    try:
        wait_until(lambda: _attached(remote, "flood"), what="attached")
        term.reading.clear()  # the terminal stops taking output
        os.write(term.master, b"\r")  # go

        def behind() -> int:
            out = remote.mux.run("list-clients", "--json").stdout or "[]"
            return max((c["behind"] for c in json.loads(out)), default=0)

        # Everything between the server and the stopped terminal fills up (ssh, the
        # proxy's buffer) until the server itself holds output back: with a proxy that
        # buffered without bound, the server would never be behind.
        wait_until(lambda: behind() >= 256 << 10, timeout=30, what="the server to be behind")
        sizes = _proxy_rss_kb(remote.mux)
        assert sizes and max(sizes) < 100 << 10, sizes  # bounded: tens of MB, not the flood
        term.reading.set()
        os.write(term.master, DETACH)
        assert term.proc.wait(30) == 0
        term.done.wait(10)
        assert b"[detached (from session flood)]" in term.tail
    finally:
        term.close()


# --- errors -----------------------------------------------------------------------------


FAKE = """\
import os, sys
from ptymux import protocol as p
if sys.argv[1] == "old":  # a ptymux from before -H, which has no proxy command
    sys.stderr.write("ptymux: unknown command 'proxy'\\n")
    sys.exit(2)
decoder, got = p.FrameDecoder(), []
while not got:
    data = os.read(0, 65536)
    if not data:
        sys.exit(1)
    got = decoder.messages(data)
if sys.argv[1] == "hello":  # a server that speaks only a future version
    os.write(1, p.encode(p.Hello(version=99, pid=1, versions=[99], software="ptymux 9.0")))
else:  # a server that refuses our versions, as a real one does
    os.write(1, p.encode(p.Error("protocol version 4 is not supported by this server (it"
                                 " speaks 99, ptymux 9.0); run 'ptymux kill-server' after"
                                 " upgrading", code="version")))
"""


def _fake_remote(remote: Remote, mode: str) -> str:
    path = os.path.join(remote.mux.root, "fake_remote.py")
    with open(path, "w") as f:
        f.write(FAKE)
    return f"{sys.executable} {path} {mode}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port  # nobody listens once it is closed


@pytest.mark.parametrize("case", ["ssh-missing", "unreachable", "auth-refused",
                                  "ptymux-missing", "too-old", "no-version", "refused-version",
                                  "bad-ssh-command"])
def test_errors_are_one_line_and_exit_1(remote: Remote, case: str) -> None:
    env = dict(remote.env)
    sshd, user = remote.sshd, remote.sshd.user
    if case == "ssh-missing":
        env["PTYMUX_SSH"] = "/nonexistent/ssh -F x"
        want = ("can't run ssh (/nonexistent/ssh: not found); install OpenSSH's client, or"
                " name it with PTYMUX_SSH or ssh-command in the config file")
    elif case == "unreachable":
        port = _closed_port()
        env["PTYMUX_SSH"] = f"ssh -F {sshd.client_config('closed', port=port)}"
        want = f"can't reach {HOST}: ssh: connect to host 127.0.0.1 port {port}: Connection refused"
    elif case == "auth-refused":
        env["PTYMUX_SSH"] = f"ssh -F {sshd.client_config('wrong-key', key=sshd.other_key)}"
        want = f"can't log in to {HOST}: {user}@127.0.0.1: Permission denied (publickey)."
    elif case == "ptymux-missing":  # (the remote shell's words for it vary: sh, bash)
        remote.config('remote-command = "/nonexistent/bin/ptymux"\n')
        want = ""
    elif case == "too-old":
        remote.config(f'remote-command = "{_fake_remote(remote, "old")}"\n')
        want = (f"the ptymux on {HOST} is too old to be reached with -H (it has no 'proxy'"
                " command): upgrade it there")
    elif case == "no-version":
        remote.config(f'remote-command = "{_fake_remote(remote, "hello")}"\n')
        want = (f"{HOST}: no protocol version in common with the server (ptymux 9.0 speaks 99;"
                " this ptymux speaks 3, 4)")
    elif case == "refused-version":
        remote.config(f'remote-command = "{_fake_remote(remote, "error")}"\n')
        want = (f"{HOST}: protocol version 4 is not supported by this server (it speaks 99,"
                " ptymux 9.0); run 'ptymux kill-server' after upgrading (this ptymux speaks"
                " 3, 4)")
    else:
        remote.config("ssh-command = 'ssh \"'\n")
        want = f"config file {env['PTYMUX_CONFIG']}: ssh-command: No closing quotation"
    result = remote.run("ls", env=env)
    assert result.returncode == 1, result.stderr
    line = _one_line(result.stderr)
    if case == "ptymux-missing":
        assert line.startswith(f"ptymux: ptymux is not installed on {HOST}: "), line
        assert line.endswith(": /nonexistent/bin/ptymux: No such file or directory (install"
                             " it there, or set remote-command in the config file to its"
                             " path)") or "/nonexistent/bin/ptymux: not found" in line, line
    else:
        assert line == f"ptymux: {want}"
    assert not remote.mux.leftover_processes()


def test_bad_hosts_are_usage_errors(mux: Mux) -> None:
    for bad in ("", "a b", "user@", "host:0", "host:99999", "[::1"):
        result = mux.run("-H", bad, "ls")
        assert result.returncode == 2, (bad, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    env = {**mux.env, "PTYMUX_HOST": "-oProxyCommand=x"}  # never an ssh option
    result = mux.run("ls", env=env)
    assert result.returncode == 2
    assert _one_line(result.stderr) == ("ptymux: bad host '-oProxyCommand=x': use"
                                        " [user@]host[:port]")
    assert mux.run("help", env=env).returncode == 0  # (needs no server: no host either)
    assert "-H HOST" in mux.run("--help").stdout


def test_host_specs() -> None:
    assert parse_host("box") == Host("box")
    assert parse_host("alice@build-box:2222") == Host("build-box", "alice", 2222)
    assert parse_host("ssh://bob@10.0.0.1") == Host("10.0.0.1", "bob")
    assert parse_host("[::1]:22") == Host("::1", "", 22)
    assert parse_host("fe80::1") == Host("fe80::1")


def test_a_server_refuses_a_remote_new_that_bypassed_the_proxy(mux: Mux) -> None:
    """The remote defaults are the proxy's to fill in: a server must not create a session
    with an empty environment (or the server's own) in their place."""
    mux.run("new", "-d", "-s", "keep", "--", "sleep", "60", check=True)
    sock = raw_connect(mux)
    try:
        sock.sendall(p.encode(p.Hello(version=p.VERSION, pid=os.getpid(),
                                      versions=[p.VERSION])))
        request = p.NewSession(argv=["true"], cwd="", env={"TERM": "xterm"}, cols=80,
                               rows=24, detached=True, remote=True)
        refused = ask(sock, request, 1)
        assert isinstance(refused, p.Error) and refused.code == "usage", refused
        listing = ask(sock, p.ListSessions(), 2)  # the connection carries on
        assert isinstance(listing, p.SessionList)
        assert [s.name for s in listing.sessions] == ["keep"]
    finally:
        sock.close()
