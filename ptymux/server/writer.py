"""Non-blocking writes to one fd (a client socket or a client's terminal) with a buffer.

The server never blocks on a client: what the fd does not take at once waits here and goes
out when the fd is writable again. Past ``high`` buffered bytes the owner is told to apply
backpressure (the session stops reading its pty), and told again once the buffer is down
to ``high // 4``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

WRITE_HIGH_WATER = 1 << 20  # bytes queued for one client before its session pauses


def _ignore(_arg: object) -> None:
    pass


class FdWriter:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        on_pressure: Callable[[bool], None],
        on_error: Callable[[OSError], None],
        high: int = WRITE_HIGH_WATER,
    ) -> None:
        self._loop = loop
        self._fd = fd
        self._on_pressure = on_pressure
        self._on_error = on_error
        self._high = high
        self._buf = bytearray()
        self._pressed = False
        self.failed = False
        self.on_drained: Callable[[], None] | None = None  # called once the buffer empties

    @property
    def pending(self) -> int:
        return len(self._buf)

    def write(self, data: bytes) -> None:
        if self.failed or not data:
            return
        if self._buf:
            self._buf += data
        else:
            try:
                written = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as e:
                self._fail(e)
                return
            if written == len(data):
                return
            self._buf += data[written:]
            self._loop.add_writer(self._fd, self._writable)
        if not self._pressed and len(self._buf) > self._high:
            self._pressed = True
            self._on_pressure(True)

    def _writable(self) -> None:
        try:
            written = os.write(self._fd, self._buf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._fail(e)
            return
        del self._buf[:written]
        if self._pressed and len(self._buf) <= self._high // 4:
            self._pressed = False
            self._on_pressure(False)
        if not self._buf:
            self._loop.remove_writer(self._fd)
            if self.on_drained is not None:
                self.on_drained()

    def _fail(self, error: OSError) -> None:
        self.failed = True
        self.take()
        self._on_error(error)

    def close(self) -> None:
        """Stop for good: drop what is buffered and the callbacks (they refer back to the
        owner: keeping them would keep a closed connection alive in a reference cycle)."""
        self.take()
        self.failed = True
        self._on_pressure = _ignore
        self._on_error = _ignore
        self.on_drained = None

    def take(self) -> bytes:
        """Stop writing; hand back what was not written (it may go another way)."""
        if self._buf:
            self._loop.remove_writer(self._fd)
        data = bytes(self._buf)
        self._buf.clear()
        if self._pressed:
            self._pressed = False
            self._on_pressure(False)
        return data
