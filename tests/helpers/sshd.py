"""A throwaway OpenSSH server on 127.0.0.1, for the -H tests (tests/test_remote_e2e.py) and
the remote benchmark (bench/remote.py).

Debian's ``sshd`` in the foreground (``-D -e``) under the caller's control, with its own
host key, one user key and its own ``authorized_keys``, on a free port, for the user running
it (root in CI: ``PermitRootLogin yes``). ``client_config`` writes an ``ssh -F`` file for
the client side: that key, that port, no known_hosts, no questions (``BatchMode``).
``close`` ends the listener and every connection process it started, and removes nothing
the caller did not give it: everything lives in the directory passed in.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"
START_TIMEOUT = 10.0


def unavailable() -> str | None:
    """Why no server can be run here (the tests skip with it), or None."""
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (Debian's openssh-server; .ci/run installs it)"
    for program in ("ssh", "ssh-keygen"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian's openssh-client)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _keygen(path: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ptymux-test",
                    "-f", path], check=True, timeout=30, stdin=subprocess.DEVNULL)


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (read from /proc: ppid links)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Sshd:
    """sshd on 127.0.0.1:``port``, all its files in ``root`` (which the caller removes)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.user = getpass.getuser()
        self.host_key = os.path.join(root, "host_key")
        self.user_key = os.path.join(root, "user_key")
        self.other_key = os.path.join(root, "other_key")  # not authorized: a refused login
        for key in (self.host_key, self.user_key, self.other_key):
            _keygen(key)
        shutil.copy(self.user_key + ".pub", os.path.join(root, "authorized_keys"))
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755)  # its privilege separation directory
        self.log_path = os.path.join(root, "sshd.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        for _attempt in range(5):  # (a free port may be taken before sshd binds it)
            if self._start():
                return
        raise RuntimeError(f"sshd did not start: {self.log()}")

    def _start(self) -> bool:
        self.port = _free_port()
        config = os.path.join(self.root, "sshd_config")
        with open(config, "w") as f:
            f.write(f"""\
ListenAddress 127.0.0.1
Port {self.port}
HostKey {self.host_key}
AuthorizedKeysFile {os.path.join(self.root, "authorized_keys")}
PidFile none
UsePAM no
StrictModes no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100:30:200
LogLevel ERROR
""")
        log = open(self.log_path, "ab")  # noqa: SIM115 (sshd's for as long as it runs)
        try:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1) as probe:
                if probe.recv(64).startswith(b"SSH-"):
                    return True
            time.sleep(0.02)
        self.close()
        return False

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def client_config(self, name: str, key: str | None = None, port: int | None = None
                      ) -> str:
        """An ``ssh -F`` file (``ROOT/NAME``) for any host name: this server, with ``key``
        (default: the authorized one) on ``port`` (default: this server's)."""
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(f"""\
Host *
    HostName 127.0.0.1
    Port {port or self.port}
    User {self.user}
    IdentityFile {key or self.user_key}
    IdentitiesOnly yes
    IdentityAgent none
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    GlobalKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
    ConnectTimeout 10
""")
        return path

    def close(self) -> None:
        """End the listener and every connection process it started (they end with their
        clients; whatever is left after a few seconds is killed)."""
        if self.proc is None:
            return
        children = _children(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in children:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc = None
