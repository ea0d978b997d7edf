"""Differential fuzzing: the vt model and the ghostty model (libghostty-vt) fed the same
bytes must show the same screen, cell by cell: text, SGR attributes and colours (as each
model's ``capture(escapes=True)`` writes them, normalised), the cursor, the alternate-screen
flag and the title. Disagreements that are understood are listed in docs/differential.md and
filtered here by name (``KNOWN``): any other fails. ``PTYMUX_DIFF_EXAMPLES`` runs longer."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ptymux.term import ghostty_model
from ptymux.term.vt import wcwidth
from ptymux.term.vt_model import VtModel

# Not an importorskip: available() is checked against what is installed in
# test_ghostty_available.py, so a pyghostty that is installed but broken fails there.
pytestmark = pytest.mark.skipif(not ghostty_model.available(), reason="pyghostty not installed")

EXAMPLES = int(os.environ.get("PTYMUX_DIFF_EXAMPLES", "0")) or None
CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "xtermjs").resolve()


def _passing(name: str) -> set[str]:
    lines = Path(__file__).with_name(name).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


# The corpus cases where both models match xterm (test_corpus.py's lists): the others
# already differ unmutated (docs/performance.md and docs/differential.md name them).
_BOTH = _passing("corpus_passing.txt") & _passing("corpus_passing_ghostty.txt")
CORPUS_INPUTS = ([p for p in sorted(CORPUS.glob("*.in")) if p.stem in _BOTH]
                 if CORPUS.is_dir() else [])


# --- a common snapshot ----------------------------------------------------------------------

_SEQ = re.compile(r"\x1b\[([0-9;:]*)m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]")

Pen = tuple[Any, ...]
Cell = tuple[str, Pen]
_PLAIN: Pen = (frozenset(), 0, None, None, None)


def _colour(params: list[list[str]], i: int) -> tuple[Any, int]:
    """The extended colour (38/48/58) at ``params[i]``: (normalised colour, next index)."""
    head = params[i]
    if len(head) > 1:  # colon form: 38:5:n, 38:2:r:g:b, 38:2::r:g:b
        sub = [s for s in head[1:]]
        if sub[0] == "5" and len(sub) >= 2:
            return ("p", int(sub[1] or 0)), i + 1
        if sub[0] == "2":
            rgb = sub[-3:]
            return ("rgb", *(int(v or 0) for v in rgb)), i + 1
        return None, i + 1
    kind = params[i + 1][0] if i + 1 < len(params) else ""
    if kind == "5" and i + 2 < len(params):
        return ("p", int(params[i + 2][0] or 0)), i + 3
    if kind == "2" and i + 4 < len(params):
        return ("rgb", *(int(params[j][0] or 0) for j in range(i + 2, i + 5))), i + 5
    return None, len(params)


_FLAGS = {1: "bold", 2: "dim", 3: "italic", 5: "blink", 6: "blink", 7: "inverse",
          8: "hidden", 9: "strike", 53: "overline"}
_FLAGS_OFF = {22: ("bold", "dim"), 23: ("italic",), 25: ("blink",), 27: ("inverse",),
              28: ("hidden",), 29: ("strike",), 55: ("overline",)}


def _sgr(pen: Pen, text: str) -> Pen:
    """``pen`` (flags, underline style, fg, bg, underline colour) after SGR ``text``."""
    flags, ul, fg, bg, uc = set(pen[0]), pen[1], pen[2], pen[3], pen[4]
    params = [p.split(":") for p in text.split(";")]
    i = 0
    while i < len(params):
        p = params[i]
        n = int(p[0] or 0)
        if n == 0:
            flags, ul, fg, bg, uc = set(), 0, None, None, None
        elif n in _FLAGS:
            flags.add(_FLAGS[n])
        elif n in _FLAGS_OFF:
            flags.difference_update(_FLAGS_OFF[n])
        elif n == 4:
            ul = int(p[1] or 0) if len(p) > 1 else 1
        elif n == 21:
            ul = 2
        elif n == 24:
            ul = 0
        elif 30 <= n <= 37:
            fg = ("p", n - 30)
        elif 90 <= n <= 97:
            fg = ("p", n - 82)
        elif 40 <= n <= 47:
            bg = ("p", n - 40)
        elif 100 <= n <= 107:
            bg = ("p", n - 92)
        elif n == 39:
            fg = None
        elif n == 49:
            bg = None
        elif n == 59:
            uc = None
        elif n in (38, 48, 58):
            colour, i = _colour(params, i)
            if n == 38:
                fg = colour
            elif n == 48:
                bg = colour
            else:
                uc = colour
            continue
        i += 1
    return (frozenset(flags), ul, fg, bg, uc)


def cells(line: str) -> list[Cell]:
    """One captured row as cells: (text, pen), a wide character's second cell as ('', pen),
    zero-width characters joined to the cell before; trailing default blanks dropped."""
    out: list[Cell] = []
    pen = _PLAIN
    pos = 0
    for m in [*_SEQ.finditer(line), None]:
        end = m.start() if m is not None else len(line)
        for ch in line[pos:end]:
            w = wcwidth(ch)
            if w == 0 and out:
                prev = out[-2] if out[-1][0] == "" and len(out) > 1 else out[-1]
                at = out.index(prev, len(out) - 2)
                out[at] = (prev[0] + ch, prev[1])
            elif w > 0:
                out.append((ch, pen))
                if w == 2:
                    out.append(("", pen))
        if m is None:
            break
        if m.group(1) is not None:
            pen = _sgr(pen, m.group(1))
        pos = m.end()
    while out and out[-1] == (" ", _PLAIN):
        out.pop()
    return out


def snapshot(model: Any) -> dict[str, Any]:
    """What both models expose, in one form."""
    return {
        "rows": [cells(line) for line in model.capture(escapes=True)],
        "cursor": model.cursor(),
        "alt": model.alternate_screen,
        "title": model.title,
    }


def differences(a: dict[str, Any], b: dict[str, Any],
                rules: list[RowRule] | None = None,
                ) -> list[str]:
    """What differs, but for rows one of ``rules`` (named after their docs section)
    explains."""
    out = []
    for key in a:
        if key == "rows":
            for y, (ra, rb) in enumerate(zip(a[key], b[key], strict=True)):
                if ra != rb and not any(rule(ra, rb) for _, rule in rules or []):
                    out.append(f"row {y}:\n  vt      {ra!r}\n  ghostty {rb!r}")
        elif a[key] != b[key]:
            out.append(f"{key}: vt {a[key]!r} != ghostty {b[key]!r}")
    return out


# --- known disagreements (docs/differential.md, one section each) ---------------------------

# Each entry: the docs/differential.md section, and a test on the input that says the
# disagreement may come from it. A stream that matches one is not compared (the cases are
# rare enough in the generated streams for this to cost little).
_LEFT_MARGIN = rb"\x1b\[\?69h.*\x1b\[0*[2-9][0-9]*(?:;[0-9]*)?s"
KNOWN: list[tuple[str, re.Pattern[bytes]]] = [
    ("Extra parameters", re.compile(rb"\x1b\[[0-9]*[;:][0-9;:]*[@A-GIJKLMPSTXZ`ade]"
                                    rb"|\x1b\[[0-9]*[;:][0-9]*[;:][0-9;:]*[Hfr]"
                                    rb"|\x1b\[[0-9;]*:[0-9;:]*[@-ln-~]")),
    ("A zero parameter", re.compile(rb"\x1b\[0+[@A-GILMPSTXZ`abde]")),
    ("An empty SGR parameter",
     re.compile(rb"\x1b\[(?:;[0-9:;]*|[0-9:;]*;;[0-9:;]*|[0-9:;]*;)m")),
    ("HPR, VPR, HPB and VPB", re.compile(rb"\x1b\[[0-9;:]*[aejk]")),
    ("CHA in origin mode", re.compile(rb"\x1b\[\?6h.*\x1b\[[0-9]*[G`]", re.S)),
    ("Unknown ED and EL parameters", re.compile(rb"\x1b\[(?!0*[0-3][JK])[0-9]+[JK]")),
    ("CBT with a pending wrap", re.compile(rb"\x1b\[[0-9]*Z")),
    ("REP after a control", re.compile(rb"\x1b\[[0-9;]*b")),
    ("Clearing the alternate screen in a background colour",
     re.compile(rb"\x1b\[(?:[0-9:]*;)*(?:4[0-7]|10[0-7]|48)(?:[;:][0-9;:]*)?m"
                rb".*\x1b\[\?(?:47|1047|1049)[hl]", re.S)),
    ("A wide character at the margin without autowrap",
     re.compile(rb"\x1b\[\?7l.*(?:\xe6|\xef\xbd|\xf0\x9f)", re.S)),
    ("RI and a pending wrap", re.compile(rb"\x1bM")),
    ("Non-ASCII inside an escape sequence",
     re.compile(rb"\x1b(?:\[[\x20-\x3f]*|[\x20-\x2f]*)[\x80-\xff]")),
    ("A pending wrap across 47 and 1047", re.compile(rb"\x1b\[\?(?:47|1047)[hl]")),
    ("C0 controls inside an escape sequence",
     re.compile(rb"\x1b(?:\[[\x20-\x3f]*|[\x20-\x2f]*)[\x00-\x1a\x1c-\x1f]"
                rb"|\x1b(?:\[[\x20-\x3f]*|[\x20-\x2f]*)\x1b")),
    ("DECALN and the pen", re.compile(rb"\x1b#8")),
    ("DECCOLM", re.compile(rb"\x1b\[\?3[hl]")),
    ("DECSTR and the saved cursor", re.compile(rb"\x1b\[!p")),
    ("DECRC in origin mode",
     re.compile(rb"\x1b\[\?6h.*(?:\x1b8|\x1b\[u|\x1b\[\?(?:1048|1049)l)", re.S)),
    ("Reverse wrap above the scroll region", re.compile(rb"\x1b\[\?45h")),
    # (left/right margins: a DECSLRM whose left margin is not the first column, then...)
    ("CUB and BS at the left margin",
     re.compile(_LEFT_MARGIN + rb".*(?:\x08|\x1b\[[0-9]*D)", re.S)),
    ("HT right of the right margin",
     re.compile(rb"\x1b\[\?69h.*\x1b\[[0-9]*;[0-9]+s.*(?:\t|\x1b\[[0-9]*I)", re.S)),
    # (a combining acute accent other than right after a printed "e", ZWJ, VS16)
    ("A zero-width character on a blank cell",
     re.compile(rb"(?<!e)\xcc\x81|\x1b\[[0-9;:]*e\xcc\x81|\xe2\x80\x8d|\xef\xb8\x8f")),
]


def _blank_colour_row(vt_row: list[Cell], gh_row: list[Cell]) -> bool:
    """A row of erased cells in a background colour only, which ghostty's formatter (and so
    the ghostty model's capture and redraw) writes as an empty row."""
    return not gh_row and bool(vt_row) and all(
        ch == " " and pen[:3] == _PLAIN[:3] and pen[4] is None for ch, pen in vt_row)


def _gap_in_style(vt_row: list[Cell], gh_row: list[Cell]) -> bool:
    """Untouched blank cells between styled cells, which ghostty's formatter writes in the
    style around them: only blanks differ, vt's in the default pen."""
    return len(vt_row) == len(gh_row) and all(
        a == b or (a == (" ", _PLAIN) and b[0] == " ") for a, b in zip(vt_row, gh_row,
                                                                     strict=True))


def _strip_blanks(row: list[Cell]) -> list[Cell]:
    """``row`` without trailing blanks, whatever their pen."""
    end = len(row)
    while end and row[end - 1][0] == " ":
        end -= 1
    return row[:end]


def _skipped_margin_cell(vt_row: list[Cell], gh_row: list[Cell]) -> bool:
    """The last column a wide character skipped (it wrapped to the next row): vt leaves
    what was there (the whole wide character when that column held its second half), or
    paints it in the pen's background; ghostty makes it a blank spacer (not written by the
    formatter, or written as a blank in the pen once SD/SU moved it), clearing a wide
    character it cut in two. The rows differ in their last two cells at most, ghostty's
    blank or missing."""
    vt_row, gh_row = _strip_blanks(vt_row), _strip_blanks(gh_row)
    if vt_row == gh_row:
        return True
    width = max(len(vt_row), len(gh_row))
    vt_row = vt_row + [(" ", _PLAIN)] * (width - len(vt_row))
    gh_row = gh_row + [(" ", _PLAIN)] * (width - len(gh_row))
    keep = width - 2
    return vt_row[:keep] == gh_row[:keep] and all(
        a == b or b[0] in (" ", "") for a, b in zip(vt_row[keep:], gh_row[keep:], strict=True))


def _orphan_half(vt_row: list[Cell], gh_row: list[Cell]) -> bool:
    """Blanks that differ only in their pen: the other half of a wide character partly
    overwritten keeps its pen in vt, takes the default in ghostty (only with wide
    characters in the stream); a row's trailing blank in the default pen is left out of
    its capture, so the shorter row counts as padded with them."""
    width = max(len(vt_row), len(gh_row))
    vt_row = vt_row + [(" ", _PLAIN)] * (width - len(vt_row))
    gh_row = gh_row + [(" ", _PLAIN)] * (width - len(gh_row))
    return all(a == b or (a[0] == b[0] == " ") for a, b in zip(vt_row, gh_row, strict=True))


def _skipped_cell_at_a_margin(vt_row: list[Cell], gh_row: list[Cell]) -> bool:
    """The cell at a right margin that a wide character skipped (it wrapped to the left
    margin of the next row): vt leaves what was there, as xterm does; ghostty blanks it.
    The rows differ in one cell, or two side by side, ghostty's blank (only with wide
    characters and DECSLRM in the stream)."""
    width = max(len(vt_row), len(gh_row))
    vt_row = vt_row + [(" ", _PLAIN)] * (width - len(vt_row))
    gh_row = gh_row + [(" ", _PLAIN)] * (width - len(gh_row))
    diff = [x for x in range(width) if vt_row[x] != gh_row[x]]
    return (bool(diff) and diff[-1] - diff[0] <= 1
            and all(gh_row[x][0] in (" ", "") for x in diff))


RowRule = tuple[str, Callable[[list[Cell], list[Cell]], bool]]

# Rows that differ only in a way a docs/differential.md section explains; the last two only
# for streams with a wide character in them (_WIDE: those the streams use).
KNOWN_ROWS: list[RowRule] = [
    ("Rows of coloured blanks", _blank_colour_row),
    ("Blank gaps in the style around them", _gap_in_style),
]
KNOWN_WIDE_ROWS: list[RowRule] = [
    ("The cell a wide character skips", _skipped_margin_cell),
    ("The other half of an overwritten wide character", _orphan_half),
]
_WIDE = re.compile(rb"\xe6|\xef\xbd|\xf0\x9f")
# ... and for streams with a wide character and a DECSLRM (after ?69h)
KNOWN_MARGIN_WIDE_ROWS: list[RowRule] = [
    ("A wide character at a right margin", _skipped_cell_at_a_margin),
]
_SLRM = re.compile(rb"\x1b\[\?69h.*\x1b\[[0-9;]*s", re.S)


def known(data: bytes) -> str | None:
    for section, pattern in KNOWN:
        if pattern.search(data):
            return section
    return None


_DECSTBM = re.compile(rb"\x1b\[([0-9]*);([0-9]+)r")


def region_past_the_screen(data: bytes, rows: int) -> bool:
    """Section "DECSTBM past the screen": a scroll region whose bottom is below it."""
    return any(int(m.group(2)) > rows for m in _DECSTBM.finditer(data))


def check(data: bytes, cols: int, rows: int) -> None:
    if known(data) or region_past_the_screen(data, rows):
        return
    vt = VtModel(cols, rows, 20)
    gh = ghostty_model.GhosttyModel(cols, rows, 20)
    vt.feed(data)
    gh.feed(data)
    assert vt.errors == 0 and gh.errors == 0
    rules = KNOWN_ROWS + KNOWN_WIDE_ROWS if _WIDE.search(data) else KNOWN_ROWS
    if _WIDE.search(data) and _SLRM.search(data):
        rules = rules + KNOWN_MARGIN_WIDE_ROWS
    problems = differences(snapshot(vt), snapshot(gh), rules)
    assert not problems, f"{data!r} at {cols}x{rows}\n" + "\n".join(problems)


# --- streams --------------------------------------------------------------------------------

# (Parameters as programs write them: extra, zero and empty ones are known to differ.)
_n = st.integers(1, 40).map(str) | st.just("")
_csi = st.builds(
    lambda param, final: f"\x1b[{param}{final}",
    _n,
    st.sampled_from(list("ABCDEFGHIJKLPMSTXZ@`bd")),
)
_csi2 = st.builds(
    lambda a, b, final: f"\x1b[{a};{b}{final}",
    _n, _n, st.sampled_from(list("Hfr")),
)
_sgr_st = st.builds(
    lambda params: f"\x1b[{';'.join(params)}m",
    st.lists(st.sampled_from(["0", "1", "2", "3", "4", "4:3", "5", "7", "8", "9", "21", "22",
                              "23", "24", "27", "31", "39", "42", "49", "53", "94", "101",
                              "38;5;196", "48;5;3", "38;2;1;2;3", "48:2::9:8:7", "58;5;4"]),
             max_size=4),
)
_mode = st.builds(
    lambda mode, on: f"\x1b[?{mode}{'h' if on else 'l'}",
    st.sampled_from([1, 3, 6, 7, 25, 45, 47, 69, 69, 69, 1047, 1048, 1049, 2004]),
    st.booleans(),
)
_tokens = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.sampled_from(["日本", "e\u0301", "\u0301", "\u200d", "\x1b[!p", "\U0001f600", "ｗ", "é",
                     "\t", "\r", "\n", "\r\n",
                     "\x08", "\x1b7", "\x1b8", "\x1bD", "\x1bE", "\x1bM", "\x1bH", "\x1b#8",
                     "\x1b(0lqk\x1b(B", "\x1b]0;t\x07", "\x1b]2;title\x1b\\", "\x1b[4h",
                     "\x1b[4l", "\x1b[r", "\x1b[2;4r", "\x1b[3g", "\x1b[g", "\x1b[s", "\x1b[u",
                     "\x1b[1\"q", "\x1b[?1J", "\x1b[?2K", "\x1b[2;5s", "\x1b[3;20s",
                     "\x1b[?69h\x1b[2;6s"]),
    _csi,
    _csi2,
    _sgr_st,
    _mode,
)
_stream = st.lists(_tokens, max_size=40).map(lambda toks: "".join(toks).encode())


def _settings(default: int) -> Callable[[Any], Any]:
    return settings(max_examples=EXAMPLES or default, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@_settings(300)
@given(_stream, st.integers(2, 30), st.integers(1, 10))
@example(b"ab\x1b[1;31mcd\x1b[0m\r\n\x1b[2;3H\x1b[K\x1b[?1049h\x1b[5;1Hx", 10, 6)
def test_token_streams_agree(data: bytes, cols: int, rows: int) -> None:
    check(data, cols, rows)


@_settings(100)
@given(st.sampled_from(range(len(CORPUS_INPUTS))) if CORPUS_INPUTS else st.just(-1),
       st.lists(st.tuples(st.integers(0, 10**6), _stream), max_size=4),
       st.integers(0, 50))
def test_mutated_corpus_streams_agree(index: int, edits: list[tuple[int, bytes]],
                                      cut: int) -> None:
    if index < 0:
        pytest.skip("no ../shared/corpus")
    data = bytearray(CORPUS_INPUTS[index].read_bytes().replace(b"\n", b"\r\n"))
    for pos, blob in edits:
        pos %= len(data) + 1
        data[pos:pos] = blob
    check(bytes(data[: len(data) - cut]), 80, 25)


def test_snapshot_sees_attributes_and_colours() -> None:
    """The normalised snapshot tells pens apart, and treats SGR spellings as the same."""
    assert cells("\x1b[0;1;4:3;38;5;196;48;2;1;2;3mab\x1b[0m  ") == cells(
        "\x1b[0;1m\x1b[4:3m\x1b[38:5:196;48:2::1:2:3mab\x1b[0m")
    assert cells("\x1b[31ma") != cells("\x1b[32ma")
    assert cells("\x1b[91ma") == cells("\x1b[38;5;9ma")
    assert cells("日e\u0301") == [("日", _PLAIN), ("", _PLAIN), ("e\u0301", _PLAIN)]


def test_a_disagreement_fails() -> None:
    """The comparison is not blind: one model fed one byte more differs."""
    vt = VtModel(10, 3, 20)
    gh = ghostty_model.GhosttyModel(10, 3, 20)
    vt.feed(b"\x1b[1mab")
    gh.feed(b"\x1b[1mab\x1b[7mc")
    assert differences(snapshot(vt), snapshot(gh))


def test_every_filter_has_its_section() -> None:
    """Each known disagreement is explained in docs/differential.md under its own name."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "differential.md"
    headings = set(re.findall(r"^### (.+)$", doc.read_text(), re.M))
    names = [name for name, _ in KNOWN + KNOWN_ROWS + KNOWN_WIDE_ROWS + KNOWN_MARGIN_WIDE_ROWS]
    names.append("DECSTBM past the screen")  # (region_past_the_screen)
    assert len(set(names)) == len(names)
    assert set(names) <= headings, set(names) - headings
