"""A child process running in a fresh pty: the bottom of the pty -> session -> client flow.

The program is forked and exec'd here rather than by ``subprocess.Popen``: what Popen would
add (its module, with ``signal``'s, ``threading``'s and ``selectors``' enums and classes, ~3 ms
to import) is not needed, and a new server starts its first session before anything else is
imported (server/spawn.py). The steps in the child are Popen's for ``start_new_session``,
``close_fds`` and ``restore_signals``, plus making the pty the controlling terminal.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios

from ptymux.server.lean import close_fds, signal, suppress

EXEC_FAILED = 127  # the child's exit status when it could not exec (as a shell's)


class SpawnError(Exception):
    """The program could not be started; the message is for the user."""


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """Size a pty; the kernel sends SIGWINCH to its foreground process group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyProcess:
    """A program started as a session leader with a new pty as its controlling terminal,
    reaped by pid (``poll``), whether this process started it or took it over (``adopt``)."""

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
            self.pid = _fork_exec(argv, cwd, env, slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.returncode: int | None = None

    @classmethod
    def adopt(cls, pid: int, master: int) -> PtyProcess:
        """A program this process already runs, whose pty master ``master`` it holds: what a
        server re-executed by a hand-over (``server/handover.py``) finds; ``master`` is -1
        for a session whose program has ended (kept by ``--remain-on-exit``)."""
        self = cls.__new__(cls)
        self.master = master
        self.pid = pid
        self.returncode = None
        if master >= 0:
            os.set_blocking(master, False)
        return self

    def poll(self) -> int | None:
        """The raw exit code if the child has ended (negative: killed by that signal)."""
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
        with suppress(OSError):
            groups.add(os.tcgetpgrp(self.master))
        # A pty whose program has just exited reports foreground group 0, and killpg(0)
        # would signal the server's own group: only real groups.
        groups.discard(0)
        for group in groups:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGHUP)

    def kill(self) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def _fork_exec(argv: list[str], cwd: str, env: dict[str, str], slave: int) -> int:
    """Start ``argv`` on the pty ``slave``; its pid once it has exec'd, or SpawnError with
    the reason it could not (the child reports it on a close-on-exec pipe, as Popen's
    does: end of file there means the exec happened)."""
    report_r, report_w = os.pipe()  # (close-on-exec, as every fd Python opens)
    try:
        pid = os.fork()
        if pid == 0:  # the child: nothing here returns
            _exec_child(argv, cwd, env, slave, report_w)
        os.close(report_w)
        report_w = -1
        report = b""
        while chunk := os.read(report_r, 256):  # (EINTR is retried: PEP 475)
            report += chunk
    finally:
        os.close(report_r)
        if report_w >= 0:
            os.close(report_w)
    if not report:
        return pid
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)
    code, _, where = report.partition(b":")
    try:
        reason = os.strerror(int(code))
    except ValueError:
        reason = "the child failed"
    if where == b"chdir":
        reason = f"{reason} (working directory {cwd!r})"
    raise SpawnError(f"can't run {argv[0]!r}: {reason}")



def _exec_child(argv: list[str], cwd: str, env: dict[str, str], slave: int,
                report: int) -> None:
    """In the forked child: become a session leader on the pty, in ``cwd``, with only
    stdio open, default signal handling, then exec. Any failure is written to ``report``
    (``errno:step``) before exiting with EXEC_FAILED."""
    step = "setup"
    try:
        os.setsid()
        for fd in (0, 1, 2):
            os.dup2(slave, fd)  # (inheritable)
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        step = "chdir"
        os.chdir(cwd)
        step = "setup"
        # No signal ignored (Python ignores SIGPIPE and SIGXFSZ, a starting server SIGUSR1:
        # Popen's restore_signals, and more), none blocked. Caught ones are reset by exec.
        for sig in signal.valid_signals():
            with suppress(OSError, ValueError):
                if signal.getsignal(sig) == signal.SIG_IGN:
                    signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        close_fds(report)  # (the server's sockets, other ptys, passed terminals)
        step = "exec"
        os.execvpe(argv[0], argv, env)
    except BaseException as e:
        code = getattr(e, "errno", None) or 0
        with suppress(BaseException):
            os.write(report, f"{code}:{step}".encode())
    finally:
        os._exit(EXEC_FAILED)
