"""Starting the server: detach from the terminal, bind the socket, report readiness.

Two ways in, one daemon:

- **Forked from the client** (``fork_server``, what the ``ptymux`` command does, as tmux's
  client forks its server): the client process forks, the child detaches itself the way a
  fresh start would have been detached (new session, ``/``, stdio on /dev/null, every
  inherited fd but the ready pipe closed, signal dispositions and mask as a fresh
  interpreter has them) and forks once more; the grandchild is the daemon. No second
  interpreter starts: that saves its start-up, ``site`` and the modules the client already
  imported (the protocol, msgpack, the config): ~25 - 40 ms of a cold ``new -d`` here
  (docs/performance.md).
- **A fresh interpreter** (``main``): ``python -P -m ptymux.server --socket PATH --log PATH
  --pid-file PATH --ready-fd N`` in a new session (setsid), from ``/``; it forks once more
  unless ``--foreground``. Used where forking the caller would be wrong: the Python API (the
  caller is somebody's program, with its threads, fds and atexit handlers), a client with
  threads, ``start-server --foreground`` (which execs it), and ``PTYMUX_SERVER_EXEC=1``.

Either way the daemon is nobody's child, binds the socket (replacing a stale one), writes its
pid file and then ``ok`` (or one line of error) to the ready pipe, which the starting client
waits on. A forking ``new -d`` hands its request over with the fork: the daemon answers it
on the pipe as soon as it listens, having started the program, and only then imports its
loop (``run_daemon``, server/spawn.py). The pid file lets a client find a server whose
socket was deleted; the daemon keeps it open, which is how a client tells that the pid in it
is this server's (``serves_pid_file``) when the command line cannot say so (a forked daemon
has the client's).
"""

from __future__ import annotations

import _socket  # (not socket.py, whose enums and selectors would delay the first answer)
import os

from ptymux.paths import PathError, open_private_dir, private_dir_of, via
from ptymux.server.lean import close_fds, suppress

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    import logging
    import socket
    from types import ModuleType
    from typing import Any

    from ptymux import protocol as p
    from ptymux.server.server import Server
    from ptymux.server.spawn import Spawned


def _log() -> logging.Logger:
    """This module's logger. ``logging`` is imported once the server has answered a forking
    ``new -d`` (``run_daemon``), not before: ~5 ms of that client's wait."""
    import logging

    return logging.getLogger(__name__)


# What ps -e, top and pgrep show for the daemon (tmux's "tmux: server"); at most 15 bytes.
PROCESS_NAME = b"ptymux: server"
KEEP_CODE_DELAY = 5.0  # seconds after start before the server copies its code aside
KEEP_CODE_RETRY = 10.0  # seconds before trying that again (out of fds...)

_pid_file_fd = -1  # the pid file, kept open while the server lives (serves_pid_file)
HOLD_TEST_ENV = "PTYMUX_TEST_HOLD_START"  # test hook: see _hold_for_test
HOLD_LIMIT = 20.0


class AlreadyRunning(Exception):
    pass


def bind_socket(path: str) -> socket.socket:
    """``bind_raw``, as the ``socket.socket`` the running server listens on."""
    return listening(bind_raw(path))


def listening(sock: _socket.socket) -> socket.socket:
    """The ``socket.socket`` for a socket bound by ``bind_raw`` (or already one)."""
    import socket

    if isinstance(sock, socket.socket):
        return sock
    return socket.socket(sock.family, sock.type, fileno=sock.detach())


def bind_raw(path: str) -> _socket.socket:
    """Bind a listening Unix socket at ``path``, readable by its owner only.

    In the private socket directory (see ``ptymux.paths``) the directory is opened and
    checked first (and created if it was deleted) and the socket is bound through the open
    directory, so a directory swapped for a symlink after the check is never used. Raises
    OSError, AlreadyRunning, or PathError (the directory is unsafe). Also the way to
    re-create the socket of a running server.
    """
    directory = private_dir_of(path)
    if directory is None:
        return _bind(path, path)
    dir_fd = open_private_dir(directory)
    try:
        return _bind(via(dir_fd, os.path.basename(path)), path)
    finally:
        os.close(dir_fd)


def _bind(where: str, path: str) -> _socket.socket:
    """Bind at ``where`` (``path`` itself, or ``path`` reached through a directory fd).

    A socket file nobody answers on is a stale leftover of a killed server: replace it.
    """
    if os.path.exists(where):
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            probe.connect(where)
        except OSError:
            os.unlink(where)
        else:
            raise AlreadyRunning(f"a server is already running on {path}")
        finally:
            probe.close()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(where)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _redirect_stdio(log_path: str) -> None:
    os.makedirs(os.path.dirname(log_path), mode=0o700, exist_ok=True)
    null = os.open(os.devnull, os.O_RDWR)
    logfd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(logfd, 2)
    os.close(null)
    os.close(logfd)


def write_pid_file(path: str) -> None:
    """Write our pid to ``path`` atomically (a temp file renamed), so that a client never
    reads half a number. The file stays open (close-on-exec) for the server's life: that
    open file is what ``serves_pid_file`` looks for."""
    global _pid_file_fd
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        raise
    if _pid_file_fd >= 0:
        os.close(_pid_file_fd)
    _pid_file_fd = fd


def _write_pid_file(path: str | None) -> str | None:
    """``write_pid_file`` if there is a ``path``; why it could not, or None."""
    if not path:
        return None
    try:
        write_pid_file(path)
    except OSError as e:
        return str(e.strerror or e)
    return None


def remove_pid_file(path: str) -> None:
    """Remove ``path`` if it still names us: a newer server may have replaced it."""
    with suppress(OSError, ValueError), open(path) as f:
        if int(f.read().strip()) != os.getpid():
            return
        os.unlink(path)


def serves_pid_file(pid: int, pid_file: os.stat_result) -> bool:
    """Whether process ``pid`` holds the pid file ``pid_file`` (its stat) open, as the server
    that wrote it does: the proof that a pid read from the file is still that server and not
    a process that got the number later. Same user only (/proc/PID/fd is private)."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        try:
            st = os.stat(f"{fd_dir}/{fd}")  # follows the link to the open file itself
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (pid_file.st_dev, pid_file.st_ino):
            return True
    return False


def _name_process() -> None:
    """Show up as ``ptymux: server`` in ps -e and top, whichever way we were started.
    Cosmetic: /proc/self/comm may be read-only in a sandbox."""
    with suppress(OSError), open("/proc/self/comm", "wb") as f:
        f.write(PROCESS_NAME)


async def _serve(sock: _socket.socket, path: str, ready_fd: int, pid_file: str | None,
                 status_file: str | None = None, stay: bool = False,
                 log_path: str | None = None, handover: dict[str, Any] | None = None,
                 handover_path: str = "", first: First | None = None,
                 pid_file_error: str | None = None, socket_inode: int = 0) -> None:
    made: list[Server] = []  # (keeps what was adopted alive, open, for a fallback's exec)
    if handover is None:
        server = await _start(sock, path, ready_fd, pid_file, status_file, stay, log_path,
                              None, first, pid_file_error, socket_inode, made)
    else:
        from ptymux.server import handover as ho

        try:
            server = await _start(sock, path, ready_fd, pid_file, status_file, stay, log_path,
                                  handover, None, None, 0, made)
        except Exception as e:  # half way: the old code takes the same record again
            _log().exception("upgrade: taking over failed")
            ho.fall_back(handover_path, handover, f"{type(e).__name__}: {e}",
                         daemon_args(path, log_path, pid_file, status_file,
                                     bool(handover["stay"])))
            raise
        finally:
            with suppress(OSError):
                os.unlink(handover_path)  # (a fallback has exec'd with it by now)
    try:
        await server.run()
    except Exception as e:  # a bug of ours, out of the main task: hand over, don't exit
        _log().exception("the server's main task failed")
        from ptymux.server import handover as guard

        guard.recover(server, f"{type(e).__name__}: {e}")
        raise  # (recover returns only if it could not re-execute)
    if server.code_copy is not None:
        from ptymux.server import handover as done

        done.drop_code(server.code_copy)


async def _start(sock: _socket.socket, path: str, ready_fd: int, pid_file: str | None,
                 status_file: str | None, stay: bool, log_path: str | None,
                 handover: dict[str, Any] | None, first: First | None,
                 pid_file_error: str | None, socket_inode: int, made: list[Server]
                 ) -> Server:
    """The server, listening, with its sessions (a hand-over's, or the first request's),
    and the ``upgrade-server`` request answered. For a hand-over, anything that fails in
    here is the new code failing half way (_serve falls back to the old code)."""
    from ptymux.server.server import Server

    inode = handover["socket"]["inode"] if handover is not None else socket_inode
    server = Server(path, inode)
    made.append(server)
    server.status_file = status_file
    server.stay = stay
    server.log_path = log_path
    if handover is not None:
        from ptymux.server import handover as ho

        ho.restore(server, handover)
        ho.injected_failure("adopted")
        await server.start(listening(sock))
        server.reap()  # programs that ended during the exec: their SIGCHLD was the old code's
    else:
        if first is not None and first.spawned is not None:  # started before the loop was
            server.new_session(first.request, first.spawned)
        await server.start(listening(sock))
        if first is not None:
            server.reap()  # (a first program that ended before the loop was there)
        # The socket may have gone while we started (and a SIGUSR1 asking for it again
        # been ignored): from here on, the watch sees it go.
        server.recreate_socket()
    server.call_later(KEEP_CODE_DELAY, _keep_code, server)
    if pid_file:
        # A fresh server wrote it before its loop (run_daemon); the hand-over's exec closed
        # the old code's (its fd is close-on-exec): written again, for the same pid.
        error = pid_file_error if handover is None else _write_pid_file(pid_file)
        if error is None:
            server.pid_file = pid_file
        else:  # the server works without it; only finding it again suffers
            _log().warning("can't write the pid file %s: %s", pid_file, error)
    if ready_fd >= 0:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)
    _collect_later()
    _log().info("server %s listening on %s", os.getpid(), path)
    if handover is not None:
        import time

        server.code_copy = ho.running_copy(server)  # (a fallback runs from its copy)
        ho.injected_failure("listening")
        _log().info("upgrade: took over %d sessions from %s, %d ms after the request",
                    len(server.registry), handover["software"],
                    (time.time() - handover["requested"]) * 1000)
        ho.answer(server, handover)  # (the last step: after it, nothing falls back)
        if handover["fallback"] is not None:  # taken over: the old code's copy has served
            ho.drop_code(handover["fallback"]["path"])
    return server


def daemon_args(socket_path: str, log_path: str | None, pid_file: str | None,
                status_file: str | None, stay: bool) -> list[str]:
    """The daemon's options that make this server again, for a hand-over's exec (always
    ``--foreground``: the same process, never forked away)."""
    args = ["--socket", socket_path, "--log", log_path or "/dev/null", "--foreground"]
    if pid_file:
        args += ["--pid-file", pid_file]
    if status_file:
        args += ["--status-file", status_file]
    return args + (["--stay"] if stay else [])


def _keep_code(server: Server, tries: int = 3) -> None:
    """(not at start: the hand-over's module and its imports are not a cold start's) Out of
    file descriptors, say, it tries again later rather than fail (a bug) or give up."""
    try:
        from ptymux.server import handover

        handover.keep_code(server)
    except OSError as e:
        if tries > 1:
            _log().warning("can't keep a copy of the server's code now (%s): trying again in"
                           " %g s", e.strerror or e, KEEP_CODE_RETRY)
            server.call_later(KEEP_CODE_RETRY, _keep_code, server, tries - 1)
        else:
            _log().warning("can't keep a copy of the server's code (%s): an upgrade that fails"
                           " half way has no fallback", e.strerror or e)


def _import_asyncio() -> ModuleType:
    """``import asyncio``, without the ``ssl`` it imports for TLS transports the server
    never opens (~3 ms of a cold start): asyncio then sees ``ssl`` as a Python built
    without OpenSSL would show it, which it supports. Anything imported later gets the real
    ``ssl``."""
    import sys

    if "ssl" in sys.modules or "asyncio" in sys.modules:
        import asyncio

        return asyncio
    sys.modules["ssl"] = None  # type: ignore[assignment]  # (import ssl: ImportError)
    try:
        import asyncio
    finally:
        if sys.modules.get("ssl", False) is None:
            del sys.modules["ssl"]
    return asyncio


def _collect_later() -> None:
    """Start-up is over: what it allocated (modules, classes, the client's heap in a forked
    daemon) leaves the collector's view for good (``gc.freeze``), and collection resumes
    for the objects of the server's life."""
    import gc

    gc.freeze()
    gc.enable()


def run_daemon(socket_path: str, log_path: str, pid_file: str | None, status_file: str | None,
               stay: bool, ready: int, handover_path: str | None = None,
               first_request: p.NewSession | None = None) -> int:
    """Be the server, in this (already detached) process, until it exits; the exit status.

    Errors before the socket listens go to the ready pipe as one line (to the log if nobody
    waits on a pipe: ``--foreground``). With ``handover_path`` this process is a server that
    has just re-executed itself (``upgrade-server``, server/handover.py): its socket,
    sessions and connections come from the record. With ``first_request`` (a ``new -d``
    that forked us), the pipe gets ``ok`` and that request's answer as soon as the socket
    listens: its program starts before the loop, the modules and the log exist
    (server/spawn.py)."""
    record: dict[str, Any] | None = None
    first: First | None = None
    try:
        os.chdir("/")
        _redirect_stdio(log_path)
        _name_process()
        inode = 0
        pid_file_error = None
        if handover_path is None:  # (a hand-over's socket and pid file: in _serve)
            sock = bind_raw(socket_path)
            inode = os.stat(socket_path).st_ino  # (what the socket watch compares)
            # The pid file is written before the loop exists: until the loop takes SIGUSR1
            # (re-create the socket), it is ignored rather than fatal to a server whose pid
            # file a client has just found.
            from ptymux.server.lean import signal

            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            pid_file_error = _write_pid_file(pid_file)
        if first_request is not None:  # answered before anything more is imported
            first = _answer_first(first_request, socket_path, ready)
            ready = -1
            _hold_for_test()
        from ptymux.server import logfile

        limiter = logfile.install(log_path)
        if handover_path is not None:
            from ptymux.server import handover as ho

            try:
                record = ho.read(handover_path)
                sock = ho.listener_of(record)
            except ho.HandoverError as e:  # checked before the exec: should not happen
                _log().error("upgrade: %s", e)
                with suppress(OSError):
                    os.unlink(handover_path)
                return 1
    except (OSError, AlreadyRunning, PathError) as e:
        if ready >= 0:
            os.write(ready, f"can't start server: {e}".encode())
        else:  # foreground, or answered: nobody waits on a pipe; the log (stderr) says it
            _log().error("can't start server: %s", e)
        return 1
    import gc

    gc.disable()  # until it listens: what start-up allocates lives as long as the server
    asyncio = _import_asyncio()
    try:
        asyncio.run(_serve(sock, socket_path, ready, pid_file, status_file, stay, log_path,
                           record, handover_path or "", first, pid_file_error, inode))
    except Exception:
        _log().exception("server crashed")
        return 1
    finally:
        if pid_file:
            remove_pid_file(pid_file)
        limiter.flush()
    _log().info("server exited")
    return 0


class First:
    """The request a forking ``new -d`` brought (``run_daemon``) and its program, started
    (None if it was refused: the client has its error, and the server starts empty)."""

    def __init__(self, request: p.NewSession, spawned: Spawned | None) -> None:
        self.request = request
        self.spawned = spawned


def _answer_first(request: p.NewSession, socket_path: str, ready: int) -> First:
    """Start the first session's program and answer the client on the ready pipe (``ok``,
    then the answer's frame), closing it: from here on, nobody waits for this start."""
    from ptymux.server.spawn import answer_first

    spawned, answer = answer_first(request, socket_path)
    try:
        os.write(ready, b"ok" + answer)  # (a few hundred bytes: a pipe takes them at once)
    except OSError:  # the client is gone (killed while waiting): the server starts anyway
        pass
    finally:
        os.close(ready)
    return First(request, spawned)


def _hold_for_test() -> None:
    """The test hook PTYMUX_TEST_HOLD_START=PATH (in a forking ``new -d``'s environment):
    having answered, wait for PATH to exist (at most HOLD_LIMIT seconds) before going on,
    so that a test can act while the server has no loop yet."""
    path = os.environ.get(HOLD_TEST_ENV)
    if not path:
        return
    import time

    deadline = time.monotonic() + HOLD_LIMIT
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def reset_signals() -> None:
    """Signals as a fresh interpreter started with default dispositions has them: nothing
    blocked, every disposition the default but Python's own (SIGINT raises
    KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored), no wake-up fd. Whatever the caller
    blocked or ignored (``nohup``'s SIGHUP, a shell's SIGINT for a background job) is not the
    daemon's: its sessions' programs would inherit it, and a program ignoring SIGHUP outlives
    kill-session's hangup."""
    from ptymux.server.lean import signal

    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    with suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT):
            ignored = sig in (signal.SIGPIPE, signal.SIGXFSZ)
            with suppress(OSError, ValueError):  # (signals libc keeps for itself)
                signal.signal(sig, signal.SIG_IGN if ignored else signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str]) -> int:
    """``python -m ptymux.server``: the fresh-interpreter start (see the module's doc)."""
    import argparse

    parser = argparse.ArgumentParser(prog="ptymux-server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--pid-file")
    parser.add_argument("--status-file")
    parser.add_argument("--ready-fd", type=int, default=-1)  # -1: nobody waits (foreground)
    parser.add_argument("--foreground", action="store_true")
    parser.add_argument("--stay", action="store_true")  # keep running with no sessions
    # upgrade-server (server/handover.py): the old server execs us with its record...
    parser.add_argument("--handover")
    if argv[:1] == ["--check-handover"] and argv[2:] in ([], ["--when-told"]):
        # ...after asking us, with only this, whether we can read it
        from ptymux.server.handover import check_main

        return check_main(argv[1], when_told=bool(argv[2:]))
    args = parser.parse_args(argv)
    reset_signals()
    if args.handover is None and not args.foreground and os.fork():
        os._exit(0)  # the starter waits for this one; the daemon lives on, nobody's child
    return run_daemon(args.socket, args.log, args.pid_file, args.status_file, args.stay,
                      args.ready_fd, args.handover)


# --- forked from the client ----------------------------------------------------------------


def fork_server(socket_path: str, log_path: str, pid_file: str, status_file: str,
                stay: bool, ready_fd: int, first: p.NewSession | None = None) -> None:
    """Fork the daemon out of this process (the ``ptymux`` command that found no server).

    Returns, in the caller, once the intermediate child has forked the daemon and exited
    (reaped here: no zombie is left); the caller then reads ``ready_fd``'s other end as it
    would for ``python -m ptymux.server``. The children never return here: whatever happens
    in them ends in ``os._exit``, so the caller's code after this call, its ``finally``
    blocks and its atexit handlers run in the caller only. Only for a single-threaded caller
    that is the ptymux command itself (the client's ``_may_fork``): a fork keeps only the
    calling thread, and the daemon inherits the whole heap.
    """
    import gc
    import sys

    for stream in (sys.stdout, sys.stderr):  # else the children hold (and might write)
        with suppress(Exception):  # a copy of the caller's unwritten output
            stream.flush()
    # Python's recipe for a fork without exec: the heap so far leaves the collector's view,
    # in both processes. Neither then writes to every object's GC header (which would copy
    # each shared page), a cycle of the caller's is never collected in the daemon (whose
    # finalizer could close an fd number that is by then the daemon's), and the caller's
    # exit skips collecting it (~6 ms).
    gc.freeze()
    pid = os.fork()
    if pid:
        with suppress(ChildProcessError):  # (SIGCHLD ignored: reaped already)
            os.waitpid(pid, 0)
        return
    code = 1
    daemon = False
    try:
        ready_fd = _detach(ready_fd)
        if os.fork():
            code = 0  # the intermediate: its exit makes the daemon nobody's child
        else:
            daemon = True
            code = run_daemon(socket_path, log_path, pid_file, status_file, stay, ready_fd,
                              first_request=first)
    except BaseException as e:  # (a KeyboardInterrupt too)
        with suppress(Exception):
            if daemon:  # as an interpreter dies of it: the traceback on stderr (the log),
                import traceback  # and the client hears that the server died starting

                traceback.print_exc()
            else:  # detaching failed: said once, on the pipe
                os.write(ready_fd, f"can't start server: {e}".encode())
    finally:
        with suppress(Exception):  # the daemon's own last words (a warning)
            sys.stderr.flush()
        os._exit(code)


def _detach(ready_fd: int) -> int:
    """In the forked child: leave the caller behind as a freshly started daemon would not
    have it. Returns the ready pipe's fd (moved above stdio if it was 0-2).

    - a new session: no controlling terminal, not in the caller's process group (its
      Ctrl-C and hangup are not ours);
    - stdio on /dev/null and every other fd closed (the caller's terminal, its pipes: a
      ``$(ptymux new -d ...)`` would otherwise wait for the daemon's end; the start lock,
      whose flock would then outlive the start);
    - signals as a fresh interpreter has them (``reset_signals``);
    - no relative ``sys.path`` entry and no script directory first (what ``-P`` gives the
      exec'd server): once in ``/``, the caller's directory must not supply modules;
    """
    import fcntl
    import sys

    os.setsid()
    if ready_fd <= 2:
        ready_fd = fcntl.fcntl(ready_fd, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    close_fds(keep=ready_fd)
    reset_signals()
    if not sys.flags.safe_path and sys.path:
        del sys.path[0]  # the script's directory, or the caller's: what -P leaves out
    sys.path[:] = [entry for entry in sys.path if os.path.isabs(entry)]
    return ready_fd
