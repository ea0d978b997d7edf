"""A session's screen, written early for a hand-over (while the loop still runs), is used in
the pause only if nothing has reached the model since: otherwise the screen the new code
gets would miss what the program printed in between.

A real session around a real program in a real pty, driven by a real event loop.
"""

from __future__ import annotations

import asyncio
import os

from ptymux.server.ptyproc import PtyProcess
from ptymux.server.session import Session

DEADLINE = 10.0


async def _until(check: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not check():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _scenario() -> None:
    script = "printf 'one\\n'; read x; printf 'two\\n'; exec sleep 30"
    process = PtyProcess(["sh", "-c", script], "/", dict(os.environ), 40, 10)
    session = Session(1, "s", ["sh"], process, 40, 10, 100, lambda s: None, None, None)
    try:
        def shows(text: str) -> bool:
            return text in session.screen().capture(None, None, False, False)

        await _until(lambda: shows("one"), "one")
        early = session.export_screen()
        assert early is not None and b"one" in early[1]
        # Nothing used the model since: the early screen goes as it is.
        screen, _, _ = session.export_state(early)
        assert screen is early[1]

        session.write(b"\n")  # the program prints 'two' after the screen was written
        await _until(lambda: b"two" in bytes(session._backlog) or shows("two"), "two")
        screen, _, _ = session.export_state(early)
        assert b"two" in screen and b"one" in screen  # written again: nothing lost

        later = session.export_screen()
        assert later is not None
        session.resize(30, 10)  # a resize changes the screen without output
        screen, _, _ = session.export_state(later)
        assert screen is not later[1]
    finally:
        process.kill()
        process.close()
        await _until(lambda: process.poll() is not None, "the program to end")


def test_an_early_screen_is_used_only_if_nothing_reached_the_model_since() -> None:
    asyncio.run(asyncio.wait_for(_scenario(), 30))
