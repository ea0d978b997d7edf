"""The session switcher: a full-screen list of sessions with a live preview (issue 10).

Ctrl-P Ctrl-O while attached hands the terminal back to the client process, which calls
``run_switcher``: a prompt_toolkit application in the same terminal (the alternate screen)
that lists every session, previews the highlighted one's screen with its colours, and ends
with the user's ``Choice``: switch to a session, detach, or go back. docs/switcher.md
describes what it shows and every key.

This is the only module that imports prompt_toolkit, and the client imports it only when the
switcher opens: attaching must not pay prompt_toolkit's import (~80-250 ms). What the
switcher asks the server goes through ``SwitcherHost`` (``switcher_host.py``), on a worker
thread: the screen stays responsive while the server answers, and since that one thread is
the only user of the connection while the application runs, requests never interleave.

The terminal is prompt_toolkit's default input and output (this process's stdin and
stdout), already in raw mode: prompt_toolkit saves the terminal's mode and restores it on
the way out, and the signal handlers and wakeup fd its event loop takes over are put back as
the caller had them (the attach loop relies on both).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.data_structures import Point
from prompt_toolkit.filters import Condition, Filter
from prompt_toolkit.formatted_text import ANSI, StyleAndTextTuples, to_formatted_text
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    BufferControl,
    ConditionalContainer,
    FormattedTextControl,
    HSplit,
    Layout,
    VSplit,
    Window,
)
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import get_cwidth

from ptymux import protocol as p
from ptymux.client.connection import ClientError
from ptymux.client.switcher_host import ServerLost, SwitcherHost
from ptymux.printable import printable
from ptymux.statuses import describe

LIST_EVERY = 1.0  # seconds between two session lists while the switcher is open
PREVIEW_EVERY = 0.5  # seconds between two captures of the highlighted session
ESCAPE_WAIT = 0.05  # how long a lone ESC waits for the rest of a key's sequence (vim's 50 ms)
NAME_WIDTH = 24  # the name column's widest (longer names are cut with an ellipsis)

_T = TypeVar("_T")


class Choice(NamedTuple):
    """How the switcher ended: ``"switch"`` to ``session``, ``"detach"``, or ``"back"`` to
    the session the client came from (which the caller may find gone)."""

    action: str  # "switch" | "detach" | "back"
    session: int | None = None  # for "switch"


STYLE = Style.from_dict({
    "header": "reverse",
    "columns": "bold",
    "selected": "reverse",
    "exited": "ansired",
    "title": "bold",
    "dim": "ansibrightblack",
    "message": "bold",
    "prompt": "bold",
    "hints": "reverse",
    "key": "bold",
})

# The hint line, in its order; on a narrow terminal the first of DROP go first.
HINTS = ("Enter:switch", "j/k:move", "n/p:next/prev", "c:new", "r:rename", "x:kill",
         "/:filter", "d:detach", "?:help", "q:back")
DROP = ("j/k:move", "n/p:next/prev", "/:filter", "r:rename", "x:kill", "c:new", "d:detach")

# The switcher's own keys, for the help screen (the attached-mode keys come from the caller).
KEYS = (
    ("Up/Down, j/k", "move the highlight"),
    ("PgUp/PgDn", "move it by a screen"),
    ("Home/End, g/G", "to the first / last session"),
    ("Enter", "switch to the highlighted session"),
    ("n / p", "switch to the next / previous session after the one you came from"),
    ("0-9", "switch to the session with that id"),
    ("c", "create a session and switch to it"),
    ("r", "rename the highlighted session"),
    ("x", "kill the highlighted session (asks y/n)"),
    ("/", "filter by name (Enter or Esc ends the edit; Esc again clears it)"),
    ("d", "detach"),
    ("?", "this help"),
    ("q, Esc", "back to the session you came from"),
)


# --- what the preview may hold ---------------------------------------------------------------

# An escape sequence: a CSI (parameters, intermediates, final), an OSC up to its terminator,
# or ESC and one character.
_ESCAPE = re.compile(r"\x1b(?:\[([0-?]*)([ -/]*)([@-~])?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)",
                     re.S)
# Every control character but the newline and ESC (what is left of ESC after _ESCAPE starts
# a colour): ANSI would pass \001..\002 to the terminal as they are (its "zero-width
# escapes") and takes \x9b for a CSI.
_CONTROLS = {c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x0A, 0x1B)}


def _sgr(params: str) -> str:
    """An SGR's parameters as prompt_toolkit's ``ANSI`` reads them: colons (``38:2::r:g:b``,
    ``4:3``) are the newer form of the same colours and underline, which ANSI does not
    parse (it would print the rest as text); the underline colour (58) it has no use for."""
    out: list[str] = []
    for part in params.split(";"):
        if ":" not in part:
            out.append(part)
            continue
        sub = part.split(":")
        if sub[0] == "4":
            out.append("24" if sub[1:2] == ["0"] else "4")
        elif sub[0] in ("38", "48") and len(sub) >= 3 and sub[1] == "5":
            out.append(f"{sub[0]};5;{sub[2] or 0}")
        elif sub[0] in ("38", "48") and len(sub) >= 5 and sub[1] == "2":
            rgb = sub[-3:]
            out.append(f"{sub[0]};2;{';'.join(v or '0' for v in rgb)}")
    return ";".join(out)


def _keep_sgr(match: re.Match[str]) -> str:
    if match.group(3) == "m" and not match.group(2) and re.fullmatch(r"[0-9;:]*", match[1]):
        return f"\x1b[{_sgr(match[1])}m"
    return ""  # anything but colours and attributes has no place in a preview


def preview_text(capture: str) -> ANSI:
    """A capture with escapes (``capture -e``) as formatted text: its SGR sequences become
    styles, every other escape sequence and control character is dropped. The capture comes
    from the server, which renders it from its model, but the model holds what programs
    wrote: nothing in it may reach the terminal raw."""
    return ANSI(_ESCAPE.sub(_keep_sgr, capture).translate(_CONTROLS))


# --- columns -------------------------------------------------------------------------------


def _fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to ``width`` terminal columns."""
    if width <= 0:
        return ""
    size = get_cwidth(text)
    if size <= width:
        return text + " " * (width - size)
    out, used = "", 0
    for ch in text:
        w = get_cwidth(ch)
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "…" + " " * (width - 1 - used)


def state_of(s: p.SessionInfo) -> str:
    """``running``, or how its program ended (a session kept by ``--remain-on-exit``)."""
    return f"exited, {describe(s.status, s.signal)}" if s.ended else "running"


class _Columns(NamedTuple):
    id: int
    name: int
    size: int
    state: int


def _columns(sessions: list[p.SessionInfo]) -> _Columns:
    return _Columns(
        id=max([2, *(len(str(s.id)) for s in sessions)]),
        name=min(NAME_WIDTH, max([4, *(get_cwidth(printable(s.name)) for s in sessions)])),
        size=max([4, *(len(f"{s.cols}x{s.rows}") for s in sessions)]),
        state=max([5, *(len(state_of(s)) for s in sessions)]),
    )


def _row(cols: _Columns, mark: str, sid: str, name: str, size: str, clients: str,
         state: str, command: str) -> str:
    return (f"{mark} {sid.rjust(cols.id)}  {_fit(name, cols.name)}  {size.ljust(cols.size)}"
            f"  {clients.rjust(7)}  {state.ljust(cols.state)}  {command}")


# --- the application -----------------------------------------------------------------------


class _Switcher:
    """The switcher's state, its screen and its keys. Everything here runs on the
    application's event loop, except the host's calls, which run on ``pool``'s one thread."""

    def __init__(self, host: SwitcherHost, current: int | None,
                 bindings: list[tuple[str, str]], preview: bool, where: str,
                 show_help: bool, message: str) -> None:
        self.host = host
        self.current = current
        self.bindings = bindings
        self.show_preview = preview
        self.where = where
        self.mode = "help" if show_help else "list"  # list | filter | rename | confirm | help
        self.message = printable(message)
        self.sessions: list[p.SessionInfo] = []
        self.shown: list[p.SessionInfo] = []  # the sessions the filter lets through
        self.selected: int | None = None  # the highlighted session's id
        self.filter = ""
        self.preview: StyleAndTextTuples = []
        self.preview_of: int | None = None  # whose screen ``preview`` is
        self.renaming: int | None = None
        self.killing: p.SessionInfo | None = None
        self.busy = False  # a create, rename or kill is on its way
        self.pool = concurrent.futures.ThreadPoolExecutor(1, "ptymux-switcher")
        self.wake: asyncio.Event | None = None
        self.list_due = 0.0
        self.preview_due = 0.0
        self.edit = Buffer(multiline=False, on_text_changed=self._edited)
        self.app = self._application()

    # --- state ---------------------------------------------------------------------------

    def set_sessions(self, sessions: list[p.SessionInfo]) -> None:
        self.sessions = sessions
        self._refilter()

    def _refilter(self) -> None:
        """The shown sessions after a new list or filter; the highlight stays on its session
        while that is shown (else on the first shown), and the preview follows it."""
        needle = self.filter.lower()
        self.shown = [s for s in self.sessions if needle in s.name.lower()]
        ids = [s.id for s in self.shown]
        if self.selected not in ids:
            before = self.selected
            self.selected = ids[0] if ids else None
            if self.selected != before:
                self._want_preview()

    def _index(self) -> int:
        for i, s in enumerate(self.shown):
            if s.id == self.selected:
                return i
        return 0

    def move(self, delta: int) -> None:
        if not self.shown:
            return
        index = max(0, min(len(self.shown) - 1, self._index() + delta))
        if self.shown[index].id != self.selected:
            self.selected = self.shown[index].id
            self._want_preview()

    def _highlighted(self) -> p.SessionInfo | None:
        return next((s for s in self.shown if s.id == self.selected), None)

    def _want_preview(self) -> None:
        """Capture the highlighted session now rather than at the next tick."""
        self.preview_due = 0.0
        if self.wake is not None:
            self.wake.set()

    def _want_list(self) -> None:
        self.list_due = 0.0
        if self.wake is not None:
            self.wake.set()

    def set_preview(self, session_id: int | None, capture: str) -> None:
        self.preview_of = session_id
        self.preview = to_formatted_text(preview_text(capture)) if capture else []

    def heights(self) -> tuple[int, int]:
        """Rows of the list and of the preview: the list takes what its sessions need, up
        to half of the room when there is a preview (at least 3 rows), the preview the
        rest."""
        rows = self.app.output.get_size().rows
        room = max(1, rows - 4 - (1 if self.show_preview else 0))  # header, columns,
        if not self.show_preview:  # message, hints (and the preview's title)
            return room, 0
        listed = min(max(1, len(self.shown)), max(3, room // 2), room)
        return listed, room - listed

    def _edited(self, _buffer: Buffer) -> None:
        if self.mode == "filter":
            self.filter = self.edit.text
            self._refilter()

    def leave(self, choice: Choice) -> None:
        """End the application with ``choice``, once (a second key, or an action that
        finishes late, finds it already ending)."""
        if self._ending():
            return
        self.app.exit(result=choice)

    def fail(self, error: BaseException) -> None:
        """End the application with ``error`` raised from ``run_switcher``."""
        if not self._ending():
            self.app.exit(exception=error)

    def _ending(self) -> bool:
        return self.app.future is None or self.app.future.done()

    # --- talking to the server -----------------------------------------------------------

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` on the worker thread: the one user of the connection meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args))

    async def refresh(self) -> None:
        """Keep the list (every LIST_EVERY) and the preview (every PREVIEW_EVERY, and at
        once when the highlight moves) fresh for as long as the switcher is open."""
        assert self.wake is not None
        # (It also ends by itself once the application is ending: Python 3.11's wait_for
        # can swallow the cancellation that arrives as the wake-up does (a key that moves
        # the highlight, then Enter at once), and prompt_toolkit waits for this task.)
        while not self._ending():
            now = time.monotonic()
            wait = min(self.list_due, self.preview_due if self.show_preview else now + 60)
            if wait > now:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait - now):
                        await self.wake.wait()
            self.wake.clear()
            if self._ending():
                return
            try:
                if time.monotonic() >= self.list_due:
                    self.list_due = time.monotonic() + LIST_EVERY
                    self.set_sessions(await self.call(self.host.sessions))
                if self.show_preview and time.monotonic() >= self.preview_due:
                    self.preview_due = time.monotonic() + PREVIEW_EVERY
                    await self.fetch_preview_async()
            except ServerLost as e:
                self.fail(e)
                return
            except ClientError as e:
                self.message = printable(str(e))
            self.app.invalidate()

    async def fetch_preview_async(self) -> None:
        sid = self.selected
        text = "" if sid is None else await self.call(self.host.preview, sid,
                                                       self.heights()[1])
        self.set_preview(sid, text)

    def act(self, work: Callable[[], Any], doing: str) -> None:
        """Run a create, rename or kill in the background, one at a time; the message line
        says what is happening, then what came of it."""
        if self.busy:
            self.message = "wait: the last request is still on its way"
            return
        self.busy = True
        self.message = doing

        async def run() -> None:
            try:
                await work()
            except ServerLost as e:
                self.fail(e)
            except ClientError as e:
                self.message = printable(str(e))
            finally:
                self.busy = False
                self.app.invalidate()

        self.app.create_background_task(run())

    def create(self) -> None:
        async def work() -> None:
            sid = await self.call(self.host.create)
            self.leave(Choice("switch", sid))

        self.act(work, "creating a session…")

    def rename(self, sid: int, name: str) -> None:
        async def work() -> None:
            await self.call(self.host.rename, sid, name)
            self.message = f"renamed session {sid} to {printable(name)}"
            self.sessions = [s._replace(name=name) if s.id == sid else s
                             for s in self.sessions]
            self._refilter()
            self._want_list()

        self.act(work, f"renaming session {sid}…")

    def kill(self, s: p.SessionInfo) -> None:
        async def work() -> None:
            await self.call(self.host.kill, s.id)
            self.message = f"killed session {s.id} ({printable(s.name)})"
            self.set_sessions([x for x in self.sessions if x.id != s.id])
            self._want_list()

        self.act(work, f"killing session {s.id}…")

    # --- what is on the screen -------------------------------------------------------------

    def header(self) -> StyleAndTextTuples:
        count = len(self.sessions)
        text = f" ptymux{f' on {printable(self.where)}' if self.where else ''}:"
        text += f" {count} session{'' if count == 1 else 's'}"
        if self.filter:
            text += f"   filter /{printable(self.filter)}: {len(self.shown)} shown"
        return [("class:header", text)]

    def column_names(self) -> StyleAndTextTuples:
        cols = _columns(self.shown)
        return [("class:columns", _row(cols, " ", "ID", "NAME", "SIZE", "CLIENTS", "STATE",
                                       "COMMAND"))]

    def list_lines(self) -> StyleAndTextTuples:
        if not self.sessions:
            return [("class:dim", "  no sessions: c creates one, d detaches, q goes back")]
        if not self.shown:
            return [("class:dim", f"  no session name contains '{printable(self.filter)}'"
                                  " (Esc clears the filter)")]
        cols = _columns(self.shown)
        out: StyleAndTextTuples = []
        for i, s in enumerate(self.shown):
            if i:
                out.append(("", "\n"))
            line = _row(cols, "*" if s.id == self.current else " ", str(s.id),
                        printable(s.name), f"{s.cols}x{s.rows}", str(s.attached),
                        state_of(s), printable(s.command))
            style = "class:selected" if s.id == self.selected else (
                "class:exited" if s.ended else "")
            out.append((style, line))
        return out

    def list_cursor(self) -> Point:
        return Point(x=0, y=self._index())

    def preview_title(self) -> StyleAndTextTuples:
        s = next((x for x in self.sessions if x.id == self.preview_of), None)
        what = f" {s.id}: {printable(s.name)} " if s is not None else " "
        return [("class:title", f"──{what}" + "─" * 300)]

    def help_lines(self) -> StyleAndTextTuples:
        keys = [(k, what) for k, what in KEYS]
        bound = [(printable(k), printable(what)) for k, what in self.bindings]
        width = max(get_cwidth(k) for k, _ in keys + bound)
        out: StyleAndTextTuples = [("class:title", " ptymux session switcher\n\n")]
        for key, what in keys:
            out += [("class:key", f" {_fit(key, width)}  "), ("", f"{what}\n")]
        if bound:
            out.append(("class:title", "\n While attached:\n\n"))
            for key, what in bound:
                out += [("class:key", f" {_fit(key, width)}  "), ("", f"{what}\n")]
        out.append(("class:dim", "\n Any key closes this help."))
        return out

    def hints(self) -> StyleAndTextTuples:
        """The keys that fit the terminal's width (Enter, ? and q always)."""
        width = self.app.output.get_size().columns
        shown = list(HINTS)
        for hint in DROP:
            if len("  ".join(shown)) + 1 <= width:
                break
            shown.remove(hint)
        return [("class:hints", " " + "  ".join(shown))]

    def prompt_label(self) -> StyleAndTextTuples:
        if self.mode == "rename":
            return [("class:prompt", f" rename session {self.renaming} to: ")]
        return [("class:prompt", " /")]

    def message_line(self) -> StyleAndTextTuples:
        if self.mode == "confirm" and self.killing is not None:
            s = self.killing
            return [("class:prompt", f" kill session {s.id} ({printable(s.name)})? y/n")]
        return [("class:message", f" {self.message}")] if self.message else []

    # --- layout and keys -----------------------------------------------------------------

    def _application(self) -> Application[Choice]:
        show_preview = Condition(lambda: self.show_preview)
        helping = Condition(lambda: self.mode == "help")
        editing = Condition(lambda: self.mode in ("filter", "rename"))
        self.list_window = Window(
            FormattedTextControl(self.list_lines, focusable=True, show_cursor=False,
                                 get_cursor_position=self.list_cursor),
            height=lambda: Dimension.exact(self.heights()[0]), wrap_lines=False)
        self.edit_window = Window(BufferControl(self.edit), height=1)
        body = HSplit([
            Window(FormattedTextControl(self.column_names), height=1, wrap_lines=False),
            self.list_window,
            ConditionalContainer(HSplit([
                Window(FormattedTextControl(self.preview_title), height=1, wrap_lines=False),
                Window(FormattedTextControl(lambda: self.preview), wrap_lines=False),
            ]), filter=show_preview),
        ])
        root = HSplit([
            Window(FormattedTextControl(self.header), height=1, style="class:header",
                   wrap_lines=False),
            ConditionalContainer(body, filter=~helping),
            ConditionalContainer(Window(FormattedTextControl(self.help_lines),
                                        wrap_lines=False), filter=helping),
            ConditionalContainer(VSplit([
                Window(FormattedTextControl(self.prompt_label), dont_extend_width=True,
                       height=1),
                self.edit_window,
            ]), filter=editing),
            ConditionalContainer(Window(FormattedTextControl(self.message_line), height=1,
                                        wrap_lines=False), filter=~editing),
            Window(FormattedTextControl(self.hints), height=1, style="class:hints",
                   wrap_lines=False),
        ])
        app: Application[Choice] = Application(
            layout=Layout(root, focused_element=self.list_window),
            key_bindings=self._keys(),
            style=STYLE,
            full_screen=True,
            mouse_support=False,
        )
        app.ttimeoutlen = ESCAPE_WAIT
        app.key_processor.before_key_press += self._key_pressed
        return app

    def _key_pressed(self, _processor: object) -> None:
        """A key in the list: the last message has been read (the key may set another)."""
        if self.mode == "list" and not self.busy:
            self.message = ""

    def _keys(self) -> KeyBindings:
        kb = KeyBindings()
        listing = Condition(lambda: self.mode == "list")
        filtering = Condition(lambda: self.mode == "filter")
        renaming = Condition(lambda: self.mode == "rename")
        confirming = Condition(lambda: self.mode == "confirm")
        helping = Condition(lambda: self.mode == "help")

        def on(*keys: str | Keys, when: Filter = listing, eager: bool = False
               ) -> Callable[[Callable[[KeyPressEvent], None]], Any]:
            return kb.add(*keys, filter=when, eager=eager)

        @on("up", when=listing | filtering)
        @on("k")
        def _up(event: KeyPressEvent) -> None:
            self.move(-1)

        @on("down", when=listing | filtering)
        @on("j")
        def _down(event: KeyPressEvent) -> None:
            self.move(1)

        @on("pageup")
        def _page_up(event: KeyPressEvent) -> None:
            self.move(-max(1, self.heights()[0] - 1))

        @on("pagedown")
        def _page_down(event: KeyPressEvent) -> None:
            self.move(max(1, self.heights()[0] - 1))

        @on("home")
        @on("g")
        def _home(event: KeyPressEvent) -> None:
            self.move(-len(self.shown))

        @on("end")
        @on("G")
        def _end(event: KeyPressEvent) -> None:
            self.move(len(self.shown))

        @on("enter")
        def _enter(event: KeyPressEvent) -> None:
            if self.selected is None:
                self.message = "no session to switch to"
            else:
                self.leave(Choice("switch", self.selected))

        @on("n")
        @on("p")
        def _next(event: KeyPressEvent) -> None:
            ids = [s.id for s in self.sessions]
            if not ids:
                self.message = "no sessions: c creates one"
                return
            forward = event.key_sequence[0].key == "n"
            here = self.current
            if forward:
                after = [i for i in ids if here is None or i > here]
                self.leave(Choice("switch", after[0] if after else ids[0]))
            else:
                before = [i for i in ids if here is None or i < here]
                self.leave(Choice("switch", before[-1] if before else ids[-1]))

        def digit(d: int) -> None:
            @on(str(d))
            def _digit(event: KeyPressEvent) -> None:
                if any(s.id == d for s in self.sessions):
                    self.leave(Choice("switch", d))
                else:
                    self.message = f"no session {d}"

        for d in range(10):
            digit(d)

        @on("c")
        def _create(event: KeyPressEvent) -> None:
            self.create()

        @on("r")
        def _rename(event: KeyPressEvent) -> None:
            s = self._highlighted()
            if s is None:
                self.message = "no session to rename"
                return
            self.renaming = s.id
            self.mode = "rename"
            self.edit.text = s.name
            self.edit.cursor_position = len(s.name)
            event.app.layout.focus(self.edit_window)

        @on("x")
        def _kill(event: KeyPressEvent) -> None:
            s = self._highlighted()
            if s is None:
                self.message = "no session to kill"
                return
            self.killing = s
            self.mode = "confirm"

        @on("/")
        def _filter(event: KeyPressEvent) -> None:
            self.mode = "filter"
            self.edit.text = self.filter
            self.edit.cursor_position = len(self.filter)
            event.app.layout.focus(self.edit_window)

        @on("d")
        def _detach(event: KeyPressEvent) -> None:
            self.leave(Choice("detach"))

        @on("?")
        def _help(event: KeyPressEvent) -> None:
            self.mode = "help"

        @on("q")
        def _quit(event: KeyPressEvent) -> None:
            self.leave(Choice("back"))

        @on("escape", eager=True)
        @on("c-c")
        def _escape(event: KeyPressEvent) -> None:
            if self.filter:
                self.filter = ""
                self._refilter()
            else:
                self.leave(Choice("back"))

        def end_edit(event: KeyPressEvent) -> None:
            self.mode = "list"
            event.app.layout.focus(self.list_window)

        @on("enter", when=filtering)
        @on("escape", when=filtering, eager=True)
        @on("c-c", when=filtering)
        def _filter_done(event: KeyPressEvent) -> None:
            end_edit(event)

        @on("enter", when=renaming)
        def _rename_done(event: KeyPressEvent) -> None:
            end_edit(event)
            if self.renaming is not None:
                self.rename(self.renaming, self.edit.text)

        @on("escape", when=renaming, eager=True)
        @on("c-c", when=renaming)
        def _rename_cancel(event: KeyPressEvent) -> None:
            end_edit(event)
            self.message = "rename cancelled"

        @on(Keys.Any, when=confirming, eager=True)
        def _confirm(event: KeyPressEvent) -> None:
            self.mode = "list"
            s, self.killing = self.killing, None
            if s is not None and event.key_sequence[0].data in ("y", "Y"):
                self.kill(s)
            else:
                self.message = "kill cancelled"

        @on(Keys.Any, when=helping, eager=True)
        def _help_done(event: KeyPressEvent) -> None:
            self.mode = "list"
            self._want_preview()

        return kb

    # --- running ---------------------------------------------------------------------------

    def _started(self) -> None:
        """In the event loop, before the first render: the refresh task, and the signals
        that end the switcher (the attach loop's would no longer be heard)."""
        self.wake = asyncio.Event()
        now = time.monotonic()
        self.list_due = now + LIST_EVERY
        self.preview_due = now + PREVIEW_EVERY
        self.app.create_background_task(self.refresh())
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.leave, Choice("detach"))

    def run(self) -> Choice:
        # The first screen is complete: the list and the highlighted session's screen are
        # read before the application starts (a few milliseconds), not after a blank frame.
        try:
            self.set_sessions(self.host.sessions())
        except ServerLost:
            raise
        except ClientError as e:  # shown; the next refresh tries again
            self.message = printable(str(e))
        ids = [s.id for s in self.shown]
        if self.current in ids:
            self.selected = self.current
        if self.show_preview and self.selected is not None:
            self.set_preview(self.selected,
                             self.host.preview(self.selected, self.heights()[1]))
        try:
            with _signals_kept():
                result = self.app.run(pre_run=self._started, set_exception_handler=False,
                                      handle_sigint=False)
        except EOFError:  # the terminal hung up: nobody is left to choose
            return Choice("detach")
        finally:
            # Wait for a request still on its way: the caller gets the connection back with
            # no reply pending on it.
            self.pool.shutdown(wait=True, cancel_futures=True)
        return result


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """Put back the signal handlers and wakeup fd that the event loop takes over (asyncio
    leaves SIG_DFL and no wakeup fd behind): the attach loop waits on both."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    handlers = {s: signal.getsignal(s) for s in signals}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            if handler is not None:  # (None: set from C, and not ours to restore)
                signal.signal(sig, handler)
        signal.set_wakeup_fd(wakeup)


def run_switcher(host: SwitcherHost, current: int | None, bindings: list[tuple[str, str]],
                 preview: bool = True, where: str = "", show_help: bool = False,
                 message: str = "") -> Choice:
    """Show the switcher on this process's terminal until the user chooses.

    ``current``: the session the client came from (None if there is none: it ended);
    ``bindings``: the attached-mode keys as (keys, what they do), for the help screen;
    ``preview``: show the highlighted session's screen; ``where``: the server's host name
    for a remote server ('' here); ``show_help``: open on the help screen; ``message``: a
    line to show at first (why the switcher opened, say). Raises ``ServerLost`` (a
    ``ClientError``) when the connection to the server is lost.
    """
    return _Switcher(host, current, bindings, preview, where, show_help, message).run()
