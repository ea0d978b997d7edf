"""The ScreenModel built on pyghostty (libghostty-vt through cffi): an optional native backend.

pyghostty is imported lazily, on the first model created; ``available()`` tells whether it
can be. Notes (see ``docs/performance.md``, "Native emulator candidates"):

* ``feed`` hands the bytes to libghostty-vt whole. Python looks at them only through a few
  ``bytes.find`` calls (none for a read without ESC), for rare sequences libghostty-vt does
  not handle the way xterm does: ``CSI ? 6 n`` (answered as DECXCPR), ``CSI g`` (given its
  default parameter), and DEC line drawing being designated (so that
  ``redraw`` can paint box-drawing characters through the DEC graphics set again, as a
  terminal that saw the stream holds them).
* ``redraw`` and styled ``capture`` use Ghostty's VT formatter through the raw cffi layer
  (not in pyghostty's Pythonic API). Its output is reordered (contents first, then tab stops,
  margins, the DECSC slot, modes, cursor) and its palette colours 0-15 are written as SGR
  30-37/90-97 (40-47/100-107) as programs write them.
* State the formatter does not reach is read from a scratch copy of the terminal (a
  libghostty-vt snapshot, decoded into a new terminal): ``ESC 8`` there gives the DECSC slot
  (position, pen, charsets, origin mode), leaving the alternate screen there gives the main
  screen under it and the cursor ``CSI ? 1049 h`` saved.
* A pending wrap is rebuilt by the formatter (it writes the last cell again); the cursor
  shape comes from a render state; the title is repainted; a sequence the input left
  unfinished is replayed from libghostty-vt's continuation tracking.
* Not reproduced: the icon name (libghostty-vt keeps none), a palette changed with OSC 4,
  a pending wrap saved by DECSC. ``resize`` reflows the main screen (libghostty-vt always
  does), where xterm and the ``vt`` model cut rows.
* ``capture(join=True)`` uses Ghostty's unwrap (copy semantics: soft-wrapped rows joined).
* ``history_total``: libghostty-vt counts no lines, so the model keeps a tracked grid ref (a
  pin that follows its cell) on the newest row of the main screen's history: rows after it
  are new. Pins do not survive history pruned past them, so ``feed`` writes at most about
  a history's worth of line feeds (and possible autowraps) between two looks, and looks
  before and after ``CSI 3 J``, which empties the history. Should a pin still be lost
  (escape sequences that scroll thousands of rows at once, a narrow screen, rows written
  before an ``ESC c`` in the same write), every row the history holds is counted new: the
  counter is then short, ``scrollback`` still right. Each value ``history_total`` returns
  is pinned too (the newest history row then), so that ``scrollback(since=that value)``
  counts the rows after that pin: exact across a resize that reflows the history, where
  a count of rows is not.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import weakref
from typing import Any

from ptymux import __version__
from ptymux.term.contained import count_error
from ptymux.term.model import ScreenModel
from ptymux.term.scrollback import lines_to_bytes
from ptymux.term.skip import Columns, LineRule, segment_wraps

_ALT_MODES = (1049, 1047, 47)
_CONTINUATION_MAX = 1 << 16
_DECXCPR = b"\x1b[?6n"
_ACS_SET = (b"\x1b(0", b"\x1b)0")
_TBC = b"\x1b[g"
# OSC 10/11/12 colour queries, which libghostty-vt leaves unanswered (OSC 4 it answers):
# answered here with vt's defaults, so that the server's query filter may take them out.
_DYNAMIC_QUERY = re.compile(rb"\x1b\](1[0-2])((?:;\?)+)(\x07|\x1b\\)")

# Brings any terminal to libghostty-vt's initial state (the formatter only emits what
# differs from it).
_PREAMBLE = (
    "\x1b[?1049l\x1b[?47l\x1b[?1047l"  # out of any alternate screen
    "\x1b[>4m"  # modifyOtherKeys off (before the SGR reset, for terminals reading it as SGR 4)
    "\x1b[r\x1b[?6l\x1b[?69l\x1b[?7h\x1b[4l\x1b[20l"  # margins, origin, autowrap, insert, LNM
    "\x1b[?1l\x1b>\x1b[?25h\x1b[?2004l\x1b[?9l\x1b[?1000l\x1b[?1001l\x1b[?1002l\x1b[?1003l"
    "\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1016l\x1b[?1004l\x1b[?1007l\x1b[?5l\x1b[?12l"
    "\x1b[?45l\x1b[?1045l\x1b[0 q"
    "\x1b[0m\x1b(B\x1b)B\x0f\x1b[H\x1b[2J"
)
_CHARSETS_OFF = "\x1b(B\x1b)B\x0f"
_G23 = re.compile(r"\x1b[*+no]")
_CLEAR_ALT = "\x1b[0m\x1b[H\x1b[2J"

_CUP = re.compile(r"\x1b\[(\d+);(\d+)H")
_MARGINS = re.compile(r"(?:\x1b\[\d+;\d+[rs])+$")
_REGION = re.compile(r"\x1b\[(\d+);(\d+)r")
_LR = re.compile(r"\x1b\[(\d+);(\d+)s")
_MODE = re.compile(r"\x1b\[\?(\d+)([hl])")
_PALETTE = re.compile(r"\x1b\[([34])8;5;(1[0-5]|[0-9])m")  # the 16 colours only
_SGR_RUN = re.compile(r"(?:\x1b\[[0-9;]*m){2,}")
_SGR_ONE = re.compile(r"\x1b\[([0-9;]*)m")
# Modes the formatter reports that a redraw must not (or cannot) set as such.
_SKIP_MODES = frozenset((47, 1047, 1049, 2026, 66, 69))
# DEC special graphics (``ESC ( 0``): the line-drawing characters libghostty-vt stores as
# their Unicode counterparts, and back.
_DEC_LINES = dict(zip("◆▒┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│", "`ajklmnopqrstuvwx", strict=True))
_DEC_RUN = re.compile("[" + "".join(_DEC_LINES) + "]+")
_DEC_TABLE = str.maketrans(_DEC_LINES)
# DECSCUSR from the render state's cursor shape (bar, block, underline) and blinking.
_SHAPES = {(0, True): 5, (0, False): 6, (1, True): 1, (1, False): 2, (2, True): 3,
           (2, False): 4}
_C0 = "".join(map(chr, range(0x20))) + "\x7f"
# What empties the history (ED 3): the rows before it must be counted before it. (Not RIS,
# ESC c: too slow a search for every write, and rare; see the module's notes.)
_CLEARS = re.compile(rb"\x1b\[\??0*3J")
_HTS = re.compile(r"\x1b\[(\d+)G\x1bH")  # a tab stop, as the formatter lists them
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_MAX_MARKS = 64  # pins kept for values history_total returned (the server keeps 64 marks)


def _palette(m: re.Match[str]) -> str:
    n = int(m.group(2))
    if n < 8:
        return f"\x1b[{m.group(1)}{n}m"
    if n < 16:
        return f"\x1b[{'9' if m.group(1) == '3' else '10'}{n - 8}m"
    return m.group(0)


def _merge_sgr(m: re.Match[str]) -> str:
    params = [p or "0" for p in _SGR_ONE.findall(m.group(0))]
    last_reset = max(i for i, p in enumerate(params) if p == "0") if "0" in params else 0
    return "\x1b[" + ";".join(params[last_reset:]) + "m"


def _tidy(text: str, merge: bool = True) -> str:
    """The formatter's SGR as programs write it: SGR 30-37/90-97 for the 16 colours, and
    (``merge``, for capture's text; a redraw need not pay for it) one sequence where it
    writes several in a row."""
    if "8;5;" in text:
        text = _PALETTE.sub(_palette, text)
    return _SGR_RUN.sub(_merge_sgr, text) if merge else text


def _dec_lines(text: str) -> str:
    return _DEC_RUN.sub(lambda m: "\x1b(0" + m.group(0).translate(_DEC_TABLE) + "\x1b(B", text)


def _rows_bound(data: bytes, end: int, cols: int) -> int:
    """The most rows writing ``data[:end]`` can scroll (line feeds, VT, FF, autowraps; not
    escape sequences that scroll): an autowrap takes a row's worth of cells, a byte each at
    least, and one may be pending already."""
    feeds = data.count(b"\n", 0, end)
    if b"\x0b" in data or b"\x0c" in data:
        feeds += data.count(b"\x0b", 0, end) + data.count(b"\x0c", 0, end)
    return feeds + (end - feeds) // max(cols - 1, 1) + 1


def _ed3_spans(data: bytes) -> list[tuple[int, int]]:
    """Where ``data`` has a ``CSI 3 J``: found from its J bytes by memchr (a search for "3J"
    runs at a fifth of the speed), unless there are many."""
    found: list[tuple[int, int]] = []
    at = data.find(b"J")
    for _ in range(64):
        if at < 0:
            return found
        if data[at - 1 : at] == b"3":
            esc = data.rfind(b"\x1b", max(0, at - 16), at)
            if esc >= 0 and _CLEARS.fullmatch(data, esc, at + 1):
                found.append((esc, at + 1))
        at = data.find(b"J", at + 1)
    return [m.span() for m in _CLEARS.finditer(data)] if b"3J" in data else []


def _trim(line: str) -> str:
    """``line`` (the formatter's, no reset at its end) without its trailing blanks of the
    default style (the formatter keeps spaces a program wrote)."""
    if not line.endswith(" "):
        return line
    at = line.rfind("\x1b[")
    if at < 0:
        return line.rstrip(" ")
    m = _SGR_ONE.match(line, at)
    if m is None or m.group(1) not in ("", "0"):
        return line  # (blanks in a colour: they show)
    tail = line[m.end() :].rstrip(" ")
    return line[: m.end()] + tail if tail else line[:at]


def _free_terminal(free_ref: Any, free: Any, tracked: list[Any], terminal: Any) -> None:
    """Tracked grid refs live in the terminal's page list: they go first. (The C functions
    come resolved: a finalizer may run inside cffi, where looking one up deadlocks.)"""
    for ref in tracked:
        free_ref(ref)
    tracked.clear()
    free(terminal)


@functools.cache
def available() -> bool:
    """Whether pyghostty (and its native library) can be imported."""
    try:
        if importlib.util.find_spec("pyghostty") is None:
            return False
        import pyghostty  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except Exception:
        return False
    return True


class _Screen:
    """One screen as the formatter dumps it, cut into the pieces ``redraw`` reorders: modes,
    tab stops, contents (``body``), margins, then the cursor: its position (``cup``,
    absolute), the last cell written again for a pending wrap (``reprint``), and the pen,
    charsets and keyboard flags (``pen``)."""

    __slots__ = ("body", "cup", "margins", "modes", "origin", "pen", "reprint", "tabs", "x",
                 "y")

    def __init__(self, text: str, x: int, y: int, origin: bool) -> None:
        self.x, self.y, self.origin = x, y, origin
        home = text.find("\x1b[H")
        if home < 0:
            home = len(text)
        head, rest = text[:home], text[home:]
        tabs = head.find("\x1b[3g")
        self.modes = head[:tabs] if tabs >= 0 else head
        self.tabs = head[tabs:] if tabs >= 0 else ""
        # The cursor's CUP is the last one, near the end (then at most a cell and the pen).
        cups = list(_CUP.finditer(rest, max(0, len(rest) - 1024))) or list(_CUP.finditer(rest))
        cup = cups[-1] if cups else None
        self.cup = (x, y)
        self.reprint = self.pen = ""
        if cup is None:  # (the formatter always places the cursor; just in case)
            self.body, self.margins = _tidy(rest, merge=False), ""
            return
        body = rest[: cup.start()]
        margins = _MARGINS.search(body, max(0, len(body) - 64))  # at the end: 2 CSIs at most
        self.margins = margins.group(0) if margins else ""
        self.body = _tidy(body[: margins.start()] if margins else body, merge=False)
        self.cup = (int(cup.group(2)) - 1, int(cup.group(1)) - 1)
        cursor = rest[cup.end() :]
        pen = cursor.rfind("\x1b[0m")
        if pen < 0:
            pen = len(cursor)
        self.reprint = _tidy(cursor[:pen])
        self.pen = _tidy(cursor[pen:])

    def region(self) -> tuple[int, int]:
        """The top and left margins (0-based)."""
        top = left = 0
        if m := _REGION.search(self.margins):
            top = int(m.group(1)) - 1
        if m := _LR.search(self.margins):
            left = int(m.group(1)) - 1
        return top, left

    def goto(self, origin: bool) -> str:
        """CUP to the cursor (or to the cell a pending wrap writes again), relative to the
        margins when ``origin``."""
        x, y = self.cup
        if origin:
            top, left = self.region()
            x, y = max(x - left, 0), max(y - top, 0)
        return f"\x1b[{y + 1};{x + 1}H"

    def place(self, origin: bool) -> str:
        """The cursor section: position, the pending wrap, the pen, the charsets."""
        return self.goto(origin) + self.reprint + self.pen

    def slot(self, charsets_off: str) -> str:
        """This cursor as a DECSC slot: set, saved with ``ESC 7``, then the pen and the
        charsets back to their defaults. Written while the margins are the whole screen,
        where origin-relative and absolute positions agree (a saved position may lie outside
        the margins set later)."""
        on = "\x1b[?6h" if self.origin else ""
        off = "\x1b[?6l" if self.origin else ""
        return f"{on}{self.goto(False)}{self.pen}\x1b7{off}\x1b[0m{charsets_off}"


class GhosttyModel(ScreenModel):
    """The emulator model on libghostty-vt (``pyghostty``)."""

    def __init__(self, cols: int, rows: int, history: int = 2000) -> None:
        import pyghostty  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty import ffi, lib  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty._ffi import union_fn  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from pyghostty.core import init_sized, read_buf  # type: ignore[import-untyped,import-not-found,unused-ignore]

        self._ffi: Any = ffi
        self._lib: Any = lib
        self._init_sized: Any = init_sized
        self._read_buf: Any = read_buf
        self._grid_ref: Any = union_fn(
            "ghostty_terminal_grid_ref",
            "GhosttyResult(*)(GhosttyTerminal, GhosttyPointS, GhosttyGridRef*)",
        )
        self.history_limit = max(history, 0)
        self.term: Any = pyghostty.Terminal(cols, rows, scrollback=self.history_limit)
        self._replies: list[bytes] = []
        self._decxcpr = False  # the next cursor report answers CSI ? 6 n
        self.cols, self.rows = cols, rows
        self.errors = 0
        # The hot path calls the C API directly (pyghostty's ``feed`` and ``get`` look the
        # function and key up and allocate on every call).
        self._handle: Any = self.term._t[0]
        self._vt_write: Any = lib.ghostty_terminal_vt_write
        self._acs = False  # DEC line drawing was designated at some point
        self._tail = b""  # a CSI ? 6 n cut short at the end of the last feed, so far
        self._render: Any = None  # a render state, made on the first redraw
        # history_total (see the module's notes): the count, the pin on the newest history
        # row of the main screen (when it had one), how many rows after the pin are counted
        # already, an upper bound of the rows written since the last look, and the pins of
        # values history_total returned.
        self._track: Any = union_fn(
            "ghostty_terminal_grid_ref_track",
            "GhosttyResult(*)(GhosttyTerminal, GhosttyPointS, GhosttyTrackedGridRef*)",
        )
        self._track_set: Any = union_fn(
            "ghostty_tracked_grid_ref_set",
            "GhosttyResult(*)(GhosttyTrackedGridRef, GhosttyTerminal, GhosttyPointS)",
        )
        self._total = 0
        self._anchor: Any = None
        self._seen = 0
        self._unobserved = 0
        # Rows that may enter the history between two looks: a full history's worth, within
        # what libghostty-vt keeps once it prunes (about 2.7 times the limit at 80 columns,
        # less on narrow screens, where the bound below is loose by as much).
        self._window = max(64, self.history_limit)
        self._marks: dict[int, tuple[Any, int]] = {}  # value -> (pin or None, _clears)
        self._clears = 0  # CSI 3 J seen: they move pins out of the history
        self._tracked: list[Any] = []  # every tracked ref made, freed with the terminal
        free = getattr(self.term, "_free", None)
        if isinstance(free, weakref.finalize) and free.detach() is not None:
            weakref.finalize(self, _free_terminal, lib.ghostty_tracked_grid_ref_free,
                             lib.ghostty_terminal_free, self._tracked, self._handle)
        self._setup()

    def _setup(self) -> None:
        ffi, lib, handle = self._ffi, self._lib, self._handle
        self._callbacks = [
            ffi.callback("GhosttyTerminalWritePtyFn", self._on_reply, onerror=self._on_error),
            ffi.callback("GhosttyTerminalDeviceAttributesFn", self._on_da,
                         onerror=self._on_error),
            ffi.callback("GhosttyTerminalXtversionFn", self._on_xtversion,
                         onerror=self._on_error),
        ]
        self._version = ffi.new("char[]", f"ptymux {__version__}".encode())
        options = (
            (lib.GHOSTTY_TERMINAL_OPT_WRITE_PTY, self._callbacks[0]),
            (lib.GHOSTTY_TERMINAL_OPT_DEVICE_ATTRIBUTES, self._callbacks[1]),
            (lib.GHOSTTY_TERMINAL_OPT_XTVERSION, self._callbacks[2]),
            (lib.GHOSTTY_TERMINAL_OPT_CONTINUATION_MAX_BYTES,
             ffi.new("size_t*", _CONTINUATION_MAX)),
            # A shape DECSCUSR never sets: tells "the default" (DECSCUSR 0) apart.
            (lib.GHOSTTY_TERMINAL_OPT_DEFAULT_CURSOR_STYLE,
             ffi.new("GhosttyTerminalCursorStyle*",
                     lib.GHOSTTY_TERMINAL_CURSOR_STYLE_BLOCK_HOLLOW)),
        )
        for option, value in options:
            lib.ghostty_terminal_set(handle, option, value)
        # libghostty-vt drops history in whole pages, and by default also past 10 KB (about
        # 800 lines): no byte limit, and room enough that at least ``history_limit`` lines
        # stay (except on very narrow screens); capture shows no more than the limit.
        lib.ghostty_terminal_set(handle, lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_BYTES,
                                 ffi.new("size_t*", 1 << 40))
        lib.ghostty_terminal_set(handle, lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_LINES,
                                 ffi.new("size_t*", 2 * self.history_limit + 2000))
        # Alternate scroll starts off, as in xterm (the formatter then writes it when set).
        mode = ffi.new("GhosttyTerminalModeConfig*")
        mode.mode, mode.value = 1007, False
        lib.ghostty_terminal_set(handle, lib.GHOSTTY_TERMINAL_OPT_MODE_DEFAULT, mode)

    # --- callbacks (run inside vt_write) ---------------------------------------------------

    def _on_error(self, *_: object) -> None:
        self.errors += 1

    def _on_reply(self, _t: Any, _u: Any, data: Any, n: int) -> None:
        reply = bytes(self._ffi.buffer(data, n))
        if reply.startswith(b"\x1bP!|"):
            return  # DA3: xterm does not answer it
        if self._decxcpr and reply.endswith(b"R"):
            self._decxcpr = False
            reply = b"\x1b[?" + reply[2:]
        self._replies.append(reply)

    def _on_da(self, _t: Any, _u: Any, out: Any) -> bool:
        # As ptymux's own emulator answers: DA1 ``CSI ? 1 ; 2 c``, DA2 ``CSI > 0 ; 10 ; 1 c``.
        out.primary.conformance_level = 1
        out.primary.features[0] = 2
        out.primary.num_features = 1
        out.secondary.device_type = 0
        out.secondary.firmware_version = 10
        out.secondary.rom_cartridge = 1
        return True

    def _on_xtversion(self, _t: Any, _u: Any) -> Any:
        s = self._ffi.new("GhosttyString*")
        s.ptr = self._ffi.cast("const uint8_t*", self._version)
        s.len = len(self._ffi.string(self._version))
        return s[0]

    # --- low level -----------------------------------------------------------------------

    def _get(self, key: str, ctype: str, handle: Any = None) -> Any:
        out = self._ffi.new(ctype + "*")
        key_id = getattr(self._lib, f"GHOSTTY_TERMINAL_DATA_{key.upper()}")
        self._lib.ghostty_terminal_get(self._handle if handle is None else handle, key_id, out)
        return out[0]

    def _write(self, data: bytes, handle: Any = None) -> None:
        self._vt_write(self._handle if handle is None else handle, data, len(data))

    def _mode(self, n: int, handle: Any = None) -> bool:
        c = self._ffi.new("GhosttyTerminalModeConfig*")
        c.mode = n & 0x7FFF
        self._lib.ghostty_terminal_get(
            self._handle if handle is None else handle, self._lib.GHOSTTY_TERMINAL_DATA_MODE, c
        )
        return bool(c.value)

    def _alt_mode(self, handle: Any = None) -> int:
        """The alternate-screen mode in effect (1049, 1047, 47), or 0 on the main screen."""
        if not self._get("active_screen", "GhosttyTerminalScreen", handle):
            return 0
        for mode in _ALT_MODES:
            if self._mode(mode, handle):
                return mode
        return 1049

    def _ref(self, handle: Any, x: int, y: int, tag: str) -> Any:
        ffi, lib = self._ffi, self._lib
        pt = ffi.new("GhosttyPointS*")
        pt.tag = getattr(lib, f"GHOSTTY_POINT_TAG_{tag.upper()}")
        pt.value.x, pt.value.y = x, y
        ref = self._init_sized("GhosttyGridRef")
        if self._grid_ref(handle, pt[0], ref):
            raise ValueError(f"no cell at {x},{y} ({tag})")
        return ref

    def _format(
        self,
        rows: tuple[int, int] | None,
        tag: str = "active",
        vt: bool = True,
        full: bool = False,
        unwrap: bool = False,
        trim: bool = False,
        handle: Any = None,
    ) -> str:
        """The formatter's output for rows ``rows`` (first, last; coordinates in ``tag``),
        VT (styled) or plain; ``full`` adds modes, scrolling region, tab stops, the cursor,
        the pen, the charsets and the keyboard flags."""
        ffi, lib = self._ffi, self._lib
        handle = self._handle if handle is None else handle
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
            opts.extra.screen.cursor = True
            opts.extra.screen.charsets = True
            opts.extra.screen.kitty_keyboard = True
        selection = None
        if rows is not None:
            cols = int(self._get("cols", "uint16_t", handle))
            selection = self._init_sized("GhosttySelection")
            selection.start = self._ref(handle, 0, rows[0], tag)[0]
            selection.end = self._ref(handle, cols - 1, rows[1], tag)[0]
            opts.selection = selection
        fmt = ffi.new("GhosttyFormatter*")
        if lib.ghostty_formatter_terminal_new(ffi.NULL, fmt, handle, opts[0]):
            raise RuntimeError("ghostty_formatter_terminal_new failed")
        try:
            text: str = self._read_buf(
                lambda b, n, out: lib.ghostty_formatter_format_buf(fmt[0], b, n, out)
            )
        finally:
            lib.ghostty_formatter_free(fmt[0])
        return text

    def _screen(self, handle: Any = None) -> _Screen:
        """The active screen of ``handle`` (the model's terminal by default)."""
        rows = int(self._get("rows", "uint16_t", handle))
        text = self._format((0, rows - 1), full=True, handle=handle)
        x = int(self._get("cursor_x", "uint16_t", handle))
        y = int(self._get("cursor_y", "uint16_t", handle))
        return _Screen(text, x, y, self._mode(6, handle))

    def _clone(self) -> Any:
        """A scratch copy of the terminal (freed by the caller), or None."""
        ffi, lib = self._ffi, self._lib
        n = ffi.new("size_t*")
        lib.ghostty_snapshot_encode_buf(self._handle, ffi.NULL, 0, n)
        buf = ffi.new("uint8_t[]", max(n[0], 1))
        if lib.ghostty_snapshot_encode_buf(self._handle, buf, len(buf), n):
            return None
        decoder = ffi.new("GhosttySnapshotDecoder*")
        if lib.ghostty_snapshot_decoder_new_buf(ffi.NULL, decoder, buf, n[0]):
            return None
        term = ffi.new("GhosttyTerminal*")
        try:
            if lib.ghostty_snapshot_decoder_decode(decoder[0], term):
                return None
        finally:
            lib.ghostty_snapshot_decoder_free(decoder[0])
        return term[0]

    def _region(self) -> tuple[int, int] | None:
        """The scrolling region (top, bottom; 0-based) when one is set, else None."""
        out = self._format((0, 0), full=True)
        m = _REGION.search(out)
        if m is None:
            return None
        top, bottom = int(m.group(1)) - 1, int(m.group(2)) - 1
        if top <= 0 and bottom >= self.rows - 1:
            return None
        return top, bottom

    def _continuation(self) -> bytes:
        """The bytes of a sequence (or UTF-8 character) the input left unfinished."""
        ffi, lib = self._ffi, self._lib
        n = ffi.new("size_t*")
        lib.ghostty_terminal_continuation_buf(self._handle, ffi.NULL, 0, n)
        if not n[0]:
            return b""
        buf = ffi.new("uint8_t[]", n[0])
        if lib.ghostty_terminal_continuation_buf(self._handle, buf, n[0], n):
            return b""
        return bytes(ffi.buffer(buf, n[0]))

    def _cursor_shape(self) -> int:
        """The DECSCUSR number of the cursor's shape (0: the default)."""
        ffi, lib = self._ffi, self._lib
        if self._render is None:
            state = ffi.new("GhosttyRenderState*")
            if lib.ghostty_render_state_new(ffi.NULL, state):
                return 0
            self._render = state
            weakref.finalize(self, lib.ghostty_render_state_free, state[0])
        state = self._render[0]
        if lib.ghostty_render_state_update(state, self._handle):
            return 0
        shape = ffi.new("GhosttyRenderStateCursorVisualStyle*")
        if lib.ghostty_render_state_get(
            state, lib.GHOSTTY_RENDER_STATE_DATA_CURSOR_VISUAL_STYLE, shape
        ):
            return 0
        return _SHAPES.get((int(shape[0]), self._mode(12)), 0)

    # --- ScreenModel ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            data = data if type(data) is bytes else bytes(data)
            if not self.history_limit:
                self._feed(data)
                return
            if b"J" in data:
                done = 0
                for start, end in _ed3_spans(data):
                    self._feed_counted(data[done:start])
                    self._observe()
                    self._feed(data[start:end])
                    self._clears += 1
                    self._observe()
                    done = end
                data = data[done:]
            self._feed_counted(data)
        except Exception:
            count_error(self, "ghostty_model")

    def _feed_counted(self, data: bytes) -> None:
        """Write ``data`` so that no more rows than ``_window`` enter the history between
        two looks (``_observe``): the pin on the newest history row must not be pruned."""
        if self._unobserved + len(data) < self._window:  # (a row takes a byte at least)
            self._feed(data)
            self._unobserved += len(data) + 1
            return
        while data:
            bound = _rows_bound(data, len(data), self.cols)
            if self._unobserved + bound > self._window:
                self._observe(exact=False)
            if bound <= self._window:
                self._feed(data)
                self._unobserved += bound
                return
            end = len(data)
            while end > 1 and _rows_bound(data, end, self.cols) > self._window:
                end //= 2
            end = data.rfind(b"\n", 0, end) + 1 or end
            self._feed(data[:end])
            self._unobserved += _rows_bound(data, end, self.cols)
            data = data[end:]

    def _feed(self, data: bytes) -> None:
        if self._tail:
            data = self._finish_decxcpr(data)
        if b"\x1b" not in data:  # (the common case: text)
            self._vt_write(self._handle, data, len(data))
            return
        if b"\x1b]1" in data:
            self._answer_colours(data)
        if not self._acs and (_ACS_SET[0] in data or _ACS_SET[1] in data):
            self._acs = True
        if _TBC in data:  # libghostty-vt clears no tab stop for CSI g without a parameter
            data = data.replace(_TBC, b"\x1b[0g")
        at = data.find(_DECXCPR)
        if at < 0:
            self._vt_write(self._handle, data, len(data))
        else:
            done = 0
            while at >= 0:
                self._write(data[done:at])
                self._ask_decxcpr()
                done = at + len(_DECXCPR)
                at = data.find(_DECXCPR, done)
            self._write(data[done:])
        at = data.find(b"\x1b", -4)
        if at >= 0 and _DECXCPR.startswith(data[at:]):
            self._tail = data[at:]

    def _answer_colours(self, data: bytes) -> None:
        """Answer OSC 10/11/12 queries (in order among themselves; a query split between
        two writes is not seen)."""
        from ptymux.term.vt import default_colour

        for m in _DYNAMIC_QUERY.finditer(data):
            first = int(m.group(1))
            for n in range(first, min(first + m.group(2).count(b"?"), 13)):
                spec = default_colour(str(n)).encode()
                self._replies.append(b"\x1b]%d;%s%s" % (n, spec, m.group(3)))

    def _ask_decxcpr(self) -> None:
        """Answer a CSI ? 6 n: libghostty-vt answers CSI 6 n, which the reply callback turns
        into the DECXCPR form."""
        self._decxcpr = True
        self._write(b"\x1b[6n")
        self._decxcpr = False

    def _finish_decxcpr(self, data: bytes) -> bytes:
        """The rest of ``data`` after a CSI ? 6 n the last feed cut short, answered."""
        rest = len(_DECXCPR) - len(self._tail)
        self._tail = b""
        if data[:rest] != _DECXCPR[-rest:]:
            return data
        self._write(data[:rest])  # (libghostty-vt ignores the sequence)
        self._ask_decxcpr()
        return data[rest:]

    def _may_skip(self) -> bool:
        try:
            return (self._region() is None and not self._mode(69)  # (DECLRMM: margins)
                    and bool(self._get("vt_ground", "bool")))
        except Exception:
            count_error(self, "ghostty_model")
            return False

    def _line_rule(self) -> LineRule | None:
        if not self.history_limit or self.alternate_screen:
            return None
        stops = sorted(int(n) - 1 for n in _HTS.findall(self._format((0, 0), full=True)))
        edges = [0, *stops, self.cols - 1]
        gap = max(b - a for a, b in zip(edges, edges[1:], strict=False)) if stops else self.cols
        columns = (self.cols, self._ansi_mode(20), stops)
        return LineRule(self.cols, self._mode(7), max(gap, 1),
                        functools.partial(self._wraps, columns))

    @staticmethod
    def _wraps(columns: tuple[int, bool, list[int]], text: str) -> int | None:
        """Autowraps as xterm and the vt model make them (libghostty-vt moves the same for
        ASCII, TAB, BS and LF); its character widths are its own: non-ASCII is not told."""
        return segment_wraps(text, Columns(*columns), None)

    def _skipped(self, lines: int) -> None:
        self._observe()
        self._total += lines

    def _ansi_mode(self, n: int) -> bool:
        c = self._ffi.new("GhosttyTerminalModeConfig*")
        c.mode = (n & 0x7FFF) | (1 << 15)  # (ghostty_mode_new's packing: ANSI)
        self._lib.ghostty_terminal_get(self._handle, self._lib.GHOSTTY_TERMINAL_DATA_MODE, c)
        return bool(c.value)

    def resize(self, cols: int, rows: int) -> None:
        try:
            if self.history_limit:
                self._observe()
            self.term.resize(cols, rows)
            self.cols, self.rows = self.term.size
            if self.history_limit:
                self._observe()  # rows the resize pushed into the history
        except Exception:
            count_error(self, "ghostty_model")

    # --- history_total and scrollback ----------------------------------------------------

    def _pin(self, y: int, ref: Any = None) -> Any:
        """A tracked ref on the last cell of row ``y`` (screen coordinates) of the active
        screen: ``ref`` moved there, or a new one."""
        ffi, lib = self._ffi, self._lib
        pt = ffi.new("GhosttyPointS*")
        pt.tag = lib.GHOSTTY_POINT_TAG_SCREEN
        pt.value.x, pt.value.y = self.cols - 1, y
        if ref is not None:
            if self._track_set(ref, self._handle, pt[0]):
                raise ValueError(f"cannot pin row {y}")
            return ref
        out = ffi.new("GhosttyTrackedGridRef*")
        if self._track(self._handle, pt[0], out):
            raise ValueError(f"cannot pin row {y}")
        self._tracked.append(out[0])
        return out[0]

    def _unpin(self, ref: Any) -> None:
        self._tracked.remove(ref)
        self._lib.ghostty_tracked_grid_ref_free(ref)

    def _rows_after(self, ref: Any, held: int) -> int:
        """Rows of the main screen's history (``held`` rows) after the pin ``ref``; all of
        them when the pin left the history (pruned, cleared)."""
        lib = self._lib
        if not lib.ghostty_tracked_grid_ref_has_value(ref):
            return held
        at = self._ffi.new("GhosttyPointCoordinate*")
        if lib.ghostty_tracked_grid_ref_point(ref, lib.GHOSTTY_POINT_TAG_SCREEN, at):
            return held
        return held - 1 - at.y if at.y < held else held

    def _main_history(self) -> int | None:
        """How many rows the main screen's history holds (through a scratch copy when the
        alternate screen is active), or None when that cannot be told."""
        if not self._get("active_screen", "GhosttyTerminalScreen"):
            return int(self._get("scrollback_rows", "size_t"))
        clone = self._clone()
        if clone is None:
            return None
        try:
            self._write(f"\x1b[?{self._alt_mode()}l".encode(), clone)
            return int(self._get("scrollback_rows", "size_t", clone))
        finally:
            self._lib.ghostty_terminal_free(clone)

    def _observe(self, exact: bool = True) -> None:
        """Count the rows that entered the main screen's history since the last look, and
        pin its newest row. On the alternate screen the main screen does not change; a look
        there (``exact``) goes through a scratch copy and cannot pin."""
        self._unobserved = 0
        if not self.history_limit:
            return
        main = not self._get("active_screen", "GhosttyTerminalScreen")
        if not main and not exact:
            return
        held = self._main_history()
        if held is None:
            return
        after = held if self._anchor is None else self._rows_after(self._anchor, held)
        self._total += max(after - self._seen, 0)
        self._seen = after
        if main:
            self._seen = 0
            if held:
                self._anchor = self._pin(held - 1, self._anchor)
            elif self._anchor is not None:
                self._unpin(self._anchor)
                self._anchor = None

    @property
    def history_total(self) -> int:
        try:
            self._observe()
            self._mark(self._total)
        except Exception:
            count_error(self, "ghostty_model")
        return self._total

    def _mark(self, total: int) -> None:
        """Pin the newest history row as the place ``total`` stands for (None: the history
        is empty, every later row is new), for ``scrollback(since=total)``; with the count
        of clears so far."""
        if not self.history_limit or total in self._marks:
            return
        if self._get("active_screen", "GhosttyTerminalScreen"):
            return  # (the main screen cannot be pinned from here: counts will do)
        held = int(self._get("scrollback_rows", "size_t"))
        self._marks[total] = (self._pin(held - 1) if held else None, self._clears)
        while len(self._marks) > _MAX_MARKS:
            old, _ = self._marks.pop(next(iter(self._marks)))
            if old is not None:
                self._unpin(old)

    def scrollback(self, since: int | None, limit: int) -> bytes:
        """Rows as libghostty-vt holds them (it reflows its history on resize): each is
        one terminal row at the current width."""
        if limit <= 0 or not self.history_limit:
            return b""
        self._observe()
        alt = self._alt_mode()
        handle = clone = None
        if alt:
            clone = handle = self._clone()
            if clone is None:
                return b""
            self._write(f"\x1b[?{alt}l".encode(), clone)
        try:
            held = int(self._get("scrollback_rows", "size_t", handle))
            if since is None:
                count = held
            elif since in self._marks:
                ref, clears = self._marks[since]
                # (A clear since then moved the pin: every row left is newer.)
                fresh = ref is None or clears != self._clears
                count = held if fresh else self._rows_after(ref, held)
            else:
                count = self._total - since
            count = max(0, min(count, held, self.history_limit, limit))
            if not count:
                return b""
            return lines_to_bytes(self._rows(held - count, held + self.rows - 1, handle),
                                  self.cols)
        finally:
            if clone is not None:
                self._lib.ghostty_terminal_free(clone)

    def _rows(self, first: int, last: int, handle: Any) -> list[tuple[str, int, bool]]:
        """Rows ``first``..``last`` (screen coordinates) with their SGR, their width, and
        whether they soft-wrap (all their cells then, so that the next row continues at the
        last column; else trailing default blanks trimmed). One formatter call for all: it
        ends each row's style and starts the next afresh, and drops trailing blank rows."""
        from ptymux.term.vt import wcwidth

        text = self._format((first, last), tag="screen", handle=handle).split("\r\n")
        wraps = self._row_wraps(first, last - 1, handle) + [False]
        rows = []
        for i, wrapped in enumerate(wraps):
            line = text[i] if i < len(text) else ""
            while line.endswith("\x1b[0m"):
                line = line[:-4]
            if not wrapped:
                line = _trim(line)
            plain = _ESCAPES.sub("", line) if "\x1b" in line else line
            if plain != line:
                line = _tidy(line) + "\x1b[0m"
            width = len(plain) if plain.isascii() else sum(max(wcwidth(c), 0) for c in plain)
            rows.append((line, width, wrapped))
        return rows

    def _row_wraps(self, first: int, last: int, handle: Any) -> list[bool]:
        """Whether each of rows ``first``..``last`` soft-wraps (``_wrapped`` for many:
        the C structs made once)."""
        ffi, lib = self._ffi, self._lib
        handle = self._handle if handle is None else handle
        pt = ffi.new("GhosttyPointS*")
        pt.tag = lib.GHOSTTY_POINT_TAG_SCREEN
        ref = self._init_sized("GhosttyGridRef")
        row = ffi.new("GhosttyRow*")
        out = ffi.new("bool*")
        wraps = []
        for y in range(first, last + 1):
            pt.value.x, pt.value.y = 0, y
            out[0] = False
            if not self._grid_ref(handle, pt[0], ref) and not lib.ghostty_grid_ref_row(ref, row):
                lib.ghostty_row_get(row[0], lib.GHOSTTY_ROW_DATA_WRAP, out)
            wraps.append(bool(out[0]))
        return wraps

    def cursor(self) -> tuple[int, int]:
        return int(self._get("cursor_x", "uint16_t")), int(self._get("cursor_y", "uint16_t"))

    @property
    def cursor_visible(self) -> bool:
        return bool(self._get("cursor_visible", "bool"))

    @property
    def alternate_screen(self) -> bool:
        """Whether the program is in the alternate screen."""
        return bool(self._get("active_screen", "GhosttyTerminalScreen"))

    @property
    def history_size(self) -> int:
        """How many lines of scrollback are held (of the active screen). libghostty-vt
        keeps whole pages of it: only the last ``history_limit`` lines count."""
        return min(int(self._get("scrollback_rows", "size_t")), self.history_limit)

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
        try:
            return self._redraw()
        except Exception:
            count_error(self, "ghostty_model")
            return (_PREAMBLE + "\n".join(self.capture())).encode("utf-8", "replace")

    def _redraw(self) -> bytes:
        acs = _dec_lines if self._acs else str
        active = self._screen()
        alt = self._alt_mode()
        slot = main = main_slot = None
        clone = self._clone()
        if clone is not None:
            try:
                self._write(b"\x1b8", clone)
                slot = self._screen(clone)
                if alt:
                    self._write(f"\x1b[?{alt}l".encode(), clone)
                    main = self._screen(clone)
                    if alt != 1049:
                        self._write(b"\x1b8", clone)
                        main_slot = self._screen(clone)
            finally:
                self._lib.ghostty_terminal_free(clone)
        screens = [x for x in (active, slot, main, main_slot) if x is not None]
        # G2 and G3 are put back only where the program used them (not every terminal
        # knows ESC * and ESC +).
        charsets_off = _CHARSETS_OFF
        if any(_G23.search(x.pen) for x in screens):
            charsets_off += "\x1b*B\x1b+B"
        out = [_PREAMBLE, charsets_off]
        if alt:
            if main is not None:
                out.append(acs(main.body))
                if main_slot is not None:
                    out.append(main_slot.slot(charsets_off))
                # (CSI ? 1049 h saves the origin mode too, with the cursor)
                origin = alt == 1049 and main.origin
                out.append("\x1b[?6h" if origin else "")
                out.append(acs(main.place(False)))
                out.append(f"\x1b[?{alt}h\x1b[?6l" if origin else f"\x1b[?{alt}h")
            else:
                out.append(f"\x1b[?{alt}h")
            out.append(_CLEAR_ALT + charsets_off)
        out.append(acs(active.body))
        out.append(active.tabs)
        if slot is not None:
            out.append(slot.slot(charsets_off))  # (with the full screen as margins)
        modes = {int(n): on == "h" for n, on in _MODE.findall(active.modes)}
        if modes.get(69):
            out.append("\x1b[?69h")
        out.append(active.margins)
        out.append(f"\x1b[{self._cursor_shape()} q")
        out.append(_MODE.sub(lambda m: "" if int(m.group(1)) in _SKIP_MODES else m.group(0),
                             active.modes))
        if modes.get(66):
            out.append("\x1b=")
        if modes.get(7) is False:  # (after a pending wrap is rebuilt: it needs autowrap)
            out.append("\x1b[?7h")
        out.append(acs(active.place(active.origin)))
        if modes.get(7) is False:
            out.append("\x1b[?7l")
        title = self.title.translate({ord(c): None for c in _C0})
        if title:
            out.append(f"\x1b]2;{title}\x1b\\")
        return "".join(out).encode("utf-8", "replace") + self._continuation()

    def leave(self) -> bytes:
        alt = self._alt_mode()
        lrmm = self._mode(69)  # (?69l resets the left/right margins; the cursor stays)
        if not alt and not self._mode(6) and self._region() is None:
            return b"\x1b[?69l" if lrmm else b""
        x, y = self.cursor()
        out = ["\x1b[?69l"] if lrmm else []
        if alt:
            out.append(f"\x1b[?{alt}l")
            clone = self._clone() if alt == 1049 else None
            if clone is not None:
                try:
                    self._write(b"\x1b[?1049l", clone)
                    x = int(self._get("cursor_x", "uint16_t", clone))
                    y = int(self._get("cursor_y", "uint16_t", clone))
                finally:
                    self._lib.ghostty_terminal_free(clone)
        out.append(f"\x1b[?6l\x1b[r\x1b[{y + 1};{x + 1}H")
        return "".join(out).encode()

    def capture(
        self,
        start: int | None = None,
        end: int | None = None,
        escapes: bool = False,
        join: bool = False,
    ) -> list[str]:
        held = int(self._get("scrollback_rows", "size_t"))
        history = min(held, self.history_limit)
        first = 0 if start is None else start
        last = self.rows - 1 if end is None else end
        if last < first:
            first, last = last, first
        first = held + max(first, -history)
        last = held + min(last, self.rows - 1)
        if first > last:
            return []
        if escapes:
            lines: list[str] = []
            acc = ""
            for y in range(first, last + 1):
                line = self._format((y, y), tag="screen", trim=True).replace("\r\n", "")
                while line.endswith("\x1b[0m"):
                    line = line[:-4]
                if "\x1b" in line:
                    line = _tidy(line) + "\x1b[0m"
                if join and y < last and self._wrapped(y):
                    acc += line
                    continue
                lines.append(acc + line)
                acc = ""
            return lines
        text = self._format((first, last), tag="screen", vt=False, unwrap=join, trim=True)
        rows = [line.rstrip() for line in text.split("\n")]
        if join:
            return rows
        count = last - first + 1
        return (rows + [""] * count)[:count]

    def _wrapped(self, y: int, handle: Any = None) -> bool:
        """Whether row ``y`` (screen coordinates) soft-wraps into the next."""
        try:
            row = self._ffi.new("GhosttyRow*")
            ref = self._ref(self._handle if handle is None else handle, 0, y, "screen")
            if self._lib.ghostty_grid_ref_row(ref, row):
                return False
            out = self._ffi.new("bool*")
            self._lib.ghostty_row_get(row[0], self._lib.GHOSTTY_ROW_DATA_WRAP, out)
            return bool(out[0])
        except Exception:
            return False

