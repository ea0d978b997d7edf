"""The standard library's pieces that a new server needs before it has answered its first
``new -d`` (detaching, binding, the first spawn: server/daemon.py, ptyproc.py), without
the modules that would make the waiting client pay for more than it uses.

- ``signal``: ``_signal``, the C module under the ``signal`` module, with the same functions
  and constants taking and giving plain ints; ``signal`` builds its enums (Signals,
  Handlers, Sigmasks) at import, ~1.5 ms. Typed ``Any``: no stub describes ``_signal``.
- ``suppress``: ``contextlib.suppress``, whose module brings ``functools`` (~1.3 ms).
- ``close_fds``: what ``subprocess``'s ``close_fds`` does, for the detaching daemon and a
  program about to be exec'd.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # see ptymux/records.py
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

signal: Any = __import__("_signal")


class suppress:  # noqa: N801 (named as the contextlib one it stands for)
    """``with suppress(OSError): ...``: the listed exceptions end the block silently."""

    def __init__(self, *exceptions: type[BaseException]) -> None:
        self._exceptions = exceptions

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        return kind is not None and issubclass(kind, self._exceptions)


def close_fds(keep: int) -> None:
    """Close every fd above 2 but ``keep``: those open (/proc/self/fd), as subprocess does,
    rather than every number up to a limit that may be in the millions."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            with suppress(OSError):  # (the listing's own fd, closed already)
                os.close(fd)
