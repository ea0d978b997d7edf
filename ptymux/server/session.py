"""One session: a program in a pty, its virtual screen, and the clients attached to it.

Output flows pty -> attached clients (raw, first) -> emulator model. Live output never waits
for the model: bytes the model has not seen yet wait in a backlog that it works through in
slices between reads, and anything that reads the model (a redraw, a capture, a resize)
first lets it catch up (``screen()``).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import os
import select
import time
from collections.abc import Callable
from typing import Any, Protocol

from ptymux.printable import printable
from ptymux.protocol import MAX_DATA, SessionInfo, WaitResult
from ptymux.server.ptyproc import PtyProcess
from ptymux.server.spawn import command_line
from ptymux.term import ScreenModel, create_model
from ptymux.term.queries import QueryFilter, has_query

log = logging.getLogger(__name__)

READ_SIZE = 1 << 16
INPUT_LIMIT = 4 << 20  # keyboard bytes held for a program that does not read them; past
#  it, keys for the program are dropped (the bindings, read before, still work)
KILL_GRACE = 3.0  # seconds between SIGHUP and SIGKILL on kill-session
HELD_FLUSH = 0.005  # seconds a partial escape sequence may wait for the rest of it
MODEL_SLICE = 1 << 16  # bytes fed to the model per event-loop turn
MODEL_DELAY = 0.002  # seconds output waits before the model sees it: floods come in ~4 KiB
#                      reads, and the model works best on (and skips most of) large batches
DEFER_LIMIT = 4 << 20  # while more output waits in the pty, the model may lag this much
SKIP_MIN = 1 << 18  # backlog from which looking for lines to skip is worth a scan
_SIZE_ORDER = itertools.count()  # orders size changes across clients (the latest wins)
MAX_MARKS = 64  # terminals per session whose place in its history is remembered
PAUSED_DEFER = 0.05  # seconds the model may wait on clients that paused the pty
MAX_BACKLOG = 32 << 20  # output the model may lag behind before the pty is paused


class Attachment(Protocol):
    """What a session needs from an attached client connection."""

    def output(self, data: bytes, whole: bool = False) -> None: ...

    def session_ended(self, session: Session) -> None: ...


class Session:
    def __init__(
        self,
        session_id: int,
        name: str,
        argv: list[str],
        process: PtyProcess,
        cols: int,
        rows: int,
        history: int,
        on_end: Callable[[Session], None],
        emulator: str | None = None,
        log_fd: int | None = None,
    ) -> None:
        """The session around ``process``, ``argv`` running in its pty: started for it
        (server/spawn.py), or taken over (a hand-over: ``server/handover.py`` then restores
        the rest)."""
        self.id = session_id
        self.name = name
        self.argv = argv
        self.cols, self.rows = cols, rows
        self.created = time.time()
        self.last_used = time.monotonic()
        self.activity = self.created  # the same, as epoch seconds (ls, the switcher)
        self.clients: list[Attachment] = []
        # terminal name -> the model's history_total when it left: what it has seen
        self._marks: dict[str, int] = {}
        self.size_policy = "latest"  # how the clients' sizes make the session's
        # id(client) -> (when its size was last set, cols, rows), for clients whose counts
        self._sizes: dict[int, tuple[int, int, int]] = {}
        # wait requests to answer when the program ends: (connection, request id)
        self.waiters: list[tuple[Any, int]] = []
        self.killed = False  # ended by kill-session or kill-server: no status is kept
        self.remain = False  # new --remain-on-exit: kept, with its last screen, once ended
        self.exit_code: int | None = None
        self.ended = False
        self._on_end = on_end
        self._loop = asyncio.get_running_loop()
        self._paused_clients: set[int] = set()
        self._pending_input = bytearray()
        self._input_dropped = 0  # keys dropped since the program last took all it had
        self._reading = False
        self._eof = False
        self._kill_timer: asyncio.TimerHandle | None = None
        self._queries = QueryFilter()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._backlog = bytearray()  # output the model has not seen yet
        # a hand-over's screen and history marks, not yet in the model (rebuild)
        self._restore: tuple[bytes, dict[str, int]] | None = None
        self._fresh_output = False  # output arrived since the model last looked
        self._last_output = 0.0
        self._urgent = False  # a query waits in the backlog: no deferring
        self._feeding: asyncio.Handle | asyncio.TimerHandle | None = None
        self.emulator = emulator  # as asked for (a hand-over asks for it again)
        self.history_limit = history
        # The model is made on first use, or just after the request that made the session
        # has been answered: importing an emulator (~15 ms, most of it wcwidth's) is then
        # not part of the first 'new -d' a script waits for (issue #9's cold start).
        self._model_made: ScreenModel | None = None
        self._touched = 0  # uses of the model so far (export_state's stamp)
        self.process = process
        self._log_fd = log_fd  # new --log: every byte of output is appended there
        self._set_reading(True)
        self._loop.call_soon(self._make_model)

    @property
    def _model(self) -> ScreenModel:
        """The emulator model, made now if it was not yet (at the session's current size:
        a resize may have come first)."""
        self._touched += 1  # (export_state: whatever reads the model may have changed it)
        model = self._model_made
        if model is None:
            model = self._model_made = create_model(self.cols, self.rows, self.history_limit,
                                                    self.emulator)
            log.info("session %s (%s) model %s", self.id, printable(self.name),
                     type(model).__name__)
        return model

    def _make_model(self) -> None:
        self._model  # noqa: B018  (made now, in the loop turn after the reply)

    @property
    def log_fd(self) -> int | None:
        """The ``--log`` file's fd (a hand-over keeps it open across the exec)."""
        return self._log_fd

    # --- output -------------------------------------------------------------------------

    def _update_reading(self) -> None:
        self._set_reading(not self._paused_clients and len(self._backlog) < MAX_BACKLOG)

    def _set_reading(self, on: bool) -> None:
        on = on and not self._eof and not self.ended and self.process.master >= 0
        if on == self._reading:
            return
        if on:
            self._loop.add_reader(self.process.master, self._on_readable)
        else:
            self._loop.remove_reader(self.process.master)
        self._reading = on

    def _on_readable(self) -> None:
        """Read what the pty holds (it hands out a few KiB per read) up to READ_SIZE, and
        pass it on as one piece: fewer frames, fewer wake-ups for the clients."""
        fd = self.process.master
        chunks: list[bytes] = []
        size = 0
        eof = False
        while size < READ_SIZE:
            try:
                chunk = os.read(fd, READ_SIZE - size)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.EIO:
                    log.warning("session %s: read error %s", self.id, e)
                chunk = b""
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
            size += len(chunk)
        if chunks:
            self._output(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if eof:
            # Every slave fd is closed: the program is gone or going. Wait for SIGCHLD.
            self._eof = True
            self._set_reading(False)
            if self._backlog and self._feeding is None:
                self._feeding = self._loop.call_soon(self._feed_slice)
            self.check_exit()

    def _output(self, data: bytes) -> None:
        """Forward first, then (soon) update the model. Terminal queries are stripped from
        what clients get and answered from the model, so a program gets exactly one answer
        however many clients are attached."""
        if self._log_fd is not None:
            self._append_log(data)
        if self.clients:
            self._broadcast(self._queries.feed(data))
            if self._queries.pending and self._flush_timer is None:
                self._flush_timer = self._loop.call_later(HELD_FLUSH, self._flush_held)
            asked = self._queries.removed  # the filter has just looked for queries
        else:
            asked = has_query(data)
        self._backlog += data
        self._fresh_output = True
        self._last_output = self._loop.time()
        if asked:
            # A program waits for the answer: let the model reach the query now.
            self._urgent = True
            if self._feeding is not None:
                self._feeding.cancel()
            self._feeding = self._loop.call_soon(self._feed_slice)
        elif self._feeding is None:
            self._feeding = self._loop.call_later(MODEL_DELAY, self._feed_slice)
        if len(self._backlog) >= MAX_BACKLOG:
            self._update_reading()

    def _append_log(self, data: bytes) -> None:
        """A regular file takes the write at once; one that fails (a full disk) stops the
        log, not the session."""
        assert self._log_fd is not None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._log_fd, view):]
        except OSError as e:
            log.warning("session %s: writing its log failed (%s); no more logging", self.id,
                        e.strerror)
            self._close_log()

    def _close_log(self) -> None:
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None

    def _feed_slice(self) -> None:
        """Let the model work through one slice of the backlog, then yield to the loop.

        While a flood is still arriving (output came in during the last MODEL_DELAY, or the
        pty is readable), the model waits, up to DEFER_LIMIT: reading and forwarding come
        first, and a larger backlog lets the model skip the lines that scroll away unseen
        (``ScreenModel.skip``)."""
        self._feeding = None
        if self.ended:
            return
        # A client that cannot keep up pauses the pty, but the flood is not over: the model
        # keeps waiting rather than take the CPU the client's writes need (a while: a
        # stopped terminal must not keep the server waking up).
        held = bool(self._paused_clients) and not self._eof
        held = held and self._loop.time() - self._last_output < PAUSED_DEFER
        flowing = self._fresh_output or held or self._pty_readable()
        waiting = self._reading or held
        self._fresh_output = False
        if waiting and len(self._backlog) < DEFER_LIMIT and flowing and not self._urgent:
            self._feeding = self._loop.call_later(MODEL_DELAY, self._feed_slice)
            return
        self._skip_backlog()
        self._feed_model(MODEL_SLICE)
        if self._backlog:
            self._feeding = self._loop.call_soon(self._feed_slice)
            return
        self._urgent = False
        if not self._reading:
            self._update_reading()

    def _pty_readable(self) -> bool:
        try:
            return bool(select.select([self.process.master], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _skip_backlog(self) -> None:
        if self._restore is not None:
            self.rebuild()
        if len(self._backlog) < SKIP_MIN:
            return
        try:
            consumed = self._model.skip(self._backlog)
            replies = self._model.take_replies()
        except Exception:
            log.exception("session %s: emulator error while skipping", self.id)
            return
        del self._backlog[:consumed]
        if replies:
            self.write(replies)

    def _feed_model(self, limit: int) -> None:
        if self._restore is not None:
            self.rebuild()
        chunk = bytes(self._backlog[:limit])
        del self._backlog[:limit]
        try:
            self._model.feed(chunk)
            replies = self._model.take_replies()
        except Exception:  # the model promises not to raise; the session must not trust it
            log.exception("session %s: emulator error", self.id)
            return
        if replies:
            self.write(replies)

    def screen(self) -> ScreenModel:
        """The model, caught up with every byte of output so far."""
        self._skip_backlog()
        while self._backlog:
            self._feed_model(len(self._backlog))
        return self._model

    def _broadcast(self, data: bytes) -> None:
        if data:
            for client in self.clients:
                client.output(data)

    def _flush_held(self) -> None:
        """The program paused in the middle of an escape sequence: send what we held."""
        self._flush_timer = None
        self._broadcast(self._queries.flush())

    def _drain(self) -> None:
        """Read what the program wrote before it exited, without blocking."""
        if self.process.master < 0:
            return
        for _ in range(256):  # bounded: a background job may keep writing
            try:
                data = os.read(self.process.master, READ_SIZE)
            except OSError:
                return
            if not data:
                return
            self._output(data)

    # --- input --------------------------------------------------------------------------

    def write(self, data: bytes) -> int:
        """Send keyboard bytes to the program; never blocks. What the pty does not take
        at once waits for the program, up to INPUT_LIMIT; past that, keys are dropped
        (and logged). Returns how many bytes were taken.

        Why drop rather than stop reading the keyboard: a terminal's input is one stream,
        so the detach keys typed after a paste can only be seen by reading the paste; a
        client whose keys were not read could not detach, nor be seen to go away."""
        if self.ended:
            return 0
        self.last_used = time.monotonic()
        self.activity = time.time()
        if self._pending_input:
            room = INPUT_LIMIT - len(self._pending_input)
            if room < len(data):
                self._drop_input(len(data) - max(room, 0))
                data = data[: max(room, 0)]
            self._pending_input += data
            return len(data)
        try:
            written = os.write(self.process.master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            return 0
        if written < len(data):
            rest = data[written : written + INPUT_LIMIT]
            if len(rest) < len(data) - written:
                self._drop_input(len(data) - written - len(rest))
            self._pending_input += rest
            self._loop.add_writer(self.process.master, self._flush_input)
        return written + len(self._pending_input)

    def _drop_input(self, count: int) -> None:
        if not self._input_dropped:
            log.warning("session %s: its program leaves %d bytes of input unread; keys past"
                        " that are dropped", self.id, INPUT_LIMIT)

        self._input_dropped += count

    def _flush_input(self) -> None:
        try:
            written = os.write(self.process.master, self._pending_input)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending_input)
        del self._pending_input[:written]
        if not self._pending_input:
            self._loop.remove_writer(self.process.master)
            if self._input_dropped:
                log.warning("session %s: its program read its input again; %d bytes of keys"
                            " were dropped", self.id, self._input_dropped)
                self._input_dropped = 0

    # --- clients ------------------------------------------------------------------------

    def touch(self) -> None:
        """Someone used the session (attached, typed, left): it is the most recent."""
        self.last_used = time.monotonic()
        self.activity = time.time()

    def attach(self, client: Attachment, cols: int, rows: int, scrollback: int = 0,
               tty: str = "", title: str = "", read_only: bool = False) -> None:
        """Add a client: size the session as its policy says (a read-only client's size
        never counts), then send it the title it asked for, the history lines its
        terminal has not seen (at most ``scrollback``; see ScreenModel.scrollback) and a
        full redraw."""
        if not self.clients:
            self._queries = QueryFilter()  # what it held while nobody watched is in the redraw
        self.clients.append(client)
        self.touch()
        if not read_only:
            self._sizes[id(client)] = (next(_SIZE_ORDER), cols, rows)
        self._apply_size_policy(redraw_others=client)
        out = b""
        if title:
            out += b"\x1b]2;" + printable(title + self.name).encode() + b"\x1b\\"
        try:
            model = self.screen()
            if scrollback:
                out += model.scrollback(self._marks.get(tty) if tty else None, scrollback)
            out += model.redraw()
        except Exception:
            log.exception("session %s: redraw failed; sending a blank screen", self.id)
            out += b"\x1b[0m\x1b[H\x1b[2J"
        for start in range(0, len(out), MAX_DATA):
            client.output(out[start : start + MAX_DATA], whole=True)

    def size_order(self, client: Attachment) -> int:
        """Where ``client``'s size stands in the order 'latest' goes by (-1: it does not
        count); a hand-over re-adds the clients in this order."""
        entry = self._sizes.get(id(client))
        return entry[0] if entry is not None else -1

    def adopt_client(self, client: Attachment, cols: int, rows: int, counts: bool,
                     before: bytes) -> None:
        """A client carried across a hand-over: attached again as it was (no title, no
        scrollback: its terminal has them), then redrawn after ``before``. Its terminal
        shows what the old code sent it, perhaps cut short: the redraw sets it right."""
        self.clients.append(client)
        if counts:
            self._sizes[id(client)] = (next(_SIZE_ORDER), cols, rows)
        self._apply_size_policy(redraw_others=client)
        self.redraw_client(client, before)

    def detach(self, client: Attachment, tty: str = "") -> None:
        """Remove a client; remember how much of the history its terminal ``tty`` has
        seen, so that attaching there again writes only the newer lines."""
        if client in self.clients:
            self.clients.remove(client)
            self.touch()
            if tty:
                self._mark(tty)
        self.client_paused(client, False)
        if self._sizes.pop(id(client), None) is not None:
            self._apply_size_policy()

    def client_resized(self, client: Attachment, cols: int, rows: int) -> None:
        """A client's terminal changed size (a read-only client's does not count)."""
        if client in self.clients and id(client) in self._sizes:
            self._sizes[id(client)] = (next(_SIZE_ORDER), cols, rows)
            self._apply_size_policy()

    def set_size_policy(self, policy: str) -> None:
        self.size_policy = policy
        self._apply_size_policy()

    def _apply_size_policy(self, redraw_others: Attachment | None = None) -> None:
        """Size the session for the clients whose size counts: ``latest`` (the one that
        attached or resized last, tmux's default), ``smallest`` or ``largest``. With none,
        it keeps its size. When the size changes, clients other than ``redraw_others``
        (which gets its own redraw) get a full redraw: a terminal larger than the session
        then shows the session's area and the rest cleared, never stale content."""
        if not self._sizes or self.ended:
            return
        sizes = self._sizes.values()
        if self.size_policy == "smallest":
            cols, rows = min(c for _, c, _ in sizes), min(r for _, _, r in sizes)
        elif self.size_policy == "largest":
            cols, rows = max(c for _, c, _ in sizes), max(r for _, _, r in sizes)
        else:
            _, cols, rows = max(sizes)
        if (cols, rows) == (self.cols, self.rows):
            return
        self.resize(cols, rows)
        for other in self.clients:
            if other is not redraw_others:
                self.redraw_client(other)

    def redraw_client(self, client: Attachment, before: bytes = b"", after: bytes = b"") -> None:
        """A full redraw for one attached client (between ``before`` and ``after``)."""
        try:
            out = before + self.screen().redraw() + after
        except Exception:
            log.exception("session %s: redraw failed", self.id)
            return
        for start in range(0, len(out), MAX_DATA):
            client.output(out[start : start + MAX_DATA], whole=True)

    def _mark(self, tty: str) -> None:
        try:
            total = self.screen().history_total
        except Exception:
            log.exception("session %s: history_total failed", self.id)
            return
        self._marks.pop(tty, None)
        self._marks[tty] = total
        while len(self._marks) > MAX_MARKS:
            del self._marks[next(iter(self._marks))]

    def client_paused(self, client: Attachment, paused: bool) -> None:
        """A client's socket is full (or drained again): stop (or resume) reading the pty,
        so a slow terminal slows the program instead of losing output. A client that stops
        reading altogether does not hold the pty for long: its connection puts it in
        catch-up (Connection._catch_up) and resumes us."""
        if paused:
            self._paused_clients.add(id(client))
        else:
            self._paused_clients.discard(id(client))
        self._update_reading()

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) == (self.cols, self.rows) or self.ended:
            return
        self.cols, self.rows = cols, rows
        try:
            self.process.resize(cols, rows)
        except OSError as e:
            log.warning("session %s: resize failed: %s", self.id, e)
        self.screen().resize(cols, rows)  # the backlog was written for the old size

    # --- hand-over (server/handover.py) -----------------------------------------------

    def export_state(self, early: tuple[int, bytes] | None = None
                     ) -> tuple[bytes, dict[str, int], bytes]:
        """What a hand-over carries besides plain fields: (the screen as bytes that rebuild
        it in a fresh model: ``export_screen``; per terminal name, how many history lines
        it has not seen; keys the program has not read yet).

        ``early``: an ``export_screen`` made while the loop still ran, so that the
        sessions' pause is not spent on screens that have not changed since: it is used if
        the model has not been used since and no output waits for it.

        A screen carried by the last hand-over and not rebuilt yet (nothing has used the
        session since) goes on as it came: rebuilding it only to write it again would cost
        ~10 ms a session in the next hand-over's pause."""
        if self._restore is not None:
            screen, unseen = self._restore
            return screen, dict(unseen), bytes(self._pending_input)
        if early is not None and early[0] == self._touched and not self._backlog:
            screen = early[1]
        else:
            screen = self._export_screen()[1]
        total = self._model.history_total
        unseen = {tty: max(0, total - mark) for tty, mark in self._marks.items()}
        return screen, unseen, bytes(self._pending_input)

    def export_screen(self) -> tuple[int, bytes] | None:
        """The screen as bytes that rebuild it in a fresh model, and a stamp for
        ``export_state``; None for a screen still as the last hand-over carried it.

        Bytes, not the model's objects: the new code may have another model. Every history
        line, then ``redraw()``. The history is written from the top row down
        (``scrollback``'s documented bytes, its first ``\r\n`` dropped and its start moved
        to the top row), so the fresh model's blank rows never scroll into its history:
        exactly the old history lines go there."""
        return None if self._restore is not None else self._export_screen()

    def _export_screen(self) -> tuple[int, bytes]:
        model = self.screen()
        out = b""
        lines = model.scrollback(None, model.history_limit + model.rows)
        first = lines.find(b"\r\n")
        if first >= 0:
            out = b"\x1b[0m\x1b[H" + lines[first + 2:]
        return self._touched, out + model.redraw()

    def import_state(self, screen: bytes, unseen: dict[str, int], pending: bytes) -> None:
        """Take what ``export_state`` carried. The screen is rebuilt in the (fresh) model by
        ``rebuild``: called after the hand-over has answered, one session at a time
        (handover.restore), or before anything else reaches the model (output, a redraw, a
        capture), whichever comes first."""
        self._restore = (screen, unseen)
        if pending:
            self.write(pending)

    def rebuild(self) -> None:
        """Feed the model the screen a hand-over carried (once)."""
        if self._restore is None:
            return
        (screen, unseen), self._restore = self._restore, None
        try:
            self._model.feed(screen)
            self._model.take_replies()  # (answers to queries of the old code's past)
        except Exception:  # a screen lost is bad; a session lost is worse
            log.exception("session %s: its screen could not be rebuilt", self.id)
        total = self._model.history_total
        self._marks = {tty: max(0, total - count) for tty, count in unseen.items()}

    # --- ending -------------------------------------------------------------------------

    def kill(self) -> None:
        """Hang up the program; if it is still there after a grace period, SIGKILL it."""
        if self.ended:
            return
        self.killed = True
        self.process.hangup()
        if self._kill_timer is None:
            self._kill_timer = self._loop.call_later(KILL_GRACE, self.process.kill)

    def check_exit(self) -> None:
        """Called on SIGCHLD and on pty EOF: end the session once its program is gone."""
        if self.ended:
            return
        code = self.process.poll()
        if code is None:
            return
        self.exit_code = code
        self._drain()
        self._end()

    def _end(self) -> None:
        self.ended = True
        for timer in (self._kill_timer, self._flush_timer, self._feeding):
            if timer is not None:
                timer.cancel()
        if self._reading:
            self._loop.remove_reader(self.process.master)
            self._reading = False
        if self._pending_input:
            self._loop.remove_writer(self.process.master)
        self.process.close()
        self.process.kill()  # whatever is left of its process group
        self._close_log()
        if not self.remain or self.killed:
            self.release_clients()
        self._on_end(self)

    def release_clients(self) -> None:
        """Tell the attached clients the session has ended (they detach with its status)."""
        for client in list(self.clients):
            client.session_ended(self)
        self.clients.clear()

    @property
    def exit_status(self) -> tuple[int | None, int | None]:
        """(status, signal) for the exit message."""
        code = self.exit_code
        if code is None:
            return None, None
        if code < 0:
            return None, -code
        return code, None

    def foreground(self) -> tuple[str, str]:
        """(command, working directory) of the pty's foreground process group: what runs
        in the session now (a shell's job, an editor), as tmux's pane_current_command and
        pane_current_path; ('', '') if it cannot be read."""
        try:
            group = os.tcgetpgrp(self.process.master)
        except OSError:
            group = self.process.pid
        if group <= 0:
            group = self.process.pid
        try:
            with open(f"/proc/{group}/comm") as f:
                command = f.read().strip()
            path = os.readlink(f"/proc/{group}/cwd")
        except OSError:
            return "", ""
        return command[:4096], path[:4096]

    @property
    def command(self) -> str:
        """Its command line, as ``ls`` shows it."""
        return command_line(self.argv)

    def wait_result(self) -> WaitResult:
        """How its program ended, as ``wait`` answers it."""
        status, sig = self.exit_status
        return WaitResult(id=self.id, name=self.name, status=status, signal=sig)

    def info(self) -> SessionInfo:
        command, path = self.foreground() if not self.ended else ("", "")
        self.rebuild()  # (a hand-over's screen not rebuilt yet: its cwd is in there)
        try:  # where the shell last said it is (OSC 7), which also works over ssh; not a
            reported = self._model.cwd  # catch-up of the model: ls stays cheap in a flood
        except Exception:
            log.exception("session %s: cwd failed", self.id)
            reported = ""
        path = reported or path
        status, sig = self.exit_status
        return SessionInfo(
            id=self.id,
            name=self.name,
            command=self.command,
            cols=self.cols,
            rows=self.rows,
            created=self.created,
            attached=len(self.clients),
            pid=self.process.pid,
            current_command=command,
            current_path=path,
            ended=self.ended,
            status=status,
            signal=sig,
            activity=self.activity,
            size_policy=self.size_policy,
        )

