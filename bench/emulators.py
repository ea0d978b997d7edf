#!/usr/bin/env python3
"""Native terminal emulator candidates for ptymux's screen model, next to pyte.

    python bench/emulators.py [--corpus DIR] [--mb N] [--json FILE]

Each candidate is used if its module imports in the running interpreter, and skipped
otherwise; try them in a throwaway environment, never the project's (evp needs Python 3.13,
par-term-emu-core-rust 3.12):

    python3.13 -m venv /tmp/emu && /tmp/emu/bin/pip install pyte pyghostty pyavt evp \\
        par-term-emu-core-rust && /tmp/emu/bin/python bench/emulators.py

For each: speed feeding an 80x24 terminal (plain text and SGR-heavy lines, in 4 KB reads as a
pty delivers them), memory per terminal with 2000 lines of coloured history (in a fresh
interpreter), fidelity on the xterm.js corpus (80x25, visible rows right-trimmed against what
xterm showed), whether its VT dump redraws the same screen in a fresh instance (what a late
attacher gets), and probes of the API: cursor, cell attributes, alternate screen, replies to
queries (DSR 6).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from typing import Any

from drivers import rss_kb
from workloads import colour_lines, history_lines, plain_lines

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus", "xtermjs")
CHUNK = 4096


class Candidate:
    """What the evaluation needs from an emulator; a method returning None means the
    candidate's API does not offer it."""

    name = "?"
    module = "?"
    dist = "?"

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ImportError:
            return False

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.dist)
        except PackageNotFoundError:
            return "?"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        raise NotImplementedError

    def feed(self, t: Any, data: bytes) -> None:
        raise NotImplementedError

    def rows(self, t: Any) -> list[str]:
        """The visible rows, right-trimmed."""
        raise NotImplementedError

    def cursor(self, t: Any) -> tuple[int, int] | None:
        return None

    def bold_red(self, t: Any, x: int, y: int) -> bool | None:
        """Whether the cell at (x, y) reads as bold with palette colour 1 (red)."""
        return None

    def replies(self, t: Any) -> bytes | None:
        """What the terminal answered to queries so far (None: no way to get answers)."""
        return None

    def dump(self, t: Any) -> bytes | None:
        """VT sequences that redraw the screen (None: not offered)."""
        return None


class Pyte(Candidate):
    name, module, dist = "pyte", "pyte", "pyte"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        import pyte

        class Screen(pyte.Screen):
            answered = b""

            def write_process_input(self, data: str) -> None:
                self.answered += data.encode()

        screen = Screen(cols, rows)
        return screen, pyte.ByteStream(screen)

    def feed(self, t: Any, data: bytes) -> None:
        with contextlib.suppress(Exception):  # pyte raises on some input
            t[1].feed(data)

    def rows(self, t: Any) -> list[str]:
        return [line.rstrip() for line in t[0].display]

    def cursor(self, t: Any) -> tuple[int, int]:
        return t[0].cursor.x, t[0].cursor.y

    def bold_red(self, t: Any, x: int, y: int) -> bool:
        ch = t[0].buffer[y][x]
        return bool(ch.bold and ch.fg == "red")

    def replies(self, t: Any) -> bytes:
        answered: bytes = t[0].answered
        return answered


class PtymuxPyte(Candidate):
    """ptymux's own model today (pyte, with history, guards and a redraw)."""

    name, module, dist = "ptymux-pyte", "ptymux.term.pyte_model", "ptymux"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        from ptymux.term.pyte_model import PyteModel

        return PyteModel(cols, rows, history)

    def feed(self, t: Any, data: bytes) -> None:
        t.feed(data)

    def rows(self, t: Any) -> list[str]:
        return [line.rstrip() for line in t.capture()]

    def cursor(self, t: Any) -> tuple[int, int]:
        x, y = t.cursor()
        return x, y

    def replies(self, t: Any) -> bytes:
        return bytes(t.take_replies())

    def dump(self, t: Any) -> bytes:
        return bytes(t.redraw())


class PtymuxModel(Candidate):
    """Whatever model ptymux gives a new session today (``create_model``)."""

    name, module, dist = "ptymux-model", "ptymux.term", "ptymux"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        from ptymux.term import create_model

        return create_model(cols, rows, history)

    def version(self) -> str:
        return f"{super().version()} ({type(self.new(80, 24)).__name__})"

    feed = PtymuxPyte.feed
    rows = PtymuxPyte.rows
    cursor = PtymuxPyte.cursor
    replies = PtymuxPyte.replies
    dump = PtymuxPyte.dump


class Evp(Candidate):
    name, module, dist = "evp", "evp", "evp"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        import evp

        answered: list[bytes] = []
        # Scrollback is bounded in bytes: ~12 bytes a cell for styled text.
        term = evp.Terminal(cols, rows, max_scrollback_bytes=history * cols * 12,
                            on_write_pty=answered.append)
        return term, answered

    def feed(self, t: Any, data: bytes) -> None:
        t[0].feed(data)

    def _frame(self, t: Any) -> Any:
        import evp

        return evp.RenderState(t[0]).frame()

    def rows(self, t: Any) -> list[str]:
        return ["".join(row.graphemes).rstrip() for row in self._frame(t).rows]

    def cursor(self, t: Any) -> tuple[int, int] | None:
        at = self._frame(t).cursor
        return None if at is None else (at[0], at[1])

    def bold_red(self, t: Any, x: int, y: int) -> bool:
        import evp

        state = evp.RenderState(t[0])
        frame = state.frame()
        style = frame.new_styles[frame.rows[y].styles[x]]
        return bool(style.bold and style.foreground == 1)

    def replies(self, t: Any) -> bytes:
        return b"".join(t[1])

    def dump(self, t: Any) -> bytes:
        import evp

        vt = evp.FormatterFormat.VT
        text: str = evp.Formatter(t[0], format=vt, cursor=True, style=True, modes=True).format()
        return text.encode()


class Pyghostty(Candidate):
    name, module, dist = "pyghostty", "pyghostty", "pyghostty"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        import pyghostty

        term = pyghostty.Terminal(cols, rows, scrollback=history)
        answered: list[bytes] = []
        term.on_reply(answered.append)
        return term, answered

    def feed(self, t: Any, data: bytes) -> None:
        t[0].feed(data)

    def rows(self, t: Any) -> list[str]:
        rows = t[0].size[1]
        got = [line.rstrip() for line in t[0].text().split("\n")]
        return (got + [""] * rows)[:rows]

    def cursor(self, t: Any) -> tuple[int, int]:
        x, y = t[0].cursor
        return x, y

    def bold_red(self, t: Any, x: int, y: int) -> bool:
        style = t[0].style(x, y)
        return bool(style["bold"] and style["fg"] == ("palette", 1))

    def replies(self, t: Any) -> bytes:
        return b"".join(t[1])

    def dump(self, t: Any) -> bytes:
        # Not in the Pythonic layer: the C formatter through the raw cffi binding.
        from pyghostty import ffi, lib
        from pyghostty._ffi import check
        from pyghostty.core import init_sized, read_buf

        opts = init_sized("GhosttyFormatterTerminalOptions")
        opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT
        opts.extra.modes = True
        opts.extra.screen.cursor = True
        opts.extra.screen.style = True
        cols, rows = t[0].size
        selection = init_sized("GhosttySelection")  # the screen only, not the scrollback
        selection.start = t[0].ref(0, 0)[0]
        selection.end = t[0].ref(cols - 1, rows - 1)[0]
        opts.selection = selection
        fmt = ffi.new("GhosttyFormatter*")
        check(lib.ghostty_formatter_terminal_new(ffi.NULL, fmt, t[0]._t[0], opts[0]), "fmt")
        try:
            text: str = read_buf(lambda b, n, out: lib.ghostty_formatter_format_buf(fmt[0], b, n,
                                                                                    out))
        finally:
            lib.ghostty_formatter_free(fmt[0])
        return text.encode()


class Pyavt(Candidate):
    name, module, dist = "pyavt", "avt", "pyavt"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        import avt

        # avt takes str: the UTF-8 decoding is ours (and part of the measured cost).
        return avt.Vt(cols, rows, scrollback_limit=history), codecs.getincrementaldecoder(
            "utf-8")("replace")

    def feed(self, t: Any, data: bytes) -> None:
        t[0].feed_str(t[1].decode(data))

    def rows(self, t: Any) -> list[str]:
        return [line.text.rstrip() for line in t[0].view()]

    def cursor(self, t: Any) -> tuple[int, int]:
        c = t[0].cursor
        return c.col, c.row

    def bold_red(self, t: Any, x: int, y: int) -> bool:
        import avt

        pen = t[0].view()[y][x].pen
        fg = pen.foreground
        return bool(pen.bold and isinstance(fg, avt.Color.Indexed) and fg[0] == 1)

    def dump(self, t: Any) -> bytes:
        dumped: str = t[0].dump()
        return dumped.encode()


class ParTerm(Candidate):
    name, module, dist = "par-term", "par_term_emu_core_rust", "par-term-emu-core-rust"

    def new(self, cols: int, rows: int, history: int = 2000) -> Any:
        import par_term_emu_core_rust as pt

        term = pt.Terminal(cols, rows, scrollback=history)
        term.set_bold_brightening(False)
        return term

    def feed(self, t: Any, data: bytes) -> None:
        t.process(data)

    def rows(self, t: Any) -> list[str]:
        # get_line() reads the primary screen even when the alternate one is on, and
        # content() joins wrapped rows: a snapshot's cells are what the screen shows.
        return ["".join(cell[0] for cell in line).rstrip() for line in t.create_snapshot().lines]

    def cursor(self, t: Any) -> tuple[int, int]:
        x, y = t.cursor_position()
        return x, y

    def bold_red(self, t: Any, x: int, y: int) -> bool:
        # Cells carry resolved RGB only: palette 1 is recognised by its RGB value.
        char, fg, bg, attrs = t.get_line_cells(y)[x]
        return bool(attrs.bold and fg == tuple(t.get_ansi_color(1)))

    def replies(self, t: Any) -> bytes:
        return bytes(t.drain_responses())

    def dump(self, t: Any) -> bytes:
        styled: str = t.export_styled()  # scrollback and screen, not a redraw as such
        return styled.encode()


CANDIDATES: list[Candidate] = [
    PtymuxModel(), PtymuxPyte(), Pyte(), Pyghostty(), Evp(), Pyavt(), ParTerm(),
]


# --- measurements -------------------------------------------------------------------------


def speed(c: Candidate, data: bytes, budget: float, least: float = 1.0) -> float:
    """MB/s feeding 4 KB chunks into 80x24: the data over and over for at least ``least``
    seconds, stopping early (mid-data) once ``budget`` seconds are spent."""
    t = c.new(80, 24)
    fed = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < least:
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            c.feed(t, chunk)
            fed += len(chunk)
            if time.perf_counter() - t0 > budget:
                break
    c.rows(t)  # make sure the work is done (lazy emulators)
    return fed / 1e6 / (time.perf_counter() - t0)


def memory(c: Candidate, count: int = 20, history: int = 2000) -> float:
    """MB of process RSS per 80x24 terminal whose ``history`` lines of scrollback are full
    of coloured text (RSS, not tracemalloc: native emulators allocate outside Python)."""
    data = history_lines(history + 100)
    before = rss_kb(os.getpid())
    keep = []
    for _ in range(count):
        t = c.new(80, 24, history)
        for start in range(0, len(data), CHUNK):
            c.feed(t, data[start : start + CHUNK])
        keep.append(t)
    return (rss_kb(os.getpid()) - before) / 1024 / count


def memory_apart(c: Candidate) -> float | None:
    """``memory`` in a fresh interpreter, so that nothing freed before is reused."""
    code = ("import sys, emulators as e; "
            f"print(e.memory(next(c for c in e.CANDIDATES if c.name == {c.name!r})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # same imports
    done = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True,
                          text=True, timeout=600, check=False, env=env)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def corpus_cases(directory: str) -> list[tuple[str, bytes, list[str]]]:
    cases = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".in"):
            continue
        expected = os.path.join(directory, name[:-3] + ".text")
        if not os.path.exists(expected):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read().replace(b"\n", b"\r\n")
        with open(expected, encoding="utf-8", errors="replace") as f:
            rows = [line.rstrip() for line in f.read().split("\n")][:25]
        cases.append((name[:-3], data, (rows + [""] * 25)[:25]))
    return cases


def fidelity(c: Candidate, cases: list[tuple[str, bytes, list[str]]]) -> tuple[list[str], int]:
    """Cases whose screen matches xterm's, and how many of all cases survive a redraw
    (dump fed to a fresh instance gives the same rows)."""
    passed, redrawn = [], 0
    for name, data, expected in cases:
        try:
            t = c.new(80, 25)
            c.feed(t, data)
            got = c.rows(t)
        except Exception:
            continue
        if got == expected:
            passed.append(name)
        try:
            dumped = c.dump(t)
            if dumped is not None:
                again = c.new(80, 25)
                c.feed(again, dumped)
                redrawn += c.rows(again) == got
        except Exception:
            pass
    return passed, redrawn


def probes(c: Candidate) -> dict[str, str]:
    def attempt(fn: Any) -> str:
        try:
            got = fn()
        except Exception as e:
            return f"error ({type(e).__name__})"
        return "n/a" if got is None else ("yes" if got else "no")

    def cursor() -> bool | None:
        t = c.new(80, 24)
        c.feed(t, b"ab\r\ncde\x1b[5;10H")
        at = c.cursor(t)
        return None if at is None else at == (9, 4)

    def attrs() -> bool | None:
        t = c.new(80, 24)
        c.feed(t, b"x\x1b[1;31mR\x1b[0m")
        return c.bold_red(t, 1, 0)

    def alternate() -> bool:
        t = c.new(80, 24)
        c.feed(t, b"main\r\n\x1b[?1049h\x1b[Halt")
        on = c.rows(t)[0] == "alt"
        c.feed(t, b"\x1b[?1049l")
        return on and c.rows(t)[0] == "main"

    def replies() -> bool | None:
        t = c.new(80, 24)
        c.feed(t, b"\x1b[3;4H\x1b[6n")
        got = c.replies(t)
        return None if got is None else b"\x1b[3;4R" in got

    def dump() -> bool | None:
        t = c.new(80, 24)
        c.feed(t, b"\x1b[1;31mred\x1b[0m plain\r\nline two\x1b[2;3H")
        return None if c.dump(t) is None else True

    return {"cursor": attempt(cursor), "cell attributes": attempt(attrs),
            "alternate screen": attempt(alternate), "replies (DSR 6)": attempt(replies),
            "VT dump": attempt(dump)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=CORPUS, help="xterm.js escape-sequence corpus")
    parser.add_argument("--mb", type=float, default=4.0, help="data fed per speed run")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per speed run")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)

    plain = plain_lines(args.mb * 1e6).replace(b"\n", b"\r\n")
    sgr = colour_lines(args.mb * 1e6).replace(b"\n", b"\r\n")
    cases = corpus_cases(args.corpus) if os.path.isdir(args.corpus) else []
    print(f"Python {sys.version.split()[0]}; corpus: {len(cases)} cases from {args.corpus}")
    results = {}
    for c in CANDIDATES:
        if not c.available():
            print(f"{c.name}: not installed, skipped")
            continue
        try:
            passed, redrawn = fidelity(c, cases)
            result: dict[str, Any] = {
                "version": c.version(),
                "plain MB/s": speed(c, plain, args.budget),
                "SGR MB/s": speed(c, sgr, args.budget),
                "MB per terminal": memory_apart(c),
                "corpus passes": len(passed),
                "redraw round trips": redrawn,
                **probes(c),
                "passed": passed,
            }
        except Exception as e:
            print(f"{c.name}: failed: {type(e).__name__}: {e}")
            continue
        results[c.name] = result
        print(f"{c.name} {result['version']}: plain {result['plain MB/s']:.1f} MB/s, "
              f"SGR {result['SGR MB/s']:.1f} MB/s, "
              f"{result['MB per terminal'] or float('nan'):.2f} MB per terminal with history, "
              f"corpus {len(passed)}/{len(cases)}, "
              f"redraw {redrawn}/{len(cases)}; "
              + ", ".join(f"{k} {v}" for k, v in result.items()
                          if k not in ("version", "passed") and isinstance(v, str)), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version, "cases": len(cases), "results": results}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
