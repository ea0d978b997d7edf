"""A client's terminal, passed to the server: keys are read from it, output written to it.

A local client hands the server its terminal (a fresh open of it, passed with SCM_RIGHTS)
so that live output and keystrokes skip a hop through the client process, as tmux's do.
The server then also watches for the key bindings (``ptymux/keys.py``): detach it handles
itself; for any other binding it lets go of the terminal and tells the client.

Writes never wait: ``write_now`` writes what the terminal takes at once and says how much
that was. What it does not take goes to the client as frames (``server/connection.py``):
the client can block on a slow terminal, on its own core, where the server must not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from ptymux.config import DEFAULT_DETACH_KEYS, parse_keys
from ptymux.keys import KeyMatcher

READ_SIZE = 1 << 16


class PassedTerminal:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        bindings: dict[bytes, str],
        on_keys: Callable[[bytes], None],
        on_action: Callable[[str], None],
    ) -> None:
        os.set_blocking(fd, False)  # our own open file description: the client's stays as is
        self.fd = fd
        self._loop = loop
        # (a client that named no keys gets the default detach keys)
        self._matcher = KeyMatcher(bindings or {parse_keys(DEFAULT_DETACH_KEYS): "detach"})
        self._on_keys = on_keys
        self._on_action = on_action
        self._reading = False
        self._released = False
        self.set_reading(True)

    def set_reading(self, on: bool) -> None:
        on = on and not self._released
        if on == self._reading:
            return
        if on:
            self._loop.add_reader(self.fd, self._readable)
        else:
            self._loop.remove_reader(self.fd)
        self._reading = on

    @property
    def bindings(self) -> dict[bytes, str]:
        return self._matcher.bindings

    @property
    def held(self) -> bytes:
        """The start of a binding typed so far (a hand-over carries it)."""
        return self._matcher.held

    def hold(self, keys: bytes) -> None:
        """Carry on from a binding begun under the old code (a hand-over)."""
        _keys, _action, _rest = self._matcher.feed(keys)

    def write_now(self, data: bytes) -> int:
        """Write what the terminal takes without waiting; how many bytes that was."""
        if self._released:
            return 0
        try:
            return os.write(self.fd, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:  # EIO: the terminal hung up. Detach soon, not inside the session's
            self._loop.call_soon(self._gone)  # fan-out to its clients, which detaching changes
            return 0

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # EIO: the terminal hung up
        if not data:
            self._gone()
            return
        keys, action, _rest = self._matcher.feed(data)
        if keys:
            self._on_keys(keys)
        if action is not None:
            # What was typed after the binding in the same read is dropped (as docker's
            # detach does): keys for a program we are leaving, or a switcher not drawn yet.
            self._on_action(action)

    def _gone(self) -> None:
        """The terminal closed or hung up: detach, as a client does when its stdin ends."""
        if not self._released:
            self.set_reading(False)
            self._on_action("detach")

    def release(self) -> None:
        """Stop using the terminal and close our fd."""
        if self._released:
            return
        self.set_reading(False)
        self._released = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
