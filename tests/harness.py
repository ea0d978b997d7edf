"""Drive the real ``ptymux`` binary inside real ptys and read what a user would see.

``Mux`` is one isolated ptymux world (its own socket directory, log directory and config);
``Terminal`` is a pty of a known size with a test-side virtual terminal (pyte) behind it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

import msgpack
import pyte

from ptymux.protocol import FrameDecoder

BIN_DIR = os.path.dirname(sys.executable)
PTYMUX = shutil.which("ptymux", path=BIN_DIR) or shutil.which("ptymux") or "ptymux"
HELPERS = os.path.join(os.path.dirname(__file__), "helpers")
DEFAULT_TIMEOUT = 10.0


def wait_until(predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def raw_connect(mux: Mux, timeout: float = 5.0) -> socket.socket:
    """A plain socket to ``mux``'s server, for speaking (or abusing) the protocol by hand."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(mux.socket)
    return sock


def frame(obj: object) -> bytes:
    """One frame around ``obj`` packed as msgpack, valid or not as the test wants it."""
    payload = msgpack.packb(obj, use_bin_type=True)
    return struct.pack(">I", len(payload)) + payload


def read_replies(sock: socket.socket) -> list[Any]:
    """Every message until the server closes the connection (the socket's timeout bounds
    each read)."""
    decoder = FrameDecoder()
    messages: list[Any] = []
    while True:
        data = sock.recv(65536)
        if not data:
            return messages
        messages += decoder.messages(data)


def ask(sock: socket.socket, args: Any, rid: int = 1) -> Any:
    """Send the command whose arguments record ``args`` is (a ``p.ListSessions()`` …) and
    return its result record, or the ``Error`` that answered it (other frames are skipped)."""
    from ptymux import protocol as p

    sock.sendall(p.encode(args, rid))
    decoder = FrameDecoder()
    chunks: list[str] = []
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        for msg in decoder.messages(data):
            if isinstance(msg, p.Error) and msg.id in (rid, None):
                return msg
            if isinstance(msg, p.Chunk) and msg.id == rid:
                chunks.append(msg.data)
            if isinstance(msg, p.Reply) and msg.id == rid:
                return p.parse_result(p.command_of(args), msg.result, chunks)


def tmux_version() -> str | None:
    """``tmux 3.3a`` (what the comparisons with tmux were made against), or None."""
    if shutil.which("tmux") is None:
        return None
    return subprocess.run(["tmux", "-V"], capture_output=True, text=True,
                          timeout=5).stdout.strip()


class PrivateTmux:
    """A private tmux server (its own -L label) to compare with: ``tmux(*args)`` runs a
    command there; close() kills it and removes its socket, which tmux 3.3a leaves behind."""

    def __init__(self, purpose: str, env: dict[str, str] | None = None) -> None:
        import uuid

        self.label = f"ptymux-test-{purpose}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        self.env.update(env or {})
        self.socket: str | None = None

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.label, "-f", "/dev/null", *args],
                                env=self.env, capture_output=True, text=True, timeout=5)
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        if self.socket is None:  # the first command started the server
            self.socket = ""
            self.socket = self("display-message", "-p", "#{socket_path}").strip()
        return result.stdout

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.label, "kill-server"], env=self.env,
                       capture_output=True, timeout=5)
        if self.socket and os.path.basename(self.socket) == self.label:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket)


class _Screen:
    """What every test-side terminal offers: its text, and waiting for some to appear."""

    def text(self) -> str:
        raise NotImplementedError

    def wait_for(self, needle: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            wait_until(lambda: needle in self.text(), timeout, repr(needle))
        except AssertionError:
            raise AssertionError(
                f"timed out waiting for {needle!r}; the screen shows:\n{self.text()}"
            ) from None


class Terminal(_Screen):
    """A process in a pty of ``cols`` x ``rows``, its output rendered by a pyte screen."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 80, rows: int = 24,
                 cwd: str | None = None) -> None:
        self.master, slave = os.openpty()
        self.tty_name = os.ttyname(slave)  # what the program sees as its terminal
        self._set_size(cols, rows)
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.reading = threading.Event()  # clear it to play a terminal that stops reading
        self.reading.set()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _set_size(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _read_loop(self) -> None:
        while True:
            self.reading.wait()
            try:
                ready = select.select([self.master], [], [], 0.2)[0]
                if not ready:
                    if self.proc.poll() is not None and not select.select(
                            [self.master], [], [], 0.1)[0]:
                        break
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                self.raw += data
                # test-side pyte chokes on some sequences (CSI ? 4 m): keep reading
                with contextlib.suppress(Exception):
                    self.stream.feed(data)
        self.closed.set()

    # --- typing -------------------------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def resize(self, cols: int, rows: int) -> None:
        with self.lock:
            self.screen.resize(rows, cols)
        self._set_size(cols, rows)  # the kernel sends SIGWINCH to the foreground job

    # --- reading ------------------------------------------------------------------------

    def text(self) -> str:
        with self.lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        with self.lock:
            return [line.rstrip() for line in self.screen.display]

    def cursor(self) -> tuple[int, int]:
        with self.lock:
            return self.screen.cursor.x, self.screen.cursor.y

    def cells(self) -> list[list[tuple[Any, ...]]]:
        """Every cell as (char, fg, bg, bold, italics, underscore, reverse)."""
        with self.lock:
            return [
                [tuple(self.screen.buffer[y][x])[:7] for x in range(self.screen.columns)]
                for y in range(self.screen.lines)
            ]

    def snapshot(self) -> tuple[Any, ...]:
        """What the user sees: every cell with its look, and the cursor."""
        with self.lock:
            cells = tuple(
                tuple(tuple(self.screen.buffer[y][x])[:7] for x in range(self.screen.columns))
                for y in range(self.screen.lines)
            )
            return cells, (self.screen.cursor.x, self.screen.cursor.y)

    def wait_raw(self, needle: bytes, timeout: float = DEFAULT_TIMEOUT) -> None:
        def seen() -> bool:
            with self.lock:
                return needle in self.raw
        wait_until(seen, timeout, repr(needle))

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        code = self.proc.wait(timeout)
        self.closed.wait(timeout)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.closed.wait(2)
        with contextlib.suppress(OSError):
            os.close(self.master)


class Mux:
    """An isolated ptymux: its own socket directory, state directory and config."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ptm-", dir="/tmp")
        self.socket_dir = os.path.join(self.root, "s")
        self.env = {
            k: v for k, v in os.environ.items()
            if k not in ("PTYMUX", "TMUX", "PTYMUX_SOCKET_DIR", "XDG_RUNTIME_DIR")
        }
        self.env.update(
            PTYMUX_SOCKET_DIR=self.socket_dir,
            XDG_STATE_HOME=os.path.join(self.root, "state"),
            PTYMUX_CONFIG=os.path.join(self.root, "config.toml"),
            PS1="$ ",
            LANG="C.UTF-8",
            SHELL="/bin/sh",
        )
        # PTYMUX_TEST_OLD=DIR runs the ptymux commands and server from another checkout's
        # package (e.g. a worktree of the last commit), to show that a new test fails there.
        if os.environ.get("PTYMUX_TEST_OLD"):
            self.env["PYTHONPATH"] = os.environ["PTYMUX_TEST_OLD"]
        self.terminals: list[Terminal | TmuxTerminal] = []
        # PTYMUX_CONFIG must name a file that exists: an empty one is the defaults.
        with open(self.env["PTYMUX_CONFIG"], "w"):
            pass

    @property
    def socket(self) -> str:
        return os.path.join(self.socket_dir, "default")

    def run(self, *args: str, timeout: float = DEFAULT_TIMEOUT, env: dict[str, str] | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PTYMUX, *args], env=env or self.env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ptymux {' '.join(args)} failed: {result.stderr}")
        return result

    def spawn(self, *args: str, cols: int = 80, rows: int = 24,
              env: dict[str, str] | None = None) -> Terminal:
        term = Terminal([PTYMUX, *args], env or self.env, cols, rows, cwd=self.root)
        self.terminals.append(term)
        return term

    def tmux(self, *args: str, cols: int = 80, rows: int = 24) -> TmuxTerminal:
        """``ptymux ARGS`` running in a tmux pane that plays the user's terminal."""
        return self.tmux_direct(PTYMUX, *args, cols=cols, rows=rows)

    def tmux_direct(self, *argv: str, cols: int = 80, rows: int = 24) -> TmuxTerminal:
        """A program straight in a tmux pane: the reference for what ptymux should show."""
        term = TmuxTerminal(self, list(argv), cols, rows)
        self.terminals.append(term)
        return term

    def server_pid(self) -> int | None:
        """The running server's pid, from its pid file (written before the first 'new -d'
        returns, unlike the log's 'listening' line); None if there is none or it is dead."""
        try:
            with open(os.path.join(self.root, "state", "ptymux", "server-default.pid")) as f:
                pid = int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def log(self) -> str:
        path = os.path.join(self.root, "state", "ptymux", "server-default.log")
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def leftover_processes(self) -> list[int]:
        """Processes (other than this test) whose environment points at our socket dir."""
        needle = f"PTYMUX_SOCKET_DIR={self.socket_dir}\0".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read():
                        with open(f"/proc/{entry}/stat") as st:
                            if st.read().split(") ", 1)[1].startswith("Z"):
                                continue  # a zombie awaiting its parent's wait
                        found.append(int(entry))
            except OSError:
                continue
        return found

    def cleanup(self) -> list[int]:
        """Stop everything; return the processes that were still there (a leak)."""
        for term in self.terminals:
            term.close()
        if os.path.exists(self.socket):
            with contextlib.suppress(Exception):
                self.run("kill-server", timeout=15)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not self.leftover_processes(), 8, "processes to end")
        leaked = self.leftover_processes()
        for pid in leaked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
        return leaked


TMUX_STATE = (
    "#{alternate_on} #{cursor_x} #{cursor_y} #{cursor_flag} #{keypad_cursor_flag}"
    " #{keypad_flag} #{mouse_any_flag} #{mouse_button_flag} #{mouse_all_flag}"
    " #{mouse_standard_flag} #{mouse_sgr_flag} #{mouse_utf8_flag} #{origin_flag} #{wrap_flag}"
    " #{insert_flag} #{scroll_region_upper} #{scroll_region_lower}"
)


class TmuxTerminal(_Screen):
    """tmux as the user's terminal: an independent emulator whose screen and modes we can
    read (capture-pane, display -p). Used where pyte cannot serve as the test-side terminal
    (alternate screen, modes). tmux is a test tool here, never a ptymux dependency."""

    def __init__(self, mux: Mux, argv: list[str], cols: int = 80, rows: int = 24) -> None:
        self.mux = mux
        self.sock = os.path.join(mux.root, f"tmux-{len(mux.terminals)}")
        self.env = dict(mux.env)
        self.conf = os.path.join(mux.root, "tmux.conf")
        with open(self.conf, "w") as f:
            f.write("set -g status off\n")
        # The pane outlives the program, printing its exit status, so that the terminal's
        # final state can still be read (tmux's remain-on-exit would draw over it).
        wrapper = 'exec 2>&1; "$@"; echo "<<exit $?>>"; exec sleep 3600'
        self._tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "--",
                   "sh", "-c", wrapper, "sh", *argv)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", self.sock, "-f", self.conf, *args], env=self.env,
            capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr}")
        return result.stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def literal(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)

    def paste(self, text: str) -> None:
        """Paste as a terminal does: bracketed if the program asked for it."""
        self._tmux("set-buffer", text)
        self._tmux("paste-buffer", "-p")

    def screen(self, escapes: bool = True) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []))

    def text(self) -> str:
        return self.screen(escapes=False)

    def state(self) -> str:
        """Modes and cursor of the terminal, as tmux (the terminal) holds them."""
        return self._tmux("display-message", "-p", TMUX_STATE).strip()

    def title(self) -> str:
        return self._tmux("display-message", "-p", "#{pane_title}").strip()

    def view(self) -> tuple[str, str]:
        return self.screen(), self.state()

    def exit_code(self) -> int | None:
        """The program's exit status once it has ended, else None."""
        for line in self.text().splitlines():
            if line.startswith("<<exit ") and line.endswith(">>"):
                return int(line[7:-2])
        return None

    def dead(self) -> bool:
        return self.exit_code() is not None

    def detach(self) -> None:
        self.keys("C-p", "C-q")
        wait_until(self.dead, what="the client to exit")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], env=self.env,
                       capture_output=True, timeout=10)


def settled_view(term: TmuxTerminal, marker: str) -> tuple[str, str]:
    """The view once ``marker`` is shown and the view stops changing; a view that never
    stops changing fails the test (it is not a screen to compare)."""
    term.wait_for(marker)
    last = None
    for _ in range(100):
        view = term.view()
        if view == last:
            return view
        last = view
        time.sleep(0.05)
    raise AssertionError(f"the screen never stopped changing; last:\n{last}")
