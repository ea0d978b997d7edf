"""The session switcher (ptymux.client.switcher) on a real server, seen as the user sees it.

Each test starts an isolated server (tests/harness.py's ``Mux``) with real sessions, and
runs ``run_switcher`` on a thread with prompt_toolkit's pipe input for the keyboard and an
output whose bytes go into a pyte screen: the assertions read that screen (text, the reverse
video of the highlight, the preview's colours) and ask the server (``ls``) what really
happened. Every wait has a deadline: a switcher that does not react fails, never hangs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyte
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from harness import Mux, wait_until
from ptymux import protocol as p
from ptymux.client.connection import connect
from ptymux.client.switcher import Choice, preview_text, run_switcher
from ptymux.client.switcher_host import ServerLost, SwitcherHost
from ptymux.paths import resolve

UP, DOWN, ENTER, ESC = "\x1b[A", "\x1b[B", "\r", "\x1b"
RED_SCRIPT = "printf '\\033[31mred\\033[0m screen'; exec sleep 100"
BINDINGS = [("Ctrl-P Ctrl-Q", "detach"), ("Ctrl-P Ctrl-O", "session switcher"),
            ("Ctrl-P Ctrl-P", "send Ctrl-P")]


class World:
    """A server of our own, a connection to it for the switcher and one for the test."""

    def __init__(self, mux: Mux) -> None:
        self.mux = mux
        with open(mux.env["PTYMUX_CONFIG"], "a"):
            pass  # an empty config file (PTYMUX_CONFIG must name one that exists)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(mux.env)  # the server we start inherits the world's environment
        try:
            self.paths = resolve()
            self.conn = connect(self.paths, start=True)
            self.setup = connect(self.paths)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.host = SwitcherHost(self.conn, lambda: self.spec(["sh", "-c", "exec sleep 100"]))

    def spec(self, argv: list[str], name: str | None = None, cols: int = 80, rows: int = 24,
             remain: bool = False) -> p.NewSession:
        return p.NewSession(argv=argv, cwd=self.mux.root, env=self.mux.env, cols=cols,
                            rows=rows, name=name, detached=True, remain=remain)

    def new(self, name: str | None = None, argv: list[str] | None = None, **kw: Any) -> int:
        created = self.setup.request(self.spec(argv or ["sleep", "100"], name, **kw))
        assert isinstance(created, p.Created)
        return created.id

    def sessions(self) -> list[p.SessionInfo]:
        listing = self.setup.request(p.ListSessions())
        assert isinstance(listing, p.SessionList)
        return listing.sessions

    def names(self) -> dict[int, str]:
        return {s.id: s.name for s in self.sessions()}

    def wait_screen(self, sid: int, text: str) -> None:
        def shown() -> bool:
            capture = self.setup.request(p.Capture(target=f"${sid}"))
            return isinstance(capture, p.CaptureResult) and text in capture.text
        wait_until(shown, 5, f"{text!r} on session {sid}")

    def close(self) -> None:
        self.conn.close()
        self.setup.close()


@pytest.fixture
def world(mux: Mux) -> Iterator[World]:
    w = World(mux)
    yield w
    w.close()


class Screen:
    """The user's terminal: what the switcher writes, read back through pyte."""

    def __init__(self, cols: int, rows: int) -> None:
        self.size = Size(rows=rows, columns=cols)
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.lock = threading.Lock()
        self.raw: list[str] = []

    def write(self, data: str) -> int:
        with self.lock:
            self.raw.append(data)
            self.stream.feed(data)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def lines(self) -> list[str]:
        with self.lock:
            return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines())

    def row(self, needle: str) -> int:
        """The first screen row with ``needle``."""
        for y, line in enumerate(self.lines()):
            if needle in line:
                return y
        raise AssertionError(f"{needle!r} is not on the screen:\n{self.text()}")

    def reversed_row(self, y: int) -> bool:
        with self.lock:
            return bool(self.screen.buffer[y][2].reverse)

    def fg(self, y: int, x: int) -> str:
        with self.lock:
            return str(self.screen.buffer[y][x].fg)


class Switcher:
    """``run_switcher`` on a thread, with a keyboard (a pipe) and a screen (pyte)."""

    def __init__(self, host: SwitcherHost, current: int | None = None, cols: int = 100,
                 rows: int = 30, **kw: Any) -> None:
        self.screen = Screen(cols, rows)
        self.output = Vt100_Output(self.screen, lambda: self.screen.size,  # type: ignore[arg-type]
                                   term="xterm-256color")
        self._input_cm = create_pipe_input()
        self.input: PipeInput = self._input_cm.__enter__()
        self.result: Choice | None = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, args=(host, current, kw), daemon=True)
        self.thread.start()

    def _run(self, host: SwitcherHost, current: int | None, kw: dict[str, Any]) -> None:
        try:
            with create_app_session(input=self.input, output=self.output):
                self.result = run_switcher(host, current, kw.pop("bindings", BINDINGS), **kw)
        except BaseException as e:
            self.error = e

    def see(self, *needles: str, timeout: float = 5.0) -> str:
        def shown() -> str | None:
            text = self.screen.text()
            return text if all(n in text for n in needles) else None
        try:
            found: str = wait_until(shown, timeout, f"{needles} on the screen")
        except AssertionError:
            raise AssertionError(f"{needles} not on the screen:\n{self.screen.text()}"
                                 ) from None
        return found

    def gone(self, needle: str, timeout: float = 5.0) -> None:
        wait_until(lambda: needle not in self.screen.text(), timeout, f"{needle!r} to go")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.input.send_text(key)
            time.sleep(0.01)  # one key at a time, as typed (ESC then [ is not an arrow)

    def choice(self, timeout: float = 5.0) -> Choice:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the switcher did not end:\n{self.screen.text()}"
        self._input_cm.__exit__(None, None, None)
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def close(self) -> None:
        if self.thread.is_alive():
            with contextlib.suppress(Exception):
                self.input.send_text("q")
            self.thread.join(5)
        with contextlib.suppress(Exception):
            self._input_cm.__exit__(None, None, None)


@contextlib.contextmanager
def switcher(host: SwitcherHost, current: int | None = None, **kw: Any) -> Iterator[Switcher]:
    s = Switcher(host, current, **kw)
    try:
        yield s
    finally:
        s.close()


# --- what it shows -------------------------------------------------------------------------


def test_every_session_is_listed_with_its_fields(world: World) -> None:
    build = world.new("build", cols=100, rows=30)
    red = world.new("red", ["sh", "-c", RED_SCRIPT])
    done = world.new("done", ["sh", "-c", "exit 3"], remain=True)
    evil = world.new("evil", ["sh", "-c", "sleep 100 # \x1b]0;title\x07\x1b[2J"])
    wait_until(lambda: next(s for s in world.sessions() if s.id == done).ended, 5,
               "session 'done' to end")
    with switcher(world.host, current=red, where="far.example") as sw:
        text = sw.see("far.example", "4 sessions", "ID", "NAME", "SIZE", "CLIENTS", "STATE",
                      "COMMAND")
        rows = {name: sw.screen.lines()[sw.screen.row(f" {name} ")] for name in
                ("build", "red", "done", "evil")}
        assert rows["build"].split() == [str(build), "build", "100x30", "0", "running",
                                         "sleep", "100"]
        assert rows["red"].split()[:6] == ["*", str(red), "red", "80x24", "0", "running"]
        assert not rows["build"].startswith("*")  # only the session the client came from
        assert rows["done"].split()[:7] == [str(done), "done", "80x24", "0", "exited,",
                                            "status", "3"]
        # What the server says about a session is shown with its control characters
        # escaped: the terminal gets no title and no cleared screen from a command line.
        assert "sleep 100 # \\033]0;title\\007\\033[2J" in rows["evil"]
        assert str(evil) in rows["evil"]
        assert not any("\x1b]0;" in chunk for chunk in sw.screen.raw)
        assert "[ZeroWidthEscape]" not in text
        # sorted by id
        assert [sw.screen.row(f" {n} ") for n in ("build", "red", "done", "evil")] == sorted(
            sw.screen.row(f" {n} ") for n in ("build", "red", "done", "evil"))
        sw.press("q")
        assert sw.choice() == Choice("back")


def test_the_preview_shows_the_highlighted_screen_in_colour_and_follows_it(
        world: World) -> None:
    plain = world.new("plain", ["sh", "-c", "echo plain text here; exec sleep 100"])
    red = world.new("red", ["sh", "-c", RED_SCRIPT])
    third = world.new("third", ["sh", "-c", "echo third screen; exec sleep 100"])
    for sid, text in ((plain, "plain text here"), (red, "red screen"), (third, "third")):
        world.wait_screen(sid, text)
    with switcher(world.host, current=red) as sw:
        sw.see(f"── {red}: red ", "red screen")  # at once: the first render has it
        y = sw.screen.row("red screen")
        assert y > sw.screen.row(" third ")  # below the list
        x = sw.screen.lines()[y].index("red screen")
        assert sw.screen.fg(y, x) == "red" and sw.screen.fg(y, x + 4) == "default"
        assert sw.screen.reversed_row(sw.screen.row(" red "))
        for keys, name, text in ((("j",), "third", "third screen"),
                                 ((UP, UP), "plain", "plain text here"),
                                 ((DOWN,), "red", "red screen"),
                                 (("k",), "plain", "plain text here")):
            sw.press(*keys)
            sw.see(f": {name} ", text)
            assert sw.screen.reversed_row(sw.screen.row(f" {name} "))
            for other in {"plain", "red", "third"} - {name}:
                assert not sw.screen.reversed_row(sw.screen.row(f" {other} "))
        sw.press(ENTER)
        assert sw.choice() == Choice("switch", plain)


def test_the_preview_refreshes_while_open_and_can_be_hidden(world: World) -> None:
    ticker = world.new("ticker", ["sh", "-c", "sleep 0.3; echo lat''er; exec sleep 100"])
    with switcher(world.host, current=ticker) as sw:
        sw.see(" ticker ")
        sw.see("later", timeout=4)  # no key pressed: the preview refreshes by itself
        sw.press("q")
        assert sw.choice() == Choice("back")
    world.wait_screen(ticker, "later")
    with switcher(world.host, current=ticker, preview=False) as sw:
        sw.see(" ticker ")
        time.sleep(0.2)
        assert "later" not in sw.screen.text() and "──" not in sw.screen.text()
        sw.press(ENTER)
        assert sw.choice() == Choice("switch", ticker)


def test_the_list_follows_the_server(world: World) -> None:
    first = world.new("first")
    with switcher(world.host, current=first) as sw:
        sw.see("1 session", " first ")
        world.new("second")
        world.setup.request(p.KillSession(target="first"))
        sw.see("1 session", " second ", timeout=4)  # no key pressed: listed again
        assert " first " not in sw.screen.text()
        sw.press("q")
        assert sw.choice() == Choice("back")  # the caller finds 'first' gone


# --- keys that choose --------------------------------------------------------------------


def test_enter_n_p_and_digits_switch(world: World) -> None:
    ids = [world.new(name) for name in ("a", "b", "c", "d")]  # 0..3, a fresh server
    assert ids == [0, 1, 2, 3]
    world.setup.request(p.KillSession(target="b"))  # ids 0, 2, 3

    def choose(current: int | None, *keys: str) -> Choice:
        with switcher(world.host, current=current) as sw:
            sw.see(" d ")
            sw.press(*keys)
            return sw.choice()

    assert choose(2, "j", ENTER) == Choice("switch", 3)
    assert choose(2, "n") == Choice("switch", 3)
    assert choose(3, "n") == Choice("switch", 0)  # wrapping
    assert choose(2, "p") == Choice("switch", 0)
    assert choose(0, "p") == Choice("switch", 3)  # wrapping
    assert choose(1, "n") == Choice("switch", 2)  # from a session that is gone
    assert choose(None, "n") == Choice("switch", 0)
    assert choose(None, "p") == Choice("switch", 3)
    assert choose(0, "3") == Choice("switch", 3)
    with switcher(world.host, current=0) as sw:
        sw.see(" d ")
        sw.press("1")
        sw.see("no session 1")
        sw.press("2")
        assert sw.choice() == Choice("switch", 2)


def test_q_and_esc_go_back_and_d_detaches(world: World) -> None:
    sid = world.new("only")
    for keys, expected in ((("q",), Choice("back")), ((ESC,), Choice("back")),
                           (("d",), Choice("detach")), (("\x03",), Choice("back"))):
        with switcher(world.host, current=sid) as sw:
            sw.see(" only ")
            sw.press(*keys)
            assert sw.choice() == expected, keys
    assert list(world.names().values()) == ["only"]


def test_message_and_help(world: World) -> None:
    sid = world.new("one")
    with switcher(world.host, current=sid, message="session 7 (build) exited with status 0"
                  ) as sw:
        sw.see("session 7 (build) exited with status 0", " one ")
        sw.press("?")
        sw.see("Ctrl-P Ctrl-Q", "detach", "Ctrl-P Ctrl-O", "session switcher",
               "Ctrl-P Ctrl-P", "send Ctrl-P", "Any key closes")
        sw.press("j")  # any key closes the help, and does nothing else
        sw.gone("Any key closes")
        sw.see(" one ")
        sw.press("?")
        sw.see("Any key closes")
        sw.press(ESC)  # Esc too: it closes the help, it does not leave
        sw.gone("Any key closes")
        sw.press("q")
        assert sw.choice() == Choice("back")
    with switcher(world.host, current=sid, show_help=True,
                  bindings=[("Ctrl-A d", "detach (custom)")]) as sw:
        sw.see("Ctrl-A d", "detach (custom)", "Any key closes")
        assert "Ctrl-P Ctrl-Q" not in sw.screen.text()  # the bindings given, no others
        sw.press("x")
        sw.gone("Any key closes")
        sw.press("d")
        assert sw.choice() == Choice("detach")


# --- keys that act ---------------------------------------------------------------------------


def test_c_creates_a_real_session_and_switches_to_it(world: World) -> None:
    sid = world.new("old")
    with switcher(world.host, current=sid) as sw:
        sw.see(" old ")
        sw.press("c")
        choice = sw.choice()
    assert choice.action == "switch" and choice.session != sid
    assert choice.session in world.names()


def test_r_renames_for_real(world: World) -> None:
    sid = world.new("before")
    other = world.new("other")
    with switcher(world.host, current=other) as sw:
        sw.see(" before ")
        sw.press("k", "r")
        sw.see(f"rename session {sid} to: before")
        sw.press("\x7f" * 6, "after", ENTER)
        sw.see(" after ", f"renamed session {sid} to after")
        assert world.names()[sid] == "after"
        sw.press("r", "x", "y", ESC)  # Esc cancels
        sw.see("rename cancelled")
        assert world.names()[sid] == "after"
        sw.press("r", "\x7f" * 5, "bad name", ENTER)  # the server's refusal, on one line
        sw.see("bad session name")
        assert world.names()[sid] == "after"
        sw.press("q")
        assert sw.choice() == Choice("back")


def test_x_kills_after_yes_only(world: World) -> None:
    keep = world.new("keep")
    victim = world.new("victim")
    with switcher(world.host, current=keep) as sw:
        sw.see(" victim ")
        sw.press("j", "x")
        sw.see(f"kill session {victim} (victim)? y/n")
        sw.press("n")
        sw.see("kill cancelled")
        assert victim in world.names()
        sw.press("x")
        sw.see("y/n")
        sw.press("y")
        sw.see(f"killed session {victim} (victim)")
        sw.gone(" victim ")
        assert world.names() == {keep: "keep"}
        sw.press("q")
        assert sw.choice() == Choice("back")


def test_slash_filters_by_name(world: World) -> None:
    for name in ("web-1", "web-2", "db", "cache"):
        world.new(name)
    with switcher(world.host, current=None) as sw:
        sw.see(" web-1 ", " db ", " cache ")
        sw.press("/", "w", "e")
        sw.see("filter /we: 2 shown")
        sw.gone(" db ")
        assert " cache " not in sw.screen.text() and " web-2 " in sw.screen.text()
        sw.press(ENTER)  # the edit ends, the filter stays; keys are keys again
        sw.press("j")
        sw.see("── 1: web-2 ")
        sw.press("/", "x", "y", "z")
        sw.see("no session name contains 'wexyz'")
        sw.press(ESC)  # ends the edit
        sw.see("filter /wexyz")
        sw.press(ESC)  # clears the filter
        sw.see(" db ", " cache ")
        assert "filter /" not in sw.screen.text()
        sw.press(ESC)  # and now leaves
        assert sw.choice() == Choice("back")


def test_with_no_sessions_c_creates_and_d_q_leave(world: World) -> None:
    for key, action in (("d", "detach"), ("q", "back")):
        with switcher(world.host, current=None) as sw:
            sw.see("0 sessions", "no sessions: c creates one")
            sw.press(ENTER, "n", "5")
            sw.see("no session 5")
            sw.press(key)
            assert sw.choice() == Choice(action)
    with switcher(world.host, current=None) as sw:
        sw.see("no sessions")
        sw.press("c")
        choice = sw.choice()
    assert choice.action == "switch" and list(world.names()) == [choice.session]


# --- scale, the server going away, the terminal ----------------------------------------------


def test_a_hundred_sessions_open_fast_and_scroll(world: World) -> None:
    for i in range(100):
        world.new(f"s{i:03}")
    with switcher(world.host, current=50, rows=30) as sw:
        sw.see("100 sessions", " s050 ", "── 50: s050 ")
        print(f"\nswitcher with 100 sessions on screen after {time.monotonic() - sw.started:.3f} s")
        assert sw.screen.reversed_row(sw.screen.row(" s050 "))
        assert " s000 " not in sw.screen.text()  # the list shows part of it
        sw.press("g")
        sw.see(" s000 ", "── 0: s000 ")
        sw.press(*["j"] * 30)
        sw.see("── 30: s030 ")
        assert sw.screen.reversed_row(sw.screen.row(" s030 "))
        sw.press("G")
        sw.see(" s099 ", "── 99: s099 ")
        assert sw.screen.reversed_row(sw.screen.row(" s099 "))
        sw.press(ENTER)
        assert sw.choice() == Choice("switch", 99)


def test_a_lost_server_ends_the_switcher_with_the_error(world: World) -> None:
    sid = world.new("one")
    with switcher(world.host, current=sid) as sw:
        sw.see(" one ")
        world.setup.request(p.KillServer())
        sw.thread.join(5)
        with pytest.raises(ServerLost, match="server"):
            sw.choice()


def test_a_terminal_that_hangs_up_detaches(world: World) -> None:
    sid = world.new("one")
    with switcher(world.host, current=sid) as sw:
        sw.see(" one ")
        sw.input.close()  # end of file on the keyboard
        assert sw.choice() == Choice("detach")


def test_signals_and_the_wakeup_fd_are_given_back(world: World) -> None:
    """On the main thread (where the attach loop runs), the event loop takes SIGWINCH and
    the wakeup fd for itself: the caller's must be back afterwards. SIGTERM (and SIGHUP)
    meanwhile end the switcher as a detach, as they end an attached client."""
    sid = world.new("one")

    def mine(signum: int, frame: object) -> None:
        pass

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    handlers = {s: signal.signal(s, mine) for s in (signal.SIGWINCH, signal.SIGTERM,
                                                    signal.SIGHUP)}
    old_fd = signal.set_wakeup_fd(write_fd)
    try:
        for how in ("key", "SIGTERM"):
            screen = Screen(80, 24)
            output = Vt100_Output(screen, lambda s=screen: s.size,  # type: ignore[arg-type,misc]
                                  term="xterm-256color")
            with create_pipe_input() as keyboard, create_app_session(input=keyboard,
                                                                      output=output):
                finished = threading.Event()

                def act(screen: Screen = screen, keyboard: PipeInput = keyboard,
                        how: str = how, finished: threading.Event = finished) -> None:
                    with contextlib.suppress(AssertionError):
                        wait_until(lambda: " one " in screen.text(), 5, "the switcher")
                        if how == "key":
                            keyboard.send_text("d")
                        else:
                            os.kill(os.getpid(), signal.SIGTERM)
                    if not finished.wait(5):
                        keyboard.send_text("q")  # the deadline: a failure, never a hang

                helper = threading.Thread(target=act)
                helper.start()
                try:
                    assert run_switcher(world.host, sid, BINDINGS) == Choice("detach"), how
                finally:
                    finished.set()
                    helper.join(10)
            assert signal.set_wakeup_fd(write_fd) == write_fd, how
            assert all(signal.getsignal(s) is mine for s in handlers), how
            # the alternate screen entered and left; no cursor position query, no mouse
            raw = "".join(screen.raw)
            assert raw.rindex("\x1b[?1049l") > raw.index("\x1b[?1049h")
            assert "\x1b[6n" not in raw and "\x1b[?1000h" not in raw
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, h in handlers.items():
            signal.signal(s, h)
        os.close(read_fd)
        os.close(write_fd)


def test_preview_text_keeps_colours_and_drops_everything_else() -> None:
    fragments = list(preview_text(
        "\x1b[0;31mred\x1b[0m \x1b[0;38:2::0:128:255mtrue\x1b[0m \x1b[4:3mcurly\x1b[0m"
        " \x01\x1b]52;c;AAAA\x07\x02bell\x07 \x1b[?25lcsi \x9b2Jc1\n").__pt_formatted_text__())
    text = "".join(f[1] for f in fragments)
    assert text == "red true curly bell csi 2Jc1\n"
    assert all(len(f[1]) == 1 for f in fragments)  # (one fragment per character)

    def style(word: str) -> str:
        return fragments[text.index(word)][0]

    assert "ansired" in style("red") and "#0080ff" in style("true")
    assert "underline" in style("curly") and style("bell") == ""
    assert not any("ZeroWidthEscape" in f[0] for f in fragments)
