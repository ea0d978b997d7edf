"""Where the server's socket, lock and log live, and the safety checks on those places.

The socket directory is private to the user: anybody who can reach the socket can type into
every session, so a directory that is not ours or that others can enter is refused rather
than used.
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


def socket_dir() -> str:
    """``$PTYMUX_SOCKET_DIR``, else ``$XDG_RUNTIME_DIR/ptymux``, else ``/tmp/ptymux-$UID``."""
    explicit = os.environ.get("PTYMUX_SOCKET_DIR")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "ptymux")
    return f"/tmp/ptymux-{os.getuid()}"


def ensure_private_dir(path: str) -> None:
    """Create ``path`` 0700 if missing; refuse one owned by another user or open to others."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
    except OSError as e:
        raise PathError(f"can't use socket directory {path}: {e.strerror}") from None
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


def state_dir() -> str:
    """Where the server log goes: ``$XDG_STATE_HOME/ptymux`` or ``~/.local/state/ptymux``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "ptymux")


def resolve(label: str | None = None, socket_path: str | None = None) -> ServerPaths:
    """The paths for the server named by ``-L label`` or ``-S socket_path`` (tmux's meanings).

    With ``-S`` the user chose the place, so only its directory must exist; otherwise the
    private socket directory is created and checked.
    """
    if socket_path:
        sock = os.path.abspath(socket_path)
        label = os.path.basename(sock)
    else:
        label = label or "default"
        if "/" in label or label in (".", ".."):
            raise PathError(f"bad server name {label!r}: -L takes a plain name; use -S for a path")
        directory = socket_dir()
        ensure_private_dir(directory)
        sock = os.path.join(directory, label)
    log_name = f"server-{label}.log" if not socket_path else f"server-{_slug(sock)}.log"
    return ServerPaths(
        socket=sock, lock=sock + ".lock", log=os.path.join(state_dir(), log_name), label=label
    )


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "_") or "socket"
