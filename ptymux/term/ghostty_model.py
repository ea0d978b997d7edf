"""The ScreenModel built on pyghostty (libghostty-vt through cffi): an optional native backend.

pyghostty is imported lazily, on the first model created; ``available()`` tells whether it
can be. Notes (see ``docs/performance.md``, "Native emulator candidates"):

* ``redraw`` and styled ``capture`` use Ghostty's VT formatter through the raw cffi layer
  (not in pyghostty's Pythonic API). The first formatter call in a process costs ~50 ms of
  one-time set-up; later calls take well under a millisecond for 80x24.
* The main screen under an alternate one is painted by switching the emulator to the main
  screen with mode 47 for the dump and back (mode 47's flag is then restored directly), so
  the formatter, which only reads the active screen, can reach it.
* The cursor saved by ``CSI ? 1049 h`` cannot be read from libghostty-vt: the model records
  the cursor just before that sequence in the stream (``feed`` looks for it) and uses it in
  ``redraw`` and ``leave``.
* ``redraw`` ends with the bytes of an escape sequence (or UTF-8 character) the input left
  unfinished, found from the parser's ground state at a few cut points in each feed.
* Not reproduced by ``redraw``: a pending wrap (the cursor is placed on the last column
  without it), the charsets (G0/G1), DECSC slots, the icon name. Modes, scrolling region,
  tab stops, cursor visibility and the pen come from the formatter.
* ``capture(join=True)`` uses Ghostty's unwrap (copy semantics: soft-wrapped rows joined).
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from ptymux.term.model import ScreenModel

_ALT_MODES = (1049, 1047, 47)
_ALT_SET = re.compile(r"\x1b\[\?(?:1049|1047|47)h")
_REGION = re.compile(r"\x1b\[(\d+);(\d+)r")
_SEQ_1049 = b"\x1b[?1049h"
_PENDING_MAX = 1 << 16
_C0 = bytes(b for b in range(0x20) if b != 0x1B)

# Brings any terminal to a known state before the dump is painted (the formatter only
# emits what differs from a fresh terminal).
_PREAMBLE = (
    "\x1b[?1049l\x1b[?47l\x1b[?1047l"  # out of any alternate screen
    "\x1b[r\x1b[?6l\x1b[?7h\x1b[4l\x1b[20l"  # margins, origin, autowrap, insert, newline
    "\x1b[?1l\x1b>\x1b[?25h\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l"
    "\x1b[?1004l\x1b[?5l\x1b[?12l"
    "\x1b[0m\x1b(B\x1b)B\x0f\x1b[3g\x1b[H\x1b[2J"
)


def _unfinished_utf8(data: bytes, end: int) -> int:
    """Where a UTF-8 character left unfinished at ``data[:end]``'s end begins, or -1."""
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte >= 0xC0:
            if back < (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4):
                return end - back
            return -1
        if byte < 0x80:
            return -1
    return -1


def available() -> bool:
    """Whether pyghostty (and its native library) can be imported."""
    try:
        if importlib.util.find_spec("pyghostty") is None:
            return False
        import pyghostty  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except Exception:
        return False
    return True


class GhosttyModel(ScreenModel):
    """The emulator model on libghostty-vt (``pyghostty``)."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        import pyghostty  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty import ffi, lib  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty.core import init_sized  # type: ignore[import-untyped,import-not-found,unused-ignore]

        self._ffi: Any = ffi
        self._lib: Any = lib
        self._init_sized: Any = init_sized
        self.history_limit = max(history, 0)
        self.term: Any = pyghostty.Terminal(cols, rows, scrollback=self.history_limit)
        self._replies: list[bytes] = []
        self.term.on_reply(self._replies.append)
        self.cols, self.rows = cols, rows
        self.errors = 0
        # The hot path calls the C API directly (pyghostty's ``feed`` and ``get`` look the
        # function and key up and allocate on every call).
        self._handle: Any = self.term._t[0]
        self._vt_write: Any = lib.ghostty_terminal_vt_write
        self._terminal_get: Any = lib.ghostty_terminal_get
        self._ground_key: Any = lib.GHOSTTY_TERMINAL_DATA_VT_GROUND
        self._ground_out: Any = ffi.new("bool*")
        self._saved_1049: tuple[int, int] | None = None  # cursor saved by CSI ? 1049 h
        self._before_tail: tuple[int, int] = (0, 0)  # cursor when the last feed ended
        self._tail = b""  # last bytes fed, for a CSI ? 1049 h split between feeds
        self._pending = b""  # a sequence the input left unfinished, replayed by redraw

    # --- low level -----------------------------------------------------------------------

    def _get(self, key: str, ctype: str) -> Any:
        return self.term.get(key, ctype)

    def _write(self, data: bytes) -> None:
        self._vt_write(self._handle, data, len(data))

    def _ground(self) -> bool:
        """Whether the parser is idle (not inside a sequence or a UTF-8 character)."""
        self._terminal_get(self._handle, self._ground_key, self._ground_out)
        return bool(self._ground_out[0])

    def _mode(self, n: int) -> bool:
        return bool(self.term.mode(n))

    def _set_mode(self, n: int, value: bool) -> None:
        c = self._ffi.new("GhosttyTerminalModeConfig*")
        c.mode = n & 0x7FFF
        c.value = value
        self._lib.ghostty_terminal_set(self.term._t[0], self._lib.GHOSTTY_TERMINAL_OPT_MODE, c)

    def _alt_mode(self) -> int:
        """The alternate-screen mode in effect (1049, 1047, 47), or 0 on the main screen."""
        if not self._get("active_screen", "GhosttyTerminalScreen"):
            return 0
        for mode in _ALT_MODES:
            if self._mode(mode):
                return mode
        return 1049

    def _format(
        self,
        rows: tuple[int, int] | None,
        tag: str = "active",
        vt: bool = True,
        full: bool = False,
        unwrap: bool = False,
        trim: bool = False,
    ) -> str:
        """The formatter's output for rows ``rows`` (first, last; coordinates in ``tag``),
        VT (styled) or plain; ``full`` adds modes, scrolling region, tab stops and the pen."""
        ffi, lib = self._ffi, self._lib
        from pyghostty._ffi import check  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty.core import read_buf  # type: ignore[import-untyped,import-not-found,unused-ignore]

        opts = self._init_sized("GhosttyFormatterTerminalOptions")
        opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT if vt else lib.GHOSTTY_FORMATTER_FORMAT_PLAIN
        opts.unwrap = unwrap
        opts.trim = trim
        if vt:
            opts.extra.screen.style = True
        if full:
            opts.extra.modes = True
            opts.extra.scrolling_region = True
            opts.extra.tabstops = True
        selection = None
        if rows is not None:
            selection = self._init_sized("GhosttySelection")
            selection.start = self.term.ref(0, rows[0], tag)[0]
            selection.end = self.term.ref(self.cols - 1, rows[1], tag)[0]
            opts.selection = selection
        fmt = ffi.new("GhosttyFormatter*")
        check(lib.ghostty_formatter_terminal_new(ffi.NULL, fmt, self.term._t[0], opts[0]), "fmt")
        try:
            text: str = read_buf(
                lambda b, n, out: lib.ghostty_formatter_format_buf(fmt[0], b, n, out)
            )
        finally:
            lib.ghostty_formatter_free(fmt[0])
        return text

    def _region(self) -> tuple[int, int] | None:
        """The scrolling region (top, bottom; 0-based) when one is set, else None."""
        out = self._format((0, 0), vt=True, full=True)
        m = _REGION.search(out)
        if m is None:
            return None
        top, bottom = int(m.group(1)) - 1, int(m.group(2)) - 1
        if top <= 0 and bottom >= self.rows - 1:
            return None
        return top, bottom

    # --- ScreenModel ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            self._feed(data if type(data) is bytes else bytes(data))
        except Exception:
            self.errors += 1

    def _feed(self, data: bytes) -> None:
        term = self.term
        # A CSI ? 1049 h split between the previous feed and this one: the cursor it saved
        # is where the previous feed left it.
        if self._tail:
            joined = self._tail + data[: len(_SEQ_1049)]
            at = joined.find(_SEQ_1049)
            if 0 <= at < len(self._tail) and not self._alt_mode():
                self._saved_1049 = self._before_tail
        # Where to cut the feed: before each CSI ? 1049 h (to record the cursor it saves),
        # and before the last ESC and a trailing UTF-8 lead byte (to know where a sequence
        # left unfinished at the end began, for ``redraw`` to replay it).
        cuts = set()
        at = data.find(_SEQ_1049)
        while at >= 0:
            cuts.add(at)
            at = data.find(_SEQ_1049, at + 1)
        esc = data.rfind(b"\x1b")
        if esc > 0:
            cuts.add(esc)
        lead = _unfinished_utf8(data, len(data))  # an unfinished UTF-8 character at the end
        if lead >= 0:
            cuts.add(lead)
        # Whether the parser was idle before each cut (an unfinished UTF-8 character counts
        # as idle: an ESC abandons it).
        ground = {0: not self._pending.startswith(b"\x1b")}
        done = 0
        for cut in sorted(cuts):
            if cut > done:
                self._write(data[done:cut])
                done = cut
                # (an unfinished UTF-8 character before an ESC: idle, the ESC drops it)
                ground[cut] = self._ground() or (
                    cut == esc and _unfinished_utf8(data, cut) >= 0
                )
            if data.startswith(_SEQ_1049, cut) and not self._alt_mode():
                self._saved_1049 = term.cursor
        self._write(data[done:] if done else data)
        if self._ground():
            self._pending = b""
        elif lead >= 0 and ground.get(lead):
            self._pending = data[lead:]
        elif esc >= 0 and ground.get(esc):
            self._pending = data[esc:]
        elif lead >= 0 and esc < 0 and not self._pending.startswith(b"\x1b"):
            self._pending = data[lead:]  # after an invalid UTF-8 sequence
        elif esc >= 0 and (begun := data.rfind(b"\x1b", 0, esc)) >= 0:
            self._pending = data[begun:]  # a string sequence being ended by ESC \\
        else:
            self._pending = (self._pending + data)[:_PENDING_MAX]
        if self._pending:
            # C0 controls inside a sequence were executed (or ignored) already.
            self._pending = self._pending.translate(None, _C0)
        tail = data[-(len(_SEQ_1049) - 1) :]
        at = tail.rfind(b"\x1b")
        self._tail = tail[at:] if at >= 0 and _SEQ_1049.startswith(tail[at:]) else b""
        if self._tail:
            self._before_tail = term.cursor

    def _may_skip(self) -> bool:
        try:
            return self._region() is None
        except Exception:
            self.errors += 1
            return False

    def resize(self, cols: int, rows: int) -> None:
        try:
            self.term.resize(cols, rows)
            self.cols, self.rows = self.term.size
        except Exception:
            self.errors += 1

    def cursor(self) -> tuple[int, int]:
        x, y = self.term.cursor
        return int(x), int(y)

    @property
    def cursor_visible(self) -> bool:
        return bool(self._get("cursor_visible", "bool"))

    @property
    def alternate_screen(self) -> bool:
        """Whether the program is in the alternate screen."""
        return bool(self._get("active_screen", "GhosttyTerminalScreen"))

    @property
    def history_size(self) -> int:
        """How many lines of scrollback are held (of the active screen)."""
        return int(self._get("scrollback_rows", "size_t"))

    @property
    def title(self) -> str:
        try:
            s = self._get("title", "GhosttyString")
            if not s.len:
                return ""
            return bytes(self._ffi.buffer(s.ptr, s.len)[:]).decode("utf-8", "replace")
        except Exception:
            return ""

    def take_replies(self) -> bytes:
        out = b"".join(self._replies)
        self._replies.clear()
        return out

    def redraw(self) -> bytes:
        out = [_PREAMBLE]
        alt = self._alt_mode()
        last = self.rows - 1
        if alt:
            was47 = self._mode(47)
            self.term.feed(b"\x1b[?47l")  # the main screen, to dump it
            try:
                out.append(self._format((0, last)))
            finally:
                # Back, and into the sequence the input left unfinished (the switch
                # aborted it).
                self.term.feed(b"\x1b[?47h")
                self._set_mode(47, was47)
                self.term.feed(self._pending)
            if alt == 1049 and self._saved_1049 is not None:
                x, y = self._saved_1049
                out.append(f"\x1b[{y + 1};{x + 1}H")
            out.append(f"\x1b[0m\x1b[?{alt}h\x1b[H\x1b[2J")
        body = _ALT_SET.sub("", self._format((0, last), full=True))
        out.append(body)
        x, y = self.cursor()
        regions = _REGION.findall(body)
        if self._mode(6) and regions:
            y -= int(regions[-1][0]) - 1
        out.append(f"\x1b[{y + 1};{x + 1}H")
        return "".join(out).encode("utf-8", "replace") + self._pending

    def leave(self) -> bytes:
        alt = self._alt_mode()
        if not alt and not self._mode(6) and self._region() is None:
            return b""
        x, y = self.cursor()
        out = []
        if alt:
            out.append(f"\x1b[?{alt}l")
            if alt == 1049 and self._saved_1049 is not None:
                x, y = self._saved_1049
        out.append(f"\x1b[?6l\x1b[r\x1b[{y + 1};{x + 1}H")
        return "".join(out).encode()

    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        history = self.history_size
        first = max(history + (0 if start is None else start), 0)
        last = min(history + (self.rows - 1 if end is None else end), history + self.rows - 1)
        if first > last:
            return []
        if escapes:
            lines = []
            for y in range(first, last + 1):
                line = self._format((y, y), tag="screen", trim=True).replace("\r\n", "")
                while line.endswith("\x1b[0m"):
                    line = line[:-4]
                if "\x1b" in line:
                    line += "\x1b[0m"
                lines.append(line)
            return lines
        text = self._format((first, last), tag="screen", vt=False, unwrap=join, trim=True)
        lines = [line.rstrip() for line in text.split("\n")]
        if join:
            return lines
        count = last - first + 1
        return (lines + [""] * count)[:count]
