"""Noticing that the server's socket file was removed, without polling.

A server whose socket is gone (``rm``, a tmp cleaner, a deleted socket directory) is cut
off: no client can reach its sessions, and the next ``new`` would start a second server
beside it. Linux's inotify tells us at once when the socket's directory loses that name,
through a file descriptor the event loop watches, so an idle server stays idle: no timer,
no wake-ups. Where inotify is not available the server still re-creates its socket on
SIGUSR1 (tmux's convention).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import struct
from collections.abc import Callable

log = logging.getLogger(__name__)

IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
IN_MOVED_FROM = 0x040
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_IGNORED = 0x8000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


def _libc() -> ctypes.CDLL | None:
    # The running interpreter's own symbols, libc's among them: no find_library, which runs
    # ldconfig -p (~1.5 ms of every server start).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1  # noqa: B018 (present?)
    except (OSError, AttributeError):
        return None
    return libc


class SocketWatch:
    """Calls ``on_gone`` when the file at ``path`` is removed or renamed away, or when its
    directory is. ``close()`` before removing the socket on purpose."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, path: str, on_gone: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._dir = os.path.dirname(path) or "."
        self._name = os.fsencode(os.path.basename(path))
        self._on_gone = on_gone
        self._fd = -1
        self._libc = _libc()
        self.rewatch()

    @property
    def active(self) -> bool:
        return self._fd >= 0

    def rewatch(self) -> None:
        """(Re)start watching the directory: at start, and after it was re-created."""
        self.close()
        if self._libc is None:
            return
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.warning("inotify unavailable (%s): a removed socket is noticed only on"
                        " SIGUSR1", os.strerror(ctypes.get_errno()))
            return
        mask = IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF
        if self._libc.inotify_add_watch(fd, os.fsencode(self._dir), mask) < 0:
            log.warning("can't watch %s (%s): a removed socket is noticed only on SIGUSR1",
                        self._dir, os.strerror(ctypes.get_errno()))
            os.close(fd)
            return
        self._fd = fd
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 64 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            log.warning("reading inotify failed: %s", e)
            self.close()
            return
        gone = False
        pos = 0
        while pos + _EVENT.size <= len(data):
            _wd, mask, _cookie, size = _EVENT.unpack_from(data, pos)
            name = data[pos + _EVENT.size : pos + _EVENT.size + size].rstrip(b"\0")
            pos += _EVENT.size + size
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                gone = True  # the directory itself went away
            elif mask & (IN_DELETE | IN_MOVED_FROM) and name == self._name:
                gone = True
        if gone:
            self._on_gone()

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
