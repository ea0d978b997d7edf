"""A child process running in a fresh pty: the bottom of the pty -> session -> client flow."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import termios


class SpawnError(Exception):
    """The program could not be started; the message is for the user."""


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """Size a pty; the kernel sends SIGWINCH to its foreground process group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _become_controlling_tty() -> None:
    # Runs in the child after setsid() and after the slave became fd 0.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """A program started as a session leader with a new pty as its controlling terminal."""

    proc: subprocess.Popen[bytes] | None  # None: adopted across a hand-over (``adopt``)

    def __init__(
        self, argv: list[str], cwd: str, env: dict[str, str], cols: int, rows: int
    ) -> None:
        if not argv:
            raise SpawnError("no command to run")
        master, slave = os.openpty()
        try:
            set_winsize(master, cols, rows)
            if not os.path.isdir(cwd):
                cwd = env.get("HOME") or "/"
            try:
                self.proc = subprocess.Popen(
                    argv,
                    stdin=slave,
                    stdout=slave,
                    stderr=slave,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_become_controlling_tty,
                    restore_signals=True,
                    close_fds=True,
                )
            except (OSError, subprocess.SubprocessError) as e:
                reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                raise SpawnError(f"can't run {argv[0]!r}: {reason}") from None
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.pid = self.proc.pid
        self.returncode: int | None = None

    @classmethod
    def adopt(cls, pid: int, master: int) -> PtyProcess:
        """A program this process already runs, whose pty master ``master`` it holds: what a
        server re-executed by a hand-over (``server/handover.py``) finds. The ``Popen`` of
        the old code is gone with it, so the child is reaped by pid (``poll``); ``master``
        is -1 for a session whose program has ended (kept by ``--remain-on-exit``)."""
        self = cls.__new__(cls)
        self.proc = None
        self.master = master
        self.pid = pid
        self.returncode = None
        if master >= 0:
            os.set_blocking(master, False)
        return self

    def poll(self) -> int | None:
        """The raw exit code if the child has ended (negative: killed by that signal)."""
        if self.proc is not None:
            return self.proc.poll()
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already (cannot happen to our own child)
                self.returncode = 0
                return 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def resize(self, cols: int, rows: int) -> None:
        set_winsize(self.master, cols, rows)

    def hangup(self) -> None:
        """Ask the program to end, the way closing a terminal does: SIGHUP to its process
        group and to the pty's foreground job."""
        groups = {self.pid}
        with contextlib.suppress(OSError):
            groups.add(os.tcgetpgrp(self.master))
        # A pty whose program has just exited reports foreground group 0, and killpg(0)
        # would signal the server's own group: only real groups.
        groups.discard(0)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGHUP)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
