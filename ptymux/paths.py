"""Where the server's socket, lock, pid file and log live, and the safety checks on those places.

The socket directory is private to the user: anybody who can reach the socket can type into
every session, so a directory that is not ours or that others can enter is refused rather
than used.

Checking a directory by name and then using the name leaves a window: with the
``/tmp/ptymux-$UID`` fallback another local user may get a symlink of theirs in place
between the two. So the directory is opened once, without following a symlink
(``O_NOFOLLOW | O_DIRECTORY``), the checks run on the *opened* directory (``fstat``), and the
socket is then bound or connected through that open directory: ``/proc/self/fd/N/NAME``
resolves to NAME inside the very directory that passed, whatever the name points to by
then (see ``open_private_dir`` and ``via``). The fd stays open across the bind or connect.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not typing's: importing typing costs every command ~3 ms
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from ptymux.records import NamedTuple


class PathError(Exception):
    """The socket location is unusable; the message says what to do."""


class ServerPaths(NamedTuple):
    socket: str
    lock: str
    log: str
    label: str
    pid: str  # the server's pid file: beside the log, so it outlives a deleted socket dir
    status: str  # ended sessions' statuses until 'wait' reads them (ptymux.statuses)
    private: bool  # the socket is in the private socket directory (not -S): check it at use
    # -H: the server is on this host, reached over SSH (ptymux.client.remote); then
    # ``label``/``socket`` are the -L/-S given, for the remote side, and the local paths
    # are empty: nothing about a remote server lives here
    host: str = ""


def socket_dir() -> str:
    """``$PTYMUX_SOCKET_DIR``, else ``$XDG_RUNTIME_DIR/ptymux``, else ``/tmp/ptymux-$UID``.

    Always absolute: the server starts in ``/`` and must find the same place.
    """
    explicit = os.environ.get("PTYMUX_SOCKET_DIR")
    if explicit:
        return os.path.abspath(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.abspath(os.path.join(runtime, "ptymux"))
    return f"/tmp/ptymux-{os.getuid()}"


def private_dir_of(socket_path: str) -> str | None:
    """The directory of ``socket_path`` if it is the private socket directory, else None.

    How the server decides whether to check the directory where it binds (also when it
    re-creates its socket): it is not told whether it was named by ``-L`` or ``-S``. The
    client knows (``ServerPaths.private``): a ``-S`` socket is where the user chose to put
    it, and the client checks who answers there instead.
    """
    directory = os.path.dirname(socket_path)
    return directory if directory == socket_dir() else None


def open_private_dir(path: str, create: bool = True) -> int:
    """An fd of the directory ``path`` (created 0700 if missing), checked on the fd itself.

    Refused: a symlink, something not a directory, a directory owned by another user or
    that others can read or enter. The caller closes the fd, after using it through ``via``.
    """
    try:
        if create:
            _make_dir(path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise _open_error(path, e) from None
    try:
        _check_private(path, os.fstat(fd))
    except PathError:
        os.close(fd)
        raise
    return fd


def _make_dir(path: str) -> None:
    """mkdir 0700, parents as needed; an existing entry is left for the checks to judge."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o700, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return  # whatever is there, the checks judge it


def _open_error(path: str, e: OSError) -> PathError:
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        is_link = False
    if is_link:
        return PathError(
            f"socket directory {path} is a symbolic link; remove it, or set"
            " PTYMUX_SOCKET_DIR to a directory of your own"
        )
    if os.path.exists(path) and not os.path.isdir(path):
        return PathError(f"socket directory {path} is not a directory")
    return PathError(f"can't use socket directory {path}: {e.strerror or e}")


def _check_private(path: str, st: os.stat_result) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"socket directory {path} is not a directory")
    if st.st_uid != os.getuid():
        raise PathError(
            f"socket directory {path} is owned by uid {st.st_uid}, not you (uid {os.getuid()});"
            " set PTYMUX_SOCKET_DIR to a directory of your own"
        )
    if st.st_mode & 0o077:
        raise PathError(
            f"socket directory {path} has unsafe permissions {stat.S_IMODE(st.st_mode):o};"
            f" run 'chmod 700 {path}'"
        )


def ensure_private_dir(path: str) -> None:
    """Create ``path`` 0700 if missing; refuse it if ``open_private_dir`` would."""
    os.close(open_private_dir(path))


def via(dir_fd: int, name: str) -> str:
    """A path to ``name`` inside the directory open as ``dir_fd``, for bind and connect
    (which take no dir_fd): the kernel resolves it through the fd, not the directory's name.
    Linux's /proc; short, so also within a Unix socket's 108 bytes."""
    return f"/proc/self/fd/{dir_fd}/{name}"


def state_dir() -> str:
    """Where the server log and pid file go: ``$XDG_STATE_HOME/ptymux`` or
    ``~/.local/state/ptymux``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.abspath(os.path.join(base, "ptymux"))


def resolve(label: str | None = None, socket_path: str | None = None,
            host: str | None = None) -> ServerPaths:
    """The paths for the server named by ``-L label`` or ``-S socket_path`` (tmux's meanings).

    With ``-S`` the user chose the place, so only its directory must exist; otherwise the
    private socket directory is created and checked (and checked again, on the open
    directory, at each bind and connect). With ``host`` (``-H``) the server is another
    machine's: -L and -S are passed on for ``ptymux proxy`` to resolve there, and nothing
    is created or checked here.
    """
    if host:
        return ServerPaths(socket=socket_path or "", lock="", log="", label=label or "",
                           pid="", status="", private=False, host=host)
    if socket_path:
        sock = os.path.abspath(socket_path)
        label = os.path.basename(sock)
        stem = f"server-{_slug(sock)}"
    else:
        label = label or "default"
        if "/" in label or label in (".", ".."):
            raise PathError(f"bad server name {label!r}: -L takes a plain name; use -S for a path")
        directory = socket_dir()
        ensure_private_dir(directory)
        sock = os.path.join(directory, label)
        stem = f"server-{label}"
    state = state_dir()
    return ServerPaths(
        socket=sock,
        lock=sock + ".lock",
        log=os.path.join(state, stem + ".log"),
        label=label,
        pid=os.path.join(state, stem + ".pid"),
        status=os.path.join(state, stem + ".ended"),
        private=not socket_path,
    )


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "_") or "socket"
