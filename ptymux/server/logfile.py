"""The server log: bounded in size, and a burst of one message logged a few times, not all.

Anybody who can reach the socket can make the server log (every refused frame is a line),
and the server runs for weeks: without bounds the log grows without end. Two bounds:

- ``RateLimit``: a message template (``record.msg``, before formatting, so "bad frame: X"
  and "bad frame: Y" count as one) passes ``LIMIT`` times per ``WINDOW`` seconds; the rest
  are counted, one line says so when counting starts, and one line gives the count once the
  window is over (at the next line logged, or when the server exits).
- ``RotatingLog``: past ``MAX_BYTES`` the file becomes ``NAME.1`` (one old file kept) and a
  new one is opened; fd 2 is pointed at the new file too, so that a traceback written
  straight to stderr (a crash, a warning from a library) lands in the current log.

This module is imported by every server start, before it listens: it stays clear of
``logging.handlers`` (which brings ``pickle``, ``queue`` and ``copy``, ~2.5 ms of a cold
``new -d``) and does the one rotation it needs itself.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Callable

LIMIT = 10  # lines per template per window
WINDOW = 10.0  # seconds
MAX_BYTES = 1 << 20  # of the log file before it is rotated (so at most ~2 MiB on disk)
FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

_SUMMARY = "_ptymux_summary"  # set on the lines RateLimit writes itself: never limited


class _Window:
    __slots__ = ("start", "passed", "suppressed", "level", "name")

    def __init__(self, start: float, record: logging.LogRecord) -> None:
        self.start = start
        self.passed = 0
        self.suppressed = 0
        self.level = record.levelno
        self.name = record.name


class RateLimit(logging.Filter):
    """Lets each message template through ``limit`` times per ``window`` seconds.

    ``emit`` writes the filter's own lines (the handler's ``handle``); they carry a marker
    so that they pass this filter themselves.
    """

    def __init__(self, emit: Callable[[logging.LogRecord], object], limit: int = LIMIT,
                 window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._emit = emit
        self._limit = limit
        self._window = window
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.RLock()  # logging may come from a thread (an executor)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False):
            return True
        with self._lock:
            return self._count(record)

    def _count(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        self._close_windows(now)
        template = record.msg if isinstance(record.msg, str) else repr(type(record.msg))
        key = (record.name, template)
        win = self._windows.get(key)
        if win is None:
            win = self._windows[key] = _Window(now, record)
        if win.passed < self._limit:
            win.passed += 1
            return True
        win.suppressed += 1
        if win.suppressed == 1:
            left = win.start + self._window - now
            self._say(win, "more lines like %r in the next %.0f s are counted, not logged",
                      template, left)
        return False

    def flush(self) -> None:
        """Report every count still open (the server is exiting)."""
        with self._lock:
            self._close_windows(float("inf"))

    def _close_windows(self, now: float) -> None:
        """End the windows that are over, reporting what each suppressed."""
        for key, win in list(self._windows.items()):
            if now - win.start >= self._window:
                del self._windows[key]
                if win.suppressed:
                    self._say(win, "%d similar messages suppressed: %r", win.suppressed, key[1])

    def _say(self, win: _Window, msg: str, *args: object) -> None:
        record = logging.LogRecord(win.name, win.level, __file__, 0, msg, args, None)
        setattr(record, _SUMMARY, True)
        self._emit(record)


class RotatingLog(logging.FileHandler):
    """A file handler that keeps ``path`` under ``max_bytes`` (one old file, ``path.1``).

    The file is created 0600 (what a session runs is in it) whatever the umask, and after a
    rotation ``stderr_fd`` (normally 2) is pointed at the new file. A path that is not a
    regular file (/dev/null) is never rotated.
    """

    def __init__(self, path: str, max_bytes: int = MAX_BYTES, stderr_fd: int | None = 2) -> None:
        self._stderr_fd = stderr_fd
        self.max_bytes = max_bytes
        super().__init__(path, mode="a", encoding="utf-8")

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._full(record):
                self.rotate()
            super().emit(record)
        except Exception:
            self.handleError(record)

    def _full(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` would take the file to ``max_bytes`` (what the standard
        library's RotatingFileHandler asks)."""
        if self.stream is None:
            self.stream = self._open()
        path = self.baseFilename
        if self.max_bytes <= 0 or (os.path.exists(path) and not os.path.isfile(path)):
            return False
        self.stream.seek(0, os.SEEK_END)
        return self.stream.tell() + len(self.format(record)) + 1 >= self.max_bytes

    def rotate(self) -> None:
        """``path`` becomes ``path.1`` (replacing the old one); writing goes on in a new
        ``path``, and so does fd ``stderr_fd``."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if os.path.exists(self.baseFilename):
            os.replace(self.baseFilename, self.baseFilename + ".1")
        self.stream = self._open()
        if self._stderr_fd is not None:
            os.dup2(self.stream.fileno(), self._stderr_fd)


def install(path: str, max_bytes: int = MAX_BYTES) -> RateLimit:
    """Log INFO and up to ``path``, rotated and rate-limited; returns the limiter (whose
    ``flush`` reports the last counts at exit). fd 2 must already point at ``path``."""
    handler = RotatingLog(path, max_bytes)
    handler.setFormatter(logging.Formatter(FORMAT))
    limiter = RateLimit(handler.handle)
    handler.addFilter(limiter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return limiter
