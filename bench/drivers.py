"""Drivers: a stand-in for the user's terminal (a real pty that is drained), one class per
multiplexer, and the /proc readings the workloads need.

Every multiplexer instance lives in its own temporary directory (sockets, logs, state) so
that runs never share a server, and ``cleanup`` ends every process it started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterable

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the user's terminal ------------------------------------------------------------------


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Terminal:
    """A program in a real pty of ``cols`` x ``rows``, read as fast as a terminal would.

    The size is set before the program starts, and the program is a session leader with the
    pty as its controlling terminal, exactly as under a terminal emulator.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 80, rows: int = 24):
        master, slave = os.openpty()
        _set_size(slave, cols, rows)
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        os.close(slave)
        self.pid = pid
        self.fd = master
        self.received = 0
        self.first_at: float | None = None  # when the first byte of output arrived
        self.closed = False
        self._window = bytearray()  # output not yet consumed by expect()
        self._status: int | None = None

    def _read(self, timeout: float) -> bytes:
        if self.closed:
            return b""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return b""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:  # EIO: every slave fd is closed
            chunk = b""
        if not chunk:
            self.closed = True
        elif self.first_at is None:
            self.first_at = time.monotonic()
        self.received += len(chunk)
        return chunk

    def expect(self, needle: bytes, timeout: float) -> float | None:
        """Read until ``needle`` has arrived; the monotonic time it did, or None on timeout.

        Output before the needle is consumed; output after it stays for the next call.
        """
        deadline = time.monotonic() + timeout
        keep = max(len(needle) - 1, 0)
        while True:
            at = self._window.find(needle)
            if at >= 0:
                del self._window[: at + len(needle)]
                return time.monotonic()
            if keep:
                del self._window[:-keep]
            else:
                self._window.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return None
            self._window += self._read(min(remaining, 0.5))

    def pump(self) -> bytes:
        """What the terminal has for us now, without waiting (b"" if nothing)."""
        return self._read(0)

    def drain(self, seconds: float) -> None:
        """Read and discard whatever arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while not self.closed and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        self._window.clear()

    def clear(self) -> None:
        self._window.clear()

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float) -> bool:
        """Wait (draining) for the program to exit; True if it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() is not None:
                return True
            self._read(0.02)
        return self.poll() is not None

    def poll(self) -> int | None:
        if self._status is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self._status = status
        return self._status

    def close(self) -> None:
        """Kill the program (its whole process group) and close the pty."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
                self._status = -9
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.closed = True


def run_sized(
    argv: list[str], env: dict[str, str], cols: int, rows: int, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    """Run a command whose stdin is a pty of the given size (how `new -d` learns a size)."""
    master, slave = os.openpty()
    try:
        _set_size(slave, cols, rows)
        return subprocess.run(
            argv, env=env, stdin=slave, capture_output=True, timeout=timeout, check=False,
            start_new_session=True,
        )
    finally:
        os.close(slave)
        os.close(master)


# --- /proc readings -----------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches over all threads: how often it woke up."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _ancestors() -> set[int]:
    pids = set()
    pid = os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return pids


def processes_mentioning(text: str) -> list[int]:
    """Pids of our processes whose command line or environment contains ``text``."""
    needle = text.encode()
    mine = _ancestors()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    if needle in f.read():
                        found.append(int(entry))
                        break
            except OSError:
                continue
    return found


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_for(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.005
) -> float | None:
    """Poll ``predicate()`` until true; the monotonic time it became true, or None."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def wait_idle(pids: list[int], quiet: float = 0.3, timeout: float = 60) -> bool:
    """Wait until the processes have used no CPU for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last = sum(cpu_seconds(p) for p in pids)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = sum(cpu_seconds(p) for p in pids)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


# --- multiplexers -------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
    for name in ("TMUX", "PTYMUX", "STY", "WINDOW", "LINES", "COLUMNS"):
        env.pop(name, None)
    return env


class Mux:
    """One multiplexer, with a private directory and server. Subclasses fill in the argv."""

    name = "?"
    detach_keys = b""
    can_capture = False  # has a screen model it can print (capture)
    can_list = False
    can_redraw = False  # redraws the screen on attach
    keeps_history = False

    def __init__(self, root: str) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=root)
        os.chmod(self.dir, 0o700)
        self.env = base_env()

    @classmethod
    def available(cls) -> bool:
        return True

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    # What each workload asks of a multiplexer.
    def new_attached(self, cmd: str) -> list[str]:
        """argv that creates a session running ``sh -c cmd`` and attaches to it."""
        raise NotImplementedError

    def new_detached(self, name: str, cmd: str, cols: int, rows: int, history: int) -> None:
        raise NotImplementedError

    def attach(self, name: str) -> list[str]:
        raise NotImplementedError

    def capture(self, name: str) -> str:
        raise NotImplementedError

    def ls(self) -> str:
        raise NotImplementedError

    def has(self, name: str) -> None:
        """has-session (scripts ask it in loops)."""
        raise NotImplementedError

    def send(self, name: str, text: str) -> None:
        """send-keys of literal text."""
        raise NotImplementedError

    def kill_server(self) -> None:
        raise NotImplementedError

    def server_pids(self) -> list[int]:
        """The process(es) holding the sessions: one server, or one per session."""
        return []

    def _stop(self) -> None:
        """Ask the multiplexer to end everything (the polite part of cleanup)."""

    def cleanup(self) -> None:
        """End every process this instance started, whatever state it is in."""
        pids = self.server_pids()
        with contextlib.suppress(Exception):
            self._stop()
        kill_pids(p for p in pids if alive(p))
        kill_pids(processes_mentioning(self.dir))
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, argv: list[str], timeout: float = 30) -> str:
        done = subprocess.run(
            argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=timeout, check=False, start_new_session=True,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:3])}... exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[:200]}"
            )
        return done.stdout.decode(errors="replace")


class Raw(Mux):
    """No multiplexer: the program straight in the terminal's pty (the harness's ceiling)."""

    name = "raw"

    def new_attached(self, cmd: str) -> list[str]:
        return ["sh", "-c", cmd]


def private_ptymux_env(root: str) -> dict[str, str]:
    """This process's environment for a ptymux world of its own under ``root``: its own
    socket directory, state directory and (empty) config file, and no PTYMUX* or TMUX*
    variable of the caller's (a PTYMUX_HOST would send it to another machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTYMUX", "TMUX"))}
    env.update(PTYMUX_SOCKET_DIR=os.path.join(root, "sock"),
               XDG_STATE_HOME=os.path.join(root, "state"),
               PTYMUX_CONFIG=os.path.join(root, "config.toml"))
    with open(env["PTYMUX_CONFIG"], "w"):  # must exist: an empty one is the defaults
        pass
    return env


def ptymux_binary() -> str | None:
    """The console script next to this interpreter (what `pip install` puts on PATH), else
    whatever `ptymux` PATH finds. A version manager's shim (pyenv) would add ~40 ms of bash
    to every command, which is not ptymux's cost."""
    beside = os.path.join(os.path.dirname(sys.executable), "ptymux")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("ptymux")


class Ptymux(Mux):
    name = "ptymux"
    detach_keys = b"\x10\x11"  # Ctrl-P Ctrl-Q
    can_capture = can_list = can_redraw = keeps_history = True
    binary = ptymux_binary() or "ptymux"
    emulator: str | None = None  # PTYMUX_EMULATOR for the server (None: ptymux's default)

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.env["PTYMUX_SOCKET_DIR"] = self.path("sock")
        self.env["XDG_STATE_HOME"] = self.path("state")
        self.env["PTYMUX_CONFIG"] = self.path("config.toml")
        with open(self.env["PTYMUX_CONFIG"], "w"):  # must exist: an empty one is the defaults
            pass
        if self.emulator:
            self.env["PTYMUX_EMULATOR"] = self.emulator

    @classmethod
    def available(cls) -> bool:
        return ptymux_binary() is not None

    def new_attached(self, cmd: str) -> list[str]:
        return [self.binary, "new", "--", "sh", "-c", cmd]

    def new_detached(self, name: str, cmd: str, cols: int, rows: int, history: int) -> None:
        argv = [self.binary, "new", "-d", "-s", name, "--history", str(history),
                "--", "sh", "-c", cmd]
        done = run_sized(argv, self.env, cols, rows)
        if done.returncode != 0:
            raise RuntimeError(f"ptymux new -d failed: {done.stderr.decode().strip()}")

    def attach(self, name: str) -> list[str]:
        return [self.binary, "attach", "-t", name]

    def capture(self, name: str) -> str:
        return self._run([self.binary, "capture", "-t", name])

    def ls(self) -> str:
        return self._run([self.binary, "ls"])

    def has(self, name: str) -> None:
        self._run([self.binary, "has-session", "-t", name])

    def send(self, name: str, text: str) -> None:
        self._run([self.binary, "send-keys", "-t", name, "-l", text])

    def kill_server(self) -> None:
        self._run([self.binary, "kill-server"])

    def server_pids(self) -> list[int]:
        try:
            with open(self.path("state/ptymux/server-default.log")) as f:
                pids = re.findall(r"server (\d+) listening", f.read())
        except OSError:
            return []
        return [int(pids[-1])] if pids and alive(int(pids[-1])) else []

    def _stop(self) -> None:
        if self.server_pids():
            subprocess.run([self.binary, "kill-server"], env=self.env, timeout=15,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


class Tmux(Mux):
    """tmux with no config; the status line is turned off so that the pane is as big as the
    terminal, as it is under ptymux, screen and dtach."""

    name = "tmux"
    detach_keys = b"\x02d"  # Ctrl-B d
    can_capture = can_list = can_redraw = keeps_history = True

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.base = ["tmux", "-S", self.path("tmux.sock"), "-f", "/dev/null"]
        self._pid: int | None = None

    @classmethod
    def available(cls) -> bool:
        return shutil.which("tmux") is not None

    def new_attached(self, cmd: str) -> list[str]:
        return [*self.base, "set", "-g", "status", "off", ";", "new-session", cmd]

    def new_detached(self, name: str, cmd: str, cols: int, rows: int, history: int) -> None:
        self._run([*self.base, "set", "-g", "status", "off", ";",
                   "set", "-g", "history-limit", str(history), ";",
                   "new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), cmd])

    def attach(self, name: str) -> list[str]:
        return [*self.base, "attach", "-t", name]

    def capture(self, name: str) -> str:
        return self._run([*self.base, "capture-pane", "-p", "-t", name])

    def ls(self) -> str:
        return self._run([*self.base, "ls"])

    def has(self, name: str) -> None:
        self._run([*self.base, "has-session", "-t", name])

    def send(self, name: str, text: str) -> None:
        self._run([*self.base, "send-keys", "-t", name, "-l", text])

    def kill_server(self) -> None:
        self._run([*self.base, "kill-server"])
        self._pid = None

    def server_pids(self) -> list[int]:
        if self._pid is None or not alive(self._pid):
            try:
                self._pid = int(self._run([*self.base, "display", "-p", "#{pid}"], 5))
            except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                return []
        return [self._pid]

    def _stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], env=self.env, timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


class Screen(Mux):
    """GNU screen: one backend process per session, so its memory is their sum. A detached
    session is 80x24 whatever is asked; the first attach gives it the client's size."""

    name = "screen"
    detach_keys = b"\x01d"  # Ctrl-A d
    can_capture = can_list = can_redraw = keeps_history = True

    def __init__(self, root: str) -> None:
        super().__init__(root)
        os.makedirs(self.path("screens"), mode=0o700)
        self.env["SCREENDIR"] = self.path("screens")
        # -ln: no utmp entry; else a "Could not write /var/run/utmp" message can hold back
        # the first redraw of an attach for seconds.
        self.base = ["screen", "-c", "/dev/null", "-ln"]

    @classmethod
    def available(cls) -> bool:
        return shutil.which("screen") is not None

    def new_attached(self, cmd: str) -> list[str]:
        return [*self.base, "-S", "main", "sh", "-c", cmd]

    def new_detached(self, name: str, cmd: str, cols: int, rows: int, history: int) -> None:
        self._run([*self.base, "-h", str(history), "-dmS", name, "sh", "-c", cmd])

    def attach(self, name: str) -> list[str]:
        return [*self.base, "-A", "-r", name]  # -A: size the windows to this terminal

    def capture(self, name: str) -> str:
        out = self.path("hardcopy")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out)
        self._run([*self.base, "-S", name, "-X", "hardcopy", out])
        # -X only hands the command over; the backend writes the file soon after.
        if wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 5, 0.001) is None:
            raise RuntimeError("screen hardcopy did not appear")
        with open(out, errors="replace") as f:
            return f.read()

    def ls(self) -> str:
        done = subprocess.run([*self.base, "-ls"], env=self.env, capture_output=True,
                              timeout=10, check=False)
        return done.stdout.decode(errors="replace")

    def _sessions(self) -> list[str]:
        try:
            return os.listdir(self.path("screens"))
        except OSError:
            return []

    def server_pids(self) -> list[int]:
        pids = [int(s.split(".", 1)[0]) for s in self._sessions() if s.split(".")[0].isdigit()]
        return [p for p in pids if alive(p)]

    def _stop(self) -> None:
        for session in self._sessions():
            subprocess.run([*self.base, "-S", session, "-X", "quit"], env=self.env, timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


class Dtach(Mux):
    """dtach keeps no screen: nothing to capture, list or redraw, no history."""

    name = "dtach"
    detach_keys = b"\x1c"  # Ctrl-\

    @classmethod
    def available(cls) -> bool:
        return shutil.which("dtach") is not None

    def new_attached(self, cmd: str) -> list[str]:
        return ["dtach", "-c", self.path("main.sock"), "-r", "none", "sh", "-c", cmd]

    def new_detached(self, name: str, cmd: str, cols: int, rows: int, history: int) -> None:
        self._run(["dtach", "-n", self.path(f"{name}.sock"), "-r", "none", "sh", "-c", cmd])

    def attach(self, name: str) -> list[str]:
        return ["dtach", "-a", self.path(f"{name}.sock"), "-r", "none"]

    def server_pids(self) -> list[int]:
        pids = []
        for pid in processes_mentioning(self.dir):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and os.path.basename(argv[0]) == b"dtach" and b"-n" in argv:
                pids.append(pid)
        return pids


ALL: list[type[Mux]] = [Ptymux, Tmux, Screen, Dtach]
