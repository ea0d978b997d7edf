"""Non-blocking writes to one fd (a client socket or a client's terminal) with a buffer.

The server never blocks on a client: what the fd does not take at once waits here and goes
out when the fd is writable again. Past ``high`` buffered bytes the owner is told to apply
backpressure (the session stops reading its pty), and told again once the buffer is down
to ``high // 4``.

The buffer knows where its frames begin and end, and which are live output (droppable): a
client that has stopped reading (``on_stall``: nothing taken for ``stall_after`` seconds)
has its queued output dropped as whole frames (``drop``) and gets a redraw instead once it
reads again (``when_writable``). A frame already begun is always finished: the client's
decoder must never see half a frame.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
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
        stall_after: float = 0.0,
        on_stall: Callable[[], None] | None = None,
    ) -> None:
        self._loop = loop
        self._fd = fd
        self._on_pressure = on_pressure
        self._on_error = on_error
        self._high = high
        self._buf = bytearray()
        # The frames in _buf, oldest first: [bytes of it still in _buf, payload size of a
        # droppable output frame or -1 for one that must go]. The first may be begun.
        self._parts: deque[list[int]] = deque()
        self._begun = False  # part of the first frame has been written
        self._output = 0  # bytes of output frames in _buf
        self._pressed = False
        self._watching = False  # add_writer is in effect
        self.failed = False
        self.on_drained: Callable[[], None] | None = None  # called once the buffer empties
        # once the buffer is empty and the fd has taken more (see when_writable)
        self._on_writable: Callable[[], None] | None = None
        self._stall_after = stall_after
        self._on_stall = on_stall
        self._stall_timer: asyncio.TimerHandle | None = None
        self._progress = 0.0  # loop time of the last write that took bytes

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def output_pending(self) -> int:
        """Of ``pending``, the bytes of output frames (the rest: replies and the like)."""
        return self._output

    def write(self, data: bytes, droppable: int = -1) -> None:
        """Write ``data`` (one whole frame, or any bytes that must go) now or soon.

        ``droppable``: the payload size of a frame of live output, which ``drop`` may
        discard as long as none of it has been written; -1 for everything else."""
        if self.failed or not data:
            return
        queued = len(data)
        if self._buf:
            self._buf += data
            self._parts.append([queued, droppable])
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
            queued -= written
            self._buf += data[written:]
            self._parts.append([queued, droppable])
            self._begun = written > 0
            self._watch(True)
            self._progress = self._loop.time()  # the clock starts now
            if self._on_stall is not None and self._stall_timer is None:
                self._stall_timer = self._loop.call_later(self._stall_after, self._check_stall)
        if droppable >= 0:
            self._output += queued
        if not self._pressed and len(self._buf) > self._high:
            self._pressed = True
            self._on_pressure(True)

    def _watch(self, on: bool) -> None:
        if on == self._watching:
            return
        if on:
            self._loop.add_writer(self._fd, self._writable)
        else:
            self._loop.remove_writer(self._fd)
        self._watching = on

    def _writable(self) -> None:
        if self._buf:
            try:
                written = os.write(self._fd, self._buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._fail(e)
                return
            if written:
                self._progress = self._loop.time()
                self._consumed(written)
                del self._buf[:written]
            if self._pressed and len(self._buf) <= self._high // 4:
                self._pressed = False
                self._on_pressure(False)
            if self._buf:
                return
            if self.on_drained is not None:
                self.on_drained()
        self._watch(False)
        callback, self._on_writable = self._on_writable, None
        if callback is not None:
            callback()

    def _consumed(self, count: int) -> None:
        """Account for ``count`` bytes written from the front of the buffer."""
        parts = self._parts
        while count:
            part = parts[0]
            taken = min(count, part[0])
            if part[1] >= 0:
                self._output -= taken
            count -= taken
            if taken == part[0]:
                parts.popleft()
                self._begun = False
            else:
                part[0] -= taken
                self._begun = True

    def _droppable(self, index: int, payload: int) -> bool:
        """Whether the ``index``-th frame queued (of ``payload``, -1: not output) may be
        dropped: live output, none of it written yet."""
        return payload >= 0 and not (index == 0 and self._begun)

    def drop(self) -> int:
        """Discard every output frame not begun; the total of their payload sizes (what
        the client will never get). Replies and a begun frame stay."""
        dropped = 0
        kept = bytearray()
        parts: deque[list[int]] = deque()
        view = memoryview(self._buf)
        pos = 0
        for i, part in enumerate(self._parts):
            size, payload = part
            if self._droppable(i, payload):
                dropped += payload
                self._output -= size
            else:
                kept += view[pos : pos + size]
                parts.append(part)
            pos += size
        view.release()
        self._buf, self._parts = kept, parts
        if not parts:
            self._begun = False
        if not self._buf and self._on_writable is None:
            self._watch(False)
        if self._pressed and len(self._buf) <= self._high // 4:
            self._pressed = False
            self._on_pressure(False)
        return dropped

    def snapshot(self) -> tuple[bytes, int]:
        """What ``drop`` would leave, without dropping it: (the bytes that must still go:
        a begun frame's rest, replies; the payload size of the output frames it would
        drop). A hand-over carries the first and redraws instead of the rest; until the
        exec succeeds nothing here has changed."""
        kept = bytearray()
        dropped = 0
        pos = 0
        for i, (size, payload) in enumerate(self._parts):
            if self._droppable(i, payload):
                dropped += payload
            else:
                kept += self._buf[pos : pos + size]
            pos += size
        return bytes(kept), dropped

    def when_writable(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once: when everything buffered has been written and, if the
        buffer is empty now, the fd takes more (for a socket: the peer has read)."""
        self._on_writable = callback
        self._watch(True)

    def _check_stall(self) -> None:
        """Nothing written for ``stall_after`` seconds while bytes wait: tell the owner.
        The loop may merely have been busy: a write is tried first."""
        self._stall_timer = None
        if not self._buf or self.failed:
            return
        self._writable()
        if not self._buf or self.failed:
            return
        now = self._loop.time()
        idle = now - self._progress
        if idle >= self._stall_after:
            self._progress = now  # told at most once per stall_after
            if self._on_stall is not None:
                self._on_stall()
            idle = 0.0
        if self._buf and not self.failed and self._stall_timer is None:
            self._stall_timer = self._loop.call_later(self._stall_after - idle,
                                                      self._check_stall)

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
        self._on_stall = None

    def take(self) -> bytes:
        """Stop writing; hand back what was not written (it may go another way)."""
        self._watch(False)
        self._on_writable = None
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        data = bytes(self._buf)
        self._buf.clear()
        self._parts.clear()
        self._begun = False
        self._output = 0
        if self._pressed:
            self._pressed = False
            self._on_pressure(False)
        return data
